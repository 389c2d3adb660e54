#include "sim/report_check.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include <spdlog/fmt/fmt.h>

#include "models/kmodel_error.h"
#include "sim/atomic_file.h"

namespace kpusim {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using json = nlohmann::json;

class Comparer {
public:
    Comparer(const CheckOptions& options, std::vector<CheckDifference>& out)
        : tolerance_(options.tolerance), direction_(options.direction), out_(out) {}

    void mismatch(const std::string& what) { out_.push_back({what, kNaN, kNaN, kNaN, true}); }

    void values(const std::string& what, double baseline, double current) {
        double change;
        if (baseline == current) change = 0;
        else if (baseline == 0) change = current > 0 ? std::numeric_limits<double>::infinity()
                                                     : -std::numeric_limits<double>::infinity();
        else change = (current - baseline) / std::abs(baseline);
        // A hair of slack so that a change of exactly the tolerance passes despite rounding.
        const double limit = tolerance_ * (1 + 1e-9) + 1e-12;
        const bool beyond = direction_ == CheckDirection::slower   ? change > limit
                            : direction_ == CheckDirection::faster ? change < -limit
                                                                   : std::abs(change) > limit;
        out_.push_back({what, baseline, current, change, beyond});
    }

    // A numeric key of two objects.
    void number(const std::string& what, const json& report, const json& baseline, const std::string& key) {
        const bool in_r = report.is_object() && report.contains(key);
        const bool in_b = baseline.is_object() && baseline.contains(key);
        if (!in_r || !in_b) {
            mismatch(what + ": missing in the " + (!in_r && !in_b ? "report and the baseline"
                                                   : !in_r        ? "report"
                                                                  : "baseline"));
            return;
        }
        const json &r = report[key], &b = baseline[key];
        if (!r.is_number() || !b.is_number()) {
            mismatch(what + ": not a number");
            return;
        }
        values(what, b.get<double>(), r.get<double>());
    }

    void config(const json& report, const json& baseline) {
        if (!report.contains("config") || !baseline.contains("config") || !report["config"].is_object() ||
            !baseline["config"].is_object()) {
            mismatch(std::string("config: missing in the ") + (report.contains("config") ? "baseline" : "report"));
            return;
        }
        const json &rc = report["config"], &bc = baseline["config"];
        for (auto it = bc.begin(); it != bc.end(); ++it) {
            const std::string what = "config." + it.key();
            if (!rc.contains(it.key())) {
                mismatch(what + ": missing in the report");
            } else if (it.value().is_number() && rc[it.key()].is_number()) {
                values(what, it.value().get<double>(), rc[it.key()].get<double>());
                if (out_.back().change != 0) out_.back().beyond = true;  // another setting, not a drift
            } else if (it.value() != rc[it.key()]) {
                mismatch(what + ": " + it.value().dump() + " in the baseline, " + rc[it.key()].dump() + " in the report");
            } else {
                values(what, 0, 0);
            }
        }
        for (auto it = rc.begin(); it != rc.end(); ++it)
            if (!bc.contains(it.key())) mismatch("config." + it.key() + ": missing in the baseline");
    }

    // One mode's timing: the top level of a single-mode report or one "modes" entry.
    void timing(const std::string& prefix, const json& report, const json& baseline) {
        // A mode that could not run (--mode all) has only an "error": it must fail the same way.
        const bool er = report.contains("error"), eb = baseline.contains("error");
        if (er || eb) {
            if (er != eb) mismatch(prefix + (er ? "could not run in the report: " + report["error"].dump()
                                               : "could not run in the baseline: " + baseline["error"].dump()));
            return;
        }
        number(prefix + "load_ms", report, baseline, "load_ms");
        number(prefix + "forward_ms", report, baseline, "forward_ms");
        const bool lr = report.contains("layers") && report["layers"].is_array();
        const bool lb = baseline.contains("layers") && baseline["layers"].is_array();
        if (!lr || !lb) {
            mismatch(prefix + "layers: missing in the " + (!lr ? "report" : "baseline"));
            return;
        }
        const json &layers_r = report["layers"], &layers_b = baseline["layers"];
        if (layers_r.size() != layers_b.size())
            mismatch(fmt::format("{}layers: {} in the baseline, {} in the report", prefix, layers_b.size(),
                                 layers_r.size()));
        const size_t n = std::min(layers_r.size(), layers_b.size());
        for (size_t i = 0; i < n; ++i) {
            const json &r = layers_r[i], &b = layers_b[i];
            const std::string type_b = b.contains("type") && b["type"].is_string() ? b["type"].get<std::string>() : "?";
            const std::string type_r = r.contains("type") && r["type"].is_string() ? r["type"].get<std::string>() : "?";
            const std::string name = fmt::format("{}layers[{}] {}", prefix, i, type_b);
            if (type_b != type_r) {
                mismatch(fmt::format("{}: type {} in the baseline, {} in the report", name, type_b, type_r));
                continue;
            }
            number(name + " kpu_cycles", r, b, "kpu_cycles");
            number(name + " cpu_cycles", r, b, "cpu_cycles");
            const auto duration = [](const json& l, double& d) {
                if (!l.contains("start_ns") || !l.contains("end_ns") || !l["start_ns"].is_number() ||
                    !l["end_ns"].is_number())
                    return false;
                d = l["end_ns"].get<double>() - l["start_ns"].get<double>();
                return true;
            };
            double dr = 0, db = 0;
            const bool okr = duration(r, dr), okb = duration(b, db);
            if (!okr || !okb) mismatch(name + " duration_ns: start_ns/end_ns missing in the " + (!okr ? "report" : "baseline"));
            else values(name + " duration_ns", db, dr);
        }
    }

private:
    double tolerance_;
    CheckDirection direction_;
    std::vector<CheckDifference>& out_;
};

std::string mode_key(const json& m) {
    std::string name = m.contains("mode") && m["mode"].is_string() ? m["mode"].get<std::string>() : "?";
    if (m.contains("source") && m["source"].is_string() && m["source"].get<std::string>() != "flash")
        name += "/" + m["source"].get<std::string>();
    return name;
}

// Deepest nesting of [ and { outside strings in `text` (not validating anything else).
int json_depth(const std::string& text) {
    int depth = 0, deepest = 0;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            deepest = std::max(deepest, ++depth);
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return deepest;
}

json read_json_file(const std::string& path, const char* role) {
    std::ifstream f(path);
    if (!f) throw InputError(std::string("cannot read the ") + role + " '" + path + "'");
    std::stringstream ss;
    ss << f.rdbuf();
    return parse_report_json(ss.str(), std::string("the ") + role + " '" + path + "'");
}

std::string percent(double fraction) { return fmt::format("{:g}%", fraction * 100); }

std::string value_text(double v) {
    if (std::isnan(v)) return "-";
    if (v == std::floor(v) && std::abs(v) < 1e15) return fmt::format("{:.0f}", v);
    return fmt::format("{:.6g}", v);
}

// "forward_ms: 12.5 -> 13 (+4.00%)", or the mismatch's own text.
std::string difference_text(const CheckDifference& d) {
    if (std::isnan(d.change)) return d.what;
    const std::string change = std::isinf(d.change) ? (d.change > 0 ? "+inf%" : "-inf%")
                                                    : fmt::format("{:+.2f}%", d.change * 100);
    return fmt::format("{}: {} -> {} ({})", d.what, value_text(d.baseline), value_text(d.current), change);
}

std::string xml_escape(const std::string& text) {
    std::string r;
    for (char c : text) {
        switch (c) {
            case '&': r += "&amp;"; break;
            case '<': r += "&lt;"; break;
            case '>': r += "&gt;"; break;
            case '"': r += "&quot;"; break;
            case '\'': r += "&apos;"; break;
            default:
                // XML 1.0 allows no control characters but tab, newline and carriage return.
                if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') r += '?';
                else r += c;
        }
    }
    return r;
}

nlohmann::ordered_json number_or_null(double v) {
    if (!std::isfinite(v)) return nullptr;
    return v;
}

}  // namespace

json parse_report_json(const std::string& text, const std::string& name) {
    const int depth = json_depth(text);
    if (depth > kMaxReportJsonDepth)
        throw InputError(name + " nests arrays or objects " + std::to_string(depth) +
                         " levels deep; a run report has at most " +
                         std::to_string(kMaxReportJsonDepth));
    try {
        return json::parse(text);
    } catch (const json::parse_error& e) {
        throw InputError(name + " is not JSON: " + e.what());
    }
}

std::vector<CheckDifference> compare_reports(const json& report, const json& baseline, const CheckOptions& options) {
    std::vector<CheckDifference> out;
    Comparer c(options, out);
    const bool sr = report.is_object() && report.contains("schema_version");
    const bool sb = baseline.is_object() && baseline.contains("schema_version");
    if (!sr || !sb) {
        c.mismatch(std::string("schema_version: missing in the ") + (!sr ? "report" : "baseline") +
                   " (not a kpusim run report?)");
        return out;
    }
    if (report["schema_version"] != baseline["schema_version"]) {
        c.mismatch("schema_version: " + baseline["schema_version"].dump() + " in the baseline, " +
                   report["schema_version"].dump() + " in the report (regenerate the baseline)");
        return out;
    }
    c.values("schema_version", 0, 0);
    c.config(report, baseline);
    const bool mr = report.contains("modes"), mb = baseline.contains("modes");
    if (mr != mb) {
        c.mismatch(std::string("report layout: the ") + (mb ? "baseline" : "report") +
                   " has several modes (--mode all), the " + (mb ? "report" : "baseline") + " one");
        return out;
    }
    if (!mr) {
        c.timing("", report, baseline);
        return out;
    }
    const json &modes_r = report["modes"], &modes_b = baseline["modes"];
    if (!modes_r.is_array() || !modes_b.is_array()) {
        c.mismatch("modes: not an array");
        return out;
    }
    auto find = [](const json& modes, const std::string& key) -> const json* {
        for (const json& m : modes)
            if (mode_key(m) == key) return &m;
        return nullptr;
    };
    for (const json& b : modes_b) {
        const std::string key = mode_key(b);
        if (const json* r = find(modes_r, key)) c.timing(key + ": ", *r, b);
        else c.mismatch("modes: " + key + " missing in the report");
    }
    for (const json& r : modes_r)
        if (!find(modes_b, mode_key(r))) c.mismatch("modes: " + mode_key(r) + " missing in the baseline");
    return out;
}

double parse_tolerance(const std::string& text) {
    auto fail = [&](const std::string& why) -> double {
        throw InputError("--tolerance '" + text + "': " + why + " (examples: 2%, 0.5%, 0.02)");
    };
    std::string t = text;
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
    bool percent_sign = false;
    if (!t.empty() && t.back() == '%') {
        percent_sign = true;
        t.pop_back();
        while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
    }
    if (t.empty() || std::isspace(static_cast<unsigned char>(t.front()))) return fail("not a number");
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    if (end != t.c_str() + t.size()) return fail("not a number");
    if (!std::isfinite(v)) return fail("not a finite number");
    if (v < 0) return fail("negative");
    if (percent_sign) return v / 100;
    if (v > 1) return fail("a plain number is a fraction and " + text + " is above 1; write " + text + "% for percent");
    return v;
}

const char* to_string(CheckDirection d) {
    switch (d) {
        case CheckDirection::both: return "both";
        case CheckDirection::slower: return "slower";
        case CheckDirection::faster: return "faster";
    }
    return "?";
}

CheckDirection parse_check_direction(const std::string& text) {
    for (CheckDirection d : {CheckDirection::both, CheckDirection::slower, CheckDirection::faster})
        if (text == to_string(d)) return d;
    throw InputError("--direction '" + text + "': expected slower, faster or both");
}

std::string tolerance_text(const CheckOptions& options) {
    switch (options.direction) {
        case CheckDirection::slower: return "+" + percent(options.tolerance) + " (slower)";
        case CheckDirection::faster: return "-" + percent(options.tolerance) + " (faster)";
        case CheckDirection::both: break;
    }
    return "\u00b1" + percent(options.tolerance);
}

int check_command(const std::string& report_path, const std::string& baseline_path, const std::string& tolerance,
                  std::ostream& out) {
    CheckCommand command;
    command.report = report_path;
    command.baseline = baseline_path;
    command.tolerance = tolerance;
    return check_command(command, out);
}

int check_command(const CheckCommand& command, std::ostream& out) {
    CheckOptions options;
    options.tolerance = parse_tolerance(command.tolerance);
    options.direction = parse_check_direction(command.direction);
    const std::string& report_path = command.report;
    const std::string& baseline_path = command.baseline;
    const json report = read_json_file(report_path, "report");
    const json baseline = read_json_file(baseline_path, "baseline");
    const std::vector<CheckDifference> diffs = compare_reports(report, baseline, options);
    size_t beyond = 0;
    for (const CheckDifference& d : diffs) {
        beyond += d.beyond;
        if (d.change == 0 && !d.beyond) continue;
        out << difference_text(d) << (d.beyond ? "  BEYOND" : "") << "\n";
    }
    out << fmt::format("{} values compared, {} beyond {}\n", diffs.size(), beyond, tolerance_text(options));
    if (!command.junit.empty()) {
        write_file_atomically(command.junit, check_junit_xml(diffs, options, report_path, baseline_path),
                              "JUnit XML report");
        if (!is_standard_output(command.junit)) out << "wrote " << command.junit << "\n";
    }
    if (!command.json.empty()) {
        write_file_atomically(command.json, check_json(diffs, options, report_path, baseline_path).dump(2) + "\n",
                              "JSON result");
        if (!is_standard_output(command.json)) out << "wrote " << command.json << "\n";
    }
    return beyond > 0 ? 1 : 0;
}

std::string check_junit_xml(const std::vector<CheckDifference>& diffs, const CheckOptions& options,
                            const std::string& report_path, const std::string& baseline_path) {
    size_t failures = 0;
    for (const CheckDifference& d : diffs) failures += d.beyond;
    std::ostringstream x;
    x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    x << fmt::format("<testsuites name=\"kpusim check\" tests=\"{}\" failures=\"{}\" errors=\"0\">\n",
                     diffs.size(), failures);
    x << fmt::format("  <testsuite name=\"kpusim check\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\">\n",
                     diffs.size(), failures);
    x << "    <properties>\n";
    x << "      <property name=\"report\" value=\"" << xml_escape(report_path) << "\"/>\n";
    x << "      <property name=\"baseline\" value=\"" << xml_escape(baseline_path) << "\"/>\n";
    x << "      <property name=\"tolerance\" value=\"" << xml_escape(tolerance_text(options)) << "\"/>\n";
    x << "    </properties>\n";
    for (const CheckDifference& d : diffs) {
        x << "    <testcase classname=\"kpusim.check\" name=\"" << xml_escape(d.what) << "\"";
        if (!d.beyond) {
            x << "/>\n";
            continue;
        }
        const std::string message = difference_text(d) + ": beyond " + tolerance_text(options);
        x << ">\n      <failure message=\"" << xml_escape(message) << "\" type=\"timing\">"
          << xml_escape(message) << "</failure>\n    </testcase>\n";
    }
    x << "  </testsuite>\n</testsuites>\n";
    return x.str();
}

nlohmann::ordered_json check_json(const std::vector<CheckDifference>& diffs, const CheckOptions& options,
                                  const std::string& report_path, const std::string& baseline_path) {
    size_t beyond = 0;
    nlohmann::ordered_json values = nlohmann::ordered_json::array();
    for (const CheckDifference& d : diffs) {
        beyond += d.beyond;
        values.push_back({{"what", d.what},
                          {"baseline", number_or_null(d.baseline)},
                          {"current", number_or_null(d.current)},
                          {"change", number_or_null(d.change)},
                          {"beyond", d.beyond}});
    }
    nlohmann::ordered_json j;
    j["kind"] = "check";
    j["report"] = report_path;
    j["baseline"] = baseline_path;
    j["tolerance"] = options.tolerance;
    j["direction"] = to_string(options.direction);
    j["passed"] = beyond == 0;
    j["compared"] = diffs.size();
    j["beyond"] = beyond;
    j["values"] = values;
    return j;
}

}  // namespace kpusim
