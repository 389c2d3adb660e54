// The fast multiply-accumulate kernels (kpu_core/conv_fast.h) against the scalar reference
// (conv.h accumulate_products), on random shapes, and whole KPU layers (run_layer) with the
// fast and the reference kernels.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kpu_core/conv.h"
#include "kpu_core/conv_fast.h"
#include "kpu_core/kpu_layer.h"
#include "kpu_core/kpu_ram_layout.h"
#include "kpu_core/pool.h"
#include "kpu_core/zero_point_terms.h"

using namespace kpusim::kpu;

namespace {

PaddedInput random_input(std::mt19937& rng, uint32_t c, uint32_t w, uint32_t h, uint32_t kernel,
                         int16_t pad_value, bool all_max = false) {
    PaddedInput in;
    in.channels = c;
    in.width = w;
    in.height = h;
    in.pad = kernel == 3 ? 1 : 0;
    const uint64_t plane = uint64_t{in.padded_width()} * in.padded_height();
    in.pixels.assign(c * plane + kPaddedInputSlack, pad_value);
    for (uint32_t ch = 0; ch < c; ++ch)
        for (uint32_t y = 0; y < h; ++y)
            for (uint32_t x = 0; x < w; ++x)
                in.pixels[ch * plane + (y + in.pad) * in.padded_width() + x + in.pad] =
                    all_max ? 255 : static_cast<int16_t>(rng() % 256);
    // The slack holds values the kernels must never use.
    for (uint32_t i = 0; i < kPaddedInputSlack; ++i) in.pixels[c * plane + i] = static_cast<int16_t>(rng() % 256);
    return in;
}

// S_xw by the reference kernel, dense [o][y][x].
std::vector<int32_t> reference_products(const PaddedInput& in, uint32_t kernel, bool dw, uint32_t outputs,
                                        const std::vector<int32_t>& w) {
    const uint64_t pixels = uint64_t{in.width} * in.height;
    const uint32_t g = dw ? 1 : in.channels, k2 = kernel * kernel;
    std::vector<int32_t> acc(outputs * pixels, 0);
    const uint32_t block = dw ? 1 : kOutputBlock;
    for (uint32_t o0 = 0; o0 < outputs; o0 += block) {
        const uint32_t n = std::min(block, outputs - o0);
        const int32_t* wo[kOutputBlock];
        int32_t* ao[kOutputBlock];
        for (uint32_t j = 0; j < n; ++j) {
            wo[j] = w.data() + uint64_t{o0 + j} * g * k2;
            ao[j] = acc.data() + (o0 + j) * pixels;
        }
        accumulate_products<int32_t>(in, kernel, dw ? o0 : 0, g, n, wo, ao);
    }
    return acc;
}

void expect_fast_equals_reference(const PaddedInput& in, uint32_t kernel, bool dw, uint32_t outputs,
                                  const std::vector<int32_t>& w, ConvIsa isa) {
    const auto ref = reference_products(in, kernel, dw, outputs, w);
    const FastAccLayout l = fast_acc_layout(in);
    std::vector<int32_t> acc(l.elements(outputs), -7);
    conv_products_fast(in, kernel, dw, outputs, w.data(), acc.data(), isa);
    const uint64_t pixels = uint64_t{in.width} * in.height;
    for (uint32_t o = 0; o < outputs; ++o)
        for (uint32_t y = 0; y < in.height; ++y)
            for (uint32_t x = 0; x < in.width; ++x)
                ASSERT_EQ(acc[o * l.plane_stride + y * l.row_stride + x], ref[o * pixels + y * in.width + x])
                    << "output " << o << " at (" << y << ", " << x << ")";
    // The same weights as the kmodel's bytes (the overload run_layer uses) give the same sums.
    const std::vector<uint8_t> bytes(w.begin(), w.end());
    std::vector<int32_t> acc8(l.elements(outputs), -9);
    conv_products_fast(in, kernel, dw, outputs, bytes.data(), acc8.data(), isa);
    for (uint32_t o = 0; o < outputs; ++o)
        for (uint32_t y = 0; y < in.height; ++y)
            for (uint32_t x = 0; x < in.width; ++x)
                ASSERT_EQ(acc8[o * l.plane_stride + y * l.row_stride + x], ref[o * pixels + y * in.width + x])
                    << "byte weights: output " << o << " at (" << y << ", " << x << ")";
}

std::vector<ConvIsa> isas() {
    std::vector<ConvIsa> v{ConvIsa::portable, ConvIsa::automatic};
    if (conv_avx2_available()) v.push_back(ConvIsa::avx2);
    if (conv_vnni_available()) v.push_back(ConvIsa::avx512vnni);
    return v;
}

}  // namespace

TEST(ConvKernels, FastEqualsReferenceOnRandomShapes) {
    std::mt19937 rng(2024);
    const uint32_t channels[] = {1, 2, 3, 5, 8, 16, 17, 33, 64};
    const uint32_t widths[] = {1, 2, 3, 7, 8, 15, 16, 17, 31, 40};
    const uint32_t heights[] = {1, 2, 3, 5, 9};
    for (int trial = 0; trial < 120; ++trial) {
        const uint32_t kernel = rng() % 2 ? 3 : 1;
        const bool dw = rng() % 3 == 0;
        const uint32_t c = channels[rng() % std::size(channels)];
        const uint32_t w = widths[rng() % std::size(widths)], h = heights[rng() % std::size(heights)];
        const uint32_t outputs = dw ? c : 1 + rng() % 14;
        const int16_t pad = static_cast<int16_t>(rng() % 256);
        const PaddedInput in = random_input(rng, c, w, h, kernel, pad);
        std::vector<int32_t> weights(uint64_t{outputs} * (dw ? 1 : c) * kernel * kernel);
        const bool sparse = rng() % 4 == 0;  // the reference skips zero weights
        for (auto& v : weights) v = sparse && rng() % 2 ? 0 : static_cast<int32_t>(rng() % 256);
        for (ConvIsa isa : isas()) {
            SCOPED_TRACE("trial " + std::to_string(trial) + " k" + std::to_string(kernel) +
                         (dw ? " dw" : "") + " c" + std::to_string(c) + " o" + std::to_string(outputs) +
                         " " + std::to_string(w) + "x" + std::to_string(h) + " isa " +
                         std::to_string(static_cast<int>(isa)));
            expect_fast_equals_reference(in, kernel, dw, outputs, weights, isa);
            if (HasFatalFailure()) return;
        }
    }
}

TEST(ConvKernels, LargestSumsDoNotOverflow) {
    // 1024 channels of 255 x 255 over 9 taps: 599 million, the largest S_xw of an 8-bit layer.
    std::mt19937 rng(5);
    const PaddedInput in = random_input(rng, 1024, 5, 3, 3, 255, true);
    const std::vector<int32_t> weights(uint64_t{3} * 1024 * 9, 255);
    for (ConvIsa isa : isas()) {
        const FastAccLayout l = fast_acc_layout(in);
        std::vector<int32_t> acc(l.elements(3));
        conv_products_fast(in, 3, false, 3, weights.data(), acc.data(), isa);
        EXPECT_EQ(acc[2 * l.plane_stride + 1 * l.row_stride + 2], 1024 * 9 * 255 * 255);
    }
}

TEST(ConvKernels, BadArgumentsAreRefused) {
    std::mt19937 rng(1);
    PaddedInput in = random_input(rng, 2, 4, 4, 3, 0);
    std::vector<int32_t> w(2 * 2 * 9, 1), acc(fast_acc_layout(in).elements(2));
    w[3] = 256;
    EXPECT_THROW(conv_products_fast(in, 3, false, 2, w.data(), acc.data()), std::invalid_argument);
    w[3] = 1;
    EXPECT_THROW(conv_products_fast(in, 1, false, 2, w.data(), acc.data()), std::invalid_argument);
    in.pixels.resize(in.pixels.size() - kPaddedInputSlack);
    EXPECT_THROW(conv_products_fast(in, 3, false, 2, w.data(), acc.data()), std::invalid_argument);
}

namespace {

// A random valid KPU layer argument (96 bytes).
std::vector<uint8_t> random_layer(std::mt19937& rng, uint32_t ic, uint32_t oc, uint32_t w, uint32_t h,
                                  uint32_t kernel, bool dw, PoolType pool) {
    std::vector<uint8_t> bytes(96, 0);
    auto set = [&](int word, unsigned lo, uint64_t v) {
        uint64_t x;
        std::memcpy(&x, bytes.data() + 8 * word, 8);
        x |= v << lo;
        std::memcpy(bytes.data() + 8 * word, &x, 8);
    };
    const uint32_t s = pool_stride(pool);
    const uint32_t ow = w / s, oh = h / s;
    set(0, 3, dw ? 1 : 0);
    set(1, 32, feature_map_rows(w, h, ic));  // output after the input
    set(2, 0, ic - 1);
    set(2, 32, oc - 1);
    set(2, 48, oc - 1);
    set(3, 0, w - 1);
    set(3, 10, h - 1);
    set(3, 32, ow - 1);
    set(3, 42, oh - 1);
    set(4, 0, kernel == 3 ? 1 : 0);
    set(4, 4, static_cast<uint64_t>(pool));
    set(4, 24, rng() % 256);              // pad value
    set(9, 0, rng() % 16);                // shr_w
    set(9, 4, rng() % 16);                // shr_x
    if (rng() % 4 == 0) {
        // Any offsets: sums past int32 (the 64-bit batch-norm product), and values the
        // activation table may not cover (both kernels must then report the same error).
        set(9, 8, rng() & 0xFFFFFF);
        set(9, 32, rng() & 0xFFFFFF);
        set(10, 0, (uint64_t{rng()} << 8 | rng() % 256) & 0xFFFFFFFFFF);
        return bytes;
    }
    // Offsets of either sign, small enough that batch-norm values stay in the 36-bit range.
    set(9, 8, static_cast<uint64_t>(static_cast<int64_t>(rng() % 8192) - 4096) & 0xFFFFFF);   // arg_w
    set(9, 32, static_cast<uint64_t>(static_cast<int64_t>(rng() % 8192) - 4096) & 0xFFFFFF);  // arg_x
    set(10, 0, static_cast<uint64_t>(static_cast<int64_t>(rng() % (1 << 25)) - (1 << 24)) & 0xFFFFFFFFFF);
    return bytes;
}

}  // namespace

TEST(ConvKernels, RunLayerFastEqualsReferenceKernels) {
    std::mt19937 rng(99);
    const PoolType pools[] = {PoolType::bypass, PoolType::max_2_s2, PoolType::mean_2_s2,
                              PoolType::left_top_2_s2, PoolType::max_4_s4, PoolType::mean_2_s1};
    int errors = 0;
    for (int trial = 0; trial < 60; ++trial) {
        const uint32_t kernel = rng() % 2 ? 3 : 1;
        const bool dw = rng() % 3 == 0;
        const PoolType pool = pools[rng() % std::size(pools)];
        const uint32_t s = pool_stride(pool);
        const uint32_t ic = 1 + rng() % 40, oc = dw ? ic : 1 + rng() % 20;
        const uint32_t w = s * (1 + rng() % 20), h = s * (1 + rng() % 6);
        const auto arg_bytes = random_layer(rng, ic, oc, w, h, kernel, dw, pool);
        const LayerArgument arg = LayerArgument::decode(arg_bytes.data());
        std::vector<uint8_t> weights(arg.weight_bytes(true));
        for (auto& b : weights) b = static_cast<uint8_t>(rng());
        std::vector<uint8_t> bn(8 * oc);
        for (uint32_t o = 0; o < oc; ++o) {
            // |conv| < 2^31 here: |bn| stays below 2^35 with |mul| <= 64 and shift >= 4.
            const uint64_t mul = static_cast<uint64_t>(static_cast<int64_t>(rng() % 129) - 64) & 0xFFFFFF;
            const uint64_t add = static_cast<uint64_t>(static_cast<int64_t>(rng() % (1 << 21)) - (1 << 20)) & 0xFFFFFFFF;
            const uint64_t word = mul | (add << 24) | (uint64_t{4 + rng() % 12} << 56);
            std::memcpy(bn.data() + 8 * o, &word, 8);
        }
        std::vector<uint8_t> act(144, 0);
        auto segment = [&](int i, int64_t start, uint64_t mul, uint32_t shift, uint8_t bias) {
            const uint64_t st = static_cast<uint64_t>(start) & ((uint64_t{1} << 36) - 1);
            const uint64_t word = shift | ((mul & 0xFFFF) << 8) | (st << 24);
            std::memcpy(act.data() + 8 * i, &word, 8);
            act[128 + i] = bias;
        };
        if (rng() % 2) {
            // ReLU-like, as nncase writes them: constant 0 below, one rising segment, the rest
            // starting past any value (the fast path of activate_plane).
            segment(0, -(int64_t{1} << 35), 0, 0, 0);
            segment(1, static_cast<int64_t>(rng() % 4096) - 2048, 1 + rng() % 30000, rng() % 24, rng() % 8);
            for (int i = 2; i < 16; ++i) segment(i, (int64_t{1} << 35) - 1, 0, 0, 0);
        } else {
            // Segment 0 from -2^35, then rising starts with random slopes, shifts and biases.
            int64_t start = -(int64_t{1} << 35);
            for (int i = 0; i < 16; ++i) {
                segment(i, start, rng(), rng() % 40, static_cast<uint8_t>(rng()));
                start = i == 0 ? -(int64_t{1} << 20) : start + (rng() % (1 << 18));
            }
        }
        std::vector<uint8_t> ram(kKpuRamBytes);
        for (auto& b : ram) b = static_cast<uint8_t>(rng());
        std::vector<uint8_t> ram_ref = ram;
        const uint64_t out_bytes = uint64_t{oc} * (w / s) * (h / s);
        std::vector<uint8_t> main_fast(out_bytes), main_ref(out_bytes);
        KpuLayerInputs in{&arg, weights.data(), true, bn.data(), act.data()};
        KpuOptions fast, ref;
        ref.reference_kernels = true;
        if (rng() % 2) fast.activation_rule = ref.activation_rule = ActivationRule::nncase_v01_emulator;
        std::string fast_error, ref_error;
        try {
            run_layer(in, ram.data(), main_fast.data(), fast, 0);
        } catch (const std::runtime_error& e) {
            fast_error = e.what();
        }
        try {
            run_layer(in, ram_ref.data(), main_ref.data(), ref, 0);
        } catch (const std::runtime_error& e) {
            ref_error = e.what();
        }
        SCOPED_TRACE("trial " + std::to_string(trial));
        ASSERT_EQ(fast_error, ref_error);
        if (!ref_error.empty()) {
            ++errors;
            continue;  // the layer stopped at the same channel; KPU RAM is partly written
        }
        ASSERT_EQ(main_fast, main_ref);
        ASSERT_TRUE(ram == ram_ref);
    }
    EXPECT_LT(errors, 30) << "most layers must run to the end";
}

// The 2 x 2 stride-2 pools (vectorised 16 outputs at a time) against the window definition of
// spec §6.5, on widths around the vector width and odd sizes (the last column/row dropped).
TEST(ConvKernels, TwoByTwoPoolsMatchTheWindowDefinition) {
    std::mt19937 rng(5);
    for (uint32_t width = 2; width <= 100; ++width) {
        const uint32_t height = 2 + rng() % 5;
        std::vector<uint8_t> plane(uint64_t{width} * height);
        for (auto& v : plane) v = static_cast<uint8_t>(width % 7 == 0 ? 255 - rng() % 3 : rng());
        const uint32_t ow = width / 2, oh = height / 2;
        for (PoolType type : {PoolType::max_2_s2, PoolType::mean_2_s2}) {
            std::vector<uint8_t> out(uint64_t{ow} * oh + 1, 0xA5);
            pool_plane(plane.data(), width, height, type, out.data());
            for (uint32_t oy = 0; oy < oh; ++oy)
                for (uint32_t ox = 0; ox < ow; ++ox) {
                    const uint8_t* r0 = plane.data() + uint64_t{2 * oy} * width + 2 * ox;
                    const uint8_t* r1 = r0 + width;
                    const uint32_t expected =
                        type == PoolType::max_2_s2
                            ? std::max({r0[0], r0[1], r1[0], r1[1]})
                            : (uint32_t{r0[0]} + r0[1] + r1[0] + r1[1]) / 4;  // floored mean
                    ASSERT_EQ(out[uint64_t{oy} * ow + ox], expected)
                        << (type == PoolType::max_2_s2 ? "max" : "mean") << " width " << width << " at (" << ox
                        << ", " << oy << ")";
                }
            EXPECT_EQ(out.back(), 0xA5) << "wrote past the pooled plane, width " << width;
        }
    }
}

// weight_sum_term: per input channel or whole (spec §17), from int32 weights or the kmodel's
// bytes, against the sums written out; a multiple-of-2^shr arg gives the same term either way.
TEST(ConvKernels, WeightSumTermMatchesTheSumsWrittenOut) {
    std::mt19937 rng(11);
    for (int trial = 0; trial < 200; ++trial) {
        const uint32_t count = 1 + rng() % 40, taps = rng() % 2 ? 9 : 1;
        std::vector<int32_t> w(uint64_t{count} * taps);
        for (auto& v : w) v = static_cast<int32_t>(rng() % 256);
        const std::vector<uint8_t> bytes(w.begin(), w.end());
        const uint32_t shr = rng() % 16;
        int32_t arg = static_cast<int32_t>(rng() % (1 << 20)) - (1 << 19);
        if (trial % 2) arg = arg / (1 << shr) * (1 << shr);  // a multiple of 2^shr: the rules agree
        int64_t per_channel = 0, whole_sum = 0;
        for (uint32_t c = 0; c < count; ++c) {
            int64_t s = 0;
            for (uint32_t t = 0; t < taps; ++t) s += w[uint64_t{c} * taps + t];
            per_channel += (arg * s) >> shr;
            whole_sum += s;
        }
        const int64_t whole = (arg * whole_sum) >> shr;
        SCOPED_TRACE("trial " + std::to_string(trial));
        EXPECT_EQ(weight_sum_term(w.data(), count, taps, arg, shr, ArgXRule::per_channel), per_channel);
        EXPECT_EQ(weight_sum_term(bytes.data(), count, taps, arg, shr, ArgXRule::per_channel), per_channel);
        EXPECT_EQ(weight_sum_term(w.data(), count, taps, arg, shr, ArgXRule::whole_sum), whole);
        EXPECT_EQ(weight_sum_term(bytes.data(), count, taps, arg, shr, ArgXRule::whole_sum), whole);
        if (arg_rules_agree(arg, shr)) {
            EXPECT_EQ(per_channel, whole);
        }
    }
}
