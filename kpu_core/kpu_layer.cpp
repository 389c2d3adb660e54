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

namespace kpusim::kpu {

namespace {

// Read the IC x H x W input map from KPU RAM (spec §2 layout) into padded int16 planes.
PaddedInput read_input(const LayerArgument& a, const uint8_t* kpu_ram) {
    PaddedInput in;
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
    return in;
}

std::vector<int32_t> read_weights(const LayerArgument& a, const uint8_t* bytes, bool eight_bit) {
    const uint32_t n = a.weight_bytes(eight_bit) / (eight_bit ? 1 : 2);
    std::vector<int32_t> w(n);
    if (eight_bit) {
        for (uint32_t i = 0; i < n; ++i) w[i] = bytes[i];
    } else {
        for (uint32_t i = 0; i < n; ++i) w[i] = bytes[2 * i] | (bytes[2 * i + 1] << 8);
    }
    return w;
}

// arg x S >> shift, flooring (spec §6.2). |arg| < 2^23 and |S| < 2^34: no overflow.
inline int64_t scaled(int64_t arg, int64_t sum, uint32_t shift) { return (arg * sum) >> shift; }

template <typename Acc>
void run_channels(const KpuLayerInputs& in, const PaddedInput& x, const std::vector<int32_t>& w,
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

    std::vector<int32_t> sx;
    if (!dw) window_input_sums(x, k, 0, ic, sx);
    // Fast kernel (8-bit weights): S_xw of every output at once, rows of x.padded_width().
    const bool fast = std::is_same_v<Acc, int32_t> && !options.reference_kernels;
    const bool simd_post = !options.reference_kernels;  // AVX2 batch-norm and activation
    std::unique_ptr<Acc[]> acc_buffer;  // not zeroed: the fast kernel writes every element
    uint64_t acc_row = width, acc_plane = pixels;
    if (fast) {
        const FastAccLayout layout = fast_acc_layout(x);
        acc_row = layout.row_stride;
        acc_plane = layout.plane_stride;
        acc_buffer.reset(new Acc[layout.elements(oc)]);
        if constexpr (std::is_same_v<Acc, int32_t>)
            conv_products_fast(x, k, dw, oc, w.data(), acc_buffer.get());
    } else {
        acc_buffer.reset(new Acc[pixels * kOutputBlock]);
    }
    Acc* const acc = acc_buffer.get();
    std::vector<uint8_t> activated(pixels), pooled(uint64_t{ow} * oh);
    std::vector<int64_t> bn_values(pixels);

    // Normal layers accumulate kOutputBlock output channels per pass over the input;
    // depthwise output o reads input channel o only.
    const uint32_t block = dw ? 1 : kOutputBlock;
    for (uint32_t o0 = 0; o0 < oc; o0 += block) {
        const uint32_t n = std::min(block, oc - o0);
        const int32_t* wo[kOutputBlock];
        Acc* ao[kOutputBlock];
        for (uint32_t j = 0; j < n; ++j) {
            wo[j] = w.data() + uint64_t{o0 + j} * group_channels * k2;
            ao[j] = acc + (fast ? uint64_t{o0 + j} : j) * acc_plane;
        }
        const uint32_t c0 = dw ? o0 : 0;
        if (dw) window_input_sums(x, k, c0, 1, sx);
        if (!fast) {
            std::fill(acc, acc + n * pixels, Acc{0});
            accumulate_products<Acc>(x, k, c0, group_channels, n, wo, ao);
        }

        for (uint32_t j = 0; j < n; ++j) {
            const uint32_t o = o0 + j;
            int64_t sw = 0;
            for (uint32_t i = 0; i < group_channels * k2; ++i) sw += wo[j][i];
            const int64_t per_channel =
                scaled(a.arg_w, sw, a.shr_w) + a.arg_add * static_cast<int64_t>(group_channels);
            uint64_t word = 0;
            std::memcpy(&word, in.batchnorm + uint64_t{o} * 8, 8);  // host is little-endian
            const BatchNormEntry bn = BatchNormEntry::decode(word);
            bool no_segment = false;
            const Acc* ac = ao[j];
            int64_t lo = INT64_MAX, hi = INT64_MIN;
            for (uint32_t y = 0; y < height; ++y) {
                const uint64_t row = uint64_t{y} * width;
                uint64_t xi = 0;
                if constexpr (std::is_same_v<Acc, int32_t>)
                    if (simd_post)
                        xi = simd::conv_batchnorm(ac + y * acc_row, sx.data() + row, width, a.arg_x, a.shr_x,
                                                  per_channel, bn.norm_mul, bn.norm_shift, bn.norm_add,
                                                  bn_values.data() + row, &lo, &hi);
                for (; xi < width; ++xi) {
                    const uint64_t p = row + xi;
                    const int64_t conv = static_cast<int64_t>(ac[y * acc_row + xi]) +
                                         scaled(a.arg_x, sx[p], a.shr_x) + per_channel;
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
            pool_plane(activated.data(), width, height, pool, pooled.data());
            for (uint32_t y = 0; y < oh; ++y)
                std::memcpy(out_base + element_offset(out_layout, oh, o, y, 0),
                            pooled.data() + uint64_t{y} * ow, ow);
            if (main_out) std::memcpy(main_out + uint64_t{o} * ow * oh, pooled.data(), pooled.size());
        }
    }
}

}  // namespace

void run_layer(const KpuLayerInputs& in, uint8_t* kpu_ram, uint8_t* main_out,
               const KpuOptions& options, uint32_t layer_index) {
    const LayerArgument& a = *in.arg;
    const PaddedInput x = read_input(a, kpu_ram);
    const std::vector<int32_t> w = read_weights(a, in.weights, in.eight_bit);
    if (in.eight_bit)
        run_channels<int32_t>(in, x, w, kpu_ram, main_out, options, layer_index);
    else
        run_channels<int64_t>(in, x, w, kpu_ram, main_out, options, layer_index);
}

}  // namespace kpusim::kpu
