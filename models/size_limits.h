// Limits kpusim applies to every size a kmodel file declares, and overflow-checked
// arithmetic to apply them, so that a malformed (or hostile) file costs bounded time and
// memory before any allocation or loop.
//
// What a model that passes the V3 reader can cost (the bounds the limits give):
//   - memory: the file itself, one copy of the FULLY_CONNECTED weights (at most the file's
//     size), the main working buffer (main_mem_usage <= 6 MiB, plus kMainMemorySlack), the
//     2 MiB KPU RAM, and O(layers) bookkeeping (layers <= file size / 8);
//   - time, per layer: every tensor a CPU layer loops over has each dimension and the
//     product of its dimensions (a 0 counted as 1, so that a zero inner dimension cannot
//     leave a huge outer loop running) at most kMaxTensorElements (6 Mi), so element-wise
//     and data-movement layers do at most a few x 6 Mi element steps; pooling windows are
//     bounded in total by kMaxPoolTaps (2^28 taps); FULLY_CONNECTED does in x out
//     multiply-adds, and its in x out weights are in the file (4 bytes each); KPU
//     convolutions are bounded by the layer argument's 10-bit fields (kpu::validate).
//   So a file of S bytes with L layers runs in O(L x 2^28 + S) element steps at worst;
//   callers that need tighter bounds (the fuzz targets) use functional_work() of
//   models/model_cost.h to refuse models above their own limit before running them.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>

namespace kpusim {

/// The K210's general-purpose SRAM, the most main_mem_usage can be (kmodel-spec §1): 6 MiB.
inline constexpr uint64_t kGeneralSramBytes = 6ull * 1024 * 1024;

/// Largest dimension, and largest product of dimensions (zeros counted as 1), of a tensor a
/// CPU layer loops over: no tensor of the 6 MiB main memory has more elements.
inline constexpr uint64_t kMaxTensorElements = kGeneralSramBytes;

/// Largest total of in-bounds window taps (output elements x taps per window) a pooling
/// layer may declare: 2^28, about a second of host time; real models stay far below
/// (a 3x3 window over a whole 6 MiB map is 2^26 taps).
inline constexpr uint64_t kMaxPoolTaps = uint64_t{1} << 28;

/// a x b, or nullopt when the product does not fit in 64 bits.
inline std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b) {
    uint64_t r;
    if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
    return r;
}

/// The product of `factors`, or nullopt when it (or a partial product) overflows 64 bits.
inline std::optional<uint64_t> checked_product(std::initializer_list<uint64_t> factors) {
    uint64_t r = 1;
    for (uint64_t f : factors) {
        const auto next = checked_mul(r, f);
        if (!next) return std::nullopt;
        r = *next;
    }
    return r;
}

}  // namespace kpusim
