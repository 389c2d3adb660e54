// V3 pooling layers run on the CPU (spec §7.3 GLOBAL_AVERAGE_POOL2D, QUANTIZED_MAX_POOL2D,
// AVERAGE_POOL2D; arithmetic as compiled on the chip, spec §15).
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "cpu_layers/cpu_layers.h"
#include "cpu_layers/main_memory_access.h"

namespace kpusim::cpu {
namespace {

using detail::element_address;
using detail::load_f32;
using detail::store_f32;

/// The in-bounds part [begin, end) of one window axis: kernel taps k for which
/// origin + k lies in [0, size), origin = out * stride - padding.
struct TapRange {
    int64_t origin, begin, end;
};

/// 64-bit arithmetic, so that no field value overflows. For every window that overlaps
/// the image this is what the SDK's 32-bit code computes; for a window entirely outside
/// the image (possible only with inconsistent fields) the SDK would read outside the
/// channel, this gives an empty range instead.
TapRange taps(uint32_t out, uint32_t stride, uint32_t padding, uint32_t kernel, uint32_t size) {
    TapRange r;
    r.origin = int64_t{out} * stride - int64_t{padding};
    r.begin = std::max<int64_t>(0, -r.origin);
    r.end = std::min<int64_t>(kernel, int64_t{size} - r.origin);
    return r;
}

}  // namespace

/// GLOBAL_AVERAGE_POOL2D (5), float32: per channel, the kernel_size consecutive values
/// summed in order from 0, times the reciprocal fl(1 / kernel_size) (the compiler hoists
/// the division out of the loop as one reciprocal). kernel_size 0 writes NaN (0 * inf).
/// Source: spec §7.3, §15.
void execute(const GlobalAveragePoolOp& op, uint8_t* main) {
    // kernel_size 0 (no element) gives 1/0 = +inf on the chip, written out here.
    const float reciprocal =
        op.kernel_size == 0 ? HUGE_VALF : 1.0f / static_cast<float>(op.kernel_size);
    uint64_t i = 0;
    for (uint32_t c = 0; c < op.channels; ++c) {
        float sum = 0.0f;
        for (uint32_t k = 0; k < op.kernel_size; ++k, ++i)
            sum += load_f32(main, element_address(op.in, i, 4));
        store_f32(main, element_address(op.out, c, 4), sum * reciprocal);
    }
}

/// QUANTIZED_MAX_POOL2D (8), uint8 CHW: out(c, oy, ox) = max over the in-bounds taps of the
/// window at (oy*stride_h - padding_h, ox*stride_w - padding_w), starting from 0 (so a
/// window with no in-bounds tap gives 0). Loops over out_c x out_h x out_w; channel c of
/// the input starts at c * in_w * in_h. Nothing is done when an output dimension is 0.
/// Source: spec §7.3, §15.
void execute(const QuantizedMaxPoolOp& op, uint8_t* main) {
    const PoolWindow& w = op.window;
    if (w.out_c == 0 || w.out_h == 0 || w.out_w == 0) return;
    uint64_t o = 0;
    for (uint32_t c = 0; c < w.out_c; ++c) {
        const uint64_t channel = uint64_t{c} * w.in_w * w.in_h;
        for (uint32_t oy = 0; oy < w.out_h; ++oy) {
            const TapRange ty = taps(oy, w.stride_h, w.padding_h, w.kernel_h, w.in_h);
            for (uint32_t ox = 0; ox < w.out_w; ++ox, ++o) {
                const TapRange tx = taps(ox, w.stride_w, w.padding_w, w.kernel_w, w.in_w);
                uint8_t value = 0;
                for (int64_t ky = ty.begin; ky < ty.end; ++ky) {
                    const uint64_t row = channel + static_cast<uint64_t>(ty.origin + ky) * w.in_w;
                    for (int64_t kx = tx.begin; kx < tx.end; ++kx) {
                        const uint64_t idx = row + static_cast<uint64_t>(tx.origin + kx);
                        value = std::max(value, main[element_address(op.in, idx, 1)]);
                    }
                }
                main[element_address(op.out, o, 1)] = value;
            }
        }
    }
}

/// AVERAGE_POOL2D (9), float32 CHW: the in-bounds taps of each window summed in row-major
/// order from 0, divided (one true division) by the number of in-bounds taps, so padding
/// is not counted. `act` is ignored, as by the SDK. A window with no in-bounds tap gives
/// 0/0 = NaN (0x7fc00000). Nothing is done when an output dimension is 0.
/// Source: spec §7.3, §14 item 8, §15.
void execute(const AveragePoolOp& op, uint8_t* main) {
    const PoolWindow& w = op.window;
    if (w.out_c == 0 || w.out_h == 0 || w.out_w == 0) return;
    uint64_t o = 0;
    for (uint32_t c = 0; c < w.out_c; ++c) {
        const uint64_t channel = uint64_t{c} * w.in_w * w.in_h;
        for (uint32_t oy = 0; oy < w.out_h; ++oy) {
            const TapRange ty = taps(oy, w.stride_h, w.padding_h, w.kernel_h, w.in_h);
            for (uint32_t ox = 0; ox < w.out_w; ++ox, ++o) {
                const TapRange tx = taps(ox, w.stride_w, w.padding_w, w.kernel_w, w.in_w);
                float sum = 0.0f;
                float count = 0.0f;  // a float counter, as in the SDK (exact below 2^24)
                for (int64_t ky = ty.begin; ky < ty.end; ++ky) {
                    const uint64_t row = channel + static_cast<uint64_t>(ty.origin + ky) * w.in_w;
                    for (int64_t kx = tx.begin; kx < tx.end; ++kx) {
                        const uint64_t idx = row + static_cast<uint64_t>(tx.origin + kx);
                        sum += load_f32(main, element_address(op.in, idx, 4));
                        count += 1.0f;
                    }
                }
                // 0/0 would be NaN on the chip; written out so that no host check trips.
                const float mean = count > 0.0f ? sum / count : detail::riscv_arith_result(NAN);
                store_f32(main, element_address(op.out, o, 4), mean);
            }
        }
    }
}

}  // namespace kpusim::cpu
