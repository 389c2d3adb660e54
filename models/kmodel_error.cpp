#include "models/kmodel_error.h"

namespace kpusim {

const char* to_string(KmodelErrorKind kind) {
    switch (kind) {
        case KmodelErrorKind::unsupported_version: return "unsupported_version";
        case KmodelErrorKind::truncated: return "truncated";
        case KmodelErrorKind::out_of_bounds: return "out_of_bounds";
        case KmodelErrorKind::unknown_layer_type: return "unknown_layer_type";
        case KmodelErrorKind::unsupported_layer: return "unsupported_layer";
        case KmodelErrorKind::undocumented_field: return "undocumented_field";
        case KmodelErrorKind::inconsistent: return "inconsistent";
    }
    return "unknown";
}

static std::string compose(KmodelErrorKind kind, const std::string& message,
                           const std::optional<uint32_t>& layer, const std::string& field) {
    std::string s = "kmodel error (";
    s += to_string(kind);
    s += ")";
    if (layer) s += ", layer " + std::to_string(*layer);
    if (!field.empty()) s += ", field '" + field + "'";
    s += ": " + message;
    return s;
}

KmodelError::KmodelError(KmodelErrorKind kind, std::string message, std::optional<uint32_t> layer,
                         std::string field)
    : std::runtime_error(compose(kind, message, layer, field)),
      kind_(kind),
      layer_(layer),
      field_(std::move(field)) {}

}  // namespace kpusim
