// Reader of kmodel version 4 (nncase 0.2, the 'KMDL' container run by the SDK's lib/nncase/v0,
// MaixPy since v0.6 and CanMV), kmodel-spec.md §9.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "models/kmodel_read_options.h"
#include "models/layer_graph.h"

namespace kpusim {

/// Read a V4 kmodel ('KMDL', version 4) into a Model, validating as it reads: the container
/// (§9.1: header, input and output memory ranges, input shapes, the constant blob, node headers,
/// bodies), every node body (CPU nodes by models/kmodel_v4_cpu_ops.h; kpu_upload and kpu_conv2d
/// here, §9.4: the layer argument by kpu::validate, its batch-norm, activation and weight blobs
/// inside the body, every batch's feature maps inside the 2 MiB KPU RAM, the main-memory output
/// range), every memory range inside its memory (constants, main_mem, KPU RAM).
///
/// Accepts the real files' quirks: `reserved0` is never validated (garbage in real files), and a
/// last body whose declared size runs up to 7 bytes past the end of the file (its padding not
/// written) is read as if zero-padded. `target` may be 0 (CPU) or 1 (K210), as the loader allows.
///
/// Run-time facts the Model carries: only input 0 is fed (the runtime feeds no other input; a
/// model with more inputs gets a note); an input range in KPU RAM must start on a 64-byte row
/// (nncase allocates KPU RAM in rows; kpusim refuses another offset with a clear error); output i
/// is the bytes of output range i, shaped by the node that last wrote that range (a flat vector
/// when none did).
///
/// Throws KmodelError naming the node index ("layer") and field: truncated, out_of_bounds (a
/// range outside its memory), unknown_layer_type (an opcode nncase 0.2 does not define),
/// inconsistent (bad datatypes, shapes that overflow or disagree with their ranges, a main_mem
/// larger than the 6 MiB SRAM). CapacityError when feature maps run past the 2 MiB KPU RAM.
Model read_kmodel_v4(std::shared_ptr<const std::vector<uint8_t>> file, const KmodelReadOptions& options = {});

}  // namespace kpusim
