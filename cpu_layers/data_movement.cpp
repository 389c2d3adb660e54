// V3 layers that only move or select elements (spec §7.3 CONCAT, TENSORFLOW_FLATTEN,
// RESIZE_NEAREST_NEIGHBOR, K210_ADD_PADDING, K210_REMOVE_PADDING, K210_UPLOAD). Elements
// are copied bit for bit (NaN payloads included), as the chip's loads and stores do.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "cpu_layers/cpu_layers.h"
#include "cpu_layers/main_memory_access.h"
#include "kpu_core/kpu_ram_layout.h"
#include "kpu_core/layer_argument.h"

namespace kpusim::cpu {
namespace {

using detail::element_address;

void copy_element(uint8_t* main, uint64_t to, uint64_t from, uint32_t bytes) {
    std::memmove(main + to, main + from, bytes);
}

/// The SDK's source index for output coordinate `o`: (uint32)min(floorf(o * scale),
/// (float)(in - 1)), with scale = (float)in / (float)out, every step in float.
/// Saturated to in - 1 so that no conversion can overflow (identical for in < 2^24).
uint32_t nearest_source(uint32_t o, float scale, uint32_t in) {
    const float limit = static_cast<float>(in - 1);
    const float f = std::floor(static_cast<float>(o) * scale);
    const float chosen = f < limit ? f : limit;
    const uint64_t idx = static_cast<uint64_t>(chosen);  // chosen in [0, 2^32]
    return idx > in - 1 ? in - 1 : static_cast<uint32_t>(idx);
}

}  // namespace

/// CONCAT (16) / QUANTIZED_CONCAT (17): the inputs' byte ranges {start, size} copied back
/// to back into out, in order. Overlapping ranges are copied as by memmove (the SDK's
/// memcpy leaves that case undefined). Source: spec §7.3.
void execute(const ConcatOp& op, uint8_t* main) {
    uint64_t to = op.out;
    for (const auto& [start, size] : op.inputs) {
        std::memmove(main + to, main + start, size);
        to += size;
    }
}

/// TENSORFLOW_FLATTEN (20, float32) and QUANTIZED_TENSORFLOW_FLATTEN (21, uint8, as
/// Maix-EMC's modified kpu.c runs it): CHW (channels x height x width) reordered to HWC
/// (y outer, then x, channel inner): out[(y*W + x)*C + c] = in[(c*H + y)*W + x], one element
/// at a time in out order (so overlapping ranges behave as the SDK loop). Nothing is done when
/// a dimension is 0 (so that no outer loop runs over a huge dimension for nothing). Source:
/// spec §7.3, §17.
void execute(const FlattenOp& op, uint8_t* main) {
    if (op.width == 0 || op.height == 0 || op.channels == 0) return;
    const uint32_t bytes = element_size(op.type);
    uint64_t o = 0;
    for (uint32_t y = 0; y < op.height; ++y)
        for (uint32_t x = 0; x < op.width; ++x)
            for (uint32_t c = 0; c < op.channels; ++c, ++o) {
                const uint64_t i = (uint64_t{c} * op.height + y) * op.width + x;
                copy_element(main, element_address(op.out, o, bytes), element_address(op.in, i, bytes),
                             bytes);
            }
}

/// RESIZE_NEAREST_NEIGHBOR (22, float32) / QUANTIZED_RESIZE_NEAREST_NEIGHBOR (23, uint8),
/// CHW: with sh = (float)in_h / out_h and sw = (float)in_w / out_w (float divisions),
/// out(c, oy, ox) = in(c, min(floor(oy*sh), in_h-1), min(floor(ox*sw), in_w-1)), the
/// product and floor in float. align_corners is ignored, as by the SDK. Nothing is written
/// when an input or output dimension is 0. Source: spec §7.3.
void execute(const ResizeNearestOp& op, bool quantized, uint8_t* main) {
    if (op.in_w == 0 || op.in_h == 0 || op.out_w == 0 || op.out_h == 0 || op.channels == 0) return;
    const uint32_t bytes = quantized ? 1 : 4;
    const float sh = static_cast<float>(op.in_h) / static_cast<float>(op.out_h);
    const float sw = static_cast<float>(op.in_w) / static_cast<float>(op.out_w);
    uint64_t o = 0;
    for (uint32_t c = 0; c < op.channels; ++c) {
        const uint64_t channel = uint64_t{c} * op.in_w * op.in_h;
        for (uint32_t oy = 0; oy < op.out_h; ++oy) {
            const uint64_t row = channel + uint64_t{nearest_source(oy, sh, op.in_h)} * op.in_w;
            for (uint32_t ox = 0; ox < op.out_w; ++ox, ++o) {
                const uint64_t i = row + nearest_source(ox, sw, op.in_w);
                copy_element(main, element_address(op.out, o, bytes),
                             element_address(op.in, i, bytes), bytes);
            }
        }
    }
}

/// K210_ADD_PADDING (10241): byte in[c] goes to KPU RAM byte
/// kpu_row*64 + (c/4)*256 + (c%4)*16, i.e. pixel (0,0) of channel c of a 4x4 map in the
/// §2 layout; the other 15 pixels of each channel are left as they are. Throws
/// std::out_of_range (writing nothing) if a byte would fall outside the 2 MiB KPU RAM.
/// Source: spec §7.3.
void execute(const AddPaddingOp& op, const uint8_t* main, uint8_t* kpu_ram) {
    if (op.channels == 0) return;
    const auto address = [&](uint32_t c) {
        return uint64_t{op.kpu_row} * 64 + uint64_t{c / 4} * 256 + uint64_t{c % 4} * 16;
    };
    if (address(op.channels - 1) >= kpu::kKpuRamBytes)
        throw std::out_of_range("K210_ADD_PADDING: output beyond the 2 MiB KPU RAM");
    for (uint32_t c = 0; c < op.channels; ++c)
        kpu_ram[address(c)] = main[element_address(op.in, c, 1)];
}

/// K210_REMOVE_PADDING (10242): out[c] = in[16*c] (pixel (0,0) of each 4x4 channel of a
/// dense conv output), uint8. Source: spec §7.3.
void execute(const RemovePaddingOp& op, uint8_t* main) {
    for (uint32_t c = 0; c < op.channels; ++c)
        main[element_address(op.out, c, 1)] = main[element_address(op.in, uint64_t{c} * 16, 1)];
}

/// K210_UPLOAD (10243): the dense CHW uint8 tensor at `in` copied into KPU RAM at
/// `kpu_row` in the §2 layout (kpu::upload_dense; bytes of a row slot beyond the width are
/// left as they are). Source: spec §7.3, §2.
void execute(const UploadOp& op, const uint8_t* main, uint8_t* kpu_ram) {
    kpu::upload_dense(main + op.in, kpu_ram, op.kpu_row, op.width, op.height, op.channels);
}

void execute(const V4UploadOp& op, const uint8_t* main, uint8_t* kpu_ram) {
    const Shape& s = op.shape;
    const uint64_t batch_bytes = uint64_t{s.c} * s.h * s.w;
    const uint32_t rows = kpu::feature_map_rows(s.w, s.h, s.c);
    // A byte offset inside a row shifts the whole layout by that many bytes.
    uint8_t* base = kpu_ram + op.kpu_offset % kpu::kKpuRamRowBytes;
    const uint32_t row = op.kpu_offset / kpu::kKpuRamRowBytes;
    for (uint32_t n = 0; n < s.n; ++n)
        kpu::upload_dense(main + op.in + n * batch_bytes, base, row + n * rows, s.w, s.h, s.c);
}

}  // namespace kpusim::cpu
