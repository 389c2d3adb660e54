// How `kpusim run` decodes its first output: the decoder asked for (--decode) or guessed from
// the output's shape, the YOLOv2 anchors given (--anchors) or built in, and what to tell the
// user about each guess.
//
// Rules (README "Running a model"):
// - a decoder the user named is applied as asked: its errors (no anchors for a YOLOv2 output,
//   anchors that do not match the shape) are errors of the command;
// - a GUESSED decoder that cannot be applied (a YOLOv2-looking output with no built-in
//   anchors, or anchors the decoder refuses) falls back to no decoding with a warning: the
//   run itself, its outputs and its reports are still produced;
// - built-in anchors are chosen from the output's size alone, so using them is always said
//   with a warning naming the model family they come from.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/classification.h"
#include "sim/detection.h"
#include "sim/functional_executor.h"

namespace kpusim {

/// What the user asked for.
struct DecodeRequest {
    std::string decode;          ///< "classify", "yolo2", "none", or empty: guess from the shape
    std::vector<float> anchors;  ///< --anchors (w,h pairs in grid units); empty: built-in
    float threshold = -1;        ///< YOLOv2 score threshold; negative: Yolo2Params' default
    float nms = -1;              ///< YOLOv2 NMS IoU; negative: Yolo2Params' default
    uint32_t top = 5;            ///< classify: how many classes
    float picture_width = 0;     ///< YOLOv2: the picture the boxes are scaled to, pixels (> 0)
    float picture_height = 0;
    /// The model's SHA-256 and input shape, for the built-in anchors of known models
    /// (sim/known_models.h builtin_yolo2_anchors); empty: the output's layout alone decides.
    std::string model_sha256;
    Shape model_input;
};

/// What was done.
struct DecodeOutcome {
    DecodeKind kind = DecodeKind::none;  ///< the decoder applied (none after a failed guess)
    /// The guess explained in one line ("guessed yolo2: 125 channels = ..."); empty when the
    /// user named the decoder.
    std::string guess;
    std::vector<float> anchors;          ///< yolo2: the anchors used (w,h pairs)
    /// yolo2: "option" (--anchors) or "built-in" (default_anchors() from the output's size).
    std::string anchors_source;
    /// Sentences for the user (printed as "kpusim: warning: ..." and kept in the JSON report):
    /// built-in anchors used, or a guess that fell back to no decoding and why.
    std::vector<std::string> warnings;
    std::vector<RankedClass> top;        ///< classify: the top classes
    std::vector<Detection> detections;   ///< yolo2 boxes, or classify's top classes
};

/// Decode `out` (the model's first output) as `request` asks; `labels` may be empty.
/// @throws InputError for an unknown --decode name, and, when the user named yolo2, for a
///         shape without built-in anchors and no --anchors, or anchors decode_yolo2()
///         refuses (see there). A guessed decoder never throws: it falls back to none.
DecodeOutcome decode_first_output(const OutputTensor& out, const DecodeRequest& request,
                                  const std::vector<std::string>& labels);

}  // namespace kpusim
