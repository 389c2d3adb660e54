// The report of `kpusim run`: model summary, memory use, per-layer timing and totals for
// one or several execution modes, the outputs and the top-K classes; as text for people and
// as JSON (stable key order, integer cycles, no timestamps) for tools and CI baselines.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/layer_graph.h"
#include "sim/classification.h"
#include "sim/detection.h"
#include "sim/features.h"
#include "sim/k210.h"

namespace kpusim {

/// JSON schema version of the run report; bumped on any incompatible change.
inline constexpr int kRunReportSchemaVersion = 1;

/// One simulated run of the report (one execution mode).
struct ModeRun {
    RunSettings settings;
    RunResult result;   ///< empty when the mode could not run
    std::string error;  ///< why the mode could not run (--mode all only), else empty
};

/// Run `model` on `input` in each of `modes` (base settings otherwise), as `kpusim run --mode
/// all` does: the outputs are computed once (they do not depend on the mode), the other modes
/// are timed only. With one mode its error is thrown; with several, a mode that cannot run
/// (a model too big for RAM is what the flash modes are for) keeps its error and the others
/// still run. Throws InputError when no mode could run. An out-of-memory error
/// (CapacityError) gets ram_budget_hint() appended: the RAM-budget presets the model fits.
std::vector<ModeRun> simulate_modes(const Model& model, const std::vector<uint8_t>& input,
                                    const RunSettings& base, const std::vector<RunMode>& modes);

struct RunReport {
    std::string model_path;
    std::string input_description;  ///< the input file, or "test pattern"
    const Model* model = nullptr;
    std::vector<ModeRun> runs;      ///< one per mode, in the order ram, flash-single, flash-dual
    /// The run whose outputs the report shows: the first that ran.
    const ModeRun& first_ran() const;
    std::vector<RankedClass> top;   ///< classify: the top-K classes
    std::vector<std::string> labels;
    std::string byte_order = "plain";  ///< the model file's form: plain or word_reversed
    std::string decode = "none";       ///< how the first output was decoded
    std::vector<Detection> detections; ///< detectors' boxes (with landmarks), or classify's top-K (zero boxes)
    std::vector<float> anchors;        ///< yolo2: the anchors used (w,h pairs, grid units)
    std::string anchors_source;        ///< yolo2: "option" (--anchors) or "built-in" (guessed)
    /// What the user should know about the run's guesses (built-in anchors used, a guessed
    /// decode that fell back to none); the CLI also prints each on stderr.
    std::vector<std::string> warnings;
    FeatureSummary features;           ///< decode "features": the vector's summary (else empty)
};

/// True when every run of the report is a RAM-mode run (kpu.load): the SPI speed, flash
/// lanes, DDR and batch size settings then play no part (kpu.load reads the model with the
/// firmware's own fixed flash settings) and the reports leave them out.
bool ram_mode_only(const RunReport& report);

/// The JSON form. With one run: top-level "load_ms", "forward_ms", "memory", "layers";
/// with several ("--mode all"): a "modes" array of objects with those keys. Always
/// "schema_version", "config" (every resolved setting the runs use: a RAM-mode-only report
/// has no spi_speed_hz, flash_lanes, flash_ddr or batch_size, and its RAM-mode timing no
/// batches, spi_actual_hz or spi_divider), "model", "outputs", "decode", "detections" (each
/// with "landmarks", [[x, y] x 5], only when it has them) and "warnings" (an array, maybe
/// empty); "anchors" and "anchors_source" for a yolo2 decode; with decode "features",
/// "features" ({"shape", "count", "l2_norm", "first"}); "top_k" when asked. Keys keep a fixed
/// order (nlohmann::ordered_json) so two reports diff cleanly.
/// Each run's "basis" {"load_ms", "forward_ms"} and each layer's "basis" say how the figure
/// was obtained: "calibrated", "derived" or "projection" (sim/provenance.h).
nlohmann::ordered_json to_json(const RunReport& report);

/// The decoding part of to_json(): "top_k" (when any), "decode", "detections", "anchors" and
/// "anchors_source" (yolo2), "warnings", "features" (features), in that order. Dataset records
/// of pictures decoded by anything but classify carry the same keys (sim/dataset_run.h).
nlohmann::ordered_json decoded_json(const RunReport& report);

/// The text form printed by `kpusim run`: summary, per-layer table (side by side for
/// several modes; one run: with each layer's basis), totals (with the load and forward basis).
std::string to_text(const RunReport& report);

/// Write each output as output_N.bin (raw little-endian, its own dtype) and outputs.json
/// (dtype and shape of each) into `dir`, creating it. Throws InputError when the folder
/// cannot be created or a file cannot be written.
void dump_outputs(const std::vector<OutputTensor>& outputs, const std::string& dir);

/// Picoseconds as milliseconds, for reports.
inline double ps_to_ms(uint64_t ps) { return static_cast<double>(ps) / 1e9; }

}  // namespace kpusim
