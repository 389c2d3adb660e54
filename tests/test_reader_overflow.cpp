// The V3 reader's size checks cannot be fooled by products that wrap 64 bits: three u32
// dimensions multiply to up to 2^96. Most cases below have dimensions whose product (times
// the element size) is 0 modulo 2^64, so a wrapping check would accept it and the layer would
// run far outside main memory.
#include <gtest/gtest.h>

#include "models/kmodel_error.h"
#include "models/kmodel_loader.h"
#include "models/kmodel_v3_builder.h"

namespace kpusim {
namespace {

constexpr uint32_t k2p22 = 1u << 22;
constexpr uint32_t k2p31 = 1u << 31;

// A 4x4 one-channel conv streaming 16 bytes to offset 0, then the layer under test.
std::vector<uint8_t> model_with(uint32_t type, const std::vector<uint32_t>& words) {
    KpuConvDesc d;
    d.in_width = d.in_height = 4;
    d.in_channels = d.out_channels = 1;
    d.weights = {1};
    d.bn = {BnEntry{1, 0, 0}};
    d.act = identity_table();
    d.in_row = 0;
    d.out_row = 16384;
    d.main_mem_out = 0;
    KmodelV3Builder b;
    b.add_conv(d);
    b.add_raw_layer_words(type, words, {{0, 64}});
    b.add_output(16, 4);
    return b.build();
}

void expect_rejected(const std::vector<uint8_t>& file, KmodelErrorKind kind, const char* what) {
    SCOPED_TRACE(what);
    try {
        parse_kmodel(file);
        FAIL() << "accepted";
    } catch (const KmodelError& e) {
        EXPECT_EQ(e.kind(), kind) << e.what();
        EXPECT_EQ(e.layer(), std::optional<uint32_t>(1)) << e.what();
    }
}

TEST(ReaderOverflow, GlobalAveragePool) {
    // 4 x 2^31 x 2^31 = 2^64.
    expect_rejected(model_with(5, {0, 0, 16, k2p31, k2p31}), KmodelErrorKind::out_of_bounds, "GAP");
}

TEST(ReaderOverflow, QuantizedMaxPoolAndAveragePool) {
    // in = out = 2^22 cubed = 2^66 elements.
    const std::vector<uint32_t> w = {0, 0, 16, k2p22, k2p22, k2p22, k2p22, k2p22, k2p22,
                                     1, 1, 1, 1, 0, 0, 0};
    expect_rejected(model_with(8, w), KmodelErrorKind::out_of_bounds, "QUANTIZED_MAX_POOL2D");
    expect_rejected(model_with(9, w), KmodelErrorKind::out_of_bounds, "AVERAGE_POOL2D");
}

TEST(ReaderOverflow, ResizeNearest) {
    const std::vector<uint32_t> w = {0, 0, 16, k2p22, k2p22, k2p22, k2p22, k2p22, 0};
    expect_rejected(model_with(22, w), KmodelErrorKind::out_of_bounds, "RESIZE 22");
    expect_rejected(model_with(23, w), KmodelErrorKind::out_of_bounds, "RESIZE 23");
}

TEST(ReaderOverflow, UploadAndChannelwiseDequantize) {
    // The KPU feature map is checked first: 2^22 per dimension is outside 1..1024.
    expect_rejected(model_with(10243, {0, 0, 100, k2p22, k2p22, k2p22}), KmodelErrorKind::inconsistent,
                    "K210_UPLOAD");
    // 2 x 2^31 elements, far beyond main memory.
    expect_rejected(model_with(24, {0, 0, 16, 2, 0x80000000u, 0x3f800000u, 0, 0x3f800000u, 0}),
                    KmodelErrorKind::out_of_bounds, "CHANNELWISE_DEQUANTIZE");
}

TEST(ReaderOverflow, FlattenBothTypes) {
    // 2^22 x 2^22 x 2^22 elements: 2^66 (and x 4 bytes 2^68) wrap a 64-bit product to 0.
    expect_rejected(model_with(20, {0, 0, 16, 1u << 22, 1u << 22, 1u << 22}), KmodelErrorKind::out_of_bounds,
                    "TENSORFLOW_FLATTEN");
    expect_rejected(model_with(21, {0, 0, 16, 1u << 22, 1u << 22, 1u << 22}), KmodelErrorKind::out_of_bounds,
                    "QUANTIZED_TENSORFLOW_FLATTEN");
}

TEST(ReaderOverflow, FullyConnectedWeights) {
    // 2^31 x 2^31 weights: 4 x 2^62 = 2^64 bytes. The input and output ranges are checked
    // first (they bound both channel counts), and 4 x 2^31 input bytes are past main memory.
    expect_rejected(model_with(18, {0, 0, 16, k2p31, k2p31, 0}), KmodelErrorKind::out_of_bounds,
                    "FULLY_CONNECTED");
}

}  // namespace
}  // namespace kpusim
