// V4 reductions: reduce, reduce_window2d (NCHW), cpu_reduce_window2d (NHWC), softmax
// (kmodel-spec §9.3, §16).
#include <cmath>
#include <limits>

#include "cpu_layers/newlib_expf.h"
#include "cpu_layers/v4/v4_kernel_support.h"

namespace kpusim::v4::detail {

namespace {

float fold(ReduceOpKind op, float acc, float v) {
    switch (op) {
    case ReduceOpKind::mean:
    case ReduceOpKind::sum: return canon(acc + v);
    case ReduceOpKind::min: return rv_fmin(acc, v);
    case ReduceOpKind::max: return rv_fmax(acc, v);
    }
    return acc;
}

/// One pooling window: init, fold the in-bounds taps in ky, kx order, mean / count, clamp.
template <class Get>
float window_value(const ReduceWindow2DOp& o, int64_t oy, int64_t ox, int64_t H, int64_t W, Get get) {
    const auto& w = o.window;
    float value = o.init_value;
    int32_t count = 0;
    for (int32_t ky = 0; ky < w.filter_h; ++ky) {
        const int64_t y = oy * w.stride_h - w.padding_h.before + int64_t{ky} * w.dilation_h;
        if (y < 0 || y >= H) continue;
        for (int32_t kx = 0; kx < w.filter_w; ++kx) {
            const int64_t x = ox * w.stride_w - w.padding_w.before + int64_t{kx} * w.dilation_w;
            if (x < 0 || x >= W) continue;
            value = fold(o.op, value, get(y, x));
            ++count;
        }
    }
    if (o.op == ReduceOpKind::mean) value = canon(value / static_cast<float>(count));
    return rv_clamp(value, o.fused_activation.min, o.fused_activation.max);
}

}  // namespace

void run(const ReduceOp& o, const Memories& m) {
    const uint8_t* in = base(m, o.in);
    uint8_t* out = base(m, o.out);
    const uint64_t out_n = shape_elements(o.out_shape), in_n = shape_elements(o.in_shape);
    for (uint64_t i = 0; i < out_n; ++i) st_bits(out, i, o.init_value);
    uint64_t i[4], ii = 0;
    const auto& s = o.in_shape;
    for (i[0] = 0; i[0] < uint64_t(s[0]); ++i[0])
        for (i[1] = 0; i[1] < uint64_t(s[1]); ++i[1])
            for (i[2] = 0; i[2] < uint64_t(s[2]); ++i[2])
                for (i[3] = 0; i[3] < uint64_t(s[3]); ++i[3]) {
                    const uint64_t oi = broadcast_offset(o.out_shape, i);
                    st_bits(out, oi, fold(o.op, ld(out, oi), ld(in, ii++)));
                }
    if (o.op == ReduceOpKind::mean) {
        const float ratio = canon(static_cast<float>(out_n) / static_cast<float>(in_n));
        const uint64_t floats = o.out.size / 4;  // every float of the output range (§16)
        for (uint64_t k = 0; k < floats; ++k) st(out, k, ld(out, k) * ratio);
    }
}

void run(const ReduceWindow2DOp& o, const Memories& m) {
    const uint8_t* in = base(m, o.in);
    uint8_t* out = base(m, o.out);
    const auto& s = o.in_shape;
    const int64_t H = s[2], W = s[3];
    const auto& w = o.window;
    const int64_t OH = windowed_size(H, w.filter_h, w.stride_h, w.dilation_h, w.padding_h);
    const int64_t OW = windowed_size(W, w.filter_w, w.stride_w, w.dilation_w, w.padding_w);
    uint64_t oi = 0;
    for (uint64_t plane = 0; plane < uint64_t(s[0]) * uint64_t(s[1]); ++plane)
        for (int64_t oy = 0; oy < OH; ++oy)
            for (int64_t ox = 0; ox < OW; ++ox)
                st(out, oi++, window_value(o, oy, ox, H, W, [&](int64_t y, int64_t x) {
                       return ld(in, (plane * uint64_t(H) + uint64_t(y)) * uint64_t(W) + uint64_t(x));
                   }));
}

void run(const CpuReduceWindow2DOp& o, const Memories& m) {
    const uint8_t* in = base(m, o.in);
    uint8_t* out = base(m, o.out);
    const auto& s = o.in_shape;  // N, H, W, C
    const int64_t H = s[1], W = s[2];
    const uint64_t C = uint64_t(s[3]);
    const auto& w = o.window;
    const int64_t OH = windowed_size(H, w.filter_h, w.stride_h, w.dilation_h, w.padding_h);
    const int64_t OW = windowed_size(W, w.filter_w, w.stride_w, w.dilation_w, w.padding_w);
    uint64_t oi = 0;
    for (uint64_t b = 0; b < uint64_t(s[0]); ++b)
        for (int64_t oy = 0; oy < OH; ++oy)
            for (int64_t ox = 0; ox < OW; ++ox)
                for (uint64_t c = 0; c < C; ++c)
                    st(out, oi++, window_value(o, oy, ox, H, W, [&](int64_t y, int64_t x) {
                           return ld(in, ((b * uint64_t(H) + uint64_t(y)) * uint64_t(W) + uint64_t(x)) * C + c);
                       }));
}

void run(const SoftmaxOp& o, const Memories& m) {
    const uint8_t* in = base(m, o.in);
    uint8_t* out = base(m, o.out);
    const uint64_t inner = uint64_t(o.inner_size);
    for (uint64_t row = 0; row < uint64_t(o.outer_size); ++row) {
        const uint64_t b = row * inner;
        if (inner == 0) continue;
        float max = ld(in, b);  // the chain starts at the row's first element
        for (uint64_t i = 1; i < inner; ++i) max = rv_fmax(max, ld(in, b + i));
        float sum = 0;
        for (uint64_t i = 0; i < inner; ++i) {
            const float e = cpu::newlib_expf(canon(canon(ld(in, b + i) - max) * o.beta));
            sum = canon(sum + e);
            st(out, b + i, e);
        }
        const float r = canon(1.0f / sum);
        for (uint64_t i = 0; i < inner; ++i) st(out, b + i, ld(out, b + i) * r);
    }
}

}  // namespace kpusim::v4::detail
