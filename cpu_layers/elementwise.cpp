// V3 element-wise layers (spec §7.3 ADD, QUANTIZED_ADD, LOGISTIC). Each reads and writes
// main memory in the SDK loop's order, so that overlapping in/out ranges behave as on
// the chip.
#include <cstdint>

#include "cpu_layers/cpu_layers.h"
#include "cpu_layers/main_memory_access.h"
#include "cpu_layers/newlib_expf.h"
#include "kpu_core/rounding.h"

namespace kpusim::cpu {
namespace {

using detail::element_address;
using detail::load_f32;
using detail::store_f32;

// The SDK's 64-bit integer arithmetic as the RV64 instructions execute it: add and mul
// wrap modulo 2^64, sra shifts by the low 6 bits of its amount. (In C the overflow and the
// out-of-range shift would be undefined; the hardware result is what the chip produces.)
int64_t wrapping_add(int64_t a, int64_t b) {
    return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t wrapping_mul(int64_t a, int64_t b) {
    return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}
int64_t rv64_sra(int64_t v, int64_t amount) { return v >> (amount & 63); }

/// The SDK's kpu_carry_shift (KCS, spec §7.5) with the i32 shift field as the chip passes
/// it: converted to uint32, 0 means no shift, otherwise the first shift is by
/// (shift - 1) mod 64 (sra), then the carry step. Shifts 1..64 are exactly KCS; larger or
/// negative fields wrap as the hardware does.
int64_t chip_carry_shift(int64_t v, int32_t shift_field) {
    const uint32_t shift = static_cast<uint32_t>(shift_field);
    if (shift == 0) return v;
    const uint32_t first = (shift - 1) & 63;
    if (first < 63) return kpu::kcs(v, first + 1);
    const int64_t t = v >> 63;  // 0 or -1; -1 is odd and negative: (t >> 1) - 1 = -2
    return t == 0 ? 0 : -2;
}

}  // namespace

/// ADD (1), float32: out[i] = a[i] + b[i] (one rounding). Source: spec §7.3.
void execute(const AddOp& op, uint8_t* main) {
    for (uint64_t i = 0; i < op.count; ++i) {
        const float a = load_f32(main, element_address(op.in_a, i, 4));
        const float b = load_f32(main, element_address(op.in_b, i, 4));
        store_f32(main, element_address(op.out, i, 4), a + b);
    }
}

/// QUANTIZED_ADD (2), uint8, 64-bit integer arithmetic (spec §7.3):
///   equal shifts: v = ((a + off_a)*mul_a + (b + off_b)*mul_b) >> shift_a
///   otherwise:    v = ((a + off_a)*mul_a >> shift_a) + ((b + off_b)*mul_b >> shift_b)
///   out = clamp(KCS(v * out_mul, out_shift) + out_offset, 0, 255)   (>> floors)
/// Quirk kept: the SDK's 8-way unrolled loop runs ceil(count / 8) times, so it processes
/// count rounded UP to a multiple of 8 and reads/writes up to 7 elements past the end of
/// both inputs and the output (the main buffer has kMainMemorySlack bytes for it). Each
/// block of 8 reads all its inputs before writing. Field values the reader lets through
/// follow RV64 semantics (wrapping products, shifts by the low 6 bits), never host UB.
void execute(const QuantizedAddOp& op, uint8_t* main) {
    const uint32_t blocks = ((op.count + 7u) & ~7u) / 8u;  // uint32 as in the SDK
    const bool same_shift = op.in_a_shift == op.in_b_shift;
    for (uint32_t blk = 0; blk < blocks; ++blk) {
        const uint64_t first = uint64_t{blk} * 8;
        int64_t a[8];
        int64_t b[8];
        for (int j = 0; j < 8; ++j) {
            a[j] = main[element_address(op.in_a, first + j, 1)];
            b[j] = main[element_address(op.in_b, first + j, 1)];
        }
        for (int j = 0; j < 8; ++j) {
            const int64_t pa = wrapping_mul(a[j] + op.in_a_offset, op.in_a_mul);
            const int64_t pb = wrapping_mul(b[j] + op.in_b_offset, op.in_b_mul);
            const int64_t v =
                same_shift ? rv64_sra(wrapping_add(pa, pb), op.in_a_shift)
                           : wrapping_add(rv64_sra(pa, op.in_a_shift), rv64_sra(pb, op.in_b_shift));
            int64_t o = chip_carry_shift(wrapping_mul(v, op.out_mul), op.out_shift);
            o = wrapping_add(o, op.out_offset);
            main[element_address(op.out, first + j, 1)] =
                static_cast<uint8_t>(o < 0 ? 0 : (o > 255 ? 255 : o));
        }
    }
}

/// LOGISTIC (25), float32: out[i] = 1 / (1 + expf(-x)), each operation rounded on its
/// own, expf being the firmware's newlib expf (newlib_expf). Source: spec §7.3, §15.
void execute(const LogisticOp& op, uint8_t* main) {
    for (uint64_t i = 0; i < op.channels; ++i) {
        const float x = load_f32(main, element_address(op.in, i, 4));
        store_f32(main, element_address(op.out, i, 4), 1.0f / (1.0f + newlib_expf(-x)));
    }
}

}  // namespace kpusim::cpu
