// Internal helpers of the CPU layers: reading and writing float32 / uint8 elements of the
// main-memory working buffer (unaligned byte memory, so always through std::memcpy), and
// the RISC-V NaN rule the chip's FPU applies to every arithmetic result.
#pragma once

#include <cstdint>
#include <cstring>

namespace kpusim::cpu::detail {

/// Byte address of element `index` of `element_bytes`-byte elements starting at byte
/// `base` (64-bit, so that no offset arithmetic wraps).
inline uint64_t element_address(uint32_t base, uint64_t index, uint32_t element_bytes) {
    return uint64_t{base} + index * element_bytes;
}

/// The float32 stored at byte `address` of `main`.
inline float load_f32(const uint8_t* main, uint64_t address) {
    float v;
    std::memcpy(&v, main + address, sizeof v);
    return v;
}

/// Store the exact bits of `v` (a copy: what the chip's flw/fsw moves do).
inline void store_f32_bits(uint8_t* main, uint64_t address, float v) {
    std::memcpy(main + address, &v, sizeof v);
}

/// The canonical NaN of the RISC-V F extension (positive, quiet, zero payload).
inline constexpr uint32_t kRiscvCanonicalNan = 0x7fc00000u;

/// `v` as the chip's FPU would produce it from an arithmetic operation: every NaN result
/// of a RISC-V F instruction is the canonical NaN 0x7fc00000 (no payload or sign
/// propagation, unlike x86), other values unchanged.
inline float riscv_arith_result(float v) {
    if (v != v) {
        float nan;
        std::memcpy(&nan, &kRiscvCanonicalNan, sizeof nan);
        return nan;
    }
    return v;
}

/// Store the result of a float computation: NaNs canonicalised as on the chip.
inline void store_f32(uint8_t* main, uint64_t address, float v) {
    store_f32_bits(main, address, riscv_arith_result(v));
}

}  // namespace kpusim::cpu::detail
