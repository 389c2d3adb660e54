#include "sim/functional_executor.h"

#include <cstring>
#include <stdexcept>
#include <type_traits>

#include "cpu_layers/cpu_layers.h"
#include "cpu_layers/v4/v4_kernels.h"
#include "kpu_core/kpu_batches.h"
#include "kpu_core/kpu_ram_layout.h"
#include "models/kmodel_v4_types.h"
#include "models/kmodel_error.h"

namespace kpusim {

std::vector<float> OutputTensor::as_floats() const {
    const uint64_t n = shape.elements();
    std::vector<float> v(n);
    if (n == 0) return v;  // an empty output: no copy (memcpy of a null pointer is UB)
    if (type == DataType::float32) {
        std::memcpy(v.data(), bytes.data(), n * 4);
    } else {
        for (uint64_t i = 0; i < n; ++i) v[i] = bytes[i];
    }
    return v;
}

void write_input(const Model& model, const std::vector<uint8_t>& input, const ExecutionMemory& mem) {
    const ModelInput& in = model.input;
    if (input.size() != in.bytes())
        throw InputError("model input needs " + std::to_string(in.bytes()) + " bytes (" +
                         to_string(in.shape) + " " + to_string(in.type) + "), got " +
                         std::to_string(input.size()));
    if (in.to_kpu_ram) {
        const uint64_t batch_bytes = uint64_t{in.shape.c} * in.shape.h * in.shape.w;
        const uint32_t rows = kpu::feature_map_rows(in.shape.w, in.shape.h, in.shape.c);
        for (uint32_t n = 0; n < in.shape.n; ++n)
            kpu::upload_dense(input.data() + n * batch_bytes, mem.kpu_ram, in.kpu_row + n * rows, in.shape.w,
                              in.shape.h, in.shape.c);
    } else if (!input.empty())
        std::memcpy(mem.main + in.main_offset, input.data(), input.size());
}

void download_outputs(const KpuConvOp& op, const uint8_t* kpu_ram, uint8_t* main) {
    const kpu::LayerArgument& a = op.arg;
    const uint64_t map_bytes = uint64_t{a.out_channels()} * a.out_height() * a.out_width();
    for (uint32_t n = 0; n < op.batches; ++n) {
        const kpu::LayerArgument b = kpu::batch_argument(a, n);
        kpu::download_dense(kpu_ram, b.image_dst_addr, a.out_width(), a.out_height(), a.out_channels(),
                            main + op.download_address + n * map_bytes);
    }
}

namespace {

v4::Memories v4_memories(const Model& model, const ExecutionMemory& mem) {
    v4::Memories m;
    m.constants = mem.constants ? mem.constants : model.file->data() + model.constants.offset;
    m.main = mem.main;
    m.kpu_ram = mem.kpu_ram;
    m.sizes.constants = model.constants.size;
    m.sizes.main = model.main_mem_usage;
    m.sizes.kpu = kpu::kKpuRamBytes;
    return m;
}

}  // namespace

void execute_layer(const Model& model, const Layer& layer, const ExecutionMemory& mem,
                   const kpu::KpuOptions& options) {
    std::visit(
        [&](const auto& op) {
            using T = std::decay_t<decltype(op)>;
            if constexpr (std::is_same_v<T, KpuConvOp>) {
                kpu::KpuLayerInputs in;
                in.weights = mem.blob(op.weights.offset);
                in.eight_bit = model.eight_bit;
                in.batchnorm = mem.blob(op.batchnorm.offset);
                in.activation = mem.blob(op.activation.offset);
                uint8_t* out = op.main_mem_out ? mem.main + op.main_mem_out_address : nullptr;
                for (uint32_t n = 0; n < op.batches; ++n) {
                    const kpu::LayerArgument arg = n == 0 ? op.arg : kpu::batch_argument(op.arg, n);
                    in.arg = &arg;
                    kpu::run_layer(in, mem.kpu_ram, out, options, layer.index);
                }
                if (op.download) download_outputs(op, mem.kpu_ram, mem.main);
            } else if constexpr (std::is_same_v<T, V4UploadOp>) {
                cpu::execute(op, mem.main, mem.kpu_ram);
            } else if constexpr (std::is_same_v<T, V4CpuOp>) {
                v4::execute(*op.node, v4_memories(model, mem));
            } else if constexpr (std::is_same_v<T, ResizeNearestOp>) {
                cpu::execute(op, layer.type_code == 23, mem.main);
            } else if constexpr (std::is_same_v<T, AddPaddingOp> || std::is_same_v<T, UploadOp>) {
                cpu::execute(op, mem.main, mem.kpu_ram);
            } else {
                cpu::execute(op, mem.main);
            }
        },
        layer.op);
}

std::vector<OutputTensor> read_outputs(const Model& model, const ExecutionMemory& mem) {
    std::vector<OutputTensor> outs;
    for (const ModelOutput& o : model.outputs) {
        OutputTensor t;
        t.shape = o.shape;
        t.type = o.type;
        const uint64_t bytes = o.shape.elements() * element_size(o.type);
        t.bytes.assign(mem.main + o.main_offset, mem.main + o.main_offset + bytes);
        outs.push_back(std::move(t));
    }
    return outs;
}

std::vector<OutputTensor> run_functional(const Model& model, const std::vector<uint8_t>& input,
                                         const kpu::KpuOptions& options) {
    FunctionalMemories memories;
    return run_functional(model, input, options, memories);
}

std::vector<OutputTensor> run_functional(const Model& model, const std::vector<uint8_t>& input,
                                         const kpu::KpuOptions& options, FunctionalMemories& memories) {
    memories.main.assign(uint64_t{model.main_mem_usage} + kMainMemorySlack, 0);
    memories.kpu_ram.assign(kpu::kKpuRamBytes, 0);
    const ExecutionMemory mem{model.file->data(), memories.main.data(), memories.kpu_ram.data(), 0};
    write_input(model, input, mem);
    for (const Layer& l : model.layers) execute_layer(model, l, mem, options);
    return read_outputs(model, mem);
}

}  // namespace kpusim
