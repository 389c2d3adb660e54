// A Chrome trace-event timeline of one run's forward (opens in Perfetto and
// chrome://tracing): a KPU track (one slice per KPU layer), a CPU track (input upload, CPU
// layers, time the runner waited for memory), a flash/DMA track (one slice per read
// command) and a counter of the bytes each layer buffer holds.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "models/layer_graph.h"
#include "sim/run_settings.h"
#include "sim/k210.h"

namespace kpusim {

/// The trace as JSON ({"traceEvents": [...], "displayTimeUnit": "ns"}); timestamps in µs
/// from the start of the forward, as the format wants. Slices carry args: layer index, type,
/// shape, body bytes, cycles; reads: bytes, source address, buffer, batch.
nlohmann::ordered_json chrome_trace(const Model& model, const RunSettings& settings, const RunResult& result);

/// Write chrome_trace() to `path`. Throws InputError when the file cannot be written.
void write_chrome_trace(const Model& model, const RunSettings& settings, const RunResult& result,
                        const std::string& path);

}  // namespace kpusim
