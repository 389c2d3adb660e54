// Decoding the Ultra-Light-Fast-Generic-Face-Detector (ULFFD, Linzaer) family as the nncase
// 0.2 K210 examples do it: SSD-style prior boxes, box regressions with variances, a face score
// per prior, a score threshold and non-maximum suppression.
//
// Sources of the facts (learnt from the examples, none of their code copied):
// - kendryte/nncase v0.2.0-beta4 examples/fast_facedetect/k210/kpu_fast_facedetect_example/
//   ultra_face.cpp and main.c (ulffd_rfb320_v4, ulffd_slim320_v4): strides 8/16/32/64, min box
//   sizes {10,16,24} {32,48} {64,96} {128,192,256} px, variances 0.1 (centre) and 0.2 (size),
//   score threshold 0.3, IoU threshold 0.05, "blending" NMS;
// - kendryte/nncase examples/facedetect_landmark/k210/facedetect_landmark_example/main.c,
//   region_layer.c and prior.h (ulffd_landmark_v4): its 3,160 priors (strides 8/16/32, two
//   sizes per cell), variances 0.1/0.2, softmax of the (background, face) pair, threshold 0.7,
//   IoU threshold 0.4, at most 200 candidates, landmarks decoded like box centres.
// The team's ../shared/models/ulffd_*_v4/SOURCE.md describe the files and outputs.
//
// Coordinates. Priors are normalised to the model input (0..1 across its width / height).
// Detections are in pixels of the picture the caller names (as in sim/detection.h: x rightwards,
// y downwards, x1/y1 exclusive edges), the normalised box mapped onto picture_width x
// picture_height even when the picture was resized to the model's input.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "sim/detection.h"
#include "sim/functional_executor.h"

namespace kpusim {

/// One SSD prior ("anchor") box, normalised to the model input: centre (cx, cy) and size
/// (w, h), each a fraction of the input's width or height.
struct PriorBox {
    float cx = 0, cy = 0, w = 0, h = 0;
};

/// The priors of a ULFFD model (RFB-320, slim-320 and their other input sizes) for an input of
/// input_width x input_height pixels, in the order of its outputs: per scale (strides 8, 16,
/// 32, 64), per grid row, per grid column, per min size. The grid of stride s has
/// ceil(input_width / s) columns and ceil(input_height / s) rows; the cell (row j, column i)
/// has its centre at ((i + 0.5) / (input_width / s), (j + 0.5) / (input_height / s)) and the
/// min size k (px) gives w = k / input_width, h = k / input_height; every value is clipped to
/// at most 1 (so the 256 px prior is 0.8 x 1 on 320 x 240). 320 x 240 gives 4,420 priors
/// (grids 40x30, 20x15, 10x8, 5x4 with 3, 2, 2, 3 sizes).
/// @throws InputError when a size is 0.
std::vector<PriorBox> ultraface_priors(uint32_t input_width, uint32_t input_height);

/// The priors of the ULFFD landmark model (ulffd_landmark_v4), as its example's prior.h table:
/// strides 8, 16, 32; centres as in ultraface_priors(); two sizes per cell, fixed fractions
/// of the input (at 320 x 240 they are 17x13 and 38x28 px at stride 8, 98x74 and 161x119 px
/// at stride 16, 217x171 and 299x234 px at stride 32). 320 x 240 gives 3,160 priors (grids
/// 40x30, 20x15, 10x8). Only 320 x 240 is the example's; another input size keeps the same
/// fractions (a choice: no other build of the model is known).
/// @throws InputError when a size is 0.
std::vector<PriorBox> ultraface_landmark_priors(uint32_t input_width, uint32_t input_height);

/// Settings of decode_ultraface(). Defaults: the nncase example's main.c
/// (`ultra_face_init(320, 240, 0.3, 0.05, -1)`) and ultra_face.cpp (blending NMS).
struct UltrafaceParams {
    float threshold = 0.3f;  ///< a prior is a candidate when its face score > threshold
    float nms = 0.05f;       ///< IoU above which a candidate joins a higher-scoring one's group
    /// true: a group's output is the exp(score)-weighted mean of its boxes and scores
    /// ("blending" NMS, as the example); false: the group's best box as it is (hard NMS).
    bool blend = true;
};

/// The ULFFD detector's decode. `scores` holds P x 2 floats (background, face) per prior, soft-
/// maxed by the model, `boxes` P x 4 floats (dx, dy, dw, dh) per prior, P = priors.size(); only
/// the element counts matter (any shape), values are read with as_floats().
/// For prior p with face score s = scores[2p + 1] > params.threshold:
///   cx = p.cx + dx * 0.1 * p.w,  cy = p.cy + dy * 0.1 * p.h,
///   w = p.w * exp(dw * 0.2),     h = p.h * exp(dh * 0.2),
/// corners (cx -+ w/2, cy -+ h/2) clipped to [0, 1] and scaled to input pixels
/// (input_width x input_height), score min(s, 1). NMS then runs in input pixels as the
/// example: candidates by descending score (ties: prior order); each candidate not yet taken
/// starts a group with every later candidate not yet taken whose IoU with it exceeds
/// params.nms, IoU computed with the example's inclusive-pixel areas ((x1 - x0 + 1) x
/// (y1 - y0 + 1), intersection likewise, none when a side is <= 0); the group gives one
/// Detection (blended or its first box, see UltrafaceParams::blend). Boxes are finally scaled
/// from input pixels to picture_width x picture_height. class_id 0, label labels[0] or "face".
/// @return the detections in group order (descending score of each group's first box).
/// @throws InputError when the element counts are not P x 2 and P x 4, a size is not positive,
///         or threshold or nms is negative or NaN.
std::vector<Detection> decode_ultraface(const OutputTensor& scores, const OutputTensor& boxes,
                                        const std::vector<PriorBox>& priors, const UltrafaceParams& params,
                                        const std::vector<std::string>& labels, float input_width,
                                        float input_height, float picture_width, float picture_height);

/// Settings of decode_ultraface_landmark(). Defaults: the nncase example's main.c
/// (`region_layer_init(..., 0.7, 0.4, variances)`, `boxes_info_init(..., 200)`).
struct UltrafaceLandmarkParams {
    float threshold = 0.7f;        ///< a prior is a candidate when its face probability > threshold
    float nms = 0.4f;              ///< a candidate is dropped when its IoU with a better one > nms
    uint32_t max_candidates = 200; ///< candidates taken in prior order, at most this many
};

/// The ULFFD landmark model's decode. `boxes` holds P x 4 floats (dx, dy, dw, dh),
/// `landmarks` P x 10 floats (five (dx, dy) pairs), `scores` P x 2 floats (background, face)
/// logits, P = priors.size(); only element counts matter, values read with as_floats().
/// For prior p (in order, stopping after params.max_candidates candidates), the face
/// probability is the softmax of its pair; when it is > params.threshold the prior is a
/// candidate with
///   cx = p.cx + dx * 0.1 * p.w, cy = p.cy + dy * 0.1 * p.h, w = p.w * exp(dw * 0.2),
///   h = p.h * exp(dh * 0.2), and landmark k at (p.cx + lx_k * 0.1 * p.w, p.cy + ly_k * 0.1 * p.h).
/// NMS as the example's region layer: by descending probability (ties: prior order), a
/// candidate still alive drops every later one whose IoU (plain, on the normalised boxes)
/// exceeds params.nms. Boxes are scaled to picture_width x picture_height and clipped to
/// the picture; landmarks are scaled, not clipped. class_id 0, label labels[0] or "face".
/// @return the surviving detections, highest score first (the example draws them in prior
///         order; only the order differs).
/// @throws InputError when the element counts are not P x 4, P x 10 and P x 2, a size is not
///         positive, or threshold or nms is negative or NaN.
std::vector<Detection> decode_ultraface_landmark(const OutputTensor& boxes, const OutputTensor& landmarks,
                                                 const OutputTensor& scores, const std::vector<PriorBox>& priors,
                                                 const UltrafaceLandmarkParams& params,
                                                 const std::vector<std::string>& labels, float picture_width,
                                                 float picture_height);

/// Intersection over union as the ULFFD example's NMS computes it on pixel boxes (x0, y0,
/// x1, y1): areas and intersection with inclusive pixels ((x1 - x0 + 1) x (y1 - y0 + 1));
/// 0 when the intersection has a side <= 0.
float inclusive_pixel_iou(const std::array<float, 4>& a, const std::array<float, 4>& b);

}  // namespace kpusim
