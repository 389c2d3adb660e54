// V3 FULLY_CONNECTED (spec §7.3), float32, with the summation order and fused
// multiply-adds of the SDK loop as GCC compiles it for the chip (spec §15).
#include <cmath>
#include <cstdint>
#include <stdexcept>

#include "cpu_layers/cpu_layers.h"
#include "cpu_layers/main_memory_access.h"

namespace kpusim::cpu {
namespace {

using detail::element_address;
using detail::load_f32;
using detail::store_f32;

/// Dot product of the input with weight row `w` (in_channels values), as the chip sums it.
float dot(const uint8_t* main, uint32_t in, const float* w, uint32_t in_channels, bool sequential) {
    float sum = 0.0f;
    if (in_channels % 8 == 0 && !sequential) {
        // The SDK's 8-way unrolled loop, reassociated by the compiler: per block of 8,
        // t = fma(x0, w0, x1*w1); t = t + sum; t = fma(x_k, w_k, t) for k = 2..7.
        for (uint64_t base = 0; base < in_channels; base += 8) {
            float x[8];
            for (int k = 0; k < 8; ++k) x[k] = load_f32(main, element_address(in, base + k, 4));
            const float* wb = w + base;
            float t = std::fma(x[0], wb[0], x[1] * wb[1]);
            t = t + sum;
            for (int k = 2; k < 8; ++k) t = std::fma(x[k], wb[k], t);
            sum = t;
        }
    } else {
        for (uint64_t i = 0; i < in_channels; ++i)
            sum = std::fma(load_f32(main, element_address(in, i, 4)), w[i], sum);
    }
    return sum;
}

}  // namespace

/// FULLY_CONNECTED (18), float32: out[o] = dot(in, W[o]) + bias[o], then the activation
/// over all outputs (act 1 ReLU: x > 0 ? x : 0; act 2 ReLU6: that, then < 6 ? : 6; any
/// other value: linear, as the SDK; a NaN becomes 0 under ReLU/ReLU6). The dot product
/// (spec §15): with in_channels not a multiple of 8, sum = fma(x_i, w_i, sum) in order
/// from 0; with in_channels a multiple of 8, per block of 8:
/// t = fma(x0, w0, x1*w1); t += sum; t = fma(x_k, w_k, t) for k = 2..7; sum = t
/// (observed with GCC 12; the firmware's GCC 8.2 may differ: the least certain rule).
/// op.sequential_sum (Maix-EMC's kpu.c, whose loop is not unrolled): the in-order fma sum for
/// every in_channels; with it the Maix-EMC CIFAR-10 model reproduces all ten printed digits
/// of the board capture (spec §17), with the unrolled order it misses the last digit.
/// All outputs are written before the activation pass reads them back, as in the SDK.
/// Throws std::invalid_argument if the op holds fewer weights or biases than its shape.
void execute(const FullyConnectedOp& op, uint8_t* main) {
    const uint64_t weight_count = uint64_t{op.in_channels} * op.out_channels;
    if (op.weights.size() < weight_count || op.bias.size() < op.out_channels)
        throw std::invalid_argument(
            "FULLY_CONNECTED: fewer weights or biases than in x out channels");

    for (uint32_t o = 0; o < op.out_channels; ++o) {
        const float* row = op.weights.data() + uint64_t{o} * op.in_channels;
        const float sum = dot(main, op.in, row, op.in_channels, op.sequential_sum);
        store_f32(main, element_address(op.out, o, 4), sum + op.bias[o]);
    }

    if (op.act != 1 && op.act != 2) return;
    for (uint32_t o = 0; o < op.out_channels; ++o) {
        const uint64_t at = element_address(op.out, o, 4);
        float v = load_f32(main, at);
        v = v > 0.0f ? v : 0.0f;
        if (op.act == 2) v = v < 6.0f ? v : 6.0f;
        detail::store_f32_bits(main, at, v);
    }
}

}  // namespace kpusim::cpu
