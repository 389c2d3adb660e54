// V4 convolution and matrix kernels: conv2d, matmul, quantized_conv2d, quantized_matmul,
// conv2d_transpose and the NHWC cpu_* convolutions (kmodel-spec §9.3, §16).
//
// Window taps: for output (oy, ox) the input row is oy * stride - padding.before + ky * dilation;
// taps outside the input are skipped (not multiplied by zero), in ky, kx order.
#include <cmath>
#include <limits>

#include "cpu_layers/v4/v4_kernel_support.h"

namespace kpusim::v4::detail {

namespace {

int64_t in_pos(uint64_t o, int32_t stride, const Padding& pad, int32_t k, int32_t dilation) {
    return static_cast<int64_t>(o) * stride - pad.before + int64_t{k} * dilation;
}

/// Float NCHW / quantized NCHW convolution with groups, sharing the loop structure.
template <class Acc, class Tap, class Finish>
void conv_nchw(const Dims4& s, int32_t groups, int32_t out_channels, const Window2D& w, Acc init, Tap tap, Finish finish) {
    const uint64_t N = uint64_t(s[0]), C = uint64_t(s[1]), H = uint64_t(s[2]), W = uint64_t(s[3]);
    const uint64_t OH = uint64_t(windowed_size(H, w.filter_h, w.stride_h, w.dilation_h, w.padding_h));
    const uint64_t OW = uint64_t(windowed_size(W, w.filter_w, w.stride_w, w.dilation_w, w.padding_w));
    const uint64_t gic = C / groups, goc = uint64_t(out_channels) / groups;
    uint64_t out_index = 0;
    for (uint64_t b = 0; b < N; ++b)
        for (uint64_t g = 0; g < uint64_t(groups); ++g)
            for (uint64_t oc = 0; oc < goc; ++oc) {
                const uint64_t abs_oc = g * goc + oc;
                for (uint64_t oy = 0; oy < OH; ++oy)
                    for (uint64_t ox = 0; ox < OW; ++ox) {
                        auto acc = init(abs_oc);
                        for (uint64_t ic = 0; ic < gic; ++ic) {
                            const uint64_t abs_ic = g * gic + ic;
                            for (int32_t ky = 0; ky < w.filter_h; ++ky) {
                                const int64_t iy = in_pos(oy, w.stride_h, w.padding_h, ky, w.dilation_h);
                                if (iy < 0 || iy >= int64_t(H)) continue;
                                for (int32_t kx = 0; kx < w.filter_w; ++kx) {
                                    const int64_t ix = in_pos(ox, w.stride_w, w.padding_w, kx, w.dilation_w);
                                    if (ix < 0 || ix >= int64_t(W)) continue;
                                    const uint64_t in_i = ((b * C + abs_ic) * H + uint64_t(iy)) * W + uint64_t(ix);
                                    const uint64_t w_i = ((abs_oc * gic + ic) * w.filter_h + ky) * w.filter_w + kx;
                                    acc = tap(acc, in_i, w_i);
                                }
                            }
                        }
                        finish(out_index++, acc);
                    }
            }
}

/// NHWC convolution (cpu_conv2d and its depthwise / quantized forms): loops b, oy, ox, oc,
/// ky, kx, ic; depthwise: one input channel (= oc) per output channel.
template <class Acc, class Tap, class Finish>
void conv_nhwc(const Dims4& s, uint64_t OC, bool depthwise, const Window2D& w, Acc init, Tap tap, Finish finish) {
    const uint64_t N = uint64_t(s[0]), H = uint64_t(s[1]), W = uint64_t(s[2]), C = uint64_t(s[3]);
    const uint64_t OH = uint64_t(windowed_size(H, w.filter_h, w.stride_h, w.dilation_h, w.padding_h));
    const uint64_t OW = uint64_t(windowed_size(W, w.filter_w, w.stride_w, w.dilation_w, w.padding_w));
    uint64_t out_index = 0;
    for (uint64_t b = 0; b < N; ++b)
        for (uint64_t oy = 0; oy < OH; ++oy)
            for (uint64_t ox = 0; ox < OW; ++ox)
                for (uint64_t oc = 0; oc < OC; ++oc) {
                    auto acc = init(oc);
                    for (int32_t ky = 0; ky < w.filter_h; ++ky) {
                        const int64_t iy = in_pos(oy, w.stride_h, w.padding_h, ky, w.dilation_h);
                        if (iy < 0 || iy >= int64_t(H)) continue;
                        for (int32_t kx = 0; kx < w.filter_w; ++kx) {
                            const int64_t ix = in_pos(ox, w.stride_w, w.padding_w, kx, w.dilation_w);
                            if (ix < 0 || ix >= int64_t(W)) continue;
                            const uint64_t pix = ((b * H + uint64_t(iy)) * W + uint64_t(ix)) * C;
                            if (depthwise) {
                                acc = tap(acc, pix + oc, (oc * w.filter_h + ky) * w.filter_w + kx);
                            } else {
                                const uint64_t wbase = ((oc * w.filter_h + ky) * w.filter_w + kx) * C;
                                for (uint64_t ic = 0; ic < C; ++ic) acc = tap(acc, pix + ic, wbase + ic);
                            }
                        }
                    }
                    finish(out_index++, acc);
                }
}

bool full_range(const ValueRange& r) {
    return r.min <= -std::numeric_limits<float>::max() && r.max >= std::numeric_limits<float>::max();
}

}  // namespace

void run(const Conv2DOp& o, const Memories& m) {
    const uint8_t* in = base(m, o.in);
    uint8_t* out = base(m, o.out);
    conv_nchw(
        o.in_shape, o.groups, o.out_channels, o.window, [&](uint64_t oc) { return o.bias[oc]; },
        [&](float acc, uint64_t i, uint64_t wi) { return canon(std::fma(ld(in, i), o.weights[wi], acc)); },
        [&](uint64_t oi, float acc) { st(out, oi, rv_clamp(acc, o.fused_activation.min, o.fused_activation.max)); });
}

void run(const QuantizedConv2DOp& o, const Memories& m) {
    const uint8_t* in = base(m, o.in);
    uint8_t* out = base(m, o.out);
    conv_nchw(
        o.in_shape, o.groups, o.out_channels, o.window, [&](uint64_t oc) { return o.bias[oc]; },
        [&](int32_t acc, uint64_t i, uint64_t wi) {
            return wadd(acc, wmul(wadd(in[i], o.q.input_offset), wadd(o.weights[wi], o.q.filter_offset)));
        },
        [&](uint64_t oi, int32_t acc) {
            out[oi] = clamp_u8(wadd(rhu(acc, o.q.output_mul, o.q.output_shift), o.q.output_offset));
        });
}

void run(const CpuConv2DOp& o, const Memories& m) {
    const uint8_t* in = base(m, o.in);
    uint8_t* out = base(m, o.out);
    conv_nhwc(
        o.in_shape, uint64_t(o.out_channels), false, o.window, [&](uint64_t oc) { return o.bias[oc]; },
        [&](float acc, uint64_t i, uint64_t wi) { return canon(std::fma(ld(in, i), o.weights[wi], acc)); },
        [&](uint64_t oi, float acc) { st(out, oi, rv_clamp(acc, o.fused_activation.min, o.fused_activation.max)); });
}

void run(const CpuDepthwiseConv2DOp& o, const Memories& m) {
    const uint8_t* in = base(m, o.in);
    uint8_t* out = base(m, o.out);
    conv_nhwc(
        o.in_shape, uint64_t(o.in_shape[3]), true, o.window, [&](uint64_t oc) { return o.bias[oc]; },
        [&](float acc, uint64_t i, uint64_t wi) { return canon(std::fma(ld(in, i), o.weights[wi], acc)); },
        [&](uint64_t oi, float acc) { st(out, oi, rv_clamp(acc, o.fused_activation.min, o.fused_activation.max)); });
}

namespace {
template <class Op>
void run_cpu_quantized(const Op& o, uint64_t oc, bool dw, const Memories& m) {
    const uint8_t* in = base(m, o.in);
    uint8_t* out = base(m, o.out);
    conv_nhwc(
        o.in_shape, oc, dw, o.window, [&](uint64_t c) { return o.bias[c]; },
        [&](int32_t acc, uint64_t i, uint64_t wi) {
            return wadd(acc, wmul(wadd(in[i], o.q.input_offset), wadd(o.weights[wi], o.q.filter_offset)));
        },
        [&](uint64_t oi, int32_t acc) {
            out[oi] = clamp_u8(wadd(rhu(acc, o.q.output_mul, o.q.output_shift), o.q.output_offset));
        });
}
}  // namespace

void run(const CpuQuantizedConv2DOp& o, const Memories& m) { run_cpu_quantized(o, uint64_t(o.out_channels), false, m); }
void run(const CpuQuantizedDepthwiseConv2DOp& o, const Memories& m) {
    run_cpu_quantized(o, uint64_t(o.in_shape[3]), true, m);
}

void run(const MatMulOp& o, const Memories& m) {
    const uint8_t* a = base(m, o.a);
    const uint8_t* b = base(m, o.b);
    uint8_t* out = base(m, o.out);
    const uint64_t R = uint64_t(o.a_rows), K = uint64_t(o.a_cols), C = uint64_t(o.b_cols);
    for (uint64_t r = 0; r < R; ++r)
        for (uint64_t c = 0; c < C; ++c) {
            float acc = o.bias[c];
            for (uint64_t i = 0; i < K; ++i) acc = canon(std::fma(ld(a, r * K + i), ld(b, i * C + c), acc));
            st(out, r * C + c, rv_clamp(acc, o.fused_activation.min, o.fused_activation.max));
        }
}

void run(const QuantizedMatMulOp& o, const Memories& m) {
    const uint8_t* a = base(m, o.a);
    const uint8_t* b = base(m, o.b);
    uint8_t* out = base(m, o.out);
    const uint64_t R = uint64_t(o.a_rows), K = uint64_t(o.a_cols), C = uint64_t(o.b_cols);
    for (uint64_t r = 0; r < R; ++r)
        for (uint64_t c = 0; c < C; ++c) {
            int32_t acc = o.bias[c];
            for (uint64_t i = 0; i < K; ++i)
                acc = wadd(acc, wmul(wadd(a[r * K + i], o.input_a_offset), wadd(b[i * C + c], o.input_b_offset)));
            out[r * C + c] = clamp_u8(wadd(rhu(acc, o.output_mul, o.output_shift), o.output_offset));
        }
}

/// Zero the output; for b, g, ic, iy, ix, oc, ky, kx: out[oc][y][x] = fma(in, w, out) over the
/// in-bounds (y, x) = (iy * s - pad.before + ky * d, ...); then clamp unless the range is the full
/// float range (min <= -FLT_MAX and max >= FLT_MAX). No bias (the chip's kernel never adds it).
void run(const Conv2DTransposeOp& o, const Memories& m) {
    const uint8_t* in = base(m, o.in);
    uint8_t* out = base(m, o.out);
    const auto& s = o.in_shape;
    const auto& os = o.out_shape;
    const uint64_t N = uint64_t(s[0]), IC = uint64_t(s[1]), H = uint64_t(s[2]), W = uint64_t(s[3]);
    const uint64_t OC = uint64_t(os[1]), OH = uint64_t(os[2]), OW = uint64_t(os[3]);
    const uint64_t gic = IC / o.groups, goc = OC / o.groups;
    const auto& w = o.window;
    const uint64_t total = shape_elements(os);
    for (uint64_t i = 0; i < total; ++i) st_bits(out, i, 0.0f);
    for (uint64_t b = 0; b < N; ++b)
        for (uint64_t g = 0; g < uint64_t(o.groups); ++g)
            for (uint64_t ic = 0; ic < gic; ++ic)
                for (uint64_t iy = 0; iy < H; ++iy)
                    for (uint64_t ix = 0; ix < W; ++ix) {
                        const float v = ld(in, ((b * IC + g * gic + ic) * H + iy) * W + ix);
                        for (uint64_t oc = 0; oc < goc; ++oc) {
                            const uint64_t abs_oc = g * goc + oc;
                            for (int32_t ky = 0; ky < w.filter_h; ++ky) {
                                const int64_t y = in_pos(iy, w.stride_h, w.padding_h, ky, w.dilation_h);
                                if (y < 0 || y >= int64_t(OH)) continue;
                                for (int32_t kx = 0; kx < w.filter_w; ++kx) {
                                    const int64_t x = in_pos(ix, w.stride_w, w.padding_w, kx, w.dilation_w);
                                    if (x < 0 || x >= int64_t(OW)) continue;
                                    const uint64_t oi = ((b * OC + abs_oc) * OH + uint64_t(y)) * OW + uint64_t(x);
                                    const float wv = o.weights[((abs_oc * gic + ic) * w.filter_h + ky) * w.filter_w + kx];
                                    st(out, oi, std::fma(v, wv, ld(out, oi)));
                                }
                            }
                        }
                    }
    if (!full_range(o.fused_activation))
        for (uint64_t i = 0; i < total; ++i)
            st(out, i, rv_clamp(ld(out, i), o.fused_activation.min, o.fused_activation.max));
}

}  // namespace kpusim::v4::detail
