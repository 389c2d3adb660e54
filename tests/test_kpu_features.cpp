// Unit tests of every KPU feature, end to end: each test builds a tiny kmodel V3 with the
// builder, runs it through parse_kmodel + run_functional, and compares the bytes the KPU
// streamed to main memory with expectations worked out independently of kpu_core:
//   - by hand for tiny inputs (the arithmetic is in the comments), or
//   - by the straightforward reference below, written directly from kmodel-spec.md §6 on dense
//     CHW arrays (no KPU RAM layout, no code shared with kpu_core), under either arg_x rule
//     (spec §17: per input channel as the board, or the whole sum as nncase's emulators).
// The second half holds negative tests: malformed files that parse_kmodel must reject.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <variant>

#include "kpu_core/kpu_layer.h"
#include "models/kmodel_error.h"
#include "models/kmodel_loader.h"
#include "models/kmodel_v3_builder.h"
#include "sim/functional_executor.h"

namespace kpusim {
namespace {

using kpu::ActivationRule;
using kpu::ArgXRule;
constexpr ActivationRule kRef = ActivationRule::nncase_reference;
constexpr ActivationRule kV01 = ActivationRule::nncase_v01_emulator;
constexpr ArgXRule kBoard = ArgXRule::per_channel;
constexpr ArgXRule kWhole = ArgXRule::whole_sum;

// =============================================================================================
// Independent reference (spec §6), dense CHW, 64-bit integers.
// =============================================================================================
namespace ref {

/// Flooring division by 2^s, written with C division (which truncates) plus a correction.
int64_t floor_shift(int64_t v, uint32_t s) {
    if (s == 0) return v;
    const int64_t d = int64_t{1} << s;
    int64_t q = v / d;
    if (v % d != 0 && v < 0) q -= 1;
    return q;
}

/// ACT_ROUND(v, s) exactly as spec §6.4 states it.
int64_t act_round(int64_t v, uint32_t s) {
    if (s == 0) return v;
    const int64_t d = int64_t{1} << s;
    const int64_t q = floor_shift(v, s);
    const int64_t f = v - q * d;  // 0 <= f < 2^s
    const int64_t h = d / 2;
    const int64_t sgn = v < 0 ? -1 : 1;
    if (f < h) return q;
    if (f > h) return q + sgn;
    return (q % 2 != 0) ? q + sgn : q;
}

/// KCS(v, s) exactly as spec §7.5 states it.
int64_t kcs(int64_t v, uint32_t s) {
    if (s == 0) return v;
    const int64_t t = floor_shift(v, s - 1);
    if (t % 2 == 0) return floor_shift(t, 1);
    return t >= 0 ? floor_shift(t, 1) + 1 : floor_shift(t, 1) - 1;
}

/// Activation (spec §6.4 with the §6.8 rule choice).
uint8_t activate(int64_t bn, const ActTable& t, ActivationRule rule) {
    int idx = -1;
    for (int i = 15; i >= 0; --i) {
        const bool hit = rule == kRef ? bn > t[i].x_start : t[i].x_start <= bn;
        if (hit) {
            idx = i;
            break;
        }
    }
    if (idx < 0) {
        ADD_FAILURE() << "reference: no activation segment for bn " << bn;
        return 0;
    }
    const ActSegment& s = t[idx];
    const int64_t p = (bn - s.x_start) * int64_t{s.y_mul};
    const int64_t r = rule == kRef ? act_round(p, s.shift) : kcs(p, s.shift);
    const int64_t v = r + int64_t{s.bias};
    return static_cast<uint8_t>(std::clamp<int64_t>(v, 0, 255));
}

uint32_t stride_of(uint32_t pool) {
    if (pool == 1 || pool == 2 || pool == 5 || pool == 6) return 2;
    if (pool == 3 || pool == 4 || pool == 7) return 4;
    return 1;
}

/// Pool one H x W plane (spec §6.5 table).
std::vector<uint8_t> pool(const std::vector<uint8_t>& a, uint32_t W, uint32_t H, uint32_t type) {
    const uint32_t s = stride_of(type);
    const uint32_t OW = W / s, OH = H / s;
    auto at = [&](uint32_t y, uint32_t x) -> int { return a[y * W + x]; };
    std::vector<uint8_t> out(OW * OH);
    for (uint32_t oy = 0; oy < OH; ++oy)
        for (uint32_t ox = 0; ox < OW; ++ox) {
            int v = 0;
            switch (type) {
                case 0: v = at(oy, ox); break;
                case 1: case 2: case 3: case 4: {
                    const uint32_t n = (type <= 2) ? 2 : 4;
                    int mx = 0, sum = 0;
                    for (uint32_t dy = 0; dy < n; ++dy)
                        for (uint32_t dx = 0; dx < n; ++dx) {
                            const int e = at(oy * n + dy, ox * n + dx);
                            mx = std::max(mx, e);
                            sum += e;
                        }
                    v = (type == 1 || type == 3) ? mx : sum / static_cast<int>(n * n);
                    break;
                }
                case 5: v = at(oy * 2, ox * 2); break;
                case 6: v = at(oy * 2, ox * 2 + 1); break;
                case 7: v = at(oy * 4, ox * 4); break;
                case 8: {  // mean 2x2 s1, edge replicate
                    int sum = 0;
                    for (uint32_t dy = 0; dy < 2; ++dy)
                        for (uint32_t dx = 0; dx < 2; ++dx)
                            sum += at(std::min(oy + dy, H - 1), std::min(ox + dx, W - 1));
                    v = sum / 4;
                    break;
                }
                case 9: {  // max 2x2 s1, out-of-image taps are 0
                    int mx = 0;
                    for (uint32_t dy = 0; dy < 2; ++dy)
                        for (uint32_t dx = 0; dx < 2; ++dx) {
                            const uint32_t y = oy + dy, x = ox + dx;
                            mx = std::max(mx, (y < H && x < W) ? at(y, x) : 0);
                        }
                    v = mx;
                    break;
                }
                default: ADD_FAILURE() << "reference: pool type " << type;
            }
            out[oy * OW + ox] = static_cast<uint8_t>(v);
        }
    return out;
}

/// Convolution stage (spec §6.1, §6.2) for output channel o at (y, x). The arg_x and arg_w
/// terms: per_channel floors each input channel's product, then sums (spec §17);
/// whole_sum floors the product of the summed window once (spec §6.2, nncase).
int64_t conv_at(const KpuConvDesc& d, const std::vector<uint8_t>& in,
                const std::vector<int64_t>& w, uint32_t o, uint32_t y, uint32_t x,
                ArgXRule arg_rule = kBoard) {
    const uint32_t W = d.in_width, H = d.in_height, k = d.kernel;
    const int off = k == 3 ? 1 : 0;
    const uint32_t gic = d.depthwise ? 1 : d.in_channels;
    int64_t sxw = 0, sx = 0, sw = 0, x_terms = 0, w_terms = 0;
    for (uint32_t gi = 0; gi < gic; ++gi) {
        const uint32_t c = d.depthwise ? o : gi;
        int64_t sx_c = 0, sw_c = 0;
        for (uint32_t ky = 0; ky < k; ++ky)
            for (uint32_t kx = 0; kx < k; ++kx) {
                const int iy = static_cast<int>(y + ky) - off, ix = static_cast<int>(x + kx) - off;
                const bool inside = iy >= 0 && ix >= 0 && iy < static_cast<int>(H) &&
                                    ix < static_cast<int>(W);
                const int64_t X = inside ? in[(c * H + iy) * W + ix] : d.pad_value;
                const int64_t Wt = w[((o * gic + gi) * k + ky) * k + kx];
                sxw += X * Wt;
                sx_c += X;
                sw_c += Wt;
            }
        sx += sx_c;
        sw += sw_c;
        x_terms += floor_shift(int64_t{d.arg_x} * sx_c, d.shr_x);
        w_terms += floor_shift(int64_t{d.arg_w} * sw_c, d.shr_w);
    }
    if (arg_rule == kWhole) {
        x_terms = floor_shift(int64_t{d.arg_x} * sx, d.shr_x);
        w_terms = floor_shift(int64_t{d.arg_w} * sw, d.shr_w);
    }
    return sxw + x_terms + w_terms + d.arg_add * static_cast<int64_t>(gic);
}

/// The whole layer: dense IC x H x W in, dense OC x OH x OW out.
std::vector<uint8_t> layer(const KpuConvDesc& d, const std::vector<uint8_t>& in,
                           ActivationRule rule = kRef, bool eight_bit = true,
                           ArgXRule arg_rule = kBoard) {
    const uint32_t W = d.in_width, H = d.in_height;
    EXPECT_EQ(in.size(), std::size_t{d.in_channels} * W * H) << "reference input size";
    std::vector<int64_t> w;
    if (eight_bit) w.assign(d.weights.begin(), d.weights.end());
    else w.assign(d.weights16.begin(), d.weights16.end());
    const uint32_t s = stride_of(d.pool_type);
    const uint32_t OW = W / s, OH = H / s;
    std::vector<uint8_t> out;
    out.reserve(std::size_t{d.out_channels} * OW * OH);
    std::vector<uint8_t> plane(W * H);
    for (uint32_t o = 0; o < d.out_channels; ++o) {
        const BnEntry& bn = d.bn.at(o);
        for (uint32_t y = 0; y < H; ++y)
            for (uint32_t x = 0; x < W; ++x) {
                const int64_t conv = conv_at(d, in, w, o, y, x, arg_rule);
                const int64_t b = floor_shift(conv * int64_t{bn.mul}, bn.shift) + int64_t{bn.add};
                plane[y * W + x] = activate(b, d.act, rule);
            }
        const std::vector<uint8_t> p = pool(plane, W, H, d.pool_type);
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

}  // namespace ref

// =============================================================================================
// Helpers
// =============================================================================================

/// Deterministic generator (64-bit LCG), so that every run sees the same data.
struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint32_t u32() {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<uint32_t>(s >> 32);
    }
    int64_t range(int64_t lo, int64_t hi) {  // inclusive
        const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
        const uint64_t r = (uint64_t{u32()} << 32) | u32();
        return lo + static_cast<int64_t>(r % span);
    }
    std::vector<uint8_t> bytes(std::size_t n, int lo = 0, int hi = 255) {
        std::vector<uint8_t> v(n);
        for (auto& b : v) b = static_cast<uint8_t>(range(lo, hi));
        return v;
    }
};

/// A plain conv description: weights 1 everywhere... filled by the caller.
KpuConvDesc shape(uint32_t W, uint32_t H, uint32_t IC, uint32_t OC, uint32_t k = 1,
                  bool dw = false, uint32_t pool = 0) {
    KpuConvDesc d;
    d.in_width = W;
    d.in_height = H;
    d.in_channels = IC;
    d.out_channels = OC;
    d.kernel = k;
    d.depthwise = dw;
    d.pool_type = pool;
    d.bn.assign(OC, BnEntry{1, 0, 0});
    d.act = identity_table();
    d.in_row = 0;
    d.out_row = 16384;
    return d;
}

/// The activation table of the random tests: 3 for bn <= -1024, (bn + 1024) / 8 up to 0, then
/// bn * 3 / 32 + 130 (shifts 3 and 5, so rounding ties occur). It jumps at both segment starts
/// (3 vs 0 at -1024, 128 vs 130 at 0), so the two activation rules differ there.
ActTable test_table() {
    ActTable t = activation_table({ActSegment{-1024, 1, 3, 0}, ActSegment{0, 3, 5, 130}});
    t[0].bias = 3;
    return t;
}

/// Random weights, zero points as nncase encodes them (arg_x = -zw, arg_w = -zx,
/// arg_add = k^2 zw zx, pad_value = zx) and per-channel BN scaled so that bn spreads over a
/// few hundred; a quarter of the channels get a negative multiplier.
void randomise(KpuConvDesc& d, Rng& rng, bool eight_bit = true) {
    const uint32_t k2 = d.kernel * d.kernel;
    const int64_t zx = rng.range(0, 255);
    const int64_t wmax = eight_bit ? 255 : 65535;
    const int64_t zw = rng.range(0, wmax);
    d.weights.clear();
    d.weights16.clear();
    for (uint32_t i = 0; i < d.weight_count(); ++i) {
        if (eight_bit) d.weights.push_back(static_cast<uint8_t>(rng.range(0, 255)));
        else d.weights16.push_back(static_cast<uint16_t>(rng.range(0, 65535)));
    }
    d.arg_x = static_cast<int32_t>(-zw);
    d.arg_w = static_cast<int32_t>(-zx);
    d.shr_x = d.shr_w = 0;
    d.arg_add = static_cast<int64_t>(k2) * zw * zx;
    d.pad_value = static_cast<uint8_t>(zx);
    const double n = (d.depthwise ? 1 : d.in_channels) * k2;
    // Standard deviation of sum((X - zx)(W - zw)) for uniform data is about
    // 74 * (wmax / 3.46) * sqrt(n); aim for a bn spread of about 400.
    const double conv_sd = 74.0 * (static_cast<double>(wmax) / 3.46) * std::sqrt(n);
    d.bn.clear();
    for (uint32_t o = 0; o < d.out_channels; ++o) {
        const double m = 32768.0 * 400.0 / conv_sd * (0.6 + 0.8 * (rng.u32() % 1000) / 1000.0);
        int32_t mul = std::max<int32_t>(1, static_cast<int32_t>(m));
        if (rng.u32() % 4 == 0) mul = -mul;
        d.bn.push_back(BnEntry{mul, static_cast<int32_t>(rng.range(-300, 300)), 15});
    }
    d.act = test_table();
}

/// Re-centre every output channel: set its BN add so that the channel's mean bn over `in` is
/// a small random value (the zero points give the convolution a large mean that would otherwise
/// saturate the activation). Computed with the reference convolution; test set-up only.
void centre(KpuConvDesc& d, const std::vector<uint8_t>& in, Rng& rng, bool eight_bit = true,
            int64_t jitter = 150) {
    std::vector<int64_t> w;
    if (eight_bit) w.assign(d.weights.begin(), d.weights.end());
    else w.assign(d.weights16.begin(), d.weights16.end());
    const int64_t pixels = int64_t{d.in_width} * d.in_height;
    for (uint32_t o = 0; o < d.out_channels; ++o) {
        BnEntry& bn = d.bn.at(o);
        int64_t sum = 0;
        for (uint32_t y = 0; y < d.in_height; ++y)
            for (uint32_t x = 0; x < d.in_width; ++x)
                sum += ref::floor_shift(ref::conv_at(d, in, w, o, y, x) * bn.mul, bn.shift);
        const int64_t add = -sum / pixels + rng.range(-jitter, jitter);
        ASSERT_LT(std::abs(add), int64_t{1} << 31) << "test set-up: BN add out of range";
        bn.add = static_cast<int32_t>(add);
    }
}

/// Take the first n bytes of an output tensor (V3 declares element count x 4 bytes, and
/// the reader may type a conv's stream as uint8 or float32: either way the first n bytes
/// are what the KPU streamed).
std::vector<uint8_t> first_bytes(const OutputTensor& t, std::size_t n) {
    EXPECT_GE(t.bytes.size(), n) << "output tensor too small";
    return std::vector<uint8_t>(t.bytes.begin(), t.bytes.begin() + std::min(n, t.bytes.size()));
}

/// Parse, run, and return the first `sizes[i]` bytes of output i.
std::vector<std::vector<uint8_t>> run_model(const std::vector<uint8_t>& file,
                                            const std::vector<std::size_t>& sizes,
                                            const std::vector<uint8_t>& input,
                                            ActivationRule rule = kRef,
                                            ArgXRule arg_rule = kBoard) {
    const Model m = parse_kmodel(file);
    kpu::KpuOptions opt;
    opt.activation_rule = rule;
    opt.arg_x_rule = arg_rule;
    const std::vector<OutputTensor> outs = run_functional(m, input, opt);
    EXPECT_EQ(outs.size(), sizes.size());
    std::vector<std::vector<uint8_t>> r;
    for (std::size_t i = 0; i < sizes.size() && i < outs.size(); ++i)
        r.push_back(first_bytes(outs[i], sizes[i]));
    return r;
}

/// One conv layer streaming to main memory offset 0, declared as the model's only output.
std::vector<uint8_t> run_conv(KpuConvDesc d, const std::vector<uint8_t>& input,
                              ActivationRule rule = kRef, bool eight_bit = true,
                              ArgXRule arg_rule = kBoard) {
    d.main_mem_out = 0;
    KmodelV3Builder b;
    b.set_eight_bit(eight_bit);
    b.add_conv(d);
    b.add_output(0, d.out_elements());
    return run_model(b.build(), {d.out_elements()}, input, rule, arg_rule).at(0);
}

/// Compare with a readable report of the first mismatches (channel, row, column).
void expect_same(const std::vector<uint8_t>& got, const std::vector<uint8_t>& expected,
                 uint32_t OW, uint32_t OH, const std::string& what) {
    ASSERT_EQ(got.size(), expected.size()) << what;
    int shown = 0;
    std::size_t bad = 0;
    std::ostringstream os;
    for (std::size_t i = 0; i < got.size(); ++i)
        if (got[i] != expected[i]) {
            ++bad;
            if (shown++ < 8) {
                const std::size_t plane = std::size_t{OW} * OH;
                os << "\n  c " << i / plane << " y " << (i % plane) / OW << " x " << i % OW
                   << ": got " << int(got[i]) << ", expected " << int(expected[i]);
            }
        }
    EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << got.size() << " bytes differ"
                       << os.str();
}

/// Build, run and compare one conv against the reference.
void check_conv(const KpuConvDesc& d, const std::vector<uint8_t>& input,
                ActivationRule rule = kRef, bool eight_bit = true,
                const std::string& what = "conv", ArgXRule arg_rule = kBoard) {
    const std::vector<uint8_t> expected = ref::layer(d, input, rule, eight_bit, arg_rule);
    const std::vector<uint8_t> got = run_conv(d, input, rule, eight_bit, arg_rule);
    expect_same(got, expected, d.out_width(), d.out_height(), what);
}

/// A random layer of the given shape checked against the reference.
void check_random(uint64_t seed, uint32_t W, uint32_t H, uint32_t IC, uint32_t OC, uint32_t k,
                  bool dw, uint32_t pool, ActivationRule rule = kRef) {
    Rng rng(seed);
    KpuConvDesc d = shape(W, H, IC, OC, k, dw, pool);
    randomise(d, rng);
    const std::vector<uint8_t> in = rng.bytes(std::size_t{IC} * W * H);
    centre(d, in, rng);
    std::ostringstream what;
    what << "W " << W << " H " << H << " IC " << IC << " OC " << OC << " k " << k
         << (dw ? " dw" : "") << " pool " << pool;
    check_conv(d, in, rule, true, what.str());
}

// =============================================================================================
// Hand-computed cases
// =============================================================================================

TEST(KpuFeature, ReferenceSelfCheckRounding) {
    // The reference's rounding helpers against the spec's own examples.
    EXPECT_EQ(ref::act_round(-5, 2), -3);  // spec §6.4
    EXPECT_EQ(ref::kcs(-1, 1), -2);        // spec §7.5
    EXPECT_EQ(ref::act_round(1, 1), 0);    // 0.5 -> 0 (even)
    EXPECT_EQ(ref::act_round(3, 1), 2);    // 1.5 -> 2 (even)
    EXPECT_EQ(ref::kcs(1, 1), 1);          // 0.5 -> 1 (up)
    EXPECT_EQ(ref::kcs(5, 1), 3);          // 2.5 -> 3 (up)
    EXPECT_EQ(ref::floor_shift(-15, 2), -4);
    EXPECT_EQ(ref::floor_shift(-16, 2), -4);
    EXPECT_EQ(ref::floor_shift(15, 2), 3);
}

TEST(KpuFeature, HandOneByOneWithZeroPoints) {
    // One input channel 2x2 = [1 2; 3 4], two output channels, 1x1 weights {5, 3}.
    // zx = 1, zw = 2: arg_x = -2, arg_w = -1, arg_add = 1*1*2*1 = 2, so
    // conv = sum X*W - 2*X - 1*W + 2 = (X - 1)(W - 2).
    //   channel 0 (W = 5): 3(X - 1) = {0, 3, 6, 9}
    //   channel 1 (W = 3): 1(X - 1) = {0, 1, 2, 3}
    // BN: channel 0 mul 1 add 10 -> {10, 13, 16, 19}; channel 1 mul 4 add 0 -> {0, 4, 8, 12}.
    KpuConvDesc d = shape(2, 2, 1, 2);
    d.weights = {5, 3};
    d.arg_x = -2;
    d.arg_w = -1;
    d.arg_add = 2;
    d.bn = {BnEntry{1, 10, 0}, BnEntry{4, 0, 0}};
    const std::vector<uint8_t> got = run_conv(d, {1, 2, 3, 4});
    EXPECT_EQ(got, (std::vector<uint8_t>{10, 13, 16, 19, 0, 4, 8, 12}));
    EXPECT_EQ(got, ref::layer(d, {1, 2, 3, 4}));
}

TEST(KpuFeature, HandThreeByThreePadValueOnBorder) {
    // 1 channel 2x2 = [1 2; 3 4], 3x3 weights [1 2 3; 4 5 6; 7 8 9] (sum 45), pad_value 10.
    // Every 3x3 window on a 2x2 image holds the 4 pixels and 5 padding taps.
    //  (0,0): 5*1 + 6*2 + 8*3 + 9*4 = 77; padding weights 45-28 = 17 -> 170; conv 247
    //  (0,1): 4*1 + 5*2 + 7*3 + 8*4 = 67; padding 45-24 = 21 -> 210; conv 277
    //  (1,0): 2*1 + 3*2 + 5*3 + 6*4 = 47; padding 45-16 = 29 -> 290; conv 337
    //  (1,1): 1*1 + 2*2 + 4*3 + 5*4 = 37; padding 45-12 = 33 -> 330; conv 367
    // BN mul 1 shift 1 (floor halves): 123, 138, 168, 183.
    KpuConvDesc d = shape(2, 2, 1, 1, 3);
    d.weights = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    d.pad_value = 10;
    d.bn = {BnEntry{1, 0, 1}};
    EXPECT_EQ(run_conv(d, {1, 2, 3, 4}), (std::vector<uint8_t>{123, 138, 168, 183}));
    // With pad_value 0 only the image taps count: 77, 67, 47, 37 -> 38, 33, 23, 18.
    d.pad_value = 0;
    EXPECT_EQ(run_conv(d, {1, 2, 3, 4}), (std::vector<uint8_t>{38, 33, 23, 18}));
}

TEST(KpuFeature, HandDepthwiseAddsArgAddOnce) {
    // Two channels, 2x1 images: c0 = {1, 2}, c1 = {10, 20}; 1x1 weights c0: 2, c1: 3.
    // Depthwise (g_ic = 1), arg_add 5: c0 = {2+5, 4+5} = {7, 9}, c1 = {30+5, 60+5} = {35, 65}.
    KpuConvDesc d = shape(2, 1, 2, 2, 1, true);
    d.weights = {2, 3};
    d.arg_add = 5;
    EXPECT_EQ(run_conv(d, {1, 2, 10, 20}), (std::vector<uint8_t>{7, 9, 35, 65}));
}

TEST(KpuFeature, HandNormalConvAddsArgAddPerInputChannel) {
    // Same input, a normal 2 -> 1 conv with weights {2, 3}, arg_add 5 x g_ic 2 = 10:
    //   x0: 1*2 + 10*3 + 10 = 42;  x1: 2*2 + 20*3 + 10 = 74.
    KpuConvDesc d = shape(2, 1, 2, 1);
    d.weights = {2, 3};
    d.arg_add = 5;
    EXPECT_EQ(run_conv(d, {1, 2, 10, 20}), (std::vector<uint8_t>{42, 74}));
}

TEST(KpuFeature, HandArgShiftsFloorNegativeProducts) {
    // One pixel X = 5, one weight W = 3: S_xw = 15, S_x = 5, S_w = 3.
    // arg_x -3 >> 2: -15 / 4 floors to -4 (truncation would give -3);
    // arg_w -7 >> 1: -21 / 2 floors to -11 (truncation -10);
    // arg_add -1 (40-bit negative). conv = 15 - 4 - 11 - 1 = -1.
    // BN add 100: bn = 99 (a truncating implementation would give 15 - 3 - 10 - 1 + 100 = 101).
    KpuConvDesc d = shape(1, 1, 1, 1);
    d.weights = {3};
    d.arg_x = -3;
    d.shr_x = 2;
    d.arg_w = -7;
    d.shr_w = 1;
    d.arg_add = -1;
    d.bn = {BnEntry{1, 100, 0}};
    EXPECT_EQ(run_conv(d, {5}), (std::vector<uint8_t>{99}));
    // Positive products shift the same way: arg_x 3 >> 2 -> 15/4 = 3; arg_w 7 >> 1 -> 21/2 = 10:
    // conv = 15 + 3 + 10 - 1 = 27, bn 127.
    d.arg_x = 3;
    d.arg_w = 7;
    EXPECT_EQ(run_conv(d, {5}), (std::vector<uint8_t>{127}));
}

TEST(KpuFeature, HandLargeArgsUseFullWidths) {
    // arg_x = -2^23 (the most negative 24-bit value), shr_x 15: -8388608 * 200 / 32768 = -51200.
    // arg_add = 51277, so conv = S_xw (200 * 1) - 51200 + 51277 = 277; BN mul -1 add 300:
    // bn = 23.
    KpuConvDesc d = shape(1, 1, 1, 1);
    d.weights = {1};
    d.arg_x = -8388608;
    d.shr_x = 15;
    d.arg_add = 51277;
    d.bn = {BnEntry{-1, 300, 0}};
    EXPECT_EQ(run_conv(d, {200}), (std::vector<uint8_t>{23}));
}

TEST(KpuFeature, HandArgXFlooredPerInputChannelOnTheBoard) {
    // Two input channels, one pixel each: X = {1, 1}, weights {0, 0} (S_xw = 0), arg_x 1 >> 1.
    //   board (per channel): (1*1 >> 1) + (1*1 >> 1) = 0 + 0 = 0     -> bn = 100
    //   nncase (whole sum):  (1*2) >> 1 = 1                          -> bn = 101
    // arg_x -1 >> 1:
    //   board: (-1 >> 1) + (-1 >> 1) = -1 + -1 = -2                    -> 98
    //   nncase: (-2) >> 1 = -1                                         -> 99
    KpuConvDesc d = shape(1, 1, 2, 1);
    d.weights = {0, 0};
    d.arg_x = 1;
    d.shr_x = 1;
    d.bn = {BnEntry{1, 100, 0}};
    EXPECT_EQ(run_conv(d, {1, 1}, kRef, true, kBoard), (std::vector<uint8_t>{100}));
    EXPECT_EQ(run_conv(d, {1, 1}, kRef, true, kWhole), (std::vector<uint8_t>{101}));
    d.arg_x = -1;
    EXPECT_EQ(run_conv(d, {1, 1}, kRef, true, kBoard), (std::vector<uint8_t>{98}));
    EXPECT_EQ(run_conv(d, {1, 1}, kRef, true, kWhole), (std::vector<uint8_t>{99}));
    // arg_x 2 >> 1 is exact: both rules give (2 >> 1) * 2 = 2 -> 102.
    d.arg_x = 2;
    EXPECT_EQ(run_conv(d, {1, 1}, kRef, true, kBoard), (std::vector<uint8_t>{102}));
    EXPECT_EQ(run_conv(d, {1, 1}, kRef, true, kWhole), (std::vector<uint8_t>{102}));
}

TEST(KpuFeature, HandArgXPerChannelOverThreeByThreeWindows) {
    // Two 3x1 channels [1 2 3] and [3 2 1], pad 0, 3x3 zero weights, arg_x 1 >> 2.
    // Window sums at x = 0, 1, 2: channel 0: 3, 6, 5; channel 1: 5, 6, 3.
    //   board:  (3>>2)+(5>>2) = 0+1 = 1;  (6>>2)+(6>>2) = 1+1 = 2;  (5>>2)+(3>>2) = 1+0 = 1
    //   nncase: 8>>2 = 2;                 12>>2 = 3;                8>>2 = 2
    KpuConvDesc d = shape(3, 1, 2, 1, 3);
    d.weights.assign(18, 0);
    d.arg_x = 1;
    d.shr_x = 2;
    d.bn = {BnEntry{1, 50, 0}};
    const std::vector<uint8_t> in = {1, 2, 3, 3, 2, 1};
    EXPECT_EQ(run_conv(d, in, kRef, true, kBoard), (std::vector<uint8_t>{51, 52, 51}));
    EXPECT_EQ(run_conv(d, in, kRef, true, kWhole), (std::vector<uint8_t>{52, 53, 52}));
}

TEST(KpuFeature, HandArgWFlooredPerInputChannelToo) {
    // The same granularity applied to arg_w (inferred, not observed): X = 0 everywhere,
    // weights {1, 1} over two channels, arg_w 1 >> 1.
    //   board: (1 >> 1) + (1 >> 1) = 0 -> 100;  nncase: (1*2) >> 1 = 1 -> 101.
    KpuConvDesc d = shape(1, 1, 2, 1);
    d.weights = {1, 1};
    d.arg_w = 1;
    d.shr_w = 1;
    d.bn = {BnEntry{1, 100, 0}};
    EXPECT_EQ(run_conv(d, {0, 0}, kRef, true, kBoard), (std::vector<uint8_t>{100}));
    EXPECT_EQ(run_conv(d, {0, 0}, kRef, true, kWhole), (std::vector<uint8_t>{101}));
}

TEST(KpuFeature, HandDepthwiseArgXIsTheSameUnderBothRules) {
    // Depthwise: one input channel per output, so both rules floor the same single product.
    // Channel 0 X = 3: (3 * -3) >> 2 = -9 >> 2 = -3; channel 1 X = 5: -15 >> 2 = -4.
    KpuConvDesc d = shape(1, 1, 2, 2, 1, true);
    d.weights = {0, 0};
    d.arg_x = -3;
    d.shr_x = 2;
    d.bn = {BnEntry{1, 100, 0}, BnEntry{1, 100, 0}};
    EXPECT_EQ(run_conv(d, {3, 5}, kRef, true, kBoard), (std::vector<uint8_t>{97, 96}));
    EXPECT_EQ(run_conv(d, {3, 5}, kRef, true, kWhole), (std::vector<uint8_t>{97, 96}));
}

/// A 1-channel identity conv (weight 1, BN identity, identity activation) with pooling.
KpuConvDesc identity_pool(uint32_t W, uint32_t H, uint32_t pool) {
    KpuConvDesc d = shape(W, H, 1, 1, 1, false, pool);
    d.weights = {1};
    return d;
}

TEST(KpuFeature, HandMaxPools) {
    // max_2_s2 on 4x2 [1 9 3 4; 5 6 7 8] -> [9 8]; odd width 5 drops the last column.
    EXPECT_EQ(run_conv(identity_pool(4, 2, 1), {1, 9, 3, 4, 5, 6, 7, 8}),
              (std::vector<uint8_t>{9, 8}));
    EXPECT_EQ(run_conv(identity_pool(5, 3, 1), {1, 9, 3, 4, 250, 5, 6, 7, 8, 250, 250, 250, 250, 250, 250}),
              (std::vector<uint8_t>{9, 8}));
    // max_4_s4 on 4x4 0..15 -> 15.
    std::vector<uint8_t> v(16);
    for (int i = 0; i < 16; ++i) v[i] = static_cast<uint8_t>(i);
    EXPECT_EQ(run_conv(identity_pool(4, 4, 3), v), (std::vector<uint8_t>{15}));
}

TEST(KpuFeature, HandMeanPoolsFloor) {
    // mean_2_s2: {1, 2, 2, 2} sums to 7 -> 7/4 = 1 (rounding would give 2);
    //            {255, 255, 255, 254} = 1019 -> 254 (no uint8 overflow in the sum).
    EXPECT_EQ(run_conv(identity_pool(4, 2, 2), {1, 2, 255, 255, 2, 2, 255, 254}),
              (std::vector<uint8_t>{1, 254}));
    // mean_4_s4: 16 values summing to 31 (fifteen 2s and one 1) -> 31/16 = 1.
    std::vector<uint8_t> v(16, 2);
    v[5] = 1;
    EXPECT_EQ(run_conv(identity_pool(4, 4, 4), v), (std::vector<uint8_t>{1}));
}

TEST(KpuFeature, HandMeanTwoStrideOneReplicatesEdges) {
    // mean_2_s1 on [0 4; 8 12]: output 2x2.
    //  (0,0): (0+4+8+12)/4 = 6
    //  (0,1): column 2 clamps to 1: (4+4+12+12)/4 = 8   (zero padding would give 4)
    //  (1,0): row 2 clamps to 1:    (8+12+8+12)/4 = 10  (zero padding would give 5)
    //  (1,1): all taps clamp to (1,1): 12               (zero padding would give 3)
    EXPECT_EQ(run_conv(identity_pool(2, 2, 8), {0, 4, 8, 12}),
              (std::vector<uint8_t>{6, 8, 10, 12}));
    // Floor: [1 2; 2 2] -> (0,0) 7/4 = 1; (0,1) (2+2+2+2)/4 = 2; (1,0) 2; (1,1) 2.
    EXPECT_EQ(run_conv(identity_pool(2, 2, 8), {1, 2, 2, 2}), (std::vector<uint8_t>{1, 2, 2, 2}));
}

TEST(KpuFeature, HandMaxTwoStrideOne) {
    // max_2_s1 on [5 3 9; 2 1 0]: output 3x2 (the window reaches past the right/bottom edge,
    // out-of-image taps count as 0).
    //  row 0: max(5,3,2,1)=5, max(3,9,1,0)=9, max(9,0)=9
    //  row 1: max(2,1)=2, max(1,0)=1, max(0)=0
    EXPECT_EQ(run_conv(identity_pool(3, 2, 9), {5, 3, 9, 2, 1, 0}),
              (std::vector<uint8_t>{5, 9, 9, 2, 1, 0}));
}

TEST(KpuFeature, HandLeftTopRightTopOffsets) {
    // 4x2 [1 2 3 4; 5 6 7 8]: left_top_2_s2 -> (0,0),(0,2) = [1 3]; right_top -> (0,1),(0,3) = [2 4].
    const std::vector<uint8_t> in = {1, 2, 3, 4, 5, 6, 7, 8};
    EXPECT_EQ(run_conv(identity_pool(4, 2, 5), in), (std::vector<uint8_t>{1, 3}));
    EXPECT_EQ(run_conv(identity_pool(4, 2, 6), in), (std::vector<uint8_t>{2, 4}));
    // Odd width 5, height 3: right_top takes x = 1, 3 of row 0 only.
    EXPECT_EQ(run_conv(identity_pool(5, 3, 6), {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}),
              (std::vector<uint8_t>{2, 4}));
    // left_top_4_s4 on 8x4 0..31 -> (0,0) = 0 and (0,4) = 4.
    std::vector<uint8_t> v(32);
    for (int i = 0; i < 32; ++i) v[i] = static_cast<uint8_t>(i + 100);
    EXPECT_EQ(run_conv(identity_pool(8, 4, 7), v), (std::vector<uint8_t>{100, 104}));
}

TEST(KpuFeature, HandActivationSegmentStartUnderBothRules) {
    // bn = X (1x1 weight 1). Table: segment 0 {-2^35, mul 0, bias 77},
    // segment 1 {start 10, y_mul 1, shift 0, bias 5}.
    //   X = 9:  both rules: segment 0 -> 77
    //   X = 10: reference (bn > start):  10 > 10 is false -> segment 0 -> 77
    //           v0.1      (start <= bn): 10 <= 10        -> segment 1 -> 0 + 5 = 5
    //   X = 11: both: segment 1 -> 1 + 5 = 6
    KpuConvDesc d = shape(3, 1, 1, 1);
    d.weights = {1};
    d.act = activation_table({ActSegment{10, 1, 0, 5}});
    d.act[0].bias = 77;
    EXPECT_EQ(run_conv(d, {9, 10, 11}, kRef), (std::vector<uint8_t>{77, 77, 6}));
    EXPECT_EQ(run_conv(d, {9, 10, 11}, kV01), (std::vector<uint8_t>{77, 5, 6}));
}

TEST(KpuFeature, HandActRoundHalfEvenVersusKcsHalfUp) {
    // bn = X - 2 (BN add -2); segment 1 {start -2, y_mul 1, shift 1}: p = bn + 2 = X, r = X / 2.
    //   X:        1    3    5    6    7    9
    //   X/2:     0.5  1.5  2.5   3   3.5  4.5
    //   half-even: 0   2    2    3    4    4     (ACT_ROUND, reference rule)
    //   half-up:   1   2    3    3    4    5     (KCS, v0.1 rule)
    KpuConvDesc d = shape(6, 1, 1, 1);
    d.weights = {1};
    d.bn = {BnEntry{1, -2, 0}};
    d.act = activation_table({ActSegment{-2, 1, 1, 0}});
    const std::vector<uint8_t> in = {1, 3, 5, 6, 7, 9};
    EXPECT_EQ(run_conv(d, in, kRef), (std::vector<uint8_t>{0, 2, 2, 3, 4, 4}));
    EXPECT_EQ(run_conv(d, in, kV01), (std::vector<uint8_t>{1, 2, 3, 3, 4, 5}));
}

TEST(KpuFeature, HandNegativeYMul) {
    // bn = X; segment 1 {start 0, y_mul -1, shift 2, bias 200}: p = -X, r = round(-X / 4).
    //   X  p   ACT_ROUND(p, 2)                      KCS(p, 2)
    //   1  -1  q=-1 f=3 > 2 -> q-1 = -2 -> 198      t=-1 odd <0 -> -1-1 = -2 -> 198
    //   2  -2  q=-1 f=2 = 2, q odd -> -2 -> 198     t=-1 -> -2 -> 198
    //   3  -3  q=-1 f=1 < 2 -> -1 -> 199            t=-2 even -> -1 -> 199
    //   5  -5  q=-2 f=3 > 2 -> -3 -> 197            t=-3 odd <0 -> -2-1 = -3 -> 197
    //   6  -6  q=-2 f=2 = 2, q even -> -2 -> 198    t=-3 -> -3 -> 197
    //   7  -7  q=-2 f=1 -> -2 -> 198                t=-4 even -> -2 -> 198
    KpuConvDesc d = shape(6, 1, 1, 1);
    d.weights = {1};
    d.act = activation_table({ActSegment{0, -1, 2, 200}});
    const std::vector<uint8_t> in = {1, 2, 3, 5, 6, 7};
    EXPECT_EQ(run_conv(d, in, kRef), (std::vector<uint8_t>{198, 198, 199, 197, 198, 198}));
    EXPECT_EQ(run_conv(d, in, kV01), (std::vector<uint8_t>{198, 198, 199, 197, 197, 198}));
}

TEST(KpuFeature, HandClampingAndResultBias) {
    // bn = X * 3 - 100 (BN mul 3 add -100), identity-like segment {start -200, y_mul 1, bias 0}:
    //   out = clamp(bn + 200, 0, 255):  X=0 -> 100, X=10 -> 130, X=60 -> 280 -> 255.
    // A falling segment {start -200, y_mul -2, bias 250}: out = clamp(250 - 2(bn + 200)):
    //   X=0 -> 250 - 200 = 50, X=10 -> 250 - 260 = -10 -> 0, X=60 -> 0.
    // bn below the segment start (X=0, add -400 -> bn -400): segment 0 with bias 33 -> 33.
    KpuConvDesc d = shape(3, 1, 1, 1);
    d.weights = {1};
    d.bn = {BnEntry{3, -100, 0}};
    d.act = activation_table({ActSegment{-200, 1, 0, 0}});
    EXPECT_EQ(run_conv(d, {0, 10, 60}), (std::vector<uint8_t>{100, 130, 255}));
    d.act = activation_table({ActSegment{-200, -2, 0, 250}});
    EXPECT_EQ(run_conv(d, {0, 10, 60}), (std::vector<uint8_t>{50, 0, 0}));
    d.act[0].bias = 33;
    d.bn = {BnEntry{3, -400, 0}};
    // X=0: bn -400 -> segment 0: 0 * 0 + 33 = 33; X=10: bn -370 -> 33; X=60: bn -220 -> 33.
    EXPECT_EQ(run_conv(d, {0, 10, 60}), (std::vector<uint8_t>{33, 33, 33}));
}

TEST(KpuFeature, HandBatchNormShiftExtremesAndNegatives) {
    // conv = X (weight 1). Four output channels, pixels X = {100, 201}:
    //   c0 {mul 3,      add -5,   shift 0 }: 295, 598 -> 255
    //   c1 {mul -7,     add 300,  shift 0 }: -700+300 = -400 -> 0;  -1407+300 -> 0
    //   c2 {mul 32768,  add 7,    shift 15}: X + 7 = 107, 208
    //   c3 {mul -32769, add 250,  shift 15}: floor(-3276900/32768) = floor(-100.003) = -101
    //      -> 149;  floor(-6586569/32768) = floor(-201.006) = -202 -> 48
    KpuConvDesc d = shape(2, 1, 1, 4);
    d.weights = {1, 1, 1, 1};
    d.bn = {BnEntry{3, -5, 0}, BnEntry{-7, 300, 0}, BnEntry{32768, 7, 15},
            BnEntry{-32769, 250, 15}};
    EXPECT_EQ(run_conv(d, {100, 201}), (std::vector<uint8_t>{255, 255, 0, 0, 107, 208, 149, 48}));
    // The most negative 24-bit mul and 32-bit add: mul -2^23 shift 15 -> -256 X; add 2^31 - 1
    // saturates through the identity table: X = 1 -> 2147483647 - 256 -> 255.
    KpuConvDesc e = shape(1, 1, 1, 1);
    e.weights = {1};
    e.bn = {BnEntry{-8388608, 2147483647, 15}};
    EXPECT_EQ(run_conv(e, {1}), (std::vector<uint8_t>{255}));
    e.bn = {BnEntry{-8388608, -2147483647 - 1, 15}};  // most negative add -> 0
    EXPECT_EQ(run_conv(e, {1}), (std::vector<uint8_t>{0}));
}

TEST(KpuFeature, HandSixteenBitWeights) {
    // 16-bit mode: weights 1000 and 40000 on a 2 -> 1 1x1 conv, input {3}, {5}:
    //   conv = 3*1000 + 5*40000 = 203000; BN mul 1 shift 10 -> floor(203000/1024) = 198.
    KpuConvDesc d = shape(1, 1, 2, 1);
    d.weights16 = {1000, 40000};
    d.bn = {BnEntry{1, 0, 10}};
    EXPECT_EQ(run_conv(d, {3, 5}, kRef, false), (std::vector<uint8_t>{198}));
}

// =============================================================================================
// Random layers against the reference
// =============================================================================================

TEST(KpuFeature, Pool0BypassAgainstReference) {
    check_random(1, 7, 5, 3, 4, 3, false, 0);
    check_random(2, 7, 5, 3, 4, 1, false, 0);
}
TEST(KpuFeature, Pool1MaxTwoStrideTwoAgainstReference) {
    check_random(3, 9, 7, 3, 5, 3, false, 1);  // odd sizes: last column and row dropped
    check_random(4, 40, 6, 2, 3, 3, false, 1);  // 40 -> 20: write-back in the 17-32 class
}
TEST(KpuFeature, Pool2MeanTwoStrideTwoAgainstReference) {
    check_random(5, 9, 7, 3, 5, 3, false, 2);
    check_random(6, 34, 4, 2, 3, 1, false, 2);  // 34 -> 17
}
TEST(KpuFeature, Pool3MaxFourStrideFourAgainstReference) {
    check_random(7, 13, 9, 3, 4, 3, false, 3);  // 13x9 -> 3x2
    check_random(8, 70, 5, 2, 2, 3, false, 3);  // 70 -> 17
}
TEST(KpuFeature, Pool4MeanFourStrideFourAgainstReference) {
    check_random(9, 13, 9, 3, 4, 3, false, 4);
    check_random(10, 66, 8, 2, 2, 1, false, 4);  // 66 -> 16
}
TEST(KpuFeature, Pool5LeftTopTwoStrideTwoAgainstReference) {
    check_random(11, 11, 5, 3, 4, 3, false, 5);
}
TEST(KpuFeature, Pool6RightTopTwoStrideTwoAgainstReference) {
    check_random(12, 11, 5, 3, 4, 3, false, 6);
    check_random(13, 65, 3, 1, 2, 3, false, 6);  // 65 -> 32
}
TEST(KpuFeature, Pool7LeftTopFourStrideFourAgainstReference) {
    check_random(14, 15, 11, 3, 4, 3, false, 7);
}
TEST(KpuFeature, Pool8MeanTwoStrideOneAgainstReference) {
    check_random(15, 7, 5, 3, 4, 3, false, 8);
    check_random(16, 33, 3, 2, 2, 3, false, 8);
}
TEST(KpuFeature, Pool9MaxTwoStrideOneAgainstReference) {
    check_random(17, 7, 5, 3, 4, 3, false, 9);
    check_random(18, 17, 3, 2, 2, 1, false, 9);
}

TEST(KpuFeature, DepthwiseAgainstReference) {
    check_random(20, 9, 6, 5, 5, 3, true, 0);   // 5 channels: 2 row groups of 4 (last partial)
    check_random(21, 20, 4, 3, 3, 3, true, 1);  // 17-32 class, pooled
    check_random(22, 40, 3, 4, 4, 1, true, 9);  // 1x1 depthwise
    check_random(23, 70, 2, 2, 2, 3, true, 5);
}

TEST(KpuFeature, WidthUpTo16FourChannelsPerRow) {
    check_random(30, 1, 1, 1, 1, 3, false, 0);  // a single pixel: all 8 neighbours are padding
    check_random(31, 16, 3, 6, 7, 3, false, 0);  // 6 channels -> 2 groups of 4, 7 outputs
    check_random(32, 5, 4, 9, 5, 1, false, 0);
}
TEST(KpuFeature, Width17To32TwoChannelsPerRow) {
    check_random(33, 17, 3, 3, 3, 3, false, 0);
    check_random(34, 32, 2, 5, 3, 1, false, 0);
}
TEST(KpuFeature, Width33To64OneChannelPerRow) {
    check_random(35, 33, 3, 3, 2, 3, false, 0);
    check_random(36, 64, 2, 2, 3, 3, false, 0);
}
TEST(KpuFeature, WidthAbove64SeveralRowsPerLine) {
    check_random(37, 65, 3, 2, 2, 3, false, 0);   // row_len 2
    check_random(38, 130, 2, 2, 2, 3, false, 0);  // row_len 3
    check_random(39, 200, 3, 1, 2, 3, false, 1);  // row_len 4 in, 100 out (row_len 2)
}

TEST(KpuFeature, BothActivationRulesAgainstReference) {
    // Random layers where bn often lands exactly on 0 or -1024 (the table's segment starts):
    // BN mul 0 on one channel makes bn = add exactly.
    for (ActivationRule rule : {kRef, kV01}) {
        Rng rng(40);
        KpuConvDesc d = shape(8, 4, 2, 4, 3);
        randomise(d, rng);
        const std::vector<uint8_t> in = rng.bytes(2 * 8 * 4);
        centre(d, in, rng);
        d.bn[0] = BnEntry{0, 0, 0};      // bn = 0 everywhere: a segment start
        d.bn[1] = BnEntry{0, -1024, 0};  // bn = -1024: another start
        check_conv(d, in, rule, true, rule == kRef ? "reference rule" : "v0.1 rule");
    }
}

TEST(KpuFeature, ArgShiftsAndFlooringAgainstReference) {
    // Arbitrary (not zero-point shaped) arg_x / arg_w with shifts, so that the flooring of
    // negative products shows; small data keeps bn within the identity table's exact range.
    // 3x3 on one channel (9 taps) or 1x1 on two (2 taps), data 0..5, args within +-12.
    for (uint64_t seed = 50; seed < 58; ++seed) {
        Rng rng(seed);
        const bool k3 = seed % 2 != 0;
        const uint32_t ic = k3 ? 1 : 2;
        KpuConvDesc d = shape(5, 3, ic, 3, k3 ? 3 : 1);
        for (uint32_t i = 0; i < d.weight_count(); ++i)
            d.weights.push_back(static_cast<uint8_t>(rng.range(0, 5)));
        d.arg_x = static_cast<int32_t>(rng.range(-12, 12));
        d.shr_x = static_cast<uint32_t>(rng.range(1, 5));
        d.arg_w = static_cast<int32_t>(rng.range(-12, 12));
        d.shr_w = static_cast<uint32_t>(rng.range(1, 5));
        d.arg_add = rng.range(-20, 20);
        d.pad_value = static_cast<uint8_t>(rng.range(0, 5));
        for (auto& b : d.bn) b = BnEntry{1, 0, 0};
        d.act = activation_table({ActSegment{-129, 1, 0, 0}});  // out = bn + 129
        const std::vector<uint8_t> in = rng.bytes(ic * 5 * 3, 0, 5);
        check_conv(d, in, kRef, true, "board rule, seed " + std::to_string(seed), kBoard);
        check_conv(d, in, kRef, true, "nncase rule, seed " + std::to_string(seed), kWhole);
    }
}

TEST(KpuFeature, WideArgumentRangesAgainstReference) {
    // arg_x and arg_w anywhere in their 24 bits, arg_add anywhere in its 40 bits (x g_ic 3, so
    // conv reaches about 2^41). Per channel, BN mul 4..16 (random sign) with shift 15 and an
    // add that re-centres the channel's mean near 0 (computed with the reference), so that the
    // per-pixel variation (a few thousand) lands in the activation window (bn + 2048) / 16.
    for (uint64_t seed = 60; seed < 64; ++seed) {
        Rng rng(seed);
        KpuConvDesc d = shape(6, 4, 3, 4, 3, false, seed % 2 ? 9 : 0);
        for (uint32_t i = 0; i < d.weight_count(); ++i)
            d.weights.push_back(static_cast<uint8_t>(rng.range(0, 255)));
        d.arg_x = static_cast<int32_t>(rng.range(-(1 << 23), (1 << 23) - 1));
        d.shr_x = 15;
        d.arg_w = static_cast<int32_t>(rng.range(-(1 << 23), (1 << 23) - 1));
        d.shr_w = 12;
        d.arg_add = rng.range(-(int64_t{1} << 39), (int64_t{1} << 39) - 1);
        d.pad_value = static_cast<uint8_t>(rng.range(0, 255));
        const std::vector<uint8_t> in = rng.bytes(3 * 6 * 4);
        const std::vector<int64_t> w(d.weights.begin(), d.weights.end());
        d.bn.clear();
        for (uint32_t o = 0; o < 4; ++o) {
            int32_t mul = static_cast<int32_t>(rng.range(4, 16));
            if (rng.u32() % 2) mul = -mul;
            int64_t sum = 0;
            for (uint32_t y = 0; y < 4; ++y)
                for (uint32_t x = 0; x < 6; ++x)
                    sum += ref::floor_shift(ref::conv_at(d, in, w, o, y, x) * mul, 15);
            const int64_t add = -sum / 24 + rng.range(-200, 200);
            ASSERT_LT(std::abs(add), int64_t{1} << 31) << "test set-up: BN add out of range";
            d.bn.push_back(BnEntry{mul, static_cast<int32_t>(add), 15});
        }
        d.act = activation_table({ActSegment{-2048, 1, 4, 0}});
        check_conv(d, in, kRef, true, "wide seed " + std::to_string(seed), kBoard);
        check_conv(d, in, kRef, true, "wide seed (nncase rule) " + std::to_string(seed), kWhole);
    }
}

/// A random layer whose arg_x and arg_w are not multiples of 2^shr (as Maix-EMC writes them),
/// with BN scale 1 so that a difference of one in conv shows in the output byte. Small data
/// (`in` 0..6, weights 0..1) keep conv within the identity window of the activation.
KpuConvDesc inexact_args_layer(Rng& rng, uint32_t W, uint32_t H, uint32_t IC, uint32_t OC,
                               uint32_t k, bool dw, const std::vector<uint8_t>& in) {
    KpuConvDesc d = shape(W, H, IC, OC, k, dw);
    for (uint32_t i = 0; i < d.weight_count(); ++i)
        d.weights.push_back(static_cast<uint8_t>(rng.range(0, 1)));
    d.arg_x = static_cast<int32_t>(rng.range(-50000, 50000)) | 1;  // odd: never exact
    d.shr_x = 15;
    d.arg_w = static_cast<int32_t>(rng.range(-50000, 50000)) | 1;
    d.shr_w = 13;
    d.pad_value = static_cast<uint8_t>(rng.range(0, 6));
    const std::vector<int64_t> w(d.weights.begin(), d.weights.end());
    d.bn.clear();
    for (uint32_t o = 0; o < OC; ++o) {
        // Centre the channel under the board rule; identity BN otherwise.
        int64_t sum = 0;
        for (uint32_t y = 0; y < H; ++y)
            for (uint32_t x = 0; x < W; ++x) sum += ref::conv_at(d, in, w, o, y, x, kBoard);
        d.bn.push_back(BnEntry{1, static_cast<int32_t>(-sum / (int64_t{W} * H)), 0});
    }
    d.act = activation_table({ActSegment{-129, 1, 0, 0}});  // out = bn + 129 (exact)
    return d;
}

TEST(KpuFeature, ArgXRulesDifferOnInexactArgsAgainstReference) {
    // arg_x / arg_w with low bits set and several input channels: the rules give different
    // bytes, and each matches the reference under its own rule.
    for (uint64_t seed = 90; seed < 94; ++seed) {
        Rng rng(seed);
        const bool k3 = seed % 2 == 0;
        const uint32_t W = 7, H = 5, IC = k3 ? 5 : 9, OC = 5;
        const std::vector<uint8_t> in = rng.bytes(std::size_t{IC} * W * H, 0, 6);
        const KpuConvDesc d = inexact_args_layer(rng, W, H, IC, OC, k3 ? 3 : 1, false, in);
        const std::string what = "seed " + std::to_string(seed);
        check_conv(d, in, kRef, true, "board, " + what, kBoard);
        check_conv(d, in, kRef, true, "nncase, " + what, kWhole);
        EXPECT_NE(run_conv(d, in, kRef, true, kBoard), run_conv(d, in, kRef, true, kWhole)) << what;
    }
}

TEST(KpuFeature, ArgXRulesAgreeOnExactArgsAndDepthwise) {
    // nncase's encoding (arg = integer x 2^15, shift 15): both rules give identical bytes on
    // a normal layer; a depthwise layer agrees even with inexact args.
    for (uint64_t seed = 95; seed < 98; ++seed) {
        Rng rng(seed);
        KpuConvDesc d = shape(9, 6, 6, 5, 3, false, 1);
        randomise(d, rng);
        const std::vector<uint8_t> in = rng.bytes(6 * 9 * 6);
        d.arg_x *= 32768;
        d.shr_x = 15;
        d.arg_w = static_cast<int32_t>(rng.range(-200, 200)) * 8;
        d.shr_w = 3;
        centre(d, in, rng);
        const std::string what = "seed " + std::to_string(seed);
        check_conv(d, in, kRef, true, "exact args, " + what, kBoard);
        EXPECT_EQ(run_conv(d, in, kRef, true, kBoard), run_conv(d, in, kRef, true, kWhole)) << what;
    }
    Rng rng(99);
    const std::vector<uint8_t> in = rng.bytes(4 * 7 * 5, 0, 6);
    const KpuConvDesc dw = inexact_args_layer(rng, 7, 5, 4, 4, 3, true, in);
    check_conv(dw, in, kRef, true, "depthwise inexact args", kBoard);
    EXPECT_EQ(run_conv(dw, in, kRef, true, kBoard), run_conv(dw, in, kRef, true, kWhole));
}

TEST(KpuFeature, ArgRuleHelpers) {
    EXPECT_TRUE(kpu::arg_rules_agree(-3 * 32768, 15));
    EXPECT_TRUE(kpu::arg_rules_agree(12345, 0));
    EXPECT_FALSE(kpu::arg_rules_agree(-3909032, 15));  // maixemc_cifar10_v3, layer 0
    EXPECT_FALSE(kpu::arg_rules_agree(-3906599, 15));  // layer 3
    EXPECT_FALSE(kpu::arg_rules_agree(1, 1));
    EXPECT_EQ(kpu::parse_arg_x_rule("board"), kBoard);
    EXPECT_EQ(kpu::parse_arg_x_rule("per-channel"), kBoard);
    EXPECT_EQ(kpu::parse_arg_x_rule("nncase"), kWhole);
    EXPECT_EQ(kpu::parse_arg_x_rule("whole-sum"), kWhole);
    EXPECT_THROW(kpu::parse_arg_x_rule("floor"), std::invalid_argument);
    EXPECT_STREQ(kpu::to_string(kBoard), "board");
    EXPECT_STREQ(kpu::to_string(kWhole), "nncase");
    EXPECT_EQ(kpu::KpuOptions{}.arg_x_rule, kBoard);
}

TEST(KpuFeature, NncaseReluTableAgainstReference) {
    // nncase 0.1's ReLU table: out = round_half_even(bn / 1024) for bn > 0, else 0.
    Rng rng(70);
    KpuConvDesc d = shape(10, 6, 3, 4, 3, false, 1);
    randomise(d, rng);
    for (auto& b : d.bn) b.mul *= 128;  // spread bn over about +-50000
    const std::vector<uint8_t> in = rng.bytes(3 * 10 * 6);
    centre(d, in, rng, true, 20000);
    d.act = relu_table_nncase01();
    check_conv(d, in, kRef, true, "relu reference");
    check_conv(d, in, kV01, true, "relu v0.1");
    // Hand: bn exactly 1536 = 1.5 * 1024 -> 2 (even); 2560 = 2.5 * 1024 -> 2 under ACT_ROUND,
    // 3 under KCS; 512 -> 0 (even) / 1.
    KpuConvDesc h = shape(3, 1, 1, 1);
    h.weights = {1};
    h.bn = {BnEntry{512, 0, 0}};
    h.act = relu_table_nncase01();
    EXPECT_EQ(run_conv(h, {3, 5, 1}, kRef), (std::vector<uint8_t>{2, 2, 0}));
    EXPECT_EQ(run_conv(h, {3, 5, 1}, kV01), (std::vector<uint8_t>{2, 3, 1}));
}

TEST(KpuFeature, MultipleWeightLoadsGiveTheSameResult) {
    // 3x3, 128 -> 64 channels: 1152 weight bytes per output channel, 26 channels per 30 KiB
    // load, so three loads (26 + 26 + 12).
    Rng rng(80);
    KpuConvDesc d = shape(4, 4, 128, 64, 3, false, 0);
    randomise(d, rng);
    const std::vector<uint8_t> in = rng.bytes(128 * 16);
    centre(d, in, rng);
    {
        KmodelV3Builder b;
        KpuConvDesc dd = d;
        dd.main_mem_out = 0;
        b.add_conv(dd);
        b.add_output(0, dd.out_elements());
        const Model m = parse_kmodel(b.build());
        const kpu::LayerArgument& a = std::get<KpuConvOp>(m.layers[0].op).arg;
        EXPECT_EQ(a.load_time, 2u);
        EXPECT_EQ(a.o_ch_num_coef, 25u);
        EXPECT_EQ(a.para_size, 26u * 1152u);
    }
    check_conv(d, in, kRef, true, "3 loads");
    // 1x1, 32 -> 1000: 960 channels per load, two loads.
    Rng rng2(81);
    KpuConvDesc e = shape(2, 2, 32, 1000, 1, false, 0);
    randomise(e, rng2);
    const std::vector<uint8_t> in2 = rng2.bytes(32 * 4);
    centre(e, in2, rng2);
    check_conv(e, in2, kRef, true, "2 loads");
}

TEST(KpuFeature, SixteenBitWeightsAgainstReference) {
    for (uint32_t k : {1u, 3u}) {
        Rng rng(90 + k);
        KpuConvDesc d = shape(9, 5, 3, 4, k, false, k == 3 ? 1 : 0);
        randomise(d, rng, false);
        for (auto& b : d.bn) b = BnEntry{b.mul > 0 ? 3 : -3, b.add, 15};
        const std::vector<uint8_t> in = rng.bytes(3 * 9 * 5);
        centre(d, in, rng, false);
        check_conv(d, in, kRef, false, "16-bit k" + std::to_string(k));
    }
    // Depthwise in 16-bit mode.
    Rng rng(95);
    KpuConvDesc d = shape(20, 3, 4, 4, 3, true, 0);
    randomise(d, rng, false);
    for (auto& b : d.bn) b = BnEntry{1, b.add, 15};
    const std::vector<uint8_t> in = rng.bytes(4 * 20 * 3);
    centre(d, in, rng, false);
    check_conv(d, in, kRef, false, "16-bit depthwise");
}

// =============================================================================================
// Several layers: KPU RAM write-back, persistence, CPU layers touching KPU RAM
// =============================================================================================

TEST(KpuFeature, ChainedLayersThroughKpuRam) {
    // conv1: 40x6x3 -> 5, 3x3, max_2_s2 -> 20x3, written to KPU RAM row 2000 and streamed to 0.
    // conv2: reads row 2000, 1x1 5 -> 4 -> row 3000, streamed to 512.
    // conv3: reads row 3000, depthwise 3x3 on 4 channels, max_2_s1 -> streamed to 1024.
    Rng rng(100);
    KpuConvDesc c1 = shape(40, 6, 3, 5, 3, false, 1);
    randomise(c1, rng);
    c1.in_row = 0;
    c1.out_row = 2000;
    c1.main_mem_out = 0;
    KpuConvDesc c2 = shape(20, 3, 5, 4, 1, false, 0);
    randomise(c2, rng);
    c2.in_row = 2000;
    c2.out_row = 3000;
    c2.main_mem_out = 1280;  // outputs are declared as elements x 4 bytes: keep them apart
    KpuConvDesc c3 = shape(20, 3, 4, 4, 3, true, 9);
    randomise(c3, rng);
    c3.in_row = 3000;
    c3.out_row = 100;  // unused rows
    c3.main_mem_out = 2304;
    const std::vector<uint8_t> in = rng.bytes(3 * 40 * 6);
    centre(c1, in, rng);
    const std::vector<uint8_t> e1 = ref::layer(c1, in);
    centre(c2, e1, rng);
    const std::vector<uint8_t> e2 = ref::layer(c2, e1);
    centre(c3, e2, rng);
    const std::vector<uint8_t> e3 = ref::layer(c3, e2);
    KmodelV3Builder b;
    b.add_conv(c1);
    b.add_conv(c2);
    b.add_conv(c3);
    b.add_output(0, c1.out_elements());
    b.add_output(1280, c2.out_elements());
    b.add_output(2304, c3.out_elements());
    const auto outs = run_model(b.build(), {c1.out_elements(), c2.out_elements(), c3.out_elements()}, in);
    ASSERT_EQ(outs.size(), 3u);
    expect_same(outs[0], e1, 20, 3, "conv1");
    expect_same(outs[1], e2, 20, 3, "conv2");
    expect_same(outs[2], e3, 20, 3, "conv3");
}

TEST(KpuFeature, ChainedLayersAcrossLayoutClasses) {
    // 70 wide (row_len 2) -> mean_4_s4 -> 17 wide (2 per row) -> left_top -> 8 wide (4 per row).
    Rng rng(101);
    KpuConvDesc c1 = shape(70, 8, 2, 3, 3, false, 4);
    randomise(c1, rng);
    c1.out_row = 5000;
    KpuConvDesc c2 = shape(17, 2, 3, 6, 3, false, 5);
    randomise(c2, rng);
    c2.in_row = 5000;
    c2.out_row = 6000;
    c2.main_mem_out = 0;
    const std::vector<uint8_t> in = rng.bytes(2 * 70 * 8);
    centre(c1, in, rng);
    const std::vector<uint8_t> e1 = ref::layer(c1, in);
    centre(c2, e1, rng);
    KmodelV3Builder b;
    b.add_conv(c1);
    b.add_conv(c2);
    b.add_output(0, c2.out_elements());
    const auto outs = run_model(b.build(), {c2.out_elements()}, in);
    ASSERT_EQ(outs.size(), 1u);
    expect_same(outs[0], ref::layer(c2, e1), c2.out_width(), c2.out_height(), "two layers");
}

TEST(KpuFeature, AddPaddingLeavesOtherPixelsUntouched) {
    // conv A: 4x4x3 input, identity 1x1 (w[o][i] = o == i) with BN add 1 -> A = in + 1, written
    //   to KPU RAM row 700 (4x4 layout: 4 channels per row) and streamed to main 0 (48 bytes).
    // ADD_PADDING: channels 3 from main 5.. -> pixel (0,0) of channel c := A[5 + c]
    //   (channel 0's pixels (1,1), (1,2), (1,3)); the other 15 pixels keep A's values.
    // conv B: reads row 700, identity with BN add 2 -> streamed to main 64.
    // REMOVE_PADDING: main 64 -> 256, 3 channels: out[c] = B[16 c].
    std::vector<uint8_t> in(48);
    for (int i = 0; i < 48; ++i) in[i] = static_cast<uint8_t>(3 * i + 1);
    KpuConvDesc a = shape(4, 4, 3, 3);
    a.weights = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    for (auto& b : a.bn) b.add = 1;
    a.out_row = 700;
    a.main_mem_out = 0;
    KpuConvDesc bconv = shape(4, 4, 3, 3);
    bconv.weights = a.weights;
    for (auto& b : bconv.bn) b.add = 2;
    bconv.in_row = 700;
    bconv.out_row = 800;
    bconv.main_mem_out = 64;
    KmodelV3Builder b;
    b.add_conv(a);
    b.add_add_padding(5, 700, 3);
    b.add_conv(bconv);
    b.add_remove_padding(64, 256, 3);
    b.add_output(64, 48);
    b.add_output(256, 3);
    const auto outs = run_model(b.build(), {48, 3}, in);
    ASSERT_EQ(outs.size(), 2u);
    // Expected by hand: A[i] = in[i] + 1 = 3i + 2. After padding: channel c pixel (0,0) =
    // A[5 + c] = 3(5 + c) + 2 = 17, 20, 23. B = that + 2.
    std::vector<uint8_t> expected(48);
    for (int i = 0; i < 48; ++i) expected[i] = static_cast<uint8_t>(3 * i + 2 + 2);
    expected[0] = 17 + 2;
    expected[16] = 20 + 2;
    expected[32] = 23 + 2;
    expect_same(outs[0], expected, 4, 4, "conv B after ADD_PADDING");
    EXPECT_EQ(outs[1], (std::vector<uint8_t>{19, 22, 25}));
}

TEST(KpuFeature, AddPaddingAcrossTwoChannelGroups) {
    // Six channels of 4x4: channels 0-3 share rows 300..303, channels 4-5 rows 304..307.
    // ADD_PADDING writes byte in[c] at row*64 + (c/4)*256 + (c%4)*16, i.e. pixel (0,0) of c.
    // conv A (identity, 6 -> 6, BN add 0) fills rows 300.. and streams to main 0 (96 bytes):
    // A = in. ADD_PADDING takes main 90..95 (channel 5's last six pixels) as the new (0,0)s.
    // conv B (identity) re-reads rows 300.. and streams to main 128.
    std::vector<uint8_t> in(96);
    for (int i = 0; i < 96; ++i) in[i] = static_cast<uint8_t>(2 * i + 1);
    KpuConvDesc a = shape(4, 4, 6, 6);
    a.weights.assign(36, 0);
    for (int c = 0; c < 6; ++c) a.weights[c * 6 + c] = 1;
    a.in_row = 0;
    a.out_row = 300;
    a.main_mem_out = 0;
    KpuConvDesc bconv = a;
    bconv.in_row = 300;
    bconv.out_row = 400;
    bconv.main_mem_out = 128;
    KmodelV3Builder b;
    b.add_conv(a);
    b.add_add_padding(90, 300, 6);
    b.add_conv(bconv);
    b.add_output(128, 96);
    const auto outs = run_model(b.build(), {96}, in);
    ASSERT_EQ(outs.size(), 1u);
    // Expected: in, with element (c, 0, 0) = c*16 replaced by in[90 + c] = 2(90 + c) + 1.
    std::vector<uint8_t> expected = in;
    for (int c = 0; c < 6; ++c) expected[c * 16] = static_cast<uint8_t>(2 * (90 + c) + 1);
    expect_same(outs[0], expected, 4, 4, "six channels after ADD_PADDING");
}

TEST(KpuFeature, NoActivationSegmentIsARunTimeError) {
    // A table whose segment 0 starts at 0 (not at -2^35): bn = X = 0 is not > 0, so under the
    // reference rule no segment matches (undefined in nncase; kpusim reports an error naming
    // the layer). Under the v0.1 rule start <= bn holds and segment 0 gives 0 * 1 + 9 = 9.
    KpuConvDesc d = shape(2, 1, 1, 1);
    d.weights = {1};
    d.act = activation_table({});
    d.act[0] = ActSegment{0, 1, 0, 9};
    EXPECT_EQ(run_conv(d, {0, 4}, kV01), (std::vector<uint8_t>{9, 13}));
    d.main_mem_out = 0;
    KmodelV3Builder b;
    b.add_conv(d);
    b.add_output(0, 2);
    const Model m = parse_kmodel(b.build());
    try {
        run_functional(m, {0, 4});
        ADD_FAILURE() << "no error for a value below every segment";
    } catch (const KmodelError& e) {
        ADD_FAILURE() << "a run-time fault reported as a file error: " << e.what();
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("layer 0"), std::string::npos) << e.what();
    }
}

TEST(KpuFeature, KpuRamPersistsAcrossLayers) {
    // conv A writes channels to row 900; conv B writes elsewhere (row 1900); conv C reads row 900
    // again: A's result must still be there.
    Rng rng(110);
    KpuConvDesc a = shape(12, 4, 2, 3, 3);
    randomise(a, rng);
    a.out_row = 900;
    KpuConvDesc bconv = shape(12, 4, 3, 2, 1);
    randomise(bconv, rng);
    bconv.in_row = 900;
    bconv.out_row = 1900;
    KpuConvDesc c = shape(12, 4, 3, 5, 3, false, 2);
    randomise(c, rng);
    c.in_row = 900;
    c.out_row = 2900;
    c.main_mem_out = 0;
    const std::vector<uint8_t> in = rng.bytes(2 * 12 * 4);
    centre(a, in, rng);
    const std::vector<uint8_t> ea = ref::layer(a, in);
    centre(c, ea, rng);
    KmodelV3Builder b;
    b.add_conv(a);
    b.add_conv(bconv);
    b.add_conv(c);
    b.add_output(0, c.out_elements());
    const auto outs = run_model(b.build(), {c.out_elements()}, in);
    ASSERT_EQ(outs.size(), 1u);
    expect_same(outs[0], ref::layer(c, ea), c.out_width(), c.out_height(), "conv C");
}

TEST(KpuFeature, UploadThenConv) {
    // conv A streams 3 x 2 x 8 = 48 bytes to main 0; K210_UPLOAD re-reads them as 2 x 4 x 6 into
    // row 4000; conv B (3x3, mean_2_s1) runs on that.
    Rng rng(120);
    KpuConvDesc a = shape(8, 2, 2, 3, 1);
    randomise(a, rng);
    a.out_row = 3000;
    a.main_mem_out = 0;
    KpuConvDesc bconv = shape(6, 4, 2, 2, 3, false, 8);
    randomise(bconv, rng);
    bconv.in_row = 4000;
    bconv.out_row = 4100;
    bconv.main_mem_out = 64;
    const std::vector<uint8_t> in = rng.bytes(2 * 8 * 2);
    centre(a, in, rng);
    const std::vector<uint8_t> ea = ref::layer(a, in);  // 3 x 2 x 8 = 2 x 4 x 6 bytes
    centre(bconv, ea, rng);
    KmodelV3Builder b;
    b.add_conv(a);
    b.add_upload(0, 4000, 6, 4, 2);
    b.add_conv(bconv);
    b.add_output(64, bconv.out_elements());
    const auto outs = run_model(b.build(), {bconv.out_elements()}, in);
    ASSERT_EQ(outs.size(), 1u);
    expect_same(outs[0], ref::layer(bconv, ea), 6, 4, "conv B after upload");
}

TEST(KpuFeature, DequantizedOutput) {
    // The usual V3 tail: the conv's stream dequantized to float (q * 0.5 - 3, exact in float).
    Rng rng(130);
    KpuConvDesc d = shape(6, 3, 2, 2, 3);
    randomise(d, rng);
    d.main_mem_out = 0;
    const std::vector<uint8_t> in = rng.bytes(2 * 6 * 3);
    centre(d, in, rng);
    KmodelV3Builder b;
    b.add_conv(d);
    b.add_dequantize(0, 40, d.out_elements(), 0.5f, -3.0f);
    b.add_output(40, d.out_elements());
    const Model m = parse_kmodel(b.build());
    const std::vector<OutputTensor> outs = run_functional(m, in);
    ASSERT_EQ(outs.size(), 1u);
    const std::vector<float> f = outs[0].as_floats();
    const std::vector<uint8_t> e = ref::layer(d, in);
    ASSERT_EQ(f.size(), e.size());
    for (std::size_t i = 0; i < e.size(); ++i)
        EXPECT_EQ(f[i], static_cast<float>(e[i]) * 0.5f - 3.0f) << "element " << i;
}

// =============================================================================================
// Negative tests
// =============================================================================================

/// A valid conv at layer 0 and the (mutated) conv under test at layer 1.
std::vector<uint8_t> with_bad_layer1(const std::function<void(KpuConvDesc&)>& mutate) {
    KpuConvDesc a = shape(8, 4, 2, 3, 3);
    a.weights.assign(a.weight_count(), 1);
    a.out_row = 1000;
    KpuConvDesc bad = shape(8, 4, 3, 2, 1, false, 1);
    bad.weights.assign(bad.weight_count(), 1);
    bad.in_row = 1000;
    bad.out_row = 2000;
    bad.main_mem_out = 0;
    mutate(bad);
    KmodelV3Builder b;
    b.add_conv(a);
    b.add_conv(bad);
    b.add_output(0, 64);
    return b.build();
}

/// parse_kmodel must throw KmodelError with one of `kinds`; when `layer` is set the error names
/// that layer; when `fields` is not empty the error's field is one of them and the message
/// contains it.
void expect_reject(const std::vector<uint8_t>& file, std::set<KmodelErrorKind> kinds,
                   std::optional<uint32_t> layer, std::set<std::string> fields,
                   const std::string& what) {
    try {
        parse_kmodel(file);
        ADD_FAILURE() << what << ": parse_kmodel accepted the file";
    } catch (const KmodelError& e) {
        const std::string msg = e.what();
        EXPECT_TRUE(kinds.count(e.kind())) << what << ": kind " << to_string(e.kind())
                                           << ", message: " << msg;
        if (layer) {
            EXPECT_EQ(e.layer(), layer) << what << ": " << msg;
            EXPECT_NE(msg.find("layer " + std::to_string(*layer)), std::string::npos)
                << what << ": message does not name layer " << *layer << ": " << msg;
        }
        if (!fields.empty()) {
            EXPECT_TRUE(fields.count(e.field())) << what << ": field '" << e.field() << "', message: " << msg;
            EXPECT_NE(msg.find(e.field()), std::string::npos) << what << ": " << msg;
        }
    } catch (const std::exception& e) {
        ADD_FAILURE() << what << ": threw something other than KmodelError: " << e.what();
    }
}

const std::set<KmodelErrorKind> kUndoc = {KmodelErrorKind::undocumented_field};
const std::set<KmodelErrorKind> kIncons = {KmodelErrorKind::inconsistent};
const std::set<KmodelErrorKind> kEither = {KmodelErrorKind::undocumented_field,
                                           KmodelErrorKind::inconsistent};

TEST(KpuFeature, RejectUndocumentedFields) {
    for (const char* f : {"ram_flag", "full_add", "pad_type", "first_stride", "bypass_conv"}) {
        expect_reject(with_bad_layer1([&](KpuConvDesc& d) { d.set(f, 1); }), kUndoc, 1, {f}, f);
    }
    expect_reject(with_bad_layer1([](KpuConvDesc& d) { d.set("coef_size", 3); }), kUndoc, 1,
                  {"coef_size"}, "coef_size");
    expect_reject(with_bad_layer1([](KpuConvDesc& d) { d.set("coef_column_offset", 1); }), kUndoc,
                  1, {"coef_column_offset"}, "coef_column_offset");
    expect_reject(with_bad_layer1([](KpuConvDesc& d) { d.set("coef_row_offset", 5); }), kUndoc, 1,
                  {"coef_row_offset"}, "coef_row_offset");
    expect_reject(with_bad_layer1([](KpuConvDesc& d) { d.set("dma_burst_size", 7); }), kUndoc, 1,
                  {"dma_burst_size"}, "dma_burst_size");
}

TEST(KpuFeature, RejectInvalidKernelAndPoolTypes) {
    for (uint64_t k : {2u, 3u, 7u})
        expect_reject(with_bad_layer1([&](KpuConvDesc& d) { d.set("kernel_type", k); }), kEither,
                      1, {"kernel_type"}, "kernel_type " + std::to_string(k));
    for (uint64_t p : {10u, 15u})
        expect_reject(with_bad_layer1([&](KpuConvDesc& d) { d.set("pool_type", p); }), kEither, 1,
                      {"pool_type"}, "pool_type " + std::to_string(p));
}

TEST(KpuFeature, RejectWrongLayoutRegisters) {
    // Layer 1 is 8 wide, 4 high: channel_switch_addr 4, row_switch_addr 1, coef_group 4;
    // output 4x2: wb_channel_switch_addr 2, wb_row_switch_addr 1, wb_group 4.
    const std::pair<const char*, uint64_t> cases[] = {
        {"channel_switch_addr", 5}, {"row_switch_addr", 2}, {"coef_group", 2},
        {"wb_channel_switch_addr", 4}, {"wb_row_switch_addr", 0}, {"wb_group", 1}};
    for (const auto& c : cases)
        expect_reject(with_bad_layer1([&](KpuConvDesc& d) { d.set(c.first, c.second); }),
                      kIncons, 1, {c.first}, c.first);
}

TEST(KpuFeature, RejectOutputSizeNotInputOverStride) {
    // Layer 1: 8x4 with max_2_s2 must give 4x2 (o_row_wid 3, o_col_high 1). The write-back
    // registers and dma_parameter are made consistent with the wrong size, so that only the
    // output-size rule is broken.
    expect_reject(with_bad_layer1([](KpuConvDesc& d) {
                      d.set("o_row_wid", 7).set("channel_byte_num", 15).set("dma_total_byte", 31);
                  }),
                  kIncons, 1, {"o_row_wid"}, "o_row_wid = in width");
    expect_reject(with_bad_layer1([](KpuConvDesc& d) {
                      d.set("o_col_high", 3).set("wb_channel_switch_addr", 4);
                      d.set("channel_byte_num", 15).set("dma_total_byte", 31);
                  }),
                  kIncons, 1, {"o_col_high"}, "o_col_high = in height");
}

TEST(KpuFeature, RejectDepthwiseWithDifferentChannelCounts) {
    // Layer 1 is 3 -> 2; para_size made what a depthwise layer of 2 channels would load.
    expect_reject(with_bad_layer1([](KpuConvDesc& d) {
                      d.set("depth_wise_layer", 1).set("para_size", 2);
                  }),
                  kIncons, 1, {"depth_wise_layer", "i_ch_num", "o_ch_num"}, "depthwise 3 -> 2");
}

TEST(KpuFeature, RejectUnknownLayerTypes) {
    for (uint32_t code : {0u, 26u, 9999u, 10244u}) {
        KpuConvDesc a = shape(4, 4, 1, 1);
        a.weights = {1};
        a.main_mem_out = 0;
        KmodelV3Builder b;
        b.add_conv(a);
        b.add_raw_layer_words(code, {0, 0, 16, 16});
        b.add_output(0, 16);
        std::set<KmodelErrorKind> kinds = {KmodelErrorKind::unknown_layer_type};
        if (code == 0) kinds.insert(KmodelErrorKind::unsupported_layer);
        expect_reject(b.build(), kinds, 1, {}, "type " + std::to_string(code));
    }
}

TEST(KpuFeature, RejectDefinedButUnsupportedLayerType) {
    // GLOBAL_MAX_POOL2D (3) is defined but the SDK runtime does not run it (spec §7.2).
    KpuConvDesc a = shape(4, 4, 1, 1);
    a.weights = {1};
    a.main_mem_out = 0;
    KmodelV3Builder b;
    b.add_conv(a);
    b.add_raw_layer_words(kV3GlobalMaxPool2d, {0, 0, 16, 16, 1});
    b.add_output(0, 16);
    expect_reject(b.build(), {KmodelErrorKind::unsupported_layer}, 1, {}, "GLOBAL_MAX_POOL2D");
}

KmodelV3Builder valid_two_layer() {
    KpuConvDesc a = shape(4, 4, 2, 2, 3);
    a.weights.assign(a.weight_count(), 1);
    a.main_mem_out = 0;
    KmodelV3Builder b;
    b.add_conv(a);
    b.add_dequantize(0, 32, 32, 1.0f, 0.0f);
    b.add_output(32, 32);
    return b;
}

TEST(KpuFeature, ValidBaselineParses) {
    KmodelV3Builder b = valid_two_layer();
    EXPECT_NO_THROW(parse_kmodel(b.build()));
}

TEST(KpuFeature, RejectTruncatedFiles) {
    KmodelV3Builder b = valid_two_layer();
    const std::vector<uint8_t> full = b.build();
    const auto& L = b.built_layers();
    const std::set<KmodelErrorKind> trunc = {KmodelErrorKind::truncated};
    const std::set<KmodelErrorKind> trunc_or_oob = {KmodelErrorKind::truncated,
                                                    KmodelErrorKind::out_of_bounds};
    for (std::size_t n : {std::size_t{0}, std::size_t{3}, std::size_t{20}}) {
        V3BuildOptions o;
        o.truncate_to = n;
        expect_reject(b.build(o), trunc, std::nullopt, {}, "header cut at " + std::to_string(n));
    }
    {   // inside the output table (28..36) and the layer headers (36..52)
        V3BuildOptions o;
        o.truncate_to = 32;
        expect_reject(b.build(o), trunc, std::nullopt, {}, "output table cut");
        o.truncate_to = 44;
        expect_reject(b.build(o), trunc, std::nullopt, {}, "layer headers cut");
    }
    {   // inside the conv's weights and activation table
        V3BuildOptions o;
        o.truncate_to = L[0].weights_offset + 10;
        expect_reject(b.build(o), trunc_or_oob, std::nullopt, {}, "weights cut");
        o.truncate_to = L[0].act_offset + 100;
        expect_reject(b.build(o), trunc_or_oob, std::nullopt, {}, "activation cut");
    }
    {   // the last body loses more than its padding (the dequantize body has none)
        V3BuildOptions o;
        o.truncate_to = full.size() - 4;
        expect_reject(b.build(o), trunc_or_oob, std::nullopt, {}, "last body cut");
    }
}

TEST(KpuFeature, RejectOffsetsPastTheEnd) {
    const std::set<KmodelErrorKind> oob = {KmodelErrorKind::out_of_bounds,
                                           KmodelErrorKind::truncated};
    auto with_conv = [](const std::function<void(KpuConvDesc&)>& mutate) {
        KpuConvDesc a = shape(4, 4, 2, 2, 3);
        a.weights.assign(a.weight_count(), 1);
        a.main_mem_out = 0;
        mutate(a);
        KmodelV3Builder b;
        b.add_conv(a);
        b.add_output(0, 32);
        return b.build();
    };
    expect_reject(with_conv([](KpuConvDesc& d) { d.weights_offset = 100000; }), oob, 0, {},
                  "weights_offset");
    expect_reject(with_conv([](KpuConvDesc& d) { d.bn_offset = 0xFFFFFFF0u; }), oob, 0, {},
                  "bn_offset (wraps in 32 bits)");
    expect_reject(with_conv([](KpuConvDesc& d) { d.act_offset = 1024 + 128; }), oob, 0, {},
                  "act_offset (table runs past the end)");
    expect_reject(with_conv([](KpuConvDesc& d) { d.layer_offset = 0xFFFFFFFFu; }), oob, 0, {},
                  "layer_offset");
    // A body_size running past the end of the file.
    KmodelV3Builder b = valid_two_layer();
    b.set_body_size(1, 1u << 30);
    expect_reject(b.build(), oob, std::nullopt, {}, "body_size");
}

TEST(KpuFeature, RejectMainMemoryRangesOutsideTheBuffer) {
    // The conv streams 32 bytes to main 0 but the model declares an 8-byte main buffer.
    KmodelV3Builder b = valid_two_layer();
    b.set_main_mem_usage(8);
    expect_reject(b.build(), {KmodelErrorKind::out_of_bounds, KmodelErrorKind::inconsistent},
                  std::nullopt, {}, "main_mem_usage too small");
}

TEST(KpuFeature, RejectWrongVersion) {
    for (uint32_t v : {1u, 2u, 4u}) {
        KmodelV3Builder b = valid_two_layer();
        b.set_version(v);
        expect_reject(b.build(), {KmodelErrorKind::unsupported_version}, std::nullopt, {},
                      "version " + std::to_string(v));
    }
}

TEST(KpuFeature, RejectFeatureMapPastKpuRam) {
    // Input 4 rows long starting at row 32766: ends at 32770 > 32768.
    KpuConvDesc a = shape(4, 4, 1, 1);
    a.weights = {1};
    a.in_row = 32766;
    a.out_row = 0;
    a.main_mem_out = 0;
    KmodelV3Builder b;
    b.add_conv(a);
    b.add_output(0, 16);
    EXPECT_THROW(parse_kmodel(b.build()), CapacityError);
}

}  // namespace
}  // namespace kpusim
