// V3 layers that normalise a whole vector (spec §7.3 SOFTMAX, L2_NORMALIZATION), with
// the arithmetic the chip's compiled code performs (spec §15). Main memory is read and
// written in the SDK's pass order, so overlapping in/out ranges behave as on the chip.
#include <cfloat>
#include <cmath>
#include <cstdint>

#include "cpu_layers/cpu_layers.h"
#include "cpu_layers/main_memory_access.h"
#include "cpu_layers/newlib_expf.h"

namespace kpusim::cpu {

using detail::element_address;
using detail::load_f32;
using detail::store_f32;

/// SOFTMAX (15), float32 over `channels` values (spec §7.3, §15):
///   m = FLT_MIN, then m = fmaxf(m, x_i) in order (NaN inputs are skipped);
///   e_i = expf(x_i - m) written to out, sum += e_i in order from 0;
///   out_i = e_i * fl(1 / sum) (the compiler hoists the division as one reciprocal).
/// Quirk kept: m starts at FLT_MIN (~1.18e-38), not -inf, so when every input is negative
/// m stays FLT_MIN and the exponentials are of x_i itself rather than of x_i - max: the
/// ratios are the same mathematically, but large negative inputs underflow (all e_i = 0
/// gives 0 * inf = NaN outputs) where a correct softmax would not.
void execute(const SoftmaxOp& op, uint8_t* main) {
    float m = FLT_MIN;
    for (uint64_t i = 0; i < op.channels; ++i)
        m = std::fmax(m, load_f32(main, element_address(op.in, i, 4)));

    float sum = 0.0f;
    for (uint64_t i = 0; i < op.channels; ++i) {
        const float e = newlib_expf(load_f32(main, element_address(op.in, i, 4)) - m);
        sum += e;
        store_f32(main, element_address(op.out, i, 4), e);
    }

    // sum == 0 (every e_i underflowed) gives 1/0 = +inf on the chip; written out here.
    const float reciprocal = sum == 0.0f ? HUGE_VALF : 1.0f / sum;
    for (uint64_t i = 0; i < op.channels; ++i) {
        const uint64_t at = element_address(op.out, i, 4);
        store_f32(main, at, load_f32(main, at) * reciprocal);
    }
}

/// L2_NORMALIZATION (14), float32 over `channels` values (spec §7.3, §15):
///   s = sum of x_i^2 accumulated with fused multiply-adds, s = fma(x_i, x_i, s), in order;
///   s = max(s, 1e-10f) (s < 1e-10f replaced; a NaN s stays NaN); r = 1 / sqrtf(s)
///   (a correctly rounded square root, then a division); out_i = x_i * r.
void execute(const L2NormalizationOp& op, uint8_t* main) {
    float s = 0.0f;
    for (uint64_t i = 0; i < op.channels; ++i) {
        const float x = load_f32(main, element_address(op.in, i, 4));
        s = std::fma(x, x, s);
    }
    if (s < 1e-10f) s = 1e-10f;
    const float r = 1.0f / std::sqrt(s);
    for (uint64_t i = 0; i < op.channels; ++i) {
        const float x = load_f32(main, element_address(op.in, i, 4));
        store_f32(main, element_address(op.out, i, 4), x * r);
    }
}

}  // namespace kpusim::cpu
