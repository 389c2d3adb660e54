#include "cpu_layers/cpu_timing.h"

#include <cmath>
#include <type_traits>

#include "cpu_layers/v4/v4_cpu_timing.h"
#include "models/kmodel_v4_cpu_ops.h"

namespace kpusim::cpu {

namespace {

struct Cost {
    uint64_t work;
    double per_unit;
};

Cost cost(const Layer& layer, const CpuTimingParameters& p) {
    return std::visit(
        [&](const auto& op) -> Cost {
            using T = std::decay_t<decltype(op)>;
            if constexpr (std::is_same_v<T, KpuConvOp>) return {0, 0};
            else if constexpr (std::is_same_v<T, DequantizeOp>) return {op.count, p.dequantize_per_element};
            else if constexpr (std::is_same_v<T, ChannelwiseDequantizeOp>)
                return {uint64_t{op.channels} * op.channel_size, p.dequantize_per_element};
            else if constexpr (std::is_same_v<T, QuantizeOp>) return {op.count, p.quantize_per_element};
            else if constexpr (std::is_same_v<T, RequantizeOp>) return {op.count, p.table_per_element};
            else if constexpr (std::is_same_v<T, AddOp>) return {op.count, p.add_per_element};
            else if constexpr (std::is_same_v<T, QuantizedAddOp>) return {op.count, p.quantized_add_per_element};
            else if constexpr (std::is_same_v<T, GlobalAveragePoolOp>)
                return {uint64_t{op.kernel_size} * op.channels, p.pool_per_tap};
            else if constexpr (std::is_same_v<T, QuantizedMaxPoolOp> || std::is_same_v<T, AveragePoolOp>)
                return {uint64_t{op.window.out_w} * op.window.out_h * op.window.out_c * op.window.kernel_w *
                            op.window.kernel_h,
                        p.pool_per_tap};
            else if constexpr (std::is_same_v<T, SoftmaxOp> || std::is_same_v<T, LogisticOp>)
                return {op.channels, p.exp_per_element};
            else if constexpr (std::is_same_v<T, L2NormalizationOp>) return {op.channels, p.l2_norm_per_element};
            else if constexpr (std::is_same_v<T, FullyConnectedOp>)
                return {uint64_t{op.in_channels} * op.out_channels, p.fc_per_mac};
            else if constexpr (std::is_same_v<T, ConcatOp>) {
                uint64_t bytes = 0;
                for (const auto& [start, size] : op.inputs) bytes += size;
                return {bytes, p.copy_per_byte};
            } else if constexpr (std::is_same_v<T, FlattenOp>)
                return {uint64_t{element_size(op.type)} * op.width * op.height * op.channels, p.copy_per_byte};
            else if constexpr (std::is_same_v<T, ResizeNearestOp>)
                return {uint64_t{op.out_w} * op.out_h * op.channels * (layer.type_code == 22 ? 4 : 1),
                        p.copy_per_byte};
            else if constexpr (std::is_same_v<T, AddPaddingOp> || std::is_same_v<T, RemovePaddingOp>)
                return {op.channels, p.copy_per_byte};
            else if constexpr (std::is_same_v<T, UploadOp>)
                return {uint64_t{op.width} * op.height * op.channels, p.upload_per_byte};
            else if constexpr (std::is_same_v<T, V4UploadOp>)
                return {op.shape.elements(), p.upload_per_byte};
            else if constexpr (std::is_same_v<T, V4CpuOp>)
                return {v4::node_work(*op.node), 0};  // timed by v4::cpu_node_cycles
            else
                static_assert(!sizeof(T*), "every layer op has a CPU cost");
        },
        layer.op);
}

}  // namespace

uint64_t cpu_layer_work(const Layer& layer) { return cost(layer, {}).work; }

uint64_t cpu_layer_cycles(const Layer& layer, const CpuTimingParameters& p, const v4::V4CpuTimingParameters& v4) {
    if (layer.engine() == Engine::kpu) return 0;
    if (const auto* node = std::get_if<V4CpuOp>(&layer.op)) return v4::cpu_node_cycles(*node->node, p, v4);
    const Cost c = cost(layer, p);
    return static_cast<uint64_t>(std::llround(p.layer_overhead + c.per_unit * static_cast<double>(c.work)));
}

uint64_t download_cycles(uint64_t bytes, const v4::V4CpuTimingParameters& v4) {
    return static_cast<uint64_t>(std::llround(v4.download_per_byte * static_cast<double>(bytes)));
}

uint64_t input_upload_cycles(const ModelInput& in, const CpuTimingParameters& p) {
    const double bytes = static_cast<double>(in.bytes());
    double per_byte = p.copy_per_byte;
    if (in.to_kpu_ram) per_byte = in.shape.w % 64 == 0 ? p.dma_per_byte : p.upload_per_byte;
    return static_cast<uint64_t>(std::llround(per_byte * bytes));
}

}  // namespace kpusim::cpu
