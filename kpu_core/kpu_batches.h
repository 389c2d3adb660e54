// Multi-batch KPU layers of kmodel V4 (kmodel-spec.md §9.4, §16): nncase 0.2's runtime runs
// one layer argument once per batch, advancing the input and output feature maps by whole maps.
#pragma once

#include <cstdint>

#include "kpu_core/layer_argument.h"

namespace kpusim::kpu {

/// The layer argument of batch `batch` (0-based): image_src_addr + batch x rows(input map),
/// image_dst_addr + batch x rows(output map), both in KPU RAM rows, in the decoded fields and
/// in word 1. Preconditions: validate(a) passed and the caller checked that every batch's maps
/// fit the 32768 rows of KPU RAM (the V4 reader does).
LayerArgument batch_argument(const LayerArgument& a, uint32_t batch);

}  // namespace kpusim::kpu
