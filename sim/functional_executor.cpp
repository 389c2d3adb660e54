#include "sim/functional_executor.h"

#include <cstring>
#include <stdexcept>
#include <type_traits>

#include "cpu_layers/cpu_layers.h"
#include "kpu_core/kpu_ram_layout.h"
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
    if (in.to_kpu_ram)
        kpu::upload_dense(input.data(), mem.kpu_ram, in.kpu_row, in.shape.w, in.shape.h, in.shape.c);
    else if (!input.empty())
        std::memcpy(mem.main + in.main_offset, input.data(), input.size());
}

void execute_layer(const Model& model, const Layer& layer, const ExecutionMemory& mem,
                   const kpu::KpuOptions& options) {
    std::visit(
        [&](const auto& op) {
            using T = std::decay_t<decltype(op)>;
            if constexpr (std::is_same_v<T, KpuConvOp>) {
                kpu::KpuLayerInputs in;
                in.arg = &op.arg;
                in.weights = mem.blob(op.weights.offset);
                in.eight_bit = model.eight_bit;
                in.batchnorm = mem.blob(op.batchnorm.offset);
                in.activation = mem.blob(op.activation.offset);
                uint8_t* out = op.main_mem_out ? mem.main + op.main_mem_out_address : nullptr;
                kpu::run_layer(in, mem.kpu_ram, out, options, layer.index);
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
    std::vector<uint8_t> main(uint64_t{model.main_mem_usage} + kMainMemorySlack, 0);
    std::vector<uint8_t> kpu_ram(kpu::kKpuRamBytes, 0);
    const ExecutionMemory mem{model.file->data(), main.data(), kpu_ram.data(), 0};
    write_input(model, input, mem);
    for (const Layer& l : model.layers) execute_layer(model, l, mem, options);
    return read_outputs(model, mem);
}

}  // namespace kpusim
