#include "kpu_core/kpu_ram_layout.h"

#include <cstring>

namespace kpusim::kpu {

RowLayout row_layout(uint32_t width) {
    if (width <= 16) return {4, 16, 1};
    if (width <= 32) return {2, 32, 1};
    return {1, 64, (width + 63) / 64};
}

uint32_t feature_map_rows(uint32_t width, uint32_t height, uint32_t channels) {
    const RowLayout l = row_layout(width);
    return l.row_len * height * ((channels + l.groups - 1) / l.groups);
}

void upload_dense(const uint8_t* dense, uint8_t* kpu_ram, uint32_t row, uint32_t width,
                  uint32_t height, uint32_t channels) {
    const RowLayout l = row_layout(width);
    uint8_t* base = kpu_ram + uint64_t{row} * 64;
    for (uint32_t c = 0; c < channels; ++c)
        for (uint32_t y = 0; y < height; ++y)
            std::memcpy(base + element_offset(l, height, c, y, 0),
                        dense + (uint64_t{c} * height + y) * width, width);
}

void download_dense(const uint8_t* kpu_ram, uint32_t row, uint32_t width, uint32_t height,
                    uint32_t channels, uint8_t* dense) {
    const RowLayout l = row_layout(width);
    const uint8_t* base = kpu_ram + uint64_t{row} * 64;
    for (uint32_t c = 0; c < channels; ++c)
        for (uint32_t y = 0; y < height; ++y)
            std::memcpy(dense + (uint64_t{c} * height + y) * width,
                        base + element_offset(l, height, c, y, 0), width);
}

}  // namespace kpusim::kpu
