// One run of the Python module, resolved exactly as `kpusim run` resolves its options: every
// setting arrives as the text the CLI would get (Python ints become decimal text) and goes
// through the same library parsers (parse_quantity, parse_ram_budget, parse_run_mode, ...),
// so the errors carry the CLI's messages and the JSON report is the CLI's --json.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/layer_graph.h"
#include "sim/detection.h"
#include "sim/functional_executor.h"
#include "sim/run_settings.h"
#include "sim/run_options.h"

namespace kpusim::python {

/// A model as the CLI reads it: as nncase wrote it or word-reversed (kpu.load_flash's image).
struct LoadedModel {
    Model model;
    std::string path;                  ///< as given (the report's model.path)
    std::string byte_order = "plain";  ///< "plain" or "word_reversed"
};

/// Read `path` as `kpusim run MODEL [--strict-sdk]` does.
/// @throws InputError (unreadable file), KmodelError (malformed or unsupported model).
LoadedModel load(const std::string& path, bool strict_sdk);

/// The options of `kpusim run`, as text, with the CLI's defaults.
struct JobOptions : RunSettingsText, DecodeText {
    std::string labels;                 ///< --labels file (empty: none)
    bool compute_outputs = true;        ///< false: timing only (no outputs, no decoding)
    /// The report's "input" ("test pattern" or the picture/raw file's path).
    std::string input_description = "test pattern";
    /// Size of the picture the input came from, for YOLO boxes (0: the model input's size).
    float picture_width = 0, picture_height = 0;
};

/// What a run gives back.
struct JobResult {
    std::vector<OutputTensor> outputs;  ///< of the first mode that ran (empty: timing only)
    std::string report_json;            ///< to_json(report).dump(): the CLI's --json document
    std::vector<Detection> detections;  ///< yolo2 boxes or classify top-K (as in the report)
    std::string decode;                 ///< "none", "classify" or "yolo2"
};

/// The RunSettings `kpusim run` builds from these options, and the modes it runs.
/// @throws InputError naming the option (as the CLI), KmodelError never.
RunSettings resolve_settings(const JobOptions& o, std::vector<RunMode>* modes);

/// Run `m` on `input` (m.model.input.bytes() bytes) as `kpusim run` does: simulate_modes,
/// then the decode step (guessed or --decode; top-K for classify; YOLOv2 with --anchors or
/// the built-in anchors, --threshold, --nms, boxes in picture pixels).
/// @throws InputError (bad option or input), CapacityError (does not fit the RAM budget or
///         KPU RAM), std::runtime_error (a fault during the run).
JobResult run_job(const LoadedModel& m, const std::vector<uint8_t>& input, const JobOptions& o);

}  // namespace kpusim::python
