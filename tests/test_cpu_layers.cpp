// Unit tests of the V3 CPU layers (cpu_layers/*, spec §7.3, §7.5, §15) and of newlib_expf.
//
// Expected values are worked out independently of the code under test: by hand from the
// spec's rules (the arithmetic is written next to each case), with exact rational
// arithmetic done offline (hex-float constants, the derivation in the comment), or with a
// double-precision reference. Golden expf bits come from newlib's own C source compiled
// with FMA contraction.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "cpu_layers/cpu_layers.h"
#include "cpu_layers/newlib_expf.h"
#include "kpu_core/layer_argument.h"
#include "sim/functional_executor.h"

namespace kpusim::cpu {
namespace {

uint32_t bits_of(float v) {
    uint32_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
}

float from_bits(uint32_t b) {
    float v;
    std::memcpy(&v, &b, sizeof v);
    return v;
}

/// Distance in units in the last place between two finite floats of any sign.
int64_t ulp_distance(float a, float b) {
    const auto ordered = [](float v) {
        const uint32_t u = bits_of(v);
        const int64_t m = u & 0x7fffffffu;
        return (u >> 31) ? -m : m;
    };
    const int64_t d = ordered(a) - ordered(b);
    return d < 0 ? -d : d;
}

/// A main-memory working buffer as the executor allocates it (with the slack), filled with
/// a recognisable byte so that untouched bytes can be checked.
class MainMemory {
public:
    explicit MainMemory(uint32_t bytes, uint8_t fill = 0xEE)
        : bytes_(bytes + kMainMemorySlack, fill) {}
    uint8_t* data() { return bytes_.data(); }

    void put_f32(uint32_t offset, std::initializer_list<float> values) {
        for (float v : values) {
            std::memcpy(bytes_.data() + offset, &v, 4);
            offset += 4;
        }
    }
    void put_f32(uint32_t offset, const std::vector<float>& values) {
        for (float v : values) {
            std::memcpy(bytes_.data() + offset, &v, 4);
            offset += 4;
        }
    }
    void put_u8(uint32_t offset, std::initializer_list<uint8_t> values) {
        for (uint8_t v : values) bytes_.at(offset++) = v;
    }
    float f32(uint32_t offset) const {
        float v;
        std::memcpy(&v, bytes_.data() + offset, 4);
        return v;
    }
    uint32_t f32_bits(uint32_t offset) const { return bits_of(f32(offset)); }
    uint8_t u8(uint32_t offset) const { return bytes_.at(offset); }

private:
    std::vector<uint8_t> bytes_;
};

// ---- ADD ---------------------------------------------------------------------------------

TEST(CpuLayers, AddIsOneRoundedFloatSumPerElement) {
    MainMemory m(64);
    m.put_f32(0, {1.5f, -2.25f, 1e30f, 0.1f});
    m.put_f32(16, {2.5f, 0.25f, 1e30f, 0.2f});
    execute(AddOp{0, 16, 32, 4}, m.data());
    EXPECT_EQ(m.f32(32), 4.0f);
    EXPECT_EQ(m.f32(36), -2.0f);
    EXPECT_EQ(m.f32(40), 2.0f * 1e30f);  // doubling is exact
    // The exact sum of 0.1f and 0.2f fits in a double; one rounding to float.
    EXPECT_EQ(m.f32(44), static_cast<float>(double{0.1f} + double{0.2f}));
    EXPECT_EQ(m.u8(48), 0xEE);  // nothing past count
}

TEST(CpuLayers, AddInPlaceAndNanResultIsRiscvCanonicalNan) {
    MainMemory m(32);
    m.put_f32(0, {1.0f, from_bits(0xffc12345u), HUGE_VALF});  // a negative NaN with a payload
    m.put_f32(12, {2.0f, 1.0f, -HUGE_VALF});
    execute(AddOp{0, 12, 0, 3}, m.data());  // out == in_a
    EXPECT_EQ(m.f32(0), 3.0f);
    EXPECT_EQ(m.f32_bits(4), 0x7fc00000u);  // RISC-V: no payload, no sign propagation
    EXPECT_EQ(m.f32_bits(8), 0x7fc00000u);  // inf + -inf
}

// ---- QUANTIZED_ADD ------------------------------------------------------------------------

QuantizedAddOp qadd(uint32_t count) {
    QuantizedAddOp op{};
    op.in_a = 0;
    op.in_b = 16;
    op.out = 32;
    op.count = count;
    return op;
}

TEST(CpuLayers, QuantizedAddEqualShiftsShiftTheSum) {
    MainMemory m(48);
    m.put_u8(0, {10});
    m.put_u8(16, {20});
    QuantizedAddOp op = qadd(1);
    op.in_a_offset = -3, op.in_a_mul = 5, op.in_a_shift = 2;
    op.in_b_offset = 2, op.in_b_mul = 3, op.in_b_shift = 2;
    op.out_mul = 3, op.out_shift = 1, op.out_offset = 10;
    execute(op, m.data());
    // (10-3)*5 + (20+2)*3 = 35 + 66 = 101; 101 >> 2 = 25; 25*3 = 75;
    // KCS(75, 1): t = 75 (odd, >= 0) -> 37 + 1 = 38; + 10 = 48.
    EXPECT_EQ(m.u8(32), 48);
}

TEST(CpuLayers, QuantizedAddDifferentShiftsShiftEachTerm) {
    MainMemory m(48);
    m.put_u8(0, {10, 0});
    m.put_u8(16, {20, 0});
    QuantizedAddOp op = qadd(2);
    op.in_a_offset = -3, op.in_a_mul = 5, op.in_a_shift = 1;
    op.in_b_offset = 2, op.in_b_mul = 3, op.in_b_shift = 2;
    op.out_mul = 1, op.out_shift = 0, op.out_offset = 0;
    execute(op, m.data());
    // element 0: 35 >> 1 = 17, 66 >> 2 = 16; 17 + 16 = 33 (shifting the sum 101 would differ).
    EXPECT_EQ(m.u8(32), 33);
    // element 1: (0-3)*5 = -15 >> 1 = -8 (floor); (0+2)*3 = 6 >> 2 = 1; -7 -> clamped to 0.
    EXPECT_EQ(m.u8(33), 0);
}

TEST(CpuLayers, QuantizedAddClampsToUint8) {
    MainMemory m(48);
    m.put_u8(0, {200, 0});
    m.put_u8(16, {200, 0});
    QuantizedAddOp op = qadd(2);
    op.in_a_mul = 1, op.in_b_mul = 1, op.out_mul = 1, op.out_offset = -1;
    execute(op, m.data());
    EXPECT_EQ(m.u8(32), 255);  // 400 - 1
    EXPECT_EQ(m.u8(33), 0);    // 0 - 1
}

TEST(CpuLayers, QuantizedAddProcessesCountRoundedUpToEight) {
    // Identity on input a: out = a. count 3 -> one block of 8 elements: bytes 3..7 of the
    // output are written too, computed from the 5 bytes past the end of each input.
    MainMemory m(48);
    m.put_u8(0, {1, 2, 3, 44, 55, 66, 77, 88, 99});
    m.put_u8(16, {0, 0, 0, 0, 0, 0, 0, 0, 0});
    QuantizedAddOp op = qadd(3);
    op.in_a_mul = 1, op.out_mul = 1;
    execute(op, m.data());
    const uint8_t expected[] = {1, 2, 3, 44, 55, 66, 77, 88};
    for (int i = 0; i < 8; ++i) EXPECT_EQ(m.u8(32 + i), expected[i]) << "element " << i;
    EXPECT_EQ(m.u8(40), 0xEE) << "the 9th byte is past the block and untouched";

    // count 9 -> two blocks (16 bytes); count 8 -> exactly one; count 0 -> none.
    MainMemory m2(64);
    for (uint8_t i = 0; i < 16; ++i) m2.put_u8(i, {static_cast<uint8_t>(i + 1)});
    for (uint8_t i = 0; i < 16; ++i) m2.put_u8(16 + i, {0});
    op.count = 9;
    execute(op, m2.data());
    EXPECT_EQ(m2.u8(32 + 15), 16);
    EXPECT_EQ(m2.u8(48), 0xEE);
    MainMemory m3(64);
    op.count = 8;
    execute(op, m3.data());
    EXPECT_EQ(m3.u8(40), 0xEE);
    MainMemory m4(64);
    op.count = 0;
    execute(op, m4.data());
    EXPECT_EQ(m4.u8(32), 0xEE);
}

TEST(CpuLayers, QuantizedAddKcsIsBiasedDownForNegatives) {
    // v = (0 - 1)*1 = -1 with input b contributing 0; out = KCS(v * 1, 1) + 5.
    // KCS(-1, 1): t = -1 (odd, < 0) -> (-1 >> 1) - 1 = -2, so out = 3. Half-up rounding of
    // -0.5 would give 0 (out 5) and a floor would give -1 (out 4).
    MainMemory m(48);
    m.put_u8(0, {0, 0, 2, 0});
    m.put_u8(16, {0, 0, 0, 0});
    QuantizedAddOp op = qadd(4);
    op.in_a_offset = -1, op.in_a_mul = 1;
    op.out_mul = 1, op.out_shift = 1, op.out_offset = 5;
    execute(op, m.data());
    EXPECT_EQ(m.u8(32), 3);
    // element 2: v = (2-1) = 1: KCS(1, 1) = 0 + 1 = 1 (half up), out 6: positive halves go up.
    EXPECT_EQ(m.u8(34), 6);

    // -3 / 2 = -1.5: KCS(-3, 1) = (-3 >> 1) - 1 = -3 (symmetric rounding would give -2).
    MainMemory m2(48);
    m2.put_u8(0, {0});
    m2.put_u8(16, {0});
    op = qadd(1);
    op.in_a_offset = -3, op.in_a_mul = 1;
    op.out_mul = 1, op.out_shift = 1, op.out_offset = 10;
    execute(op, m2.data());
    EXPECT_EQ(m2.u8(32), 7);
}

TEST(CpuLayers, QuantizedAddOutOfRangeShiftsFollowRv64) {
    // Fields the C source would make undefined follow the RV64 instructions: sra uses the
    // low 6 bits of its amount (a shift of 64 is a shift of 0), the carry shift's first
    // shift is by (shift - 1) mod 64 (65 behaves as 1), products wrap.
    MainMemory m(48);
    m.put_u8(0, {100});
    m.put_u8(16, {0});
    QuantizedAddOp op = qadd(1);
    op.in_a_mul = 1, op.in_a_shift = 64, op.in_b_shift = 64;  // same shifts: (100 + 0) >> 0
    op.out_mul = 1, op.out_shift = 65;                         // KCS(100, 1) = 50
    execute(op, m.data());
    EXPECT_EQ(m.u8(32), 50);

    // A shift field of 40 on a product of 2^40 * 100: exactly 100.
    MainMemory m2(48);
    m2.put_u8(0, {100});
    m2.put_u8(16, {0});
    op = qadd(1);
    op.in_a_mul = 1 << 20, op.in_a_shift = 40, op.in_b_shift = 0;
    op.out_mul = 1 << 20, op.out_shift = 0;
    execute(op, m2.data());  // (100 * 2^20) >> 40 = 0, then 0 * 2^20 = 0
    EXPECT_EQ(m2.u8(32), 0);

    // Extreme multipliers and offsets: no host overflow (the sanitizers watch), a result.
    MainMemory m3(48);
    m3.put_u8(0, {255});
    m3.put_u8(16, {255});
    op = qadd(1);
    op.in_a_offset = op.in_b_offset = std::numeric_limits<int32_t>::max();
    op.in_a_mul = op.in_b_mul = op.out_mul = std::numeric_limits<int32_t>::min();
    op.in_a_shift = op.in_b_shift = op.out_shift = -1;
    op.out_offset = std::numeric_limits<int32_t>::max();
    execute(op, m3.data());
    SUCCEED();
}

// ---- GLOBAL_AVERAGE_POOL2D -----------------------------------------------------------------

TEST(CpuLayers, GlobalAveragePoolMultipliesByHoistedReciprocal) {
    MainMemory m(64);
    m.put_f32(0, {1.0f, 2.0f, 2.0f, 3.0f, 3.0f, 4.0f});
    execute(GlobalAveragePoolOp{0, 32, 3, 2}, m.data());
    // fl(1/3) = 0x1.555556p-2. Channel 0 sums to 5: 5 * 0x1.555556p-2 = 0x1.aaaaab8p+0
    // exactly, which rounds to 0x1.aaaaacp+0. A division 5/3 would give 0x1.aaaaaap+0.
    EXPECT_EQ(m.f32(32), 0x1.aaaaacp+0f);
    EXPECT_NE(m.f32(32), 5.0f / 3.0f);
    // Channel 1 sums to 10: 10 * 0x1.555556p-2 = 0x1.aaaaab8p+1 -> 0x1.aaaaacp+1
    // (10/3 -> 0x1.aaaaaap+1).
    EXPECT_EQ(m.f32(36), 0x1.aaaaacp+1f);
    EXPECT_NE(m.f32(36), 10.0f / 3.0f);
}

TEST(CpuLayers, GlobalAveragePoolSumsInOrder) {
    MainMemory m(32);
    m.put_f32(0, {1e8f, 1.0f, -1e8f, -1e8f});
    execute(GlobalAveragePoolOp{0, 16, 3, 1}, m.data());
    // 1e8 + 1 = 1e8 in float (ulp 8), then - 1e8 = 0: the mean is 0, not 1/3.
    EXPECT_EQ(m.f32(16), 0.0f);
}

// ---- QUANTIZED_MAX_POOL2D / AVERAGE_POOL2D ---------------------------------------------------

PoolWindow window(uint32_t in_w, uint32_t in_h, uint32_t c, uint32_t out_w, uint32_t out_h,
                  uint32_t k, uint32_t stride, uint32_t pad) {
    return PoolWindow{in_w, in_h, c, out_w, out_h, c, k, k, stride, stride, pad, pad};
}

TEST(CpuLayers, QuantizedMaxPoolSamePaddingUsesInBoundsTapsOnly) {
    // 1 x 3 x 3, kernel 3, stride 1, SAME padding 1, out 3 x 3.
    //   in:  9 1 2      out(0,0) = max{9,1,4,5} = 9    out(0,2) = max{1,2,5,3} = 5
    //        4 5 3      out(1,1) = max of all = 9      out(2,2) = max{5,3,7,0} = 7
    //        8 7 0      out(2,0) = max{4,5,8,7} = 8
    MainMemory m(32);
    m.put_u8(0, {9, 1, 2, 4, 5, 3, 8, 7, 0});
    execute(QuantizedMaxPoolOp{0, 16, window(3, 3, 1, 3, 3, 3, 1, 1)}, m.data());
    const uint8_t expected[9] = {9, 9, 5, 9, 9, 7, 8, 8, 7};
    for (int i = 0; i < 9; ++i) EXPECT_EQ(m.u8(16 + i), expected[i]) << "output " << i;
    EXPECT_EQ(m.u8(25), 0xEE);
}

TEST(CpuLayers, QuantizedMaxPoolWindowWithNoTapGivesZero) {
    // 2 channels of 1 x 1, kernel 1, stride 1, padding 1, out 3 x 3: only the centre window
    // covers the pixel; the others have no in-bounds tap and give the starting value 0.
    MainMemory m(32);
    m.put_u8(0, {200, 17});
    execute(QuantizedMaxPoolOp{0, 8, window(1, 1, 2, 3, 3, 1, 1, 1)}, m.data());
    for (int c = 0; c < 2; ++c)
        for (int i = 0; i < 9; ++i)
            EXPECT_EQ(m.u8(8 + 9 * c + i), i == 4 ? (c == 0 ? 200 : 17) : 0) << c << "," << i;
}

TEST(CpuLayers, AveragePoolDividesByInBoundsTapsAndIgnoresAct) {
    // 1 x 3 x 3 of -1..-9 (negative so that a ReLU would show), kernel 3, stride 1,
    // padding 1, act = 1 (ReLU) and 2 (ReLU6): both ignored.
    for (uint32_t act : {1u, 2u}) {
        MainMemory m(96);
        m.put_f32(0, {-1, -2, -3, -4, -5, -6, -7, -8, -9});
        execute(AveragePoolOp{0, 48, window(3, 3, 1, 3, 3, 3, 1, 1), act}, m.data());
        // corner (0,0): (-1-2-4-5)/4 = -3; edge (0,1): (-1-2-3-4-5-6)/6 = -3.5;
        // centre: -45/9 = -5; corner (2,2): (-5-6-8-9)/4 = -7. Padding is not counted
        // (counting it would give -12/9 at the corner).
        EXPECT_EQ(m.f32(48 + 0), -3.0f);
        EXPECT_EQ(m.f32(48 + 4), -3.5f);
        EXPECT_EQ(m.f32(48 + 16), -5.0f);
        EXPECT_EQ(m.f32(48 + 32), -7.0f);
    }
    // A true division, not a multiplication by a reciprocal: one 1 x 3 window, no padding:
    // (1 + 2 + 2) / 3 = fl(5/3) = 0x1.aaaaaap+0, where 5 * fl(1/3) would be 0x1.aaaaacp+0.
    MainMemory m(32);
    m.put_f32(0, {1, 2, 2});
    execute(AveragePoolOp{0, 16, PoolWindow{3, 1, 1, 1, 1, 1, 3, 1, 1, 1, 0, 0}, 0}, m.data());
    EXPECT_EQ(m.f32(16), 0x1.aaaaaap+0f);
}

TEST(CpuLayers, AveragePoolWindowWithNoTapIsNan) {
    MainMemory m(64);
    m.put_f32(0, {4.0f});
    execute(AveragePoolOp{0, 8, window(1, 1, 1, 3, 3, 1, 1, 1), 0}, m.data());
    EXPECT_EQ(m.f32_bits(8), 0x7fc00000u);  // 0/0 on the chip
    EXPECT_EQ(m.f32(8 + 16), 4.0f);          // the centre
}

// ---- QUANTIZE / DEQUANTIZE / CHANNELWISE_DEQUANTIZE / REQUANTIZE -------------------------------

TEST(CpuLayers, QuantizeRoundsHalfAwayFromZeroAndSaturates) {
    MainMemory m(64);
    // scale 0.5 (inv 2), bias 1: v = (x - 1) * 2
    //   2.25 -> 2.5 -> 3 and 3.25 -> 4.5 -> 5 (half away; half-even would give 2 and 4)
    //   0.25 -> -1.5 -> -2 -> clamped to 0;   1.75 -> 1.5 -> 2
    //   101 -> 200;  201 -> 400 -> 255;  1e20 -> saturates (INT32_MAX) -> 255
    //   -1e20 -> saturates (INT32_MIN) -> 0
    m.put_f32(0, {2.25f, 3.25f, 0.25f, 101.0f, 201.0f, 1e20f, -1e20f, 1.75f});
    execute(QuantizeOp{0, 40, 8, 0.5f, 1.0f}, m.data());
    const uint8_t expected[8] = {3, 5, 0, 200, 255, 255, 0, 2};
    for (int i = 0; i < 8; ++i) EXPECT_EQ(m.u8(40 + i), expected[i]) << "element " << i;
    EXPECT_EQ(m.u8(48), 0xEE);
}

TEST(CpuLayers, QuantizeNanAndInfinities) {
    MainMemory m(32);
    m.put_f32(0, {std::numeric_limits<float>::quiet_NaN(), from_bits(0xffc00001u), HUGE_VALF,
                  -HUGE_VALF});
    execute(QuantizeOp{0, 16, 4, 1.0f, 0.0f}, m.data());
    EXPECT_EQ(m.u8(16), 255);  // NaN converts to INT32_MAX, then clamps to 255
    EXPECT_EQ(m.u8(17), 255);  // whatever its sign
    EXPECT_EQ(m.u8(18), 255);
    EXPECT_EQ(m.u8(19), 0);
}

TEST(CpuLayers, QuantizeMultipliesByReciprocalOfScale) {
    // scale = 0.3f = 0x1.333334p-2. x = 2.25: 2.25 * fl(1/0.3f) rounds to exactly 7.5 -> 8,
    // while a float division fl(2.25 / 0.3f) = 0x1.dffffep+2 (7.4999995) would give 7
    // (exact rational arithmetic, offline).
    MainMemory m(16);
    m.put_f32(0, {2.25f});
    execute(QuantizeOp{0, 8, 1, 0.3f, 0.0f}, m.data());
    EXPECT_EQ(m.u8(8), 8);
}

TEST(CpuLayers, DequantizeIsOneFusedMultiplyAdd) {
    // q = 3, scale = 1 + 2^-23, bias = -3. Exact q*scale + bias = 3 * 2^-23 = 0x1.8p-22,
    // which a fused multiply-add returns. Unfused, 3 * (1 + 2^-23) = 3 + 1.5 ulp(3) rounds
    // (tie to even) to 3 + 2 ulp = 3 + 2^-21, and adding -3 gives 2^-21.
    MainMemory m(32);
    m.put_u8(0, {3, 0, 255});
    const float scale = 0x1.000002p+0f;
    execute(DequantizeOp{0, 4, 3, scale, -3.0f}, m.data());
    EXPECT_EQ(m.f32(4), 0x1.8p-22f);
    EXPECT_NE(m.f32(4), 0x1p-21f);
    EXPECT_EQ(m.f32(8), -3.0f);
    // 255 * (1 + 2^-23) - 3 = 252 + 255 * 2^-23 exactly; the ulp of 252 is 2^-16 and
    // 255 * 2^-23 = 1.992 * 2^-16 rounds to 2 * 2^-16: 252 + 2^-15.
    EXPECT_EQ(m.f32(12), 252.0f + 0x1p-15f);
}

TEST(CpuLayers, ChannelwiseDequantizeUsesEachChannelsParameters) {
    MainMemory m(64);
    m.put_u8(0, {1, 2, 3, 4, 3, 3});
    ChannelwiseDequantizeOp op{0, 8, 3, 2, {0.5f, 2.0f, 0x1.000002p+0f}, {1.0f, -1.0f, -3.0f}};
    execute(op, m.data());
    EXPECT_EQ(m.f32(8), 1.5f);          // 1 * 0.5 + 1
    EXPECT_EQ(m.f32(12), 2.0f);         // 2 * 0.5 + 1
    EXPECT_EQ(m.f32(16), 5.0f);         // 3 * 2 - 1
    EXPECT_EQ(m.f32(20), 7.0f);         // 4 * 2 - 1
    EXPECT_EQ(m.f32(24), 0x1.8p-22f);   // fused, as DEQUANTIZE above
    EXPECT_EQ(m.f32(28), 0x1.8p-22f);
    ChannelwiseDequantizeOp short_op{0, 8, 3, 2, {1.0f}, {0.0f}};
    EXPECT_THROW(execute(short_op, m.data()), std::invalid_argument);
}

TEST(CpuLayers, RequantizeLooksUpTable) {
    MainMemory m(16);
    m.put_u8(0, {0, 1, 128, 255});
    RequantizeOp op{0, 4, 4, {}};
    for (int i = 0; i < 256; ++i) op.table[i] = static_cast<uint8_t>(255 - i);
    execute(op, m.data());
    EXPECT_EQ(m.u8(4), 255);
    EXPECT_EQ(m.u8(5), 254);
    EXPECT_EQ(m.u8(6), 127);
    EXPECT_EQ(m.u8(7), 0);
    EXPECT_EQ(m.u8(8), 0xEE);
}

// ---- L2_NORMALIZATION ---------------------------------------------------------------------------

TEST(CpuLayers, L2NormalizationHandComputed) {
    MainMemory m(32);
    m.put_f32(0, {3.0f, 4.0f});
    execute(L2NormalizationOp{0, 8, 2}, m.data());
    // s = 25, sqrt = 5, r = fl(1/5) = 0x1.99999ap-3; 3r = 0x1.333334p-1 (0.6f), 4r = 0.8f.
    EXPECT_EQ(m.f32(8), 0x1.333334p-1f);
    EXPECT_EQ(m.f32(12), 0x1.99999ap-1f);
}

TEST(CpuLayers, L2NormalizationAccumulatesSquaresWithFma) {
    // x = {3, 1 + 3*2^-12}. Exact rational arithmetic (offline):
    //   fused:   s = fma(x1, x1, 9) = 0x1.400c02p+3, sqrtf = 0x1.94cd1cp+1,
    //            r = 0x1.43cb22p-2, out = {0x1.e5b0b4p-1, 0x1.4407d8p-2}
    //   unfused: s = 0x1.400cp+3 -> out = {0x1.e5b0b6p-1, 0x1.4407dap-2}
    MainMemory m(32);
    m.put_f32(0, {3.0f, 0x1.003p+0f});
    execute(L2NormalizationOp{0, 8, 2}, m.data());
    EXPECT_EQ(m.f32(8), 0x1.e5b0b4p-1f);
    EXPECT_EQ(m.f32(12), 0x1.4407d8p-2f);
}

TEST(CpuLayers, L2NormalizationClampsTinySumToEpsilon) {
    // x = 1e-6: s = 1e-12 < 1e-10 -> s = 1e-10; out = 1e-6 / sqrt(1e-10) = 0.1 (not 1):
    // offline exact: 0x1.99999ap-4.
    MainMemory m(32);
    m.put_f32(0, {1e-6f, 0.0f});
    execute(L2NormalizationOp{0, 8, 2}, m.data());
    EXPECT_EQ(m.f32(8), 0x1.99999ap-4f);
    EXPECT_EQ(m.f32(12), 0.0f);
}

// ---- SOFTMAX ----------------------------------------------------------------------------------

TEST(CpuLayers, SoftmaxMultipliesByReciprocalOfSum) {
    MainMemory m(32);
    m.put_f32(0, {0.0f, -4.0f, 0.25f});
    execute(SoftmaxOp{0, 12, 3}, m.data());
    // max = 0.25; e_i = expf(x_i - 0.25); the outputs are e_i * fl(1/sum) (single rounding
    // of the product, written here in double). Element 0 is 0x1.bcc3c4p-2; e_0 / sum would
    // be 0x1.bcc3c2p-2.
    const float e[3] = {newlib_expf(-0.25f), newlib_expf(-4.25f), newlib_expf(0.0f)};
    const float sum = (e[0] + e[1]) + e[2];
    const double r = double{1.0f / sum};
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(m.f32(12 + 4 * i), static_cast<float>(double{e[i]} * r)) << i;
    EXPECT_EQ(m.f32(12), 0x1.bcc3c4p-2f);
    EXPECT_NE(m.f32(12), e[0] / sum);
    // Close to the true softmax.
    const double d[3] = {std::exp(-0.25), std::exp(-4.25), 1.0};
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(m.f32(12 + 4 * i), d[i] / (d[0] + d[1] + d[2]), 2e-7);
}

TEST(CpuLayers, SoftmaxAllNegativeInputsKeepFltMinAsMaximum) {
    // The maximum starts at FLT_MIN, so for all-negative inputs it stays FLT_MIN and the
    // exponentials are of the raw inputs. A correct softmax of {-100, -101} is
    // {0.7310586, 0.2689414}, computed from e^0 and e^-1. Here e^-100 = 3.7e-44 and
    // e^-101 = 1.4e-44 are subnormals with ~5 significant bits, and the result is off by
    // ~1e-2.
    MainMemory m(64);
    m.put_f32(0, {-100.0f, -101.0f});
    execute(SoftmaxOp{0, 8, 2}, m.data());
    const float e0 = newlib_expf(-100.0f), e1 = newlib_expf(-101.0f);
    EXPECT_LT(e0, FLT_MIN);  // subnormal: the shift by the true max never happened
    EXPECT_EQ(m.f32(8), e0 * (1.0f / (e0 + e1)));
    EXPECT_GT(std::fabs(m.f32(8) - 0.7310586f), 1e-3f);
    EXPECT_GT(std::fabs(m.f32(12) - 0.2689414f), 1e-3f);

    // {-200, -201}: every exponential underflows to 0, sum = 0, 0 * (1/0) = NaN, where a
    // correct softmax still gives {0.731, 0.269}.
    m.put_f32(0, {-200.0f, -201.0f});
    execute(SoftmaxOp{0, 8, 2}, m.data());
    EXPECT_EQ(m.f32_bits(8), 0x7fc00000u);
    EXPECT_EQ(m.f32_bits(12), 0x7fc00000u);

    // One input at 0 or above brings the max back: {0, -200} gives {1, 0}.
    m.put_f32(0, {0.0f, -200.0f});
    execute(SoftmaxOp{0, 8, 2}, m.data());
    EXPECT_EQ(m.f32(8), 1.0f);
    EXPECT_EQ(m.f32(12), 0.0f);
}

// ---- CONCAT ----------------------------------------------------------------------------------

TEST(CpuLayers, ConcatCopiesRangesBackToBack) {
    MainMemory m(64);
    m.put_u8(0, {1, 2, 3});
    m.put_u8(10, {4, 5});
    m.put_u8(20, {6});
    execute(ConcatOp{32, {{0, 3}, {10, 2}, {20, 1}}}, m.data());
    const uint8_t expected[] = {1, 2, 3, 4, 5, 6, 0xEE};
    for (int i = 0; i < 7; ++i) EXPECT_EQ(m.u8(32 + i), expected[i]) << i;
}

// ---- FULLY_CONNECTED -----------------------------------------------------------------------

TEST(CpuLayers, FullyConnectedSequentialFmaWhenInChannelsNotMultipleOf8) {
    // in = {1, 1 + 2^-12}, W = {-(1 + 2^-11), 1 + 2^-12}, bias 0.5.
    // sum = fma(1, -(1+2^-11), 0) = -(1+2^-11); then fma(1+2^-12, 1+2^-12, sum) keeps the
    // exact 2^-24 (= (1+2^-12)^2 - (1+2^-11)). out = 0.5 + 2^-24 = 0x1.000002p-1.
    // Unfused, (1+2^-12)^2 rounds to 1+2^-11 and the result would be exactly 0.5.
    MainMemory m(32);
    m.put_f32(0, {1.0f, 0x1.001p+0f});
    FullyConnectedOp op{0, 16, 2, 1, 0, {-0x1.002p+0f, 0x1.001p+0f}, {0.5f}};
    execute(op, m.data());
    EXPECT_EQ(m.f32(16), 0x1.000002p-1f);
}

TEST(CpuLayers, FullyConnectedReassociatedBlocksWhenInChannelsMultipleOf8) {
    // The same two products in a block of 8: t = fma(x0, w0, fl(x1*w1)) =
    // fma(1, -(1+2^-11), 1+2^-11) = 0, so out = 0 + bias = 0.5 exactly (the sequential
    // order would give 0.5 + 2^-24).
    MainMemory m(256);
    std::vector<float> x(8, 0.0f), w(8, 0.0f);
    x[0] = 1.0f, w[0] = -0x1.002p+0f, x[1] = 0x1.001p+0f, w[1] = 0x1.001p+0f;
    m.put_f32(0, x);
    execute(FullyConnectedOp{0, 128, 8, 1, 0, w, {0.5f}}, m.data());
    EXPECT_EQ(m.f32(128), 0.5f);

    // Two blocks (16 inputs): block 1 gives sum = 1 (x0 = w0 = 1). Block 2 has
    // x8 = w8 = x9 = w9 = 2^-12: t = fma(2^-12, 2^-12, 2^-24) = 2^-23, then t + sum =
    // 1 + 2^-23 exactly. Sequential fmas would give fl(1 + 2^-24) = 1 twice: out = 1.
    std::vector<float> x2(16, 0.0f), w2(16, 0.0f);
    x2[0] = w2[0] = 1.0f;
    x2[8] = w2[8] = x2[9] = w2[9] = 0x1p-12f;
    m.put_f32(0, x2);
    execute(FullyConnectedOp{0, 128, 16, 1, 0, w2, {0.0f}}, m.data());
    EXPECT_EQ(m.f32(128), 0x1.000002p+0f);
}

TEST(CpuLayers, FullyConnectedSequentialSumOfMaixEmcForMultiplesOf8) {
    // Maix-EMC's kpu.c (op.sequential_sum): the in-order fma sum also for 8 and 16 inputs,
    // so the two cases above give the sequential results 0.5 + 2^-24 and 1.
    MainMemory m(256);
    std::vector<float> x(8, 0.0f), w(8, 0.0f);
    x[0] = 1.0f, w[0] = -0x1.002p+0f, x[1] = 0x1.001p+0f, w[1] = 0x1.001p+0f;
    m.put_f32(0, x);
    FullyConnectedOp op{0, 128, 8, 1, 0, w, {0.5f}};
    op.sequential_sum = true;
    execute(op, m.data());
    EXPECT_EQ(m.f32(128), 0x1.000002p-1f);

    std::vector<float> x2(16, 0.0f), w2(16, 0.0f);
    x2[0] = w2[0] = 1.0f;
    x2[8] = w2[8] = x2[9] = w2[9] = 0x1p-12f;
    m.put_f32(0, x2);
    FullyConnectedOp op2{0, 128, 16, 1, 0, w2, {0.0f}};
    op2.sequential_sum = true;
    execute(op2, m.data());
    EXPECT_EQ(m.f32(128), 1.0f);
}

TEST(CpuLayers, FullyConnectedActivations) {
    // 1 input of value 1; weights {-2, 3, 10, 0}; biases {0, 0, 0, NaN}: pre-activation
    // {-2, 3, 10, NaN}.
    const std::vector<float> w = {-2.0f, 3.0f, 10.0f, 0.0f};
    const std::vector<float> b = {0.0f, 0.0f, 0.0f, std::numeric_limits<float>::quiet_NaN()};
    const auto run = [&](uint32_t act, int i) {
        MainMemory m(64);
        m.put_f32(0, {1.0f});
        execute(FullyConnectedOp{0, 16, 1, 4, act, w, b}, m.data());
        return m.f32(16 + 4 * i);
    };
    EXPECT_EQ(run(0, 0), -2.0f);
    EXPECT_EQ(run(0, 2), 10.0f);
    EXPECT_EQ(bits_of(run(0, 3)), 0x7fc00000u);
    EXPECT_EQ(run(1, 0), 0.0f);
    EXPECT_EQ(run(1, 2), 10.0f);
    EXPECT_EQ(run(1, 3), 0.0f);  // NaN > 0 is false
    EXPECT_EQ(run(2, 0), 0.0f);
    EXPECT_EQ(run(2, 1), 3.0f);
    EXPECT_EQ(run(2, 2), 6.0f);
    EXPECT_EQ(run(7, 0), -2.0f);  // unknown act: linear, as the SDK
}

TEST(CpuLayers, FullyConnectedRejectsShortWeights) {
    MainMemory m(64);
    const FullyConnectedOp op{0, 16, 2, 2, 0, {1.0f, 2.0f, 3.0f}, {0.0f, 0.0f}};  // 3 < 2 x 2
    EXPECT_THROW(execute(op, m.data()), std::invalid_argument);
}

// ---- TENSORFLOW_FLATTEN / RESIZE_NEAREST_NEIGHBOR ----------------------------------------------

TEST(CpuLayers, TensorflowFlattenReordersChwToHwc) {
    // C=2, H=2, W=3, in[c][y][x] = 100c + 10y + x. HWC order: (y,x,c).
    MainMemory m(128);
    std::vector<float> in;
    for (int c = 0; c < 2; ++c)
        for (int y = 0; y < 2; ++y)
            for (int x = 0; x < 3; ++x) in.push_back(100.0f * c + 10.0f * y + x);
    m.put_f32(0, in);
    execute(FlattenOp{0, 48, 3, 2, 2}, m.data());
    const float expected[12] = {0, 100, 1, 101, 2, 102, 10, 110, 11, 111, 12, 112};
    for (int i = 0; i < 12; ++i) EXPECT_EQ(m.f32(48 + 4 * i), expected[i]) << i;
}

TEST(CpuLayers, ResizeNearestIndexRuleFloatProductAndFloor) {
    // in_w = 26, out_w = 22: sw = fl(26/22) = 0x1.2e8ba2p+0 < 13/11. For ox = 11 the float
    // product 11 * sw rounds to just below 13, so the source is x = 12, where the exact
    // 11 * 26 / 22 = 13 would pick 13. Last column: floor(21 * sw) = 24.
    MainMemory m(256);
    std::vector<float> in;
    for (int x = 0; x < 26; ++x) in.push_back(static_cast<float>(x));
    m.put_f32(0, in);
    ResizeNearestOp op{0, 128, 26, 1, 1, 22, 1, 1};  // align_corners = 1: ignored
    execute(op, false, m.data());
    EXPECT_EQ(m.f32(128 + 4 * 11), 12.0f);
    EXPECT_EQ(m.f32(128 + 4 * 21), 24.0f);
    EXPECT_EQ(m.f32(128 + 4 * 0), 0.0f);
    EXPECT_EQ(m.f32(128 + 4 * 1), 1.0f);  // 1.18 -> 1
}

TEST(CpuLayers, ResizeNearestQuantizedUpsampleAndDownsample) {
    // 2 channels 2 x 2 -> 4 x 4: scale 0.5, source index floor(o / 2).
    MainMemory m(128);
    m.put_u8(0, {1, 2, 3, 4, 5, 6, 7, 8});
    execute(ResizeNearestOp{0, 16, 2, 2, 2, 4, 4, 0}, true, m.data());
    const uint8_t ch0[16] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    for (int i = 0; i < 16; ++i) {
        EXPECT_EQ(m.u8(16 + i), ch0[i]) << i;
        EXPECT_EQ(m.u8(32 + i), ch0[i] + 4) << i;
    }
    EXPECT_EQ(m.u8(48), 0xEE);
    // 3 x 3 -> 2 x 2: scale 1.5, sources 0 and floor(1.5) = 1.
    MainMemory m2(64);
    m2.put_u8(0, {1, 2, 3, 4, 5, 6, 7, 8, 9});
    execute(ResizeNearestOp{0, 16, 3, 3, 1, 2, 2, 0}, true, m2.data());
    EXPECT_EQ(m2.u8(16), 1);
    EXPECT_EQ(m2.u8(17), 2);
    EXPECT_EQ(m2.u8(18), 4);
    EXPECT_EQ(m2.u8(19), 5);
}

// ---- LOGISTIC ----------------------------------------------------------------------------

TEST(CpuLayers, LogisticHandValuesAndOverflow) {
    MainMemory m(64);
    m.put_f32(0, {0.0f, 100.0f, -100.0f, -88.0f});
    execute(LogisticOp{0, 16, 4}, m.data());
    EXPECT_EQ(m.f32(16), 0.5f);   // 1 / (1 + 1)
    EXPECT_EQ(m.f32(20), 1.0f);   // 1 + 3.7e-44 = 1
    EXPECT_EQ(m.f32(24), 0.0f);   // expf(100) overflows to +inf: 1 / inf = 0
    // expf(88) = 1.65e38 is finite: 1 / (1 + 1.65e38) = 6.05e-39, a subnormal, not 0.
    EXPECT_GT(m.f32(28), 0.0f);
    EXPECT_LT(m.f32(28), FLT_MIN);
}

TEST(CpuLayers, LogisticCloseToDoubleReference) {
    std::mt19937 rng(1234);
    std::uniform_real_distribution<float> dist(-20.0f, 20.0f);
    std::vector<float> xs(1000);
    for (float& x : xs) x = dist(rng);
    MainMemory m(8000);
    m.put_f32(0, xs);
    execute(LogisticOp{0, 4000, 1000}, m.data());
    for (size_t i = 0; i < xs.size(); ++i) {
        const double ref = 1.0 / (1.0 + std::exp(-double{xs[i]}));
        EXPECT_LE(ulp_distance(m.f32(4000 + 4 * i), static_cast<float>(ref)), 3) << xs[i];
    }
}

// ---- K210_ADD_PADDING / K210_REMOVE_PADDING / K210_UPLOAD ------------------------------------

TEST(CpuLayers, AddPaddingTouchesOnlyPixelZeroZero) {
    std::vector<uint8_t> kpu_ram(kpu::kKpuRamBytes, 0xAB);
    MainMemory m(16);
    m.put_u8(0, {10, 11, 12, 13, 14, 15});
    execute(AddPaddingOp{0, 10, 6}, m.data(), kpu_ram.data());
    // byte row*64 + (c/4)*256 + (c%4)*16
    const uint32_t addr[6] = {640, 656, 672, 688, 896, 912};
    for (int c = 0; c < 6; ++c) EXPECT_EQ(kpu_ram[addr[c]], 10 + c) << c;
    size_t changed = 0;
    for (uint8_t b : kpu_ram) changed += b != 0xAB;
    EXPECT_EQ(changed, 6u) << "only pixel (0,0) of each channel is written";
}

TEST(CpuLayers, AddPaddingRejectsRowsBeyondKpuRam) {
    std::vector<uint8_t> kpu_ram(kpu::kKpuRamBytes, 0);
    MainMemory m(16);
    EXPECT_THROW(execute(AddPaddingOp{0, 32767, 5}, m.data(), kpu_ram.data()), std::out_of_range);
    EXPECT_NO_THROW(execute(AddPaddingOp{0, 32767, 1}, m.data(), kpu_ram.data()));
}

TEST(CpuLayers, RemovePaddingTakesEverySixteenthByte) {
    MainMemory m(64);
    for (uint8_t i = 0; i < 48; ++i) m.put_u8(i, {i});
    execute(RemovePaddingOp{0, 50, 3}, m.data());
    EXPECT_EQ(m.u8(50), 0);
    EXPECT_EQ(m.u8(51), 16);
    EXPECT_EQ(m.u8(52), 32);
    EXPECT_EQ(m.u8(53), 0xEE);
}

TEST(CpuLayers, UploadWritesKpuLayout) {
    // 3 channels of 2 x 5 (width <= 16: 4 channels per row, 16-byte slots, one row a line):
    // element (c, y, x) at row*64 + c*16 + y*64 + x (spec §2).
    std::vector<uint8_t> kpu_ram(kpu::kKpuRamBytes, 0xAB);
    MainMemory m(64);
    for (uint8_t i = 0; i < 30; ++i) m.put_u8(i, {static_cast<uint8_t>(i + 1)});
    execute(UploadOp{0, 3, 5, 2, 3}, m.data(), kpu_ram.data());
    for (uint32_t c = 0; c < 3; ++c)
        for (uint32_t y = 0; y < 2; ++y)
            for (uint32_t x = 0; x < 5; ++x)
                EXPECT_EQ(kpu_ram[3 * 64 + c * 16 + y * 64 + x], 1 + c * 10 + y * 5 + x)
                    << c << y << x;
    EXPECT_EQ(kpu_ram[3 * 64 + 5], 0xAB);  // slot bytes beyond the width untouched
}

// ---- newlib_expf -------------------------------------------------------------------------

TEST(CpuLayers, NewlibExpfSpecialValues) {
    EXPECT_EQ(bits_of(newlib_expf(std::numeric_limits<float>::quiet_NaN())), 0x7fc00000u);
    EXPECT_EQ(bits_of(newlib_expf(from_bits(0xffa00001u))), 0x7fc00000u);  // signalling, negative
    EXPECT_EQ(newlib_expf(HUGE_VALF), HUGE_VALF);
    EXPECT_EQ(bits_of(newlib_expf(-HUGE_VALF)), 0u);  // +0
    EXPECT_EQ(newlib_expf(0.0f), 1.0f);
    EXPECT_EQ(newlib_expf(-0.0f), 1.0f);
    EXPECT_EQ(newlib_expf(0x1.fffffep-29f), 1.0f);  // below 2^-28: 1 + x
    // Overflow threshold: 0x42b17217 (88.7228317) is the last finite input.
    EXPECT_EQ(bits_of(newlib_expf(from_bits(0x42b17217u))), 0x7f7fff84u);
    EXPECT_EQ(newlib_expf(from_bits(0x42b17218u)), HUGE_VALF);
    EXPECT_EQ(newlib_expf(1000.0f), HUGE_VALF);
    // Underflow: subnormal results below -87.33, 0 from -103.972084 (0xc2cff1b5) on.
    EXPECT_EQ(bits_of(newlib_expf(from_bits(0xc2aeac50u))), 0x007fffe6u);
    EXPECT_EQ(bits_of(newlib_expf(-100.0f)), 0x0000001bu);
    EXPECT_EQ(bits_of(newlib_expf(from_bits(0xc2cff1b5u))), 0u);
    EXPECT_EQ(bits_of(newlib_expf(-1000.0f)), 0u);
}

TEST(CpuLayers, NewlibExpfGoldenValuesFromNewlibSource) {
    // Outputs of newlib's ef_exp.c compiled with FMA contraction (GCC 12, -O2), offline.
    struct Case {
        uint32_t x, expected;
    };
    // Inputs where newlib differs from a correctly rounded expf (glibc's is 1 ulp away).
    const Case vs_correct_rounding[] = {
        {0x3f005ccdu, 0x3fd355dau}, {0x3f034335u, 0x3fd5be38u}, {0xbf015445u, 0x3f1a77beu},
        {0xbf01eef0u, 0x3f1a1a88u}, {0xbf036224u, 0x3f193bb6u}, {0x3f800000u, 0x402df854u},
        {0xbf800000u, 0x3ebc5ab2u},
    };
    // Inputs where the fused evaluation differs from the unfused one (the unfused newlib
    // gives expected + or - 1): through c = r - t*q ...
    const Case fused_vs_unfused[] = {
        {0x425ee0cbu, 0x67a74c70u}, {0xc0225d6du, 0x3da202ebu}, {0xc0788514u, 0x3ca8a4e7u},
        {0xc0c08980u, 0x3b1fbe5eu}, {0xc0d60baeu, 0x3aa3227du}, {0xc29fc422u, 0x05d7bb15u},
        // ... and where only the last Horner step (P1 + t*q) being fused matters.
        {0x3e821a92u, 0x3fa5082fu}, {0x3e937ea6u, 0x3faabbdeu}, {0x3e9c9425u, 0x3fadca42u},
    };
    for (const Case& c : vs_correct_rounding)
        EXPECT_EQ(bits_of(newlib_expf(from_bits(c.x))), c.expected) << std::hex << c.x;
    for (const Case& c : fused_vs_unfused)
        EXPECT_EQ(bits_of(newlib_expf(from_bits(c.x))), c.expected) << std::hex << c.x;
}

TEST(CpuLayers, NewlibExpfWithinOneUlpOfHost) {
    // Every 257th float from -103.97 to +88.72 (and every one near 0 and the thresholds):
    // within 1 ulp of the host's expf, and count how often they differ at all.
    uint64_t compared = 0, differing = 0;
    int64_t worst = 0;
    const auto check = [&](uint32_t u) {
        const float x = from_bits(u);
        const float mine = newlib_expf(x);
        const float host = std::exp(x);
        ASSERT_FALSE(std::isnan(mine)) << std::hex << u;
        if (std::isinf(host) || std::isinf(mine)) {
            ASSERT_EQ(mine, host) << std::hex << u;
            return;
        }
        const int64_t d = ulp_distance(mine, host);
        ++compared;
        differing += d != 0;
        worst = std::max(worst, d);
        ASSERT_LE(d, 1) << "x = " << x << " (0x" << std::hex << u << ")";
    };
    for (uint32_t u = 0; u <= 0x42b17218u; u += 257) check(u);            // +0 .. past overflow
    for (uint32_t u = 0x80000000u; u <= 0xc2cff1b6u; u += 257) check(u);  // -0 .. past underflow
    for (uint32_t u = 0x42b17000u; u <= 0x42b17300u; ++u) check(u);       // overflow edge
    for (uint32_t u = 0xc2cff000u; u <= 0xc2cff200u; ++u) check(u);       // underflow edge
    for (uint32_t u = 0x3eb17000u; u <= 0x3eb17400u; ++u) check(u);       // ln2/2 boundary
    for (uint32_t u = 0xbf851400u; u <= 0xbf851700u; ++u) check(u);       // 3 ln2/2 boundary
    EXPECT_EQ(worst, 1);
    EXPECT_GT(differing, 0u);
    EXPECT_LT(differing, compared / 10);
    RecordProperty("expf_compared", static_cast<int>(compared));
    RecordProperty("expf_differing", static_cast<int>(differing));
}

}  // namespace
}  // namespace kpusim::cpu
