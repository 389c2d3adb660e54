// Drawing detections onto pictures.
#include <gtest/gtest.h>

#include <stb_image.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <unistd.h>

#include "models/kmodel_error.h"
#include "sim/annotate.h"
#include "tests/test_support.h"

using namespace kpusim;
using kpusim::test::shared_path;

namespace {

const char* kDog = "models/yolo20_voc_nncase_v3/dog.bmp";

std::string temp_file(const std::string& name) {
    return (std::filesystem::temp_directory_path() /
            ("kpusim_test_" + std::to_string(::getpid()) + "_" + name))
        .string();
}

struct Rgb {
    int w = 0, h = 0;
    std::vector<uint8_t> px;
    std::array<uint8_t, 3> at(int x, int y) const {
        const size_t i = (size_t(y) * w + x) * 3;
        return {px[i], px[i + 1], px[i + 2]};
    }
};

Rgb load_rgb(const std::string& path) {
    Rgb r;
    int comp = 0;
    std::unique_ptr<stbi_uc, void (*)(void*)> p(stbi_load(path.c_str(), &r.w, &r.h, &comp, 3),
                                                stbi_image_free);
    if (p) r.px.assign(p.get(), p.get() + size_t(r.w) * r.h * 3);
    return r;
}

std::string error_of(const std::string& picture, const std::string& out) {
    try {
        annotate_png(picture, {Detection{0, "x", 0.9f, {1, 1, 10, 10}}}, out);
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(Annotate, DrawsTheBoxOutlineAndLeavesTheRestOfTheDogPictureAlone) {
    const std::string out = temp_file("dog_annotated.png");
    // A box of picture pixels [100, 200) x [50, 150): outline columns 100, 101, 198, 199 and
    // rows 50, 51, 148, 149; the label strip sits just above row 50.
    const Detection dog{11, "dog", 0.87f, {100, 50, 200, 150}};
    annotate_png(shared_path(kDog), {dog}, out);
    const Rgb pic = load_rgb(shared_path(kDog));
    const Rgb ann = load_rgb(out);
    ASSERT_EQ(pic.w, 320);
    ASSERT_EQ(pic.h, 240);
    ASSERT_EQ(ann.w, pic.w);
    ASSERT_EQ(ann.h, pic.h);
    const auto colour = class_colour(11);
    auto on_outline = [](int x, int y) {
        const bool in_x = x >= 100 && x <= 199, in_y = y >= 50 && y <= 149;
        return (in_x && (y == 50 || y == 51 || y == 148 || y == 149)) ||
               (in_y && (x == 100 || x == 101 || x == 198 || x == 199));
    };
    auto in_label_area = [](int x, int y) { return y >= 30 && y < 50 && x >= 100 && x < 220; };
    int label_colour = 0, label_ink = 0;
    for (int y = 0; y < pic.h; ++y)
        for (int x = 0; x < pic.w; ++x) {
            if (on_outline(x, y)) {
                ASSERT_EQ(ann.at(x, y), colour) << "outline pixel (" << x << ", " << y << ")";
            } else if (in_label_area(x, y)) {
                label_colour += ann.at(x, y) == colour;
                label_ink += ann.at(x, y) != colour && ann.at(x, y) != pic.at(x, y);
            } else {
                ASSERT_EQ(ann.at(x, y), pic.at(x, y)) << "pixel (" << x << ", " << y << ")";
            }
        }
    EXPECT_GT(label_colour, 100) << "no label strip above the box";
    EXPECT_GT(label_ink, 20) << "no text in the label strip";
    std::remove(out.c_str());
}

TEST(Annotate, ClassesGetDistinctColoursAndEdgeBoxesStayInThePicture) {
    EXPECT_NE(class_colour(0), class_colour(1));
    EXPECT_EQ(class_colour(3), class_colour(23));
    const std::string out = temp_file("edges.png");
    // A box on the top-left corner (label inside the box) and one running past the right
    // and bottom edges (clamped), plus a classify result (no box: not drawn).
    annotate_png(shared_path(kDog),
                 {Detection{0, "face", 0.5f, {0, 0, 60, 40}}, Detection{1, "b\xc3\xa9", 0.6f, {300, 220, 400, 300}},
                  Detection{2, "top-1", 0.9f, {0, 0, 0, 0}}},
                 out);
    const Rgb ann = load_rgb(out);
    ASSERT_EQ(ann.w, 320);
    EXPECT_EQ(ann.at(0, 39), class_colour(0));   // left edge, bottom row
    EXPECT_EQ(ann.at(59, 39), class_colour(0));  // right edge
    EXPECT_EQ(ann.at(319, 239), class_colour(1));
    EXPECT_EQ(ann.at(300, 239), class_colour(1));
    std::remove(out.c_str());
}

TEST(Annotate, Errors) {
    const std::string out = temp_file("err.png");
    std::string msg = error_of("/nonexistent/picture.jpg", out);
    EXPECT_NE(msg.find("/nonexistent/picture.jpg"), std::string::npos) << msg;
    // A raw input file is not a picture.
    const std::string raw = shared_path("models/yolo20_voc_nncase_v3/dog_320x240_rgb_chw.u8");
    msg = error_of(raw, out);
    EXPECT_NE(msg.find(raw), std::string::npos) << msg;
    EXPECT_NE(msg.find("raw input file"), std::string::npos) << msg;
    // An unwritable output.
    msg = error_of(shared_path(kDog), "/nonexistent/dir/out.png");
    EXPECT_NE(msg.find("/nonexistent/dir/out.png"), std::string::npos) << msg;
    EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(Annotate, DrawsLandmarksAsSmallSquaresInTheNextClassColour) {
    const std::string out = temp_file("dog_landmarks.png");
    // The dog picture is 320 x 240: 1 pixel per font unit, so each point is a 3 x 3 square.
    Detection d{0, "face", 0.9f, {100, 50, 200, 150}};
    d.landmarks = {{{150.2f, 100.4f}}, {{120.0f, 80.0f}}, {{-50.0f, 10.0f}}, {{170.0f, 120.0f}}, {{319.0f, 239.0f}}};
    annotate_png(shared_path(kDog), {d}, out);
    const Rgb before = load_rgb(shared_path(kDog));
    const Rgb after = load_rgb(out);
    std::filesystem::remove(out);
    ASSERT_EQ(after.w, 320);
    const auto colour = class_colour(1);
    // (150.2, 100.4) rounds to pixel (150, 100): columns 149-151, rows 99-101.
    for (int y = 99; y <= 101; ++y)
        for (int x = 149; x <= 151; ++x) EXPECT_EQ(after.at(x, y), colour) << x << ", " << y;
    EXPECT_EQ(after.at(148, 100), before.at(148, 100));
    EXPECT_EQ(after.at(152, 100), before.at(152, 100));
    EXPECT_EQ(after.at(150, 98), before.at(150, 98));
    EXPECT_EQ(after.at(120, 80), colour);
    // A point in the corner is clipped to the picture; one outside draws nothing.
    EXPECT_EQ(after.at(319, 239), colour);
    EXPECT_EQ(after.at(0, 10), before.at(0, 10));
}
