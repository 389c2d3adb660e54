// Choosing and applying a decoder from all of a run's outputs (sim/decode_outputs.h), the
// known-model table and its YOLOv2 anchor choice (sim/known_models.h), feature summaries
// (sim/features.h), and the CLI hook.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>

#include "kpusim/kpusim.h"
#include "models/kmodel_error.h"
#include "sim/decode_outputs.h"
#include "sim/known_models.h"
#include "sim/ultraface.h"
#include "tests/test_support.h"

using namespace kpusim;
using kpusim::test::kpusim_cli;
using kpusim::test::read_file_bytes;
using kpusim::test::read_text;
using kpusim::test::shared_path;

namespace {

OutputTensor floats(const std::vector<float>& values, Shape shape) {
    OutputTensor t;
    t.shape = shape;
    t.type = DataType::float32;
    t.bytes.resize(values.size() * 4);
    std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
    return t;
}

OutputTensor vec(const std::vector<float>& values) {
    return floats(values, Shape{1, static_cast<uint32_t>(values.size()), 1, 1});
}

/// A model whose file is not one of the known models, with an input of w x h pixels.
Model model_with_input(uint32_t w, uint32_t h) {
    Model m;
    m.input.shape = Shape{1, 3, h, w};
    m.file = std::make_shared<const std::vector<uint8_t>>(std::vector<uint8_t>{'n', 'o', 't', ' ', 'k', 'n', 'o', 'w', 'n'});
    return m;
}

/// A model holding the bytes of a real file of ../shared (not parsed: only its hash and the
/// given input shape matter to the decoders).
Model model_with_file_of(const std::string& relative, uint32_t w, uint32_t h) {
    Model m = model_with_input(w, h);
    m.file = std::make_shared<const std::vector<uint8_t>>(read_file_bytes(shared_path(relative)));
    EXPECT_FALSE(m.file->empty()) << relative;
    return m;
}

std::vector<float> ramp(size_t n, float scale = 0.01f) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = (static_cast<float>(i % 7) - 2.0f) * scale;
    return v;
}

}  // namespace

TEST(KnownModels, TableHashesAreThoseOfTheSharedFiles) {
    const std::pair<const char*, const char*> files[] = {
        {"face_detect_canmv_v3", "models/face_detect_canmv_v3/yolo_face_detect.kmodel"},
        {"face_detect_canmv_v4", "models/face_detect_canmv_v4/face_detect_320x240.kmodel"},
        {"yolo20_voc_nncase_v3", "models/yolo20_voc_nncase_v3/yolo.kmodel"},
        {"yolo20_voc_nncase_v4", "models/yolo20_voc_nncase_v4/yolo.kmodel"},
        {"ulffd_rfb320_v4", "models/ulffd_rfb320_v4/RFB-320.kmodel"},
        {"ulffd_slim320_v4", "models/ulffd_slim320_v4/slim-320.kmodel"},
        {"ulffd_landmark_v4", "models/ulffd_landmark_v4/ulffd_landmark.kmodel"},
        {"mobilenet0.25_feature_canmv_v4", "models/mobilenet0.25_feature_canmv_v4/mb-0.25.kmodel"},
        {"mnist_canmv_v4", "models/mnist_canmv_v4/uint8_mnist_cnn_model.kmodel"},
    };
    ASSERT_EQ(known_models().size(), std::size(files));
    for (const auto& [name, path] : files) {
        SCOPED_TRACE(name);
        const KnownModel* k = find_known_model(model_sha256(model_with_file_of(path, 320, 240)));
        ASSERT_NE(k, nullptr);
        EXPECT_EQ(std::string(k->name), name);
    }
    EXPECT_EQ(find_known_model(model_sha256(model_with_input(320, 240))), nullptr);
}

TEST(KnownModels, TheTwoNineAnchorCanMvFaceDetectorsGetTheirOwnAnchors) {
    const Model v3 = model_with_file_of("models/face_detect_canmv_v3/yolo_face_detect.kmodel", 320, 256);
    const Model v4 = model_with_file_of("models/face_detect_canmv_v4/face_detect_320x240.kmodel", 320, 240);
    std::string origin;
    // Both outputs are 9 anchors x (5 + 1 class) on a 10 x 8 grid.
    const auto a3 = builtin_yolo2_anchors(model_sha256(v3), v3.input.shape, 9, 1, &origin);
    EXPECT_EQ(a3, default_anchors(9, 1));
    EXPECT_EQ(origin, "known model face_detect_canmv_v3");
    EXPECT_FLOAT_EQ(a3[0], 0.893f);  // face_detect_canmv_v3/SOURCE.md
    const auto a4 = builtin_yolo2_anchors(model_sha256(v4), v4.input.shape, 9, 1, &origin);
    EXPECT_EQ(origin, "known model face_detect_canmv_v4");
    ASSERT_EQ(a4.size(), 18u);
    EXPECT_FLOAT_EQ(a4[0], 0.1075f);  // face_detect_canmv_v4/SOURCE.md
    EXPECT_FLOAT_EQ(a4[17], 2.425937f);
    EXPECT_NE(a3, a4);
    // Unknown builds: the input size tells them apart (320 x 240 is the V4 script's).
    const Model other = model_with_input(320, 240);
    EXPECT_EQ(builtin_yolo2_anchors(model_sha256(other), other.input.shape, 9, 1, &origin), a4);
    EXPECT_NE(origin.find("320x240"), std::string::npos) << origin;
    const Model other256 = model_with_input(320, 256);
    EXPECT_EQ(builtin_yolo2_anchors(model_sha256(other256), other256.input.shape, 9, 1, &origin), a3);
    // Other layouts keep default_anchors().
    EXPECT_EQ(builtin_yolo2_anchors(model_sha256(other), other.input.shape, 5, 20, &origin), default_anchors(5, 20));
    EXPECT_TRUE(builtin_yolo2_anchors(model_sha256(other), other.input.shape, 5, 7, &origin).empty());
    EXPECT_EQ(origin, "");
}

TEST(DecodeOutputs, GuessesUltrafaceFromTwoOutputsOfTheRightSizesInEitherOrder) {
    const Model m = model_with_input(320, 240);
    const OutputTensor scores = vec(std::vector<float>(8840, 0.5f));
    const OutputTensor boxes = vec(std::vector<float>(17680, 0.0f));
    std::string reason;
    EXPECT_EQ(guess_outputs_decode(m, {boxes, scores}, {}, &reason), DecodeKind::ultraface);  // RFB-320's order
    EXPECT_NE(reason.find("4420 priors"), std::string::npos) << reason;
    EXPECT_EQ(guess_outputs_decode(m, {scores, boxes}, {}), DecodeKind::ultraface);  // slim-320's order
    // Another input size means other prior counts: not ULFFD.
    EXPECT_NE(guess_outputs_decode(model_with_input(320, 256), {boxes, scores}, {}), DecodeKind::ultraface);
    // One value short: not ULFFD either.
    EXPECT_NE(guess_outputs_decode(m, {boxes, vec(std::vector<float>(8839, 0.5f))}, {}), DecodeKind::ultraface);
}

TEST(DecodeOutputs, UltrafacePicksScoresAndBoxesBySize) {
    const Model m = model_with_input(320, 240);
    std::vector<float> s(8840), b(17680, 0.0f);
    for (size_t i = 0; i < 4420; ++i) s[2 * i] = 1.0f;
    s[2 * 3900] = 0.1f;
    s[2 * 3900 + 1] = 0.9f;  // one face at prior 3,900: (152, 104) - (184, 136) px
    OutputsDecodeSettings settings;
    settings.picture_width = 640;
    settings.picture_height = 480;
    for (const bool scores_first : {true, false}) {
        SCOPED_TRACE(scores_first ? "scores first" : "boxes first");
        const auto outputs = scores_first ? std::vector<OutputTensor>{vec(s), vec(b)}
                                          : std::vector<OutputTensor>{vec(b), vec(s)};
        const DecodedOutputs d = decode_outputs(m, outputs, settings);
        EXPECT_EQ(d.kind, DecodeKind::ultraface);
        ASSERT_EQ(d.detections.size(), 1u);
        EXPECT_NEAR(d.detections[0].box[0], 304.0f, 1e-3f);
        EXPECT_NEAR(d.detections[0].box[3], 272.0f, 1e-3f);
    }
    // Named but the wrong outputs: an error naming the counts it needs and got.
    OutputsDecodeSettings named;
    named.decode = "ultraface";
    try {
        decode_outputs(m, {vec(std::vector<float>(10, 0.0f))}, named);
        FAIL() << "decoded 10 values as ultraface";
    } catch (const InputError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("8840 and 17680"), std::string::npos) << msg;
        EXPECT_NE(msg.find("got 10"), std::string::npos) << msg;
    }
}

TEST(DecodeOutputs, GuessesAndDecodesTheLandmarkVariantFromThreeOutputs) {
    const Model m = model_with_input(320, 240);
    std::vector<float> boxes(12640, 0.0f), points(31600, 0.0f), scores(6320, 0.0f);
    for (size_t i = 0; i < 3160; ++i) scores[2 * i] = 5.0f;
    scores[2 * 2700 + 1] = 7.0f;  // prior 2,700 (98 x 74 px at (168, 120)): probability 0.8808
    points[10 * 2700] = 1.0f;     // its first landmark 9.8 px right of the centre
    std::string reason;
    EXPECT_EQ(guess_outputs_decode(m, {vec(boxes), vec(points), vec(scores)}, {}, &reason),
              DecodeKind::ultraface_landmark);
    EXPECT_NE(reason.find("3160 priors"), std::string::npos) << reason;
    // Any order: picked by size.
    const DecodedOutputs d = decode_outputs(m, {vec(scores), vec(boxes), vec(points)}, {});
    EXPECT_EQ(d.kind, DecodeKind::ultraface_landmark);
    ASSERT_EQ(d.detections.size(), 1u);
    EXPECT_NEAR(d.detections[0].score, 0.880797f, 1e-5f);
    ASSERT_EQ(d.detections[0].landmarks.size(), 5u);
    EXPECT_NEAR(d.detections[0].landmarks[0][0], 177.8f, 1e-3f);
    EXPECT_NEAR(d.detections[0].landmarks[0][1], 120.0f, 1e-3f);
    // Two of the three: not the landmark model.
    EXPECT_NE(guess_outputs_decode(m, {vec(boxes), vec(points)}, {}), DecodeKind::ultraface_landmark);
}

TEST(DecodeOutputs, FeatureVectorsClassifiersAndGridsAreToldApart) {
    const Model m = model_with_input(224, 224);
    std::string reason;
    // 256 values, not probabilities, no labels: features.
    const OutputTensor feat = vec(ramp(256));
    EXPECT_EQ(guess_outputs_decode(m, {feat}, {}, &reason), DecodeKind::features);
    EXPECT_NE(reason.find("256"), std::string::npos) << reason;
    // The same with 256 labels: classify.
    EXPECT_EQ(guess_outputs_decode(m, {feat}, std::vector<std::string>(256, "x")), DecodeKind::classify);
    // 256 probabilities (summing to 1): classify.
    EXPECT_EQ(guess_outputs_decode(m, {vec(std::vector<float>(256, 1.0f / 256))}, {}), DecodeKind::classify);
    // ImageNet's 1000 classes and MNIST's 10: classify; 32 values: classify.
    EXPECT_EQ(guess_outputs_decode(m, {vec(ramp(1000))}, {}), DecodeKind::classify);
    EXPECT_EQ(guess_outputs_decode(m, {vec(ramp(10))}, {}), DecodeKind::classify);
    EXPECT_EQ(guess_outputs_decode(m, {vec(ramp(32))}, {}), DecodeKind::classify);
    // A vector along W (a flat output): the same rules.
    EXPECT_EQ(guess_outputs_decode(m, {floats(ramp(10), Shape{1, 1, 1, 10})}, {}), DecodeKind::classify);
    EXPECT_EQ(guess_outputs_decode(m, {floats(ramp(128), Shape{1, 1, 1, 128})}, {}), DecodeKind::features);
    // A YOLOv2 grid keeps guess_decode's rule: 125 = 5 x (5 + 20).
    EXPECT_EQ(guess_outputs_decode(m, {floats(ramp(8750), Shape{1, 125, 7, 10})}, {}), DecodeKind::yolo2);
    // A 2-D map that is no YOLOv2 layout: none.
    EXPECT_EQ(guess_outputs_decode(m, {floats(ramp(64), Shape{1, 1, 8, 8})}, {}), DecodeKind::none);
    EXPECT_EQ(guess_outputs_decode(m, {}, {}), DecodeKind::none);
}

TEST(DecodeOutputs, KnownModelsAreGuessedByTheirHash) {
    // The feature extractor's 256 values would be taken for probabilities if they summed to
    // 1; its hash decides first.
    const Model feat = model_with_file_of("models/mobilenet0.25_feature_canmv_v4/mb-0.25.kmodel", 224, 224);
    std::string reason;
    EXPECT_EQ(guess_outputs_decode(feat, {vec(std::vector<float>(256, 1.0f / 256))}, {}, &reason), DecodeKind::features);
    EXPECT_NE(reason.find("mobilenet0.25_feature_canmv_v4"), std::string::npos) << reason;
    const Model mnist = model_with_file_of("models/mnist_canmv_v4/uint8_mnist_cnn_model.kmodel", 112, 112);
    EXPECT_EQ(guess_outputs_decode(mnist, {vec(ramp(10))}, {}), DecodeKind::classify);
    // A known YOLOv2 detector: the reason also gives the layout.
    const Model face = model_with_file_of("models/face_detect_canmv_v4/face_detect_320x240.kmodel", 320, 240);
    EXPECT_EQ(guess_outputs_decode(face, {floats(ramp(4320), Shape{1, 54, 8, 10})}, {}, &reason), DecodeKind::yolo2);
    EXPECT_NE(reason.find("face_detect_canmv_v4"), std::string::npos) << reason;
    EXPECT_NE(reason.find("9 anchors x (5 + 1 class) on a 10 x 8 grid"), std::string::npos) << reason;
}

TEST(DecodeOutputs, Yolo2UsesTheModelsAnchors) {
    const Model v4 = model_with_file_of("models/face_detect_canmv_v4/face_detect_320x240.kmodel", 320, 240);
    // A 10 x 8 grid of 9 x 6 channels with every objectness logit at -20 except anchor 0 of
    // cell (row 4, column 5) at +20 and zero offsets: one box of anchor 0's size.
    std::vector<float> v(54 * 8 * 10, 0.0f);
    for (uint32_t a = 0; a < 9; ++a)
        for (uint32_t cell = 0; cell < 80; ++cell) v[(a * 6 + 4) * 80 + cell] = -20.0f;
    v[(0 * 6 + 4) * 80 + 4 * 10 + 5] = 20.0f;
    const DecodedOutputs d = decode_outputs(v4, {floats(v, Shape{1, 54, 8, 10})}, {});
    EXPECT_EQ(d.kind, DecodeKind::yolo2);
    EXPECT_EQ(d.known_model, "face_detect_canmv_v4");
    EXPECT_EQ(d.anchors, canmv_v4_face_anchors());
    EXPECT_EQ(d.anchors_origin, "known model face_detect_canmv_v4");
    ASSERT_EQ(d.detections.size(), 1u);
    // Width exp(0) x 0.1075 / 10 of 320 px = 3.44 px, centred at (5.5 / 10) x 320 = 176.
    EXPECT_NEAR(d.detections[0].box[2] - d.detections[0].box[0], 3.44f, 1e-3f);
    EXPECT_NEAR((d.detections[0].box[0] + d.detections[0].box[2]) / 2, 176.0f, 1e-3f);
    // --anchors wins over the built-in ones.
    OutputsDecodeSettings given;
    given.anchors = std::vector<float>(18, 1.0f);
    const DecodedOutputs g = decode_outputs(v4, {floats(v, Shape{1, 54, 8, 10})}, given);
    EXPECT_EQ(g.anchors_origin, "option");
    ASSERT_EQ(g.detections.size(), 1u);
    EXPECT_NEAR(g.detections[0].box[2] - g.detections[0].box[0], 32.0f, 1e-3f);
    // A layout without built-in anchors asks for --anchors.
    OutputsDecodeSettings yolo;
    yolo.decode = "yolo2";
    EXPECT_THROW(decode_outputs(model_with_input(320, 240), {floats(ramp(70 * 80), Shape{1, 70, 8, 10})}, yolo),
                 InputError);
}

TEST(DecodeOutputs, FeaturesSummaryGivesShapeNormAndFirstValues) {
    std::vector<float> v(256, 0.0f);
    v[0] = 3;
    v[1] = -4;
    v[255] = 12;
    OutputsDecodeSettings s;
    s.feature_values = 4;
    const DecodedOutputs d = decode_outputs(model_with_input(224, 224), {vec(v)}, s);
    EXPECT_EQ(d.kind, DecodeKind::features);
    ASSERT_TRUE(d.features.has_value());
    EXPECT_EQ(d.features->count, 256u);
    EXPECT_EQ(d.features->shape, (Shape{1, 256, 1, 1}));
    EXPECT_DOUBLE_EQ(d.features->l2_norm, 13.0);  // sqrt(9 + 16 + 144)
    EXPECT_EQ(d.features->first, (std::vector<float>{3, -4, 0, 0}));
    EXPECT_TRUE(d.detections.empty());
    EXPECT_NEAR(cosine_similarity({1, 0, 1}, {1, 1, 0}), 0.5, 1e-12);
    EXPECT_THROW(cosine_similarity({1, 2}, {1}), InputError);
    EXPECT_THROW(cosine_similarity({0, 0}, {1, 1}), InputError);
    EXPECT_THROW(decode_outputs(model_with_input(224, 224), {}, [] {
                     OutputsDecodeSettings f;
                     f.decode = "features";
                     return f;
                 }()),
                 InputError);
}

TEST(DecodeOutputs, UnknownDecoderNamesAreRefused) {
    OutputsDecodeSettings s;
    s.decode = "ultra";
    try {
        decode_outputs(model_with_input(320, 240), {vec(ramp(10))}, s);
        FAIL();
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("ultraface-landmark"), std::string::npos) << e.what();
    }
}

TEST(DecodeOutputs, CliDecodesFeaturesIntoTextAndJson) {
    const std::string json = testing::TempDir() + "kpusim_features.json";
    const auto r = kpusim_cli("run " + shared_path("models/mnist_maixpy_v3/mnist.kmodel") +
                              " --decode features --json " + json);
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("features: 10 values"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("L2 norm"), std::string::npos) << r.out;
    const std::string text = read_text(json);
    EXPECT_NE(text.find("\"decode\": \"features\""), std::string::npos);
    EXPECT_NE(text.find("\"l2_norm\""), std::string::npos);
    // The guess for this 10-value classifier stays classify.
    const auto guessed = kpusim_cli("run " + shared_path("models/mnist_maixpy_v3/mnist.kmodel"));
    ASSERT_EQ(guessed.status, 0) << guessed.out;
    EXPECT_NE(guessed.out.find("guessed classify"), std::string::npos) << guessed.out;
}
