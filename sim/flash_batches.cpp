#include "sim/flash_batches.h"

#include <stdexcept>

namespace kpusim {

std::vector<FlashBatch> make_flash_batches(const Model& model, uint64_t batch_size) {
    const uint64_t buffer = model.largest_body();
    const uint32_t n = static_cast<uint32_t>(model.layers.size());
    std::vector<FlashBatch> batches;
    for (uint32_t first = 0; first < n;) {
        FlashBatch b{first, first, model.layers[first].body.offset, 0};
        while (b.end < n && b.bytes < batch_size) b.bytes += model.layers[b.end++].body.size;
        if (b.bytes > buffer && b.end - b.first > 1) b.bytes -= model.layers[--b.end].body.size;
        batches.push_back(b);
        first = b.end;
    }
    return batches;
}

int batches_index_of(const std::vector<FlashBatch>& batches, uint32_t layer) {
    for (size_t k = 0; k < batches.size(); ++k)
        if (layer >= batches[k].first && layer < batches[k].end) return static_cast<int>(k);
    throw std::logic_error("layer " + std::to_string(layer) + " is in no batch");
}

}  // namespace kpusim
