#include "models/kmodel_v4_types.h"

namespace kpusim::v4 {

const char* to_string(MemoryType t) {
    switch (t) {
    case MemoryType::constant: return "const";
    case MemoryType::main: return "main";
    case MemoryType::kpu: return "kpu";
    }
    return "?";
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
