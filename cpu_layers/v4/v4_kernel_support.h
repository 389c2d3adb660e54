// Internal helpers of the V4 CPU kernels (cpu_layers/v4/*.cpp): element access to the V4
// memories and the RISC-V arithmetic rules of kmodel-spec §16.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "cpu_layers/main_memory_access.h"
#include "cpu_layers/v4/v4_kernels.h"

namespace kpusim::v4::detail {

/// The bytes of range `r` in `mem` (validated by execute()).
uint8_t* base(const Memories& mem, const MemoryRange& r);

inline float ld(const uint8_t* p, uint64_t i) { return cpu::detail::load_f32(p, i * 4); }
/// Store an arithmetic result (NaN canonicalised).
inline void st(uint8_t* p, uint64_t i, float v) { cpu::detail::store_f32(p, i * 4, v); }
/// Store exact bits (copies, abs, neg).
inline void st_bits(uint8_t* p, uint64_t i, float v) { cpu::detail::store_f32_bits(p, i * 4, v); }
inline float canon(float v) { return cpu::detail::riscv_arith_result(v); }

/// fmax.s: NaN operand -> the other one; two NaNs -> canonical NaN; fmax(-0, +0) = +0.
inline float rv_fmax(float a, float b) {
    if (std::isnan(a)) return canon(b);
    if (std::isnan(b)) return a;
    if (a == 0 && b == 0) return std::signbit(a) ? b : a;
    return a > b ? a : b;
}
/// fmin.s: NaN operand -> the other one; two NaNs -> canonical NaN; fmin(-0, +0) = -0.
inline float rv_fmin(float a, float b) {
    if (std::isnan(a)) return canon(b);
    if (std::isnan(b)) return a;
    if (a == 0 && b == 0) return std::signbit(a) ? a : b;
    return a < b ? a : b;
}
/// The fused-activation clamp: fmin(fmax(v, lo), hi).
inline float rv_clamp(float v, float lo, float hi) { return rv_fmin(rv_fmax(v, lo), hi); }

/// fcvt.w.s with the given rounding already applied by `r` (a float holding an integer or
/// NaN/inf): saturate to int32, NaN -> INT32_MAX.
inline int32_t sat_i32(float r) {
    if (std::isnan(r) || r >= 2147483648.0f) return std::numeric_limits<int32_t>::max();
    if (r < -2147483648.0f) return std::numeric_limits<int32_t>::min();
    return static_cast<int32_t>(r);
}

/// mul_and_carry_shift (RHU): p = value * mul in 64 bits; shift taken as a byte; if > 0,
/// (p + 2^(shift-1)) >> shift (arithmetic, RV64 shift amounts mod 64, wrapping add); truncated
/// to int32.
inline int32_t rhu(int64_t value, int32_t mul, int32_t shift) {
    const uint64_t p = static_cast<uint64_t>(value) * static_cast<uint64_t>(static_cast<int64_t>(mul));
    const uint32_t s = static_cast<uint8_t>(shift);
    if (s == 0) return static_cast<int32_t>(static_cast<uint32_t>(p));
    const uint64_t rounded = p + (uint64_t{1} << ((s - 1) & 63));
    const int64_t shifted = static_cast<int64_t>(rounded) >> (s & 63);
    return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(shifted)));
}
/// int32 wrapping add / mul.
inline int32_t wadd(int32_t a, int32_t b) {
    return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}
inline int32_t wmul(int32_t a, int32_t b) {
    return static_cast<int32_t>(static_cast<uint32_t>(a) * static_cast<uint32_t>(b));
}
inline uint8_t clamp_u8(int32_t v) { return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v); }

/// Row-major offset of index `i` in shape `s`.
inline uint64_t offset(const Dims4& s, const uint64_t (&i)[4]) {
    return ((i[0] * uint64_t(s[1]) + i[1]) * uint64_t(s[2]) + i[2]) * uint64_t(s[3]) + i[3];
}
/// Broadcast an index into an operand of shape `s`: axes where the extent <= the index become 0.
inline uint64_t broadcast_offset(const Dims4& s, const uint64_t (&i)[4]) {
    uint64_t j[4];
    for (int k = 0; k < 4; ++k) j[k] = uint64_t(s[k]) <= i[k] ? 0 : i[k];
    return offset(s, j);
}

// Kernels by family (elementwise.cpp, conv.cpp, data_movement.cpp, reduce.cpp, nnil.cpp).
void run(const BinaryOp&, const Memories&);
void run(const UnaryOp&, const Memories&);
void run(const DequantizeOp&, const Memories&);
void run(const QuantizeOp&, const Memories&);
void run(const QuantizedBinaryOp&, const Memories&);
void run(const TableLookup1DOp&, const Memories&);
void run(const MemoryCopyOp&, const Memories&);
void run(const Conv2DOp&, const Memories&);
void run(const MatMulOp&, const Memories&);
void run(const QuantizedConv2DOp&, const Memories&);
void run(const QuantizedMatMulOp&, const Memories&);
void run(const Conv2DTransposeOp&, const Memories&);
void run(const CpuConv2DOp&, const Memories&);
void run(const CpuDepthwiseConv2DOp&, const Memories&);
void run(const CpuQuantizedConv2DOp&, const Memories&);
void run(const CpuQuantizedDepthwiseConv2DOp&, const Memories&);
void run(const ConcatOp&, const Memories&);
void run(const PadOp&, const Memories&);
void run(const TransposeOp&, const Memories&);
void run(const StridedSliceOp&, const Memories&);
void run(const ResizeImageOp&, const Memories&);
void run(const ReduceOp&, const Memories&);
void run(const ReduceWindow2DOp&, const Memories&);
void run(const CpuReduceWindow2DOp&, const Memories&);
void run(const SoftmaxOp&, const Memories&);
void run(const NnilUnaryMethodOp&, const Memories&);

/// Result of a nnil unary op / binary op on the chip (shared by unary and nnil).
float unary(UnaryOpKind op, float x);
float binary(BinaryOpKind op, float a, float b);

}  // namespace kpusim::v4::detail
