// Feature-map layout in KPU RAM (spec §2): whole 64-byte rows; up to four channels share
// a row when the image is narrow. Source: nncase K210Helper.cs / k210_runtime_op_utility.h.
#pragma once

#include <cstdint>

namespace kpusim::kpu {

/// Row layout of a C x H x W uint8 feature map; depends only on W.
struct RowLayout {
    uint32_t groups;     ///< channels sharing one row: 4 (W<=16), 2 (W<=32), 1 (W>=33)
    uint32_t row_pitch;  ///< bytes per channel slot within a row: 16, 32 or 64
    uint32_t row_len;    ///< rows per image line: 1, or ceil(W/64) when W >= 33
};

/// Layout for an image `width` pixels wide (width >= 1).
RowLayout row_layout(uint32_t width);

/// Rows occupied by a channels x height x width map: row_len x H x ceil(C / groups).
uint32_t feature_map_rows(uint32_t width, uint32_t height, uint32_t channels);

/// Byte offset of element (c, y, x) relative to the map's first row x 64.
inline uint32_t element_offset(const RowLayout& l, uint32_t height, uint32_t c, uint32_t y,
                               uint32_t x) {
    return (c / l.groups) * l.row_len * height * 64 + (c % l.groups) * l.row_pitch +
           y * l.row_len * 64 + x;
}

/// Copy a dense C x H x W uint8 tensor into KPU RAM at `row` in the §2 layout.
/// Bytes of a slot beyond W are left untouched. `kpu_ram` is the 2 MiB array; the caller
/// has checked that the map fits (row + feature_map_rows(...) <= 32768).
void upload_dense(const uint8_t* dense, uint8_t* kpu_ram, uint32_t row, uint32_t width,
                  uint32_t height, uint32_t channels);

/// Copy a C x H x W map out of KPU RAM at `row` into a dense C x H x W buffer.
void download_dense(const uint8_t* kpu_ram, uint32_t row, uint32_t width, uint32_t height,
                    uint32_t channels, uint8_t* dense);

}  // namespace kpusim::kpu
