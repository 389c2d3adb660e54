// V4 element-wise kernels: binary, unary, dequantize, quantize, quantized_binary,
// table_lookup1d, memory_copy (kmodel-spec §9.3, §16).
#include <cmath>
#include <cstring>

#include "cpu_layers/newlib_expf.h"
#include "cpu_layers/v4/v4_kernel_support.h"

namespace kpusim::v4::detail {

float unary(UnaryOpKind op, float x) {
    switch (op) {
    case UnaryOpKind::abs: return std::fabs(x);
    case UnaryOpKind::ceil: return canon(std::ceil(x));
    case UnaryOpKind::cos: return canon(std::cos(x));
    case UnaryOpKind::exp: return cpu::newlib_expf(x);
    case UnaryOpKind::floor: return canon(std::floor(x));
    case UnaryOpKind::log: return canon(std::log(x));
    case UnaryOpKind::neg: return -x;
    case UnaryOpKind::rsqrt: return canon(1.0f / std::sqrt(x));
    case UnaryOpKind::sin: return canon(std::sin(x));
    case UnaryOpKind::square: return canon(x * x);
    }
    return x;
}

float binary(BinaryOpKind op, float a, float b) {
    switch (op) {
    case BinaryOpKind::add: return canon(a + b);
    case BinaryOpKind::sub: return canon(a - b);
    case BinaryOpKind::mul: return canon(a * b);
    case BinaryOpKind::div: return canon(a / b);
    case BinaryOpKind::min: return rv_fmin(a, b);
    case BinaryOpKind::max: return rv_fmax(a, b);
    }
    return a;
}

namespace {

/// Visit every element of a (possibly broadcast) binary: f(out_index, a_index, b_index).
template <class F>
void binary_loop(const Dims4& as, const Dims4& bs, const Dims4& os, F&& f) {
    if (as == bs) {
        const uint64_t n = shape_elements(as);
        for (uint64_t i = 0; i < n; ++i) f(i, i, i);
        return;
    }
    uint64_t i[4];
    uint64_t o = 0;
    for (i[0] = 0; i[0] < uint64_t(os[0]); ++i[0])
        for (i[1] = 0; i[1] < uint64_t(os[1]); ++i[1])
            for (i[2] = 0; i[2] < uint64_t(os[2]); ++i[2])
                for (i[3] = 0; i[3] < uint64_t(os[3]); ++i[3]) f(o++, broadcast_offset(as, i), broadcast_offset(bs, i));
}

}  // namespace

void run(const BinaryOp& o, const Memories& m) {
    const uint8_t* a = base(m, o.a);
    const uint8_t* b = base(m, o.b);
    uint8_t* out = base(m, o.out);
    binary_loop(o.a_shape, o.b_shape, o.out_shape, [&](uint64_t oi, uint64_t ai, uint64_t bi) {
        const float r = binary(o.op, ld(a, ai), ld(b, bi));
        st(out, oi, rv_clamp(r, o.fused_activation.min, o.fused_activation.max));
    });
}

void run(const UnaryOp& o, const Memories& m) {
    const uint8_t* in = base(m, o.in);
    uint8_t* out = base(m, o.out);
    const uint64_t n = o.in.size / 4;
    for (uint64_t i = 0; i < n; ++i) st_bits(out, i, unary(o.op, ld(in, i)));  // results already canonical
}

void run(const DequantizeOp& o, const Memories& m) {
    const uint8_t* in = base(m, o.in);
    uint8_t* out = base(m, o.out);
    const float s = 1.0f / o.quant_param.scale;
    const int32_t neg_zp = static_cast<int32_t>(0u - static_cast<uint32_t>(o.quant_param.zero_point));  // negw
    const float z = static_cast<float>(neg_zp) * s;
    for (uint64_t i = 0; i < o.in.size; ++i) st(out, i, std::fma(static_cast<float>(in[i]), s, z));
}

void run(const QuantizeOp& o, const Memories& m) {
    const uint8_t* in = base(m, o.in);
    uint8_t* out = base(m, o.out);
    const uint64_t n = o.in.size / 4;
    const float scale = o.quant_param.scale;
    const float zp = static_cast<float>(o.quant_param.zero_point);
    const uint64_t pairs = n / 2 * 2;
    for (uint64_t i = 0; i < n; ++i) {
        const float t = std::fma(ld(in, i), scale, zp);
        const float r = i < pairs ? std::nearbyint(t)  // fcvt.w.s rne (default rounding mode)
                                  : std::round(t);     // roundf: half away from zero
        out[i] = clamp_u8(sat_i32(r));
    }
}

void run(const QuantizedBinaryOp& o, const Memories& m) {
    const uint8_t* a = base(m, o.a);
    const uint8_t* b = base(m, o.b);
    uint8_t* out = base(m, o.out);
    binary_loop(o.a_shape, o.b_shape, o.out_shape, [&](uint64_t oi, uint64_t ai, uint64_t bi) {
        const int32_t av = rhu(wadd(a[ai], o.a_offset), o.a_mul, o.a_shift);
        const int32_t bv = rhu(wadd(b[bi], o.b_offset), o.b_mul, o.b_shift);
        int32_t r = 0;
        switch (o.op) {
        case BinaryOpKind::add: r = wadd(av, bv); break;
        case BinaryOpKind::sub: r = wadd(av, static_cast<int32_t>(0u - static_cast<uint32_t>(bv))); break;
        case BinaryOpKind::mul: r = wmul(av, bv); break;
        case BinaryOpKind::div: {
            const int32_t num = wadd(av, bv / 2);
            if (bv == 0) r = -1;                                   // divw by zero
            else if (bv == -1 && num == INT32_MIN) r = INT32_MIN;  // divw overflow
            else r = num / bv;
            break;
        }
        case BinaryOpKind::min: r = av < bv ? av : bv; break;
        case BinaryOpKind::max: r = av > bv ? av : bv; break;
        }
        out[oi] = clamp_u8(wadd(rhu(r, o.output_mul, o.output_shift), o.output_offset));
    });
}

void run(const TableLookup1DOp& o, const Memories& m) {
    const uint8_t* in = base(m, o.in);
    const uint8_t* table = base(m, o.table);
    uint8_t* out = base(m, o.out);
    for (uint64_t i = 0; i < o.in.size; ++i) out[i] = table[in[i]];
}

void run(const MemoryCopyOp& o, const Memories& m) {
    const uint64_t bytes = o.in.size / 4 * 4;
    if (bytes) std::memmove(base(m, o.out), base(m, o.in), bytes);
}

}  // namespace kpusim::v4::detail
