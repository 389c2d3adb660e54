#include "cpu_layers/v4/v4_cpu_timing.h"

#include <cmath>
#include <type_traits>

namespace kpusim::v4 {

uint64_t cpu_node_cycles(const CpuNode& node, const cpu::CpuTimingParameters& v3, const V4CpuTimingParameters& v4) {
    const double work = std::visit(
        [&](const auto& o) -> double {
            using T = std::decay_t<decltype(o)>;
            const double w = static_cast<double>(node_work(node));
            if constexpr (std::is_same_v<T, DequantizeOp>) return w * v4.dequantize_per_element;
            else if constexpr (std::is_same_v<T, QuantizeOp>) return w * v4.quantize_per_element;
            else if constexpr (std::is_same_v<T, BinaryOp>)
                return w * (v3.add_per_element + (o.a_shape == o.b_shape ? 0.0 : v4.broadcast_per_element));
            else if constexpr (std::is_same_v<T, QuantizedBinaryOp>)
                return w * (v4.quantized_binary_per_element + (o.a_shape == o.b_shape ? 0.0 : v4.broadcast_per_element));
            else if constexpr (std::is_same_v<T, UnaryOp>) {
                const bool libm = o.op == UnaryOpKind::exp || o.op == UnaryOpKind::log || o.op == UnaryOpKind::sin ||
                                  o.op == UnaryOpKind::cos;
                return w * (libm ? v4.transcendental_per_element : v4.unary_per_element);
            } else if constexpr (std::is_same_v<T, TableLookup1DOp>) return w * v3.table_per_element;
            else if constexpr (std::is_same_v<T, MemoryCopyOp>) return w * 4 * v3.copy_per_byte;
            else if constexpr (std::is_same_v<T, ConcatOp>) return w * v3.copy_per_byte;
            else if constexpr (std::is_same_v<T, PadOp> || std::is_same_v<T, TransposeOp> ||
                               std::is_same_v<T, StridedSliceOp>)
                return w * v4.index_per_element;
            else if constexpr (std::is_same_v<T, ReduceOp>)
                return static_cast<double>(shape_elements(o.in_shape)) * v4.index_per_element +
                       (o.op == ReduceOpKind::mean ? static_cast<double>(o.out.size / 4) * v3.add_per_element : 0.0);
            else if constexpr (std::is_same_v<T, ReduceWindow2DOp> || std::is_same_v<T, CpuReduceWindow2DOp>)
                return w * v3.pool_per_tap;
            else if constexpr (std::is_same_v<T, SoftmaxOp>)
                return static_cast<double>(uint64_t(o.inner_size) * uint64_t(o.outer_size)) * v3.exp_per_element;
            else if constexpr (std::is_same_v<T, ResizeImageOp>)
                return w * (o.mode == ResizeMode::bilinear ? v4.resize_per_element : v4.index_per_element);
            else if constexpr (std::is_same_v<T, Conv2DOp> || std::is_same_v<T, MatMulOp> || std::is_same_v<T, CpuConv2DOp> ||
                               std::is_same_v<T, CpuDepthwiseConv2DOp>)
                return w * v3.fc_per_mac;
            else if constexpr (std::is_same_v<T, QuantizedConv2DOp> || std::is_same_v<T, QuantizedMatMulOp> ||
                               std::is_same_v<T, CpuQuantizedConv2DOp> ||
                               std::is_same_v<T, CpuQuantizedDepthwiseConv2DOp>)
                return w * v4.quantized_mac +
                       static_cast<double>(output_shape(node).elements()) * v4.requantize_per_output;
            else if constexpr (std::is_same_v<T, Conv2DTransposeOp>) {
                const double outs = static_cast<double>(shape_elements(o.out_shape));
                return outs * v3.add_per_element + (w - outs) * v4.scatter_per_tap;
            } else if constexpr (std::is_same_v<T, NnilUnaryMethodOp>) return w * v4.nnil_per_instruction;
            else static_assert(!sizeof(T*), "every V4 CPU op has a cost");
        },
        node.op);
    const double total = v3.layer_overhead + work;
    if (!(total < 9.0e18)) return UINT64_MAX;  // saturate (llround would overflow)
    return static_cast<uint64_t>(std::llround(total));
}

}  // namespace kpusim::v4
