#include "sim/detection.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "models/kmodel_error.h"
#include "sim/classification.h"

namespace kpusim {

namespace {

std::string label_of(uint32_t class_id, const std::vector<std::string>& labels) {
    if (class_id < labels.size() && !labels[class_id].empty()) return labels[class_id];
    return "class " + std::to_string(class_id);
}

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

/// Anchor counts of kKnownAnchorCounts that split `channels` into entries of >= 5
/// (5 + classes, classes >= 0).
std::vector<uint32_t> fitting_known_counts(uint32_t channels) {
    std::vector<uint32_t> fits;
    for (uint32_t a : kKnownAnchorCounts)
        if (channels % a == 0 && channels / a >= 5) fits.push_back(a);
    return fits;
}

std::string classes_text(uint32_t classes) {
    return std::to_string(classes) + (classes == 1 ? " class" : " classes");
}

std::string format_float(float v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

}  // namespace

const char* to_string(DecodeKind kind) {
    switch (kind) {
        case DecodeKind::none: return "none";
        case DecodeKind::classify: return "classify";
        case DecodeKind::yolo2: return "yolo2";
        case DecodeKind::ultraface: return "ultraface";
        case DecodeKind::ultraface_landmark: return "ultraface-landmark";
        case DecodeKind::features: return "features";
    }
    return "?";
}

DecodeKind parse_decode_kind(const std::string& text) {
    for (DecodeKind k : {DecodeKind::none, DecodeKind::classify, DecodeKind::yolo2, DecodeKind::ultraface,
                         DecodeKind::ultraface_landmark, DecodeKind::features})
        if (text == to_string(k)) return k;
    throw InputError("unknown decode kind '" + text +
                     "' (expected none, classify, yolo2, ultraface, ultraface-landmark or features)");
}

DecodeKind guess_decode(const Shape& s, std::string* reason) {
    auto say = [&](const std::string& text) {
        if (reason) *reason = text;
    };
    if (s.n != 1 || s.c == 0 || s.h == 0 || s.w == 0) {
        say("guessed none: output " + to_string(s) + " is not a single C x H x W tensor");
        return DecodeKind::none;
    }
    if (s.h == 1 && s.w == 1) {
        say("guessed classify: the output is a vector of " + std::to_string(s.c) + " scores");
        return DecodeKind::classify;
    }
    const auto fits = fitting_known_counts(s.c);
    if (!fits.empty()) {
        const uint32_t a = fits.front();
        const uint32_t classes = s.c / a - 5;
        say("guessed yolo2: " + std::to_string(s.c) + " channels = " + std::to_string(a) +
            " anchors x (5 + " + classes_text(classes) + ") on a " + std::to_string(s.w) + " x " + std::to_string(s.h) + " grid");
        return DecodeKind::yolo2;
    }
    say("guessed none: a " + std::to_string(s.w) + " x " + std::to_string(s.h) + " grid of " +
        std::to_string(s.c) + " channels is not 5 or 9 anchors x (5 + classes)");
    return DecodeKind::none;
}

std::vector<float> default_anchors(uint32_t anchor_count, uint32_t classes) {
    if (anchor_count == 5 && classes == 20)  // yolo20_voc_*/SOURCE.md (nncase 20classes_yolo)
        return {1.08f, 1.19f, 3.42f, 4.41f, 6.63f, 11.38f, 9.42f, 5.11f, 16.62f, 10.52f};
    if (anchor_count == 5 && classes == 1)  // face_detect_{kendryte,maixpy}_v3/SOURCE.md
        return {1.889f, 2.5245f, 2.9465f, 3.94056f, 3.99987f, 5.3658f,
                5.155437f, 6.92275f, 6.718375f, 9.01025f};
    if (anchor_count == 5 && classes == 0)  // licenseplate_detect_canmv_v3/SOURCE.md
        return {8.30891522166988f, 2.75630994889035f, 5.18609903718768f, 1.7863757404970702f,
                6.91480529053198f, 3.825771881004435f, 10.218567655549439f, 3.69476690620971f,
                6.4088204258368195f, 2.38813526350986f};
    if (anchor_count == 9 && classes == 1)  // face_detect_canmv_v3/SOURCE.md
        return {0.893f, 1.463f, 0.245f, 0.389f, 1.55f,  2.58f,  0.375f, 0.594f, 3.099f,
                5.038f, 0.057f, 0.090f, 0.567f, 0.904f, 0.101f, 0.160f, 0.159f, 0.255f};
    return {};
}

std::string default_anchors_origin(uint32_t anchor_count, uint32_t classes) {
    if (anchor_count == 5 && classes == 20) return "the 20-class VOC tiny YOLOv2 (nncase's example)";
    if (anchor_count == 5 && classes == 1) return "Kendryte's and MaixPy's face detectors";
    if (anchor_count == 5 && classes == 0) return "Canaan's licence-plate detector (CanMV)";
    if (anchor_count == 9 && classes == 1) return "CanMV's face detector";
    return "";
}

std::string yolo2_layout_text(uint32_t anchor_count, uint32_t classes) {
    return std::to_string(anchor_count) + " anchors x (5 + " + classes_text(classes) + ")";
}

float box_iou(const std::array<float, 4>& a, const std::array<float, 4>& b) {
    const float iw = std::min(a[2], b[2]) - std::max(a[0], b[0]);
    const float ih = std::min(a[3], b[3]) - std::max(a[1], b[1]);
    if (iw <= 0 || ih <= 0) return 0;
    const float inter = iw * ih;
    const float uni = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return uni > 0 ? inter / uni : 0;
}

std::vector<Detection> decode_yolo2(const OutputTensor& out, const Yolo2Params& params,
                                    const std::vector<std::string>& labels, float picture_width,
                                    float picture_height) {
    const Shape& s = out.shape;
    if (s.n != 1 || s.c == 0 || s.h == 0 || s.w == 0)
        throw InputError("cannot decode output " + to_string(s) + " as YOLOv2: need 1 x C x H x W");
    if (!(picture_width > 0) || !(picture_height > 0) || !std::isfinite(picture_width) ||
        !std::isfinite(picture_height))
        throw InputError("YOLOv2 decode needs a positive picture size, got " +
                         format_float(picture_width) + " x " + format_float(picture_height));
    if (!(params.threshold >= 0) || !(params.nms >= 0))
        throw InputError("YOLOv2 threshold and NMS must be >= 0, got " +
                         format_float(params.threshold) + " and " + format_float(params.nms));

    const auto fits = fitting_known_counts(s.c);
    const size_t given = params.anchors.size();
    const uint32_t anchors = static_cast<uint32_t>(given / 2);
    bool ok = given % 2 == 0 && anchors > 0;
    if (ok) {
        if (!fits.empty())
            ok = std::find(fits.begin(), fits.end(), anchors) != fits.end();
        else
            ok = s.c % anchors == 0 && s.c / anchors >= 5;
    }
    if (!ok) {
        std::string implied;
        if (!fits.empty()) {
            for (size_t i = 0; i < fits.size(); ++i) {
                if (i) implied += " or ";
                implied += std::to_string(fits[i]) + " anchors (" + std::to_string(2 * fits[i]) +
                           " anchor values)";
            }
        } else {
            implied = "an anchor count that divides " + std::to_string(s.c) +
                      " into entries of 5 + classes";
        }
        throw InputError("the YOLOv2 output has " + std::to_string(s.c) + " channels, which implies " +
                         implied + ", but " + std::to_string(given) +
                         " anchor values (w,h pairs) were given");
    }
    for (float v : params.anchors)
        if (!(v > 0) || !std::isfinite(v))
            throw InputError("YOLOv2 anchors must be positive, got " + format_float(v));

    const uint32_t entries = s.c / anchors;
    const uint32_t classes = entries - 5;
    const uint32_t gh = s.h, gw = s.w;
    const std::vector<float> v = out.as_floats();
    const size_t plane = size_t{gh} * gw;
    auto at = [&](uint32_t a, uint32_t e, uint32_t row, uint32_t col) {
        return v[(size_t{a} * entries + e) * plane + size_t{row} * gw + col];
    };

    std::vector<Detection> candidates;
    std::vector<float> probs(classes);
    for (uint32_t row = 0; row < gh; ++row)
        for (uint32_t col = 0; col < gw; ++col)
            for (uint32_t a = 0; a < anchors; ++a) {
                const float objectness = sigmoid(at(a, 4, row, col));
                // Class probabilities: softmax over the class entries (1 for one class and
                // for none: a model without classes reports class 0 for every box).
                uint32_t best = 0;
                float best_prob = 1.0f;
                if (classes > 1) {
                    float mx = at(a, 5, row, col);
                    for (uint32_t k = 1; k < classes; ++k) mx = std::max(mx, at(a, 5 + k, row, col));
                    float sum = 0;
                    for (uint32_t k = 0; k < classes; ++k) {
                        probs[k] = std::exp(at(a, 5 + k, row, col) - mx);
                        sum += probs[k];
                    }
                    for (uint32_t k = 1; k < classes; ++k)
                        if (probs[k] > probs[best]) best = k;
                    best_prob = probs[best] / sum;
                }
                const float score = objectness * best_prob;
                if (!(score > params.threshold)) continue;
                const float x = (col + sigmoid(at(a, 0, row, col))) / gw;
                const float y = (row + sigmoid(at(a, 1, row, col))) / gh;
                const float w = std::exp(at(a, 2, row, col)) * params.anchors[2 * a] / gw;
                const float h = std::exp(at(a, 3, row, col)) * params.anchors[2 * a + 1] / gh;
                Detection d;
                d.class_id = best;
                // No class entries: class 0, labelled "object" unless --labels names it.
                d.label = classes == 0 && (labels.empty() || labels[0].empty()) ? std::string("object")
                                                                                : label_of(best, labels);
                d.score = score;
                // Normalised corners, kept unclipped for NMS (as darknet does), clipped below.
                d.box = {x - w / 2, y - h / 2, x + w / 2, y + h / 2};
                candidates.push_back(std::move(d));
            }

    auto by_score = [](const Detection& p, const Detection& q) {
        if (p.score != q.score) return p.score > q.score;
        return p.class_id < q.class_id;
    };
    std::stable_sort(candidates.begin(), candidates.end(), by_score);

    std::vector<Detection> kept;
    for (Detection& d : candidates) {
        bool drop = false;
        for (const Detection& k : kept)
            if (k.class_id == d.class_id && box_iou(k.box, d.box) > params.nms) {
                drop = true;
                break;
            }
        if (!drop) kept.push_back(std::move(d));
    }
    for (Detection& d : kept) {
        d.box[0] = std::clamp(d.box[0] * picture_width, 0.0f, picture_width);
        d.box[1] = std::clamp(d.box[1] * picture_height, 0.0f, picture_height);
        d.box[2] = std::clamp(d.box[2] * picture_width, 0.0f, picture_width);
        d.box[3] = std::clamp(d.box[3] * picture_height, 0.0f, picture_height);
    }
    return kept;
}

std::vector<Detection> decode_classify(const OutputTensor& out, uint32_t top,
                                       const std::vector<std::string>& labels) {
    std::vector<Detection> result;
    for (const RankedClass& r : top_k(out.as_floats(), top)) {
        Detection d;
        d.class_id = r.class_id;
        d.label = label_of(r.class_id, labels);
        d.score = r.score;
        result.push_back(std::move(d));
    }
    return result;
}

}  // namespace kpusim
