// The V3 CPU layers (kmodel-spec.md §7.3), computed as the K210 firmware's compiled code
// computes them (spec §15: fused multiply-adds where GCC fuses them, newlib's expf).
//
// Every function takes the main-memory working buffer `main` (main_mem_usage bytes plus
// kMainMemorySlack); the op's offsets index into it. The reader has checked every range
// with overflow-checked sizes and bounded every dimension (models/size_limits.h), so each
// call costs bounded time; layers whose loops nest over dimensions do nothing when one is 0.
#pragma once

#include <cstdint>

#include "models/layer_graph.h"

// Each definition carries the full rule (in its .cpp: elementwise, normalization, pooling,
// quantization, fully_connected, data_movement). In short: every layer reads and writes
// main memory in the SDK loop's order (so overlapping in/out ranges behave as on the chip);
// float results that are NaN are stored as the RISC-V canonical NaN 0x7fc00000; pure
// copies keep the bits. Field values the reader lets through never cause host UB.

namespace kpusim::cpu {

/// ADD (1): float a + b per element.
void execute(const AddOp& op, uint8_t* main);
/// QUANTIZED_ADD (2): uint8 integer add with KCS rounding; processes count rounded up to
/// a multiple of 8 (touches up to 7 bytes past each range, as the SDK).
void execute(const QuantizedAddOp& op, uint8_t* main);
/// GLOBAL_AVERAGE_POOL2D (5): float per-channel sum times fl(1 / kernel_size).
void execute(const GlobalAveragePoolOp& op, uint8_t* main);
/// QUANTIZED_MAX_POOL2D (8): uint8 max over in-bounds taps, starting from 0.
void execute(const QuantizedMaxPoolOp& op, uint8_t* main);
/// AVERAGE_POOL2D (9): float mean over in-bounds taps; `act` ignored.
void execute(const AveragePoolOp& op, uint8_t* main);
/// QUANTIZE (11): float -> uint8, round half away from zero, saturating (NaN -> 255).
void execute(const QuantizeOp& op, uint8_t* main);
/// DEQUANTIZE (12): uint8 -> float, fma(q, scale, bias).
void execute(const DequantizeOp& op, uint8_t* main);
/// REQUANTIZE (13): uint8 table lookup.
void execute(const RequantizeOp& op, uint8_t* main);
/// L2_NORMALIZATION (14): x / sqrt(max(sum of squares (fma), 1e-10)).
void execute(const L2NormalizationOp& op, uint8_t* main);
/// SOFTMAX (15): with the SDK's FLT_MIN starting maximum and newlib's expf.
void execute(const SoftmaxOp& op, uint8_t* main);
/// CONCAT (16, 17): byte ranges copied back to back.
void execute(const ConcatOp& op, uint8_t* main);
/// FULLY_CONNECTED (18): float matrix-vector product in the chip's summation order, + bias,
/// then ReLU / ReLU6.
void execute(const FullyConnectedOp& op, uint8_t* main);
/// TENSORFLOW_FLATTEN (20): float CHW -> HWC; QUANTIZED_TENSORFLOW_FLATTEN (21, op.type
/// uint8): the same reorder of bytes, as Maix-EMC's modified kpu.c runs it (spec §17).
void execute(const FlattenOp& op, uint8_t* main);
/// RESIZE_NEAREST_NEIGHBOR (22/23): source index min(floor(o * (float)in/out), in - 1).
/// `quantized`: layer type 23 (uint8 elements) rather than 22 (float32).
void execute(const ResizeNearestOp& op, bool quantized, uint8_t* main);
/// CHANNELWISE_DEQUANTIZE (24): fma(q, scale_c, bias_c) per channel.
void execute(const ChannelwiseDequantizeOp& op, uint8_t* main);
/// LOGISTIC (25): 1 / (1 + expf(-x)) with newlib's expf.
void execute(const LogisticOp& op, uint8_t* main);
/// K210_ADD_PADDING: writes into the 2 MiB KPU RAM, pixel (0,0) of each 4x4 channel only.
void execute(const AddPaddingOp& op, const uint8_t* main, uint8_t* kpu_ram);
/// K210_REMOVE_PADDING: out[c] = in[16 c].
void execute(const RemovePaddingOp& op, uint8_t* main);
/// K210_UPLOAD: dense CHW uint8 from main memory into the KPU RAM layout.
void execute(const UploadOp& op, const uint8_t* main, uint8_t* kpu_ram);
/// V4 kpu_upload (spec §9.4): dense NCHW uint8 from main memory into the KPU RAM layout at
/// byte offset op.kpu_offset, batch n at kpu_offset + n x rows(W, H, C) x 64. Slot bytes past
/// W keep their contents. The reader checked that every batch fits the KPU RAM.
void execute(const V4UploadOp& op, const uint8_t* main, uint8_t* kpu_ram);

}  // namespace kpusim::cpu
