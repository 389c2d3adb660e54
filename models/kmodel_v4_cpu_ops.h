// The CPU operations of kmodel V4 (nncase 0.2, kmodel-spec.md §9.2/§9.3): one struct per
// opcode holding the parsed body, the parser that validates a body completely before anything
// runs, and what the platform needs to book a node (ranges read and written, output shape and
// type, a bound of its work). The kernels are in cpu_layers/v4/v4_kernels.h, the cycle model in
// cpu_layers/v4/v4_cpu_timing.h.
//
// Validation (parse_cpu_node), everything before execution, so that execute() never touches a
// byte outside the ranges and a malformed node costs bounded time and memory:
//   - every field read through ByteReader: a short body is KmodelError(truncated) naming the
//     node (as `layer`) and the field;
//   - memory ranges: memory_type 0..2 and datatype 0..1 (else `inconsistent`, field
//     "<range>.memory_type" / "<range>.datatype"); start + size (64-bit) within the memory's
//     size from `sizes` (else `out_of_bounds`, field "<range>"); a written range may not be in
//     the constant memory (`inconsistent`); the datatype must be the one the kernel reads or
//     writes (float32 for float kernels, uint8 for quantized ones; pad, transpose, resize_image
//     and strided_slice take either, from the input's datatype);
//   - every shape dimension in 0..kMaxTensorElements, and the product of each shape (zeros
//     counted as 1) at most kMaxTensorElements, products computed with checked arithmetic
//     (`inconsistent`, field = the shape's name);
//   - every element the kernel touches inside its range given the shapes (`out_of_bounds`,
//     field = the range): e.g. conv2d reads N*C*H*W floats of `in` and writes N*OC*OH*OW of `out`;
//   - enums (binary_op 0..5, unary_op 0..9, reduce_op 0..3, resize mode 0..1) in range;
//     filters, strides and dilations >= 1, groups >= 1 dividing the channels, transpose perm a
//     permutation, strided_slice strides != 0 and every visited index inside the input;
//   - weights and bias are sized by the body's own fields (checked products) and must be in
//     the body (`truncated`, field "weights"/"bias");
//   - the multiply-adds / window taps / scatters of a node (an upper bound: output elements x
//     taps per output) at most kMaxV4CpuSteps (2^28, about a second of host time), else
//     `inconsistent` (field "filter_h");
//   - nnil programs are checked statically (they are straight-line): unknown opcodes
//     (`unknown_layer_type`), a truncated ldc_r4 (`truncated`), stack underflow or more than 64
//     entries (`inconsistent`), all with field "program"; a program without ret writes nothing.
// Field names are spelled as in kmodel-spec §9.3's table (a, b, out, in, op, a_shape,
// value_range, padding_h, init, mode, ...); a range's enums are "<range>.memory_type" and
// "<range>.datatype"; concat's input ranges are "inputs", their count "n".
// Opcodes parse_cpu_node does not take: kpu_upload / kpu_conv2d (`unsupported_layer`, they are
// the platform's), anything undefined (`unknown_layer_type`).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <variant>
#include <vector>

#include "models/kmodel_v4_types.h"

namespace kpusim::v4 {

/// Upper bound of the element steps (MACs, taps, scatters) one CPU node may declare: 2^28.
inline constexpr uint64_t kMaxV4CpuSteps = uint64_t{1} << 28;
/// nnil evaluation stack depth (spec §9.6).
inline constexpr uint32_t kNnilStackDepth = 64;

/// runtime_shape_t as stored: 4 x i32 (NCHW, or NHWC for the cpu_* ops). Validated >= 0.
using Dims4 = std::array<int32_t, 4>;
/// padding {before, after} (either may be negative: cropping).
struct Padding {
    int32_t before = 0, after = 0;
};
/// The fused activation clamp {min, max}.
struct ValueRange {
    float min = -3.40282347e38f, max = 3.40282347e38f;
};
/// quant_param {zero_point, scale}.
struct QuantParam {
    int32_t zero_point = 0;
    float scale = 1.0f;
};

enum class BinaryOpKind : uint32_t { add = 0, sub = 1, mul = 2, div = 3, min = 4, max = 5 };
enum class UnaryOpKind : uint32_t { abs = 0, ceil, cos, exp, floor, log, neg, rsqrt, sin, square };
enum class ReduceOpKind : uint32_t { mean = 0, min = 1, max = 2, sum = 3 };
enum class ResizeMode : uint32_t { bilinear = 0, nearest_neighbor = 1 };

/// binary 0x00 (108 bytes): float, size-1 broadcasting, clamp.
struct BinaryOp {
    MemoryRange a, b, out;
    BinaryOpKind op = BinaryOpKind::add;
    Dims4 a_shape{}, b_shape{}, out_shape{};
    ValueRange fused_activation;
};
/// concat 0x01: out, inner_size (bytes), outer_size, n input ranges, n dims.
struct ConcatOp {
    MemoryRange out;
    uint32_t inner_size = 0, outer_size = 0;
    std::vector<MemoryRange> inputs;
    std::vector<int32_t> dims;
};
/// Shared window fields (conv / pooling).
struct Window2D {
    Padding padding_h, padding_w;
    int32_t filter_h = 1, filter_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
};
/// conv2d 0x02: float NCHW; weights [OC][C/groups][fh][fw], bias [OC].
struct Conv2DOp {
    MemoryRange in, out;
    Dims4 in_shape{};
    int32_t groups = 1, out_channels = 0;
    Window2D window;
    ValueRange fused_activation;
    std::vector<float> weights, bias;
};
/// dequantize 0x03: uint8 in, float out.
struct DequantizeOp {
    MemoryRange in, out;
    QuantParam quant_param;
};
/// matmul 0x04: out[r][c] = bias[c] + sum_i a[r][i] b[i][c]; clamp.
struct MatMulOp {
    MemoryRange a, b, out;
    int32_t a_rows = 0, a_cols = 0, b_cols = 0;
    ValueRange fused_activation;
    std::vector<float> bias;
};
/// pad 0x05: element size from in's datatype; pad value = first 1 or 4 bytes of the scalar.
struct PadOp {
    MemoryRange in, out;
    Dims4 in_shape{};
    std::array<Padding, 4> paddings{};
    uint32_t pad_value_type = 0;
    std::array<uint8_t, 4> pad_value{};
};
/// quantize 0x06: float in, uint8 out.
struct QuantizeOp {
    MemoryRange in, out;
    QuantParam quant_param;
};
/// reduce 0x07 (72 bytes).
struct ReduceOp {
    MemoryRange in, out;
    ReduceOpKind op = ReduceOpKind::sum;
    Dims4 in_shape{}, out_shape{};
    float init_value = 0;
};
/// reduce_window2d 0x08 (104 bytes): float NCHW pooling.
struct ReduceWindow2DOp {
    MemoryRange in, out;
    ReduceOpKind op = ReduceOpKind::max;
    Dims4 in_shape{};
    Window2D window;
    float init_value = 0;
    ValueRange fused_activation;
};
/// memory_copy 0x09 (32 bytes).
struct MemoryCopyOp {
    MemoryRange in, out;
};
/// resize_image 0x0A (64 bytes): float or uint8 NCHW.
struct ResizeImageOp {
    MemoryRange in, out;
    Dims4 in_shape{};
    int32_t out_h = 0, out_w = 0;
    ResizeMode mode = ResizeMode::bilinear;
    bool align_corners = false;
};
/// softmax 0x0B (44 bytes).
struct SoftmaxOp {
    MemoryRange in, out;
    int32_t inner_size = 0, outer_size = 0;
    float beta = 1;
};
/// transpose 0x0C (64 bytes).
struct TransposeOp {
    MemoryRange in, out;
    Dims4 in_shape{}, perm{};
};
/// strided_slice 0x0D (116 bytes); the masks are kept but ignored at run time.
struct StridedSliceOp {
    MemoryRange in, out;
    Dims4 in_shape{}, begin{}, end{}, strides{};
    int32_t begin_mask = 0, end_mask = 0, ellipsis_mask = 0, new_axis_mask = 0, shrink_axis_mask = 0;
};
/// unary 0x0E (36 bytes).
struct UnaryOp {
    MemoryRange in, out;
    UnaryOpKind op = UnaryOpKind::abs;
};
/// The requantisation fields of the quantized convolutions.
struct QuantizedConvParams {
    int32_t input_offset = 0, filter_offset = 0, output_mul = 0, output_shift = 0, output_offset = 0;
};
/// quantized_conv2d 0x0F: uint8 NCHW; i32 bias [OC] then u8 weights [OC][C/g][fh][fw].
struct QuantizedConv2DOp {
    MemoryRange in, out;
    Dims4 in_shape{};
    int32_t groups = 1, out_channels = 0;
    Window2D window;
    QuantizedConvParams q;
    std::vector<int32_t> bias;
    std::vector<uint8_t> weights;
};
/// quantized_matmul 0x10.
struct QuantizedMatMulOp {
    MemoryRange a, b, out;
    int32_t a_rows = 0, a_cols = 0, b_cols = 0;
    int32_t input_a_offset = 0, input_b_offset = 0, output_mul = 0, output_shift = 0, output_offset = 0;
    std::vector<int32_t> bias;
};
/// quantized_binary 0x11 (136 bytes).
struct QuantizedBinaryOp {
    MemoryRange a, b, out;
    BinaryOpKind op = BinaryOpKind::add;
    Dims4 a_shape{}, b_shape{}, out_shape{};
    int32_t a_offset = 0, a_mul = 0, a_shift = 0;
    int32_t b_offset = 0, b_mul = 0, b_shift = 0;
    int32_t output_offset = 0, output_mul = 0, output_shift = 0;
};
/// table_lookup1d 0x12 (48 bytes): the table range must hold 256 bytes.
struct TableLookup1DOp {
    MemoryRange in, table, out;
};
/// conv2d_transpose 0x13: weights [OC][IC/g][fh][fw]; the bias is parsed but never applied.
struct Conv2DTransposeOp {
    MemoryRange in, out;
    Dims4 in_shape{}, out_shape{};
    int32_t groups = 1;
    Window2D window;
    ValueRange fused_activation;
    std::vector<float> weights, bias;
};
/// nnil_unary_method 0x14: the program bytes (to the end of the body, padding included).
struct NnilUnaryMethodOp {
    MemoryRange in, out;
    std::vector<uint8_t> program;
    uint32_t steps = 0;  ///< instructions executed per element (up to and including ret)
    bool has_ret = false;
};
/// cpu_conv2d 0x1001: NHWC; weights [OC][fh][fw][C], bias [OC].
struct CpuConv2DOp {
    MemoryRange in, out;
    Dims4 in_shape{};  ///< N, H, W, C
    int32_t out_channels = 0;
    Window2D window;
    ValueRange fused_activation;
    std::vector<float> weights, bias;
};
/// cpu_depthwise_conv2d 0x1002: NHWC; weights [C][fh][fw], bias [C].
struct CpuDepthwiseConv2DOp {
    MemoryRange in, out;
    Dims4 in_shape{};
    Window2D window;
    ValueRange fused_activation;
    std::vector<float> weights, bias;
};
/// cpu_reduce_window2d 0x1003: reduce_window2d's layout, NHWC.
struct CpuReduceWindow2DOp : ReduceWindow2DOp {};
/// cpu_quantized_conv2d 0x1004: NHWC; u8 weights [OC][fh][fw][C] THEN i32 bias [OC].
struct CpuQuantizedConv2DOp {
    MemoryRange in, out;
    Dims4 in_shape{};
    int32_t out_channels = 0;
    Window2D window;
    QuantizedConvParams q;
    std::vector<uint8_t> weights;
    std::vector<int32_t> bias;
};
/// cpu_quantized_depthwise_conv2d 0x1005: NHWC; u8 weights [C][fh][fw] then i32 bias [C].
struct CpuQuantizedDepthwiseConv2DOp {
    MemoryRange in, out;
    Dims4 in_shape{};
    Window2D window;
    QuantizedConvParams q;
    std::vector<uint8_t> weights;
    std::vector<int32_t> bias;
};

using CpuOp = std::variant<BinaryOp, ConcatOp, Conv2DOp, DequantizeOp, MatMulOp, PadOp, QuantizeOp, ReduceOp,
                           ReduceWindow2DOp, MemoryCopyOp, ResizeImageOp, SoftmaxOp, TransposeOp, StridedSliceOp,
                           UnaryOp, QuantizedConv2DOp, QuantizedMatMulOp, QuantizedBinaryOp, TableLookup1DOp,
                           Conv2DTransposeOp, NnilUnaryMethodOp, CpuConv2DOp, CpuDepthwiseConv2DOp,
                           CpuReduceWindow2DOp, CpuQuantizedConv2DOp, CpuQuantizedDepthwiseConv2DOp>;

/// One parsed CPU node: its opcode (spec §9.2) and body.
struct CpuNode {
    uint32_t opcode = 0;
    CpuOp op;
};

/// True for the 26 CPU opcodes of §9.2 (0x00-0x14, 0x1001-0x1005); false for kpu_upload,
/// kpu_conv2d and undefined values.
bool is_cpu_opcode(uint32_t opcode);

/// Parse and fully validate the body of a CPU node (see the list at the top of this file).
/// `body`/`body_size`: the node's body bytes (padding included); `node_index`: reported as
/// the KmodelError's layer; `sizes`: the memories the ranges must fit in.
/// Throws KmodelError on any problem; never reads outside [body, body + body_size).
std::shared_ptr<const CpuNode> parse_cpu_node(uint32_t opcode, const uint8_t* body, uint64_t body_size,
                                              uint32_t node_index, const MemorySizes& sizes);

/// Ranges the node reads (inputs, tables), in field order.
std::vector<MemoryRange> node_inputs(const CpuNode& node);
/// Ranges the node writes (its out range).
std::vector<MemoryRange> node_outputs(const CpuNode& node);
/// Output shape, NCHW, where the op knows it (binary, conv2d, pad, reduce, pooling, resize,
/// transpose, strided_slice, matmul as {1,1,rows,cols}, softmax as {1,1,outer,inner}, ...);
/// {1,1,1,elements} for element-wise ops and for the NHWC cpu_* ops.
Shape output_shape(const CpuNode& node);
/// The element type the node writes (its out range's datatype).
DataType output_type(const CpuNode& node);
/// An upper bound of the node's element steps (elements, MACs, taps, bytes x instructions),
/// saturating at UINT64_MAX; what the fuzz target bounds a model's cost with.
uint64_t node_work(const CpuNode& node);

// ---- derived sizes the kernels and the cycle model share -------------------------------------

/// windowed output size (spec §9.3): (n + before + after - ((f - 1) d + 1) + s) / s with C
/// truncation, computed in 64 bits; 0 when not positive.
int64_t windowed_size(int64_t n, int64_t filter, int64_t stride, int64_t dilation, const Padding& pad);
/// Product of a validated shape's dimensions.
uint64_t shape_elements(const Dims4& s);
/// Elements binary / quantized_binary process: a's shape when a_shape == b_shape, else out_shape.
uint64_t binary_elements(const Dims4& a_shape, const Dims4& b_shape, const Dims4& out_shape);

}  // namespace kpusim::v4
