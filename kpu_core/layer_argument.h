// The KPU layer argument: twelve 64-bit words (96 bytes) written to the KPU's
// layer_argument_fifo, decoded into named fields.
//
// Bit positions follow the Kendryte SDK's kpu_layer_argument_t (kpu.h), which GCC lays
// out least-significant bit first; see ../shared/docs/kmodel-spec.md §3.
#pragma once

#include <array>
#include <cstdint>

namespace kpusim::kpu {

/// Size in bytes of one layer argument.
inline constexpr std::size_t kLayerArgumentBytes = 96;
/// KPU RAM: 2 MiB addressed as 32768 rows of 64 bytes (spec §2).
inline constexpr uint32_t kKpuRamRowBytes = 64;
inline constexpr uint32_t kKpuRamRows = 32768;
inline constexpr uint32_t kKpuRamBytes = kKpuRamRowBytes * kKpuRamRows;

/// Pool types of kernel_pool_type_cfg.pool_type (spec §6.5).
enum class PoolType : uint8_t {
    bypass = 0,
    max_2_s2 = 1,
    mean_2_s2 = 2,
    max_4_s4 = 3,
    mean_4_s4 = 4,
    left_top_2_s2 = 5,
    right_top_2_s2 = 6,
    left_top_4_s4 = 7,
    mean_2_s1 = 8,
    max_2_s1 = 9,
};

/// Name of a pool type as nncase spells it ("bypass", "max_2_s2", ...); "invalid" above 9.
const char* to_string(PoolType type);
/// Stride of a pool type (1, 2 or 4). Precondition: type <= 9.
uint32_t pool_stride(PoolType type);

/// Decoded layer argument. Field names are those of the SDK's bit-field structs.
/// Widths are as in the hardware; signed fields are already sign-extended.
struct LayerArgument {
    std::array<uint64_t, 12> words{};  ///< the raw words, word 0 first

    // word 0 interrupt_enabe
    bool int_en = false, ram_flag = false, full_add = false, depth_wise_layer = false;
    // word 1 image_addr (KPU RAM row indices)
    uint32_t image_src_addr = 0, image_dst_addr = 0;
    // word 2 image_channel_num (value - 1 encodings kept raw)
    uint32_t i_ch_num = 0, o_ch_num = 0, o_ch_num_coef = 0;
    // word 3 image_size (value - 1 encodings kept raw)
    uint32_t i_row_wid = 0, i_col_high = 0, o_row_wid = 0, o_col_high = 0;
    // word 4 kernel_pool_type_cfg
    uint32_t kernel_type = 0, pad_type = 0, pool_type = 0, first_stride = 0, bypass_conv = 0,
             load_para = 0, dma_burst_size = 0, pad_value = 0, bwsx_base_addr = 0;
    // word 5 kernel_load_cfg
    uint32_t load_coor = 0, load_time = 0, para_size = 0, para_start_addr = 0;
    // word 6 kernel_offset
    uint32_t coef_column_offset = 0, coef_row_offset = 0;
    // word 7 kernel_calc_type_cfg
    uint32_t channel_switch_addr = 0, row_switch_addr = 0, coef_size = 0, coef_group = 0,
             load_act = 0, active_addr = 0;
    // word 8 write_back_cfg
    uint32_t wb_channel_switch_addr = 0, wb_row_switch_addr = 0, wb_group = 0;
    // word 9 conv_value
    uint32_t shr_w = 0, shr_x = 0;
    int32_t arg_w = 0, arg_x = 0;  ///< sign-extended 24-bit
    // word 10 conv_value2
    int64_t arg_add = 0;  ///< sign-extended 40-bit
    // word 11 dma_parameter
    bool send_data_out = false;
    uint32_t channel_byte_num = 0, dma_total_byte = 0;

    /// Decode 96 little-endian bytes. Never fails: every bit pattern decodes.
    static LayerArgument decode(const uint8_t* bytes96);

    // Derived quantities (valid for arguments that passed validate()).
    uint32_t in_channels() const { return i_ch_num + 1; }
    uint32_t out_channels() const { return o_ch_num + 1; }
    uint32_t in_width() const { return i_row_wid + 1; }
    uint32_t in_height() const { return i_col_high + 1; }
    uint32_t out_width() const { return o_row_wid + 1; }
    uint32_t out_height() const { return o_col_high + 1; }
    /// 1 for a 1x1 kernel, 3 for 3x3.
    uint32_t kernel_size() const { return kernel_type == 1 ? 3 : 1; }
    PoolType pool() const { return static_cast<PoolType>(pool_type); }
    /// Weight bytes the layer reads: OC x IC x k^2 (normal) or C x k^2 (depthwise),
    /// doubled when the model uses 16-bit weights (spec §5).
    uint32_t weight_bytes(bool eight_bit) const;
    /// Multiply-accumulates the KPU performs (at input resolution, spec §6.1).
    uint64_t macs() const;
};

/// Check a decoded argument against what the spec documents (§2, §3, §6): undocumented
/// fields at their nncase values, kernel and pool types in range, layout registers equal to
/// the width-derived layout, output size equal to input / pool stride, depthwise with IC = OC,
/// feature maps inside the 2 MiB KPU RAM.
/// Throws KmodelError (kind undocumented_field or inconsistent) naming `layer_index` and the
/// field; throws CapacityError ("KPU allocator cannot allocate more memory") when a feature
/// map runs past the end of KPU RAM.
void validate(const LayerArgument& arg, uint32_t layer_index);

}  // namespace kpusim::kpu
