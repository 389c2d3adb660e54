// Types shared by the kmodel V4 reader (models/kmodel_v4_reader.*), the V4 CPU operations
// (models/kmodel_v4_cpu_ops.h, cpu_layers/v4/) and the platform that runs them
// (kmodel-spec.md §9, nncase 0.2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "models/byte_reader.h"
#include "models/layer_graph.h"

namespace kpusim::v4 {

/// Where a V4 memory range lives (spec §9.1 memory_range.memory_type).
enum class MemoryType : uint32_t {
    constant = 0,  ///< offset in the model's constant blob
    main = 1,      ///< offset in the main-memory working buffer (main_mem bytes)
    kpu = 2,       ///< byte offset in the 2 MiB KPU RAM
};
const char* to_string(MemoryType t);

/// A memory_range (16 bytes in the file): memory, element type, start and size in bytes.
/// An "empty" range is all zeros (constant, float32, 0, 0).
struct MemoryRange {
    MemoryType memory = MemoryType::constant;
    DataType type = DataType::float32;
    uint32_t start = 0;
    uint32_t size = 0;  ///< bytes
    uint64_t end() const { return uint64_t{start} + size; }
    bool operator==(const MemoryRange& o) const {
        return memory == o.memory && type == o.type && start == o.start && size == o.size;
    }
};

/// Sizes of the three memories a V4 model addresses (bytes).
struct MemorySizes {
    uint64_t constants = 0;  ///< the constant blob (header field `constants`)
    uint64_t main = 0;       ///< the main-memory buffer (header field `main_mem`)
    uint64_t kpu = 0;        ///< the KPU RAM (2 MiB)
    uint64_t of(MemoryType t) const {
        return t == MemoryType::constant ? constants : t == MemoryType::main ? main : kpu;
    }
};

/// Read the memory_range at byte `offset` of `r` (spec §9.1) and check it: memory type 0..2,
/// datatype 0..1, and the range inside its memory of `sizes` (end computed in 64 bits).
/// Throws KmodelError naming `node` and the field: truncated, inconsistent (field
/// `field`.memory_type or `field`.datatype), out_of_bounds (field `field`).
MemoryRange read_memory_range(const ByteReader& r, uint64_t offset, std::optional<uint32_t> node,
                              const std::string& field, const MemorySizes& sizes);

/// The memories a V4 node runs on. `constants` is read-only.
struct Memories {
    const uint8_t* constants = nullptr;
    uint8_t* main = nullptr;
    uint8_t* kpu_ram = nullptr;
    MemorySizes sizes;
};

/// nncase 0.2 runtime opcodes (spec §9.2, runtime_op.def).
enum Opcode : uint32_t {
    op_binary = 0x00,
    op_concat = 0x01,
    op_conv2d = 0x02,
    op_dequantize = 0x03,
    op_matmul = 0x04,
    op_pad = 0x05,
    op_quantize = 0x06,
    op_reduce = 0x07,
    op_reduce_window2d = 0x08,
    op_memory_copy = 0x09,
    op_resize_image = 0x0A,
    op_softmax = 0x0B,
    op_transpose = 0x0C,
    op_strided_slice = 0x0D,
    op_unary = 0x0E,
    op_quantized_conv2d = 0x0F,
    op_quantized_matmul = 0x10,
    op_quantized_binary = 0x11,
    op_table_lookup1d = 0x12,
    op_conv2d_transpose = 0x13,
    op_nnil_unary_method = 0x14,
    op_cpu_conv2d = 0x1001,
    op_cpu_depthwise_conv2d = 0x1002,
    op_cpu_reduce_window2d = 0x1003,
    op_cpu_quantized_conv2d = 0x1004,
    op_cpu_quantized_depthwise_conv2d = 0x1005,
    op_kpu_upload = 0x2001,
    op_kpu_conv2d = 0x2002,
};

/// The opcode's name as the spec spells it ("dequantize", "kpu_conv2d", ...), or nullptr for
/// a value nncase 0.2 does not define.
const char* opcode_name(uint32_t opcode);

}  // namespace kpusim::v4
