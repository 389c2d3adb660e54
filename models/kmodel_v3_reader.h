// Reader of kmodel version 3 (nncase 0.1.x, run by the Kendryte SDK's kpu.c), spec §7.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "models/kmodel_read_options.h"
#include "models/layer_graph.h"

namespace kpusim {

/// Name of a V3 layer type code ("K210_CONV", "DEQUANTIZE", ...), or nullptr when the code
/// is not in the V3 enum (spec §7.2).
const char* v3_layer_type_name(uint32_t code);

/// Read a V3 kmodel (the version word must be 3) into a Model, validating as it reads:
/// header (arch 0), output and layer tables, every layer body of a type the SDK runs (and,
/// unless options.strict_sdk, layer type 21 as Maix-EMC's kpu.c runs it, with a note in
/// Model::notes; such a model runs only on that kpu.c, so its FULLY_CONNECTED layers get that
/// runtime's in-order summation, FullyConnectedOp::sequential_sum), every
/// blob offset inside its layer body, every main-memory range inside main_mem_usage, every
/// KPU layer argument (kpu::validate). Accepts nncase's quirk of a last body whose declared
/// size runs up to 7 bytes past the end of the file when only padding is missing.
/// Throws KmodelError naming the layer index and field; CapacityError for KPU RAM overflow.
Model read_kmodel_v3(std::shared_ptr<const std::vector<uint8_t>> file,
                    const KmodelReadOptions& options = {});

}  // namespace kpusim
