// Reading kmodel files into the format-independent layer graph.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/kmodel_read_options.h"
#include "models/layer_graph.h"

namespace kpusim {

/// The kmodel versions kpusim runs.
inline constexpr const char* kSupportedKmodelVersions = "3, 4";

/// Parse and validate a kmodel held in memory. Dispatches on the version word: 3 is read by
/// the V3 reader, 'KMDL' version 4 by the V4 reader; 1 (the pre-nncase container), 'KMDL'
/// V5/V6 (nncase 1.x) and anything else are refused with KmodelError(unsupported_version)
/// naming the version and the supported ones.
/// Throws KmodelError for any malformed content (see kmodel_v3_reader.h, kmodel_v4_reader.h), CapacityError
/// when KPU feature maps run past the 2 MiB KPU RAM. `options`: see kmodel_read_options.h.
Model parse_kmodel(std::vector<uint8_t> bytes, const KmodelReadOptions& options = {});

/// Read a file and parse it. Throws InputError when the file cannot be read.
Model load_kmodel(const std::string& path, const KmodelReadOptions& options = {});

}  // namespace kpusim
