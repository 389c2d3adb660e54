// kmodel V4's K210 nodes on builder-made files (spec §9.4, §16): kpu_upload into the KPU RAM
// layout (byte offset, batch stride), multi-batch kpu_conv2d with its feature maps advanced by
// whole maps, the CPU's kpu_download into main memory, the reader's checks of both bodies,
// and the download's cost on the platform. Expected values are worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "cpu_layers/cpu_layers.h"
#include "memory/ram_budget.h"
#include "models/kmodel_error.h"
#include "models/kmodel_loader.h"
#include "models/kmodel_v4_builder.h"
#include "sim/calibration.h"
#include "sim/functional_executor.h"
#include "sim/simulate.h"

using namespace kpusim;
using namespace kpusim::v4build;

namespace {

constexpr uint32_t kW = 4, kH = 4, kC = 2, kBatches = 3;
constexpr uint32_t kMapBytes = kW * kH * kC;  // dense bytes of one batch
constexpr uint32_t kInRow = 10;               // the upload's KPU RAM row
constexpr uint32_t kOutRow = 100;

/// 1x1 conv, 2 -> 2 channels, weights swapping the channels: out[0] = in[1], out[1] = in[0]
/// (BN x1, identity activation: the values pass unchanged).
KpuConvDesc swap_channels() {
    KpuConvDesc d;
    d.in_width = kW;
    d.in_height = kH;
    d.in_channels = kC;
    d.out_channels = kC;
    d.kernel = 1;
    d.bn.assign(kC, BnEntry{1, 0, 0});
    d.act = identity_table();
    d.weights = {0, 1, 1, 0};  // [oc][ic]
    d.in_row = kInRow;
    d.out_row = kOutRow;
    return d;
}

/// input (main, dense N x C x H x W uint8) -> kpu_upload -> kpu_conv2d (kBatches) -> main output.
std::vector<uint8_t> model_bytes(bool with_output = true, uint32_t batches = kBatches) {
    V4Builder b;
    const uint32_t in_bytes = batches * kMapBytes;
    b.main_mem = 2 * in_bytes;
    b.inputs.push_back({{kMain, kU8, 0, in_bytes}, {static_cast<int32_t>(batches), kC, kH, kW}});
    b.outputs.push_back({kMain, kU8, in_bytes, in_bytes});
    b.nodes.push_back({0x2001, kpu_upload_body({kMain, kU8, 0, in_bytes}, {kKpu, kU8, kInRow * 64, batches * kH * 64},
                                               {static_cast<int32_t>(batches), kC, kH, kW})});
    b.nodes.push_back({0x2002, {}});
    // The conv body depends on where it lands (256-byte alignment of its tables).
    b.nodes[1].body = kpu_conv2d_body(swap_channels(), b.body_offset(1), batches,
                                      with_output ? Range{kMain, kU8, in_bytes, in_bytes} : Range{kConst, kF32, 0, 0});
    return b.build();
}

std::vector<uint8_t> ramp_input(uint32_t batches = kBatches) {
    std::vector<uint8_t> in(batches * kMapBytes);
    std::iota(in.begin(), in.end(), uint8_t{1});
    return in;
}

RunSettings ram_mode() {
    RunSettings s;
    s.ram_budget_bytes = memory::preset_bytes(memory::RamPreset::bare_metal);
    return s;
}

}  // namespace

TEST(V4KpuNodes, MultiBatchConvReadsAndWritesEachBatchsOwnMaps) {
    const Model m = parse_kmodel(model_bytes());
    ASSERT_EQ(m.layers.size(), 2u);
    const auto* conv = std::get_if<KpuConvOp>(&m.layers[1].op);
    ASSERT_NE(conv, nullptr);
    EXPECT_EQ(conv->batches, kBatches);
    EXPECT_TRUE(conv->download);
    EXPECT_EQ(m.outputs.at(0).shape, (Shape{kBatches, kC, kH, kW}));
    const auto input = ramp_input();
    const auto out = run_functional(m, input).at(0).bytes;
    ASSERT_EQ(out.size(), input.size());
    // Batch n, channel c of the output is batch n, channel 1 - c of the input.
    for (uint32_t n = 0; n < kBatches; ++n)
        for (uint32_t c = 0; c < kC; ++c)
            for (uint32_t i = 0; i < kH * kW; ++i)
                ASSERT_EQ(out[(n * kC + c) * kH * kW + i], input[(n * kC + (1 - c)) * kH * kW + i])
                    << "batch " << n << " channel " << c << " element " << i;
}

TEST(V4KpuNodes, PlatformRunEqualsFunctionalRunAndChargesTheDownload) {
    const Model with = parse_kmodel(model_bytes(true));
    const auto input = ramp_input();
    const RunResult r = run_standalone(with, input, ram_mode());
    EXPECT_EQ(r.outputs.at(0).bytes, run_functional(with, input).at(0).bytes);
    const LayerTiming& conv = r.timing.layers.at(1);
    // Three KPU runs (one per batch), then the CPU's kpu_download of 3 x 32 bytes.
    const RunResult one = run_standalone(parse_kmodel(model_bytes(true, 1)), ramp_input(1), ram_mode());
    EXPECT_EQ(conv.stages.size(), kBatches * one.timing.layers.at(1).stages.size());
    EXPECT_EQ(conv.kpu_cycles, kBatches * one.timing.layers.at(1).kpu_cycles);
    EXPECT_EQ(conv.cpu_cycles, static_cast<uint64_t>(std::llround(kV4CpuTiming.download_per_byte * kBatches * kMapBytes)));
    // The same conv without a main-memory output costs no CPU cycles.
    std::vector<uint8_t> bytes = model_bytes(false);
    // The output range must still name main memory: point it at the input.
    const Model without = [&] {
        // Replace the output range (at 40 + 16 + 16 = 72) with the input's range.
        const uint32_t in_bytes = kBatches * kMapBytes;
        for (int i = 0; i < 4; ++i) bytes[76 + i] = static_cast<uint8_t>(kU8 >> (8 * i));
        for (int i = 0; i < 4; ++i) bytes[80 + i] = 0;
        for (int i = 0; i < 4; ++i) bytes[84 + i] = static_cast<uint8_t>(in_bytes >> (8 * i));
        return parse_kmodel(bytes);
    }();
    const RunResult r2 = run_standalone(without, input, ram_mode());
    EXPECT_EQ(r2.timing.layers.at(1).cpu_cycles, 0u);
    EXPECT_EQ(r2.timing.layers.at(1).kpu_cycles, conv.kpu_cycles);
}

TEST(V4KpuNodes, UploadAtAByteOffsetShiftsTheLayout) {
    // Width 4: four channels share a 64-byte row, 16 bytes apart (spec §2); a byte offset of 5
    // inside row 3 shifts every element by 5 bytes.
    V4UploadOp op{0, 3 * 64 + 5, Shape{2, 1, 2, 4}};
    std::vector<uint8_t> main(16);
    std::iota(main.begin(), main.end(), uint8_t{1});
    std::vector<uint8_t> kpu(kpu::kKpuRamBytes, 0);
    cpu::execute(op, main.data(), kpu.data());
    // Batch 0: rows 3..4 (H = 2 lines of one row each); batch 1 two rows later.
    for (uint32_t n = 0; n < 2; ++n)
        for (uint32_t y = 0; y < 2; ++y)
            for (uint32_t x = 0; x < 4; ++x)
                EXPECT_EQ(kpu[(3 + 2 * n + y) * 64 + 5 + x], main[n * 8 + y * 4 + x]) << n << " " << y << " " << x;
    EXPECT_EQ(kpu[3 * 64 + 4], 0);  // nothing before the offset
}

TEST(V4KpuNodes, ReaderRefusesBadBatchesAndMapsPastTheKpuRam) {
    {
        auto bytes = model_bytes();
        const Model ok = parse_kmodel(bytes);
        const uint64_t batches_at = ok.layers[1].body.offset + 16;
        for (int i = 0; i < 4; ++i) bytes[batches_at + i] = 0;
        try {
            parse_kmodel(bytes);
            ADD_FAILURE() << "batches 0 accepted";
        } catch (const KmodelError& e) {
            EXPECT_EQ(e.field(), "batches");
            EXPECT_EQ(e.layer(), 1u);
        }
    }
    {
        // 20000 batches of 4-row maps from row 100: far past the 32768 rows.
        auto bytes = model_bytes();
        const Model ok = parse_kmodel(bytes);
        const uint64_t batches_at = ok.layers[1].body.offset + 16;
        const uint32_t n = 20000;
        for (int i = 0; i < 4; ++i) bytes[batches_at + i] = static_cast<uint8_t>(n >> (8 * i));
        EXPECT_THROW(parse_kmodel(bytes), CapacityError);
    }
    {
        // A main-memory output range smaller than the batches' maps.
        auto bytes = model_bytes();
        const Model ok = parse_kmodel(bytes);
        const uint64_t size_at = ok.layers[1].body.offset + 12;
        bytes[size_at] = 8;
        for (int i = 1; i < 4; ++i) bytes[size_at + i] = 0;
        try {
            parse_kmodel(bytes);
            ADD_FAILURE() << "a short main_mem_output accepted";
        } catch (const KmodelError& e) {
            EXPECT_EQ(e.kind(), KmodelErrorKind::out_of_bounds);
            EXPECT_EQ(e.field(), "main_mem_output.size");
        }
    }
}
