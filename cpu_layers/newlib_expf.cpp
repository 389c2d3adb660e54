// Single-precision e^x following the algorithm of newlib's older fdlibm-derived expf
// (libm/math), written from the algorithm's description; the numeric constants are the
// algorithm's published single-precision values (given here as exact hex floats).
//
// The algorithm:
//   1. Special cases: NaN, +-inf, overflow above ~88.72, underflow below ~-103.97, and
//      |x| < 2^-28 (result 1 + x).
//   2. Reduction: x = k*ln2 + r with |r| <= ln2/2, where ln2 is split into a short
//      "hi" part (so that k*ln2_hi is exact or nearly) and a "lo" correction; k = +-1 for
//      |x| in (ln2/2, 3*ln2/2), otherwise k = trunc(x/ln2 +- 1/2) (round to nearest).
//   3. Approximation: with t = r^2, c = r - t*(P1 + t*(P2 + t*(P3 + t*(P4 + t*P5)))),
//      e^r = 1 - ((lo - r*c/(2 - c)) - hi); for k = 0, e^r = 1 - (r*c/(c - 2) - r).
//   4. Scale by 2^k by adding k to the exponent field; when 2^k would make the result
//      subnormal (k < -125) add k + 100 instead and multiply by 2^-100 (one rounding).
//
// Fused multiply-adds: newlib is compiled by GCC with its default -ffp-contract=fast for
// rv64imafc, which has fmadd.s / fnmsub.s. GCC's FMA formation (the widening_mul pass)
// fuses a multiplication into an addition or subtraction only when every use of the
// product is such an addition or subtraction in the same basic block. Applied to the
// algorithm that gives:
//   fused:     k's  invln2*x + (+-0.5);  hi = x - t*ln2_hi;  the four Horner steps
//              P_i + t*q;  c = r - t*q.
//   not fused: lo = t*ln2_lo (its value also flows, through the branch join, into the
//              final formula); r*r; r*c (it is divided).
// Uncertainty: if the firmware's newlib was built with contraction off (-ffp-contract=off
// or a strict -std=c99 build), none of these is fused. Of the fused operations only c and
// the last Horner step (P1 + t*q) change any result: k, hi and the inner Horner steps give
// the same value fused or not for all 2^32 inputs. The two readings differ on 81,240
// of the 2^32 inputs (by 1 ulp); both stay within 1 ulp of the exact value. This fused
// reading was checked bit for bit, over all 2^32 inputs, against the algorithm's C source
// compiled by GCC 12 with FMA contraction on (the same fusion decisions on x86-64 -mfma:
// the FMA formation pass is target-independent); GCC 8.2, which built the firmware's
// newlib, has the same rule for forming FMAs.
#include "cpu_layers/newlib_expf.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "cpu_layers/main_memory_access.h"

namespace kpusim::cpu {
namespace {

constexpr float kLn2Hi = 0x1.62e3p-1f;        // bits 0x3f317180
constexpr float kLn2Lo = 0x1.2fefa2p-17f;     // bits 0x3717f7d1
constexpr float kInvLn2 = 0x1.715476p+0f;     // bits 0x3fb8aa3b
constexpr float kP1 = 0x1.555556p-3f;         // bits 0x3e2aaaab
constexpr float kP2 = -0x1.6c16c2p-9f;        // bits 0xbb360b61
constexpr float kP3 = 0x1.1566aap-14f;        // bits 0x388ab355
constexpr float kP4 = -0x1.bbd41cp-20f;       // bits 0xb5ddea0e
constexpr float kP5 = 0x1.637698p-25f;        // bits 0x3331bb4c
constexpr float kTwoPowMinus100 = 0x1p-100f;  // bits 0x0d800000

constexpr uint32_t kOverflowAbove = 0x42b17217u;   // 88.7228317: larger x overflows
constexpr uint32_t kUnderflowAbove = 0x42cff1b5u;  // |x| of 103.972084 for negative x
constexpr uint32_t kHalfLn2 = 0x3eb17218u;         // |x| above this needs a reduction
constexpr uint32_t kThreeHalvesLn2 = 0x3f851592u;  // below this, k = +-1 directly
constexpr uint32_t kTiny = 0x31800000u;            // 2^-28

uint32_t bits_of(float v) {
    uint32_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
}

float float_of(uint32_t b) {
    float v;
    std::memcpy(&v, &b, sizeof v);
    return v;
}

}  // namespace

float newlib_expf(float x) {
    const uint32_t bits = bits_of(x);
    const bool negative = (bits >> 31) != 0;
    const uint32_t magnitude = bits & 0x7fffffffu;

    if (magnitude > 0x7f800000u) return detail::riscv_arith_result(x + x);  // NaN
    if (magnitude == 0x7f800000u) return negative ? 0.0f : x;
    if (!negative && magnitude > kOverflowAbove) return HUGE_VALF;
    if (negative && magnitude > kUnderflowAbove) return 0.0f;

    int32_t k = 0;
    float hi = 0.0f;
    float lo = 0.0f;
    float r = x;
    if (magnitude > kHalfLn2) {
        if (magnitude < kThreeHalvesLn2) {
            hi = negative ? x + kLn2Hi : x - kLn2Hi;
            lo = negative ? -kLn2Lo : kLn2Lo;
            k = negative ? -1 : 1;
        } else {
            // Round x/ln2 to nearest by adding +-1/2 and truncating (the C conversion).
            // |x| <= 103.98 here, so the value converts without overflow.
            k = static_cast<int32_t>(std::fma(kInvLn2, x, negative ? -0.5f : 0.5f));
            const float kf = static_cast<float>(k);
            hi = std::fma(-kf, kLn2Hi, x);
            lo = kf * kLn2Lo;
        }
        r = hi - lo;
    } else if (magnitude < kTiny) {
        return 1.0f + x;
    }

    const float t = r * r;
    float q = std::fma(t, kP5, kP4);
    q = std::fma(t, q, kP3);
    q = std::fma(t, q, kP2);
    q = std::fma(t, q, kP1);
    const float c = std::fma(-t, q, r);

    if (k == 0) return 1.0f - ((r * c) / (c - 2.0f) - r);
    const float y = 1.0f - ((lo - (r * c) / (2.0f - c)) - hi);

    // y is in [0.5, 2); add k (or k + 100) to its biased exponent. Unsigned arithmetic:
    // adding a negative k wraps modulo 2^32, which is the intended exponent decrement.
    if (k >= -125) return float_of(bits_of(y) + (static_cast<uint32_t>(k) << 23));
    return float_of(bits_of(y) + (static_cast<uint32_t>(k + 100) << 23)) * kTwoPowMinus100;
}

}  // namespace kpusim::cpu
