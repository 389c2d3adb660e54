// End-to-end runs of the team's real V3 kmodels (../shared/models) on the SystemC SoC.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "memory/ram_budget.h"
#include "models/kmodel_error.h"
#include "models/kmodel_loader.h"
#include "sim/classification.h"
#include "sim/model_input.h"
#include "sim/simulate.h"
#include "tests/test_support.h"

using namespace kpusim;
using kpusim::test::read_file_bytes;
using kpusim::test::shared_path;

namespace {

RunSettings bare_metal() {
    RunSettings c;
    c.ram_budget_bytes = memory::preset_bytes(memory::RamPreset::bare_metal);
    return c;
}

std::vector<float> run_floats(const std::string& model_path, const std::string& input_path) {
    const Model m = load_kmodel(shared_path(model_path));
    const auto input = load_model_input(shared_path(input_path), m.input);
    RunResult r = run_standalone(m, input, bare_metal());
    EXPECT_EQ(r.outputs.size(), 1u);
    return r.outputs.at(0).as_floats();
}

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

struct Cell {
    uint32_t anchor, row, col;
    float objectness;
};

// The cell and anchor with the highest objectness of a channel-major YOLOv2 output
// (anchor a's entry e is plane a * entries + e; objectness is entry 4).
Cell strongest_cell(const std::vector<float>& out, uint32_t anchors, uint32_t entries, uint32_t rows,
                    uint32_t cols) {
    Cell best{0, 0, 0, -1};
    for (uint32_t a = 0; a < anchors; ++a)
        for (uint32_t r = 0; r < rows; ++r)
            for (uint32_t c = 0; c < cols; ++c) {
                const float o = sigmoid(out[((a * entries + 4) * rows + r) * cols + c]);
                if (o > best.objectness) best = {a, r, c, o};
            }
    return best;
}

// Centre of the predicted box of a cell, in input pixels.
std::pair<float, float> box_centre(const std::vector<float>& out, const Cell& cell, uint32_t entries,
                                   uint32_t rows, uint32_t cols, float width, float height) {
    auto at = [&](uint32_t e) { return out[((cell.anchor * entries + e) * rows + cell.row) * cols + cell.col]; };
    const float x = (cell.col + sigmoid(at(0))) / cols * width;
    const float y = (cell.row + sigmoid(at(1))) / rows * height;
    return {x, y};
}

}  // namespace

TEST(RealModels, IrisV3ReproducesThePublishedLogits) {
    const Model m = load_kmodel(shared_path("models/iris_v3/iris.kmodel"));
    ASSERT_EQ(m.input.type, DataType::float32);
    const auto input = read_file_bytes(shared_path("models/iris_v3/input_f32.bin"));
    RunResult r = run_standalone(m, input, bare_metal());
    const auto out = r.outputs.at(0).as_floats();
    ASSERT_EQ(out.size(), 3u);
    // SOURCE.md: the board prints 16.077795, 5.607656, -2.071745 (setosa).
    EXPECT_NEAR(out[0], 16.077795f, 1e-5);
    EXPECT_NEAR(out[1], 5.607656f, 1e-5);
    EXPECT_NEAR(out[2], -2.071745f, 1e-5);
    EXPECT_EQ(std::max_element(out.begin(), out.end()) - out.begin(), 0);
}

TEST(RealModels, MobileNetClassifiesTheCoffeePicture) {
    const auto out = run_floats("models/mobilenetv1_0.75_imagenet_v3/mbnet75.kmodel", "images/coffee.png");
    ASSERT_EQ(out.size(), 1000u);
    double sum = 0;
    for (float p : out) {
        ASSERT_TRUE(std::isfinite(p));
        ASSERT_GE(p, 0.0f);
        ASSERT_LE(p, 1.0f);
        sum += p;
    }
    EXPECT_NEAR(sum, 1.0, 1e-3);
    const auto top = top_k(out, 1);
    // ImageNet: 967 espresso, 968 cup, 504 coffee mug (images/SOURCE.md).
    EXPECT_TRUE(top[0].class_id == 967 || top[0].class_id == 968 || top[0].class_id == 504)
        << "top-1 was class " << top[0].class_id;
}

TEST(RealModels, EveryV3ModelLoadsAndRunsWithFiniteOutputs) {
    const char* models[] = {
        "models/iris_v3/iris.kmodel",
        "models/mnist_maixpy_v3/mnist.kmodel",
        "models/face_detect_kendryte_v3/detect.kmodel",
        "models/face_detect_maixpy_v3/facedetect.kmodel",
        "models/face_detect_canmv_v3/yolo_face_detect.kmodel",
        "models/yolo20_voc_nncase_v3/yolo.kmodel",
        "models/yolo20_voc_maixpy_v3/yolo.kmodel",
        "models/mobilenetv1_0.75_imagenet_v3/mbnet75.kmodel",
    };
    for (const char* path : models) {
        SCOPED_TRACE(path);
        const Model m = load_kmodel(shared_path(path));
        EXPECT_EQ(m.version, 3u);
        RunResult r = run_standalone(m, test_pattern(m.input), bare_metal());
        ASSERT_EQ(r.outputs.size(), m.outputs.size());
        for (const auto& o : r.outputs) {
            EXPECT_GT(o.shape.elements(), 0u);
            for (float v : o.as_floats()) ASSERT_TRUE(std::isfinite(v));
        }
    }
}

TEST(RealModels, Yolo20StrongestCellIsOnAnObjectInDogPicture) {
    for (const char* dir : {"models/yolo20_voc_nncase_v3", "models/yolo20_voc_maixpy_v3"}) {
        SCOPED_TRACE(dir);
        const auto out = run_floats(std::string(dir) + "/yolo.kmodel", std::string(dir) + "/dog_320x240_rgb_chw.u8");
        ASSERT_EQ(out.size(), 8750u);
        const Cell c = strongest_cell(out, 5, 25, 7, 10);
        const auto [x, y] = box_centre(out, c, 25, 7, 10, 320, 240);
        EXPECT_GT(c.objectness, 0.5f);
        // SOURCE.md: bicycle x 35-240, y 45-195; dog x 35-120, y 75-220; car x 170-220, y 40-80.
        const bool on_object = (x >= 35 && x <= 240 && y >= 45 && y <= 220) ||
                               (x >= 170 && x <= 220 && y >= 40 && y <= 80);
        EXPECT_TRUE(on_object) << "strongest box centre at (" << x << ", " << y << ")";
    }
}

TEST(RealModels, FaceDetectorsFindTheFaceOnEachSample) {
    struct Case {
        const char* model;
        const char* input;
        uint32_t anchors, entries, rows, cols;
        float width, height;
        float x0, x1, y0, y1;  // SOURCE.md's face box
    };
    const Case cases[] = {
        {"models/face_detect_kendryte_v3/detect.kmodel", "models/face_detect_kendryte_v3/face_21_320x240_rgb_chw.u8", 5, 6, 15, 20, 320, 240, 40, 220, 0, 210},
        {"models/face_detect_kendryte_v3/detect.kmodel", "models/face_detect_kendryte_v3/face_27_320x240_rgb_chw.u8", 5, 6, 15, 20, 320, 240, 40, 170, 40, 200},
        {"models/face_detect_maixpy_v3/facedetect.kmodel", "models/face_detect_maixpy_v3/face_21_320x240_rgb_chw.u8", 5, 6, 15, 20, 320, 240, 40, 220, 0, 210},
        {"models/face_detect_maixpy_v3/facedetect.kmodel", "models/face_detect_maixpy_v3/face_27_320x240_rgb_chw.u8", 5, 6, 15, 20, 320, 240, 40, 170, 40, 200},
        {"models/face_detect_canmv_v3/yolo_face_detect.kmodel", "models/face_detect_canmv_v3/face_21_320x256_rgb_chw.u8", 9, 6, 8, 10, 320, 256, 40, 220, 0, 210},
        {"models/face_detect_canmv_v3/yolo_face_detect.kmodel", "models/face_detect_canmv_v3/face_27_320x256_rgb_chw.u8", 9, 6, 8, 10, 320, 256, 40, 170, 40, 200},
    };
    for (const Case& k : cases) {
        SCOPED_TRACE(std::string(k.model) + " on " + k.input);
        const auto out = run_floats(k.model, k.input);
        ASSERT_EQ(out.size(), uint64_t{k.anchors} * k.entries * k.rows * k.cols);
        const Cell c = strongest_cell(out, k.anchors, k.entries, k.rows, k.cols);
        const auto [x, y] = box_centre(out, c, k.entries, k.rows, k.cols, k.width, k.height);
        EXPECT_GT(c.objectness, 0.5f);
        EXPECT_TRUE(x >= k.x0 && x <= k.x1 && y >= k.y0 && y <= k.y1)
            << "strongest box centre at (" << x << ", " << y << ")";
    }
}

TEST(RealModels, ModelTooLargeForMaixPyFullFirmwareIsOutOfMemory) {
    const Model m = load_kmodel(shared_path("models/mobilenetv1_0.75_imagenet_v3/mbnet75.kmodel"));
    RunSettings c = bare_metal();
    c.ram_budget_bytes = memory::preset_bytes(memory::RamPreset::maixpy_full);
    try {
        run_standalone(m, test_pattern(m.input), c);
        FAIL() << "a 2.6 MB model ran in a 2 MiB budget";
    } catch (const CapacityError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("out of memory"), std::string::npos) << msg;
        EXPECT_NE(msg.find("2655688"), std::string::npos) << msg;
        EXPECT_NE(msg.find("2097152"), std::string::npos) << msg;
    }
    // The SoC stays usable after the failure.
    RunResult r = run_standalone(m, test_pattern(m.input), bare_metal());
    EXPECT_EQ(r.outputs.size(), 1u);
}

TEST(RealModels, RepeatedRunsInOneProcessGiveIdenticalOutputs) {
    const Model m = load_kmodel(shared_path("models/mnist_maixpy_v3/mnist.kmodel"));
    const auto input = test_pattern(m.input);
    const RunResult a = run_standalone(m, input, bare_metal());
    const Model other = load_kmodel(shared_path("models/face_detect_canmv_v3/yolo_face_detect.kmodel"));
    run_standalone(other, test_pattern(other.input), bare_metal());
    const RunResult b = run_standalone(m, input, bare_metal());
    ASSERT_EQ(a.outputs.size(), b.outputs.size());
    EXPECT_EQ(a.outputs[0].bytes, b.outputs[0].bytes);
}

TEST(RealModels, KpuRamFootprintMatchesTheHeadersLowestRow) {
    // nncase places feature maps from the top of KPU RAM down; the header's
    // max_start_address is the lowest row used (kmodel-spec.md §7.1).
    for (const char* path : {"models/face_detect_maixpy_v3/facedetect.kmodel", "models/mnist_maixpy_v3/mnist.kmodel",
                             "models/yolo20_voc_maixpy_v3/yolo.kmodel", "models/mobilenetv1_0.75_imagenet_v3/mbnet75.kmodel"}) {
        SCOPED_TRACE(path);
        const Model m = load_kmodel(shared_path(path));
        EXPECT_EQ(m.kpu_ram_rows_used(), 32768u - m.max_start_address);
    }
}
