// The report of `kpusim run`: a model summary, memory use, the outputs, and the top-K
// classes; as text for people and as JSON with stable keys for tools.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/layer_graph.h"
#include "sim/classification.h"
#include "sim/soc.h"

namespace kpusim {

/// JSON schema version of the run report; bumped on any incompatible change.
inline constexpr int kRunReportSchemaVersion = 1;

struct RunReport {
    std::string model_path;
    std::string input_description;  ///< the input file, or "test pattern"
    const Model* model = nullptr;
    RunResult result;
    std::vector<RankedClass> top;            ///< empty when no ranking was asked for
    std::vector<std::string> labels;         ///< may be empty
};

/// The JSON form; key order is fixed (nlohmann::ordered_json) so two reports diff cleanly.
nlohmann::ordered_json to_json(const RunReport& report);

/// The text form printed by `kpusim run`.
std::string to_text(const RunReport& report);

/// Write each output as output_N.bin (raw little-endian, its own dtype) and outputs.json
/// (dtype and shape of each) into `dir`, creating it. Throws InputError when the folder
/// cannot be created or a file cannot be written.
void dump_outputs(const std::vector<OutputTensor>& outputs, const std::string& dir);

}  // namespace kpusim
