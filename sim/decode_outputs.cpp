#include "sim/decode_outputs.h"

#include <algorithm>
#include <cmath>

#include "kpusim/kpusim.h"
#include "models/kmodel_error.h"
#include "sim/known_models.h"
#include "sim/ultraface.h"

namespace kpusim {

namespace {

/// N = 1 and at most one of C, H, W above 1.
bool is_vector(const Shape& s) {
    return s.n == 1 && (s.c > 1) + (s.h > 1) + (s.w > 1) <= 1 && s.elements() > 0;
}

bool power_of_two(uint64_t n) { return n && !(n & (n - 1)); }

bool looks_like_probabilities(const std::vector<float>& v) {
    double sum = 0;
    for (float x : v) {
        if (!(x >= 0 && x <= 1)) return false;
        sum += x;
    }
    return std::fabs(sum - 1.0) <= 1e-3;
}

std::string n_values(uint64_t n) { return std::to_string(n) + " values"; }

/// Indices of the outputs holding `per_prior` x P values for each entry of `per_prior`, each
/// output used once; empty when they do not fit.
std::vector<size_t> match_counts(const std::vector<OutputTensor>& outputs, const std::vector<uint32_t>& per_prior,
                                 size_t priors) {
    if (outputs.size() != per_prior.size() || priors == 0) return {};
    std::vector<size_t> picked;
    std::vector<bool> used(outputs.size(), false);
    for (uint32_t k : per_prior) {
        bool found = false;
        for (size_t i = 0; i < outputs.size() && !found; ++i)
            if (!used[i] && outputs[i].shape.elements() == uint64_t{k} * priors) {
                used[i] = true;
                picked.push_back(i);
                found = true;
            }
        if (!found) return {};
    }
    return picked;
}

std::string counts_text(const std::vector<OutputTensor>& outputs) {
    std::string t;
    for (size_t i = 0; i < outputs.size(); ++i)
        t += (i ? ", " : "") + std::to_string(outputs[i].shape.elements());
    return t.empty() ? "no output" : t;
}

std::string input_text(const Shape& in) { return std::to_string(in.w) + " x " + std::to_string(in.h); }

const OutputTensor& first_output(const std::vector<OutputTensor>& outputs, DecodeKind kind) {
    if (outputs.empty()) throw InputError(std::string("cannot decode as ") + to_string(kind) + ": the run has no output");
    return outputs.front();
}

}  // namespace

DecodeKind guess_outputs_decode(const Model& model, const std::vector<OutputTensor>& outputs,
                                const std::vector<std::string>& labels, std::string* reason,
                                const std::string* known_sha256) {
    auto say = [&](const std::string& text) {
        if (reason) *reason = text;
    };
    if (const KnownModel* known = find_known_model(known_sha256 ? *known_sha256 : model_sha256(model))) {
        std::string text = std::string("guessed ") + to_string(known->decode) + ": known model " + known->name +
                           " (by the SHA-256 of its file)";
        std::string layout;  // what the shape rule says of the first output, when it agrees
        if (!outputs.empty() && guess_decode(outputs.front().shape, &layout) == known->decode &&
            known->decode == DecodeKind::yolo2)
            text += "; " + layout.substr(layout.find(':') + 2);
        say(text);
        return known->decode;
    }
    const Shape& in = model.input.shape;
    if (in.w > 0 && in.h > 0) {
        const size_t p = ultraface_priors(in.w, in.h).size();
        if (!match_counts(outputs, {2, 4}, p).empty()) {
            say("guessed ultraface: outputs of " + counts_text(outputs) + " values = " + std::to_string(p) +
                " priors x 2 scores and x 4 box values (" + input_text(in) + " input)");
            return DecodeKind::ultraface;
        }
        const size_t q = ultraface_landmark_priors(in.w, in.h).size();
        if (!match_counts(outputs, {4, 10, 2}, q).empty()) {
            say("guessed ultraface-landmark: outputs of " + counts_text(outputs) + " values = " + std::to_string(q) +
                " priors x 4 box values, x 10 landmark values and x 2 scores (" + input_text(in) + " input)");
            return DecodeKind::ultraface_landmark;
        }
    }
    if (outputs.empty()) {
        say("guessed none: the run has no output");
        return DecodeKind::none;
    }
    const OutputTensor& out = outputs.front();
    if (is_vector(out.shape)) {
        const uint64_t n = out.shape.elements();
        if (n >= 64 && power_of_two(n) && labels.size() != n && !looks_like_probabilities(out.as_floats())) {
            say("guessed features: the output is a vector of " + n_values(n) +
                " (a power of two >= 64, not probabilities, no labels for it)");
            return DecodeKind::features;
        }
        if (!(out.shape.h == 1 && out.shape.w == 1)) {
            say("guessed classify: the output is a vector of " + std::to_string(n) + " scores");
            return DecodeKind::classify;
        }
    }
    return guess_decode(out.shape, reason);
}

DecodedOutputs decode_outputs(const Model& model, const std::vector<OutputTensor>& outputs,
                              const OutputsDecodeSettings& s) {
    DecodedOutputs r;
    if (s.decode.empty()) {
        r.kind = guess_outputs_decode(model, outputs, s.labels, &r.reason,
                                      s.model_sha256.empty() ? nullptr : &s.model_sha256);
    } else {
        r.kind = parse_decode_kind(s.decode);
    }
    const std::string sha = s.model_sha256.empty() ? model_sha256(model) : s.model_sha256;
    if (const KnownModel* known = find_known_model(sha)) r.known_model = known->name;
    const Shape& in = model.input.shape;
    const float pw = s.picture_width > 0 ? s.picture_width : static_cast<float>(in.w);
    const float ph = s.picture_height > 0 ? s.picture_height : static_cast<float>(in.h);

    switch (r.kind) {
        case DecodeKind::none: break;
        case DecodeKind::classify: {
            const OutputTensor& out = first_output(outputs, r.kind);
            r.top = top_k(out.as_floats(), s.top);
            r.detections = decode_classify(out, s.top, s.labels);
            break;
        }
        case DecodeKind::features:
            r.features = summarize_features(first_output(outputs, r.kind), s.feature_values);
            break;
        case DecodeKind::yolo2: {
            const OutputTensor& out = first_output(outputs, r.kind);
            Yolo2Params params;
            if (!s.anchors.empty()) {
                params.anchors = s.anchors;
                r.anchors_origin = "option";
            } else {
                const Shape& sh = out.shape;
                for (uint32_t a : kKnownAnchorCounts)
                    if (sh.c % a == 0 && sh.c / a >= 6) {
                        params.anchors = builtin_yolo2_anchors(sha, in, a, sh.c / a - 5, &r.anchors_origin);
                        if (!params.anchors.empty()) break;
                    }
                if (params.anchors.empty())
                    throw InputError("no built-in anchors for a " + std::to_string(sh.c) +
                                     "-channel YOLOv2 output: give --anchors w,h,w,h,...");
            }
            if (s.threshold >= 0) params.threshold = s.threshold;
            if (s.nms >= 0) params.nms = s.nms;
            r.anchors = params.anchors;
            r.detections = decode_yolo2(out, params, s.labels, pw, ph);
            break;
        }
        case DecodeKind::ultraface: {
            const auto priors = ultraface_priors(in.w, in.h);
            const auto picked = match_counts(outputs, {2, 4}, priors.size());
            if (picked.empty())
                throw InputError("ultraface decode needs two outputs of " + std::to_string(priors.size()) +
                                 " priors x 2 and x 4 values (" + std::to_string(2 * priors.size()) + " and " +
                                 std::to_string(4 * priors.size()) + ", for a " + input_text(in) +
                                 " input), got " + counts_text(outputs));
            UltrafaceParams params;
            if (s.threshold >= 0) params.threshold = s.threshold;
            if (s.nms >= 0) params.nms = s.nms;
            r.detections = decode_ultraface(outputs[picked[0]], outputs[picked[1]], priors, params, s.labels,
                                            static_cast<float>(in.w), static_cast<float>(in.h), pw, ph);
            break;
        }
        case DecodeKind::ultraface_landmark: {
            const auto priors = ultraface_landmark_priors(in.w, in.h);
            const auto picked = match_counts(outputs, {4, 10, 2}, priors.size());
            if (picked.empty())
                throw InputError("ultraface-landmark decode needs three outputs of " + std::to_string(priors.size()) +
                                 " priors x 4, x 10 and x 2 values (" + std::to_string(4 * priors.size()) + ", " +
                                 std::to_string(10 * priors.size()) + " and " + std::to_string(2 * priors.size()) +
                                 ", for a " + input_text(in) + " input), got " + counts_text(outputs));
            UltrafaceLandmarkParams params;
            if (s.threshold >= 0) params.threshold = s.threshold;
            if (s.nms >= 0) params.nms = s.nms;
            r.detections = decode_ultraface_landmark(outputs[picked[0]], outputs[picked[1]], outputs[picked[2]],
                                                     priors, params, s.labels, pw, ph);
            break;
        }
    }
    return r;
}

}  // namespace kpusim
