// A writer of kmodel V4 files (nncase 0.2 format, kmodel-spec.md §9.1, §9.3) for tests: every
// CPU operation can be put in a tiny valid file, and any raw field overridden (poke_* or a
// truncated body) to make a malformed one.
//
// The K210 nodes' layer argument, BN and activation tables come from the V3 builder's own
// encoders (models/kmodel_v3_builder.h). Deliberately independent of the V4 reader and of models/kmodel_v4_cpu_ops.h: the
// descriptions below are plain field lists in FILE encoding (memory_type 0 const / 1 main /
// 2 kpu, datatype 0 float32 / 1 uint8, shapes as 4 x i32), and each body writer lays the
// fields out at the byte offsets of §9.3 itself.
//
// Container (§9.1): 40-byte header (identifier 'KMDL', version, flags, target, constants,
// main_mem, nodes, inputs, outputs, reserved0), input ranges, input shapes, output ranges,
// the constant blob, one (opcode, body_size) header per node, then the bodies, each padded
// with zeros so that it ends on an absolute 8-byte boundary; body_size includes the padding.
// With drop_last_padding the last body's padding is left out of the file (body_size still
// counts it), as the CanMV MNIST model does. All values little-endian.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "models/byte_writer.h"
#include "models/kmodel_v3_builder.h"

namespace kpusim::v4build {

inline constexpr uint32_t kConst = 0, kMain = 1, kKpu = 2;  ///< memory_type
inline constexpr uint32_t kF32 = 0, kU8 = 1;                ///< datatype

/// A memory_range in file encoding.
struct Range {
    uint32_t memory_type = kMain;
    uint32_t datatype = kF32;
    uint32_t start = 0;
    uint32_t size = 0;
};
using Shape4 = std::array<int32_t, 4>;
/// Window fields shared by the convolutions and poolings (file order from padding_h on).
struct Window {
    int32_t pad_h_before = 0, pad_h_after = 0, pad_w_before = 0, pad_w_after = 0;
    int32_t filter_h = 1, filter_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
};
inline constexpr float kFltMax = 3.40282347e38f;

/// A node: opcode and body (without the container's padding).
struct Node {
    uint32_t opcode = 0;
    std::vector<uint8_t> body;
};

/// The container writer.
struct V4Builder {
    uint32_t version = 4;
    uint32_t flags = 0;
    uint32_t target = 1;  ///< 0 CPU, 1 K210
    uint32_t main_mem = 0;
    uint32_t reserved0 = 0xcccccccc;  ///< garbage in real files
    struct Input {
        Range range;
        Shape4 shape{1, 1, 1, 1};
    };
    std::vector<Input> inputs;
    std::vector<Range> outputs;
    std::vector<uint8_t> constants;
    std::vector<Node> nodes;
    bool drop_last_padding = false;

    /// The file bytes.
    std::vector<uint8_t> build() const;
    /// Absolute file offset of node i's body in build()'s output.
    uint64_t body_offset(size_t i) const;
};

// ---- raw field editing (for malformed bodies) ------------------------------------------------

/// Overwrite 4 bytes at `offset` of `body` (grows the body with zeros if needed).
void poke_u32(std::vector<uint8_t>& body, size_t offset, uint32_t value);
void poke_f32(std::vector<uint8_t>& body, size_t offset, float value);
/// Append little-endian values (for hand-made bodies): models/byte_writer.h.
using kpusim::put_f32;
using kpusim::put_u32;
void put_range(std::vector<uint8_t>& b, const Range& r);

// ---- CPU op descriptions and body writers (§9.3 layouts) -------------------------------------

struct BinaryDesc {  // binary 0x00 / quantized_binary 0x11 share a, b, out, op, shapes
    Range a, b, out;
    uint32_t op = 0;
    Shape4 a_shape{1, 1, 1, 1}, b_shape{1, 1, 1, 1}, out_shape{1, 1, 1, 1};
    float act_min = -kFltMax, act_max = kFltMax;
};
std::vector<uint8_t> binary_body(const BinaryDesc& d);

struct ConcatDesc {
    Range out;
    uint32_t inner_size = 0, outer_size = 1;
    std::vector<Range> inputs;
    std::vector<int32_t> dims;
};
std::vector<uint8_t> concat_body(const ConcatDesc& d);

struct Conv2DDesc {
    Range in, out;
    Shape4 in_shape{1, 1, 1, 1};
    int32_t groups = 1, out_channels = 1;
    Window window;
    float act_min = -kFltMax, act_max = kFltMax;
    std::vector<float> weights, bias;
};
std::vector<uint8_t> conv2d_body(const Conv2DDesc& d);

struct QuantDesc {  // dequantize 0x03, quantize 0x06
    Range in, out;
    int32_t zero_point = 0;
    float scale = 1;
};
std::vector<uint8_t> quant_body(const QuantDesc& d);

struct MatMulDesc {
    Range a, b, out;
    int32_t a_rows = 1, a_cols = 1, b_cols = 1;
    float act_min = -kFltMax, act_max = kFltMax;
    std::vector<float> bias;
};
std::vector<uint8_t> matmul_body(const MatMulDesc& d);

struct PadDesc {
    Range in, out;
    Shape4 in_shape{1, 1, 1, 1};
    std::array<std::array<int32_t, 2>, 4> paddings{};  ///< {before, after} per axis
    uint32_t pad_type = kF32;
    uint32_t pad_storage = 0;  ///< the scalar's 4 storage bytes (little-endian)
};
std::vector<uint8_t> pad_body(const PadDesc& d);

struct ReduceDesc {
    Range in, out;
    uint32_t op = 3;
    Shape4 in_shape{1, 1, 1, 1}, out_shape{1, 1, 1, 1};
    float init = 0;
};
std::vector<uint8_t> reduce_body(const ReduceDesc& d);

struct ReduceWindowDesc {  // reduce_window2d 0x08 and cpu_reduce_window2d 0x1003
    Range in, out;
    uint32_t op = 2;
    Shape4 in_shape{1, 1, 1, 1};
    Window window;
    float init = 0;
    float act_min = -kFltMax, act_max = kFltMax;
};
std::vector<uint8_t> reduce_window2d_body(const ReduceWindowDesc& d);

struct InOutDesc {  // memory_copy 0x09
    Range in, out;
};
std::vector<uint8_t> memory_copy_body(const InOutDesc& d);

struct ResizeDesc {
    Range in, out;
    Shape4 in_shape{1, 1, 1, 1};
    int32_t out_h = 1, out_w = 1;
    uint32_t mode = 0;
    bool align_corners = false;
};
std::vector<uint8_t> resize_image_body(const ResizeDesc& d);

struct SoftmaxDesc {
    Range in, out;
    int32_t inner_size = 1, outer_size = 1;
    float beta = 1;
};
std::vector<uint8_t> softmax_body(const SoftmaxDesc& d);

struct TransposeDesc {
    Range in, out;
    Shape4 in_shape{1, 1, 1, 1}, perm{0, 1, 2, 3};
};
std::vector<uint8_t> transpose_body(const TransposeDesc& d);

struct StridedSliceDesc {
    Range in, out;
    Shape4 in_shape{1, 1, 1, 1}, begin{0, 0, 0, 0}, end{1, 1, 1, 1}, strides{1, 1, 1, 1};
    std::array<int32_t, 5> masks{};  ///< begin, end, ellipsis, new_axis, shrink_axis
};
std::vector<uint8_t> strided_slice_body(const StridedSliceDesc& d);

struct UnaryDesc {
    Range in, out;
    uint32_t op = 0;
};
std::vector<uint8_t> unary_body(const UnaryDesc& d);

struct QuantizedConv2DDesc {  // quantized_conv2d 0x0F
    Range in, out;
    Shape4 in_shape{1, 1, 1, 1};
    int32_t groups = 1, out_channels = 1;
    Window window;
    int32_t input_offset = 0, filter_offset = 0, output_mul = 1, output_shift = 0, output_offset = 0;
    std::vector<int32_t> bias;
    std::vector<uint8_t> weights;
};
std::vector<uint8_t> quantized_conv2d_body(const QuantizedConv2DDesc& d);

struct QuantizedMatMulDesc {
    Range a, b, out;
    int32_t a_rows = 1, a_cols = 1, b_cols = 1;
    int32_t input_a_offset = 0, input_b_offset = 0, output_mul = 1, output_shift = 0, output_offset = 0;
    std::vector<int32_t> bias;
};
std::vector<uint8_t> quantized_matmul_body(const QuantizedMatMulDesc& d);

struct QuantizedBinaryDesc {
    BinaryDesc base;  ///< act_min / act_max unused
    int32_t a_offset = 0, a_mul = 1, a_shift = 0, b_offset = 0, b_mul = 1, b_shift = 0;
    int32_t output_offset = 0, output_mul = 1, output_shift = 0;
};
std::vector<uint8_t> quantized_binary_body(const QuantizedBinaryDesc& d);

struct TableLookupDesc {
    Range in, table, out;
};
std::vector<uint8_t> table_lookup1d_body(const TableLookupDesc& d);

struct Conv2DTransposeDesc {
    Range in, out;
    Shape4 in_shape{1, 1, 1, 1}, out_shape{1, 1, 1, 1};
    int32_t groups = 1;
    Window window;
    float act_min = -kFltMax, act_max = kFltMax;
    std::vector<float> weights, bias;
};
std::vector<uint8_t> conv2d_transpose_body(const Conv2DTransposeDesc& d);

struct NnilDesc {
    Range in, out;
    std::vector<uint8_t> program;
};
std::vector<uint8_t> nnil_unary_method_body(const NnilDesc& d);

struct CpuConv2DDesc {  // cpu_conv2d 0x1001 (NHWC); depthwise 0x1002 ignores out_channels
    Range in, out;
    Shape4 in_shape{1, 1, 1, 1};  ///< N, H, W, C
    int32_t out_channels = 1;
    Window window;
    float act_min = -kFltMax, act_max = kFltMax;
    std::vector<float> weights, bias;
};
std::vector<uint8_t> cpu_conv2d_body(const CpuConv2DDesc& d);
std::vector<uint8_t> cpu_depthwise_conv2d_body(const CpuConv2DDesc& d);

struct CpuQuantizedConv2DDesc {  // 0x1004; depthwise 0x1005 ignores out_channels
    Range in, out;
    Shape4 in_shape{1, 1, 1, 1};
    int32_t out_channels = 1;
    Window window;
    int32_t input_offset = 0, filter_offset = 0, output_mul = 1, output_shift = 0, output_offset = 0;
    std::vector<uint8_t> weights;
    std::vector<int32_t> bias;
};
std::vector<uint8_t> cpu_quantized_conv2d_body(const CpuQuantizedConv2DDesc& d);
std::vector<uint8_t> cpu_quantized_depthwise_conv2d_body(const CpuQuantizedConv2DDesc& d);

// ---- K210 ops (spec §9.4) --------------------------------------------------------------------

/// kpu_upload body (48 bytes): input range (main, uint8), output range (kpu), in_shape NCHW.
std::vector<uint8_t> kpu_upload_body(const Range& in, const Range& out, const Shape4& in_shape);

/// kpu_conv2d body as nncase 0.2 writes it, for a body that starts at absolute file offset
/// `body_offset` (V4Builder::body_offset): main_mem_output (all zeros = none), batches,
/// reserved0 = 0, the layer argument (d's fields as the V3 builder encodes them,
/// image_src_addr = d.in_row, image_dst_addr = d.out_row) whose bwsx_base_addr, active_addr
/// and para_start_addr hold the paddings P1, P2, P3 that put the BN table, the activation
/// table and the weights on absolute 256-byte boundaries, then those blobs. 8-bit weights
/// (d.weights) only; d.main_mem_out is ignored (V4 outputs through `main_mem_output`);
/// d.overrides apply last. The container adds the final padding to 8 bytes.
std::vector<uint8_t> kpu_conv2d_body(const KpuConvDesc& d, uint64_t body_offset, uint32_t batches = 1,
                                     const Range& main_mem_output = {kConst, kF32, 0, 0});

}  // namespace kpusim::v4build
