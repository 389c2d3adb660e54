// Batch-norm stage of the KPU (spec §4.1 table layout, §6.3 arithmetic).
#pragma once

#include <cstdint>

namespace kpusim::kpu {

/// One kpu_batchnorm_argument_t word (8 bytes per output channel).
struct BatchNormEntry {
    int32_t norm_mul = 0;    ///< signed 24-bit multiplier (bits 0-23)
    int32_t norm_add = 0;    ///< signed 32-bit addend (bits 24-55)
    uint32_t norm_shift = 0; ///< unsigned right shift 0..15 (bits 56-59)

    /// Decode one little-endian 64-bit table word.
    static BatchNormEntry decode(uint64_t word);
};

/// bn = ((conv * norm_mul) >> norm_shift) + norm_add, 64-bit, flooring shift (spec §6.3).
/// The product wraps modulo 2^64 like the reference simulator's int64 arithmetic (it cannot
/// overflow for any real model: nncase keeps bn within 36 bits); no undefined behaviour.
inline int64_t apply_batchnorm(int64_t conv, const BatchNormEntry& e) {
    const int64_t product = static_cast<int64_t>(static_cast<uint64_t>(conv) *
                                                 static_cast<uint64_t>(int64_t{e.norm_mul}));
    return static_cast<int64_t>(static_cast<uint64_t>(product >> e.norm_shift) +
                                static_cast<uint64_t>(int64_t{e.norm_add}));
}

}  // namespace kpusim::kpu
