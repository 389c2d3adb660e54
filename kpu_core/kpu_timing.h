// Cycle-approximate timing of one KPU layer, from its layer argument alone.
//
// The KPU has 64 pixel lanes x 9 taps (576 MAC/cycle at best, vendor figure quoted in
// kmodel-spec.md §11): one cycle processes one 64-byte KPU RAM row segment of one input
// channel group against one output channel's kernel, whatever the kernel size. So a layer
// costs about one cycle per "row-op" (row_len x H x ceil(IC / groups) x OC for a normal
// layer; row_len x H x ceil(C / groups) for a depthwise one), plus the costs below. The
// constants come from a fit to a published per-layer trace (see sim/calibration.h and
// docs/calibration.md); this file only holds the formula.
#pragma once

#include <cstdint>

#include "kpu_core/layer_argument.h"

namespace kpusim::kpu {

/// The constants of the KPU layer formula (values and their provenance: sim/calibration.h).
struct KpuTimingParameters {
    double cycles_per_row_op;       ///< compute: per 64-lane row x output channel
    double cycles_per_output_row;   ///< BN / activation / pool / write-back, per output KPU RAM row
    double cycles_per_weight_byte;  ///< weight fetch from general SRAM (not overlapped)
    double cycles_per_output_byte;  ///< streaming the output to main memory (fifo_data_out + DMA)
    double layer_overhead;          ///< per normal conv layer: dispatch, interrupt, fills (cycles)
    double depthwise_layer_overhead;///< per depthwise layer (cycles)
};

/// The terms of one layer's time, in KPU clock cycles.
struct KpuLayerCycles {
    uint64_t row_ops = 0;       ///< the count the compute term is built from
    uint64_t output_rows = 0;   ///< KPU RAM rows written back
    uint64_t weight_bytes = 0;
    uint64_t output_bytes = 0;  ///< bytes streamed to main memory (0 when none)
    uint64_t compute = 0, write_back = 0, weight_fetch = 0, main_out = 0, overhead = 0;
    uint64_t total = 0;         ///< sum of the five terms
};

/// Row-ops of a layer (see the file comment). Depends only on the input width, height,
/// channel counts and the depthwise flag.
uint64_t row_ops(const LayerArgument& arg);

/// Cycles of one KPU layer. `eight_bit`: the model's weight width (16-bit doubles the weight
/// bytes; the 16-bit mode is not calibrated). `main_mem_out`: the layer streams its output
/// to main memory (V3 K210_CONV flags bit 0).
KpuLayerCycles kpu_layer_cycles(const LayerArgument& arg, bool eight_bit, bool main_mem_out,
                                const KpuTimingParameters& p);

}  // namespace kpusim::kpu
