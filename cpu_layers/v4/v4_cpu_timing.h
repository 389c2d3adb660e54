// Cycle-approximate timing of the kmodel V4 (nncase 0.2) CPU nodes, in CPU clock cycles, like
// the V3 model of cpu_layers/cpu_timing.h: the per-node dispatch (the V3 `layer_overhead`) plus
// a cost per unit of the node's work (elements, multiply-adds, window taps, bytes, nnil
// instructions). Where the nncase 0.2 kernel does what a V3 layer does, the V3 constant is reused
// (copy_per_byte, fc_per_mac, pool_per_tap, exp_per_element, table_per_element,
// add_per_element, layer_overhead); the new constants are in sim/calibration.h (kV4CpuTiming)
// with their provenance.
//
// Check against a measurement: kendryte/nncase#95 (V4 runtime on the chip) printed
// "Dequantize: 9.357 ms" after a K210 conv whose output is, as kmodel-spec §11 reads that issue,
// 160 x 120 x 16 = 307,200 uint8 values. At CPU 400 MHz that is 12.18 cycles per element,
// which is where kV4CpuTiming.dequantize_per_element comes from ([fit], one point; the
// element count is an inference, the issue does not print the shape). The V3 constant
// (17.91 cycles, nncase#77, 9,000 elements) would predict 13.76 ms, 47 % above the V4
// measurement: the V4 kernel does one fused multiply-add per element with a hoisted
// reciprocal. No other CPU opcode of nncase#95 or #96 was measured; every other V4 constant
// is an estimate from the kernel's code path.
#pragma once

#include <cstdint>

#include "cpu_layers/cpu_timing.h"
#include "models/kmodel_v4_cpu_ops.h"

namespace kpusim::v4 {

/// Per-unit costs of the V4 CPU kernels that have no V3 counterpart (CPU cycles).
struct V4CpuTimingParameters {
    double dequantize_per_element;         ///< dequantize: load, fmadd, store
    double quantize_per_element;           ///< quantize: fmadd, fcvt, clamp, byte store
    double broadcast_per_element;          ///< extra 4-D index arithmetic of a broadcasting binary
    double quantized_binary_per_element;   ///< quantized_binary: three RHU, the op, clamp
    double quantized_mac;                  ///< quantized conv / matmul: two offsets, mul, add
    double requantize_per_output;          ///< quantized conv / matmul: RHU, offset, clamp, store
    double unary_per_element;              ///< abs, ceil, floor, neg, square, rsqrt
    double transcendental_per_element;     ///< exp, log, sin, cos (a libm call)
    double index_per_element;              ///< pad, transpose, strided_slice, reduce: 4-D offsets
    double resize_per_element;             ///< resize_image bilinear (4 loads, 5 fused ops)
    double nnil_per_instruction;           ///< one nnil bytecode step (dispatch + stack)
    double scatter_per_tap;                ///< conv2d_transpose: load, fmadd, store per tap
    /// kpu_conv2d's main-memory output: the CPU's kpu_download, per output byte (it reads the
    /// KPU RAM layout and stores dense bytes; see cpu::download_cycles).
    double download_per_byte;
};

/// CPU cycles of one V4 CPU node: llround(v3.layer_overhead + sum of work x per-unit cost):
///   dequantize            in.size x dequantize_per_element
///   quantize              in.size/4 x quantize_per_element
///   binary                n x add_per_element (+ n x broadcast_per_element when broadcasting)
///   quantized_binary      n x quantized_binary_per_element (+ broadcast)
///   unary                 n x unary_per_element or transcendental_per_element (exp, log, sin, cos)
///   table_lookup1d        in.size x table_per_element
///   memory_copy, concat   bytes copied x copy_per_byte
///   pad, transpose, strided_slice   output elements x index_per_element
///   reduce                in elements x index_per_element + (mean) output floats x add_per_element
///   reduce_window2d (+cpu) output x taps x pool_per_tap
///   softmax               elements x exp_per_element
///   resize_image          outputs x resize_per_element (bilinear) or index_per_element (nearest)
///   conv2d, matmul, cpu_conv2d, cpu_depthwise_conv2d   MACs (output x taps) x fc_per_mac
///   quantized_conv2d / matmul / cpu_quantized_*       MACs x quantized_mac + outputs x requantize_per_output
///   conv2d_transpose      output elements x add_per_element (fill + clamp) + scatters x scatter_per_tap
///   nnil_unary_method     elements x program steps x nnil_per_instruction
/// MACs and taps count every tap of the window (an upper bound: padding taps are skipped on the
/// chip, which this model does not discount).
uint64_t cpu_node_cycles(const CpuNode& node, const cpu::CpuTimingParameters& v3, const V4CpuTimingParameters& v4);

}  // namespace kpusim::v4
