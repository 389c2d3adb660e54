// An upper bound of the host work of a functional run, so that callers that must bound
// the time one model costs (the fuzz targets, fuzz/) can refuse a model before running it.
#pragma once

#include <cstdint>

#include "models/layer_graph.h"

namespace kpusim {

/// Upper bound, in element steps (a multiply-accumulate, a window tap, an element read or
/// written), of what run_functional() does for `model`, summed over its layers:
/// - K210_CONV: kpu::LayerArgument::macs() plus the input and output map elements;
/// - pooling: output elements x in-bounds taps per window (min(kernel, input) per axis);
/// - FULLY_CONNECTED: in x out channels + out;
/// - every other CPU layer: the elements it reads and writes (zero dimensions counted as 1,
///   as the reader bounds them, models/size_limits.h);
/// plus the input and outputs. Saturates at UINT64_MAX (no overflow).
uint64_t functional_work(const Model& model);

}  // namespace kpusim
