// How each timing figure of a report was obtained, so that users know how far to trust it:
//   "calibrated"  the figure's own constants were fitted to, or are, a published K210
//                 measurement of that kind (calibration/measurements, docs/calibration.md);
//   "derived"     computed from the memory and runner models (flash_spi/, psram/, the flash
//                 runner of timing.md A.5) and calibrated parts, without a fit to a
//                 measurement of that setting;
//   "projection"  no public measurement covers the setting or the constant (PSRAM, 8 lanes,
//                 DDR; the CPU operations whose per-element cost is an estimate; 16-bit
//                 depthwise convolutions).
#pragma once

#include <string>

#include "models/layer_graph.h"
#include "sim/run_settings.h"

namespace kpusim {

/// The basis of one layer's time. KPU convolutions: "calibrated" (8-bit: C2; 16-bit normal:
/// C3), "projection" for 16-bit depthwise; CPU layers: "calibrated" for DEQUANTIZE (C2),
/// "derived" for the input upload layers whose cost C1 and nncase#95 fix (K210_UPLOAD), and
/// "projection" for the others (estimated per-element costs, sim/calibration.h [est]).
std::string layer_basis(const Layer& layer, bool eight_bit);

/// The basis of a run's forward time: "projection" when `projection` (the run's source or
/// lanes are projections), "calibrated" in RAM mode from flash (C1), "derived" in the flash
/// modes (no published flash-runner timing).
std::string forward_basis(const RunSettings& s, bool projection);

/// The basis of the load time: "calibrated" for kpu.load from flash (C1), "derived" for
/// kpu.load_flash, "projection" when `projection`.
std::string load_basis(const RunSettings& s, bool projection);

}  // namespace kpusim
