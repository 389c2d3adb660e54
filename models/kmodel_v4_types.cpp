#include "models/kmodel_v4_types.h"

#include "models/kmodel_error.h"

namespace kpusim::v4 {

const char* to_string(MemoryType t) {
    switch (t) {
    case MemoryType::constant: return "const";
    case MemoryType::main: return "main";
    case MemoryType::kpu: return "kpu";
    }
    return "?";
}

MemoryRange read_memory_range(const ByteReader& r, uint64_t offset, std::optional<uint32_t> node,
                              const std::string& field, const MemorySizes& sizes) {
    const uint32_t memory = r.u32(offset, field + ".memory_type");
    const uint32_t type = r.u32(offset + 4, field + ".datatype");
    MemoryRange m;
    m.start = r.u32(offset + 8, field + ".start");
    m.size = r.u32(offset + 12, field + ".size");
    if (memory > 2)
        throw KmodelError(KmodelErrorKind::inconsistent,
                          "memory_type " + std::to_string(memory) + " is not 0 (const), 1 (main) or 2 (kpu)", node,
                          field + ".memory_type");
    if (type > 1)
        throw KmodelError(KmodelErrorKind::inconsistent,
                          "datatype " + std::to_string(type) + " is not 0 (float32) or 1 (uint8)", node,
                          field + ".datatype");
    m.memory = static_cast<MemoryType>(memory);
    m.type = type == 0 ? DataType::float32 : DataType::uint8;
    if (m.end() > sizes.of(m.memory))
        throw KmodelError(KmodelErrorKind::out_of_bounds,
                          "range " + std::to_string(m.start) + ".." + std::to_string(m.end()) + " lies outside the " +
                              to_string(m.memory) + " memory of " + std::to_string(sizes.of(m.memory)) + " bytes",
                          node, field);
    return m;
}

const char* opcode_name(uint32_t opcode) {
    switch (opcode) {
    case op_binary: return "binary";
    case op_concat: return "concat";
    case op_conv2d: return "conv2d";
    case op_dequantize: return "dequantize";
    case op_matmul: return "matmul";
    case op_pad: return "pad";
    case op_quantize: return "quantize";
    case op_reduce: return "reduce";
    case op_reduce_window2d: return "reduce_window2d";
    case op_memory_copy: return "memory_copy";
    case op_resize_image: return "resize_image";
    case op_softmax: return "softmax";
    case op_transpose: return "transpose";
    case op_strided_slice: return "strided_slice";
    case op_unary: return "unary";
    case op_quantized_conv2d: return "quantized_conv2d";
    case op_quantized_matmul: return "quantized_matmul";
    case op_quantized_binary: return "quantized_binary";
    case op_table_lookup1d: return "table_lookup1d";
    case op_conv2d_transpose: return "conv2d_transpose";
    case op_nnil_unary_method: return "nnil_unary_method";
    case op_cpu_conv2d: return "cpu_conv2d";
    case op_cpu_depthwise_conv2d: return "cpu_depthwise_conv2d";
    case op_cpu_reduce_window2d: return "cpu_reduce_window2d";
    case op_cpu_quantized_conv2d: return "cpu_quantized_conv2d";
    case op_cpu_quantized_depthwise_conv2d: return "cpu_quantized_depthwise_conv2d";
    case op_kpu_upload: return "kpu_upload";
    case op_kpu_conv2d: return "kpu_conv2d";
    default: return nullptr;
    }
}

}  // namespace kpusim::v4
