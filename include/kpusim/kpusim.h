// kpusim's public API for programs outside SystemC: load a kmodel, run it on the simulated
// K210, read the outputs and the timing.
//
//   #include <kpusim/kpusim.h>
//   int sc_main(int, char**) {              // libsystemc defines main(): see below
//       kpusim::Model model = kpusim::load_model("mbnet75.kmodel");
//       kpusim::RunSettings s;               // RAM mode, CPU 400 MHz, KPU 400 MHz, ...
//       s.mode = kpusim::RunMode::flash_dual;
//       s.spi_speed_hz = 60'000'000;
//       kpusim::RunResult r = kpusim::simulate(model, kpusim::test_pattern(model.input), s);
//       std::printf("%.3f ms\n", r.forward_ms);
//   }
//
// The sc_main rule: Debian's libsystemc (which kpusim links) defines main() and calls
// sc_main(argc, argv), so every program that links kpusim defines sc_main instead of main.
//
// simulate() runs on a process-wide standalone K210 that is elaborated on first use and
// serves any number of runs (each from zeroed memories, so equal jobs give equal reports). A
// program that builds its own SystemC design uses <kpusim/k210.h> instead.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/kmodel_error.h"    // KmodelError, InputError, CapacityError
#include "models/layer_graph.h"     // Model, Shape, DataType, Layer
#include "sim/functional_executor.h"  // OutputTensor, run_functional
#include "sim/k210.h"               // RunResult, TimingResult, LayerTiming, MemoryUse
#include "sim/model_input.h"        // load_model_input, test_pattern
#include "sim/parameters.h"         // Parameters
#include "sim/run_settings.h"       // RunSettings, RunMode, ModelSource

namespace kpusim {

/// The library's version, "MAJOR.MINOR.PATCH" (the CMake project version).
const char* version() noexcept;

/// Read and parse a kmodel file, as nncase wrote it or as the word-reversed image
/// kpu.load_flash reads (both are accepted). V3 is run; other versions are refused.
/// @throws InputError when the file cannot be read; KmodelError (with its kind, layer and
///         field) when it is malformed or of a version kpusim does not run.
Model load_model(const std::string& path);

/// Run `model` on `input` (model.input.bytes() bytes: uint8 CHW, or float32 for float-input
/// models; see load_model_input() for pictures) with `settings`, on the standalone K210.
/// Returns the outputs (empty when settings.compute_outputs is false), the memory use and the
/// timing: load_ms and forward_ms (milliseconds) and per-layer figures (picoseconds).
/// @throws InputError for a bad setting or input, CapacityError when the model does not fit
///         the RAM budget or KPU RAM, std::runtime_error for faults during the run.
RunResult simulate(const Model& model, const std::vector<uint8_t>& input, const RunSettings& settings);

/// SHA-256 of the model file's bytes, lower-case hex (what the JSON report names `sha256`).
std::string model_sha256(const Model& model);

}  // namespace kpusim
