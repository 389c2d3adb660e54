// Tests of the kmodel V3 builder (models/kmodel_v3_builder.h): its encodings against the spec's
// test vectors (kmodel-spec.md §3.3, §4.1, §4.2), its file layout against nncase 0.1's (§7.1,
// §7.3), and round trips through parse_kmodel. The real-model round trips rebuild whole files
// from their parsed contents and compare byte for byte, which checks the builder's layout rules
// and the reader's decoding against each other.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <variant>

#include "models/kmodel_error.h"
#include "models/kmodel_loader.h"
#include "models/kmodel_v3_builder.h"
#include "tests/test_support.h"

namespace kpusim {
namespace {

uint32_t u32_at(const std::vector<uint8_t>& b, std::size_t at) {
    return uint32_t{b.at(at)} | uint32_t{b.at(at + 1)} << 8 | uint32_t{b.at(at + 2)} << 16 |
           uint32_t{b.at(at + 3)} << 24;
}
uint64_t u64_at(const std::vector<uint8_t>& b, std::size_t at) {
    return uint64_t{u32_at(b, at)} | uint64_t{u32_at(b, at + 4)} << 32;
}
float f32_at(const std::vector<uint8_t>& b, std::size_t at) {
    uint32_t v = u32_at(b, at);
    float f;
    std::memcpy(&f, &v, 4);
    return f;
}

/// The parameters of layer 0 of the Kendryte face detector (spec §3.3).
KpuConvDesc face_detect_layer0() {
    KpuConvDesc d;
    d.in_width = 320;
    d.in_height = 240;
    d.in_channels = 3;
    d.out_channels = 16;
    d.kernel = 3;
    d.pool_type = 1;
    d.pad_value = 0;
    d.arg_x = -5799936;
    d.shr_x = 15;
    d.arg_w = 0;
    d.shr_w = 0;
    d.arg_add = 0;
    d.in_row = 29168;
    d.out_row = 23408;
    d.weights.assign(432, 0);
    d.bn.assign(16, BnEntry{});
    d.act = relu_table_nncase01();
    return d;
}

TEST(KmodelBuilder, LayerArgumentReproducesSpecTestVector) {
    const std::array<uint64_t, 12> expected = {
        0x0, 0x00005b70000071f0, 0x000f000f00000002, 0x0001dc9f0003bd3f,
        0x00000000000f0411, 0x0000000000d80001, 0x0, 0x00000000900504b0,
        0x0000000000130168, 0x00a78000000000f0, 0x0, 0x0004afff4aff0000};
    const std::array<uint64_t, 12> words = encode_layer_argument(face_detect_layer0(), true);
    for (int i = 0; i < 12; ++i)
        EXPECT_EQ(words[i], expected[i]) << "word " << i << std::hex << " got 0x" << words[i]
                                         << " expected 0x" << expected[i];
}

TEST(KmodelBuilder, WeightLoadsFollowNncase) {
    // Spec §5: 256 channels of 128 x 1x1 weights -> 240 per load, two loads (30720 + 2048).
    KpuConvDesc d;
    d.in_width = d.in_height = 4;
    d.in_channels = 128;
    d.out_channels = 256;
    WeightLoads l = compute_weight_loads(d, true);
    EXPECT_EQ(l.channels_per_load, 240u);
    EXPECT_EQ(l.load_time, 1u);
    EXPECT_EQ(l.para_size, 30720u);
    // 16-bit: same channels per load, twice the bytes.
    l = compute_weight_loads(d, false);
    EXPECT_EQ(l.channels_per_load, 240u);
    EXPECT_EQ(l.load_time, 1u);
    EXPECT_EQ(l.para_size, 61440u);
    // Real-file cases (yolo20 layers 12, 14, 15; mobilenet layer 31).
    d.in_channels = 512; d.out_channels = 1024;
    l = compute_weight_loads(d, true);
    EXPECT_EQ(l.channels_per_load, 60u); EXPECT_EQ(l.load_time, 17u);
    d.in_channels = 1024; d.out_channels = 512;
    l = compute_weight_loads(d, true);
    EXPECT_EQ(l.channels_per_load, 30u); EXPECT_EQ(l.load_time, 17u);
    d.in_channels = 512; d.out_channels = 125;
    l = compute_weight_loads(d, true);
    EXPECT_EQ(l.channels_per_load, 60u); EXPECT_EQ(l.load_time, 2u); EXPECT_EQ(l.para_size, 30720u);
    // Depthwise: always one load of everything.
    d.in_channels = d.out_channels = 1024; d.kernel = 3; d.depthwise = true;
    l = compute_weight_loads(d, true);
    EXPECT_EQ(l.channels_per_load, 1024u); EXPECT_EQ(l.load_time, 0u); EXPECT_EQ(l.para_size, 9216u);
}

TEST(KmodelBuilder, BatchNormReproducesSpecTestVector) {
    EXPECT_EQ(encode_bn(BnEntry{112508, 34395, 15}), 0x0f0000865b01b77cull);
    // Negative fields are stored two's complement in their widths.
    const uint64_t w = encode_bn(BnEntry{-1, -2, 0});
    EXPECT_EQ(w & 0xFFFFFF, 0xFFFFFFull);
    EXPECT_EQ((w >> 24) & 0xFFFFFFFF, 0xFFFFFFFEull);
    EXPECT_EQ(w >> 56, 0u);
}

TEST(KmodelBuilder, ReluTableReproducesSpecTestVector) {
    const std::vector<uint8_t> t = encode_activation(relu_table_nncase01());
    ASSERT_EQ(t.size(), 144u);
    const uint64_t expected[16] = {
        0x0800000000000000, 0x0f7d4cf4b8000000, 0x0f8ed5a20c000000, 0x0fa05e4f60000000,
        0x0fb2e05baa000000, 0x0fc46908fe000000, 0x0fd5f1b652000000, 0x0fe77a63a6000000,
        0x0ff9fc6ff0000000, 0x0fffd4a9b7000000, 0x0000000000040014, 0x07fffffff0000000,
        0x07fffffff1000000, 0x07fffffff2000000, 0x07fffffff3000000, 0x07fffffff4000000};
    for (int i = 0; i < 16; ++i) EXPECT_EQ(u64_at(t, 8 * i), expected[i]) << "segment " << i;
    for (int i = 128; i < 144; ++i) EXPECT_EQ(t[i], 0) << "bias byte " << i - 128;
}

TEST(KmodelBuilder, ActivationEncodingFields) {
    ActTable t = activation_table({ActSegment{-5, -3, 7, 200}});
    const std::vector<uint8_t> b = encode_activation(t);
    const uint64_t w1 = u64_at(b, 8);
    EXPECT_EQ(w1 & 0xFF, 7u);                       // shift_number
    EXPECT_EQ((w1 >> 8) & 0xFFFF, 0xFFFDu);         // y_mul = -3
    EXPECT_EQ((w1 >> 24) & 0xFFFFFFFFFull, 0xFFFFFFFFBull);  // x_start = -5 (36 bits)
    EXPECT_EQ(w1 >> 60, 0u);
    EXPECT_EQ(b[128 + 1], 200);                     // result_bias of segment 1
    EXPECT_EQ(u64_at(b, 0), 0x0800000000000000ull);  // segment 0 at -2^35
}

TEST(KmodelBuilder, FieldTableCoversEveryDocumentedField) {
    // No two fields overlap, and each field round-trips through set_bits/get_bits.
    std::array<uint64_t, 12> used{};
    for (const ArgField& f : layer_argument_fields()) {
        ASSERT_LT(f.word, 12u) << f.name;
        ASSERT_LE(f.lsb + f.width, 64u) << f.name;
        const uint64_t m = (f.width == 64 ? ~0ull : ((1ull << f.width) - 1)) << f.lsb;
        EXPECT_EQ(used[f.word] & m, 0u) << f.name << " overlaps another field";
        used[f.word] |= m;
        EXPECT_EQ(get_bits(set_bits(0, f.lsb, f.width, ~0ull), f.lsb, f.width),
                  f.width == 64 ? ~0ull : (1ull << f.width) - 1);
    }
    EXPECT_EQ(layer_argument_fields().size(), 45u);
    EXPECT_THROW(layer_argument_field("no_such_field"), std::invalid_argument);
    // The override mechanism reaches a reserved bit too.
    KpuConvDesc d = face_detect_layer0();
    d.set("ram_flag", 1).set_raw(6, 40, 4, 0xA);
    const auto w = encode_layer_argument(d, true);
    EXPECT_EQ(w[0], 0x2u);
    EXPECT_EQ(w[6], 0xAull << 40);
}

/// A small two-layer model: a 3x3 conv streaming to main memory, then DEQUANTIZE.
KmodelV3Builder small_model(KpuConvDesc* out_desc = nullptr) {
    KpuConvDesc d;
    d.in_width = 6;
    d.in_height = 5;
    d.in_channels = 2;
    d.out_channels = 3;
    d.kernel = 3;
    d.pool_type = 5;
    d.pad_value = 7;
    d.arg_x = -12;
    d.shr_x = 1;
    d.arg_w = -7;
    d.shr_w = 2;
    d.arg_add = 1234567;
    d.in_row = 100;
    d.out_row = 200;
    d.main_mem_out = 16;
    for (uint32_t i = 0; i < d.weight_count(); ++i) d.weights.push_back(static_cast<uint8_t>(i * 7));
    d.bn = {BnEntry{5, -3, 2}, BnEntry{-8, 100, 0}, BnEntry{1, 0, 15}};
    d.act = relu_table_nncase01();
    if (out_desc) *out_desc = d;
    KmodelV3Builder b;
    b.add_conv(d);
    // 3 x 2 x 3 = 18 bytes at 16; dequantize to floats at 48.
    b.add_dequantize(16, 48, 18, 0.5f, -1.25f, 1);
    b.add_output(48, 18);
    return b;
}

TEST(KmodelBuilder, BodyLayoutFollowsNncase) {
    KmodelV3Builder b = small_model();
    const std::vector<uint8_t> f = b.build();
    const auto& L = b.built_layers();
    ASSERT_EQ(L.size(), 2u);
    // Header: 28 + 8 (one output) + 16 (two layer headers) = 52.
    EXPECT_EQ(L[0].body_offset, 52u);
    EXPECT_EQ(L[0].layer_offset % 8, 0u);
    EXPECT_EQ(L[0].layer_offset, 80u);  // 52 + 24 = 76 -> 80
    EXPECT_EQ(L[0].weights_offset, 256u);  // 80 + 96 = 176 -> 256
    EXPECT_EQ(L[0].weights_size, 3u * 2 * 9);
    EXPECT_EQ(L[0].bn_offset, 384u);  // 256 + 54 -> 384
    EXPECT_EQ(L[0].act_offset, 512u);  // 384 + 24 -> 512
    EXPECT_EQ(L[0].body_offset + L[0].body_size, 512u + 144u);
    EXPECT_EQ(L[1].body_offset, 656u);
    EXPECT_EQ(L[1].body_size, 24u);
    EXPECT_EQ(f.size(), 680u);
    // Header words.
    EXPECT_EQ(u32_at(f, 0), 3u);
    EXPECT_EQ(u32_at(f, 4), 1u);
    EXPECT_EQ(u32_at(f, 8), 0u);
    EXPECT_EQ(u32_at(f, 12), 2u);
    EXPECT_EQ(u32_at(f, 16), 100u);              // lowest KPU row used
    EXPECT_EQ(u32_at(f, 20), 48u + 72u);         // main_mem_usage: the float output's end
    EXPECT_EQ(u32_at(f, 24), 1u);
    EXPECT_EQ(u32_at(f, 28), 48u);
    EXPECT_EQ(u32_at(f, 32), 72u);
    EXPECT_EQ(u32_at(f, 36), 10240u);
    EXPECT_EQ(u32_at(f, 40), L[0].body_size);
    EXPECT_EQ(u32_at(f, 44), 12u);
    EXPECT_EQ(u32_at(f, 48), 24u);
    // Conv body fields.
    EXPECT_EQ(u32_at(f, 52), 1u);
    EXPECT_EQ(u32_at(f, 56), 16u);
    EXPECT_EQ(u32_at(f, 60), L[0].layer_offset);
    EXPECT_EQ(u32_at(f, 64), L[0].weights_offset);
    EXPECT_EQ(u32_at(f, 68), L[0].bn_offset);
    EXPECT_EQ(u32_at(f, 72), L[0].act_offset);
    EXPECT_EQ(u64_at(f, L[0].bn_offset + 8), encode_bn(BnEntry{-8, 100, 0}));
    EXPECT_EQ(u64_at(f, L[0].act_offset + 80), 0x40014ull);
    // Dequantize body.
    EXPECT_EQ(u32_at(f, 656), 1u);
    EXPECT_EQ(u32_at(f, 660), 16u);
    EXPECT_EQ(u32_at(f, 664), 48u);
    EXPECT_EQ(u32_at(f, 668), 18u);
    EXPECT_EQ(f32_at(f, 672), 0.5f);
    EXPECT_EQ(f32_at(f, 676), -1.25f);
}

TEST(KmodelBuilder, MnistLayoutOffsetsMatchRealFile) {
    // mnist.kmodel (MaixPy): 11 layers, one output, first body at 124; its first conv
    // (28x28x1 -> 16, 3x3) has layer 152, weights 256, BN 512, act 768, body end 912.
    KmodelV3Builder b;
    KpuConvDesc d;
    d.in_width = d.in_height = 28;
    d.in_channels = 1;
    d.out_channels = 16;
    d.kernel = 3;
    d.pool_type = 1;
    d.weights.assign(144, 1);
    d.bn.assign(16, BnEntry{});
    d.in_row = 32740;
    d.out_row = 32684;
    b.add_conv(d);
    for (int i = 0; i < 10; ++i) b.add_softmax(0, 0, 1);
    b.add_output(0, 10);
    b.build();
    const auto& L = b.built_layers()[0];
    EXPECT_EQ(L.body_offset, 124u);
    EXPECT_EQ(L.layer_offset, 152u);
    EXPECT_EQ(L.weights_offset, 256u);
    EXPECT_EQ(L.bn_offset, 512u);
    EXPECT_EQ(L.act_offset, 768u);
    EXPECT_EQ(L.body_size, 788u);
}

TEST(KmodelBuilder, RoundTripConvAndDequantize) {
    KpuConvDesc d;
    KmodelV3Builder b = small_model(&d);
    const std::vector<uint8_t> f = b.build();
    const Model m = parse_kmodel(f);
    EXPECT_EQ(m.version, 3u);
    EXPECT_TRUE(m.eight_bit);
    EXPECT_EQ(m.main_mem_usage, 120u);
    EXPECT_EQ(m.max_start_address, 100u);
    ASSERT_EQ(m.outputs.size(), 1u);
    EXPECT_EQ(m.outputs[0].main_offset, 48u);
    EXPECT_EQ(m.outputs[0].size, 72u);
    EXPECT_TRUE(m.input.to_kpu_ram);
    EXPECT_EQ(m.input.kpu_row, 100u);
    EXPECT_EQ(m.input.shape, (Shape{1, 2, 5, 6}));
    ASSERT_EQ(m.layers.size(), 2u);

    const Layer& l0 = m.layers[0];
    EXPECT_EQ(l0.index, 0u);
    EXPECT_EQ(l0.type_code, 10240u);
    EXPECT_EQ(l0.body.offset, b.built_layers()[0].body_offset);
    EXPECT_EQ(l0.body.size, b.built_layers()[0].body_size);
    ASSERT_TRUE(std::holds_alternative<KpuConvOp>(l0.op));
    const KpuConvOp& c = std::get<KpuConvOp>(l0.op);
    EXPECT_TRUE(c.main_mem_out);
    EXPECT_EQ(c.main_mem_out_address, 16u);
    EXPECT_EQ(c.layer_argument.offset, b.built_layers()[0].layer_offset);
    EXPECT_EQ(c.weights.offset, b.built_layers()[0].weights_offset);
    EXPECT_EQ(c.weights.size, 54u);
    EXPECT_EQ(c.batchnorm.offset, b.built_layers()[0].bn_offset);
    EXPECT_EQ(c.batchnorm.size, 24u);
    EXPECT_EQ(c.activation.offset, b.built_layers()[0].act_offset);
    EXPECT_EQ(c.activation.size, 144u);
    const kpu::LayerArgument& a = c.arg;
    EXPECT_EQ(a.words, encode_layer_argument(d, true));
    EXPECT_FALSE(a.int_en);
    EXPECT_FALSE(a.ram_flag);
    EXPECT_FALSE(a.full_add);
    EXPECT_FALSE(a.depth_wise_layer);
    EXPECT_EQ(a.image_src_addr, 100u);
    EXPECT_EQ(a.image_dst_addr, 200u);
    EXPECT_EQ(a.in_channels(), 2u);
    EXPECT_EQ(a.out_channels(), 3u);
    EXPECT_EQ(a.o_ch_num_coef, 2u);
    EXPECT_EQ(a.in_width(), 6u);
    EXPECT_EQ(a.in_height(), 5u);
    EXPECT_EQ(a.out_width(), 3u);
    EXPECT_EQ(a.out_height(), 2u);
    EXPECT_EQ(a.kernel_type, 1u);
    EXPECT_EQ(a.kernel_size(), 3u);
    EXPECT_EQ(a.pool_type, 5u);
    EXPECT_EQ(a.pool(), kpu::PoolType::left_top_2_s2);
    EXPECT_EQ(a.load_para, 1u);
    EXPECT_EQ(a.dma_burst_size, 15u);
    EXPECT_EQ(a.pad_value, 7u);
    EXPECT_EQ(a.bwsx_base_addr, 0u);
    EXPECT_EQ(a.load_coor, 1u);
    EXPECT_EQ(a.load_time, 0u);
    EXPECT_EQ(a.para_size, 54u);
    EXPECT_EQ(a.para_start_addr, 0u);
    EXPECT_EQ(a.channel_switch_addr, 5u);  // row_len 1 x H 5
    EXPECT_EQ(a.row_switch_addr, 1u);
    EXPECT_EQ(a.coef_group, 4u);
    EXPECT_EQ(a.load_act, 1u);
    EXPECT_EQ(a.wb_channel_switch_addr, 2u);
    EXPECT_EQ(a.wb_row_switch_addr, 1u);
    EXPECT_EQ(a.wb_group, 4u);
    EXPECT_EQ(a.shr_w, 2u);
    EXPECT_EQ(a.shr_x, 1u);
    EXPECT_EQ(a.arg_w, -7);
    EXPECT_EQ(a.arg_x, -12);
    EXPECT_EQ(a.arg_add, 1234567);
    EXPECT_FALSE(a.send_data_out);
    EXPECT_EQ(a.channel_byte_num, 5u);
    EXPECT_EQ(a.dma_total_byte, 17u);
    EXPECT_EQ(a.weight_bytes(true), 54u);
    EXPECT_EQ(l0.engine(), Engine::kpu);

    const Layer& l1 = m.layers[1];
    EXPECT_EQ(l1.type_code, 12u);
    ASSERT_TRUE(std::holds_alternative<DequantizeOp>(l1.op));
    const DequantizeOp& dq = std::get<DequantizeOp>(l1.op);
    EXPECT_EQ(dq.in, 16u);
    EXPECT_EQ(dq.out, 48u);
    EXPECT_EQ(dq.count, 18u);
    EXPECT_EQ(dq.scale, 0.5f);
    EXPECT_EQ(dq.bias, -1.25f);
    EXPECT_EQ(l1.engine(), Engine::cpu);
}

TEST(KmodelBuilder, RoundTripLayoutRegistersForEveryWidthClass) {
    // width -> (groups, row_len) per spec §2, checked on the decoded registers.
    struct Case { uint32_t w, groups, row_len; };
    for (const Case& k : {Case{1, 4, 1}, Case{16, 4, 1}, Case{17, 2, 1}, Case{32, 2, 1},
                          Case{33, 1, 1}, Case{64, 1, 1}, Case{65, 1, 2}, Case{130, 1, 3}}) {
        SCOPED_TRACE("width " + std::to_string(k.w));
        KpuConvDesc d;
        d.in_width = k.w;
        d.in_height = 3;
        d.in_channels = 5;
        d.out_channels = 6;
        d.weights.assign(30, 1);
        d.bn.assign(6, BnEntry{});
        d.in_row = 0;
        d.out_row = 1000;
        d.main_mem_out = 0;
        KmodelV3Builder b;
        b.add_conv(d);
        b.add_output(0, d.out_elements());
        const Model m = parse_kmodel(b.build());
        const kpu::LayerArgument& a = std::get<KpuConvOp>(m.layers.at(0).op).arg;
        EXPECT_EQ(a.coef_group, k.groups);
        EXPECT_EQ(a.row_switch_addr, k.row_len);
        EXPECT_EQ(a.channel_switch_addr, k.row_len * 3);
        EXPECT_EQ(a.wb_group, k.groups);
        EXPECT_EQ(a.wb_row_switch_addr, k.row_len);
        EXPECT_EQ(a.wb_channel_switch_addr, k.row_len * 3);
        EXPECT_EQ(builder_feature_map_rows(k.w, 3, 5), k.row_len * 3 * ((5 + k.groups - 1) / k.groups));
    }
}

TEST(KmodelBuilder, RoundTripCpuLayers) {
    // conv (main out 16 bytes at 0) -> the CPU layers, each reading what the previous wrote.
    KpuConvDesc d;
    d.in_width = d.in_height = 4;
    d.in_channels = 1;
    d.out_channels = 1;
    d.weights = {1};
    d.bn = {BnEntry{}};
    d.in_row = 500;
    d.out_row = 600;
    d.main_mem_out = 0;
    KmodelV3Builder b;
    b.add_conv(d);                                                   // 0: 16 bytes at 0
    b.add_remove_padding(0, 16, 1);                                   // 1: 1 byte at 16
    b.add_dequantize(0, 32, 16, 0.25f, 1.0f);                        // 2: 16 floats at 32
    b.add_channelwise_dequantize(0, 96, 8, {{0.5f, 1.5f}, {2.0f, -3.0f}});  // 3: at 96
    b.add_global_average_pool(32, 160, 8, 2);                         // 4: 2 floats at 160
    b.add_fully_connected(160, 168, 2, 3, 2, {1, 2, 3, 4, 5, 6}, {0.5f, -0.5f, 0});  // 5
    b.add_softmax(168, 184, 3, 1);                                    // 6: 3 floats at 184
    b.add_quantize(184, 200, 3, 0.125f, 0.0f);                       // 7: 3 bytes at 200
    {
        KmodelV3Builder::QuantizedAddDesc q;
        q.in_a = 0; q.in_b = 8; q.out = 208; q.count = 5;
        q.in_a_offset = -3; q.in_a_mul = 11; q.in_a_shift = 2;
        q.in_b_offset = 4; q.in_b_mul = -13; q.in_b_shift = 3;
        q.out_offset = 9; q.out_mul = 1000; q.out_shift = 10;
        b.add_quantized_add(q);                                        // 8
    }
    b.add_add_padding(200, 700, 3);                                   // 9
    b.add_upload(0, 800, 4, 2, 2);                                    // 10
    b.add_output(184, 3);
    const std::vector<uint8_t> f = b.build();
    const Model m = parse_kmodel(f);
    ASSERT_EQ(m.layers.size(), 11u);
    EXPECT_EQ(m.max_start_address, 500u);

    const auto& rp = std::get<RemovePaddingOp>(m.layers[1].op);
    EXPECT_EQ(m.layers[1].type_code, 10242u);
    EXPECT_EQ(rp.in, 0u); EXPECT_EQ(rp.out, 16u); EXPECT_EQ(rp.channels, 1u);

    const auto& dq = std::get<DequantizeOp>(m.layers[2].op);
    EXPECT_EQ(dq.in, 0u); EXPECT_EQ(dq.out, 32u); EXPECT_EQ(dq.count, 16u);
    EXPECT_EQ(dq.scale, 0.25f); EXPECT_EQ(dq.bias, 1.0f);

    const auto& cw = std::get<ChannelwiseDequantizeOp>(m.layers[3].op);
    EXPECT_EQ(m.layers[3].type_code, 24u);
    EXPECT_EQ(cw.in, 0u); EXPECT_EQ(cw.out, 96u); EXPECT_EQ(cw.channels, 2u);
    EXPECT_EQ(cw.channel_size, 8u);
    EXPECT_EQ(cw.scale, (std::vector<float>{0.5f, 2.0f}));
    EXPECT_EQ(cw.bias, (std::vector<float>{1.5f, -3.0f}));

    const auto& gap = std::get<GlobalAveragePoolOp>(m.layers[4].op);
    EXPECT_EQ(m.layers[4].type_code, 5u);
    EXPECT_EQ(gap.in, 32u); EXPECT_EQ(gap.out, 160u); EXPECT_EQ(gap.kernel_size, 8u);
    EXPECT_EQ(gap.channels, 2u);

    const auto& fc = std::get<FullyConnectedOp>(m.layers[5].op);
    EXPECT_EQ(m.layers[5].type_code, 18u);
    EXPECT_EQ(fc.in, 160u); EXPECT_EQ(fc.out, 168u); EXPECT_EQ(fc.in_channels, 2u);
    EXPECT_EQ(fc.out_channels, 3u); EXPECT_EQ(fc.act, 2u);
    EXPECT_EQ(fc.weights, (std::vector<float>{1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(fc.bias, (std::vector<float>{0.5f, -0.5f, 0}));

    const auto& sm = std::get<SoftmaxOp>(m.layers[6].op);
    EXPECT_EQ(sm.in, 168u); EXPECT_EQ(sm.out, 184u); EXPECT_EQ(sm.channels, 3u);

    const auto& qz = std::get<QuantizeOp>(m.layers[7].op);
    EXPECT_EQ(m.layers[7].type_code, 11u);
    EXPECT_EQ(qz.in, 184u); EXPECT_EQ(qz.out, 200u); EXPECT_EQ(qz.count, 3u);
    EXPECT_EQ(qz.scale, 0.125f); EXPECT_EQ(qz.bias, 0.0f);

    const auto& qa = std::get<QuantizedAddOp>(m.layers[8].op);
    EXPECT_EQ(m.layers[8].type_code, 2u);
    EXPECT_EQ(qa.in_a, 0u); EXPECT_EQ(qa.in_b, 8u); EXPECT_EQ(qa.out, 208u); EXPECT_EQ(qa.count, 5u);
    EXPECT_EQ(qa.in_a_offset, -3); EXPECT_EQ(qa.in_a_mul, 11); EXPECT_EQ(qa.in_a_shift, 2);
    EXPECT_EQ(qa.in_b_offset, 4); EXPECT_EQ(qa.in_b_mul, -13); EXPECT_EQ(qa.in_b_shift, 3);
    EXPECT_EQ(qa.out_offset, 9); EXPECT_EQ(qa.out_mul, 1000); EXPECT_EQ(qa.out_shift, 10);

    const auto& ap = std::get<AddPaddingOp>(m.layers[9].op);
    EXPECT_EQ(m.layers[9].type_code, 10241u);
    EXPECT_EQ(ap.in, 200u); EXPECT_EQ(ap.kpu_row, 700u); EXPECT_EQ(ap.channels, 3u);

    const auto& up = std::get<UploadOp>(m.layers[10].op);
    EXPECT_EQ(m.layers[10].type_code, 10243u);
    EXPECT_EQ(up.in, 0u); EXPECT_EQ(up.kpu_row, 800u); EXPECT_EQ(up.width, 4u);
    EXPECT_EQ(up.height, 2u); EXPECT_EQ(up.channels, 2u);

    // main_mem_usage: the quantized add's output rounded up to 8 elements ends at 216.
    EXPECT_EQ(m.main_mem_usage, 216u);
    // Every body ends on an absolute 8-byte boundary (the first one starts at 28 + 8 + 88 = 124).
    EXPECT_EQ(m.layers[0].body.offset, 124u);
    for (const Layer& l : m.layers)
        EXPECT_EQ((l.body.offset + l.body.size) % 8, 0u) << "layer " << l.index;
}

TEST(KmodelBuilder, RoundTripSixteenBitWeights) {
    KpuConvDesc d;
    d.in_width = 20;
    d.in_height = 2;
    d.in_channels = 2;
    d.out_channels = 2;
    d.kernel = 3;
    for (int i = 0; i < 36; ++i) d.weights16.push_back(static_cast<uint16_t>(1000 * i + 1));
    d.bn.assign(2, BnEntry{});
    d.main_mem_out = 0;
    d.out_row = 100;
    KmodelV3Builder b;
    b.set_eight_bit(false);
    b.add_conv(d);
    b.add_output(0, d.out_elements());
    const std::vector<uint8_t> f = b.build();
    EXPECT_EQ(u32_at(f, 4), 0u);
    const auto& L = b.built_layers()[0];
    EXPECT_EQ(L.weights_size, 72u);
    EXPECT_EQ(f[L.weights_offset + 2], (1001 & 0xFF));
    EXPECT_EQ(f[L.weights_offset + 3], (1001 >> 8));
    const Model m = parse_kmodel(f);
    EXPECT_FALSE(m.eight_bit);
    const KpuConvOp& c = std::get<KpuConvOp>(m.layers[0].op);
    EXPECT_EQ(c.weights.size, 72u);
    EXPECT_EQ(c.arg.para_size, 72u);
    EXPECT_EQ(c.arg.weight_bytes(false), 72u);
}

TEST(KmodelBuilder, DroppedLastPaddingStillParses) {
    KmodelV3Builder b = small_model();
    // The dequantize body is 24 bytes (already 8-aligned): add a 20-byte
    // GLOBAL_AVERAGE_POOL2D body, padded to 24.
    b.add_global_average_pool(48, 48, 18, 1);
    const std::vector<uint8_t> full = b.build();
    V3BuildOptions o;
    o.drop_last_padding = true;
    const std::vector<uint8_t> cut = b.build(o);
    EXPECT_EQ(full.size() - cut.size(), 4u);
    EXPECT_EQ(u32_at(cut, 36 + 16 + 4), 24u);  // header still declares the padded size
    const Model m = parse_kmodel(cut);
    EXPECT_EQ(m.layers.size(), 3u);
    EXPECT_EQ(m.file_size(), cut.size());
}

TEST(KmodelBuilder, TruncationOption) {
    KmodelV3Builder b = small_model();
    V3BuildOptions o;
    o.truncate_to = 100;
    EXPECT_EQ(b.build(o).size(), 100u);
}

// ---- rebuilding real models from their parsed contents ----------------------------------------

std::vector<uint8_t> slice(const std::vector<uint8_t>& f, const FileSpan& s) {
    return std::vector<uint8_t>(f.begin() + s.offset, f.begin() + s.offset + s.size);
}

/// Rebuild a parsed V3 model with the builder (layer arguments, blobs and CPU fields from the
/// parse; flags words from the body starts) and return the bytes.
std::vector<uint8_t> rebuild(const Model& m) {
    const std::vector<uint8_t>& f = *m.file;
    KmodelV3Builder b;
    b.set_eight_bit(m.eight_bit);
    b.set_main_mem_usage(m.main_mem_usage);
    for (const ModelOutput& o : m.outputs) b.add_output_raw(o.main_offset, o.size);
    for (const Layer& l : m.layers) {
        const uint32_t flags = u32_at(f, l.body.offset);
        if (const auto* c = std::get_if<KpuConvOp>(&l.op)) {
            KpuConvDesc d;
            d.in_row = c->arg.image_src_addr;
            d.out_row = c->arg.image_dst_addr;
            for (uint32_t w = 0; w < 12; ++w) d.set_raw(w, 0, 64, c->arg.words[w]);
            d.raw_weights = slice(f, c->weights);
            d.raw_batchnorm = slice(f, c->batchnorm);
            d.raw_activation = slice(f, c->activation);
            if (c->main_mem_out) d.main_mem_out = c->main_mem_out_address;
            d.flags = flags;
            b.add_conv(d);
        } else if (const auto* q = std::get_if<DequantizeOp>(&l.op)) {
            b.add_dequantize(q->in, q->out, q->count, q->scale, q->bias, flags);
        } else if (const auto* q = std::get_if<QuantizeOp>(&l.op)) {
            b.add_quantize(q->in, q->out, q->count, q->scale, q->bias, flags);
        } else if (const auto* q = std::get_if<ChannelwiseDequantizeOp>(&l.op)) {
            std::vector<std::pair<float, float>> sb;
            for (uint32_t i = 0; i < q->channels; ++i) sb.push_back({q->scale[i], q->bias[i]});
            b.add_channelwise_dequantize(q->in, q->out, q->channel_size, sb, flags);
        } else if (const auto* q = std::get_if<FullyConnectedOp>(&l.op)) {
            b.add_fully_connected(q->in, q->out, q->in_channels, q->out_channels, q->act,
                                  q->weights, q->bias, flags);
        } else if (const auto* q = std::get_if<FlattenOp>(&l.op)) {
            b.add_raw_layer_words(kV3TensorflowFlatten,
                                  {flags, q->in, q->out, q->width, q->height, q->channels});
        } else if (const auto* q = std::get_if<AddPaddingOp>(&l.op)) {
            b.add_add_padding(q->in, q->kpu_row, q->channels, flags);
        } else if (const auto* q = std::get_if<RemovePaddingOp>(&l.op)) {
            b.add_remove_padding(q->in, q->out, q->channels, flags);
        } else if (const auto* q = std::get_if<SoftmaxOp>(&l.op)) {
            b.add_softmax(q->in, q->out, q->channels, flags);
        } else if (const auto* q = std::get_if<GlobalAveragePoolOp>(&l.op)) {
            b.add_global_average_pool(q->in, q->out, q->kernel_size, q->channels, flags);
        } else {
            ADD_FAILURE() << "rebuild: layer " << l.index << " type " << l.type_name
                          << " not handled";
        }
    }
    std::vector<uint8_t> out = b.build();
    if (out.size() > f.size()) {
        V3BuildOptions o;
        o.drop_last_padding = true;
        out = b.build(o);
    }
    return out;
}

void expect_rebuilds_exactly(const std::string& relative) {
    const std::vector<uint8_t> original = test::read_file_bytes(test::shared_path(relative));
    if (original.empty()) GTEST_SKIP() << "missing " << relative;
    const Model m = parse_kmodel(original);
    const std::vector<uint8_t> rebuilt = rebuild(m);
    ASSERT_EQ(rebuilt.size(), original.size());
    for (std::size_t i = 0; i < original.size(); ++i)
        if (rebuilt[i] != original[i]) {
            FAIL() << relative << ": first difference at byte " << i << " (rebuilt "
                   << int(rebuilt[i]) << ", original " << int(original[i]) << ")";
        }
}

TEST(KmodelBuilder, RebuildsIrisV3ByteForByte) {
    // Two FULLY_CONNECTED layers; the last body's padding is missing from the real file.
    expect_rebuilds_exactly("models/iris_v3/iris.kmodel");
}

TEST(KmodelBuilder, RebuildsMnistV3ByteForByte) {
    // Convs, DEQUANTIZE, FLATTEN, FC, QUANTIZE, ADD/REMOVE_PADDING, SOFTMAX.
    expect_rebuilds_exactly("models/mnist_maixpy_v3/mnist.kmodel");
}

TEST(KmodelBuilder, RebuildsFaceDetectV3ByteForByte) {
    expect_rebuilds_exactly("models/face_detect_kendryte_v3/detect.kmodel");
}

TEST(KmodelBuilder, RebuildsYolo20NncaseV3ByteForByte) {
    // CHANNELWISE_DEQUANTIZE and a dropped last padding.
    expect_rebuilds_exactly("models/yolo20_voc_nncase_v3/yolo.kmodel");
}

TEST(KmodelBuilder, RebuildsMobilenetV3ByteForByte) {
    // GLOBAL_AVERAGE_POOL2D, QUANTIZE, ADD_PADDING, REMOVE_PADDING, SOFTMAX, 25 weight loads.
    expect_rebuilds_exactly("models/mobilenetv1_0.75_imagenet_v3/mbnet75.kmodel");
}

}  // namespace
}  // namespace kpusim
