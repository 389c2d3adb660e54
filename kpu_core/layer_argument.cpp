#include "kpu_core/layer_argument.h"

#include <cstring>
#include <string>

#include "kpu_core/kpu_ram_layout.h"
#include "models/kmodel_error.h"

namespace kpusim::kpu {

namespace {

uint64_t bits(uint64_t word, unsigned lo, unsigned width) {
    return (word >> lo) & ((width == 64) ? ~uint64_t{0} : ((uint64_t{1} << width) - 1));
}

int64_t sign_extend(uint64_t v, unsigned width) {
    const uint64_t m = uint64_t{1} << (width - 1);
    return static_cast<int64_t>((v ^ m) - m);
}

}  // namespace

const char* to_string(PoolType type) {
    switch (type) {
        case PoolType::bypass: return "bypass";
        case PoolType::max_2_s2: return "max_2_s2";
        case PoolType::mean_2_s2: return "mean_2_s2";
        case PoolType::max_4_s4: return "max_4_s4";
        case PoolType::mean_4_s4: return "mean_4_s4";
        case PoolType::left_top_2_s2: return "left_top_2_s2";
        case PoolType::right_top_2_s2: return "right_top_2_s2";
        case PoolType::left_top_4_s4: return "left_top_4_s4";
        case PoolType::mean_2_s1: return "mean_2_s1";
        case PoolType::max_2_s1: return "max_2_s1";
    }
    return "invalid";
}

uint32_t pool_stride(PoolType type) {
    switch (type) {
        case PoolType::bypass:
        case PoolType::mean_2_s1:
        case PoolType::max_2_s1: return 1;
        case PoolType::max_4_s4:
        case PoolType::mean_4_s4:
        case PoolType::left_top_4_s4: return 4;
        default: return 2;
    }
}

LayerArgument LayerArgument::decode(const uint8_t* b) {
    LayerArgument a;
    for (int i = 0; i < 12; ++i) {
        uint64_t w = 0;
        for (int k = 7; k >= 0; --k) w = (w << 8) | b[i * 8 + k];
        a.words[i] = w;
    }
    const auto& w = a.words;
    a.int_en = bits(w[0], 0, 1);
    a.ram_flag = bits(w[0], 1, 1);
    a.full_add = bits(w[0], 2, 1);
    a.depth_wise_layer = bits(w[0], 3, 1);
    a.image_src_addr = bits(w[1], 0, 15);
    a.image_dst_addr = bits(w[1], 32, 15);
    a.i_ch_num = bits(w[2], 0, 10);
    a.o_ch_num = bits(w[2], 32, 10);
    a.o_ch_num_coef = bits(w[2], 48, 10);
    a.i_row_wid = bits(w[3], 0, 10);
    a.i_col_high = bits(w[3], 10, 9);
    a.o_row_wid = bits(w[3], 32, 10);
    a.o_col_high = bits(w[3], 42, 9);
    a.kernel_type = bits(w[4], 0, 3);
    a.pad_type = bits(w[4], 3, 1);
    a.pool_type = bits(w[4], 4, 4);
    a.first_stride = bits(w[4], 8, 1);
    a.bypass_conv = bits(w[4], 9, 1);
    a.load_para = bits(w[4], 10, 1);
    a.dma_burst_size = bits(w[4], 16, 8);
    a.pad_value = bits(w[4], 24, 8);
    a.bwsx_base_addr = bits(w[4], 32, 32);
    a.load_coor = bits(w[5], 0, 1);
    a.load_time = bits(w[5], 1, 6);
    a.para_size = bits(w[5], 15, 17);
    a.para_start_addr = bits(w[5], 32, 32);
    a.coef_column_offset = bits(w[6], 0, 4);
    a.coef_row_offset = bits(w[6], 4, 12);
    a.channel_switch_addr = bits(w[7], 0, 15);
    a.row_switch_addr = bits(w[7], 16, 4);
    a.coef_size = bits(w[7], 20, 8);
    a.coef_group = bits(w[7], 28, 3);
    a.load_act = bits(w[7], 31, 1);
    a.active_addr = bits(w[7], 32, 32);
    a.wb_channel_switch_addr = bits(w[8], 0, 15);
    a.wb_row_switch_addr = bits(w[8], 16, 4);
    a.wb_group = bits(w[8], 20, 3);
    a.shr_w = bits(w[9], 0, 4);
    a.shr_x = bits(w[9], 4, 4);
    a.arg_w = static_cast<int32_t>(sign_extend(bits(w[9], 8, 24), 24));
    a.arg_x = static_cast<int32_t>(sign_extend(bits(w[9], 32, 24), 24));
    a.arg_add = sign_extend(bits(w[10], 0, 40), 40);
    a.send_data_out = bits(w[11], 0, 1);
    a.channel_byte_num = bits(w[11], 16, 16);
    a.dma_total_byte = bits(w[11], 32, 32);
    return a;
}

uint32_t LayerArgument::weight_bytes(bool eight_bit) const {
    const uint32_t k2 = kernel_size() * kernel_size();
    const uint32_t n = depth_wise_layer ? in_channels() * k2 : out_channels() * in_channels() * k2;
    return eight_bit ? n : 2 * n;
}

uint64_t LayerArgument::macs() const {
    const uint64_t k2 = kernel_size() * kernel_size();
    const uint64_t pixels = uint64_t{in_width()} * in_height();
    return depth_wise_layer ? pixels * in_channels() * k2
                            : pixels * in_channels() * out_channels() * k2;
}

void validate(const LayerArgument& a, uint32_t layer) {
    auto undocumented = [&](const char* field, uint64_t value, uint64_t expected) {
        if (value != expected)
            throw KmodelError(KmodelErrorKind::undocumented_field,
                              "value " + std::to_string(value) +
                                  " is undocumented (only " + std::to_string(expected) +
                                  " is specified, kmodel-spec.md §3.1)",
                              layer, field);
    };
    auto inconsistent = [&](const char* field, const std::string& msg) {
        throw KmodelError(KmodelErrorKind::inconsistent, msg, layer, field);
    };

    undocumented("ram_flag", a.ram_flag, 0);
    undocumented("full_add", a.full_add, 0);
    undocumented("pad_type", a.pad_type, 0);
    undocumented("first_stride", a.first_stride, 0);
    undocumented("bypass_conv", a.bypass_conv, 0);
    undocumented("coef_size", a.coef_size, 0);
    undocumented("coef_column_offset", a.coef_column_offset, 0);
    undocumented("coef_row_offset", a.coef_row_offset, 0);
    undocumented("dma_burst_size", a.dma_burst_size, 15);
    undocumented("load_para", a.load_para, 1);
    undocumented("load_coor", a.load_coor, 1);
    undocumented("load_act", a.load_act, 1);
    if (a.kernel_type > 1)
        throw KmodelError(KmodelErrorKind::undocumented_field,
                          "kernel type " + std::to_string(a.kernel_type) +
                              " is undocumented (0 = 1x1, 1 = 3x3)",
                          layer, "kernel_type");
    if (a.pool_type > 9)
        throw KmodelError(KmodelErrorKind::undocumented_field,
                          "pool type " + std::to_string(a.pool_type) + " is undocumented (0..9)",
                          layer, "pool_type");

    const uint32_t ic = a.in_channels(), oc = a.out_channels();
    const uint32_t w = a.in_width(), h = a.in_height();
    if (a.depth_wise_layer && ic != oc)
        inconsistent("o_ch_num", "depthwise layer with " + std::to_string(ic) +
                                     " input channels but " + std::to_string(oc) + " output channels");

    const uint32_t stride = pool_stride(a.pool());
    const uint32_t ow = w / stride, oh = h / stride;
    if (ow == 0 || oh == 0)
        inconsistent("pool_type", "input " + std::to_string(w) + "x" + std::to_string(h) +
                                      " is smaller than the pool stride " + std::to_string(stride));
    if (a.out_width() != ow)
        inconsistent("o_row_wid", "output width " + std::to_string(a.out_width()) +
                                      " but input width " + std::to_string(w) + " / pool stride " +
                                      std::to_string(stride) + " = " + std::to_string(ow));
    if (a.out_height() != oh)
        inconsistent("o_col_high", "output height " + std::to_string(a.out_height()) +
                                       " but input height " + std::to_string(h) +
                                       " / pool stride " + std::to_string(stride) + " = " +
                                       std::to_string(oh));

    const RowLayout in = row_layout(w), out = row_layout(ow);
    auto expect = [&](const char* field, uint32_t value, uint32_t derived) {
        if (value != derived)
            inconsistent(field, "register value " + std::to_string(value) +
                                    " differs from the width-derived layout value " +
                                    std::to_string(derived) + " (kmodel-spec.md §2)");
    };
    expect("channel_switch_addr", a.channel_switch_addr, in.row_len * h);
    expect("row_switch_addr", a.row_switch_addr, in.row_len);
    expect("coef_group", a.coef_group, in.groups);
    expect("wb_channel_switch_addr", a.wb_channel_switch_addr, out.row_len * oh);
    expect("wb_row_switch_addr", a.wb_row_switch_addr, out.row_len);
    expect("wb_group", a.wb_group, out.groups);
    expect("channel_byte_num", a.channel_byte_num, ow * oh - 1);
    expect("dma_total_byte", a.dma_total_byte, ow * oh * oc - 1);

    const uint32_t n_coef = a.o_ch_num_coef + 1;
    if (n_coef > oc)
        inconsistent("o_ch_num_coef", std::to_string(n_coef) +
                                          " output channels per weight load exceed the " +
                                          std::to_string(oc) + " output channels");

    const uint32_t in_rows = feature_map_rows(w, h, ic);
    const uint32_t out_rows = feature_map_rows(ow, oh, oc);
    auto fits = [&](const char* what, uint32_t row, uint32_t rows) {
        if (uint64_t{row} + rows > kKpuRamRows)
            throw CapacityError(
                "KPU allocator cannot allocate more memory: layer " + std::to_string(layer) +
                " " + what + " feature map needs KPU RAM rows " + std::to_string(row) + ".." +
                std::to_string(uint64_t{row} + rows - 1) + " (" + std::to_string(uint64_t{rows} * 64) +
                " bytes from byte " + std::to_string(uint64_t{row} * 64) + "), but KPU RAM has " +
                std::to_string(kKpuRamBytes) + " bytes (" + std::to_string(kKpuRamRows) + " rows)");
    };
    fits("input", a.image_src_addr, in_rows);
    fits("output", a.image_dst_addr, out_rows);
}

}  // namespace kpusim::kpu
