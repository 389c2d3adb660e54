// From a run's outputs to results: which decoder (asked for, or guessed from ALL the outputs
// and the model), and its results (top classes, boxes, boxes with landmarks, or a feature
// vector's summary). `kpusim run` calls decode_outputs(); the decoders themselves live in
// sim/detection.h (classify, yolo2), sim/ultraface.h (ultraface, ultraface-landmark) and
// sim/features.h (features).
//
// Guess rules (guess_outputs_decode), first match wins:
// 1. a known model (sim/known_models.h: the SHA-256 of the model file is in the table):
//    its decoder;
// 2. two outputs of P x 2 and P x 4 values (either order), P = ultraface_priors() of the
//    model input's width x height (4,420 for 320 x 240): ultraface;
// 3. three outputs of P x 4, P x 10 and P x 2 values (any order), P =
//    ultraface_landmark_priors() of the input (3,160 for 320 x 240): ultraface-landmark;
// 4. on the first output:
//    - a vector (N = 1 and at most one of C, H, W above 1) of n >= 64 values with n a power
//      of two, unless labels with exactly n lines were given or the values look like
//      probabilities (all in [0, 1], summing to 1 within 1e-3): features. (Embeddings are
//      128, 256, 512 ... wide; classifiers' class counts rarely are: ImageNet's 1000, VOC's
//      20, digits' 10);
//    - another vector: classify;
//    - otherwise guess_decode() of sim/detection.h (yolo2 for a YOLOv2 grid, else none).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/layer_graph.h"
#include "sim/classification.h"
#include "sim/detection.h"
#include "sim/features.h"
#include "sim/functional_executor.h"

namespace kpusim {

/// What to decode and how (the `kpusim run` options).
struct OutputsDecodeSettings {
    /// A decoder name (parse_decode_kind: none, classify, yolo2, ultraface,
    /// ultraface-landmark, features), or empty to guess it (guess_outputs_decode).
    std::string decode;
    /// yolo2: anchors (w, h pairs in grid units); empty: builtin_yolo2_anchors().
    std::vector<float> anchors;
    /// Score threshold and NMS IoU of the detectors; negative: the decoder's default
    /// (yolo2 0.5 / 0.3, ultraface 0.3 / 0.05, ultraface-landmark 0.7 / 0.4).
    float threshold = -1;
    float nms = -1;
    uint32_t top = 5;                 ///< classify: how many classes
    std::vector<std::string> labels;  ///< class labels (may be empty)
    /// The picture the boxes are scaled to, pixels; 0: the model input's width / height.
    float picture_width = 0;
    float picture_height = 0;
    uint32_t feature_values = 8;      ///< features: how many leading values to keep
    /// The model file's SHA-256 when the caller already has it (a dataset run hashes the model
    /// once); empty: computed here.
    std::string model_sha256;
};

/// What was decoded.
struct DecodedOutputs {
    DecodeKind kind = DecodeKind::none;
    /// The guess in one line, e.g. "guessed ultraface: outputs of 8840 and 17680 values =
    /// 4420 priors x 2 scores and x 4 box values (320 x 240 input)"; empty when the decoder
    /// was named.
    std::string reason;
    std::string known_model;           ///< the known-model table's name for the model, or ""
    std::vector<float> anchors;        ///< yolo2: the anchors used
    std::string anchors_origin;        ///< yolo2: "option" or builtin_yolo2_anchors()' origin
    std::vector<RankedClass> top;      ///< classify: the top classes
    std::vector<Detection> detections; ///< classify's top classes (zero boxes) or the boxes
    std::optional<FeatureSummary> features;  ///< features: the summary
};

/// Guess the decoder of a run of `model` from all its `outputs` (rules above). `labels` are
/// the class labels the user gave (may be empty). `reason`, when not null, receives a line
/// fit to print explaining the guess. `model_sha256`: the model file's SHA-256 when the caller
/// already has it; null: computed here.
DecodeKind guess_outputs_decode(const Model& model, const std::vector<OutputTensor>& outputs,
                                const std::vector<std::string>& labels, std::string* reason = nullptr,
                                const std::string* model_sha256 = nullptr);

/// Decode `outputs` of a run of `model` as `settings` ask (guessing when settings.decode is
/// empty). ultraface and ultraface-landmark pick their outputs by value count, not index
/// (slim-320 gives scores first, RFB-320 boxes first). The priors follow the model input's
/// width x height; boxes are scaled to the picture size.
/// @throws InputError for an unknown decoder name; for yolo2 without anchors (none given and
///         none built in: the message asks for --anchors) or with anchors decode_yolo2 refuses;
///         for ultraface / ultraface-landmark when the outputs' value counts do not fit the
///         priors (the message names the counts); for features or classify on a run with no
///         output; and the decoders' own errors (sim/detection.h, sim/ultraface.h).
DecodedOutputs decode_outputs(const Model& model, const std::vector<OutputTensor>& outputs,
                              const OutputsDecodeSettings& settings);

}  // namespace kpusim
