#include "models/kmodel_v3_builder.h"

#include "models/byte_writer.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace kpusim {

namespace {

constexpr uint32_t kKpuRamRowsForBuilder = 32768;  // 2 MiB / 64

uint64_t mask(uint32_t width) { return width >= 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1; }

void write_u32_at(std::vector<uint8_t>& b, std::size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
void pad_to(std::vector<uint8_t>& b, std::size_t alignment) {
    while (b.size() % alignment != 0) b.push_back(0);
}
uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

// nncase 0.1's unreachable starts for the upper segments (0x7FFFFFFF0 + i).
int64_t unreachable_start(int i) { return int64_t{0x7FFFFFFF0} + i; }

}  // namespace

// ---- tables -----------------------------------------------------------------------------------

uint64_t encode_bn(const BnEntry& e) {
    uint64_t w = 0;
    w = set_bits(w, 0, 24, static_cast<uint64_t>(static_cast<int64_t>(e.mul)));
    w = set_bits(w, 24, 32, static_cast<uint64_t>(static_cast<int64_t>(e.add)));
    w = set_bits(w, 56, 4, e.shift);
    return w;
}

std::vector<uint8_t> encode_activation(const ActTable& t) {
    std::vector<uint8_t> b;
    b.reserve(144);
    for (const ActSegment& s : t) {
        uint64_t w = 0;
        w = set_bits(w, 0, 8, s.shift);
        w = set_bits(w, 8, 16, static_cast<uint64_t>(static_cast<int64_t>(s.y_mul)));
        w = set_bits(w, 24, 36, static_cast<uint64_t>(s.x_start));
        put_u64(b, w);
    }
    for (const ActSegment& s : t) b.push_back(static_cast<uint8_t>(s.bias));
    return b;
}

ActTable relu_table_nncase01() {
    // Segment starts as stored (36-bit two's complement), spec §4.2.
    static const uint64_t kNegStarts[9] = {0xf7d4cf4b8, 0xf8ed5a20c, 0xfa05e4f60,
                                           0xfb2e05baa, 0xfc46908fe, 0xfd5f1b652,
                                           0xfe77a63a6, 0xff9fc6ff0, 0xfffd4a9b7};
    ActTable t{};
    t[0] = {kActMinStart, 0, 0, 0};
    for (int i = 0; i < 9; ++i)
        t[1 + i] = {static_cast<int64_t>(kNegStarts[i]) - (int64_t{1} << 36), 0, 0, 0};
    t[10] = {0, 1024, 20, 0};
    for (int i = 11; i < 16; ++i) t[i] = {unreachable_start(i - 11), 0, 0, 0};
    return t;
}

ActTable activation_table(const std::vector<ActSegment>& segments) {
    if (segments.size() > 15) throw std::invalid_argument("activation_table: at most 15 segments");
    ActTable t{};
    t[0] = {kActMinStart, 0, 0, 0};
    for (std::size_t i = 0; i < segments.size(); ++i) t[1 + i] = segments[i];
    for (std::size_t i = segments.size() + 1; i < 16; ++i)
        t[i] = {unreachable_start(static_cast<int>(i - segments.size() - 1)), 0, 0, 0};
    return t;
}

ActTable identity_table() { return activation_table({ActSegment{0, 1, 0, 0}}); }

// ---- layer argument ---------------------------------------------------------------------------

uint64_t set_bits(uint64_t word, uint32_t lsb, uint32_t width, uint64_t value) {
    const uint64_t m = mask(width) << lsb;
    return (word & ~m) | ((value << lsb) & m);
}

uint64_t get_bits(uint64_t word, uint32_t lsb, uint32_t width) {
    return (word >> lsb) & mask(width);
}

const std::vector<ArgField>& layer_argument_fields() {
    static const std::vector<ArgField> kFields = {
        // word 0 interrupt_enabe
        {"int_en", 0, 0, 1},
        {"ram_flag", 0, 1, 1},
        {"full_add", 0, 2, 1},
        {"depth_wise_layer", 0, 3, 1},
        // word 1 image_addr
        {"image_src_addr", 1, 0, 15},
        {"image_dst_addr", 1, 32, 15},
        // word 2 image_channel_num
        {"i_ch_num", 2, 0, 10},
        {"o_ch_num", 2, 32, 10},
        {"o_ch_num_coef", 2, 48, 10},
        // word 3 image_size
        {"i_row_wid", 3, 0, 10},
        {"i_col_high", 3, 10, 9},
        {"o_row_wid", 3, 32, 10},
        {"o_col_high", 3, 42, 9},
        // word 4 kernel_pool_type_cfg
        {"kernel_type", 4, 0, 3},
        {"pad_type", 4, 3, 1},
        {"pool_type", 4, 4, 4},
        {"first_stride", 4, 8, 1},
        {"bypass_conv", 4, 9, 1},
        {"load_para", 4, 10, 1},
        {"dma_burst_size", 4, 16, 8},
        {"pad_value", 4, 24, 8},
        {"bwsx_base_addr", 4, 32, 32},
        // word 5 kernel_load_cfg
        {"load_coor", 5, 0, 1},
        {"load_time", 5, 1, 6},
        {"para_size", 5, 15, 17},
        {"para_start_addr", 5, 32, 32},
        // word 6 kernel_offset
        {"coef_column_offset", 6, 0, 4},
        {"coef_row_offset", 6, 4, 12},
        // word 7 kernel_calc_type_cfg
        {"channel_switch_addr", 7, 0, 15},
        {"row_switch_addr", 7, 16, 4},
        {"coef_size", 7, 20, 8},
        {"coef_group", 7, 28, 3},
        {"load_act", 7, 31, 1},
        {"active_addr", 7, 32, 32},
        // word 8 write_back_cfg
        {"wb_channel_switch_addr", 8, 0, 15},
        {"wb_row_switch_addr", 8, 16, 4},
        {"wb_group", 8, 20, 3},
        // word 9 conv_value
        {"shr_w", 9, 0, 4},
        {"shr_x", 9, 4, 4},
        {"arg_w", 9, 8, 24},
        {"arg_x", 9, 32, 24},
        // word 10 conv_value2
        {"arg_add", 10, 0, 40},
        // word 11 dma_parameter
        {"send_data_out", 11, 0, 1},
        {"channel_byte_num", 11, 16, 16},
        {"dma_total_byte", 11, 32, 32},
    };
    return kFields;
}

const ArgField& layer_argument_field(const std::string& name) {
    for (const ArgField& f : layer_argument_fields())
        if (name == f.name) return f;
    throw std::invalid_argument("unknown layer argument field: " + name);
}

BuilderRowLayout builder_row_layout(uint32_t width) {
    if (width <= 16) return {4, 16, 1};
    if (width <= 32) return {2, 32, 1};
    return {1, 64, (width + 63) / 64};
}

uint32_t builder_feature_map_rows(uint32_t width, uint32_t height, uint32_t channels) {
    const BuilderRowLayout l = builder_row_layout(width);
    return l.row_len * height * ((channels + l.groups - 1) / l.groups);
}

uint32_t KpuConvDesc::pool_stride() const {
    switch (pool_type) {
        case 1: case 2: case 5: case 6: return 2;
        case 3: case 4: case 7: return 4;
        default: return 1;  // 0, 8, 9 (and invalid values)
    }
}

uint32_t KpuConvDesc::weight_count() const {
    const uint32_t k2 = kernel * kernel;
    return depthwise ? out_channels * k2 : out_channels * in_channels * k2;
}

WeightLoads compute_weight_loads(const KpuConvDesc& d, bool eight_bit) {
    const uint32_t k2 = d.kernel * d.kernel;
    const uint32_t elem = eight_bit ? 1 : 2;
    const uint32_t per_channel = (d.depthwise ? 1 : d.in_channels) * k2 * elem;
    const uint32_t limit = 30 * 1024 * elem;
    uint32_t n = d.depthwise ? d.out_channels : std::min(d.out_channels, limit / per_channel);
    if (n == 0) n = 1;  // a single channel larger than the limit: one channel per load
    const uint32_t loads = (d.out_channels + n - 1) / n;
    return {n, loads - 1, n * per_channel};
}

std::array<uint64_t, 12> encode_layer_argument(const KpuConvDesc& d, bool eight_bit) {
    std::array<uint64_t, 12> w{};
    const BuilderRowLayout in_l = builder_row_layout(d.in_width);
    const uint32_t ow = d.out_width(), oh = d.out_height();
    const BuilderRowLayout out_l = builder_row_layout(ow == 0 ? 1 : ow);
    const WeightLoads loads = compute_weight_loads(d, eight_bit);

    w[0] = set_bits(w[0], 3, 1, d.depthwise ? 1 : 0);

    w[1] = set_bits(w[1], 0, 15, d.in_row);
    w[1] = set_bits(w[1], 32, 15, d.out_row);

    w[2] = set_bits(w[2], 0, 10, d.in_channels - 1);
    w[2] = set_bits(w[2], 32, 10, d.out_channels - 1);
    w[2] = set_bits(w[2], 48, 10, loads.channels_per_load - 1);

    w[3] = set_bits(w[3], 0, 10, d.in_width - 1);
    w[3] = set_bits(w[3], 10, 9, d.in_height - 1);
    w[3] = set_bits(w[3], 32, 10, ow - 1);
    w[3] = set_bits(w[3], 42, 9, oh - 1);

    w[4] = set_bits(w[4], 0, 3, d.kernel == 3 ? 1 : 0);
    w[4] = set_bits(w[4], 4, 4, d.pool_type);
    w[4] = set_bits(w[4], 10, 1, 1);   // load_para
    w[4] = set_bits(w[4], 16, 8, 15);  // dma_burst_size
    w[4] = set_bits(w[4], 24, 8, d.pad_value);

    w[5] = set_bits(w[5], 0, 1, 1);  // load_coor
    w[5] = set_bits(w[5], 1, 6, loads.load_time);
    w[5] = set_bits(w[5], 15, 17, loads.para_size);

    w[7] = set_bits(w[7], 0, 15, in_l.row_len * d.in_height);
    w[7] = set_bits(w[7], 16, 4, in_l.row_len);
    w[7] = set_bits(w[7], 28, 3, in_l.groups);
    w[7] = set_bits(w[7], 31, 1, 1);  // load_act

    w[8] = set_bits(w[8], 0, 15, out_l.row_len * oh);
    w[8] = set_bits(w[8], 16, 4, out_l.row_len);
    w[8] = set_bits(w[8], 20, 3, out_l.groups);

    w[9] = set_bits(w[9], 0, 4, d.shr_w);
    w[9] = set_bits(w[9], 4, 4, d.shr_x);
    w[9] = set_bits(w[9], 8, 24, static_cast<uint64_t>(static_cast<int64_t>(d.arg_w)));
    w[9] = set_bits(w[9], 32, 24, static_cast<uint64_t>(static_cast<int64_t>(d.arg_x)));

    w[10] = set_bits(w[10], 0, 40, static_cast<uint64_t>(d.arg_add));

    w[11] = set_bits(w[11], 16, 16, ow * oh - 1);
    w[11] = set_bits(w[11], 32, 32, ow * oh * d.out_channels - 1);

    for (const ArgOverride& o : d.overrides) {
        if (!o.field.empty()) {
            const ArgField& f = layer_argument_field(o.field);
            w[f.word] = set_bits(w[f.word], f.lsb, f.width, o.value);
        } else {
            if (o.word >= 12) throw std::invalid_argument("ArgOverride: word index above 11");
            w[o.word] = set_bits(w[o.word], o.lsb, o.width, o.value);
        }
    }
    return w;
}

// ---- builder ----------------------------------------------------------------------------------

uint32_t KmodelV3Builder::push(PendingLayer l) {
    layers_.push_back(std::move(l));
    return static_cast<uint32_t>(layers_.size() - 1);
}

uint32_t KmodelV3Builder::add_conv(const KpuConvDesc& d) {
    PendingLayer l;
    l.type_code = kV3K210Conv;
    l.conv = d;
    if (d.main_mem_out) l.main_ranges.push_back({*d.main_mem_out, static_cast<uint32_t>(align_up(d.out_elements(), 8))});
    l.kpu_rows = {d.in_row, d.out_row};
    return push(std::move(l));
}

namespace {
std::vector<uint8_t> words_body(std::initializer_list<uint32_t> words) {
    std::vector<uint8_t> b;
    for (uint32_t w : words) put_u32(b, w);
    return b;
}
}  // namespace

uint32_t KmodelV3Builder::add_quantize(uint32_t in, uint32_t out, uint32_t count, float scale,
                                       float bias, uint32_t flags) {
    PendingLayer l;
    l.type_code = kV3Quantize;
    l.body = words_body({flags, in, out, count});
    put_f32(l.body, scale);
    put_f32(l.body, bias);
    l.main_ranges = {{in, count * 4}, {out, count}};
    return push(std::move(l));
}

uint32_t KmodelV3Builder::add_dequantize(uint32_t in, uint32_t out, uint32_t count, float scale,
                                         float bias, uint32_t flags) {
    PendingLayer l;
    l.type_code = kV3Dequantize;
    l.body = words_body({flags, in, out, count});
    put_f32(l.body, scale);
    put_f32(l.body, bias);
    l.main_ranges = {{in, count}, {out, count * 4}};
    return push(std::move(l));
}

uint32_t KmodelV3Builder::add_channelwise_dequantize(
    uint32_t in, uint32_t out, uint32_t channel_size,
    const std::vector<std::pair<float, float>>& scale_bias, uint32_t flags) {
    PendingLayer l;
    l.type_code = kV3ChannelwiseDequantize;
    const uint32_t channels = static_cast<uint32_t>(scale_bias.size());
    l.body = words_body({flags, in, out, channels, channel_size});
    for (const auto& sb : scale_bias) {
        put_f32(l.body, sb.first);
        put_f32(l.body, sb.second);
    }
    l.main_ranges = {{in, channels * channel_size}, {out, channels * channel_size * 4}};
    return push(std::move(l));
}

uint32_t KmodelV3Builder::add_add_padding(uint32_t in, uint32_t kpu_row, uint32_t channels,
                                          uint32_t flags) {
    PendingLayer l;
    l.type_code = kV3K210AddPadding;
    l.body = words_body({flags, in, kpu_row, channels});
    l.main_ranges = {{in, channels}};
    l.kpu_rows = {kpu_row};
    return push(std::move(l));
}

uint32_t KmodelV3Builder::add_remove_padding(uint32_t in, uint32_t out, uint32_t channels,
                                             uint32_t flags) {
    PendingLayer l;
    l.type_code = kV3K210RemovePadding;
    l.body = words_body({flags, in, out, channels});
    l.main_ranges = {{in, channels * 16}, {out, channels}};
    return push(std::move(l));
}

uint32_t KmodelV3Builder::add_upload(uint32_t in, uint32_t kpu_row, uint32_t width,
                                     uint32_t height, uint32_t channels, uint32_t flags) {
    PendingLayer l;
    l.type_code = kV3K210Upload;
    l.body = words_body({flags, in, kpu_row, width, height, channels});
    l.main_ranges = {{in, width * height * channels}};
    l.kpu_rows = {kpu_row};
    return push(std::move(l));
}

uint32_t KmodelV3Builder::add_fully_connected(uint32_t in, uint32_t out, uint32_t in_channels,
                                              uint32_t out_channels, uint32_t act,
                                              const std::vector<float>& weights,
                                              const std::vector<float>& bias, uint32_t flags) {
    PendingLayer l;
    l.type_code = kV3FullyConnected;
    l.body = words_body({flags, in, out, in_channels, out_channels, act});
    for (float f : weights) put_f32(l.body, f);
    for (float f : bias) put_f32(l.body, f);
    l.main_ranges = {{in, in_channels * 4}, {out, out_channels * 4}};
    return push(std::move(l));
}

uint32_t KmodelV3Builder::add_softmax(uint32_t in, uint32_t out, uint32_t channels,
                                      uint32_t flags) {
    PendingLayer l;
    l.type_code = kV3Softmax;
    l.body = words_body({flags, in, out, channels});
    l.main_ranges = {{in, channels * 4}, {out, channels * 4}};
    return push(std::move(l));
}

uint32_t KmodelV3Builder::add_global_average_pool(uint32_t in, uint32_t out,
                                                  uint32_t kernel_size, uint32_t channels,
                                                  uint32_t flags) {
    PendingLayer l;
    l.type_code = kV3GlobalAveragePool2d;
    l.body = words_body({flags, in, out, kernel_size, channels});
    l.main_ranges = {{in, kernel_size * channels * 4}, {out, channels * 4}};
    return push(std::move(l));
}

uint32_t KmodelV3Builder::add_quantized_add(const QuantizedAddDesc& d) {
    PendingLayer l;
    l.type_code = kV3QuantizedAdd;
    l.body = words_body({d.flags, d.in_a, d.in_b, d.out, d.count});
    for (int32_t v : {d.in_a_offset, d.in_a_mul, d.in_a_shift, d.in_b_offset, d.in_b_mul,
                      d.in_b_shift, d.out_offset, d.out_mul, d.out_shift})
        put_u32(l.body, static_cast<uint32_t>(v));
    // The SDK loop processes the count rounded up to a multiple of 8 (spec §7.3).
    const uint32_t n = static_cast<uint32_t>(align_up(d.count, 8));
    l.main_ranges = {{d.in_a, n}, {d.in_b, n}, {d.out, n}};
    return push(std::move(l));
}

uint32_t KmodelV3Builder::add_raw_layer(uint32_t type_code, std::vector<uint8_t> body,
                                        std::vector<std::pair<uint32_t, uint32_t>> main_ranges) {
    PendingLayer l;
    l.type_code = type_code;
    l.body = std::move(body);
    l.main_ranges = std::move(main_ranges);
    return push(std::move(l));
}

uint32_t KmodelV3Builder::add_raw_layer_words(
    uint32_t type_code, const std::vector<uint32_t>& words,
    std::vector<std::pair<uint32_t, uint32_t>> main_ranges) {
    std::vector<uint8_t> b;
    for (uint32_t w : words) put_u32(b, w);
    return add_raw_layer(type_code, std::move(b), std::move(main_ranges));
}

KmodelV3Builder& KmodelV3Builder::set_body_size(uint32_t index, uint32_t size) {
    layers_.at(index).body_size_override = size;
    return *this;
}

std::vector<uint8_t> KmodelV3Builder::build(const V3BuildOptions& options) {
    std::vector<uint8_t> f;
    const uint32_t n = static_cast<uint32_t>(layers_.size());

    // main_mem_usage: furthest main-memory byte touched, rounded to 8.
    uint64_t mm = 0;
    for (const auto& o : outputs_) mm = std::max<uint64_t>(mm, uint64_t{o.first} + o.second);
    for (const PendingLayer& l : layers_)
        for (const auto& r : l.main_ranges) mm = std::max<uint64_t>(mm, uint64_t{r.first} + r.second);
    mm = align_up(mm, 8);

    uint32_t msa = kKpuRamRowsForBuilder;
    for (const PendingLayer& l : layers_)
        for (uint32_t r : l.kpu_rows) msa = std::min(msa, r);

    // Header.
    put_u32(f, version_.value_or(3));
    put_u32(f, flags_.value_or(eight_bit_ ? 1u : 0u));
    put_u32(f, arch_.value_or(0));
    put_u32(f, layers_length_.value_or(n));
    put_u32(f, max_start_address_.value_or(msa));
    put_u32(f, main_mem_usage_.value_or(static_cast<uint32_t>(mm)));
    put_u32(f, static_cast<uint32_t>(outputs_.size()));
    for (const auto& o : outputs_) {
        put_u32(f, o.first);
        put_u32(f, o.second);
    }
    const std::size_t headers_at = f.size();
    for (uint32_t i = 0; i < n; ++i) {
        put_u32(f, layers_[i].type_code);
        put_u32(f, 0);  // body_size, patched below
    }

    built_.assign(n, BuiltLayer{});
    std::size_t last_unpadded_end = f.size();
    for (uint32_t i = 0; i < n; ++i) {
        const PendingLayer& l = layers_[i];
        BuiltLayer& bl = built_[i];
        bl.type_code = l.type_code;
        const std::size_t start = f.size();
        bl.body_offset = static_cast<uint32_t>(start);
        if (l.conv) {
            const KpuConvDesc& d = *l.conv;
            const std::size_t fields_at = f.size();
            for (int k = 0; k < 6; ++k) put_u32(f, 0);
            pad_to(f, 8);
            const std::size_t layer_at = f.size();
            for (uint64_t w : encode_layer_argument(d, eight_bit_)) put_u64(f, w);
            pad_to(f, 128);
            const std::size_t weights_at = f.size();
            if (d.raw_weights) {
                f.insert(f.end(), d.raw_weights->begin(), d.raw_weights->end());
            } else if (eight_bit_) {
                f.insert(f.end(), d.weights.begin(), d.weights.end());
            } else {
                for (uint16_t v : d.weights16) {
                    f.push_back(static_cast<uint8_t>(v));
                    f.push_back(static_cast<uint8_t>(v >> 8));
                }
            }
            bl.weights_size = static_cast<uint32_t>(f.size() - weights_at);
            pad_to(f, 128);
            const std::size_t bn_at = f.size();
            if (d.raw_batchnorm) {
                f.insert(f.end(), d.raw_batchnorm->begin(), d.raw_batchnorm->end());
            } else {
                for (const BnEntry& e : d.bn) put_u64(f, encode_bn(e));
            }
            bl.bn_size = static_cast<uint32_t>(f.size() - bn_at);
            pad_to(f, 256);
            const std::size_t act_at = f.size();
            if (d.raw_activation) {
                f.insert(f.end(), d.raw_activation->begin(), d.raw_activation->end());
            } else {
                const std::vector<uint8_t> a = encode_activation(d.act);
                f.insert(f.end(), a.begin(), a.end());
            }
            bl.act_size = static_cast<uint32_t>(f.size() - act_at);
            bl.layer_offset = d.layer_offset.value_or(static_cast<uint32_t>(layer_at));
            bl.weights_offset = d.weights_offset.value_or(static_cast<uint32_t>(weights_at));
            bl.bn_offset = d.bn_offset.value_or(static_cast<uint32_t>(bn_at));
            bl.act_offset = d.act_offset.value_or(static_cast<uint32_t>(act_at));
            write_u32_at(f, fields_at + 0, d.flags.value_or(d.main_mem_out ? 1u : 0u));
            write_u32_at(f, fields_at + 4, d.main_mem_out.value_or(0));
            write_u32_at(f, fields_at + 8, bl.layer_offset);
            write_u32_at(f, fields_at + 12, bl.weights_offset);
            write_u32_at(f, fields_at + 16, bl.bn_offset);
            write_u32_at(f, fields_at + 20, bl.act_offset);
        } else {
            f.insert(f.end(), l.body.begin(), l.body.end());
        }
        last_unpadded_end = f.size();
        pad_to(f, 8);
        bl.body_size = l.body_size_override.value_or(static_cast<uint32_t>(f.size() - start));
        write_u32_at(f, headers_at + 8 * i + 4, bl.body_size);
    }

    if (options.drop_last_padding && n > 0) f.resize(last_unpadded_end);
    if (options.truncate_to && *options.truncate_to < f.size()) f.resize(*options.truncate_to);
    return f;
}

}  // namespace kpusim
