// `kpusim check`: the CI timing gate compares a run report with a baseline.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "models/kmodel_error.h"
#include "sim/report_check.h"
#include "tests/test_support.h"

using namespace kpusim;
using kpusim::test::shared_path;
using nlohmann::json;

namespace {

const char* kFaceDetect = "models/face_detect_maixpy_v3/facedetect.kmodel";

std::string temp_file(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("kpusim_test_" + std::to_string(::getpid()) + "_" + name))
        .string();
}

// A real report of the face detector made by the kpusim program (`--mode` as given).
json kpusim_report(const std::string& mode) {
    const std::string path = temp_file("report_" + mode + ".json");
    const std::string cmd = kpusim::test::kpusim_binary() + " run " + shared_path(kFaceDetect) + " --mode " + mode +
                            " --json " + path + " > /dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ifstream f(path);
    json j = json::parse(f);
    std::filesystem::remove(path);
    return j;
}

void write(const std::string& path, const json& j) {
    std::ofstream f(path);
    f << j.dump(2);
}

// Index of the first KPU layer with kpu_cycles > 0 in a layers array.
size_t first_kpu_layer(const json& layers) {
    for (size_t i = 0; i < layers.size(); ++i)
        if (layers[i]["kpu_cycles"].get<uint64_t>() > 1000) return i;
    return 0;
}

size_t count_beyond(const std::vector<CheckDifference>& d) {
    size_t n = 0;
    for (const auto& x : d) n += x.beyond;
    return n;
}

struct Check {
    int code = -1;
    std::string text;
};

Check run_check(const json& report, const json& baseline, const std::string& tolerance = "2%") {
    const std::string r = temp_file("check_report.json"), b = temp_file("check_baseline.json");
    write(r, report);
    write(b, baseline);
    std::ostringstream out;
    Check c;
    c.code = check_command(r, b, tolerance, out);
    c.text = out.str();
    std::filesystem::remove(r);
    std::filesystem::remove(b);
    return c;
}

}  // namespace

TEST(Check, UnchangedReportPasses) {
    const json report = kpusim_report("flash-dual");
    const std::vector<CheckDifference> d = compare_reports(report, report, {});
    // load_ms, forward_ms and 3 values per layer (plus schema_version and config keys).
    EXPECT_GE(d.size(), 2 + 3 * report["layers"].size());
    EXPECT_EQ(count_beyond(d), 0u);
    for (const auto& x : d) EXPECT_EQ(x.change, 0) << x.what;
    const Check c = run_check(report, report);
    EXPECT_EQ(c.code, 0) << c.text;
    EXPECT_NE(c.text.find(std::to_string(d.size()) + " values compared, 0 beyond \u00b12%"), std::string::npos)
        << c.text;
    // Only the summary: nothing moved.
    EXPECT_EQ(std::count(c.text.begin(), c.text.end(), '\n'), 1) << c.text;
}

TEST(Check, LayerCyclesFivePercentHigherFailsAndNamesTheLayer) {
    const json baseline = kpusim_report("flash-dual");
    json report = baseline;
    const size_t i = first_kpu_layer(report["layers"]);
    const uint64_t cycles = report["layers"][i]["kpu_cycles"].get<uint64_t>();
    report["layers"][i]["kpu_cycles"] = cycles + cycles / 20;  // +5 %
    const Check c = run_check(report, baseline);
    EXPECT_EQ(c.code, 1);
    const std::string name = "layers[" + std::to_string(i) + "] K210_CONV kpu_cycles";
    EXPECT_NE(c.text.find(name), std::string::npos) << c.text;
    EXPECT_NE(c.text.find("+5.00%"), std::string::npos) << c.text;
    EXPECT_NE(c.text.find("BEYOND"), std::string::npos) << c.text;
    EXPECT_NE(c.text.find(", 1 beyond \u00b12%"), std::string::npos) << c.text;
    // The same change is fine with a 10 % tolerance.
    EXPECT_EQ(run_check(report, baseline, "10%").code, 0);
}

TEST(Check, ChangesWithinTolerancePass) {
    const json baseline = kpusim_report("flash-dual");
    json report = baseline;
    report["forward_ms"] = baseline["forward_ms"].get<double>() * 1.01;
    const size_t i = first_kpu_layer(report["layers"]);
    json& layer = report["layers"][i];
    layer["end_ns"] = layer["end_ns"].get<uint64_t>() + (layer["end_ns"].get<uint64_t>() - layer["start_ns"].get<uint64_t>()) / 100;
    const Check c = run_check(report, baseline);
    EXPECT_EQ(c.code, 0) << c.text;
    EXPECT_NE(c.text.find("forward_ms"), std::string::npos) << c.text;  // printed: it moved
    EXPECT_NE(c.text.find("duration_ns"), std::string::npos) << c.text;
    EXPECT_EQ(c.text.find("BEYOND"), std::string::npos) << c.text;
    // Exactly at the tolerance passes; just past it fails.
    json at = baseline;
    at["load_ms"] = 100.0;
    json base100 = baseline;
    base100["load_ms"] = 98.0;
    EXPECT_EQ(count_beyond(compare_reports(at, base100, {0.0205})), 0u);
    EXPECT_EQ(count_beyond(compare_reports(at, base100, {0.02})), 1u);
}

TEST(Check, ModeAllReportsMatchModesByName) {
    const json baseline = kpusim_report("all");
    ASSERT_TRUE(baseline.contains("modes"));
    ASSERT_EQ(baseline["modes"].size(), 3u);
    // Order does not matter.
    json reordered = baseline;
    std::swap(reordered["modes"][0], reordered["modes"][2]);
    EXPECT_EQ(count_beyond(compare_reports(reordered, baseline, {})), 0u);
    // A change in one mode is named with that mode.
    json slower = reordered;
    for (json& m : slower["modes"])
        if (m["mode"] == "flash-single") m["forward_ms"] = m["forward_ms"].get<double>() * 1.05;
    const Check c = run_check(slower, baseline);
    EXPECT_EQ(c.code, 1);
    EXPECT_NE(c.text.find("flash-single: forward_ms"), std::string::npos) << c.text;
    EXPECT_EQ(c.text.find("flash-dual: forward_ms"), std::string::npos) << c.text;
    // A mode missing from the report.
    json fewer = baseline;
    fewer["modes"].erase(1);
    const std::vector<CheckDifference> d = compare_reports(fewer, baseline, {});
    ASSERT_EQ(count_beyond(d), 1u);
    bool named = false;
    for (const auto& x : d) named |= x.beyond && x.what.find("flash-single") != std::string::npos &&
                                     x.what.find("missing in the report") != std::string::npos;
    EXPECT_TRUE(named);
    // A single-mode report against a --mode all baseline.
    const json single = kpusim_report("flash-dual");
    EXPECT_GE(count_beyond(compare_reports(single, baseline, {})), 1u);
}

TEST(Check, StructuralMismatchesAreBeyond) {
    const json baseline = kpusim_report("flash-dual");
    auto only_beyond = [](const std::vector<CheckDifference>& d) {
        std::vector<std::string> w;
        for (const auto& x : d)
            if (x.beyond) w.push_back(x.what);
        return w;
    };
    // Schema version.
    json v2 = baseline;
    v2["schema_version"] = 2;
    std::vector<std::string> w = only_beyond(compare_reports(v2, baseline, {}));
    ASSERT_EQ(w.size(), 1u);
    EXPECT_NE(w[0].find("schema_version"), std::string::npos) << w[0];
    EXPECT_EQ(run_check(v2, baseline).code, 1);
    // Layer count.
    json fewer = baseline;
    fewer["layers"].erase(fewer["layers"].size() - 1);
    w = only_beyond(compare_reports(fewer, baseline, {}));
    ASSERT_EQ(w.size(), 1u);
    EXPECT_NE(w[0].find("layers: " + std::to_string(baseline["layers"].size()) + " in the baseline"),
              std::string::npos)
        << w[0];
    // A missing key.
    json missing = baseline;
    missing.erase("load_ms");
    missing["layers"][0].erase("cpu_cycles");
    w = only_beyond(compare_reports(missing, baseline, {}));
    ASSERT_EQ(w.size(), 2u);
    EXPECT_EQ(w[0], "load_ms: missing in the report");
    EXPECT_NE(w[1].find("layers[0]"), std::string::npos);
    EXPECT_NE(w[1].find("cpu_cycles: missing in the report"), std::string::npos) << w[1];
    // Another setting.
    json other = baseline;
    other["config"]["spi_speed_hz"] = 40'000'000;
    w = only_beyond(compare_reports(other, baseline, {}));
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0], "config.spi_speed_hz");
    // A cycle count that was 0.
    json from_zero = baseline;
    const size_t cpu = [&] {
        for (size_t i = 0; i < baseline["layers"].size(); ++i)
            if (baseline["layers"][i]["cpu_cycles"] == 0) return i;
        return size_t{0};
    }();
    from_zero["layers"][cpu]["cpu_cycles"] = 1;
    EXPECT_EQ(count_beyond(compare_reports(from_zero, baseline, {})), 1u);
}

TEST(Check, ToleranceParsing) {
    EXPECT_DOUBLE_EQ(parse_tolerance("2%"), 0.02);
    EXPECT_DOUBLE_EQ(parse_tolerance("0.5 %"), 0.005);
    EXPECT_DOUBLE_EQ(parse_tolerance("0.02"), 0.02);
    EXPECT_DOUBLE_EQ(parse_tolerance("0"), 0.0);
    EXPECT_DOUBLE_EQ(parse_tolerance("150%"), 1.5);
    for (const char* bad : {"", "%", "two", "2%%", "-1%", "-0.01", "5", "nan", "inf%", "2 percent", " 2%"}) {
        try {
            parse_tolerance(bad);
            ADD_FAILURE() << "accepted '" << bad << "'";
        } catch (const InputError& e) {
            EXPECT_NE(std::string(e.what()).find("--tolerance"), std::string::npos) << e.what();
        }
    }
}

TEST(Check, UnreadableOrNonJsonFilesNameTheFile) {
    const std::string good = temp_file("good.json"), junk = temp_file("junk.json");
    write(good, json{{"schema_version", 1}});
    {
        std::ofstream f(junk);
        f << "not json {";
    }
    std::ostringstream out;
    try {
        check_command("/nonexistent/report.json", good, "2%", out);
        ADD_FAILURE();
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/report.json"), std::string::npos) << e.what();
    }
    try {
        check_command(good, junk, "2%", out);
        ADD_FAILURE();
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find(junk), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("not JSON"), std::string::npos) << e.what();
    }
    EXPECT_THROW(check_command(good, good, "lots", out), InputError);
    std::filesystem::remove(good);
    std::filesystem::remove(junk);
}
