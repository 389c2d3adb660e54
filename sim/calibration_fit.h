// The calibration of kpusim's timing constants, reproducible from data in the repository:
// the published measurements (calibration/measurements/*.json, timing.md Part B) are loaded,
// predicted by running their models through the simulator (timing only), and the fitted
// constants are computed from them by weighted least squares (Eigen).
//
// Parameter groups and what fixes them (the `fits` field of each point):
//   kpu8   the six 8-bit KPU constants (kpu.cycles_per_row_op ... kpu.depthwise_layer_overhead),
//          weighted least squares, weights 1/measured (relative error), over C2's 23 KPU layers;
//   kpu16  the five 16-bit constants (kpu.w16_*), over C3's sizes; the model is piecewise
//          (max of compute and weight fetch), fitted by least squares over every assignment of
//          the points to the two branches and keeping the best consistent one;
//   <key>  one parameter set so that one measurement is met exactly (C2's dequantize, C1's
//          forward and load, nncase#95's input DMA): the simulator is run at two values of the
//          key and the (linear) prediction solved for the measurement.
// Groups are fitted in the order kpu8, kpu16, then the one-point keys in file order, each with
// the values fitted before it.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/parameters.h"

namespace kpusim {

/// One published measurement (one entry of a measurements file's `points`).
struct Measurement {
    std::string set;        ///< the file's set name ("C2")
    std::string id;         ///< "C2-L05"
    std::string source;     ///< the file's source (URL and timing.md row)
    std::string what;       ///< layer, layers_sum, forward, load, conv, input_upload
    double measured_ms = 0;
    bool in_fit = false;
    std::string fits;       ///< the group the point determines ("kpu8", "kpu16", a key), or ""
    std::string note;
    uint64_t cpu_hz = 0, kpu_hz = 0;
    std::string shared_model;  ///< path inside the shared folder, or "" for a built model
    int layer = -1;            ///< `what` == layer: the layer index
    nlohmann::json builder;    ///< built models: width, height, in_channels, out_channels,
                               ///< kernel, weight_bits, pool_type
    /// "CPU 400 / KPU 400 MHz, layer 5" and the like.
    std::string setting() const;
};

/// A measurement file that kpusim cannot reproduce (`"reproducible": false`).
struct UnreproducedMeasurement {
    std::string set, source, description, reason;
};

struct MeasurementData {
    std::vector<Measurement> points;            ///< files in name order, points in file order
    std::vector<UnreproducedMeasurement> unreproduced;
};

/// Read every *.json of `dir`. @throws InputError naming the file and the field for a file
/// that cannot be read, is not JSON, or lacks a field (set, source, points, id, what,
/// measured_ms > 0, in_fit; clocks for reproducible files).
MeasurementData load_measurements(const std::string& dir);

/// How a prediction was obtained: "soc" (the model run through the K210 platform, timing only)
/// or "formula" (the KPU layer formula alone, for built layers whose feature maps exceed the
/// 2 MiB KPU RAM).
struct Prediction {
    double ms = 0;
    std::string method;
};

/// Predict every point with parameter set `p`. `shared_dir`: the team's shared/ folder.
/// @throws like K210::run when a model is missing or malformed.
std::vector<Prediction> predict(const MeasurementData& data, const Parameters& p, const std::string& shared_dir);

/// One row of `kpusim calibrate`.
struct CalibrationRow {
    std::string id, source, setting, method, fits, note;
    double predicted_ms = 0, measured_ms = 0;
    double error_pct = 0;               ///< 100 (predicted - measured) / measured
    bool in_fit = false;
    /// Fitted points of a multi-point group: the error when the group is refitted without
    /// this point. Empty for one-point fits and out-of-fit points, and when the point is the
    /// only one that fixes one of the group's constants (loo_note says so).
    std::optional<double> loo_error_pct;
    std::string loo_note;
};

/// Evaluate the points with `p` (leave-one-out errors included).
std::vector<CalibrationRow> calibration_rows(const MeasurementData& data, const Parameters& p,
                                             const std::string& shared_dir);

/// Fit the calibrated keys (see the file comment), starting from `start` (the keys not fitted
/// keep their value). @throws InputError when a group has too few points to be determined.
Parameters fit_parameters(const MeasurementData& data, const Parameters& start, const std::string& shared_dir);

/// The keys fit_parameters() sets.
std::vector<std::string> fitted_keys();

/// The rows as JSON: {"rows": [{id, source, setting, method, predicted_ms, measured_ms,
/// error_pct, in_fit, loo_error_pct (null when none), ...}], "not_reproduced": [...]}.
nlohmann::ordered_json calibration_json(const std::vector<CalibrationRow>& rows, const MeasurementData& data);

/// The rows as a text table, followed by the not-reproduced files and a summary (worst
/// in-fit, leave-one-out and out-of-fit errors).
void print_calibration_rows(std::ostream& out, const std::vector<CalibrationRow>& rows, const MeasurementData& data);

/// The rows as a Markdown table (the README's table).
void print_calibration_markdown(std::ostream& out, const std::vector<CalibrationRow>& rows);

/// `kpusim calibrate`.
struct CalibrateOptions {
    std::string data_dir;      ///< the measurements (calibration/measurements)
    std::string shared_dir;    ///< the team's shared/ folder
    bool fit = false;          ///< fit, write `output`, then evaluate the fitted set
    std::string output;        ///< --fit: the parameter file to write
    std::string params_file;   ///< evaluate this parameter set instead of the defaults (and fit from it)
    std::string json;          ///< also write the rows as JSON here
    bool markdown = false;     ///< print the Markdown table instead of the text table
};

/// Run `kpusim calibrate`: returns 0. @throws InputError for unreadable data or files.
int calibrate_command(const CalibrateOptions& o, std::ostream& out);

}  // namespace kpusim
