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
/// still run. Throws InputError when no mode could run.
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
    FeatureSummary features;           ///< decode "features": the vector's summary (else empty)
};

/// The JSON form. With one run: top-level "load_ms", "forward_ms", "memory", "layers";
/// with several ("--mode all"): a "modes" array of objects with those keys. Always
/// "schema_version", "config" (every resolved setting), "model", "outputs" and, when asked,
/// "top_k"; "decode" and "detections" (each with "landmarks", [[x, y] x 5], only when it has
/// them); with decode "features", "features" ({"shape", "count", "l2_norm", "first"}). Keys keep a fixed order (nlohmann::ordered_json) so two reports diff cleanly.
nlohmann::ordered_json to_json(const RunReport& report);

/// The text form printed by `kpusim run`: summary, per-layer table (side by side for
/// several modes), totals.
std::string to_text(const RunReport& report);

/// Write each output as output_N.bin (raw little-endian, its own dtype) and outputs.json
/// (dtype and shape of each) into `dir`, creating it. Throws InputError when the folder
/// cannot be created or a file cannot be written.
void dump_outputs(const std::vector<OutputTensor>& outputs, const std::string& dir);

/// Picoseconds as milliseconds, for reports.
inline double ps_to_ms(uint64_t ps) { return static_cast<double>(ps) / 1e9; }

}  // namespace kpusim
