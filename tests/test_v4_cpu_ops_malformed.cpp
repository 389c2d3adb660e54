// kmodel V4 CPU operations: malformed bodies give typed KmodelErrors naming the node and the
// field; random corruption never crashes; the cycle model; the V4 container writer.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "cpu_layers/v4/v4_cpu_timing.h"
#include "cpu_layers/v4/v4_kernels.h"
#include "models/kmodel_error.h"
#include "models/kmodel_v4_builder.h"
#include "models/kmodel_v4_cpu_ops.h"
#include "sim/calibration.h"

using namespace kpusim;
using namespace kpusim::v4build;

namespace {

constexpr uint32_t kNode = 7;
const v4::MemorySizes kSizes{512, 4096, 4096};

Range F(uint32_t start, uint32_t floats) { return {kMain, kF32, start, floats * 4}; }
Range B(uint32_t start, uint32_t bytes) { return {kMain, kU8, start, bytes}; }

std::shared_ptr<const v4::CpuNode> parse(uint32_t opcode, const std::vector<uint8_t>& b,
                                         const v4::MemorySizes& sizes = kSizes) {
    return v4::parse_cpu_node(opcode, b.data(), b.size(), kNode, sizes);
}

template <class Fn>
void expect_error(Fn&& f, KmodelErrorKind kind, const std::string& field) {
    try {
        f();
        ADD_FAILURE() << "no error (expected " << to_string(kind) << " on " << field << ")";
    } catch (const KmodelError& e) {
        EXPECT_EQ(e.kind(), kind) << e.what();
        EXPECT_EQ(e.layer(), std::optional<uint32_t>(kNode)) << e.what();
        EXPECT_EQ(e.field(), field) << e.what();
    }
}

struct Sample {
    uint32_t opcode;
    std::vector<uint8_t> body;
    size_t fixed;  ///< bytes every prefix of which is truncated (the whole body except nnil)
};

/// One valid body of every CPU opcode.
std::vector<Sample> samples() {
    std::vector<Sample> s;
    auto add = [&](uint32_t op, std::vector<uint8_t> b) { s.push_back({op, b, b.size()}); };
    add(0x00, binary_body({F(0, 6), F(64, 3), F(128, 6), 1, {1, 1, 2, 3}, {1, 1, 1, 3}, {1, 1, 2, 3}}));
    add(0x01, concat_body({B(256, 10), 1, 2, {B(0, 4), B(16, 6)}, {2, 3}}));
    Conv2DDesc c;
    c.in = F(0, 9);
    c.out = F(64, 9);
    c.in_shape = {1, 1, 3, 3};
    c.window = {1, 0, 1, 0, 2, 2, 1, 1, 1, 1};
    c.weights = {1, 2, 3, 4};
    c.bias = {0.5f};
    add(0x02, conv2d_body(c));
    add(0x03, quant_body({B(0, 16), F(64, 16), 3, 0.5f}));
    add(0x04, matmul_body({F(0, 6), F(64, 6), F(128, 4), 2, 3, 2, -kFltMax, kFltMax, {10, 20}}));
    PadDesc p;
    p.in = F(0, 4);
    p.out = F(64, 6);
    p.in_shape = {1, 1, 2, 2};
    p.paddings[2] = {1, 0};
    add(0x05, pad_body(p));
    add(0x06, quant_body({F(0, 5), B(64, 5), 10, 2.0f}));
    add(0x07, reduce_body({F(0, 6), F(64, 2), 0, {1, 1, 2, 3}, {1, 1, 2, 1}, 0.0f}));
    ReduceWindowDesc r;
    r.in = F(0, 9);
    r.out = F(64, 4);
    r.in_shape = {1, 1, 3, 3};
    r.window = {0, 1, 0, 1, 2, 2, 2, 2, 1, 1};
    add(0x08, reduce_window2d_body(r));
    add(0x09, memory_copy_body({F(0, 3), F(64, 3)}));
    add(0x0A, resize_image_body({F(0, 6), F(64, 35), {1, 1, 2, 3}, 5, 7, 0, false}));
    add(0x0B, softmax_body({F(0, 6), F(64, 6), 3, 2, 0.7f}));
    add(0x0C, transpose_body({F(0, 6), F(64, 6), {1, 2, 3, 1}, {0, 2, 1, 3}}));
    add(0x0D, strided_slice_body({B(0, 6), B(64, 3), {1, 1, 1, 6}, {0, 0, 0, 5}, {1, 1, 1, 0}, {1, 1, 1, -2}, {}}));
    add(0x0E, unary_body({F(0, 4), F(64, 4), 3}));
    QuantizedConv2DDesc q;
    q.in = B(0, 4);
    q.out = B(16, 8);
    q.in_shape = {1, 1, 2, 2};
    q.out_channels = 2;
    q.bias = {5, -5};
    q.weights = {1, 2};
    add(0x0F, quantized_conv2d_body(q));
    add(0x10, quantized_matmul_body({B(0, 2), B(16, 4), B(32, 2), 1, 2, 2, 1, -1, 2, 2, 0, {0, 100}}));
    QuantizedBinaryDesc qb;
    qb.base = {B(0, 4), B(16, 2), B(32, 4), 3, {1, 1, 2, 2}, {1, 1, 1, 2}, {1, 1, 2, 2}};
    add(0x11, quantized_binary_body(qb));
    add(0x12, table_lookup1d_body({B(0, 3), {kConst, kU8, 0, 256}, B(16, 3)}));
    Conv2DTransposeDesc t;
    t.in = F(0, 2);
    t.out = F(64, 4);
    t.in_shape = {1, 1, 1, 2};
    t.out_shape = {1, 1, 1, 4};
    t.window.filter_w = 2;
    t.window.stride_w = 2;
    t.weights = {10, 100};
    t.bias = {1000};
    add(0x13, conv2d_transpose_body(t));
    const std::vector<uint8_t> prog{0x03, 0x05, 0x40, 0x03, 0x43, 0x06, 0, 0, 0x80, 0x3f, 0x45, 0xA0};
    s.push_back({0x14, nnil_unary_method_body({F(0, 3), F(64, 3), prog}), 32});
    CpuConv2DDesc cc;
    cc.in = F(0, 8);
    cc.out = F(64, 4);
    cc.in_shape = {1, 2, 2, 2};
    cc.weights = {1, 10};
    cc.bias = {0.5f};
    add(0x1001, cpu_conv2d_body(cc));
    cc.window.filter_h = cc.window.filter_w = 2;
    cc.weights = {1, 1, 1, 1, 1, 0, 0, 1};
    cc.bias = {0, 100};
    add(0x1002, cpu_depthwise_conv2d_body(cc));
    r.in = F(0, 8);
    r.out = F(64, 8);
    r.in_shape = {1, 2, 2, 2};
    r.window = {};
    add(0x1003, reduce_window2d_body(r));
    CpuQuantizedConv2DDesc cq;
    cq.in = B(0, 4);
    cq.out = B(16, 4);
    cq.in_shape = {1, 1, 2, 2};
    cq.weights = {1, 2};
    cq.bias = {10};
    add(0x1004, cpu_quantized_conv2d_body(cq));
    cq.bias = {1, 1};
    add(0x1005, cpu_quantized_depthwise_conv2d_body(cq));
    return s;
}

}  // namespace

TEST(V4CpuOpsMalformed, EverySampleParsesAndRuns) {
    const auto all = samples();
    EXPECT_EQ(all.size(), 26u);
    std::vector<uint8_t> constants(512), main(4096), kpu(4096);
    for (const auto& s : all) {
        SCOPED_TRACE(v4::opcode_name(s.opcode));
        const auto n = parse(s.opcode, s.body);
        EXPECT_EQ(n->opcode, s.opcode);
        EXPECT_NO_THROW(v4::execute(*n, {constants.data(), main.data(), kpu.data(), kSizes}));
        EXPECT_FALSE(v4::node_outputs(*n).empty());
        EXPECT_GT(v4::node_work(*n), 0u);
    }
}

TEST(V4CpuOpsMalformed, TruncationAtEveryFieldIsTyped) {
    for (const auto& s : samples()) {
        SCOPED_TRACE(v4::opcode_name(s.opcode));
        for (size_t len = 0; len < s.fixed; ++len) {
            const std::vector<uint8_t> cut(s.body.begin(), s.body.begin() + len);
            try {
                parse(s.opcode, cut);
                ADD_FAILURE() << "prefix of " << len << " bytes parsed";
            } catch (const KmodelError& e) {
                EXPECT_EQ(e.kind(), KmodelErrorKind::truncated) << len << ": " << e.what();
                EXPECT_EQ(e.layer(), std::optional<uint32_t>(kNode));
                EXPECT_FALSE(e.field().empty());
            }
        }
    }
}

TEST(V4CpuOpsMalformed, RangesOutsideTheirMemoryOrOfBadKind) {
    auto body = binary_body({F(0, 6), F(64, 3), F(128, 6), 1, {1, 1, 2, 3}, {1, 1, 1, 3}, {1, 1, 2, 3}});
    auto b = body;
    poke_u32(b, 8, 4090);  // a.start: 4090 + 24 > 4096
    expect_error([&] { parse(0x00, b); }, KmodelErrorKind::out_of_bounds, "a");
    b = body;
    poke_u32(b, 16 + 8, 0xFFFFFFF0u);  // b.start near 2^32: the end is computed in 64 bits
    expect_error([&] { parse(0x00, b); }, KmodelErrorKind::out_of_bounds, "b");
    b = body;
    poke_u32(b, 0, 3);
    expect_error([&] { parse(0x00, b); }, KmodelErrorKind::inconsistent, "a.memory_type");
    b = body;
    poke_u32(b, 4, 2);
    expect_error([&] { parse(0x00, b); }, KmodelErrorKind::inconsistent, "a.datatype");
    b = body;
    poke_u32(b, 4, 1);  // uint8 into a float kernel
    expect_error([&] { parse(0x00, b); }, KmodelErrorKind::inconsistent, "a.datatype");
    b = body;
    poke_u32(b, 32, 0);  // out in the constant memory
    expect_error([&] { parse(0x00, b); }, KmodelErrorKind::inconsistent, "out");
    b = body;
    poke_u32(b, 16 + 12, 8);  // b holds 2 floats but 3 are read
    expect_error([&] { parse(0x00, b); }, KmodelErrorKind::out_of_bounds, "b");
    b = body;
    poke_u32(b, 48, 6);
    expect_error([&] { parse(0x00, b); }, KmodelErrorKind::inconsistent, "op");
}

TEST(V4CpuOpsMalformed, ShapesThatOverflowOrExceedTheRanges) {
    Conv2DDesc c;
    c.in = F(0, 9);
    c.out = F(64, 9);
    c.in_shape = {1, 1, 3, 3};
    c.weights = {1};
    c.bias = {0};
    auto body = conv2d_body(c);
    auto b = body;
    poke_u32(b, 32 + 12, 0x7fffffff);
    expect_error([&] { parse(0x02, b); }, KmodelErrorKind::inconsistent, "in_shape");
    b = body;
    for (int k = 0; k < 4; ++k) poke_u32(b, 32 + 4 * k, 4096);  // 2^48 elements
    expect_error([&] { parse(0x02, b); }, KmodelErrorKind::inconsistent, "in_shape");
    b = body;
    poke_u32(b, 32 + 8, 4);  // 12 floats read from a 9-float range
    expect_error([&] { parse(0x02, b); }, KmodelErrorKind::out_of_bounds, "in");
    b = body;
    poke_u32(b, 80, 0);
    expect_error([&] { parse(0x02, b); }, KmodelErrorKind::inconsistent, "stride_h");
    b = body;
    poke_u32(b, 92, 0);
    expect_error([&] { parse(0x02, b); }, KmodelErrorKind::inconsistent, "dilation_w");
    b = body;
    poke_u32(b, 48, 0);
    expect_error([&] { parse(0x02, b); }, KmodelErrorKind::inconsistent, "groups");
    b = body;
    poke_u32(b, 52, 1000);  // out_channels: 1000 weights are not in the body
    expect_error([&] { parse(0x02, b); }, KmodelErrorKind::truncated, "weights");
    // A node of more than 2^28 multiply-adds is refused before anything runs.
    Conv2DDesc big;
    big.in = {kMain, kF32, 0, 4u << 20};
    big.out = {kMain, kF32, 4u << 20, 2u << 20};
    big.in_shape = {1, 1, 512, 512};
    big.window.filter_h = big.window.filter_w = 64;
    big.weights.assign(64 * 64, 1.0f);
    big.bias = {0};
    expect_error([&] { parse(0x02, conv2d_body(big), {0, 6u << 20, 0}); }, KmodelErrorKind::inconsistent, "filter_h");
}

TEST(V4CpuOpsMalformed, BadEnumsAndIndices) {
    expect_error([&] { parse(0x0E, unary_body({F(0, 4), F(64, 4), 10})); }, KmodelErrorKind::inconsistent, "op");
    expect_error([&] { parse(0x07, reduce_body({F(0, 6), F(64, 2), 4, {1, 1, 2, 3}, {1, 1, 2, 1}, 0})); },
                 KmodelErrorKind::inconsistent, "op");
    expect_error([&] { parse(0x0A, resize_image_body({F(0, 6), F(64, 35), {1, 1, 2, 3}, 5, 7, 2, false})); },
                 KmodelErrorKind::inconsistent, "mode");
    expect_error([&] { parse(0x0C, transpose_body({F(0, 6), F(64, 6), {1, 2, 3, 1}, {0, 0, 1, 2}})); },
                 KmodelErrorKind::inconsistent, "perm");
    expect_error([&] { parse(0x0D, strided_slice_body({B(0, 6), B(64, 3), {1, 1, 1, 6}, {0, 0, 0, 5}, {1, 1, 1, 0},
                                                       {1, 1, 1, 0}, {}})); },
                 KmodelErrorKind::inconsistent, "strides");
    expect_error([&] { parse(0x0D, strided_slice_body({B(0, 6), B(64, 3), {1, 1, 1, 6}, {0, 0, 0, 6}, {1, 1, 1, 0},
                                                       {1, 1, 1, -2}, {}})); },
                 KmodelErrorKind::out_of_bounds, "begin");
    expect_error([&] { parse(0x12, table_lookup1d_body({B(0, 3), {kConst, kU8, 0, 255}, B(16, 3)})); },
                 KmodelErrorKind::out_of_bounds, "table");
    auto qb = quantized_binary_body({{B(0, 4), B(16, 4), B(32, 4), 9, {1, 1, 1, 4}, {1, 1, 1, 4}, {1, 1, 1, 4}}});
    expect_error([&] { parse(0x11, qb); }, KmodelErrorKind::inconsistent, "op");
    std::vector<uint8_t> concat = concat_body({B(256, 10), 1, 2, {B(0, 4)}, {2}});
    poke_u32(concat, 24, 0x10000000);  // inputs_count far beyond the body
    expect_error([&] { parse(0x01, concat); }, KmodelErrorKind::truncated, "inputs");
}

TEST(V4CpuOpsMalformed, RandomCorruptionNeverCrashes) {
    std::mt19937 rng(20261126);
    std::vector<uint8_t> constants(512), main(4096), kpu(4096);
    int parsed = 0, refused = 0;
    for (const auto& s : samples()) {
        for (int iter = 0; iter < 300; ++iter) {
            auto b = s.body;
            const int flips = 1 + static_cast<int>(rng() % 3);
            for (int f = 0; f < flips; ++f) b[rng() % b.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
            try {
                const auto n = parse(s.opcode, b);
                ++parsed;
                if (v4::node_work(*n) <= 2'000'000) {
                    try {
                        v4::execute(*n, {constants.data(), main.data(), kpu.data(), kSizes});
                    } catch (const std::runtime_error&) {
                    }
                }
                (void)v4::cpu_node_cycles(*n, kCalibration.cpu, kV4CpuTiming);
                (void)v4::output_shape(*n);
            } catch (const KmodelError& e) {
                ++refused;
                EXPECT_EQ(e.layer(), std::optional<uint32_t>(kNode));
            }
        }
    }
    EXPECT_GT(parsed, 0);
    EXPECT_GT(refused, 0);
}

TEST(V4CpuOpsMalformed, ExecuteRefusesMemoriesSmallerThanTheRanges) {
    std::vector<uint8_t> main(64), kpu(64);
    const auto n = parse(0x09, memory_copy_body({F(0, 3), F(1024, 3)}));
    EXPECT_THROW(v4::execute(*n, {nullptr, main.data(), kpu.data(), {0, 64, 64}}), std::runtime_error);
}

// ---- timing ------------------------------------------------------------------------------------

TEST(V4CpuTiming, CyclesGrowWithTheWork) {
    const v4::MemorySizes big{0, 6u << 20, 0};
    auto deq = [&](uint32_t n) {
        return v4::cpu_node_cycles(*parse(0x03, quant_body({B(0, n), {kMain, kF32, 1u << 20, 4 * n}, 0, 1}), big),
                                   kCalibration.cpu, kV4CpuTiming);
    };
    EXPECT_LT(deq(100), deq(1000));
    EXPECT_LT(deq(1000), deq(10000));
    EXPECT_GE(deq(0), static_cast<uint64_t>(kCalibration.cpu.layer_overhead));
    auto mm = [&](int32_t k) {
        MatMulDesc d{F(0, 64), F(256, 64), F(512, 64), 8, k, 8, -kFltMax, kFltMax, std::vector<float>(8, 0)};
        d.a.size = 4 * 8 * k;
        d.b.size = 4 * 8 * k;
        d.b.start = 1024;
        d.out.start = 2048;
        return v4::cpu_node_cycles(*parse(0x04, matmul_body(d), big), kCalibration.cpu, kV4CpuTiming);
    };
    EXPECT_LT(mm(2), mm(8));
}

// kendryte/nncase#95 (V4 runtime on the chip) printed "Dequantize: 9.357 ms" for the output of
// a 16-channel conv on 160x120 (kmodel-spec §11's reading of the issue: 307,200 values), CPU
// 400 MHz. kV4CpuTiming.dequantize_per_element was set from that one point, so this is a
// consistency check of the calibration (1 %), not an independent validation.
TEST(V4CpuTiming, DequantizeReproducesNncase95) {
    const uint32_t n = 160 * 120 * 16;
    const auto node = parse(0x03, quant_body({B(0, n), {kMain, kF32, n, 4 * n}, 0, 1}), {0, 6u << 20, 0});
    const double ms = static_cast<double>(v4::cpu_node_cycles(*node, kCalibration.cpu, kV4CpuTiming)) / 400e3;
    EXPECT_NEAR(ms, 9.357, 9.357 * 0.01);
}

// ---- the container writer -------------------------------------------------------------------

TEST(V4Builder, ContainerLayoutAndPadding) {
    V4Builder b;
    b.main_mem = 4096;
    b.inputs.push_back({{kMain, kU8, 0, 12}, {1, 3, 2, 2}});
    b.outputs.push_back({kMain, kF32, 64, 48});
    b.constants = {1, 2, 3, 4, 5};
    b.nodes.push_back({0x03, quant_body({B(0, 12), F(64, 12), 0, 1})});  // 40 bytes
    b.nodes.push_back({0x0E, unary_body({F(64, 12), F(64, 12), 3})});      // 36 bytes
    const auto f = b.build();
    auto u32 = [&](size_t off) {
        uint32_t v;
        std::memcpy(&v, f.data() + off, 4);
        return v;
    };
    EXPECT_EQ(u32(0), 0x4B4D444Cu);
    EXPECT_EQ(u32(4), 4u);
    EXPECT_EQ(u32(12), 1u);
    EXPECT_EQ(u32(16), 5u);
    EXPECT_EQ(u32(20), 4096u);
    EXPECT_EQ(u32(24), 2u);
    EXPECT_EQ(u32(28), 1u);
    EXPECT_EQ(u32(32), 1u);
    EXPECT_EQ(u32(36), 0xccccccccu);
    EXPECT_EQ(u32(40 + 8), 0u);         // input range start
    EXPECT_EQ(u32(56 + 4), 3u);         // input shape C
    EXPECT_EQ(u32(72 + 8), 64u);        // output range start
    EXPECT_EQ(f[88], 1);                // constants at 88
    const size_t headers = 88 + 5;      // node headers at 93
    const size_t body0 = headers + 16;  // 109
    EXPECT_EQ(b.body_offset(0), body0);
    EXPECT_EQ(u32(headers), 0x03u);
    EXPECT_EQ(u32(headers + 4), 40u + 3u);  // 109 + 40 = 149 -> padded to 152
    EXPECT_EQ(b.body_offset(1), 152u);
    EXPECT_EQ(u32(headers + 12), 40u);  // 152 + 36 = 188 -> 192
    EXPECT_EQ(f.size(), 192u);
    EXPECT_EQ(u32(152 + 32), 3u);  // the unary op field
    b.drop_last_padding = true;
    EXPECT_EQ(b.build().size(), 188u);
}
