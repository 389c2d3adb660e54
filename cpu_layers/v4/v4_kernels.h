// The nncase 0.2 (kmodel V4) CPU kernels as the K210 runs them (kmodel-spec.md §9.3, §9.5, §16):
// the `__riscv` variants of the SDK's lib/nncase/v0 kernels, to the bit.
//
// Chip rules applied (§16, which wins over §9.5 and the desktop formulas):
//   - conv2d, matmul, conv2d_transpose: fused multiply-adds (std::fma), accumulator starting at
//     the bias (conv2d_transpose: no bias at all, zero-filled output); padding taps skipped;
//   - min / max / clamp: RISC-V fmin.s / fmax.s (a NaN operand gives the other operand, two NaNs
//     the canonical NaN, fmax(-0, +0) = +0, fmin(-0, +0) = -0); clamp = fmin(fmax(v, lo), hi);
//   - every NaN an arithmetic operation produces is stored as 0x7fc00000; abs and neg are sign
//     operations and copies keep payloads;
//   - dequantize: s = 1/scale, z = -zero_point * s, out = fma(q, s, z);
//   - quantize: t = fma(x, scale, zero_point); pairs round half to even, an odd last element
//     half away from zero; saturating to int32 (NaN -> INT32_MAX), then clamped to 0..255;
//   - softmax: fmax chain from the row's first element, e = newlib expf((x - max) * beta), sequential sum,
//     out = e * (1/sum); reduce mean multiplies every float of the output range by
//     out_count / in_count; reduce_window2d mean divides by the in-bounds tap count;
//   - resize_image bilinear: §16's reassociated form; uint8 results truncate (fcvt.wu.s rtz,
//     low byte kept); nearest: min(floor(o * (in / out)), in - 1);
//   - integer kernels: RHU on int64 (round half up) with the shift taken as a byte; shift
//     amounts of 64 and more behave as the RV64 shifter does (amount mod 64; §16 does not say,
//     no real model gets there); int32 accumulators and sums wrap; quantized_binary division
//     (a + b/2) / b truncating, x / 0 = -1 and INT32_MIN / -1 = INT32_MIN (RISC-V divw);
//   - element counts: dequantize, quantize, unary, nnil, memory_copy, table_lookup1d from the
//     input range's size; binary and quantized_binary from a's shape when a and b have the same
//     shape, else from the output shape.
// NOT modelled by §16 (no model uses them): unary / nnil log, sin, cos are std::log / std::sin /
// std::cos of the float on the host; ceil and floor are exact anyway. The NHWC cpu_* ops
// (target-0 models only) are not covered by §16 either: they use the same fma accumulation as
// conv2d (an assumption) in the loop order of nncase's cpu kernels (oy, ox, oc, ky, kx, ic).
//
// Overlapping ranges: every kernel loads and stores each element from and to the memories
// directly, in the loop order of the C++ kernel (outputs written in output order, softmax's
// three passes, reduce's fill-then-fold, conv2d_transpose's fill-scatter-clamp), so an in-place or overlapping node gives what the chip gives as
// long as that loop order is the chip's. transpose walks the input in row-major order and
// scatters (an assumption: nncase versions differ in this loop, which only matters when in and
// out overlap, and no compiler output transposes in place). memory_copy moves the words with memmove (what
// std::copy of floats compiles to), so an overlapping copy gives the source's bytes.
//
// Errors: execute() re-checks that every range of the node lies in `mem` (sizes and non-null
// pointers) and throws std::runtime_error naming the opcode otherwise; parse_cpu_node has
// already checked every element access against the ranges, so nothing else can fail.
#pragma once

#include "models/kmodel_v4_cpu_ops.h"

namespace kpusim::v4 {

/// Run one CPU node on `mem` (chip-exact, see above). `mem.sizes` must cover the node's ranges.
void execute(const CpuNode& node, const Memories& mem);

}  // namespace kpusim::v4
