// `kpusim check`: the CI timing gate. Compares a run report (`kpusim run --json`) with a
// baseline report of the same job and fails when a timing value moved by more than a
// tolerance.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kpusim {

struct CheckOptions {
    /// Largest accepted relative change, as a fraction (0.02 = ±2 %).
    double tolerance = 0.02;
};

/// One compared value (or one structural mismatch).
struct CheckDifference {
    /// What was compared, e.g. "forward_ms", "layers[3] K210_CONV kpu_cycles",
    /// "flash-dual: layers[3] K210_CONV duration_ns", "config.cpu_hz", "schema_version".
    std::string what;
    double baseline = 0;  ///< the baseline's value (NaN when missing or not a number)
    double current = 0;   ///< the report's value (NaN when missing or not a number)
    /// (current - baseline) / baseline; 0 when both are equal (0 / 0 included), ±infinity
    /// when the baseline is 0 and the report is not, NaN for a structural mismatch.
    double change = 0;
    bool beyond = false;  ///< |change| > tolerance, or a mismatch
};

/// Compare `report` with `baseline`, two run reports (README "JSON report"). Compared:
/// - "schema_version" (a mismatch ends the comparison: it is the only difference returned);
/// - the layout: both single-mode or both with a "modes" array (`--mode all`), else one
///   mismatch;
/// - every key of "config" (any change is beyond: timings of different settings do not
///   compare);
/// - per mode (the top level, or each "modes" entry matched by name: "mode", plus
///   "/source" when the source is not flash; a mode missing on either side is a mismatch):
///   "load_ms", "forward_ms", the layer count, and per layer (matched by index) its
///   "type", "kpu_cycles", "cpu_cycles" and duration "end_ns" - "start_ns".
/// A missing or non-numeric key is a difference beyond tolerance naming the key. Returns
/// every compared value in report order, changed or not (so callers can count them).
std::vector<CheckDifference> compare_reports(const nlohmann::json& report, const nlohmann::json& baseline,
                                             const CheckOptions& options);

/// Deepest nesting of arrays and objects parse_report_json() accepts. Run reports nest
/// about 5 levels; the limit keeps the recursive parts of the JSON library (dump, ==) and of
/// compare_reports far from the host stack's end.
inline constexpr int kMaxReportJsonDepth = 64;

/// Parse the JSON text of a report named `name` (a file path, for messages).
/// @throws InputError naming `name` when the text is not JSON or nests arrays/objects more
///         than kMaxReportJsonDepth levels deep (checked on the text before parsing).
nlohmann::json parse_report_json(const std::string& text, const std::string& name);

/// "2%" -> 0.02, "0.5 %" -> 0.005, "0.02" -> 0.02 (a plain number is a fraction).
/// @throws InputError naming the text for anything else: junk, a negative or non-finite
///         value, or a plain number above 1 (write "5%" for five percent).
double parse_tolerance(const std::string& text);

/// `kpusim check REPORT BASELINE [--tolerance T]`: compare the two reports and print to `out`
/// one line per value that changed (what, baseline -> current, change in %, "BEYOND" when
/// past the tolerance) and a summary line "N values compared, M beyond ±T%".
/// @return 1 when any difference is beyond the tolerance, else 0.
/// @throws InputError when a file cannot be read or is not JSON (naming the file), or the
///         tolerance is invalid (parse_tolerance()).
int check_command(const std::string& report_path, const std::string& baseline_path, const std::string& tolerance,
                  std::ostream& out);

}  // namespace kpusim
