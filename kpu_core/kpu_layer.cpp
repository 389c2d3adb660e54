#include "kpu_core/kpu_layer.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "kpu_core/batchnorm.h"
#include "kpu_core/conv.h"
#include "kpu_core/conv_fast.h"
#include "kpu_core/kpu_ram_layout.h"
#include "kpu_core/pool.h"
#include "kpu_core/postprocess_simd.h"
#include "kpu_core/zero_point_terms.h"

namespace kpusim::kpu {

namespace {

// Read the IC x H x W input map from KPU RAM (spec §2 layout) into padded int16 planes.
void read_input(const LayerArgument& a, const uint8_t* kpu_ram, PaddedInput& in) {
    in.channels = a.in_channels();
    in.height = a.in_height();
    in.width = a.in_width();
    in.pad = a.kernel_size() == 3 ? 1 : 0;
    const uint32_t pw = in.padded_width(), ph = in.padded_height();
    // kPaddedInputSlack: the fast kernels read whole tiles past the last plane.
    in.pixels.assign(uint64_t{in.channels} * ph * pw + kPaddedInputSlack,
                     static_cast<int16_t>(a.pad_value));
    const RowLayout l = row_layout(in.width);
    const uint8_t* base = kpu_ram + uint64_t{a.image_src_addr} * kKpuRamRowBytes;
    for (uint32_t c = 0; c < in.channels; ++c) {
        int16_t* plane = in.pixels.data() + uint64_t{c} * ph * pw;
        for (uint32_t y = 0; y < in.height; ++y) {
            const uint8_t* src = base + element_offset(l, in.height, c, y, 0);
            int16_t* dst = plane + uint64_t{y + in.pad} * pw + in.pad;
            for (uint32_t x = 0; x < in.width; ++x) dst[x] = src[x];
        }
    }
}

void read_weights(const LayerArgument& a, const uint8_t* bytes, bool eight_bit, std::vector<int32_t>& w) {
    const uint32_t n = a.weight_bytes(eight_bit) / (eight_bit ? 1 : 2);
    if (eight_bit) return w.assign(bytes, bytes + n);
    w.resize(n);
    for (uint32_t i = 0; i < n; ++i) w[i] = bytes[2 * i] | (bytes[2 * i + 1] << 8);
}

// Per-thread work buffers of run_channels.
template <typename Acc>
struct Scratch {
    std::vector<Acc> acc;
    std::vector<uint8_t> activated, pooled, activated_q;
    std::vector<int64_t> bn_values, xterm, xterm_q, kept_xterm, channel_term;
    std::vector<uint64_t> kept_pixel;
    std::vector<int32_t> kept_acc;
    std::vector<double> xterm_f64;
};

// v with at least n elements (never shrinks).
template <typename T>
std::vector<T>& grow(std::vector<T>& v, uint64_t n) {
    if (v.size() < n) v.resize(n);
    return v;
}

// arg x S >> shift, flooring (spec §6.2). |arg| < 2^23 and |S| < 2^34: no overflow.
inline int64_t scaled(int64_t arg, int64_t sum, uint32_t shift) { return (arg * sum) >> shift; }

// Weights: `w` as int32 ([oc][g][k][k]), or null when `w8` holds them as the kmodel's bytes
// (8-bit weights on the fast kernels: no int32 copy is made).
template <typename Acc>
void run_channels(const KpuLayerInputs& in, const PaddedInput& x, const int32_t* w, const uint8_t* w8,
                  uint8_t* kpu_ram, uint8_t* main_out, const KpuOptions& options,
                  uint32_t layer_index) {
    const LayerArgument& a = *in.arg;
    const uint32_t ic = a.in_channels(), oc = a.out_channels(), k = a.kernel_size();
    const uint32_t k2 = k * k;
    const uint32_t width = a.in_width(), height = a.in_height();
    const uint64_t pixels = uint64_t{width} * height;
    const PoolType pool = a.pool();
    const uint32_t ow = pooled_size(width, pool), oh = pooled_size(height, pool);
    const RowLayout out_layout = row_layout(ow);
    uint8_t* out_base = kpu_ram + uint64_t{a.image_dst_addr} * kKpuRamRowBytes;
    const bool dw = a.depth_wise_layer;
    const uint32_t group_channels = dw ? 1 : ic;  // g_ic of spec §6.2
    const ActivationTable table = ActivationTable::decode(in.activation);

    // The arg_x term (spec §6.2, §17). Where the board's per-input-channel flooring can differ
    // from the whole sum (a normal layer whose arg_x is not a multiple of 2^shr_x), it comes
    // from zero_point_terms.h; otherwise from the window sums S_x, which the vector code turns
    // into the same term.
    const bool per_channel_x = !dw && options.arg_x_rule == ArgXRule::per_channel && ic > 1 &&
                               !arg_rules_agree(a.arg_x, a.shr_x);
    std::vector<int32_t> sx;
    std::vector<int64_t> x_term;
    if (per_channel_x) input_sum_term(x, k, 0, ic, a.arg_x, a.shr_x, options.arg_x_rule, x_term);
    else if (!dw) window_input_sums(x, k, 0, ic, sx);
    // Fast kernel (8-bit weights): S_xw of every output at once, rows of x.padded_width().
    const bool fast = std::is_same_v<Acc, int32_t> && !options.reference_kernels;
    // AVX2 batch-norm and activation; without AVX2 the scalar stages run (the fused pass over
    // padded accumulator rows relies on the vector code handling whole planes).
    const bool simd_post = !options.reference_kernels && simd::available();
    // Work buffers live as long as the thread and only grow: no allocation, page faults or
    // zero-fill per layer (the fast kernel writes every accumulator it hands over).
    thread_local Scratch<Acc> scratch;
    std::vector<Acc>& acc_buffer = scratch.acc;
    uint64_t acc_row = width, acc_plane = pixels;
    if (fast) {
        const FastAccLayout layout = fast_acc_layout(x);
        acc_row = layout.row_stride;
        acc_plane = layout.plane_stride;
        grow(acc_buffer, layout.elements(oc));
        if constexpr (std::is_same_v<Acc, int32_t>)
            w ? conv_products_fast(x, k, dw, oc, w, acc_buffer.data())
              : conv_products_fast(x, k, dw, oc, w8, acc_buffer.data());
    } else {
        grow(acc_buffer, pixels * kOutputBlock);
    }
    Acc* const acc = acc_buffer.data();
    std::vector<uint8_t>& activated = grow(scratch.activated, pixels);
    std::vector<uint8_t>& pooled = grow(scratch.pooled, uint64_t{ow} * oh);
    std::vector<int64_t>& bn_values = grow(scratch.bn_values, pixels);

    // Channel o's pooled output to KPU RAM and, when streamed, to main memory.
    auto write_channel = [&](uint32_t o, const uint8_t* plane) {
        for (uint32_t y = 0; y < oh; ++y)
            std::memcpy(out_base + element_offset(out_layout, oh, o, y, 0), plane + uint64_t{y} * ow, ow);
        if (main_out) std::memcpy(main_out + uint64_t{o} * ow * oh, plane, uint64_t{ow} * oh);
    };
    // Channel o's activation plane pooled (no copy for bypass) and written.
    auto pool_and_write = [&](uint32_t o) {
        if (pool == PoolType::bypass) return write_channel(o, activated.data());
        pool_plane(activated.data(), width, height, pool, pooled.data());
        write_channel(o, pooled.data());
    };
    // Select pools (left_top / right_top) keep one pixel of each s x s window: with the AVX2
    // post-processing only those pixels go through batch-norm and activation.
    const bool select_pool = simd_post && std::is_same_v<Acc, int32_t> &&
                             (pool == PoolType::left_top_2_s2 || pool == PoolType::right_top_2_s2 ||
                              pool == PoolType::left_top_4_s4);
    const uint64_t kept = uint64_t{ow} * oh;
    std::vector<uint64_t>& kept_pixel = scratch.kept_pixel;  // input position (y * width + x) of each kept pixel
    std::vector<int64_t>& kept_xterm = scratch.kept_xterm;
    std::vector<int32_t>& kept_acc = scratch.kept_acc;
    // Kept pixel (ox, oy) is input pixel (ox * s + dx, oy * s).
    const uint32_t select_stride = select_pool ? pool_stride(pool) : 1;
    const uint32_t select_dx = pool == PoolType::right_top_2_s2 ? 1 : 0;
    if (select_pool) {
        grow(kept_pixel, kept);
        grow(kept_xterm, kept);
        grow(kept_acc, kept);
        for (uint32_t oy = 0; oy < oh; ++oy)
            for (uint32_t ox = 0; ox < ow; ++ox)
                kept_pixel[uint64_t{oy} * ow + ox] =
                    uint64_t{oy} * select_stride * width + uint64_t{ox} * select_stride + select_dx;
    }
    // The kept pixels' accumulators of one plane, row by row (a strided copy).
    auto gather_kept = [&](const int32_t* plane) {
        for (uint32_t oy = 0; oy < oh; ++oy) {
            const int32_t* src = plane + uint64_t{oy} * select_stride * acc_row + select_dx;
            int32_t* dst = kept_acc.data() + uint64_t{oy} * ow;
            if (select_stride == 2)
                for (uint32_t ox = 0; ox < ow; ++ox) dst[ox] = src[2 * uint64_t{ox}];
            else
                for (uint32_t ox = 0; ox < ow; ++ox) dst[ox] = src[uint64_t{ox} * select_stride];
        }
    };
    // The AVX2 post-processing takes the S_x term of each position, (arg_x x S_x) >> shr_x,
    // computed once per S_x (the same for every output channel of a normal layer).
    std::vector<int64_t>& xterm = scratch.xterm;
    std::vector<int64_t>& xterm_q = scratch.xterm_q;
    bool xterm_q_ready = false;
    // xterm in the accumulators' layout (padding columns: 0), for the 64-bit fused pass.
    auto xterm_in_acc_layout = [&]() -> const int64_t* {
        if (acc_row == width) return xterm.data();
        if (!xterm_q_ready) {
            grow(xterm_q, acc_plane);
            std::fill(xterm_q.begin(), xterm_q.begin() + acc_plane, 0);
            for (uint32_t y = 0; y < height; ++y)
                std::copy(xterm.begin() + uint64_t{y} * width, xterm.begin() + uint64_t{y + 1} * width,
                          xterm_q.begin() + uint64_t{y} * acc_row);
            xterm_q_ready = true;
        }
        return xterm_q.data();
    };
    std::vector<double>& xterm_f64 = scratch.xterm_f64;
    std::vector<uint8_t>& activated_q = scratch.activated_q;  // activation bytes in the accumulators' layout
    int64_t xterm_lo = 0, xterm_hi = 0;
    auto make_xterm = [&] {
        grow(xterm, pixels);
        xterm_lo = INT64_MAX;
        xterm_hi = INT64_MIN;
        const uint64_t vectorised =
            per_channel_x ? 0 : simd::offset_term(sx.data(), pixels, a.arg_x, a.shr_x, xterm.data(), &xterm_lo, &xterm_hi);
        for (uint64_t p = vectorised; p < pixels; ++p) {
            xterm[p] = per_channel_x ? x_term[p] : scaled(a.arg_x, sx[p], a.shr_x);
            xterm_lo = std::min(xterm_lo, xterm[p]);
            xterm_hi = std::max(xterm_hi, xterm[p]);
        }
        if (select_pool)
            for (uint64_t i = 0; i < kept; ++i) kept_xterm[i] = xterm[kept_pixel[i]];
        xterm_q_ready = false;  // built on first use (xterm_in_acc_layout)
        // As doubles in the accumulators' layout for conv_activate_f64 (exact: |xterm| < 2^46);
        // padding columns 0.
        auto convert = [&](const int64_t* from, uint64_t n, double* to) {
            for (uint64_t i = simd::to_double(from, n, to); i < n; ++i) to[i] = static_cast<double>(from[i]);
        };
        if (acc_row == width) {
            grow(xterm_f64, pixels);
            convert(xterm.data(), pixels, xterm_f64.data());
        } else {
            grow(xterm_f64, acc_plane);
            for (uint32_t y = 0; y < height; ++y) {
                double* row = xterm_f64.data() + uint64_t{y} * acc_row;
                convert(xterm.data() + uint64_t{y} * width, width, row);
                const uint64_t row_end = std::min<uint64_t>(acc_row, acc_plane - uint64_t{y} * acc_row);
                std::fill(row + width, row + row_end, 0.0);
            }
            const uint64_t covered = uint64_t{height} * acc_row;
            if (covered < acc_plane) std::fill(xterm_f64.begin() + covered, xterm_f64.begin() + acc_plane, 0.0);
        }
    };
    // Whether no position of the channel can have a batch-norm value below every activation
    // segment (then skipping the pixels a select pool drops cannot hide the run-time error the
    // reference path reports): bounds of conv over every position, no 64-bit wrap on the way.
    auto no_segment_impossible = [&](int64_t per_channel, const BatchNormEntry& bn) {
        if (!table.starts_sorted) return false;
        const __int128 c_lo = static_cast<__int128>(xterm_lo) + per_channel;
        const __int128 c_hi = static_cast<__int128>(xterm_hi) + per_channel + (int64_t{1} << 30);
        const __int128 limit = static_cast<__int128>(1) << 62;
        const __int128 p1 = c_lo * bn.norm_mul, p2 = c_hi * bn.norm_mul;
        if (p1 >= limit || p1 <= -limit || p2 >= limit || p2 <= -limit) return false;
        const __int128 b1 = (p1 >> bn.norm_shift) + bn.norm_add, b2 = (p2 >> bn.norm_shift) + bn.norm_add;
        const __int128 lowest = std::min(b1, b2);
        const int64_t start = table.segments[0].x_start;
        return options.activation_rule == ActivationRule::nncase_reference ? start < lowest : start <= lowest;
    };
    // S_xw is in [0, 2^30) (pixels and weights are unsigned, 1024 x 9 x 255 x 255 < 2^30):
    // the offset sum fits int32 when this holds, and batch-norm needs one 32 x 32 product.
    auto conv_fits_int32 = [&](int64_t per_channel) {
        return xterm_lo + per_channel >= INT32_MIN && xterm_hi + per_channel + (int64_t{1} << 30) <= INT32_MAX;
    };
    // Whether every value of accumulator plane `plane` (n elements, every one in [0, 2^30))
    // takes the linear activation route: bounds of S_xw from the plane, of the offset term
    // from make_xterm(), batch-norm monotone between them (no 64-bit wrap).
    auto fused_activation = [&](const int32_t* plane, uint64_t n, int64_t per_channel, const BatchNormEntry& bn,
                                LinearActivation* lin, bool* exact_f64) {
        int32_t acc_lo = 0, acc_hi = 0;
        simd::minmax32(plane, n, &acc_lo, &acc_hi);
        const __int128 c_lo = static_cast<__int128>(acc_lo) + xterm_lo + per_channel;
        const __int128 c_hi = static_cast<__int128>(acc_hi) + xterm_hi + per_channel;
        const __int128 limit = static_cast<__int128>(1) << 62;
        const __int128 p1 = c_lo * bn.norm_mul, p2 = c_hi * bn.norm_mul;
        if (p1 >= limit || p1 <= -limit || p2 >= limit || p2 <= -limit) return false;
        const __int128 b1 = (p1 >> bn.norm_shift) + bn.norm_add, b2 = (p2 >> bn.norm_shift) + bn.norm_add;
        const __int128 b_lo = std::min(b1, b2), b_hi = std::max(b1, b2);
        if (!linear_activation(table, options.activation_rule, static_cast<int64_t>(b_lo), static_cast<int64_t>(b_hi),
                               lin))
            return false;
        // conv_activate_f64's exactness (postprocess_simd.h): every intermediate below 2^52.
        const __int128 f = static_cast<__int128>(1) << 52;
        auto below = [&](__int128 v) { return v < f && v > -f; };
        const __int128 top = b_hi > lin->x_start ? (b_hi - lin->x_start) * static_cast<__int128>(lin->mul) : 0;
        *exact_f64 = below(c_lo) && below(c_hi) && below(p1) && below(p2) && below(b_lo - lin->x_start) &&
                     below(b_hi - lin->x_start) && below(top);
        return true;
    };
    // The arg_w and arg_add terms of every output channel, read before any output is written
    // (a main-memory output may overlap the weights in a malformed model; the reference path
    // reads its own copy of them).
    std::vector<int64_t>& channel_term = grow(scratch.channel_term, oc);
    for (uint32_t o = 0; o < oc; ++o) {
        const uint64_t first = uint64_t{o} * group_channels * k2;
        channel_term[o] =
            (w ? weight_sum_term(w + first, group_channels, k2, a.arg_w, a.shr_w, options.arg_x_rule)
               : weight_sum_term(w8 + first, group_channels, k2, a.arg_w, a.shr_w, options.arg_x_rule)) +
            a.arg_add * static_cast<int64_t>(group_channels);
    }
    // Normal layers accumulate kOutputBlock output channels per pass over the input;
    // depthwise output o reads input channel o only.
    const uint32_t block = dw ? 1 : kOutputBlock;
    for (uint32_t o0 = 0; o0 < oc; o0 += block) {
        const uint32_t n = std::min(block, oc - o0);
        const int32_t* wo[kOutputBlock];
        Acc* ao[kOutputBlock];
        for (uint32_t j = 0; j < n; ++j) {
            wo[j] = w ? w + uint64_t{o0 + j} * group_channels * k2 : nullptr;
            ao[j] = acc + (fast ? uint64_t{o0 + j} : j) * acc_plane;
        }
        const uint32_t c0 = dw ? o0 : 0;
        if (dw) window_input_sums(x, k, c0, 1, sx);
        if (simd_post && (dw || o0 == 0)) make_xterm();
        if (!fast) {
            std::fill(acc, acc + n * pixels, Acc{0});
            accumulate_products<Acc>(x, k, c0, group_channels, n, wo, ao);
        }

        for (uint32_t j = 0; j < n; ++j) {
            const uint32_t o = o0 + j;
            const int64_t per_channel = channel_term[o];
            uint64_t word = 0;
            std::memcpy(&word, in.batchnorm + uint64_t{o} * 8, 8);  // host is little-endian
            const BatchNormEntry bn = BatchNormEntry::decode(word);
            bool no_segment = false;
            const Acc* ac = ao[j];
            int64_t lo = INT64_MAX, hi = INT64_MIN;
            if constexpr (std::is_same_v<Acc, int32_t>) {
                if (select_pool && no_segment_impossible(per_channel, bn)) {
                    gather_kept(ac);
                    uint64_t i = simd::conv_batchnorm(kept_acc.data(), kept_xterm.data(), kept, per_channel,
                                                      bn.norm_mul, bn.norm_shift, bn.norm_add,
                                                      conv_fits_int32(per_channel), bn_values.data(), &lo, &hi);
                    for (; i < kept; ++i) {
                        bn_values[i] = apply_batchnorm(kept_acc[i] + kept_xterm[i] + per_channel, bn);
                        lo = std::min(lo, bn_values[i]);
                        hi = std::max(hi, bn_values[i]);
                    }
                    activate_plane(bn_values.data(), kept, table, options.activation_rule, pooled.data(),
                                   &no_segment, lo, hi, true);
                    if (!no_segment) {  // always, by no_segment_impossible; else the full path reports it
                        write_channel(o, pooled.data());
                        continue;
                    }
                    lo = INT64_MAX;
                    hi = INT64_MIN;
                }
            }
            if constexpr (std::is_same_v<Acc, int32_t>) {
                LinearActivation lin;
                bool exact_f64 = false;
                if (simd_post && fused_activation(ac, acc_plane, per_channel, bn, &lin, &exact_f64)) {
                    // One pass from S_xw to the activation byte (no batch-norm plane), over the
                    // accumulators' layout: contiguous for 1x1 (rows follow each other), else the
                    // padded rows (a multiple of 16), then the valid columns copied out.
                    const bool dense = acc_row == width;
                    const uint64_t n = dense ? pixels : acc_plane;
                    if (!dense) grow(activated_q, acc_plane);
                    uint8_t* dst = dense ? activated.data() : activated_q.data();
                    const int64_t* xt = exact_f64 ? nullptr : xterm_in_acc_layout();
                    uint64_t i =
                        exact_f64
                            ? simd::conv_activate_f64(ac, xterm_f64.data(), n, per_channel, bn.norm_mul, bn.norm_shift,
                                                      bn.norm_add, lin.x_start, lin.mul, lin.shift, lin.bias,
                                                      lin.constant, lin.reference, dst)
                            : simd::conv_activate(ac, xt, n, per_channel, bn.norm_mul, bn.norm_shift, bn.norm_add,
                                                  conv_fits_int32(per_channel), lin.x_start, lin.mul, lin.shift,
                                                  lin.bias, lin.constant, lin.reference, dst);
                    for (; i < n; ++i) {  // dense planes only: a q-layout plane is a multiple of 16
                        const int64_t conv = static_cast<int64_t>(ac[i]) + xterm[i] + per_channel;
                        dst[i] = activate(apply_batchnorm(conv, bn), table, options.activation_rule, &no_segment);
                    }
                    if (!dense)
                        for (uint32_t y = 0; y < height; ++y)
                            std::memcpy(activated.data() + uint64_t{y} * width, dst + uint64_t{y} * acc_row, width);
                    if (!no_segment) {  // always: the bounds keep every value in a segment
                        pool_and_write(o);
                        continue;
                    }
                }
            }
            for (uint32_t y = 0; y < height; ++y) {
                const uint64_t row = uint64_t{y} * width;
                uint64_t xi = 0;
                if constexpr (std::is_same_v<Acc, int32_t>)
                    if (simd_post)
                        xi = simd::conv_batchnorm(ac + y * acc_row, xterm.data() + row, width, per_channel,
                                                  bn.norm_mul, bn.norm_shift, bn.norm_add,
                                                  conv_fits_int32(per_channel), bn_values.data() + row, &lo, &hi);
                for (; xi < width; ++xi) {
                    const uint64_t p = row + xi;
                    const int64_t conv = static_cast<int64_t>(ac[y * acc_row + xi]) +
                                         (per_channel_x ? x_term[p] : scaled(a.arg_x, sx[p], a.shr_x)) +
                                         per_channel;
                    bn_values[p] = apply_batchnorm(conv, bn);
                    lo = std::min(lo, bn_values[p]);
                    hi = std::max(hi, bn_values[p]);
                }
            }
            activate_plane(bn_values.data(), pixels, table, options.activation_rule, activated.data(),
                           &no_segment, lo, hi, simd_post);
            if (no_segment)
                throw std::runtime_error("KPU layer " + std::to_string(layer_index) +
                                         ": output channel " + std::to_string(o) +
                                         " has a batch-norm value below every activation segment "
                                         "start (the table's segment 0 must start at -2^35)");
            pool_and_write(o);
        }
    }
}

}  // namespace

void run_layer(const KpuLayerInputs& in, uint8_t* kpu_ram, uint8_t* main_out,
               const KpuOptions& options, uint32_t layer_index) {
    const LayerArgument& a = *in.arg;
    // Kept per thread: a forward allocates (and page-faults) no input or weight copy per layer.
    thread_local PaddedInput x;
    thread_local std::vector<int32_t> w;
    read_input(a, kpu_ram, x);
    // 8-bit weights on the fast kernels are read as the kmodel's bytes.
    if (in.eight_bit && !options.reference_kernels)
        return run_channels<int32_t>(in, x, nullptr, in.weights, kpu_ram, main_out, options, layer_index);
    read_weights(a, in.weights, in.eight_bit, w);
    if (in.eight_bit)
        run_channels<int32_t>(in, x, w.data(), nullptr, kpu_ram, main_out, options, layer_index);
    else
        run_channels<int64_t>(in, x, w.data(), nullptr, kpu_ram, main_out, options, layer_index);
}

}  // namespace kpusim::kpu
