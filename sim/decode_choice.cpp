#include "sim/decode_choice.h"

#include "models/kmodel_error.h"
#include "sim/known_models.h"

namespace kpusim {

namespace {

// The built-in anchors for a YOLOv2-shaped output (the first known anchor count that fits and
// has them); empty when there are none. `layout` receives e.g. "5 anchors x (5 + 2 classes)"
// of the first count that fits, for messages.
std::vector<float> built_in_anchors(const Shape& s, const DecodeRequest& request, std::string* layout,
                                    std::string* origin) {
    for (uint32_t a : kKnownAnchorCounts) {
        if (s.c % a != 0 || s.c / a < 5) continue;
        const uint32_t classes = s.c / a - 5;
        if (layout->empty()) *layout = yolo2_layout_text(a, classes);
        std::vector<float> anchors = default_anchors(a, classes);
        std::string from = anchors.empty() ? std::string() : default_anchors_origin(a, classes);
        // A known model (by hash, or CanMV's V4 face detector by its input) has its own.
        if (!request.model_sha256.empty()) {
            std::string known_origin;
            std::vector<float> known =
                builtin_yolo2_anchors(request.model_sha256, request.model_input, a, classes, &known_origin);
            if (!known.empty() && known != anchors) {
                anchors = std::move(known);
                from = known_origin;
            }
        }
        if (!anchors.empty()) {
            *layout = yolo2_layout_text(a, classes);
            *origin = from;
            return anchors;
        }
    }
    return {};
}

}  // namespace

DecodeOutcome decode_first_output(const OutputTensor& out, const DecodeRequest& request,
                                  const std::vector<std::string>& labels) {
    DecodeOutcome r;
    const bool guessed = request.decode.empty();
    r.kind = guessed ? guess_decode(out.shape, &r.guess) : parse_decode_kind(request.decode);

    if (r.kind == DecodeKind::classify) {
        r.top = top_k(out.as_floats(), request.top);
        r.detections = decode_classify(out, request.top, labels);
        return r;
    }
    if (r.kind != DecodeKind::yolo2) return r;

    Yolo2Params params;
    if (!request.anchors.empty()) {
        params.anchors = request.anchors;
        r.anchors_source = "option";
    } else {
        std::string layout, origin;
        params.anchors = built_in_anchors(out.shape, request, &layout, &origin);
        if (params.anchors.empty()) {
            const std::string what = "the " + std::to_string(out.shape.c) + "-channel output" +
                                     (layout.empty() ? "" : " (" + layout + ")");
            if (!guessed)
                throw InputError("no built-in anchors for " + what + ": give --anchors w,h,w,h,...");
            r.kind = DecodeKind::none;
            r.warnings.push_back("the output looks like YOLOv2 but kpusim has no built-in anchors for " +
                                 what + ": not decoded (give --decode yolo2 --anchors w,h,w,h,... to decode it)");
            return r;
        }
        r.anchors_source = "built-in";
        r.warnings.push_back("YOLOv2 anchors guessed from the output's size alone (" + layout +
                             "): using the built-in anchors of " + origin +
                             "; give --anchors w,h,... if the model was trained with others");
    }
    if (request.threshold >= 0) params.threshold = request.threshold;
    if (request.nms >= 0) params.nms = request.nms;
    try {
        r.detections = decode_yolo2(out, params, labels, request.picture_width, request.picture_height);
    } catch (const InputError& e) {
        if (!guessed) throw;
        r.kind = DecodeKind::none;
        r.anchors_source.clear();
        r.warnings.push_back(std::string("the guessed YOLOv2 decode failed: ") + e.what() + "; not decoded");
        return r;
    }
    r.anchors = params.anchors;
    return r;
}

}  // namespace kpusim
