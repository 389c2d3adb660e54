// The Ultra-Light-Fast face detector decoders (sim/ultraface.h): prior boxes, box and
// landmark decoding on hand-built tensors with hand-computed expectations, NMS, and the real
// RFB-320 reference output of the nncase example (ulffd_rfb320_v4/face_reference_output.f32).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <iostream>

#include "models/kmodel_error.h"
#include "sim/ultraface.h"
#include "tests/test_support.h"

using namespace kpusim;
using kpusim::test::read_file_bytes;
using kpusim::test::shared_path;

namespace {

OutputTensor floats(const std::vector<float>& values, Shape shape = {}) {
    OutputTensor t;
    t.shape = shape.elements() == values.size() ? shape : Shape{1, static_cast<uint32_t>(values.size()), 1, 1};
    t.type = DataType::float32;
    t.bytes.resize(values.size() * 4);
    std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
    return t;
}

/// Scores and boxes of `p` priors: every face score 0 (background 1), every offset 0.
struct UltraOutputs {
    std::vector<float> scores, boxes;
    explicit UltraOutputs(size_t p) : scores(2 * p, 0.0f), boxes(4 * p, 0.0f) {
        for (size_t i = 0; i < p; ++i) scores[2 * i] = 1.0f;
    }
    void face(size_t prior, float score, std::array<float, 4> offsets = {}) {
        scores[2 * prior] = 1 - score;
        scores[2 * prior + 1] = score;
        for (int k = 0; k < 4; ++k) boxes[4 * prior + k] = offsets[k];
    }
};

void expect_box(const std::array<float, 4>& got, const std::array<float, 4>& want, float tol = 1e-3f) {
    for (int k = 0; k < 4; ++k) EXPECT_NEAR(got[k], want[k], tol) << "edge " << k;
}

/// The RFB-320 reference output: boxes (4,420 x 4) then scores (4,420 x 2).
struct Reference {
    OutputTensor boxes, scores;
};

Reference load_reference() {
    const auto bytes = read_file_bytes(shared_path("models/ulffd_rfb320_v4/face_reference_output.f32"));
    EXPECT_EQ(bytes.size(), 106080u);
    std::vector<float> all(bytes.size() / 4);
    std::memcpy(all.data(), bytes.data(), all.size() * 4);
    Reference r;
    r.boxes = floats(std::vector<float>(all.begin(), all.begin() + 17680));
    r.scores = floats(std::vector<float>(all.begin() + 17680, all.end()));
    return r;
}

}  // namespace

TEST(Ultraface, PriorsOfA320x240InputFollowLinzaersGenerator) {
    const auto p = ultraface_priors(320, 240);
    // 40x30x3 + 20x15x2 + 10x8x2 + 5x4x3.
    ASSERT_EQ(p.size(), 4420u);
    // First prior: stride 8, cell (0, 0), 10 px.
    EXPECT_FLOAT_EQ(p[0].cx, 0.5f / 40);
    EXPECT_FLOAT_EQ(p[0].cy, 0.5f / 30);
    EXPECT_FLOAT_EQ(p[0].w, 10.0f / 320);
    EXPECT_FLOAT_EQ(p[0].h, 10.0f / 240);
    // Per row, per column, per size: prior 1 and 2 share the centre, prior 3 is the next column.
    EXPECT_FLOAT_EQ(p[1].w, 16.0f / 320);
    EXPECT_FLOAT_EQ(p[2].h, 24.0f / 240);
    EXPECT_FLOAT_EQ(p[2].cx, p[0].cx);
    EXPECT_FLOAT_EQ(p[3].cx, 1.5f / 40);
    EXPECT_FLOAT_EQ(p[3 * 40].cy, 1.5f / 30);  // the second row
    // Stride 16 starts at 3,600 with 32 px; stride 32 at 4,200; stride 64 at 4,360.
    EXPECT_FLOAT_EQ(p[3600].w, 32.0f / 320);
    EXPECT_FLOAT_EQ(p[3600].cx, 0.5f / 20);
    EXPECT_FLOAT_EQ(p[4200].w, 64.0f / 320);
    EXPECT_FLOAT_EQ(p[4200].cy, 0.5f / 7.5f);  // centres use 240 / 32 = 7.5, not the 8 rows
    EXPECT_FLOAT_EQ(p[4200 + 7 * 10 * 2].cy, 1.0f);  // the last row's centre: 7.5 / 7.5
    EXPECT_FLOAT_EQ(p[4360].w, 128.0f / 320);
    // The last prior: stride 64, row 3, column 4, 256 px: its height (256 / 240) clipped to 1.
    EXPECT_FLOAT_EQ(p[4419].cx, 4.5f / 5);
    EXPECT_FLOAT_EQ(p[4419].cy, 3.5f / 3.75f);
    EXPECT_FLOAT_EQ(p[4419].w, 0.8f);
    EXPECT_FLOAT_EQ(p[4419].h, 1.0f);
    for (const PriorBox& b : p) {
        EXPECT_GT(b.w, 0);
        EXPECT_LE(b.cx, 1);
        EXPECT_LE(b.cy, 1);
    }
    // Another input size changes the grids: 640 x 480 has 4 times as many cells.
    EXPECT_EQ(ultraface_priors(640, 480).size(), 80u * 60 * 3 + 40u * 30 * 2 + 20u * 15 * 2 + 10u * 8 * 3);
    EXPECT_THROW(ultraface_priors(0, 240), InputError);
}

TEST(Ultraface, LandmarkPriorsMatchTheExamplesTable) {
    const auto p = ultraface_landmark_priors(320, 240);
    // 40x30x2 + 20x15x2 + 10x8x2 = 3,160, the example's region_layer_init count.
    ASSERT_EQ(p.size(), 3160u);
    // Values of the example's prior.h for prior 0, 1, 2400 and 3159.
    EXPECT_FLOAT_EQ(p[0].cx, 0.0125f);
    EXPECT_FLOAT_EQ(p[0].cy, 0.016666668f);
    EXPECT_FLOAT_EQ(p[0].w, 0.053125f);
    EXPECT_FLOAT_EQ(p[0].h, 0.054166667f);
    EXPECT_FLOAT_EQ(p[1].w, 0.11875f);
    EXPECT_FLOAT_EQ(p[1].h, 0.11666667f);
    EXPECT_FLOAT_EQ(p[2400].cx, 0.025f);
    EXPECT_FLOAT_EQ(p[2400].cy, 0.033333335f);
    EXPECT_FLOAT_EQ(p[2400].w, 0.30625f);
    EXPECT_FLOAT_EQ(p[2400].h, 0.30833334f);
    EXPECT_FLOAT_EQ(p[2401].w, 0.503125f);
    EXPECT_FLOAT_EQ(p[2401].h, 0.49583334f);
    EXPECT_FLOAT_EQ(p[3000].w, 0.678125f);
    EXPECT_FLOAT_EQ(p[3000].h, 0.7125f);
    EXPECT_FLOAT_EQ(p[3159].cx, 0.95f);
    EXPECT_FLOAT_EQ(p[3159].cy, 1.0f);
    EXPECT_FLOAT_EQ(p[3159].w, 0.934375f);
    EXPECT_FLOAT_EQ(p[3159].h, 0.975f);
}

TEST(Ultraface, DecodesOneFaceWithHandComputedBox) {
    const auto priors = ultraface_priors(320, 240);
    // Prior 3,900: stride 16, row 7, column 10, 32 px: centre (0.525, 0.5), size 0.1 x 0.1333.
    ASSERT_FLOAT_EQ(priors[3900].cx, 0.525f);
    ASSERT_FLOAT_EQ(priors[3900].cy, 0.5f);
    UltraOutputs o(priors.size());
    // dx = 1: cx = 0.525 + 1 x 0.1 x 0.1 = 0.535 (171.2 px); dy = -2: cy = 0.5 - 0.2 x 0.1333
    // (113.6 px); dw = 5 ln 2: w = 0.1 x exp(ln 2) = 0.2 (64 px); dh = 0: h = 32 px.
    o.face(3900, 0.875f, {1.0f, -2.0f, 5 * std::log(2.0f), 0.0f});
    const auto dets = decode_ultraface(floats(o.scores), floats(o.boxes), priors, {}, {}, 320, 240, 320, 240);
    ASSERT_EQ(dets.size(), 1u);
    EXPECT_EQ(dets[0].class_id, 0u);
    EXPECT_EQ(dets[0].label, "face");
    EXPECT_FLOAT_EQ(dets[0].score, 0.875f);  // one box: the blend is the box itself
    expect_box(dets[0].box, {139.2f, 97.6f, 203.2f, 129.6f});
    EXPECT_TRUE(dets[0].landmarks.empty());
    // The same on a 640 x 480 picture: every edge doubled; a label names the class.
    const auto big = decode_ultraface(floats(o.scores), floats(o.boxes), priors, {}, {"visage"}, 320, 240, 640, 480);
    ASSERT_EQ(big.size(), 1u);
    EXPECT_EQ(big[0].label, "visage");
    expect_box(big[0].box, {278.4f, 195.2f, 406.4f, 259.2f});
    // At the threshold (score 0.3 is not > 0.3) nothing is kept.
    o.face(3900, 0.3f);
    EXPECT_TRUE(decode_ultraface(floats(o.scores), floats(o.boxes), priors, {}, {}, 320, 240, 320, 240).empty());
}

TEST(Ultraface, BoxesAreClippedToTheInput) {
    const auto priors = ultraface_priors(320, 240);
    UltraOutputs o(priors.size());
    // Prior 2: the 24 px prior of the top-left cell, centred at (4, 4): it sticks out.
    o.face(2, 0.9f);
    const auto dets = decode_ultraface(floats(o.scores), floats(o.boxes), priors, {}, {}, 320, 240, 320, 240);
    ASSERT_EQ(dets.size(), 1u);
    expect_box(dets[0].box, {0, 0, 16, 16});
}

TEST(Ultraface, NmsGroupsOverlapsAndBlendsThemAsTheExample) {
    const auto priors = ultraface_priors(320, 240);
    UltraOutputs o(priors.size());
    // Two concentric priors of one stride-16 cell (centre (168, 120)): 32 px and 48 px.
    o.face(3900, 0.9f);  // (152, 104) - (184, 136)
    o.face(3901, 0.8f);  // (144, 96) - (192, 144)
    o.face(0, 0.7f);     // far away: (0, 0) - (9, 9)
    const std::array<float, 4> a{152, 104, 184, 136}, b{144, 96, 192, 144};
    // Inclusive-pixel IoU: 33 x 33 / (49 x 49).
    EXPECT_NEAR(inclusive_pixel_iou(a, b), 1089.0f / 2401.0f, 1e-6f);
    EXPECT_EQ(inclusive_pixel_iou(a, {185, 104, 200, 136}), 0.0f);  // touching edges do not overlap
    EXPECT_GT(inclusive_pixel_iou(a, {184, 104, 200, 136}), 0.0f);   // one shared pixel column does

    UltrafaceParams hard;
    hard.blend = false;
    const auto h = decode_ultraface(floats(o.scores), floats(o.boxes), priors, hard, {}, 320, 240, 320, 240);
    ASSERT_EQ(h.size(), 2u);
    EXPECT_FLOAT_EQ(h[0].score, 0.9f);
    expect_box(h[0].box, a);
    EXPECT_FLOAT_EQ(h[1].score, 0.7f);

    const auto blended = decode_ultraface(floats(o.scores), floats(o.boxes), priors, {}, {}, 320, 240, 320, 240);
    ASSERT_EQ(blended.size(), 2u);
    const float ra = std::exp(0.9f) / (std::exp(0.9f) + std::exp(0.8f)), rb = 1 - ra;
    expect_box(blended[0].box, {152 * ra + 144 * rb, 104 * ra + 96 * rb, 184 * ra + 192 * rb, 136 * ra + 144 * rb});
    EXPECT_NEAR(blended[0].score, 0.9f * ra + 0.8f * rb, 1e-6f);
    expect_box(blended[1].box, h[1].box);

    // An IoU threshold above the pair's 0.4535 keeps both.
    hard.nms = 0.5f;
    EXPECT_EQ(decode_ultraface(floats(o.scores), floats(o.boxes), priors, hard, {}, 320, 240, 320, 240).size(), 3u);
}

TEST(Ultraface, RefusesOutputsThatDoNotFitThePriors) {
    const auto priors = ultraface_priors(320, 240);
    UltraOutputs o(priors.size());
    o.scores.pop_back();
    try {
        decode_ultraface(floats(o.scores), floats(o.boxes), priors, {}, {}, 320, 240, 320, 240);
        FAIL() << "accepted 8,839 scores";
    } catch (const InputError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("8840"), std::string::npos) << msg;
        EXPECT_NE(msg.find("8839"), std::string::npos) << msg;
    }
    UltraOutputs ok(priors.size());
    UltrafaceParams bad;
    bad.threshold = std::nanf("");
    EXPECT_THROW(decode_ultraface(floats(ok.scores), floats(ok.boxes), priors, bad, {}, 320, 240, 320, 240), InputError);
    EXPECT_THROW(decode_ultraface(floats(ok.scores), floats(ok.boxes), priors, {}, {}, 320, 240, 0, 240), InputError);
}

TEST(Ultraface, ReferenceOutputOfRfb320GivesDozensOfFaces) {
    const Reference ref = load_reference();
    const auto scores = ref.scores.as_floats();
    // The file's own property: each (background, face) pair is soft-maxed.
    for (size_t i = 0; i < 4420; ++i) ASSERT_NEAR(scores[2 * i] + scores[2 * i + 1], 1.0f, 1e-5f) << i;

    const auto priors = ultraface_priors(320, 240);
    // Without NMS (an IoU above 1 never happens) every prior over the threshold is a face:
    // SOURCE.md counts 114 over 0.3 and 91 over 0.5, the best prior 429 at 0.9917.
    UltrafaceParams all;
    all.nms = 1.0f;
    all.blend = false;
    const auto raw = decode_ultraface(ref.scores, ref.boxes, priors, all, {}, 320, 240, 320, 240);
    EXPECT_EQ(raw.size(), 114u);
    all.threshold = 0.5f;
    EXPECT_EQ(decode_ultraface(ref.scores, ref.boxes, priors, all, {}, 320, 240, 320, 240).size(), 91u);
    ASSERT_FALSE(raw.empty());
    EXPECT_NEAR(raw[0].score, 0.9917f, 1e-4f);
    // Prior 429: stride 8, row 3, column 23, 10 px, centred at (188, 28): the best box is there.
    const float cx = (raw[0].box[0] + raw[0].box[2]) / 2, cy = (raw[0].box[1] + raw[0].box[3]) / 2;
    EXPECT_NEAR(cx, 188.0f, 6.0f);
    EXPECT_NEAR(cy, 28.0f, 6.0f);

    // As the example: threshold 0.3, IoU 0.05, blending. Dozens of faces, each in the picture.
    const auto faces = decode_ultraface(ref.scores, ref.boxes, priors, {}, {}, 320, 240, 320, 240);
    std::cout << "RFB-320 reference output: " << faces.size() << " faces after blending NMS\n";
    EXPECT_GE(faces.size(), 24u);
    EXPECT_LT(faces.size(), 114u);
    for (const Detection& d : faces) {
        EXPECT_GT(d.score, 0.3f);
        EXPECT_LE(d.score, 1.0f);
        EXPECT_GE(d.box[0], 0.0f);
        EXPECT_GE(d.box[1], 0.0f);
        EXPECT_LE(d.box[2], 320.0f);
        EXPECT_LE(d.box[3], 240.0f);
        EXPECT_LT(d.box[0], d.box[2]);
        EXPECT_LT(d.box[1], d.box[3]);
    }
    // Hard NMS keeps the group leaders: no two kept boxes overlap beyond the IoU threshold.
    UltrafaceParams hard;
    hard.blend = false;
    const auto leaders = decode_ultraface(ref.scores, ref.boxes, priors, hard, {}, 320, 240, 320, 240);
    EXPECT_EQ(leaders.size(), faces.size());
    for (size_t i = 0; i < leaders.size(); ++i)
        for (size_t j = i + 1; j < leaders.size(); ++j)
            EXPECT_LE(inclusive_pixel_iou(leaders[i].box, leaders[j].box), 0.05f) << i << ", " << j;
    for (size_t i = 1; i < leaders.size(); ++i) EXPECT_GE(leaders[i - 1].score, leaders[i].score);
}

namespace {

/// Outputs of the landmark model for `p` priors: every pair of logits (4, -4) (face
/// probability ~ 0.0003), every offset 0.
struct LandmarkOutputs {
    std::vector<float> boxes, landmarks, scores;
    explicit LandmarkOutputs(size_t p) : boxes(4 * p, 0.0f), landmarks(10 * p, 0.0f), scores(2 * p, 0.0f) {
        for (size_t i = 0; i < p; ++i) {
            scores[2 * i] = 4.0f;
            scores[2 * i + 1] = -4.0f;
        }
    }
    void face(size_t prior, float background, float face, std::array<float, 4> box = {},
              std::array<float, 10> points = {}) {
        scores[2 * prior] = background;
        scores[2 * prior + 1] = face;
        for (int k = 0; k < 4; ++k) boxes[4 * prior + k] = box[k];
        for (int k = 0; k < 10; ++k) landmarks[10 * prior + k] = points[k];
    }
};

}  // namespace

TEST(UltrafaceLandmark, DecodesBoxAndFivePointsByHand) {
    const auto priors = ultraface_landmark_priors(320, 240);
    // Prior 2,700: stride 16, row 7, column 10, first size: centre (0.525, 0.5) = (168, 120)
    // px, size 98 x 74 px.
    ASSERT_FLOAT_EQ(priors[2700].cx, 0.525f);
    ASSERT_FLOAT_EQ(priors[2700].cy, 0.5f);
    LandmarkOutputs o(priors.size());
    // Logits (0, 2): face probability 1 / (1 + e^-2) = 0.880797.
    // Landmark k at (168 + lx x 0.1 x 98, 120 + ly x 0.1 x 74) px.
    o.face(2700, 0.0f, 2.0f, {}, {1, -1, 0, 0, 2, 0.5f, -1, 1, -3, -2});
    const auto dets = decode_ultraface_landmark(floats(o.boxes), floats(o.landmarks), floats(o.scores), priors, {},
                                                {}, 320, 240);
    ASSERT_EQ(dets.size(), 1u);
    EXPECT_NEAR(dets[0].score, 0.880797f, 1e-5f);
    EXPECT_EQ(dets[0].label, "face");
    expect_box(dets[0].box, {119, 83, 217, 157});
    const std::array<std::array<float, 2>, 5> want = {
        {{177.8f, 112.6f}, {168.0f, 120.0f}, {187.6f, 123.7f}, {158.2f, 127.4f}, {138.6f, 105.2f}}};
    ASSERT_EQ(dets[0].landmarks.size(), 5u);
    for (int k = 0; k < 5; ++k) {
        EXPECT_NEAR(dets[0].landmarks[k][0], want[k][0], 1e-3f) << "point " << k;
        EXPECT_NEAR(dets[0].landmarks[k][1], want[k][1], 1e-3f) << "point " << k;
    }
    // On a 640 x 480 picture every coordinate doubles.
    const auto big = decode_ultraface_landmark(floats(o.boxes), floats(o.landmarks), floats(o.scores), priors, {},
                                               {}, 640, 480);
    ASSERT_EQ(big.size(), 1u);
    expect_box(big[0].box, {238, 166, 434, 314});
    EXPECT_NEAR(big[0].landmarks[4][0], 277.2f, 1e-3f);
    EXPECT_NEAR(big[0].landmarks[4][1], 210.4f, 1e-3f);
}

TEST(UltrafaceLandmark, NmsDropsTheWeakerOverlapAndCandidatesStopAtTheLimit) {
    const auto priors = ultraface_landmark_priors(320, 240);
    LandmarkOutputs o(priors.size());
    // Prior 2,700 (98 x 74 px at (168, 120)) and prior 2,701 (161 x 119 px, same centre)
    // resized by dw, dh to 98 x 74: the same box, a lower score (logits (0, 1): 0.731).
    o.face(2700, 0.0f, 2.0f);
    o.face(2701, 0.0f, 1.0f, {0, 0, 5 * std::log(98.0f / 161.0f), 5 * std::log(74.0f / 119.0f)});
    // Prior 0 (17 x 13 px at (4, 4)): far away, logits (0, 3): 0.9526, the best.
    o.face(0, 0.0f, 3.0f);
    const auto dets = decode_ultraface_landmark(floats(o.boxes), floats(o.landmarks), floats(o.scores), priors, {},
                                                {}, 320, 240);
    ASSERT_EQ(dets.size(), 2u);
    EXPECT_NEAR(dets[0].score, 0.952574f, 1e-5f);  // highest first
    EXPECT_NEAR(dets[1].score, 0.880797f, 1e-5f);
    expect_box(dets[1].box, {119, 83, 217, 157});
    // The box of prior 0 sticks out of the picture: clipped; its landmarks are not.
    expect_box(dets[0].box, {0, 0, 12.5f, 10.5f});
    EXPECT_NEAR(dets[0].landmarks[0][0], 4.0f, 1e-4f);
    // With an IoU threshold of 1 nothing overlaps enough: all three stay.
    UltrafaceLandmarkParams p;
    p.nms = 1.0f;
    EXPECT_EQ(decode_ultraface_landmark(floats(o.boxes), floats(o.landmarks), floats(o.scores), priors, p, {}, 320,
                                        240).size(), 3u);
    // Candidates are taken in prior order up to the limit: with 1, only prior 0.
    p.max_candidates = 1;
    const auto first = decode_ultraface_landmark(floats(o.boxes), floats(o.landmarks), floats(o.scores), priors, p,
                                                 {}, 320, 240);
    ASSERT_EQ(first.size(), 1u);
    EXPECT_NEAR(first[0].score, 0.952574f, 1e-5f);
    // Threshold 0.9 keeps only prior 0's face.
    UltrafaceLandmarkParams strict;
    strict.threshold = 0.9f;
    EXPECT_EQ(decode_ultraface_landmark(floats(o.boxes), floats(o.landmarks), floats(o.scores), priors, strict, {},
                                        320, 240).size(), 1u);
}

TEST(UltrafaceLandmark, RefusesOutputsThatDoNotFitThePriors) {
    const auto priors = ultraface_landmark_priors(320, 240);
    LandmarkOutputs o(priors.size());
    try {
        // Landmarks and boxes swapped.
        decode_ultraface_landmark(floats(o.landmarks), floats(o.boxes), floats(o.scores), priors, {}, {}, 320, 240);
        FAIL() << "accepted swapped outputs";
    } catch (const InputError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("12640"), std::string::npos) << msg;
        EXPECT_NE(msg.find("31600"), std::string::npos) << msg;
    }
}
