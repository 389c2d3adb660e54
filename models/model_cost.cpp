#include "models/model_cost.h"

#include <algorithm>
#include <limits>
#include <type_traits>
#include <variant>

#include "models/kmodel_v4_cpu_ops.h"

namespace kpusim {

namespace {

constexpr uint64_t kSaturated = std::numeric_limits<uint64_t>::max();

uint64_t add(uint64_t a, uint64_t b) { return a > kSaturated - b ? kSaturated : a + b; }
uint64_t mul(uint64_t a, uint64_t b) {
    uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? kSaturated : r;
}
uint64_t at_least_1(uint64_t v) { return std::max<uint64_t>(v, 1); }
uint64_t volume(uint64_t a, uint64_t b, uint64_t c) {
    return mul(mul(at_least_1(a), at_least_1(b)), at_least_1(c));
}

uint64_t pool_work(const PoolWindow& w) {
    const uint64_t taps = mul(std::min<uint64_t>(w.kernel_h, at_least_1(w.in_h)),
                              std::min<uint64_t>(w.kernel_w, at_least_1(w.in_w)));
    return mul(volume(w.out_c, w.out_h, w.out_w), at_least_1(taps));
}

uint64_t layer_work(const LayerOp& op) {
    return std::visit(
        [](const auto& o) -> uint64_t {
            using T = std::decay_t<decltype(o)>;
            if constexpr (std::is_same_v<T, KpuConvOp>) {
                const auto& a = o.arg;
                return mul(at_least_1(o.batches),
                           add(a.macs(), add(volume(a.in_channels(), a.in_height(), a.in_width()),
                                             volume(a.out_channels(), a.out_height(), a.out_width()))));
            } else if constexpr (std::is_same_v<T, AddOp> || std::is_same_v<T, QuantizedAddOp>) {
                return mul(3, at_least_1(o.count) + 8);
            } else if constexpr (std::is_same_v<T, GlobalAveragePoolOp>) {
                return add(volume(o.channels, o.kernel_size, 1), o.channels);
            } else if constexpr (std::is_same_v<T, QuantizedMaxPoolOp> ||
                                 std::is_same_v<T, AveragePoolOp>) {
                return pool_work(o.window);
            } else if constexpr (std::is_same_v<T, QuantizeOp> || std::is_same_v<T, DequantizeOp> ||
                                 std::is_same_v<T, RequantizeOp>) {
                return mul(2, at_least_1(o.count));
            } else if constexpr (std::is_same_v<T, L2NormalizationOp> || std::is_same_v<T, SoftmaxOp> ||
                                 std::is_same_v<T, LogisticOp>) {
                return mul(4, at_least_1(o.channels));
            } else if constexpr (std::is_same_v<T, ConcatOp>) {
                uint64_t total = 1;
                for (const auto& [start, size] : o.inputs) total = add(total, add(size, 1));
                return mul(2, total);
            } else if constexpr (std::is_same_v<T, FullyConnectedOp>) {
                return add(mul(at_least_1(o.in_channels), at_least_1(o.out_channels)),
                           mul(2, at_least_1(o.out_channels)));
            } else if constexpr (std::is_same_v<T, FlattenOp>) {
                return mul(2, volume(o.channels, o.height, o.width));
            } else if constexpr (std::is_same_v<T, ResizeNearestOp>) {
                return mul(2, volume(o.channels, o.out_h, o.out_w));
            } else if constexpr (std::is_same_v<T, ChannelwiseDequantizeOp>) {
                return mul(2, volume(o.channels, o.channel_size, 1));
            } else if constexpr (std::is_same_v<T, AddPaddingOp> ||
                                 std::is_same_v<T, RemovePaddingOp>) {
                return mul(2, at_least_1(o.channels));
            } else if constexpr (std::is_same_v<T, UploadOp>) {
                return mul(2, volume(o.channels, o.height, o.width));
            } else if constexpr (std::is_same_v<T, V4UploadOp>) {
                return mul(2, at_least_1(o.shape.elements()));
            } else if constexpr (std::is_same_v<T, V4CpuOp>) {
                return at_least_1(v4::node_work(*o.node));
            } else {
                static_assert(!sizeof(T*), "every layer op needs a cost");
            }
        },
        op);
}

}  // namespace

uint64_t functional_work(const Model& model) {
    uint64_t work = at_least_1(model.input.shape.elements());
    for (const Layer& l : model.layers) work = add(work, layer_work(l.op));
    for (const ModelOutput& o : model.outputs) work = add(work, at_least_1(o.shape.elements()));
    return work;
}

}  // namespace kpusim
