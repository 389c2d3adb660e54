// Typed errors raised while reading or validating a kmodel.
//
// Every error carries a kind and, where it applies, the layer index and the field
// name, so that a test (or a user) can tell exactly what was wrong with a file.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "common/errors.h"

namespace kpusim {

/// What went wrong with a kmodel file.
enum class KmodelErrorKind {
    unsupported_version,   ///< the version word is not one we run (e.g. the pre-nncase version 1)
    truncated,             ///< the file ends before a structure it declares
    out_of_bounds,         ///< an offset or size points past the end of the file or of a buffer
    unknown_layer_type,    ///< a layer type code that no runtime defines
    unsupported_layer,     ///< a defined layer type that the K210 SDK runtime does not run
    undocumented_field,    ///< a KPU layer-argument field at a value the spec calls undocumented
    inconsistent,          ///< fields that contradict each other (shapes, layout registers, sizes)
};

/// Human-readable name of an error kind ("truncated", "out_of_bounds", ...).
const char* to_string(KmodelErrorKind kind);

/// A malformed or unsupported kmodel. what() names the problem, the layer index
/// (when the problem is inside a layer) and the field.
class KmodelError : public std::runtime_error {
public:
    KmodelError(KmodelErrorKind kind, std::string message,
                std::optional<uint32_t> layer = std::nullopt, std::string field = {});

    KmodelErrorKind kind() const noexcept { return kind_; }
    /// Index of the offending layer, if the problem is inside one.
    std::optional<uint32_t> layer() const noexcept { return layer_; }
    /// Name of the offending field (as the spec spells it), or empty.
    const std::string& field() const noexcept { return field_; }

private:
    KmodelErrorKind kind_;
    std::optional<uint32_t> layer_;
    std::string field_;
};

}  // namespace kpusim
