#include "sim/ultraface.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>
#include <string>

#include "models/kmodel_error.h"

namespace kpusim {

namespace {

/// One detection scale: its stride (px) and its prior sizes (w, h), in pixels or in fractions
/// of the input (make_priors says which).
struct Scale {
    float stride;
    std::vector<std::array<float, 2>> sizes;
};

void check_input_size(uint32_t width, uint32_t height) {
    if (width == 0 || height == 0)
        throw InputError("prior boxes need a non-empty model input, got " + std::to_string(width) + " x " +
                         std::to_string(height));
}

/// The common SSD prior generator: per scale, per row, per column, per size.
/// `sizes_in_pixels`: sizes are pixels (divided by the input size), else input fractions.
std::vector<PriorBox> make_priors(uint32_t width, uint32_t height, const std::vector<Scale>& scales,
                                  bool sizes_in_pixels) {
    check_input_size(width, height);
    const float in_w = static_cast<float>(width), in_h = static_cast<float>(height);
    auto clip1 = [](double v) { return static_cast<float>(v > 1 ? 1 : v); };
    std::vector<PriorBox> priors;
    for (const Scale& s : scales) {
        const float scale_w = in_w / s.stride, scale_h = in_h / s.stride;
        const auto cols = static_cast<uint32_t>(std::ceil(scale_w));
        const auto rows = static_cast<uint32_t>(std::ceil(scale_h));
        for (uint32_t j = 0; j < rows; ++j)
            for (uint32_t i = 0; i < cols; ++i) {
                const float cx = static_cast<float>((i + 0.5) / scale_w);
                const float cy = static_cast<float>((j + 0.5) / scale_h);
                for (const auto& size : s.sizes) {
                    const float w = sizes_in_pixels ? size[0] / in_w : size[0];
                    const float h = sizes_in_pixels ? size[1] / in_h : size[1];
                    priors.push_back({clip1(cx), clip1(cy), clip1(w), clip1(h)});
                }
            }
    }
    return priors;
}

std::string format_float(float v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

void check_picture(const char* what, float width, float height) {
    if (!(width > 0) || !(height > 0) || !std::isfinite(width) || !std::isfinite(height))
        throw InputError(std::string(what) + " needs a positive picture size, got " + format_float(width) + " x " +
                         format_float(height));
}

void check_thresholds(const char* what, float threshold, float nms) {
    if (!(threshold >= 0) || !(nms >= 0))
        throw InputError(std::string(what) + " threshold and NMS must be >= 0, got " + format_float(threshold) +
                         " and " + format_float(nms));
}

/// The floats of `t`, which must hold `per_prior` values for each of `priors` priors.
std::vector<float> values_of(const OutputTensor& t, size_t priors, uint32_t per_prior, const char* what,
                             const char* decoder) {
    if (t.shape.elements() != priors * per_prior)
        throw InputError(std::string(decoder) + " needs " + what + " of " + std::to_string(priors) + " priors x " +
                         std::to_string(per_prior) + " = " + std::to_string(priors * per_prior) +
                         " values, got an output of " + std::to_string(t.shape.elements()) + " (" +
                         to_string(t.shape) + ")");
    return t.as_floats();
}

std::string face_label(const std::vector<std::string>& labels) {
    return !labels.empty() && !labels[0].empty() ? labels[0] : std::string("face");
}

}  // namespace

std::vector<PriorBox> ultraface_priors(uint32_t input_width, uint32_t input_height) {
    // ultra_face.cpp (nncase fast_facedetect example): strides and min box sizes in pixels.
    static const std::vector<Scale> scales = {
        {8, {{10, 10}, {16, 16}, {24, 24}}},
        {16, {{32, 32}, {48, 48}}},
        {32, {{64, 64}, {96, 96}}},
        {64, {{128, 128}, {192, 192}, {256, 256}}},
    };
    return make_priors(input_width, input_height, scales, true);
}

std::vector<PriorBox> ultraface_landmark_priors(uint32_t input_width, uint32_t input_height) {
    // prior.h (nncase facedetect_landmark example): the sizes of its 320 x 240 table, as
    // fractions of the input (pixels / 320 across, pixels / 240 down).
    static const std::vector<Scale> scales = {
        {8, {{17.0f / 320, 13.0f / 240}, {38.0f / 320, 28.0f / 240}}},
        {16, {{98.0f / 320, 74.0f / 240}, {161.0f / 320, 119.0f / 240}}},
        {32, {{217.0f / 320, 171.0f / 240}, {299.0f / 320, 234.0f / 240}}},
    };
    return make_priors(input_width, input_height, scales, false);
}

float inclusive_pixel_iou(const std::array<float, 4>& a, const std::array<float, 4>& b) {
    const float iw = std::min(a[2], b[2]) - std::max(a[0], b[0]) + 1;
    const float ih = std::min(a[3], b[3]) - std::max(a[1], b[1]) + 1;
    if (iw <= 0 || ih <= 0) return 0;
    const float inter = iw * ih;
    const float area_a = (a[2] - a[0] + 1) * (a[3] - a[1] + 1);
    const float area_b = (b[2] - b[0] + 1) * (b[3] - b[1] + 1);
    const float uni = area_a + area_b - inter;
    return uni > 0 ? inter / uni : 0;
}

std::vector<Detection> decode_ultraface(const OutputTensor& scores, const OutputTensor& boxes,
                                        const std::vector<PriorBox>& priors, const UltrafaceParams& params,
                                        const std::vector<std::string>& labels, float input_width,
                                        float input_height, float picture_width, float picture_height) {
    check_picture("ultraface decode (input)", input_width, input_height);
    check_picture("ultraface decode", picture_width, picture_height);
    check_thresholds("ultraface", params.threshold, params.nms);
    const std::vector<float> s = values_of(scores, priors.size(), 2, "scores", "ultraface decode");
    const std::vector<float> b = values_of(boxes, priors.size(), 4, "boxes", "ultraface decode");
    constexpr float kCentreVariance = 0.1f, kSizeVariance = 0.2f;

    struct Candidate {
        std::array<float, 4> box;  // input pixels
        float score;
    };
    std::vector<Candidate> candidates;
    auto clip01 = [](double v) { return v < 0 ? 0.0 : (v > 1 ? 1.0 : v); };
    for (size_t i = 0; i < priors.size(); ++i) {
        const float face = s[2 * i + 1];
        if (!(face > params.threshold)) continue;
        const PriorBox& p = priors[i];
        const float cx = b[4 * i] * kCentreVariance * p.w + p.cx;
        const float cy = b[4 * i + 1] * kCentreVariance * p.h + p.cy;
        const float w = std::exp(b[4 * i + 2] * kSizeVariance) * p.w;
        const float h = std::exp(b[4 * i + 3] * kSizeVariance) * p.h;
        Candidate c;
        c.box = {static_cast<float>(clip01(cx - w / 2.0) * input_width),
                 static_cast<float>(clip01(cy - h / 2.0) * input_height),
                 static_cast<float>(clip01(cx + w / 2.0) * input_width),
                 static_cast<float>(clip01(cy + h / 2.0) * input_height)};
        c.score = std::min(face, 1.0f);
        candidates.push_back(c);
    }
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Candidate& x, const Candidate& y) { return x.score > y.score; });

    const float sx = picture_width / input_width, sy = picture_height / input_height;
    std::vector<Detection> result;
    std::vector<bool> taken(candidates.size(), false);
    for (size_t i = 0; i < candidates.size(); ++i) {
        if (taken[i]) continue;
        taken[i] = true;
        std::vector<size_t> group{i};
        for (size_t j = i + 1; j < candidates.size(); ++j)
            if (!taken[j] && inclusive_pixel_iou(candidates[i].box, candidates[j].box) > params.nms) {
                taken[j] = true;
                group.push_back(j);
            }
        Candidate out = candidates[i];
        if (params.blend) {
            float total = 0;
            for (size_t g : group) total += std::exp(candidates[g].score);
            out.box = {0, 0, 0, 0};
            out.score = 0;
            for (size_t g : group) {
                const float rate = std::exp(candidates[g].score) / total;
                for (int k = 0; k < 4; ++k) out.box[k] += candidates[g].box[k] * rate;
                out.score += candidates[g].score * rate;
            }
        }
        Detection d;
        d.class_id = 0;
        d.label = face_label(labels);
        d.score = out.score;
        d.box = {out.box[0] * sx, out.box[1] * sy, out.box[2] * sx, out.box[3] * sy};
        result.push_back(std::move(d));
    }
    return result;
}

std::vector<Detection> decode_ultraface_landmark(const OutputTensor& boxes, const OutputTensor& landmarks,
                                                 const OutputTensor& scores, const std::vector<PriorBox>& priors,
                                                 const UltrafaceLandmarkParams& params,
                                                 const std::vector<std::string>& labels, float picture_width,
                                                 float picture_height) {
    check_picture("ultraface-landmark decode", picture_width, picture_height);
    check_thresholds("ultraface-landmark", params.threshold, params.nms);
    const std::vector<float> b = values_of(boxes, priors.size(), 4, "boxes", "ultraface-landmark decode");
    const std::vector<float> l = values_of(landmarks, priors.size(), 10, "landmarks", "ultraface-landmark decode");
    const std::vector<float> s = values_of(scores, priors.size(), 2, "scores", "ultraface-landmark decode");
    constexpr float kCentreVariance = 0.1f, kSizeVariance = 0.2f;

    struct Candidate {
        float cx, cy, w, h, score;  // normalised
        std::array<float, 10> points;
    };
    std::vector<Candidate> candidates;
    for (size_t i = 0; i < priors.size() && candidates.size() < params.max_candidates; ++i) {
        // Softmax of the (background, face) pair, the larger logit subtracted first.
        const float m = std::max(s[2 * i], s[2 * i + 1]);
        const float e0 = std::exp(s[2 * i] - m), e1 = std::exp(s[2 * i + 1] - m);
        const float face = e1 / (e0 + e1);
        if (!(face > params.threshold)) continue;
        const PriorBox& p = priors[i];
        Candidate c;
        c.cx = p.cx + b[4 * i] * kCentreVariance * p.w;
        c.cy = p.cy + b[4 * i + 1] * kCentreVariance * p.h;
        c.w = p.w * std::exp(b[4 * i + 2] * kSizeVariance);
        c.h = p.h * std::exp(b[4 * i + 3] * kSizeVariance);
        c.score = face;
        for (int k = 0; k < 5; ++k) {
            c.points[2 * k] = p.cx + l[10 * i + 2 * k] * kCentreVariance * p.w;
            c.points[2 * k + 1] = p.cy + l[10 * i + 2 * k + 1] * kCentreVariance * p.h;
        }
        candidates.push_back(c);
    }
    std::vector<size_t> order(candidates.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t x, size_t y) { return candidates[x].score > candidates[y].score; });
    auto corners = [](const Candidate& c) {
        return std::array<float, 4>{c.cx - c.w / 2, c.cy - c.h / 2, c.cx + c.w / 2, c.cy + c.h / 2};
    };
    std::vector<bool> dropped(candidates.size(), false);
    for (size_t k = 0; k < order.size(); ++k) {
        if (dropped[order[k]]) continue;
        const auto a = corners(candidates[order[k]]);
        for (size_t q = k + 1; q < order.size(); ++q)
            if (box_iou(a, corners(candidates[order[q]])) > params.nms) dropped[order[q]] = true;
    }
    std::vector<Detection> result;
    for (size_t idx : order) {
        if (dropped[idx]) continue;
        const Candidate& c = candidates[idx];
        const auto n = corners(c);
        Detection d;
        d.class_id = 0;
        d.label = face_label(labels);
        d.score = c.score;
        d.box = {std::clamp(n[0] * picture_width, 0.0f, picture_width),
                 std::clamp(n[1] * picture_height, 0.0f, picture_height),
                 std::clamp(n[2] * picture_width, 0.0f, picture_width),
                 std::clamp(n[3] * picture_height, 0.0f, picture_height)};
        for (int k = 0; k < 5; ++k) d.landmarks.push_back({c.points[2 * k] * picture_width, c.points[2 * k + 1] * picture_height});
        result.push_back(std::move(d));
    }
    return result;
}

}  // namespace kpusim
