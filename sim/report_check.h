// `kpusim check`: the CI timing gate. Compares a run report (`kpusim run --json`) with a
// baseline report of the same job and fails when a timing value moved by more than a
// tolerance.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kpusim {

/// Which timing changes fail a check (`check --direction`).
enum class CheckDirection {
    both,    ///< a change either way beyond the tolerance (the default)
    slower,  ///< only a rise beyond the tolerance (a slow-down); speed-ups are listed, not failed
    faster,  ///< only a fall beyond the tolerance; slow-downs are listed, not failed
};

/// "both", "slower" or "faster".
const char* to_string(CheckDirection direction);
/// The inverse of to_string. @throws InputError naming the text and the accepted names.
CheckDirection parse_check_direction(const std::string& text);

struct CheckOptions {
    /// Largest accepted relative change, as a fraction (0.02 = ±2 %).
    double tolerance = 0.02;
    /// Which way a timing value (times and cycle counts: higher is slower) must move to fail.
    /// Settings (config) and structural mismatches fail whatever the direction.
    CheckDirection direction = CheckDirection::both;
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
    /// The change is past the tolerance in a direction that fails (CheckOptions::direction),
    /// or a mismatch, or a changed setting.
    bool beyond = false;
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

/// Options of `kpusim check` as typed.
struct CheckCommand {
    std::string report, baseline;   ///< the two run reports (files)
    std::string tolerance = "2%";   ///< parse_tolerance()
    std::string direction = "both"; ///< parse_check_direction()
    std::string junit;              ///< write JUnit XML here (check_junit_xml()); "-": stdout
    std::string json;               ///< write the result as JSON here (check_json()); "-": stdout
};

/// `kpusim check REPORT --baseline BASELINE [--tolerance T] [--direction D] [--junit F]
/// [--json F]`: compare the two reports and print to `out` one line per value that changed
/// (what, baseline -> current, change in %, "BEYOND" when it fails) and a summary line
/// "N values compared, M beyond +T% (slower)" ("±T%" for both, "-T%" for faster); then write
/// the JUnit XML and JSON files asked for (also when values are beyond).
/// @return 1 when any difference is beyond the tolerance, else 0.
/// @throws InputError when a file cannot be read or is not JSON (naming the file), the
///         tolerance or direction is invalid, or an output cannot be written.
int check_command(const CheckCommand& command, std::ostream& out);

/// The same with the default direction and no output files.
int check_command(const std::string& report_path, const std::string& baseline_path, const std::string& tolerance,
                  std::ostream& out);

/// "±2%", "+2% (slower)", "-2% (faster)": the tolerance and direction as the summary says them.
std::string tolerance_text(const CheckOptions& options);

/// JUnit XML of a check, for CI systems that display test reports (GitLab, Jenkins, GitHub
/// test-report actions): one <testsuite name="kpusim check"> with one <testcase> per compared
/// value (classname "kpusim.check", name = CheckDifference::what), each failing one with a
/// <failure> whose message gives baseline, current and change; `report_path` and
/// `baseline_path` are named in the suite's properties. Text is XML-escaped.
std::string check_junit_xml(const std::vector<CheckDifference>& diffs, const CheckOptions& options,
                            const std::string& report_path, const std::string& baseline_path);

/// The check's result as JSON: "kind": "check", "report", "baseline", "tolerance" (fraction),
/// "direction", "passed" (bool), "compared", "beyond" (counts), and "values": per compared
/// value {what, baseline, current, change (fraction; null for a mismatch or ±infinity),
/// beyond}. baseline/current are null when missing or not numbers.
nlohmann::ordered_json check_json(const std::vector<CheckDifference>& diffs, const CheckOptions& options,
                                  const std::string& report_path, const std::string& baseline_path);

}  // namespace kpusim
