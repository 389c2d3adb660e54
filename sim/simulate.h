// The standalone way to run the K210 platform, for programs that are not SystemC designs:
// a process-wide top holding one K210 and a driver thread, elaborated on first use, that
// serves any number of runs. Each run advances the kernel by a bounded sc_start() and the
// driver pauses the kernel (sc_pause) as soon as the run ends; the kernel is never run
// unbounded.
//
// Not for a program that builds its own SystemC design: instantiate kpusim::K210 there and
// call K210::run from one of your SC_THREADs (include/kpusim/k210.h).
#pragma once

#include <cstdint>
#include <vector>

#include "models/layer_graph.h"
#include "sim/k210.h"
#include "sim/run_settings.h"

namespace kpusim {

/// Simulated time one standalone run may take at most (load and forward): 10^5 s. A run that
/// needs more (absurd clocks) fails with std::runtime_error.
inline constexpr double kMaxRunSeconds = 1e5;

/// Run `model` on `input` with `settings` on the process-wide standalone K210 (created on
/// first use). Throws as K210::run, and std::runtime_error when the run does not end within
/// kMaxRunSeconds of simulated time or the process already elaborated another design.
/// Runs continue from the kernel's time; InputError when fewer than kMaxRunSeconds remain
/// before SystemC's largest time (sc_max_time(), 2^64 resolution units), so nothing wraps.
RunResult run_standalone(const Model& model, const std::vector<uint8_t>& input, const RunSettings& settings);

/// The process-wide standalone K210 (elaborated on first use), e.g. to read its memories
/// after a run.
K210& standalone_k210();

}  // namespace kpusim
