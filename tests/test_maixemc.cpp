// Bit-exact to the silicon (issue 13, spec §17): layer type 21 as Maix-EMC's kpu.c runs it,
// the per-input-channel arg_x rule on every real V3 model, and the one public board capture
// (Maix-EMC's CIFAR-10 model on plane.bmp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "kpu_core/kpu_layer.h"
#include "models/kmodel_error.h"
#include "models/kmodel_loader.h"
#include "models/kmodel_v3_builder.h"
#include "sim/functional_executor.h"
#include "sim/model_input.h"
#include "tests/test_support.h"

namespace kpusim {
namespace {

using test::shared_path;

constexpr uint32_t kQuantizedFlatten = 21;
constexpr uint32_t kFlatten = 20;

// The ten logits Maix-EMC's README prints under "K210:" for cifar10_output.kmodel on
// plane.bmp (commit 9b3e893; SOURCE.md of ../shared/models/maixemc_cifar10_v3).
constexpr float kBoardLogits[10] = {1.181304f,  -5.381746f, 1.580029f,  0.045343f,  0.511492f,
                                    -0.656629f, -3.597826f, 0.561016f, -0.733270f, -3.771462f};

const char* kCifarModel = "models/maixemc_cifar10_v3/cifar10_output.kmodel";
const char* kCifarPicture = "models/maixemc_cifar10_v3/plane.bmp";

// A model: conv 2 -> 3 channels (3x2, identity weights on channel o % 2, streamed to main
// memory offset 0), then QUANTIZED_TENSORFLOW_FLATTEN of those 18 bytes to offset 32.
std::vector<uint8_t> flatten_model(uint32_t flatten_type = kQuantizedFlatten) {
    KpuConvDesc d;
    d.in_width = 3;
    d.in_height = 2;
    d.in_channels = 2;
    d.out_channels = 3;
    d.kernel = 1;
    d.weights = {1, 0, 0, 1, 1, 0};  // out 0 = in 0, out 1 = in 1, out 2 = in 0
    d.bn.assign(3, BnEntry{1, 0, 0});
    d.act = identity_table();
    d.in_row = 0;
    d.out_row = 16384;
    d.main_mem_out = 0;
    KmodelV3Builder b;
    b.add_conv(d);
    const uint32_t es = flatten_type == kFlatten ? 4 : 1;
    b.add_raw_layer_words(flatten_type, {0, 0, 32, 3, 2, 3}, {{0, 18 * es}, {32, 18 * es}});
    b.add_output(32, 18);
    return b.build();
}

TEST(MaixEmc, QuantizedFlattenReordersBytesChwToHwc) {
    const Model m = parse_kmodel(flatten_model());
    ASSERT_EQ(m.layers.size(), 2u);
    EXPECT_EQ(m.layers[1].type_name, "QUANTIZED_TENSORFLOW_FLATTEN");
    EXPECT_EQ(m.layers[1].out_type, DataType::uint8);
    EXPECT_EQ(m.layers[1].out_shape, (Shape{1, 18, 1, 1}));
    // Input channel 0 = 1..6, channel 1 = 11..16 (rows of 3). Conv output (CHW):
    // c0 = 1..6, c1 = 11..16, c2 = 1..6. HWC: per pixel (y, x): c0, c1, c2.
    const std::vector<uint8_t> in = {1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16};
    const auto outs = run_functional(m, in);
    ASSERT_EQ(outs.size(), 1u);
    const std::vector<uint8_t> expected = {1, 11, 1, 2, 12, 2, 3, 13, 3,
                                           4, 14, 4, 5, 15, 5, 6, 16, 6};
    ASSERT_GE(outs[0].bytes.size(), expected.size());
    EXPECT_EQ(std::vector<uint8_t>(outs[0].bytes.begin(), outs[0].bytes.begin() + 18), expected);
}

TEST(MaixEmc, QuantizedFlattenIsAcceptedWithANote) {
    const Model m = parse_kmodel(flatten_model());
    ASSERT_EQ(m.notes.size(), 1u);
    EXPECT_NE(m.notes[0].find("Maix-EMC"), std::string::npos) << m.notes[0];
    EXPECT_NE(m.notes[0].find("standard"), std::string::npos) << m.notes[0];
    EXPECT_NE(m.notes[0].find("layer 1"), std::string::npos) << m.notes[0];
    // A model the standard SDK runs carries no note.
    EXPECT_TRUE(parse_kmodel(flatten_model(kFlatten)).notes.empty());
}

TEST(MaixEmc, StrictSdkRefusesQuantizedFlattenAsTheStandardSdk) {
    KmodelReadOptions strict;
    strict.strict_sdk = true;
    try {
        parse_kmodel(flatten_model(), strict);
        FAIL() << "strict SDK checking accepted layer type 21";
    } catch (const KmodelError& e) {
        EXPECT_EQ(e.kind(), KmodelErrorKind::unsupported_layer);
        EXPECT_EQ(e.layer(), std::optional<uint32_t>(1));
        const std::string msg = e.what();
        EXPECT_NE(msg.find("QUANTIZED_TENSORFLOW_FLATTEN"), std::string::npos) << msg;
        EXPECT_NE(msg.find("Layer is not supported"), std::string::npos) << msg;
    }
    // Strict checking changes nothing for the layers the standard SDK runs.
    EXPECT_NO_THROW(parse_kmodel(flatten_model(kFlatten), strict));
}

// ---- real models ----------------------------------------------------------------------------

std::vector<float> cifar_logits(kpu::ArgXRule rule) {
    const Model m = load_kmodel(shared_path(kCifarModel));
    const auto input = load_model_input(shared_path(kCifarPicture), m.input);
    kpu::KpuOptions options;
    options.arg_x_rule = rule;
    const auto outs = run_functional(m, input, options);
    EXPECT_EQ(outs.size(), 1u);
    return outs.at(0).as_floats();
}

TEST(MaixEmc, CifarPlanePictureIsTheBoardsInput) {
    // SOURCE.md: the board program embeds plane.bmp as planar RGB, rows top-down (image.c),
    // byte-equal to plane_32x32_rgb_chw.u8; the picture loader must give the same bytes.
    const Model m = load_kmodel(shared_path(kCifarModel));
    EXPECT_EQ(m.input.shape, (Shape{1, 3, 32, 32}));
    EXPECT_EQ(load_model_input(shared_path(kCifarPicture), m.input),
              test::read_file_bytes(shared_path("models/maixemc_cifar10_v3/plane_32x32_rgb_chw.u8")));
}

TEST(MaixEmc, CifarReproducesTheBoardLogitsOnlyWithThePerChannelRule) {
    const std::vector<float> board = cifar_logits(kpu::ArgXRule::per_channel);
    ASSERT_EQ(board.size(), 10u);
    for (int i = 0; i < 10; ++i) EXPECT_NEAR(board[i], kBoardLogits[i], 1e-5) << "logit " << i;

    // nncase's whole-sum arg_x: about 0.006 off (spec §17).
    const std::vector<float> nncase = cifar_logits(kpu::ArgXRule::whole_sum);
    ASSERT_EQ(nncase.size(), 10u);
    double worst = 0;
    for (int i = 0; i < 10; ++i) worst = std::max(worst, std::abs(double(nncase[i]) - kBoardLogits[i]));
    EXPECT_GT(worst, 1e-3) << "the nncase rule should not reproduce the board";
}

TEST(MaixEmc, CifarReproducesEveryPrintedDigitOfTheBoard) {
    // The board printed printf("%f") of each float: with the per-channel rule and Maix-EMC's
    // in-order FULLY_CONNECTED sum, all ten six-decimal strings are the board's.
    const char* printed[10] = {"1.181304",  "-5.381746", "1.580029",  "0.045343",  "0.511492",
                               "-0.656629", "-3.597826", "0.561016", "-0.733270", "-3.771462"};
    const std::vector<float> v = cifar_logits(kpu::ArgXRule::per_channel);
    ASSERT_EQ(v.size(), 10u);
    for (int i = 0; i < 10; ++i) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%f", static_cast<double>(v[i]));
        EXPECT_STREQ(buf, printed[i]) << "logit " << i;
    }
    // The note says how the model is run.
    const Model m = load_kmodel(shared_path(kCifarModel));
    ASSERT_EQ(m.notes.size(), 1u);
    EXPECT_NE(m.notes[0].find("FULLY_CONNECTED"), std::string::npos) << m.notes[0];
    for (const Layer& l : m.layers)
        if (const auto* fc = std::get_if<FullyConnectedOp>(&l.op)) {
            EXPECT_TRUE(fc->sequential_sum);
        }
}

TEST(MaixEmc, OnlyModelsWithLayerType21GetTheInOrderFullyConnectedSum) {
    const Model iris = load_kmodel(shared_path("models/iris_v3/iris.kmodel"));
    for (const Layer& l : iris.layers)
        if (const auto* fc = std::get_if<FullyConnectedOp>(&l.op)) {
            EXPECT_FALSE(fc->sequential_sum);
        }
}

TEST(MaixEmc, CifarRunFromTheCommandLineReproducesTheBoardLogits) {
    const std::string dir = "/tmp/kpusim_test_maixemc_cifar";
    std::filesystem::remove_all(dir);
    const test::CliResult r = test::kpusim_cli("run " + shared_path(kCifarModel) + " --input " +
                                               shared_path(kCifarPicture) + " --dump-outputs " + dir);
    const std::string& out = r.out;
    ASSERT_EQ(r.status, 0) << out;
    EXPECT_NE(out.find("Maix-EMC"), std::string::npos) << out;  // the note
    const auto bytes = test::read_file_bytes(dir + "/output_0.bin");
    ASSERT_EQ(bytes.size(), 40u);
    for (int i = 0; i < 10; ++i) {
        float v;
        std::memcpy(&v, bytes.data() + 4 * i, 4);
        EXPECT_NEAR(v, kBoardLogits[i], 1e-5) << "logit " << i;
    }
}

using test::kpusim_cli;
using test::CliResult;

TEST(MaixEmc, CliReportsTheNoteAndTheRulesAndRefusesWhenStrict) {
    const std::string model = shared_path(kCifarModel), json = "/tmp/kpusim_test_maixemc_report.json";
    const CliResult run = kpusim_cli("run " + model + " --input " + shared_path(kCifarPicture) + " --json " + json);
    ASSERT_EQ(run.status, 0) << run.out;
    EXPECT_NE(run.out.find("arg_x rule board"), std::string::npos) << run.out;
    std::ifstream f(json);
    std::stringstream ss;
    ss << f.rdbuf();
    const auto j = nlohmann::json::parse(ss.str());
    EXPECT_EQ(j["config"]["arg_x_rule"], "board");
    ASSERT_TRUE(j["model"].contains("notes"));
    EXPECT_NE(j["model"]["notes"][0].get<std::string>().find("Maix-EMC"), std::string::npos);
    const CliResult nncase = kpusim_cli("run " + model + " --arg-x-rule nncase --json " + json);
    EXPECT_EQ(nncase.status, 0) << nncase.out;
    std::ifstream f2(json);
    std::stringstream ss2;
    ss2 << f2.rdbuf();
    EXPECT_EQ(nlohmann::json::parse(ss2.str())["config"]["arg_x_rule"], "nncase");

    const CliResult strict = kpusim_cli("run " + model + " --strict-sdk");
    EXPECT_EQ(strict.status, 2) << strict.out;
    EXPECT_NE(strict.out.find("kpusim: error: "), std::string::npos) << strict.out;
    EXPECT_NE(strict.out.find("QUANTIZED_TENSORFLOW_FLATTEN"), std::string::npos) << strict.out;
    const CliResult bad = kpusim_cli("run " + model + " --arg-x-rule floor");
    EXPECT_EQ(bad.status, 2) << bad.out;
    EXPECT_NE(bad.out.find("'floor'"), std::string::npos) << bad.out;
}

TEST(MaixEmc, CifarArgsAreTheOnlyInexactOnesOfTheRealModels) {
    // Which models the per-channel rule changes: those with a conv whose arg_x or arg_w is
    // not a multiple of 2^shr. Of ../shared/models, only the Maix-EMC model.
    for (const auto& entry : std::filesystem::directory_iterator(shared_path("models"))) {
        const std::string name = entry.path().filename().string();
        if (name.size() < 3 || name.substr(name.size() - 3) != "_v3") continue;
        for (const auto& file : std::filesystem::directory_iterator(entry.path())) {
            if (file.path().extension() != ".kmodel") continue;
            SCOPED_TRACE(file.path().string());
            const Model m = load_kmodel(file.path().string());
            bool inexact = false;
            for (const Layer& l : m.layers)
                if (const auto* c = std::get_if<KpuConvOp>(&l.op))
                    inexact |= !kpu::arg_rules_agree(c->arg.arg_x, c->arg.shr_x) ||
                               !kpu::arg_rules_agree(c->arg.arg_w, c->arg.shr_w);
            EXPECT_EQ(inexact, name == "maixemc_cifar10_v3");
        }
    }
}

// The nncase-made real V3 models: every *_v3 folder of ../shared/models but Maix-EMC's.
const char* const kNncaseV3Models[] = {"face_attribute_canmv_v3", "face_detect_canmv_v3", "face_detect_kendryte_v3",
    "face_detect_maixpy_v3", "face_landmark5_canmv_v3", "face_landmark68_canmv_v3",
    "face_mask_detect5_v3", "face_mask_detect9_v3", "fruit_yolov2_maixpy_fans_v3",
    "iris_v3", "licenseplate_detect_canmv_v3", "licenseplate_recog_canmv_v3",
    "mask_yolo2_maixpy_fans_v3", "mnist_maixpy_v3", "mobilenetv1_0.75_imagenet_v3",
    "voc20_detect_canmv_v3", "yolo20_voc_maixpy_v3", "yolo20_voc_nncase_v3"};

// Every nncase-made real V3 model: outputs byte-identical
// under both rules, on the model's own sample picture when it has one, else the test pattern.
class NncaseModelUnderBothRules : public ::testing::TestWithParam<const char*> {};

TEST_P(NncaseModelUnderBothRules, OutputsAreByteIdentical) {
    const std::string dir = shared_path(std::string("models/") + GetParam());
    std::string model_path, input_path;
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
        const std::string ext = f.path().extension().string();
        if (ext == ".kmodel") model_path = f.path().string();
        if (ext == ".u8" && input_path.empty()) input_path = f.path().string();
    }
    ASSERT_FALSE(model_path.empty()) << dir;
    const Model m = load_kmodel(model_path);
    const auto input = input_path.empty() || m.input.type != DataType::uint8
                           ? test_pattern(m.input)
                           : load_model_input(input_path, m.input);
    kpu::KpuOptions board, nncase;
    board.arg_x_rule = kpu::ArgXRule::per_channel;
    nncase.arg_x_rule = kpu::ArgXRule::whole_sum;
    const auto a = run_functional(m, input, board);
    const auto b = run_functional(m, input, nncase);
    ASSERT_EQ(a.size(), b.size());
    ASSERT_FALSE(a.empty());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].bytes, b[i].bytes) << "output " << i;
}

INSTANTIATE_TEST_SUITE_P(RealV3, NncaseModelUnderBothRules, ::testing::ValuesIn(kNncaseV3Models));

TEST(MaixEmc, TheNncaseModelListCoversEveryOtherV3Folder) {
    // Keeps the parameter list above complete when ../shared/models gains a V3 model.
    const std::vector<std::string> listed(std::begin(kNncaseV3Models), std::end(kNncaseV3Models));
    for (const auto& entry : std::filesystem::directory_iterator(shared_path("models"))) {
        const std::string name = entry.path().filename().string();
        if (name.size() < 3 || name.substr(name.size() - 3) != "_v3" || name == "maixemc_cifar10_v3") continue;
        EXPECT_NE(std::find(listed.begin(), listed.end(), name), listed.end()) << name << " is not tested";
    }
}

}  // namespace
}  // namespace kpusim
