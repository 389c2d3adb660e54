// A writer of kmodel V3 files (nncase 0.1.x format, kmodel-spec.md §7) from a C++ description,
// for tests: every KPU feature and every CPU layer can be put in a tiny, valid file, and any raw
// field can be overridden to make a malformed one.
//
// The builder is deliberately independent of the readers and of kpu_core: it encodes every
// structure from the spec's bit tables itself (§3 layer argument, §4 BN and activation tables,
// §5 weights, §7 file layout), and mirrors what nncase 0.1 writes (verified against the real V3
// files in shared/models):
//   - K210_CONV bodies: 24 bytes of fields, then the 96-byte layer argument at the next absolute
//     8-byte boundary, the weights at the next 128-byte boundary, the BN table at the next
//     128-byte boundary, the activation table at the next 256-byte boundary, and padding so that
//     the body ends on an absolute 8-byte boundary;
//   - CPU bodies: their fields, then padding to an absolute 8-byte boundary;
//   - body_size in the layer header always includes the padding; the writer may leave the last
//     body's padding out of the file (nncase's quirk: it seeks past the padding without writing);
//   - the three blob addresses of the layer argument (bwsx_base_addr, para_start_addr,
//     active_addr) are 0 in the file, send_data_out is 0 (the runtime sets it), int_en is 0;
//   - weights are loaded in chunks of at most 30 KiB (60 KiB in 16-bit mode, i.e. the same
//     number of output channels per chunk), depthwise layers in one load (§5);
//   - the layout registers follow the width-derived layout of §2;
//   - dma_burst_size 15, load_para / load_coor / load_act 1;
//   - max_start_address is the lowest KPU RAM row any layer uses (32768 when none).
//
// All multi-byte values are little-endian. KPU RAM addresses are row indices (64 bytes per
// row); main-memory addresses are byte offsets into the model's main buffer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kpusim {

// ---- KPU tables -------------------------------------------------------------------------------

/// One batch-norm entry (kpu_batchnorm_argument_t, spec §4.1): bn = ((conv * mul) >> shift) + add.
struct BnEntry {
    int32_t mul = 1;     ///< signed 24-bit multiplier (bits 0-23)
    int32_t add = 0;     ///< signed 32-bit addend (bits 24-55)
    uint32_t shift = 0;  ///< right shift 0..15 (bits 56-59)
};

/// Encode one BN entry into its 64-bit table word (fields truncated to their widths).
uint64_t encode_bn(const BnEntry& e);

/// One activation segment (spec §4.2): for bn in the segment,
/// out = clamp(round((bn - x_start) * y_mul >> shift) + bias, 0, 255).
struct ActSegment {
    int64_t x_start = 0;  ///< signed 36-bit segment start
    int32_t y_mul = 0;    ///< signed 16-bit slope
    uint32_t shift = 0;   ///< unsigned 8-bit right shift (shift_number)
    uint32_t bias = 0;    ///< unsigned 8-bit result_bias
};

/// A whole kpu_activate_table_t: 16 segments.
using ActTable = std::array<ActSegment, 16>;

/// Encode an activation table into its 144 bytes: 16 segment words (shift_number bits 0-7,
/// y_mul bits 8-23, x_start bits 24-59), then the 16 result_bias bytes (words 16-17).
std::vector<uint8_t> encode_activation(const ActTable& t);

/// The lowest x_start (-2^35), the start nncase gives segment 0.
inline constexpr int64_t kActMinStart = -(int64_t{1} << 35);

/// The ReLU table every nncase 0.1 V3 conv layer carries (spec §4.2): segment 0 at -2^35,
/// segments 1-9 at nncase's nine negative constants, all with slope 0 and bias 0; segment 10
/// at 0 with y_mul 1024, shift 20 (out = round(bn / 1024) for bn > 0); segments 11-15 at
/// 0x7FFFFFFF0..0x7FFFFFFF4 (unreachable) with slope 0 and bias 0.
ActTable relu_table_nncase01();

/// out = clamp(bn, 0, 255) under both activation rules: segment 0 {-2^35, mul 0, shift 0,
/// bias 0}, segment 1 {start 0, mul 1, shift 0, bias 0} (bn = 0 gives 0 from either segment);
/// segments 2-15 at nncase's unreachable starts 0x7FFFFFFF0.. with slope 0.
ActTable identity_table();

/// A table with segment 0 = {-2^35, 0, 0, 0}, the given segments placed at indices 1..n (n <= 15),
/// and the remaining ones unreachable (starts 0x7FFFFFFF0.., slope 0, bias 0). Segment starts
/// must be increasing for the table to make sense; nothing checks it.
ActTable activation_table(const std::vector<ActSegment>& segments);

// ---- the layer argument -----------------------------------------------------------------------

/// A named bit field of the 12-word layer argument (spec §3.1).
struct ArgField {
    const char* name;  ///< as the SDK spells it ("ram_flag", "channel_switch_addr", ...)
    uint32_t word;     ///< 0..11
    uint32_t lsb;      ///< first bit
    uint32_t width;    ///< bits
};

/// Every field of spec §3.1 (reserved bits excluded). Names are unique.
const std::vector<ArgField>& layer_argument_fields();

/// Look a field up by name; throws std::invalid_argument for an unknown name.
const ArgField& layer_argument_field(const std::string& name);

/// Replace bits [lsb, lsb+width) of `word` with `value` (truncated to width bits).
uint64_t set_bits(uint64_t word, uint32_t lsb, uint32_t width, uint64_t value);
/// Bits [lsb, lsb+width) of `word`, unsigned.
uint64_t get_bits(uint64_t word, uint32_t lsb, uint32_t width);

/// A raw change applied to the encoded layer argument after every computed field, so that
/// tests can write any bit pattern: either a named field (`field` non-empty; value truncated to
/// the field's width), or a raw bit range (word, lsb, width) when `field` is empty.
struct ArgOverride {
    std::string field;
    uint32_t word = 0, lsb = 0, width = 64;
    uint64_t value = 0;
};

/// Description of one K210_CONV layer. Shapes are the input's; the output size is
/// input / pool stride (integer division), as nncase computes it.
struct KpuConvDesc {
    uint32_t in_width = 1, in_height = 1, in_channels = 1;
    uint32_t out_channels = 1;
    uint32_t kernel = 1;          ///< 1 (kernel_type 0) or 3 (kernel_type 1)
    bool depthwise = false;       ///< depth_wise_layer (requires in_channels == out_channels)
    uint32_t pool_type = 0;       ///< 0..9 (spec §6.5)
    uint8_t pad_value = 0;        ///< value of the 3x3 padding ring
    int32_t arg_x = 0;            ///< signed 24-bit multiplier of the input sum
    uint32_t shr_x = 0;           ///< 0..15
    int32_t arg_w = 0;            ///< signed 24-bit multiplier of the weight sum
    uint32_t shr_w = 0;           ///< 0..15
    int64_t arg_add = 0;          ///< signed 40-bit, added once per input channel of the group
    std::vector<BnEntry> bn;      ///< one per output channel
    ActTable act = identity_table();
    /// 8-bit weights [oc][ic][ky][kx] (depthwise: [c][ky][kx]); used when the model is 8-bit.
    std::vector<uint8_t> weights;
    /// 16-bit weights, same order; used when the model is 16-bit (written little-endian).
    std::vector<uint16_t> weights16;
    uint32_t in_row = 0;          ///< image_src_addr (KPU RAM row)
    uint32_t out_row = 0;         ///< image_dst_addr (KPU RAM row)
    /// Body flags bit 0 (KLF_MAIN_MEM_OUT) and main_mem_out_address: also stream the dense
    /// OC x OH x OW output to this main-memory byte offset.
    std::optional<uint32_t> main_mem_out;

    /// Applied in order after encoding (see ArgOverride).
    std::vector<ArgOverride> overrides;
    /// Replace the encoded BN table / activation table bytes (any length) in the body.
    std::optional<std::vector<uint8_t>> raw_batchnorm, raw_activation;
    /// Replace the weights blob bytes (any length) in the body.
    std::optional<std::vector<uint8_t>> raw_weights;
    /// Replace the corresponding body fields (absolute file offsets) after layout.
    std::optional<uint32_t> layer_offset, weights_offset, bn_offset, act_offset;
    /// Replace the body flags word (default: 1 when main_mem_out is set, else 0).
    std::optional<uint32_t> flags;

    // Convenience for overrides.
    KpuConvDesc& set(const std::string& field, uint64_t value) {
        overrides.push_back(ArgOverride{field, 0, 0, 0, value});
        return *this;
    }
    KpuConvDesc& set_raw(uint32_t word, uint32_t lsb, uint32_t width, uint64_t value) {
        overrides.push_back(ArgOverride{std::string(), word, lsb, width, value});
        return *this;
    }

    // Derived sizes.
    uint32_t pool_stride() const;              ///< 1, 2 or 4 (1 for invalid pool types)
    uint32_t out_width() const { return in_width / pool_stride(); }
    uint32_t out_height() const { return in_height / pool_stride(); }
    uint32_t out_elements() const { return out_width() * out_height() * out_channels; }
    /// Weight elements: OC x IC x k^2, or C x k^2 for depthwise.
    uint32_t weight_count() const;
};

/// Weight loads as nncase computes them (spec §5), in output channels and bytes.
struct WeightLoads {
    uint32_t channels_per_load;  ///< o_ch_num_coef + 1
    uint32_t load_time;          ///< number of loads - 1
    uint32_t para_size;          ///< bytes per full load
};
/// n = OC for depthwise, else min(OC, floor(30720 / (IC k^2))) (the same n in 16-bit mode,
/// where the limit is 60 KiB and a channel takes twice the bytes); para_size = n x bytes per
/// output channel; load_time = ceil(OC / n) - 1.
WeightLoads compute_weight_loads(const KpuConvDesc& d, bool eight_bit);

/// Encode the 12 layer-argument words as nncase 0.1 writes them into a V3 file (address fields
/// 0, send_data_out 0, int_en 0), then apply d.overrides.
std::array<uint64_t, 12> encode_layer_argument(const KpuConvDesc& d, bool eight_bit = true);

/// Row layout of spec §2 (groups, row_pitch, row_len) for an image `width` pixels wide;
/// the builder's own copy, not shared with kpu_core.
struct BuilderRowLayout {
    uint32_t groups, row_pitch, row_len;
};
BuilderRowLayout builder_row_layout(uint32_t width);
/// KPU RAM rows a C x H x W map occupies: row_len x H x ceil(C / groups).
uint32_t builder_feature_map_rows(uint32_t width, uint32_t height, uint32_t channels);

// ---- CPU layer type codes (spec §7.2) ---------------------------------------------------------

enum V3LayerType : uint32_t {
    kV3Invalid = 0,
    kV3Add = 1,
    kV3QuantizedAdd = 2,
    kV3GlobalMaxPool2d = 3,
    kV3QuantizedGlobalMaxPool2d = 4,
    kV3GlobalAveragePool2d = 5,
    kV3QuantizedGlobalAveragePool2d = 6,
    kV3MaxPool2d = 7,
    kV3QuantizedMaxPool2d = 8,
    kV3AveragePool2d = 9,
    kV3QuantizedAveragePool2d = 10,
    kV3Quantize = 11,
    kV3Dequantize = 12,
    kV3Requantize = 13,
    kV3L2Normalization = 14,
    kV3Softmax = 15,
    kV3Concat = 16,
    kV3QuantizedConcat = 17,
    kV3FullyConnected = 18,
    kV3QuantizedFullyConnected = 19,
    kV3TensorflowFlatten = 20,
    kV3QuantizedTensorflowFlatten = 21,
    kV3ResizeNearestNeighbor = 22,
    kV3QuantizedResizeNearestNeighbor = 23,
    kV3ChannelwiseDequantize = 24,
    kV3Logistic = 25,
    kV3K210Conv = 10240,
    kV3K210AddPadding = 10241,
    kV3K210RemovePadding = 10242,
    kV3K210Upload = 10243,
};

// ---- the builder ------------------------------------------------------------------------------

/// Options of KmodelV3Builder::build().
struct V3BuildOptions {
    /// Leave the last body's trailing padding out of the file (nncase's quirk); the header's
    /// body_size still counts it.
    bool drop_last_padding = false;
    /// Cut the finished file to this many bytes (negative tests).
    std::optional<std::size_t> truncate_to;
};

/// Builds a kmodel V3 file. Layers are added in execution order; each add_* returns the
/// layer's index. Unless overridden, main_mem_usage is computed as the end of the furthest
/// main-memory range any layer (added through a typed helper) or output touches, rounded up to
/// 8 bytes; a conv's main-memory output counts ceil(OC·OH·OW / 8)·8 bytes (the DMA writes whole
/// 64-bit words).
class KmodelV3Builder {
public:
    KmodelV3Builder() = default;

    // -- header --
    /// Header flags bit 0: true = 8-bit weights (default), false = 16-bit weights.
    KmodelV3Builder& set_eight_bit(bool eight_bit) { eight_bit_ = eight_bit; return *this; }
    bool eight_bit() const { return eight_bit_; }
    /// Override main_mem_usage (bytes of the main working buffer).
    KmodelV3Builder& set_main_mem_usage(uint32_t bytes) { main_mem_usage_ = bytes; return *this; }
    /// Override raw header words (negative tests).
    KmodelV3Builder& set_version(uint32_t v) { version_ = v; return *this; }
    KmodelV3Builder& set_arch(uint32_t a) { arch_ = a; return *this; }
    KmodelV3Builder& set_flags(uint32_t f) { flags_ = f; return *this; }
    KmodelV3Builder& set_max_start_address(uint32_t rows) { max_start_address_ = rows; return *this; }
    KmodelV3Builder& set_layers_length(uint32_t n) { layers_length_ = n; return *this; }

    /// Declare an output by element count: {address, elements x 4} as nncase writes it
    /// (V3 output sizes are always element count x 4, even for uint8 data).
    KmodelV3Builder& add_output(uint32_t address, uint32_t elements) {
        outputs_.push_back({address, elements * 4});
        return *this;
    }
    /// Declare an output with a raw byte size.
    KmodelV3Builder& add_output_raw(uint32_t address, uint32_t size) {
        outputs_.push_back({address, size});
        return *this;
    }

    // -- layers --
    /// K210_CONV (10240).
    uint32_t add_conv(const KpuConvDesc& d);
    /// QUANTIZE (11): float in -> uint8 out, q = round((x - bias) / scale).
    uint32_t add_quantize(uint32_t in, uint32_t out, uint32_t count, float scale, float bias,
                          uint32_t flags = 0);
    /// DEQUANTIZE (12): uint8 in -> float out = q * scale + bias.
    uint32_t add_dequantize(uint32_t in, uint32_t out, uint32_t count, float scale, float bias,
                            uint32_t flags = 0);
    /// CHANNELWISE_DEQUANTIZE (24): fields flags, in, out, channels, channel_size, then
    /// {scale, bias} per channel.
    uint32_t add_channelwise_dequantize(uint32_t in, uint32_t out, uint32_t channel_size,
                                        const std::vector<std::pair<float, float>>& scale_bias,
                                        uint32_t flags = 0);
    /// K210_ADD_PADDING (10241): flags, main_mem_in, kpu_mem_out (row), channels.
    uint32_t add_add_padding(uint32_t in, uint32_t kpu_row, uint32_t channels, uint32_t flags = 0);
    /// K210_REMOVE_PADDING (10242): flags, in, out, channels.
    uint32_t add_remove_padding(uint32_t in, uint32_t out, uint32_t channels, uint32_t flags = 0);
    /// K210_UPLOAD (10243): flags, main_mem_in, kpu_mem_out (row), width, height, channels.
    uint32_t add_upload(uint32_t in, uint32_t kpu_row, uint32_t width, uint32_t height,
                        uint32_t channels, uint32_t flags = 0);
    /// FULLY_CONNECTED (18): flags, in, out, in_channels, out_channels, act (0 linear, 1 ReLU,
    /// 2 ReLU6), f32 weights [out][in], f32 bias [out].
    uint32_t add_fully_connected(uint32_t in, uint32_t out, uint32_t in_channels,
                                 uint32_t out_channels, uint32_t act,
                                 const std::vector<float>& weights, const std::vector<float>& bias,
                                 uint32_t flags = 0);
    /// SOFTMAX (15): flags, in, out, channels.
    uint32_t add_softmax(uint32_t in, uint32_t out, uint32_t channels, uint32_t flags = 0);
    /// GLOBAL_AVERAGE_POOL2D (5): flags, in, out, kernel_size (= H x W), channels.
    uint32_t add_global_average_pool(uint32_t in, uint32_t out, uint32_t kernel_size,
                                     uint32_t channels, uint32_t flags = 0);
    /// QUANTIZED_ADD (2) fields (spec §7.3).
    struct QuantizedAddDesc {
        uint32_t in_a = 0, in_b = 0, out = 0, count = 0;
        int32_t in_a_offset = 0, in_a_mul = 1, in_a_shift = 0;
        int32_t in_b_offset = 0, in_b_mul = 1, in_b_shift = 0;
        int32_t out_offset = 0, out_mul = 1, out_shift = 0;
        uint32_t flags = 0;
    };
    uint32_t add_quantized_add(const QuantizedAddDesc& d);
    /// Any layer: the type code (valid or not) and the raw body bytes (padding to 8 is added).
    /// Main-memory ranges the layer touches can be declared for the main_mem_usage computation.
    uint32_t add_raw_layer(uint32_t type_code, std::vector<uint8_t> body,
                           std::vector<std::pair<uint32_t, uint32_t>> main_ranges = {});
    /// A raw body made of little-endian u32 words.
    uint32_t add_raw_layer_words(uint32_t type_code, const std::vector<uint32_t>& words,
                                 std::vector<std::pair<uint32_t, uint32_t>> main_ranges = {});

    /// Override the body_size written in layer `index`'s header (negative tests).
    KmodelV3Builder& set_body_size(uint32_t index, uint32_t size);

    /// Number of layers added so far.
    uint32_t layer_count() const { return static_cast<uint32_t>(layers_.size()); }

    /// Layout information of the last build(), per layer.
    struct BuiltLayer {
        uint32_t type_code = 0;
        uint32_t body_offset = 0, body_size = 0;
        // K210_CONV only (absolute file offsets as written in the body):
        uint32_t layer_offset = 0, weights_offset = 0, bn_offset = 0, act_offset = 0;
        uint32_t weights_size = 0, bn_size = 0, act_size = 0;
    };
    const std::vector<BuiltLayer>& built_layers() const { return built_; }

    /// Write the file.
    std::vector<uint8_t> build(const V3BuildOptions& options = {});

private:
    struct PendingLayer {
        uint32_t type_code = 0;
        std::optional<KpuConvDesc> conv;
        std::vector<uint8_t> body;  ///< CPU layers: the fields (unpadded)
        std::vector<std::pair<uint32_t, uint32_t>> main_ranges;  ///< {start, bytes}
        std::vector<uint32_t> kpu_rows;  ///< rows touched (for max_start_address)
        std::optional<uint32_t> body_size_override;
    };
    uint32_t push(PendingLayer l);

    bool eight_bit_ = true;
    std::optional<uint32_t> main_mem_usage_, version_, arch_, flags_, max_start_address_,
        layers_length_;
    std::vector<std::pair<uint32_t, uint32_t>> outputs_;
    std::vector<PendingLayer> layers_;
    std::vector<BuiltLayer> built_;
};

}  // namespace kpusim
