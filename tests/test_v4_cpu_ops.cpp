// kmodel V4 CPU operations: builder-made bodies parsed by parse_cpu_node and run by execute(),
// against values worked out by hand or by a plain reference of kmodel-spec §16 written here.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "cpu_layers/newlib_expf.h"
#include "cpu_layers/v4/v4_kernels.h"
#include "models/kmodel_error.h"
#include "models/kmodel_v4_builder.h"
#include "models/kmodel_v4_cpu_ops.h"

using namespace kpusim;
using namespace kpusim::v4build;

namespace {

uint32_t bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
float from_bits(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

/// Small memories: 512 bytes of constants, 4 KiB main, 4 KiB KPU RAM.
struct Mem {
    std::vector<uint8_t> constants = std::vector<uint8_t>(512, 0);
    std::vector<uint8_t> main = std::vector<uint8_t>(4096, 0xEE);
    std::vector<uint8_t> kpu = std::vector<uint8_t>(4096, 0);
    v4::MemorySizes sizes() const { return {constants.size(), main.size(), kpu.size()}; }
    v4::Memories memories() { return {constants.data(), main.data(), kpu.data(), sizes()}; }

    void set_f(uint32_t off, std::vector<float> v) { std::memcpy(main.data() + off, v.data(), v.size() * 4); }
    std::vector<float> get_f(uint32_t off, size_t n) const {
        std::vector<float> v(n);
        std::memcpy(v.data(), main.data() + off, n * 4);
        return v;
    }
    void set_b(uint32_t off, std::vector<uint8_t> v) { std::memcpy(main.data() + off, v.data(), v.size()); }
    std::vector<uint8_t> get_b(uint32_t off, size_t n) const {
        return std::vector<uint8_t>(main.begin() + off, main.begin() + off + n);
    }

    std::shared_ptr<const v4::CpuNode> parse(uint32_t opcode, const std::vector<uint8_t>& body, uint32_t node = 3) const {
        return v4::parse_cpu_node(opcode, body.data(), body.size(), node, sizes());
    }
    void run(uint32_t opcode, const std::vector<uint8_t>& body) {
        const auto n = parse(opcode, body);
        v4::execute(*n, memories());
    }
};

Range F(uint32_t start, uint32_t floats) { return {kMain, kF32, start, floats * 4}; }
Range B(uint32_t start, uint32_t bytes) { return {kMain, kU8, start, bytes}; }

/// Expect a KmodelError of `kind` naming node 3 and `field`.
template <class F>
void expect_error(F&& f, KmodelErrorKind kind, const std::string& field) {
    try {
        f();
        ADD_FAILURE() << "no error (expected " << to_string(kind) << " on " << field << ")";
    } catch (const KmodelError& e) {
        EXPECT_EQ(e.kind(), kind) << e.what();
        EXPECT_EQ(e.layer(), std::optional<uint32_t>(3)) << e.what();
        EXPECT_EQ(e.field(), field) << e.what();
    }
}

}  // namespace

// ---- opcode set ---------------------------------------------------------------------------

TEST(V4CpuOps, CpuOpcodeSet) {
    int count = 0;
    for (uint32_t op = 0; op < 0x3000; ++op) count += v4::is_cpu_opcode(op);
    EXPECT_EQ(count, 26);
    EXPECT_FALSE(v4::is_cpu_opcode(0x2001));
    EXPECT_FALSE(v4::is_cpu_opcode(0x2002));
    EXPECT_FALSE(v4::is_cpu_opcode(0x15));
    EXPECT_TRUE(v4::is_cpu_opcode(0x1005));
    Mem m;
    expect_error([&] { m.parse(0x2002, std::vector<uint8_t>(64)); }, KmodelErrorKind::unsupported_layer, "opcode");
    expect_error([&] { m.parse(0x15, std::vector<uint8_t>(64)); }, KmodelErrorKind::unknown_layer_type, "opcode");
}

// ---- binary ---------------------------------------------------------------------------------

TEST(V4CpuOps, BinaryAddClampsAndSameShapeCount) {
    Mem m;
    m.set_f(0, {1, 2, 3, 4});
    m.set_f(16, {10, 1, -20, 0.5f});
    BinaryDesc d{F(0, 4), F(16, 4), F(32, 4), 0, {1, 1, 2, 2}, {1, 1, 2, 2}, {1, 1, 1, 1}, 0.0f, 5.0f};
    m.run(0x00, binary_body(d));  // same shapes: a's shape counts (out_shape 1x1x1x1 is ignored)
    EXPECT_EQ(m.get_f(32, 4), (std::vector<float>{5, 3, 0, 4.5f}));
}

TEST(V4CpuOps, BinaryBroadcastSub) {
    Mem m;
    m.set_f(0, {1, 2, 3, 4, 5, 6});
    m.set_f(64, {10, 20, 30});
    BinaryDesc d{F(0, 6), F(64, 3), F(128, 6), 1, {1, 1, 2, 3}, {1, 1, 1, 3}, {1, 1, 2, 3}};
    m.run(0x00, binary_body(d));
    EXPECT_EQ(m.get_f(128, 6), (std::vector<float>{-9, -18, -27, -6, -15, -24}));
}

TEST(V4CpuOps, BinaryMinMaxFollowRiscvFminFmax) {
    Mem m;
    const float nan_payload = from_bits(0x7fc12345);
    m.set_f(0, {nan_payload, -0.0f, 0.0f, 2.0f});
    m.set_f(16, {3.0f, 0.0f, -0.0f, nan_payload});
    m.run(0x00, binary_body({F(0, 4), F(16, 4), F(32, 4), 5, {1, 1, 1, 4}, {1, 1, 1, 4}, {1, 1, 1, 4}}));
    const auto mx = m.get_f(32, 4);
    EXPECT_EQ(mx[0], 3.0f);
    EXPECT_EQ(bits(mx[1]), 0u);  // fmax(-0, +0) = +0
    EXPECT_EQ(bits(mx[2]), 0u);  // fmax(+0, -0) = +0
    EXPECT_EQ(mx[3], 2.0f);
    m.run(0x00, binary_body({F(0, 4), F(16, 4), F(32, 4), 4, {1, 1, 1, 4}, {1, 1, 1, 4}, {1, 1, 1, 4}}));
    const auto mn = m.get_f(32, 4);
    EXPECT_EQ(mn[0], 3.0f);
    EXPECT_EQ(bits(mn[1]), 0x80000000u);  // fmin(-0, +0) = -0
    EXPECT_EQ(bits(mn[2]), 0x80000000u);
    EXPECT_EQ(mn[3], 2.0f);
}

TEST(V4CpuOps, BinaryNanResultsGoThroughTheClampToItsLowBound) {
    Mem m;
    m.set_f(0, {0.0f, from_bits(0xffc12345)});
    m.set_f(16, {0.0f, 1.0f});
    // 0/0 and NaN/1 are NaN; the fused clamp (here the "none" range +-FLT_MAX) is always
    // applied, and fmax(NaN, lo) = lo: the chip stores -FLT_MAX, never a NaN.
    m.run(0x00, binary_body({F(0, 2), F(16, 2), F(32, 2), 3, {1, 1, 1, 2}, {1, 1, 1, 2}, {1, 1, 1, 2}}));
    EXPECT_EQ(bits(m.get_f(32, 2)[0]), 0xff7fffffu);
    EXPECT_EQ(bits(m.get_f(32, 2)[1]), 0xff7fffffu);
    m.run(0x00, binary_body({F(0, 2), F(16, 2), F(32, 2), 3, {1, 1, 1, 2}, {1, 1, 1, 2}, {1, 1, 1, 2}, -1.0f, 1.0f}));
    EXPECT_EQ(m.get_f(32, 2)[0], -1.0f);
}

TEST(V4CpuOps, NanResultsAreTheCanonicalNan) {
    Mem m;
    // conv2d_transpose with the full range skips the clamp, so a NaN product is stored.
    m.set_f(0, {from_bits(0x7f812345)});
    Conv2DTransposeDesc d;
    d.in = F(0, 1);
    d.out = F(16, 1);
    d.weights = {2.0f};
    d.bias = {0};
    m.run(0x13, conv2d_transpose_body(d));
    EXPECT_EQ(bits(m.get_f(16, 1)[0]), 0x7fc00000u);
}

// ---- concat -----------------------------------------------------------------------------------

TEST(V4CpuOps, ConcatInterleavesPerOuterIndex) {
    Mem m;
    m.set_b(0, {1, 2, 3, 4});
    m.set_b(16, {9, 8, 7, 6, 5, 4});
    ConcatDesc d{B(64, 10), 1, 2, {B(0, 4), B(16, 6)}, {2, 3}};
    m.run(0x01, concat_body(d));
    EXPECT_EQ(m.get_b(64, 10), (std::vector<uint8_t>{1, 2, 9, 8, 7, 3, 4, 6, 5, 4}));
}

// ---- conv2d -----------------------------------------------------------------------------------

TEST(V4CpuOps, Conv2dValidAndPaddedTapsAndClamp) {
    Mem m;
    m.set_f(0, {1, 2, 3, 4, 5, 6, 7, 8, 9});
    Conv2DDesc d;
    d.in = F(0, 9);
    d.out = F(64, 9);
    d.in_shape = {1, 1, 3, 3};
    d.window.filter_h = d.window.filter_w = 2;
    d.weights = {1, 2, 3, 4};
    d.bias = {0.5f};
    d.act_max = 70;
    m.run(0x02, conv2d_body(d));
    EXPECT_EQ(m.get_f(64, 4), (std::vector<float>{37.5f, 47.5f, 67.5f, 70.0f}));
    d.act_max = kFltMax;
    d.window.pad_h_before = d.window.pad_w_before = 1;  // 3x3 output, padding taps skipped
    m.run(0x02, conv2d_body(d));
    const auto o = m.get_f(64, 9);
    EXPECT_EQ(o[0], 4.5f);   // 1 * w[3]
    EXPECT_EQ(o[1], 11.5f);  // 1 * w[2] + 2 * w[3]
    EXPECT_EQ(o[4], 37.5f);
}

TEST(V4CpuOps, Conv2dAccumulatesWithFusedMultiplyAddFromTheBias) {
    Mem m;
    const float x = 1.0f + std::ldexp(1.0f, -12);
    m.set_f(0, {x});
    Conv2DDesc d;
    d.in = F(0, 1);
    d.out = F(16, 1);
    d.weights = {x};
    d.bias = {-1.0f};
    m.run(0x02, conv2d_body(d));
    // exact x*x - 1 = 2^-11 + 2^-24; an unfused x*x rounds to 1 + 2^-11 first.
    EXPECT_EQ(m.get_f(16, 1)[0], std::ldexp(1.0f, -11) + std::ldexp(1.0f, -24));
}

TEST(V4CpuOps, Conv2dGroups) {
    Mem m;
    m.set_f(0, {1, 2});  // 2 channels of 1x1
    Conv2DDesc d;
    d.in = F(0, 2);
    d.out = F(16, 2);
    d.in_shape = {1, 2, 1, 1};
    d.groups = 2;
    d.out_channels = 2;
    d.weights = {10, 100};
    d.bias = {0, 0};
    m.run(0x02, conv2d_body(d));
    EXPECT_EQ(m.get_f(16, 2), (std::vector<float>{10, 200}));
}

// ---- dequantize / quantize -----------------------------------------------------------------

TEST(V4CpuOps, DequantizeUsesHoistedReciprocalAndFma) {
    Mem m;
    std::vector<uint8_t> q(256);
    for (int i = 0; i < 256; ++i) q[i] = static_cast<uint8_t>(i);
    m.set_b(0, q);
    const float scale = 7.3f;
    const int32_t zp = 123;
    m.run(0x03, quant_body({B(0, 256), F(256, 256), zp, scale}));
    const auto out = m.get_f(256, 256);
    const float s = 1.0f / scale;
    const float z = static_cast<float>(-zp) * s;
    int differs_from_desktop = 0;
    for (int i = 0; i < 256; ++i) {
        EXPECT_EQ(bits(out[i]), bits(std::fma(static_cast<float>(i), s, z))) << i;
        differs_from_desktop += out[i] != static_cast<float>(i - zp) * s;
    }
    EXPECT_GT(differs_from_desktop, 0);  // the chip formula is observable
}

TEST(V4CpuOps, QuantizeRoundsPairsToEvenAndTheOddLastAwayFromZero) {
    Mem m;
    m.set_f(0, {0.5f, 1.5f, 2.5f});
    m.run(0x06, quant_body({F(0, 3), B(64, 3), 0, 1.0f}));
    EXPECT_EQ(m.get_b(64, 3), (std::vector<uint8_t>{0, 2, 3}));  // rne, rne, roundf
    m.set_f(0, {2.5f, 3.5f, 4.5f, 5.5f});
    m.run(0x06, quant_body({F(0, 4), B(64, 4), 0, 1.0f}));
    EXPECT_EQ(m.get_b(64, 4), (std::vector<uint8_t>{2, 4, 4, 6}));  // an even count: all rne
}

TEST(V4CpuOps, QuantizeFmaSaturationNanAndClamp) {
    Mem m;
    m.set_f(0, {std::numeric_limits<float>::quiet_NaN(), -7.0f, 1e30f, 100.0f, 0.3f});
    m.run(0x06, quant_body({F(0, 5), B(64, 5), 10, 2.0f}));
    // NaN -> INT32_MAX -> 255; -14+10 -> 0; huge -> 255; 210; odd last: roundf(10.6) = 11
    EXPECT_EQ(m.get_b(64, 5), (std::vector<uint8_t>{255, 0, 255, 210, 11}));
    // fma: x * scale rounds to 0.5 + 2^-23 unfused, and + 2 then ties to 2.5 (-> rne 2); the
    // fused t = 2.5 + 2^-23 + 2^-47 rounds up to 2.5 + 2^-22 (-> 3).
    const float x = 1.0f + std::ldexp(1.0f, -23), scale = 0.5f + std::ldexp(1.0f, -24);
    ASSERT_EQ(x * scale + 2.0f, 2.5f);  // the naive formula's value
    m.set_f(0, {x, x});
    m.run(0x06, quant_body({F(0, 2), B(64, 2), 2, scale}));
    EXPECT_EQ(m.get_b(64, 2), (std::vector<uint8_t>{3, 3}));
}

// ---- matmul ---------------------------------------------------------------------------------

TEST(V4CpuOps, MatMulWithBias) {
    Mem m;
    m.set_f(0, {1, 2, 3, 4, 5, 6});
    m.set_f(64, {1, 0, 0, 1, 1, 1});
    MatMulDesc d{F(0, 6), F(64, 6), F(128, 4), 2, 3, 2, -kFltMax, kFltMax, {10, 20}};
    m.run(0x04, matmul_body(d));
    EXPECT_EQ(m.get_f(128, 4), (std::vector<float>{14, 25, 20, 31}));
}

// ---- pad ------------------------------------------------------------------------------------

TEST(V4CpuOps, PadFloatPadsAndCrops) {
    Mem m;
    m.set_f(0, {1, 2, 3, 4});
    PadDesc d;
    d.in = F(0, 4);
    d.out = F(64, 3);
    d.in_shape = {1, 1, 2, 2};
    d.paddings[2] = {1, 0};
    d.paddings[3] = {0, -1};
    d.pad_storage = bits(9.0f);
    m.run(0x05, pad_body(d));
    EXPECT_EQ(m.get_f(64, 3), (std::vector<float>{9, 1, 3}));
}

TEST(V4CpuOps, PadUint8UsesTheFirstStorageByte) {
    Mem m;
    m.set_b(0, {5, 6});
    PadDesc d;
    d.in = B(0, 2);
    d.out = B(16, 4);
    d.in_shape = {1, 1, 1, 2};
    d.paddings[3] = {1, 1};
    d.pad_type = kU8;
    d.pad_storage = 0x112233AA;
    m.run(0x05, pad_body(d));
    EXPECT_EQ(m.get_b(16, 4), (std::vector<uint8_t>{0xAA, 5, 6, 0xAA}));
}

// ---- reduce -----------------------------------------------------------------------------------

TEST(V4CpuOps, ReduceSumMaxAndMeanOverTheWholeOutputRange) {
    Mem m;
    m.set_f(0, {1, 2, 3, 4, 5, 6});
    m.run(0x07, reduce_body({F(0, 6), F(64, 2), 3, {1, 1, 2, 3}, {1, 1, 2, 1}, 0.0f}));
    EXPECT_EQ(m.get_f(64, 2), (std::vector<float>{6, 15}));
    m.run(0x07, reduce_body({F(0, 6), F(64, 3), 2, {1, 1, 2, 3}, {1, 1, 1, 3}, -INFINITY}));
    EXPECT_EQ(m.get_f(64, 3), (std::vector<float>{4, 5, 6}));
    // mean: the output range has a third float (3.0) beyond out_shape's 2: it is scaled too.
    m.set_f(64, {0, 0, 3.0f});
    m.run(0x07, reduce_body({F(0, 6), F(64, 3), 0, {1, 1, 2, 3}, {1, 1, 2, 1}, 0.0f}));
    const float ratio = 2.0f / 6.0f;
    EXPECT_EQ(m.get_f(64, 3), (std::vector<float>{6 * ratio, 15 * ratio, 3 * ratio}));
    EXPECT_EQ(m.get_f(64, 3)[2], 1.0f);
}

// ---- reduce_window2d ------------------------------------------------------------------------

TEST(V4CpuOps, ReduceWindow2dMaxAndMeanOverInBoundsTaps) {
    Mem m;
    m.set_f(0, {1, 2, 3, 4, 5, 6, 7, 8, 9});
    ReduceWindowDesc d;
    d.in = F(0, 9);
    d.out = F(64, 4);
    d.in_shape = {1, 1, 3, 3};
    d.window.filter_h = d.window.filter_w = 2;
    d.op = 2;
    d.init = -INFINITY;
    m.run(0x08, reduce_window2d_body(d));
    EXPECT_EQ(m.get_f(64, 4), (std::vector<float>{5, 6, 8, 9}));
    d.op = 0;
    d.init = 0;
    d.window.stride_h = d.window.stride_w = 2;
    d.window.pad_h_after = d.window.pad_w_after = 1;
    m.run(0x08, reduce_window2d_body(d));
    EXPECT_EQ(m.get_f(64, 4), (std::vector<float>{3, 4.5f, 7.5f, 9}));
}

// ---- memory_copy ----------------------------------------------------------------------------

TEST(V4CpuOps, MemoryCopyCopiesWholeWordsKeepingPayloads) {
    Mem m;
    m.set_f(0, {from_bits(0x7f812345), 2.0f});
    m.set_b(8, {1, 2});
    m.run(0x09, memory_copy_body({{kMain, kF32, 0, 10}, {kMain, kF32, 64, 12}}));
    EXPECT_EQ(bits(m.get_f(64, 1)[0]), 0x7f812345u);
    EXPECT_EQ(m.get_f(68, 1)[0], 2.0f);
    EXPECT_EQ(m.get_b(72, 2), (std::vector<uint8_t>{0xEE, 0xEE}));  // the 2-byte tail is not copied
}

// ---- resize_image ---------------------------------------------------------------------------

TEST(V4CpuOps, ResizeNearest) {
    Mem m;
    m.set_f(0, {1, 2, 3, 4});
    m.run(0x0A, resize_image_body({F(0, 4), F(64, 16), {1, 1, 2, 2}, 4, 4, 1, true}));
    EXPECT_EQ(m.get_f(64, 16), (std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
}

TEST(V4CpuOps, ResizeBilinearAlignCornersByHand) {
    Mem m;
    m.set_f(0, {0, 10, 20, 30});
    m.run(0x0A, resize_image_body({F(0, 4), F(64, 9), {1, 1, 2, 2}, 3, 3, 0, true}));
    EXPECT_EQ(m.get_f(64, 9), (std::vector<float>{0, 5, 10, 10, 15, 20, 20, 25, 30}));
    m.set_b(0, {0, 3});
    m.run(0x0A, resize_image_body({B(0, 2), B(64, 3), {1, 1, 1, 2}, 1, 3, 0, true}));
    EXPECT_EQ(m.get_b(64, 3), (std::vector<uint8_t>{0, 1, 3}));  // 1.5 truncates
}

TEST(V4CpuOps, ResizeBilinearFollowsTheReassociatedChipFormula) {
    Mem m;
    const std::vector<float> in{0.1f, 10.7f, 20.3f, 33.9f, 1.1f, 2.2f};  // 1x1x2x3
    m.set_f(0, in);
    const int OH = 5, OW = 7;
    m.run(0x0A, resize_image_body({F(0, 6), F(64, OH * OW), {1, 1, 2, 3}, OH, OW, 0, false}));
    const auto out = m.get_f(64, OH * OW);
    // Reference written from kmodel-spec §16.
    const float sy = 2.0f / OH, sx = 3.0f / OW;
    for (int oy = 0; oy < OH; ++oy)
        for (int ox = 0; ox < OW; ++ox) {
            const float in_y = oy * sy;
            const int y0 = static_cast<int>(std::floor(in_y)), y1 = std::min(y0 + 1, 1);
            const float in_x = ox * sx;
            const int x0 = static_cast<int>(std::floor(in_x)), x1 = std::min(x0 + 1, 2);
            const float dy = in_y - y0, ry = static_cast<float>(y0 + 1) - in_y;
            const float dx = std::fma(static_cast<float>(ox), sx, -static_cast<float>(x0));
            const float rx = std::fma(-static_cast<float>(ox), sx, static_cast<float>(x0 + 1));
            auto v = [&](int y, int x) { return in[y * 3 + x]; };
            const float left = std::fma(v(y0, x0), ry, v(y1, x0) * dy);
            const float right = std::fma(v(y0, x1), ry, v(y1, x1) * dy);
            EXPECT_EQ(bits(out[oy * OW + ox]), bits(std::fma(rx, left, dx * right))) << oy << "," << ox;
        }
}

// ---- softmax ------------------------------------------------------------------------------------

TEST(V4CpuOps, SoftmaxNewlibExpAndHoistedReciprocal) {
    Mem m;
    m.set_f(0, {1, 2, 3, -1, 0.5f, 0.25f});
    m.run(0x0B, softmax_body({F(0, 6), F(64, 6), 3, 2, 0.7f}));
    const auto out = m.get_f(64, 6);
    const std::vector<float> in{1, 2, 3, -1, 0.5f, 0.25f};
    for (int row = 0; row < 2; ++row) {
        float mx = in[row * 3];
        for (int i = 1; i < 3; ++i) mx = std::max(mx, in[row * 3 + i]);
        float e[3], sum = 0;
        for (int i = 0; i < 3; ++i) sum += e[i] = cpu::newlib_expf((in[row * 3 + i] - mx) * 0.7f);
        const float r = 1.0f / sum;
        float total = 0;
        for (int i = 0; i < 3; ++i) {
            EXPECT_EQ(bits(out[row * 3 + i]), bits(e[i] * r));
            total += out[row * 3 + i];
        }
        EXPECT_NEAR(total, 1.0f, 1e-6);
    }
}

// ---- transpose / strided_slice ----------------------------------------------------------------

TEST(V4CpuOps, TransposeSwapsAxes) {
    Mem m;
    m.set_f(0, {0, 1, 2, 3, 4, 5});
    m.run(0x0C, transpose_body({F(0, 6), F(64, 6), {1, 2, 3, 1}, {0, 2, 1, 3}}));
    EXPECT_EQ(m.get_f(64, 6), (std::vector<float>{0, 3, 1, 4, 2, 5}));
    m.set_b(0, {0, 1, 2, 3, 4, 5});
    m.run(0x0C, transpose_body({B(0, 6), B(64, 6), {1, 2, 3, 1}, {0, 2, 1, 3}}));
    EXPECT_EQ(m.get_b(64, 6), (std::vector<uint8_t>{0, 3, 1, 4, 2, 5}));
}

TEST(V4CpuOps, StridedSliceNegativeStride) {
    Mem m;
    m.set_b(0, {0, 1, 2, 3, 4, 5});
    StridedSliceDesc d{B(0, 6), B(64, 3), {1, 1, 1, 6}, {0, 0, 0, 5}, {1, 1, 1, 0}, {1, 1, 1, -2}, {}};
    m.run(0x0D, strided_slice_body(d));
    EXPECT_EQ(m.get_b(64, 3), (std::vector<uint8_t>{5, 3, 1}));
}

// ---- unary ----------------------------------------------------------------------------------

TEST(V4CpuOps, UnaryOps) {
    Mem m;
    auto un = [&](uint32_t op, float x) {
        m.set_f(0, {x});
        m.run(0x0E, unary_body({F(0, 1), F(16, 1), op}));
        return m.get_f(16, 1)[0];
    };
    EXPECT_EQ(bits(un(0, from_bits(0xffc12345))), 0x7fc12345u);  // abs: a sign operation
    EXPECT_EQ(bits(un(6, from_bits(0x7fc12345))), 0xffc12345u);  // neg: a sign operation
    EXPECT_EQ(un(1, -1.5f), -1.0f);
    EXPECT_EQ(un(4, -1.5f), -2.0f);
    EXPECT_EQ(un(7, 4.0f), 0.5f);
    EXPECT_EQ(un(9, 3.0f), 9.0f);
    EXPECT_EQ(bits(un(3, 1.0f)), bits(cpu::newlib_expf(1.0f)));
    EXPECT_EQ(un(5, 1.0f), 0.0f);
    EXPECT_EQ(bits(un(7, -1.0f)), 0x7fc00000u);  // rsqrt of a negative: canonical NaN
}

// ---- quantized ops -----------------------------------------------------------------------------

TEST(V4CpuOps, QuantizedConv2dRhuAndOffsets) {
    Mem m;
    m.set_b(0, {0, 20, 30, 40});
    QuantizedConv2DDesc d;
    d.in = B(0, 4);
    d.out = B(16, 8);
    d.in_shape = {1, 1, 2, 2};
    d.out_channels = 2;
    d.filter_offset = -1;
    d.output_mul = 3;
    d.output_shift = 1;
    d.output_offset = 7;
    d.bias = {5, -5};
    d.weights = {1, 2};
    m.run(0x0F, quantized_conv2d_body(d));
    // oc0: (5*3+1)>>1 = 8, +7; oc1: acc = x - 5 -> (3acc+1)>>1 + 7 (-15+1 >> 1 = -7)
    EXPECT_EQ(m.get_b(16, 8), (std::vector<uint8_t>{15, 15, 15, 15, 0, 30, 45, 60}));
}

TEST(V4CpuOps, QuantizedMatMul) {
    Mem m;
    m.set_b(0, {1, 2});
    m.set_b(16, {3, 4, 5, 6});
    QuantizedMatMulDesc d{B(0, 2), B(16, 4), B(32, 2), 1, 2, 2, 1, -1, 2, 2, 0, {0, 100}};
    m.run(0x10, quantized_matmul_body(d));
    EXPECT_EQ(m.get_b(32, 2), (std::vector<uint8_t>{8, 61}));  // (16*2+2)>>2, (121*2+2)>>2
    d.output_offset = 200;
    m.run(0x10, quantized_matmul_body(d));
    EXPECT_EQ(m.get_b(32, 2), (std::vector<uint8_t>{208, 255}));
}

TEST(V4CpuOps, QuantizedBinaryDivisionRoundsAndDivByZeroIsMinusOne) {
    Mem m;
    m.set_b(0, {10, 20, 30, 7});
    m.set_b(16, {3, 0, 4, 2});
    QuantizedBinaryDesc d;
    d.base = {B(0, 4), B(16, 4), B(32, 4), 3, {1, 1, 1, 4}, {1, 1, 1, 4}, {1, 1, 1, 4}};
    d.output_offset = 5;
    m.run(0x11, quantized_binary_body(d));
    EXPECT_EQ(m.get_b(32, 4), (std::vector<uint8_t>{8, 4, 13, 9}));  // 11/3, -1, 32/4, 8/2 (+5)
}

TEST(V4CpuOps, QuantizedBinaryBroadcastSubWithScaling) {
    Mem m;
    m.set_b(0, {10, 20, 30, 40});
    m.set_b(16, {1, 2});
    QuantizedBinaryDesc d;
    d.base = {B(0, 4), B(16, 2), B(32, 4), 1, {1, 1, 2, 2}, {1, 1, 1, 2}, {1, 1, 2, 2}};
    d.a_mul = 4;  // a' = a * 4 >> 2 with rounding = a
    d.a_shift = 2;
    d.output_mul = 1;
    m.run(0x11, quantized_binary_body(d));
    EXPECT_EQ(m.get_b(32, 4), (std::vector<uint8_t>{9, 18, 29, 38}));
}

TEST(V4CpuOps, TableLookup1d) {
    Mem m;
    for (int i = 0; i < 256; ++i) m.constants[i] = static_cast<uint8_t>(255 - i);
    m.set_b(0, {0, 7, 255});
    m.run(0x12, table_lookup1d_body({B(0, 3), {kConst, kU8, 0, 256}, B(16, 3)}));
    EXPECT_EQ(m.get_b(16, 3), (std::vector<uint8_t>{255, 248, 0}));
}

// ---- conv2d_transpose ---------------------------------------------------------------------------

TEST(V4CpuOps, Conv2dTransposeScattersWithoutBias) {
    Mem m;
    m.set_f(0, {1, 2});
    Conv2DTransposeDesc d;
    d.in = F(0, 2);
    d.out = F(64, 4);
    d.in_shape = {1, 1, 1, 2};
    d.out_shape = {1, 1, 1, 4};
    d.window.filter_w = 2;
    d.window.stride_w = 2;
    d.weights = {10, 100};
    d.bias = {1000};  // present in the body, never applied
    m.run(0x13, conv2d_transpose_body(d));
    EXPECT_EQ(m.get_f(64, 4), (std::vector<float>{10, 100, 20, 200}));
    d.act_min = 0;
    d.act_max = 150;
    m.run(0x13, conv2d_transpose_body(d));
    EXPECT_EQ(m.get_f(64, 4), (std::vector<float>{10, 100, 20, 150}));
}

// ---- nnil ---------------------------------------------------------------------------------------

namespace {
std::vector<uint8_t> ldc(float v) {
    std::vector<uint8_t> b{0x06, 0, 0, 0, 0};
    std::memcpy(b.data() + 1, &v, 4);
    return b;
}
std::vector<uint8_t> cat(std::initializer_list<std::vector<uint8_t>> parts) {
    std::vector<uint8_t> r;
    for (const auto& p : parts) r.insert(r.end(), p.begin(), p.end());
    return r;
}
}  // namespace

TEST(V4CpuOps, NnilClampOfAffine) {
    Mem m;
    m.set_f(0, {-3, 1, 10});
    // clamp(x * 2 + 1, 0, 6)
    const auto prog = cat({{0x03}, ldc(2.0f), {0x42, 0x05, 0x40, 0x04}, ldc(6.0f), {0x80, 0xA0, 0, 0}});
    m.run(0x14, nnil_unary_method_body({F(0, 3), F(64, 3), prog}));
    EXPECT_EQ(m.get_f(64, 3), (std::vector<float>{0, 3, 6}));
}

TEST(V4CpuOps, NnilMalformedProgramsAreRefusedAtParse) {
    Mem m;
    auto parse = [&](std::vector<uint8_t> prog) { m.parse(0x14, nnil_unary_method_body({F(0, 3), F(64, 3), prog})); };
    expect_error([&] { parse({0x03, 0x40, 0xA0}); }, KmodelErrorKind::inconsistent, "program");  // underflow
    expect_error([&] { parse({0xA0}); }, KmodelErrorKind::inconsistent, "program");              // ret on empty
    std::vector<uint8_t> deep(65, 0x05);
    deep.push_back(0xA0);
    expect_error([&] { parse(deep); }, KmodelErrorKind::inconsistent, "program");  // 65 entries
    expect_error([&] { parse({0x03, 0x06, 0, 0}); }, KmodelErrorKind::truncated, "program");
    expect_error([&] { parse({0x03, 0x07, 0xA0}); }, KmodelErrorKind::unknown_layer_type, "program");
    std::vector<uint8_t> ok(64, 0x05);
    ok.push_back(0xA0);
    EXPECT_NO_THROW(parse(ok));  // exactly 64 entries
}

// ---- NHWC cpu_* ops -------------------------------------------------------------------------

TEST(V4CpuOps, CpuConv2dAndDepthwiseNhwc) {
    Mem m;
    m.set_f(0, {1, 2, 3, 4, 5, 6, 7, 8});  // 1x2x2x2 NHWC
    CpuConv2DDesc d;
    d.in = F(0, 8);
    d.out = F(64, 4);
    d.in_shape = {1, 2, 2, 2};
    d.out_channels = 1;
    d.weights = {1, 10};
    d.bias = {0.5f};
    m.run(0x1001, cpu_conv2d_body(d));
    EXPECT_EQ(m.get_f(64, 4), (std::vector<float>{21.5f, 43.5f, 65.5f, 87.5f}));
    d.window.filter_h = d.window.filter_w = 2;
    d.weights = {1, 1, 1, 1, 1, 0, 0, 1};
    d.bias = {0, 100};
    d.out = F(64, 2);
    m.run(0x1002, cpu_depthwise_conv2d_body(d));
    EXPECT_EQ(m.get_f(64, 2), (std::vector<float>{16, 110}));
}

TEST(V4CpuOps, CpuReduceWindow2dNhwc) {
    Mem m;
    m.set_f(0, {1, 2, 3, 4, 5, 6, 7, 8});
    ReduceWindowDesc d;
    d.in = F(0, 8);
    d.out = F(64, 2);
    d.in_shape = {1, 2, 2, 2};
    d.window.filter_h = d.window.filter_w = 2;
    d.op = 2;
    d.init = -INFINITY;
    m.run(0x1003, reduce_window2d_body(d));
    EXPECT_EQ(m.get_f(64, 2), (std::vector<float>{7, 8}));
}

TEST(V4CpuOps, CpuQuantizedConvsWithUnalignedBias) {
    Mem m;
    m.set_b(0, {1, 2, 3, 4});  // 1x1x2x2 NHWC
    CpuQuantizedConv2DDesc d;
    d.in = B(0, 4);
    d.out = B(16, 2);
    d.in_shape = {1, 1, 2, 2};
    d.out_channels = 1;
    d.weights = {1, 2};
    d.bias = {10};
    m.run(0x1004, cpu_quantized_conv2d_body(d));
    EXPECT_EQ(m.get_b(16, 2), (std::vector<uint8_t>{15, 21}));
    d.out = B(16, 4);
    d.weights = {2, 3};
    d.bias = {1, 1};
    m.run(0x1005, cpu_quantized_depthwise_conv2d_body(d));
    EXPECT_EQ(m.get_b(16, 4), (std::vector<uint8_t>{3, 7, 7, 13}));
}
