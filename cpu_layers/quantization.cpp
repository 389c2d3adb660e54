// V3 conversions between float32 and uint8 (spec §7.3 QUANTIZE, DEQUANTIZE,
// CHANNELWISE_DEQUANTIZE, REQUANTIZE; rounding as compiled on the chip, spec §15).
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "cpu_layers/cpu_layers.h"
#include "cpu_layers/main_memory_access.h"

namespace kpusim::cpu {
namespace {

using detail::element_address;
using detail::load_f32;
using detail::store_f32;

/// What the chip's `int value = roundf(v)` gives: GCC turns it into one float-to-int32
/// conversion rounding half away from zero (RISC-V fcvt.w.s, rmm), which saturates:
/// above INT32_MAX -> INT32_MAX, below INT32_MIN -> INT32_MIN, NaN -> INT32_MAX.
int32_t round_half_away_saturating(float v) {
    if (std::isnan(v)) return std::numeric_limits<int32_t>::max();
    const float r = std::round(v);  // exact; half away from zero
    if (r >= 0x1p31f) return std::numeric_limits<int32_t>::max();
    if (r < -0x1p31f) return std::numeric_limits<int32_t>::min();
    return static_cast<int32_t>(r);
}

uint8_t clamp_u8(int32_t v) { return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v)); }

}  // namespace

/// QUANTIZE (11): out[i] = clamp(round_half_away((in[i] - bias) * fl(1/scale)), 0, 255),
/// float32 in, uint8 out. Two roundings (the subtraction, the product; no fusion), then the
/// saturating conversion: NaN -> 255, +inf -> 255, -inf -> 0. Source: spec §7.3, §15.
void execute(const QuantizeOp& op, uint8_t* main) {
    const float inv = 1.0f / op.scale;
    for (uint64_t i = 0; i < op.count; ++i) {
        const float x = load_f32(main, element_address(op.in, i, 4));
        const float v = (x - op.bias) * inv;
        main[element_address(op.out, i, 1)] = clamp_u8(round_half_away_saturating(v));
    }
}

/// DEQUANTIZE (12): out[i] = fma(in[i], scale, bias) (uint8 in, float32 out): the chip's
/// compiled q*scale + bias is one fused multiply-add, a single rounding. Source: spec §15.
void execute(const DequantizeOp& op, uint8_t* main) {
    for (uint64_t i = 0; i < op.count; ++i) {
        const float q = main[element_address(op.in, i, 1)];
        store_f32(main, element_address(op.out, i, 4), std::fma(q, op.scale, op.bias));
    }
}

/// CHANNELWISE_DEQUANTIZE (24): as DEQUANTIZE with channel c's own scale and bias for its
/// channel_size consecutive elements. Throws std::invalid_argument if the op holds fewer
/// than `channels` scale/bias pairs. Source: spec §7.3, §15.
void execute(const ChannelwiseDequantizeOp& op, uint8_t* main) {
    if (op.scale.size() < op.channels || op.bias.size() < op.channels)
        throw std::invalid_argument("CHANNELWISE_DEQUANTIZE: fewer scale/bias pairs than channels");
    uint64_t i = 0;
    for (uint32_t c = 0; c < op.channels; ++c) {
        const float scale = op.scale[c];
        const float bias = op.bias[c];
        for (uint32_t j = 0; j < op.channel_size; ++j, ++i) {
            const float q = main[element_address(op.in, i, 1)];
            store_f32(main, element_address(op.out, i, 4), std::fma(q, scale, bias));
        }
    }
}

/// REQUANTIZE (13): out[i] = table[in[i]], uint8 to uint8, in element order.
/// Source: spec §7.3.
void execute(const RequantizeOp& op, uint8_t* main) {
    for (uint64_t i = 0; i < op.count; ++i)
        main[element_address(op.out, i, 1)] = op.table[main[element_address(op.in, i, 1)]];
}

}  // namespace kpusim::cpu
