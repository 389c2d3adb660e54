// V4 data-movement kernels: concat, pad, transpose, strided_slice, resize_image
// (kmodel-spec §9.3, §16). Copies move exact bytes (payloads kept).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu_layers/v4/v4_kernel_support.h"

namespace kpusim::v4::detail {

void run(const ConcatOp& o, const Memories& m) {
    uint8_t* out = base(m, o.out);
    uint64_t pos = 0;
    for (uint64_t outer = 0; outer < o.outer_size; ++outer)
        for (size_t i = 0; i < o.inputs.size(); ++i) {
            const uint64_t bytes = uint64_t{o.inner_size} * uint64_t(o.dims[i]);
            if (bytes) std::memmove(out + pos, base(m, o.inputs[i]) + outer * bytes, bytes);
            pos += bytes;
        }
}

void run(const PadOp& o, const Memories& m) {
    const uint8_t* in = base(m, o.in);
    uint8_t* out = base(m, o.out);
    const uint64_t es = element_size(o.in.type);
    int64_t os[4];
    for (int k = 0; k < 4; ++k) os[k] = int64_t{o.in_shape[k]} + o.paddings[k].before + o.paddings[k].after;
    uint64_t oi = 0;
    int64_t j[4];
    for (j[0] = 0; j[0] < os[0]; ++j[0])
        for (j[1] = 0; j[1] < os[1]; ++j[1])
            for (j[2] = 0; j[2] < os[2]; ++j[2])
                for (j[3] = 0; j[3] < os[3]; ++j[3], ++oi) {
                    uint64_t src[4];
                    bool inside = true;
                    for (int k = 0; k < 4; ++k) {
                        const int64_t s = j[k] - o.paddings[k].before;
                        inside = inside && s >= 0 && s < o.in_shape[k];
                        src[k] = inside ? uint64_t(s) : 0;
                    }
                    if (inside) std::memmove(out + oi * es, in + offset(o.in_shape, src) * es, es);
                    else std::memcpy(out + oi * es, o.pad_value.data(), es);
                }
}

void run(const TransposeOp& o, const Memories& m) {
    const uint8_t* in = base(m, o.in);
    uint8_t* out = base(m, o.out);
    const uint64_t es = element_size(o.in.type);
    Dims4 os;
    for (int k = 0; k < 4; ++k) os[k] = o.in_shape[o.perm[k]];
    uint64_t i[4], ii = 0;
    const auto& s = o.in_shape;
    for (i[0] = 0; i[0] < uint64_t(s[0]); ++i[0])
        for (i[1] = 0; i[1] < uint64_t(s[1]); ++i[1])
            for (i[2] = 0; i[2] < uint64_t(s[2]); ++i[2])
                for (i[3] = 0; i[3] < uint64_t(s[3]); ++i[3], ++ii) {
                    const uint64_t oidx[4] = {i[o.perm[0]], i[o.perm[1]], i[o.perm[2]], i[o.perm[3]]};
                    std::memmove(out + offset(os, oidx) * es, in + ii * es, es);
                }
}

void run(const StridedSliceOp& o, const Memories& m) {
    const uint8_t* in = base(m, o.in);
    uint8_t* out = base(m, o.out);
    const uint64_t es = element_size(o.in.type);
    auto more = [&](int k, int64_t i) { return o.strides[k] > 0 ? i < o.end[k] : i > o.end[k]; };
    uint64_t oi = 0;
    int64_t i[4];
    for (i[0] = o.begin[0]; more(0, i[0]); i[0] += o.strides[0])
        for (i[1] = o.begin[1]; more(1, i[1]); i[1] += o.strides[1])
            for (i[2] = o.begin[2]; more(2, i[2]); i[2] += o.strides[2])
                for (i[3] = o.begin[3]; more(3, i[3]); i[3] += o.strides[3]) {
                    const uint64_t src[4] = {uint64_t(i[0]), uint64_t(i[1]), uint64_t(i[2]), uint64_t(i[3])};
                    std::memmove(out + oi++ * es, in + offset(o.in_shape, src) * es, es);
                }
}

namespace {

/// fcvt.wu.s (round toward zero, saturating: negative -> 0, NaN / too large -> UINT32_MAX),
/// low byte kept.
uint8_t to_u8_rtz(float v) {
    if (std::isnan(v) || v >= 4294967296.0f) return 0xff;
    if (v <= 0) return 0;
    return static_cast<uint8_t>(static_cast<uint32_t>(v));
}

}  // namespace

void run(const ResizeImageOp& o, const Memories& m) {
    const uint8_t* in = base(m, o.in);
    uint8_t* out = base(m, o.out);
    const bool u8 = o.in.type == DataType::uint8;
    const uint64_t N = uint64_t(o.in_shape[0]), C = uint64_t(o.in_shape[1]);
    const int64_t H = o.in_shape[2], W = o.in_shape[3];
    const int64_t OH = o.out_h, OW = o.out_w;
    auto get = [&](uint64_t plane, int64_t y, int64_t x) {
        const uint64_t i = (plane * uint64_t(H) + uint64_t(y)) * uint64_t(W) + uint64_t(x);
        return u8 ? static_cast<float>(in[i]) : ld(in, i);
    };
    auto put = [&](uint64_t i, float v) {
        if (u8) out[i] = to_u8_rtz(v);
        else st(out, i, v);
    };
    uint64_t oi = 0;
    if (o.mode == ResizeMode::nearest_neighbor) {
        const float sy = static_cast<float>(H) / static_cast<float>(OH);
        const float sx = static_cast<float>(W) / static_cast<float>(OW);
        for (uint64_t plane = 0; plane < N * C; ++plane)
            for (int64_t oy = 0; oy < OH; ++oy) {
                const int64_t iy = std::min<int64_t>(static_cast<int64_t>(std::floor(static_cast<float>(oy) * sy)), H - 1);
                for (int64_t ox = 0; ox < OW; ++ox) {
                    const int64_t ix = std::min<int64_t>(static_cast<int64_t>(std::floor(static_cast<float>(ox) * sx)), W - 1);
                    const uint64_t i = (plane * uint64_t(H) + uint64_t(iy)) * uint64_t(W) + uint64_t(ix);
                    if (u8) out[oi++] = in[i];
                    else st_bits(out, oi++, ld(in, i));
                }
            }
        return;
    }
    const float sy = o.align_corners && OH > 1 ? static_cast<float>(H - 1) / static_cast<float>(OH - 1)
                                               : static_cast<float>(H) / static_cast<float>(OH);
    const float sx = o.align_corners && OW > 1 ? static_cast<float>(W - 1) / static_cast<float>(OW - 1)
                                               : static_cast<float>(W) / static_cast<float>(OW);
    for (uint64_t plane = 0; plane < N * C; ++plane)
        for (int64_t oy = 0; oy < OH; ++oy) {
            const float in_y = static_cast<float>(oy) * sy;
            // y0 kept inside the image (a guard: fl(oy * scale) stays below in_h for any shape
            // a model holds; the chip would read past the row otherwise).
            const int64_t y0 = std::clamp<int64_t>(static_cast<int64_t>(std::floor(in_y)), 0, H - 1);
            const int64_t y1 = std::min<int64_t>(y0 + 1, H - 1);
            const float dy = in_y - static_cast<float>(y0);
            const float ry = static_cast<float>(y0 + 1) - in_y;
            for (int64_t ox = 0; ox < OW; ++ox) {
                const float fox = static_cast<float>(ox);
                const float in_x = fox * sx;
                const int64_t x0 = std::clamp<int64_t>(static_cast<int64_t>(std::floor(in_x)), 0, W - 1);
                const int64_t x1 = std::min<int64_t>(x0 + 1, W - 1);
                const float dx = std::fma(fox, sx, -static_cast<float>(x0));
                const float rx = std::fma(-fox, sx, static_cast<float>(x0 + 1));
                const float v00 = get(plane, y0, x0), v01 = get(plane, y0, x1);
                const float v10 = get(plane, y1, x0), v11 = get(plane, y1, x1);
                const float left = std::fma(v00, ry, v10 * dy);
                const float right = std::fma(v01, ry, v11 * dy);
                put(oi++, canon(std::fma(rx, left, dx * right)));
            }
        }
}

}  // namespace kpusim::v4::detail
