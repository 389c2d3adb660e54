// What to tell a user whose model does not fit the RAM budget: which firmware presets
// (--ram-budget) it would fit, in this mode and, for the RAM mode, with the flash runner.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/layer_graph.h"
#include "sim/run_settings.h"

namespace kpusim {

/// The general RAM `model` needs in `mode` with `settings` otherwise: the ram_used of one
/// timing-only run (no outputs computed) on the standalone K210 (run_standalone) with the
/// whole 6 MiB general SRAM as budget. Returns 0 when even that run fails (the model does not
/// fit 6 MiB, or the settings are invalid for that mode).
uint64_t ram_needed(const Model& model, const std::vector<uint8_t>& input, RunSettings settings, RunMode mode);

/// A sentence for an out-of-memory error of `settings.mode`, e.g. "in ram mode the model needs
/// 2696208 bytes: it fits the maixpy-minimum (4194304 bytes) and bare-metal (6029312 bytes)
/// budgets (--ram-budget); flash-dual needs 1207040 bytes: it fits every preset". Names the
/// RAM-budget presets (memory::RamPreset, smallest budget first) whose bytes cover what each
/// mode needs; for the RAM mode the flash-dual mode too (kpu.load_flash keeps only two layer
/// buffers). Empty when nothing could be measured. Costs one or two timing-only runs.
std::string ram_budget_hint(const Model& model, const std::vector<uint8_t>& input, const RunSettings& settings);

}  // namespace kpusim
