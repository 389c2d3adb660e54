// The two carry-shift rounding helpers of the K210 toolchains, reproduced exactly,
// sign quirks included (spec §6.4 ACT_ROUND and §7.5 KCS).
#pragma once

#include <cstdint>

namespace kpusim::kpu {

/// nncase 0.2 / 1.x "banker" carry shift (ACT_ROUND, spec §6.4): round half to even for
/// v >= 0; for v < 0 the rounding direction is mirrored (e.g. v = -5, s = 2 gives -3).
/// `s` in 0..63.
inline int64_t act_round(int64_t v, uint32_t s) {
    if (s == 0) return v;
    const int64_t q = v >> s;  // floor (arithmetic shift)
    // v - q * 2^s, the non-negative remainder: the low s bits of v in two's complement.
    const int64_t f = static_cast<int64_t>(static_cast<uint64_t>(v) & ((uint64_t{1} << s) - 1));
    const int64_t h = int64_t{1} << (s - 1);
    const int64_t sgn = v < 0 ? -1 : 1;
    if (f < h) return q;
    if (f > h) return q + sgn;
    return (q & 1) ? q + sgn : q;
}

/// kpu_carry_shift of the SDK and of nncase 0.1 (KCS, spec §7.5): half up for v >= 0,
/// biased downward for negative odd intermediates (v = -1, s = 1 gives -2). `s` in 0..63.
inline int64_t kcs(int64_t v, uint32_t s) {
    if (s == 0) return v;
    const int64_t t = v >> (s - 1);
    if ((t & 1) == 0) return t >> 1;
    return t >= 0 ? (t >> 1) + 1 : (t >> 1) - 1;
}

}  // namespace kpusim::kpu
