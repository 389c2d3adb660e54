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
    // 16-bit weights (eight_bit_mode 0) have their own constants, fitted on C3 (timing.md
    // Part B): compute per row-op plus a cost per pass (one input channel group against one
    // output channel); write-back as 8-bit (cycles_per_output_row: C3 cannot separate it, its
    // output rows are proportional to its row-ops); the weight fetch overlaps compute and
    // write-back, so only the part of it longer than them adds time (the floor of small images).
    double w16_cycles_per_row_op;      ///< 16-bit: per 64-lane row x output channel
    double w16_cycles_per_pass;        ///< 16-bit: per (input channel group, output channel) pass
    double w16_cycles_per_weight_byte; ///< 16-bit: weight fetch, overlapped with the compute
    double w16_layer_overhead;         ///< 16-bit: per layer (cycles)
};

/// The terms of one layer's time, in KPU clock cycles.
struct KpuLayerCycles {
    uint64_t row_ops = 0;       ///< the count the compute term is built from
    uint64_t passes = 0;        ///< (input channel group, output channel) passes (depthwise: groups)
    uint64_t output_rows = 0;   ///< KPU RAM rows written back
    uint64_t weight_bytes = 0;
    uint64_t output_bytes = 0;  ///< bytes streamed to main memory (0 when none)
    /// The five terms. 16-bit: weight_fetch is only the part of the fetch that the compute
    /// and write-back do not hide, max(0, fetch - compute - write_back).
    uint64_t compute = 0, write_back = 0, weight_fetch = 0, main_out = 0, overhead = 0;
    uint64_t total = 0;         ///< sum of the five terms
};

/// Row-ops of a layer (see the file comment). Depends only on the input width, height,
/// channel counts and the depthwise flag.
uint64_t row_ops(const LayerArgument& arg);

/// Passes of a layer: ceil(IC / groups) x OC for a normal layer, ceil(C / groups) for a
/// depthwise one (groups: channels per KPU RAM row of the input layout).
uint64_t passes(const LayerArgument& arg);

/// Cycles of one KPU layer. `eight_bit`: the model's weight width; 8-bit uses the kpu.*
/// constants (fit C2), 16-bit the kpu.w16_* constants (fit C3, twice the weight bytes).
/// `main_mem_out`: the layer streams its output to main memory (V3 K210_CONV flags bit 0).
KpuLayerCycles kpu_layer_cycles(const LayerArgument& arg, bool eight_bit, bool main_mem_out,
                                const KpuTimingParameters& p);

}  // namespace kpusim::kpu
