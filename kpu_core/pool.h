// Pooling stage of the KPU, applied to the uint8 activation output of one channel
// (spec §6.5; window rules from nncase's reference simulator).
#pragma once

#include <cstdint>

#include "kpu_core/layer_argument.h"

namespace kpusim::kpu {

/// Output width or height after pooling: in / stride (integer division).
inline uint32_t pooled_size(uint32_t in, PoolType type) { return in / pool_stride(type); }

/// Pool one H x W uint8 plane into (H/stride) x (W/stride) at `out` (row-major).
/// Max starts from 0; means sum in 32 bits and divide with truncation; mean_2_s1 replicates
/// the last row/column, max_2_s1 counts out-of-image taps as 0.
void pool_plane(const uint8_t* in, uint32_t width, uint32_t height, PoolType type, uint8_t* out);

}  // namespace kpusim::kpu
