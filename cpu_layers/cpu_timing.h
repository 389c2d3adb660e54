// Cycle-approximate timing of the V3 CPU layers and of the input upload, in CPU clock
// cycles: a fixed dispatch cost per layer plus a cost per element (or per MAC, per tap, per
// byte) of the layer's work. The constants and their provenance are in sim/calibration.h.
#pragma once

#include <cstdint>

#include "models/layer_graph.h"

namespace kpusim::v4 {
struct V4CpuTimingParameters;  // cpu_layers/v4/v4_cpu_timing.h
}

namespace kpusim::cpu {

/// The constants of the CPU layer formulas (CPU cycles).
struct CpuTimingParameters {
    double layer_overhead;            ///< ai_step dispatch of one CPU layer
    double dequantize_per_element;    ///< DEQUANTIZE, CHANNELWISE_DEQUANTIZE
    double quantize_per_element;      ///< QUANTIZE
    double table_per_element;         ///< REQUANTIZE (table lookup)
    double add_per_element;           ///< ADD (float)
    double quantized_add_per_element; ///< QUANTIZED_ADD
    double pool_per_tap;              ///< GLOBAL_AVERAGE_POOL2D per input element; pools per window tap
    double exp_per_element;           ///< SOFTMAX, LOGISTIC (one expf each, plus the passes)
    double l2_norm_per_element;       ///< L2_NORMALIZATION
    double fc_per_mac;                ///< FULLY_CONNECTED, per multiply-accumulate
    double copy_per_byte;             ///< CONCAT, FLATTEN, RESIZE, ADD/REMOVE_PADDING
    double upload_per_byte;           ///< CPU conversion of dense CHW into the KPU RAM layout
    double dma_per_byte;              ///< input DMA into KPU RAM when the width is a multiple of 64
};

/// CPU cycles of a CPU layer (KPU layers return 0: see kpu_core/kpu_timing.h). V4 CPU nodes
/// are timed by cpu_layers/v4/v4_cpu_timing.h with `v4`; V4 kpu_upload as a V3 K210_UPLOAD.
uint64_t cpu_layer_cycles(const Layer& layer, const CpuTimingParameters& p, const v4::V4CpuTimingParameters& v4);

/// CPU cycles of V4's kpu_download of `bytes` output bytes (spec §9.4): the CPU reads the KPU
/// RAM layout and stores dense bytes, v4.download_per_byte each (calibrated on nncase#95, see
/// sim/calibration.h kV4CpuTiming).
uint64_t download_cycles(uint64_t bytes, const v4::V4CpuTimingParameters& v4);

/// CPU cycles to put the model input in place (spec §7.4 step 3): a DMA when the first KPU
/// layer's width is a multiple of 64, else the CPU's conversion into the KPU RAM layout;
/// float inputs of a first FULLY_CONNECTED are a plain copy.
uint64_t input_upload_cycles(const ModelInput& input, const CpuTimingParameters& p);

/// Elements (or MACs, taps, bytes) the layer's formula multiplies by; for reports.
uint64_t cpu_layer_work(const Layer& layer);

}  // namespace kpusim::cpu
