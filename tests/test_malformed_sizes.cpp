// Regression tests for the size classes a fuzz campaign found (issue 11): products of u32
// fields that wrap in 64 bits, zero dimensions beside huge ones, pooling windows with
// absurd work, and empty tensors handed to memcpy. Each model is built with the V3 builder
// (a small FULLY_CONNECTED first, as the V3 runtime requires, then the layer under test)
// and must be refused with a typed error or run in bounded time, never crash.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "models/kmodel_error.h"
#include "models/kmodel_loader.h"
#include "models/kmodel_v3_builder.h"
#include "models/size_limits.h"
#include "sim/functional_executor.h"
#include "sim/model_input.h"

using namespace kpusim;

namespace {

constexpr uint32_t kBig = 0xFFFFFFFFu;
constexpr uint32_t k2p31 = 0x80000000u;

// A 4 KiB model: FC 1 -> 1 (main bytes 0..8), then one raw layer, output at 0.
std::vector<uint8_t> model_with(uint32_t type, const std::vector<uint32_t>& words,
                                uint32_t main_mem_usage = 4096) {
    KmodelV3Builder b;
    b.add_fully_connected(0, 4, 1, 1, 0, {2.0f}, {0.5f});
    b.add_raw_layer_words(type, words);
    b.set_main_mem_usage(main_mem_usage);
    b.add_output(4, 1);
    return b.build();
}

KmodelError refusal(const std::vector<uint8_t>& bytes) {
    try {
        parse_kmodel(bytes);
    } catch (const KmodelError& e) {
        return e;
    }
    ADD_FAILURE() << "the file was accepted";
    return KmodelError(KmodelErrorKind::inconsistent, "none");
}

// Parses and runs, and returns the host time it took.
double run_seconds(const std::vector<uint8_t>& bytes) {
    const auto t0 = std::chrono::steady_clock::now();
    const Model m = parse_kmodel(bytes);
    run_functional(m, test_pattern(m.input));
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST(MalformedSizes, CheckedProductDetectsWrap) {
    EXPECT_EQ(checked_product({4, k2p31, k2p31}), std::nullopt);  // 2^64 wraps to 0
    EXPECT_EQ(checked_product({4, 1u << 20, 1u << 10}), uint64_t{1} << 32);
    EXPECT_EQ(checked_mul(uint64_t{1} << 63, 2), std::nullopt);
}

// 4 x 2^31 x 2^31 = 2^64 wraps to 0 in 64 bits: the range check must not pass.
TEST(MalformedSizes, WrappedGlobalAveragePoolRangeIsRefused) {
    const auto e = refusal(model_with(kV3GlobalAveragePool2d, {0, 0, 64, k2p31, k2p31}));
    EXPECT_EQ(e.kind(), KmodelErrorKind::out_of_bounds);
    EXPECT_EQ(*e.layer(), 1u);
}

TEST(MalformedSizes, WrappedFlattenRangeIsRefused) {
    // width 2^31, height 2^31, channels 4: 4 x n bytes wraps to 0.
    const auto e = refusal(model_with(kV3TensorflowFlatten, {0, 0, 64, k2p31, k2p31, 4}));
    EXPECT_EQ(e.kind(), KmodelErrorKind::out_of_bounds);
    EXPECT_EQ(*e.layer(), 1u);
}

TEST(MalformedSizes, ChannelwiseDequantizeHugeChannelSizeIsRefused) {
    // channels 1 (its parameters present), channel_size 2^32-1: more elements than the
    // 6 MiB main memory holds, refused by the dimension bound before any loop.
    auto bytes = model_with(kV3ChannelwiseDequantize, {0, 0, 64, 1, kBig, 0x3f800000u, 0});
    const auto e = refusal(bytes);
    EXPECT_EQ(e.kind(), KmodelErrorKind::out_of_bounds);
}

TEST(MalformedSizes, WrappedPoolingRangesAreRefused) {
    for (uint32_t type : {uint32_t{kV3QuantizedMaxPool2d}, uint32_t{kV3AveragePool2d}}) {
        // in 2^31 x 2^31 x 4 (wraps to 0 bytes for float), out 1 x 1 x 4, kernel 1, stride 1.
        const auto e = refusal(model_with(
            type, {0, 0, 64, k2p31, k2p31, 4, 1, 1, 4, 1, 1, 1, 1, 0, 0, 0}));
        EXPECT_EQ(e.kind(), KmodelErrorKind::out_of_bounds) << type;
        EXPECT_EQ(e.field(), "in_shape.width") << type;
    }
}

TEST(MalformedSizes, WrappedResizeRangesAreRefused) {
    for (uint32_t type : {uint32_t{kV3ResizeNearestNeighbor},
                          uint32_t{kV3QuantizedResizeNearestNeighbor}}) {
        const auto e = refusal(model_with(type, {0, 0, 64, 1, 1, 4, k2p31, k2p31, 0}));
        EXPECT_EQ(e.kind(), KmodelErrorKind::out_of_bounds) << type;
        EXPECT_EQ(e.field(), "out_width") << type;
    }
}

// A 0 dimension made the product 0 (so the range check passed) while the loops still ran
// over the huge other dimensions: one such file took 109 s.
TEST(MalformedSizes, ZeroDimensionBesideHugeOnesIsRefused) {
    EXPECT_EQ(refusal(model_with(kV3TensorflowFlatten, {0, 0, 64, 0, kBig, kBig})).kind(),
              KmodelErrorKind::out_of_bounds);
    EXPECT_EQ(refusal(model_with(kV3TensorflowFlatten, {0, 0, 64, kBig, kBig, 0})).kind(),
              KmodelErrorKind::out_of_bounds);
    // QUANTIZED_MAX_POOL2D with out_w 0 and out_h 2^32-1.
    const auto e = refusal(
        model_with(kV3QuantizedMaxPool2d, {0, 0, 64, 4, 4, 1, 0, kBig, 1, 1, 1, 1, 1, 0, 0}));
    EXPECT_EQ(e.kind(), KmodelErrorKind::out_of_bounds);
    EXPECT_EQ(e.field(), "out_shape.width");
}

// Zero dimensions beside moderate ones are legal (an empty tensor) and run in no time.
TEST(MalformedSizes, ZeroDimensionWithinBoundsRunsQuickly) {
    EXPECT_LT(run_seconds(model_with(kV3TensorflowFlatten, {0, 8, 64, 0, 1000, 1000})), 5.0);
    EXPECT_LT(run_seconds(model_with(kV3QuantizedMaxPool2d,
                                     {0, 8, 64, 4, 4, 1, 0, 1000, 1, 1, 1, 1, 1, 0, 0})),
              5.0);
    EXPECT_LT(run_seconds(model_with(kV3AveragePool2d,
                                     {0, 8, 64, 4, 4, 1, 1000, 0, 1, 1, 1, 1, 1, 0, 0, 0})),
              5.0);
}

// A window as large as the image over every output pixel: within the memory bounds but
// 2^40 taps of work.
TEST(MalformedSizes, PoolingWithAbsurdWorkIsRefused) {
    const uint32_t usage = 6u << 20;
    const auto e = refusal(model_with(
        kV3QuantizedMaxPool2d,
        {0, 8, 1u << 20, 1024, 1024, 1, 1024, 1024, 1, 1024, 1024, 1, 1, 512, 512}, usage));
    EXPECT_EQ(e.kind(), KmodelErrorKind::inconsistent);
    EXPECT_NE(std::string(e.what()).find("taps"), std::string::npos) << e.what();
}

// FULLY_CONNECTED with 0 input channels: memcpy of 0 weights from/to null was UB; the
// output is the bias alone.
TEST(MalformedSizes, FullyConnectedWithZeroInputChannelsGivesTheBias) {
    KmodelV3Builder b;
    b.add_fully_connected(0, 16, 0, 2, 0, {}, {1.5f, -2.0f});
    b.add_output(16, 2);
    const Model m = parse_kmodel(b.build());
    const auto outs = run_functional(m, test_pattern(m.input));
    ASSERT_EQ(outs.size(), 1u);
    EXPECT_EQ(outs[0].as_floats(), (std::vector<float>{1.5f, -2.0f}));
}

// FULLY_CONNECTED with 0 output channels and an output of 0 elements: as_floats of an
// empty tensor copied from a null pointer.
TEST(MalformedSizes, EmptyOutputGivesNoFloats) {
    KmodelV3Builder b;
    b.add_fully_connected(0, 16, 1, 0, 0, {}, {});
    b.set_main_mem_usage(64);
    b.add_output_raw(16, 0);
    const Model m = parse_kmodel(b.build());
    const auto outs = run_functional(m, test_pattern(m.input));
    ASSERT_EQ(outs.size(), 1u);
    EXPECT_TRUE(outs[0].as_floats().empty());
}
