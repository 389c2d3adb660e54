// The options of `kpusim run` as text, and the two steps both the CLI and the Python module
// take from them: resolving the run settings, and decoding a run's outputs into its report.
// One copy, so that `kpusim run`, `kpusim.simulate()` and MaixPy's `kpu.forward` names agree.
#pragma once

#include <string>
#include <vector>

#include "models/layer_graph.h"
#include "sim/functional_executor.h"
#include "sim/run_report.h"
#include "sim/run_settings.h"

namespace kpusim {

/// The settings options of `kpusim run`, as typed, with the CLI's defaults.
struct RunSettingsText {
    std::string mode = "ram";  ///< ram, flash-single, flash-dual or all
    std::string source = "flash";
    std::string batch_size = "0xC000", spi_speed = "80M", cpu_freq = "400M", kpu_freq = "400M";
    std::string flash_lanes = "4", model_address = "0x300000";
    bool flash_ddr = false;
    std::string ram_budget = "bare-metal";
    std::string activation_rule = "reference", arg_x_rule = "board";
    std::string params_file;        ///< --params (empty: none)
    std::vector<std::string> sets;  ///< --set key=value assignments
};

/// The RunSettings these options give, and (when `modes` is not null) the modes to run.
/// @throws InputError naming the option (an unparsable quantity, lanes above 8, an unknown
///         mode, source, rule, budget preset or parameter key).
RunSettings resolve_run_settings(const RunSettingsText& o, std::vector<RunMode>* modes);

/// The decoding options of `kpusim run`.
struct DecodeText {
    std::string decode;             ///< --decode; empty: guessed
    std::string anchors;            ///< --anchors w,h,...; empty: built-in
    float threshold = -1, nms = -1; ///< negative: the decoder's default
    uint32_t top = 5;               ///< --top
};

/// "1.08,1.19,3.42,4.41" -> floats (w,h pairs in grid units).
/// @throws InputError for a value that is not a number or an odd count.
std::vector<float> parse_anchors(const std::string& text);

/// Decode `outputs` of a run of `model` into `report` (decode, top, detections, anchors,
/// anchors_source, warnings, features; report.labels must be set): the multi-output families
/// (ultraface, ultraface-landmark) and feature vectors by sim/decode_outputs.h; classify and
/// YOLOv2 by sim/decode_choice.h, whose guesses fall back to no decoding with a warning, with
/// the known-model table's anchors first (sim/known_models.h). Boxes are scaled to
/// picture_width x picture_height pixels.
/// `model_sha256`: the model file's SHA-256 when the caller already has it (a dataset run hashes
/// the model once, not per picture); null: computed here.
/// @return the guess explained in one line, or "" when the decoder was named.
/// @throws InputError as decode_outputs() and decode_first_output() do.
std::string decode_into_report(const Model& model, const std::vector<OutputTensor>& outputs, const DecodeText& o,
                               float picture_width, float picture_height, RunReport& report,
                               const std::string* model_sha256 = nullptr);

}  // namespace kpusim
