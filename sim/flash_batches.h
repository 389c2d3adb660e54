// How the flash runner groups layer bodies into batches in dual-buffer mode
// (timing.md A.5, decoded from MaixPy's kpu_prepare_next_buf).
#pragma once

#include <cstdint>
#include <vector>

#include "models/layer_graph.h"

namespace kpusim {

/// Consecutive whole layers [first, end) read with one batch read.
struct FlashBatch {
    uint32_t first = 0, end = 0;  ///< layer indices
    uint64_t offset = 0;          ///< file offset of the first body
    uint64_t bytes = 0;           ///< sum of the bodies' declared sizes
};

/// Starting at the first layer not yet batched, add layers until the batch holds at least
/// `batch_size` bytes (or the model ends); if it is then larger than a buffer (the largest
/// layer body), drop its last layer once. Preconditions: batch_size >= 1.
std::vector<FlashBatch> make_flash_batches(const Model& model, uint64_t batch_size);

/// Index of the batch holding layer `layer`.
int batches_index_of(const std::vector<FlashBatch>& batches, uint32_t layer);

}  // namespace kpusim
