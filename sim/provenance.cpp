#include "sim/provenance.h"

namespace kpusim {

std::string layer_basis(const Layer& layer, bool eight_bit) {
    if (const auto* conv = std::get_if<KpuConvOp>(&layer.op))
        return eight_bit || !conv->arg.depth_wise_layer ? "calibrated" : "projection";
    if (layer.type_name == "DEQUANTIZE") return "calibrated";
    if (layer.type_name == "K210_UPLOAD") return "derived";
    return "projection";
}

std::string forward_basis(const RunSettings& s, bool projection) {
    if (projection) return "projection";
    return s.mode == RunMode::ram ? "calibrated" : "derived";
}

std::string load_basis(const RunSettings& s, bool projection) {
    if (projection) return "projection";
    return s.mode == RunMode::ram ? "calibrated" : "derived";
}

}  // namespace kpusim
