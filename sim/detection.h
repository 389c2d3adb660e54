// Decoding model outputs into results a person can read: the top classes of a classifier,
// or the boxes of a YOLOv2 ("region layer") detector.
//
// Coordinates. A Detection's box is in pixels of the picture the caller names (usually the
// picture given as input, before it was resized to the model's input): x grows rightwards,
// y downwards, (0, 0) is the top-left corner of the top-left pixel, and x1, y1 are exclusive
// edges, so a box covering the whole of a 320 x 240 picture is (0, 0, 320, 240).
// YOLO anchors are in grid units (one unit = one output cell = input size / grid size
// pixels, e.g. 32 px for the 20-class VOC model's 10 x 7 grid on 320 x 240).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "models/layer_graph.h"
#include "sim/functional_executor.h"

namespace kpusim {

/// How to turn a model's output into results.
enum class DecodeKind {
    none,      ///< print the raw tensor only
    classify,  ///< top-K classes of a score vector
    yolo2,     ///< YOLOv2 region layer: boxes, NMS
    ultraface,           ///< Ultra-Light-Fast face detector: prior boxes, NMS (sim/ultraface.h)
    ultraface_landmark,  ///< its 5-landmark variant: boxes with five points (sim/ultraface.h)
    features,            ///< a feature vector: shape, L2 norm, first values (sim/features.h)
};

/// "none", "classify", "yolo2", "ultraface", "ultraface-landmark" or "features".
const char* to_string(DecodeKind kind);
/// The inverse of to_string (exact, lower-case names). Throws InputError naming the bad
/// text and the accepted names.
DecodeKind parse_decode_kind(const std::string& text);

/// Anchor counts guess_decode() recognises, in the order it tries them: 5 (darknet tiny
/// YOLOv2, Kendryte's and MaixPy's face detectors) and 9 (CanMV's face detector).
inline constexpr std::array<uint32_t, 2> kKnownAnchorCounts = {5, 9};

/// Guess how to decode an output of shape `output_shape` (N x C x H x W, channel-major):
/// - classify when H = W = 1 (a vector of C scores);
/// - yolo2 when H x W is a grid (H > 1 or W > 1) whose C = anchors x (5 + classes) with
///   classes >= 0 for anchors = 5, else 9 (the first that fits wins; 0 classes is a detector
///   of one unnamed kind of object, e.g. Canaan's licence-plate detector: 25 = 5 x (5 + 0));
/// - none otherwise.
/// If `reason` is not null it receives a one-line explanation fit to print, e.g.
/// "guessed yolo2: 125 channels = 5 anchors x (5 + 20 classes) on a 10 x 7 grid".
DecodeKind guess_decode(const Shape& output_shape, std::string* reason = nullptr);

/// One result: a class (and, for detectors, a box).
struct Detection {
    uint32_t class_id = 0;
    std::string label;        ///< labels[class_id], or "class <id>" when there is no label
    float score = 0;          ///< classify: the model's score; yolo2: objectness x class prob
    std::array<float, 4> box{};  ///< x0, y0, x1, y1 in picture pixels; all 0 for classify
    /// Face landmarks (ultraface-landmark: five (x, y) points in picture pixels, in the
    /// model's order); empty for every other decoder.
    std::vector<std::array<float, 2>> landmarks{};
};

/// Settings of the YOLOv2 region layer.
/// threshold and nms default to the values MaixPy's examples pass to kpu.init_yolo2
/// (sipeed/MaixPy-v1_scripts machine_vision/demo_find_face.py:
/// `kpu.init_yolo2(task, 0.5, 0.3, 5, anchor)`; also face_detect_maixpy_v3/SOURCE.md).
struct Yolo2Params {
    /// Anchor sizes as w, h pairs in grid units (2 values per anchor).
    std::vector<float> anchors;
    /// A box is kept when objectness x class probability > threshold (0..1).
    float threshold = 0.5f;
    /// Of two same-class boxes whose IoU exceeds nms, the lower-scoring one is dropped.
    float nms = 0.3f;
};

/// The anchors (w, h pairs in grid units) of the model families in the team's
/// shared/models/*/SOURCE.md, chosen by the output's anchor and class counts:
/// - 5 anchors, 20 classes: the 20-class VOC tiny YOLOv2 (nncase example; yolo20_voc_*):
///   (1.08,1.19) (3.42,4.41) (6.63,11.38) (9.42,5.11) (16.62,10.52);
/// - 5 anchors, 1 class: Kendryte's and MaixPy's face detectors (face_detect_kendryte_v3,
///   face_detect_maixpy_v3): (1.889,2.5245) (2.9465,3.94056) (3.99987,5.3658)
///   (5.155437,6.92275) (6.718375,9.01025);
/// - 9 anchors, 1 class: CanMV's face detector (face_detect_canmv_v3): (0.893,1.463)
///   (0.245,0.389) (1.55,2.58) (0.375,0.594) (3.099,5.038) (0.057,0.090) (0.567,0.904)
///   (0.101,0.160) (0.159,0.255);
/// - 5 anchors, 0 classes: Canaan's licence-plate detector (licenseplate_detect_canmv_v3,
///   kpu.init_yolo2 in canmv_examples): (8.30891522166988,2.75630994889035)
///   (5.18609903718768,1.7863757404970702) (6.91480529053198,3.825771881004435)
///   (10.218567655549439,3.69476690620971) (6.4088204258368195,2.38813526350986).
/// Anything else: an empty vector (the caller must then ask the user for anchors).
/// These are chosen from the output's size alone: another model of the same layout gets
/// them too (sim/decode_choice.h warns when it uses them).
std::vector<float> default_anchors(uint32_t anchor_count, uint32_t classes);

/// Which model family default_anchors(anchor_count, classes) comes from, for messages
/// ("the 20-class VOC tiny YOLOv2 (nncase's example)"); empty when there are no built-in
/// anchors for that layout.
std::string default_anchors_origin(uint32_t anchor_count, uint32_t classes);

/// "5 anchors x (5 + 20 classes)", "5 anchors x (5 + 1 class)", "5 anchors x (5 + 0 classes)".
std::string yolo2_layout_text(uint32_t anchor_count, uint32_t classes);

/// The darknet region layer (YOLOv2) on a float channel-major output of N=1 x C x H x W,
/// as Kendryte's region_layer.c (used by the nncase example and MaixPy's run_yolo2) does it:
/// anchor a's entry e is channel a*(5+classes)+e, entries tx, ty, tw, th, to, class scores.
/// For the cell at (row, col) of the H x W grid and anchor a with size (aw, ah):
///   x = (col + sigmoid(tx)) / W,  y = (row + sigmoid(ty)) / H      (box centre, 0..1)
///   w = exp(tw) * aw / W,         h = exp(th) * ah / H              (box size, 0..1)
///   objectness = sigmoid(to); class probabilities = softmax of the class scores
///   (1 when there is one class); score = objectness x the best class's probability.
/// With 0 classes (entries tx, ty, tw, th, to only) the score is the objectness and every
/// box is class 0, labelled labels[0] when given, else "object".
/// A box is kept when score > params.threshold; then, per class, boxes are taken by
/// descending score and a box is dropped when its IoU with a kept box exceeds params.nms.
/// Each (cell, anchor) gives at most one Detection, for its best class. (Kendryte's code
/// suppresses per class and then shows a box's best remaining class, so a box whose best
/// class lost NMS could reappear as its second class; that needs two classes above the
/// threshold, impossible when threshold >= 0.5 since the class probabilities sum to 1.)
/// Boxes are scaled to picture_width x picture_height pixels (the picture the input came
/// from: the normalised box maps onto it even if it was resized to the model's input) and
/// clipped to [0, picture_width] x [0, picture_height].
/// The anchor count is params.anchors.size() / 2. When C fits one of kKnownAnchorCounts
/// (as in guess_decode) the count must be one that fits; otherwise any count that divides C
/// into entries of at least 5 (0 classes) is accepted.
/// @return the detections, highest score first (ties: lower class id, then grid order).
/// The output's values are read with as_floats() (float32, or uint8 taken as is).
/// @throws InputError when the output is not N = 1 x C x H x W, when params.anchors.size()
///         is not twice an anchor count the shape implies (the message names both), when an
///         anchor, picture_width or picture_height is not positive, or when threshold or
///         nms is negative.
std::vector<Detection> decode_yolo2(const OutputTensor& out, const Yolo2Params& params,
                                    const std::vector<std::string>& labels, float picture_width,
                                    float picture_height);

/// The `top` highest-scoring classes of an output's values (top_k of classification.h:
/// highest first, ties to the lower class id), as Detections with all-zero boxes.
/// `labels` may be empty or shorter than the class count (then "class <id>").
std::vector<Detection> decode_classify(const OutputTensor& out, uint32_t top,
                                       const std::vector<std::string>& labels);

/// Intersection over union of two boxes (x0, y0, x1, y1); 0 when either is empty.
float box_iou(const std::array<float, 4>& a, const std::array<float, 4>& b);

}  // namespace kpusim
