// Models the decoders know by their bytes: a small table of the team's real kmodels
// (../shared/models/*/SOURCE.md) keyed by the SHA-256 of the file (what the JSON report calls
// model.sha256), telling how to decode their outputs and, for YOLOv2 detectors whose output
// layout alone is ambiguous, which anchors their scripts use.
//
// Why a table: two models can have outputs of the same shape and still need different
// settings. CanMV's two 9-anchor, 1-class face detectors (face_detect_canmv_v3, V3, 320x256
// input; face_detect_canmv_v4, V4, 320x240 input) both give a 10 x 8 grid of 54 channels but
// were trained with different anchors; a 256-value feature vector and a 256-class score vector
// look the same. The table is exact (a rebuilt model has another hash); the rules of
// builtin_yolo2_anchors() and sim/decode_outputs.h cover models it does not list.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/layer_graph.h"
#include "sim/detection.h"

namespace kpusim {

/// One model the decoders know.
struct KnownModel {
    const char* name;    ///< its folder in ../shared/models, e.g. "face_detect_canmv_v4"
    const char* sha256;  ///< SHA-256 of the (plain) kmodel file, lower-case hex
    DecodeKind decode;   ///< how its outputs are decoded
    /// yolo2: the anchors its script passes (w, h pairs in grid units, as decode_yolo2 takes
    /// them); empty when the output layout's default_anchors() are right, or not yolo2.
    std::vector<float> anchors;
};

/// The table: face_detect_canmv_v3, face_detect_canmv_v4, yolo20_voc_nncase_v3,
/// yolo20_voc_nncase_v4, ulffd_rfb320_v4, ulffd_slim320_v4, ulffd_landmark_v4,
/// mobilenet0.25_feature_canmv_v4 and mnist_canmv_v4 (hashes from their SOURCE.md, checked
/// against the files).
const std::vector<KnownModel>& known_models();

/// The entry whose sha256 equals `sha256` (lower-case hex), or nullptr.
const KnownModel* find_known_model(const std::string& sha256);

/// The anchors of CanMV's V4 face detector (face_detect_canmv_v4/SOURCE.md, from
/// canmv_examples yolo_face_detect_320x240.py), w, h pairs in grid units:
/// (0.1075,0.126875) (0.126875,0.175) (0.1465625,0.2246875) (0.1953125,0.25375)
/// (0.2440625,0.351875) (0.341875,0.4721875) (0.5078125,0.6696875) (0.8984375,1.099687)
/// (2.129062,2.425937).
std::vector<float> canmv_v4_face_anchors();

/// Built-in YOLOv2 anchors for a model whose file hashes to `sha256`, whose input has shape
/// `input` and whose output has `anchor_count` anchors of 5 + `classes` entries:
/// 1. the known model's anchors (find_known_model) when it lists some;
/// 2. 9 anchors, 1 class and a 320 x 240 input (w x h): canmv_v4_face_anchors() (CanMV's
///    320x240 face detector; its V3 sibling takes 320 x 256);
/// 3. default_anchors(anchor_count, classes) (sim/detection.h), which may be empty.
/// `origin`, when not null, receives where they came from in words ("known model
/// face_detect_canmv_v4", "CanMV's 320x240 face detector (9 anchors, 1 class, 320 x 240
/// input)", "the output layout (5 anchors, 20 classes)"), or "" when there are none.
std::vector<float> builtin_yolo2_anchors(const std::string& sha256, const Shape& input, uint32_t anchor_count,
                                         uint32_t classes, std::string* origin = nullptr);

}  // namespace kpusim
