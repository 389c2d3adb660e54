// The functional core: runs a Model's layers in order on plain memories, bit-exactly,
// with no notion of time. The SystemC SoC drives the same per-layer entry point.
#pragma once

#include <cstdint>
#include <vector>

#include "kpu_core/kpu_layer.h"
#include "models/layer_graph.h"

namespace kpusim {

/// One output tensor of a run, in its own dtype (float32 for dequantized outputs).
struct OutputTensor {
    Shape shape;
    DataType type = DataType::float32;
    std::vector<uint8_t> bytes;  ///< raw little-endian elements, shape.elements() x size
    /// The elements as floats (uint8 values converted exactly).
    std::vector<float> as_floats() const;
};

/// Memories a model runs on: the main-memory working buffer and the 2 MiB KPU RAM.
/// `body` holds the model bytes from file offset `body_origin` on: the whole file in RAM
/// mode (origin 0), or the batch of layer bodies a flash buffer holds.
struct ExecutionMemory {
    const uint8_t* body = nullptr;  ///< model bytes; blob FileSpans index into it
    uint8_t* main = nullptr;        ///< main_mem_usage bytes plus kMainMemorySlack
    uint8_t* kpu_ram = nullptr;     ///< kpu::kKpuRamBytes bytes
    uint64_t body_origin = 0;       ///< file offset of body[0]
    /// V4: the constant blob (Model::constants.size bytes) where the run keeps it: in the model
    /// body (RAM mode) or in the flash runner's resident header copy. Null for V3.
    const uint8_t* constants = nullptr;
    /// Where the blob at file offset `offset` is in memory.
    const uint8_t* blob(uint32_t offset) const { return body + (offset - body_origin); }
};

/// Bytes allocated past main_mem_usage so that the V3 runtime's documented overruns
/// (QUANTIZED_ADD rounds its count up to a multiple of 8) stay inside the buffer.
inline constexpr uint32_t kMainMemorySlack = 8;

/// Write the model input into memory as the runtime does (V3: spec §7.4 step 3; V4: §9.1
/// "Running"): dense CHW uint8 converted into the KPU RAM layout (V4: batch after batch), or
/// the bytes copied to main memory.
/// `input` must hold exactly model.input.bytes() bytes; throws InputError otherwise.
void write_input(const Model& model, const std::vector<uint8_t>& input, const ExecutionMemory& mem);

/// Execute layer `layer` of `model` on `mem`. Throws std::runtime_error naming the layer on
/// a run-time fault (an activation table with no segment for a value).
void execute_layer(const Model& model, const Layer& layer, const ExecutionMemory& mem,
                   const kpu::KpuOptions& options);

/// V4 kpu_download (spec §9.4): every batch's output map of `op` out of the KPU RAM layout into
/// main memory at op.download_address, dense C x H x W, batch after batch.
void download_outputs(const KpuConvOp& op, const uint8_t* kpu_ram, uint8_t* main);

/// Read the model outputs out of main memory.
std::vector<OutputTensor> read_outputs(const Model& model, const ExecutionMemory& mem);

/// Convenience: allocate zeroed memories, write the input, run every layer, read the outputs.
std::vector<OutputTensor> run_functional(const Model& model, const std::vector<uint8_t>& input,
                                         const kpu::KpuOptions& options = {});

/// The memories of run_functional() kept from one run to the next (a dataset worker keeps
/// one): the main-memory buffer and the 2 MiB KPU RAM keep their capacity, so later runs
/// allocate and page-fault nothing. Not shared between threads.
struct FunctionalMemories {
    std::vector<uint8_t> main, kpu_ram;
};

/// run_functional() on `memories`, which it zeroes first: the outputs are those of a run on
/// fresh memories.
std::vector<OutputTensor> run_functional(const Model& model, const std::vector<uint8_t>& input,
                                         const kpu::KpuOptions& options, FunctionalMemories& memories);

}  // namespace kpusim
