// The calibration: the committed parameter file is what a fresh fit of the committed
// measurements gives, the simulator's defaults are that file, and the fitted model meets the
// issue's targets on the measurements (in fit within 5 %, out of fit within 15 %).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <cstdlib>
#include <fstream>

#include "common/errors.h"
#include "kpu_core/kpu_timing.h"
#include "models/kmodel_v3_builder.h"
#include "sim/calibration_fit.h"
#include "sim/parameters.h"

using namespace kpusim;

namespace {

const std::string kData = KPUSIM_CALIBRATION_DIR "/measurements";
const std::string kParams = KPUSIM_CALIBRATION_DIR "/parameters.json";
constexpr double kRelTolerance = 1e-9;  // the committed file holds 17 significant digits

double value(const nlohmann::ordered_json& j, const std::string& key) {
    const auto dot = key.find('.');
    return j.at(key.substr(0, dot)).at(key.substr(dot + 1)).get<double>();
}

void expect_same(const Parameters& a, const Parameters& b, const std::vector<std::string>& keys) {
    const auto ja = a.to_json(), jb = b.to_json();
    for (const std::string& k : keys) {
        const double x = value(ja, k), y = value(jb, k);
        EXPECT_LE(std::abs(x - y), kRelTolerance * std::max(std::abs(x), std::abs(y))) << k << ": " << x << " vs " << y;
    }
}

Parameters committed() {
    Parameters p = Parameters::defaults();
    // Start from values far from the file so that every key must come from it.
    for (const std::string& k : Parameters::keys()) p.set(k, "7");
    p.load_file(kParams);
    return p;
}

std::string temp_dir(const std::string& name) {
    const auto d = std::filesystem::temp_directory_path() / ("kpusim_calib_" + name);
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    return d.string();
}

}  // namespace

TEST(CalibrationFit, CommittedParameterFileIsEveryKey) {
    std::ifstream f(kParams);
    ASSERT_TRUE(f) << kParams;
    const nlohmann::json j = nlohmann::json::parse(f);
    for (const std::string& k : Parameters::keys()) {
        const auto dot = k.find('.');
        EXPECT_TRUE(j.contains(k.substr(0, dot)) && j.at(k.substr(0, dot)).contains(k.substr(dot + 1))) << k;
    }
}

TEST(CalibrationFit, DefaultsEqualTheCommittedParameterFile) {
    expect_same(Parameters::defaults(), committed(), Parameters::keys());
}

TEST(CalibrationFit, FreshFitReproducesTheCommittedParameters) {
    const MeasurementData data = load_measurements(kData);
    // Start the fit from a set whose fitted keys are all wrong: the result must not depend on it.
    Parameters start = Parameters::defaults();
    for (const std::string& k : fitted_keys()) start.set(k, "1");
    const Parameters fitted = fit_parameters(data, start, KPUSIM_SHARED_DIR);
    expect_same(fitted, committed(), fitted_keys());
}

TEST(CalibrationFit, EveryMeasurementHasARowAndTheTargetsHold) {
    const MeasurementData data = load_measurements(kData);
    const std::vector<CalibrationRow> rows = calibration_rows(data, Parameters::defaults(), KPUSIM_SHARED_DIR);
    ASSERT_EQ(rows.size(), data.points.size());
    int c2 = 0, c3 = 0, out_of_fit = 0, loo = 0;
    for (const CalibrationRow& r : rows) {
        c2 += r.id.rfind("C2-L", 0) == 0;
        c3 += r.id.rfind("C3-", 0) == 0;
        if (r.in_fit) {
            EXPECT_LT(std::abs(r.error_pct), 5.0) << r.id;
        } else {
            ++out_of_fit;
            EXPECT_LT(std::abs(r.error_pct), 15.0) << r.id;
        }
        if (r.loo_error_pct) ++loo;
        EXPECT_GT(r.predicted_ms, 0) << r.id;
    }
    EXPECT_EQ(c2, 24);
    EXPECT_EQ(c3, 10);
    EXPECT_GE(out_of_fit, 3);  // C2 total, two nncase#95 convolutions
    EXPECT_GE(loo, 30);        // C2's KPU layers but layer 22, and C3's sizes
    EXPECT_EQ(data.unreproduced.size(), 1u);  // W6
}

TEST(CalibrationFit, C3EverySizeWithin15PercentOutOfSample) {
    // Leave-one-out: each size predicted by the 16-bit constants fitted without it.
    const MeasurementData data = load_measurements(kData);
    int seen = 0;
    for (const CalibrationRow& r : calibration_rows(data, Parameters::defaults(), KPUSIM_SHARED_DIR)) {
        if (r.id.rfind("C3-", 0) != 0) continue;
        ++seen;
        ASSERT_TRUE(r.loo_error_pct.has_value()) << r.id;
        EXPECT_LT(std::abs(*r.loo_error_pct), 15.0) << r.id;
    }
    EXPECT_EQ(seen, 10);
}

TEST(CalibrationFit, MissingFieldIsNamed) {
    const std::string dir = temp_dir("missing");
    std::ofstream(dir + "/x.json") << R"({"set": "X", "source": "s", "clocks": {"cpu_hz": 1, "kpu_hz": 1},
        "model": {"shared": "m"}, "points": [{"id": "X-1", "what": "forward", "in_fit": false}]})";
    try {
        load_measurements(dir);
        FAIL() << "no error";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("measured_ms"), std::string::npos) << e.what();
    }
    std::ofstream(dir + "/x.json") << "{ not json";
    EXPECT_THROW(load_measurements(dir), InputError);
    EXPECT_THROW(load_measurements(dir + "/nope"), InputError);
}

TEST(CalibrationFit, SixteenBitFloorIsTheWeightFetch) {
    // A 3x3 128 -> 128 conv at 4x4 (C3's smallest): compute + write-back is smaller than the
    // 16-bit weight fetch, so the fetch sets the time; at 64x64 the compute does.
    kpu::KpuTimingParameters p = Parameters::defaults().kpu;
    p.w16_cycles_per_row_op = 1;
    p.w16_cycles_per_pass = 4;
    p.cycles_per_output_row = 2;
    p.w16_cycles_per_weight_byte = 0.5;
    p.w16_layer_overhead = 1000;
    auto arg_for = [](uint32_t size) {
        KpuConvDesc d;
        d.in_width = d.in_height = size;
        d.in_channels = d.out_channels = 128;
        d.kernel = 3;
        const auto words = encode_layer_argument(d, false);
        uint8_t bytes[96];
        for (size_t w = 0; w < 12; ++w)
            for (size_t i = 0; i < 8; ++i) bytes[8 * w + i] = static_cast<uint8_t>(words[w] >> (8 * i));
        return kpu::LayerArgument::decode(bytes);
    };
    const kpu::KpuLayerCycles small = kpu::kpu_layer_cycles(arg_for(4), false, false, p);
    EXPECT_EQ(small.weight_bytes, 128u * 128 * 9 * 2);
    EXPECT_EQ(small.row_ops, 4u * 32 * 128);  // 4 rows x 32 groups of 4 channels x 128 outputs
    EXPECT_EQ(small.passes, 32u * 128);
    EXPECT_EQ(small.compute, small.row_ops + 4 * small.passes);
    EXPECT_EQ(small.write_back, 2u * 4 * 32);
    // total = max(compute + write-back, fetch) + overhead
    EXPECT_EQ(small.total, small.weight_bytes / 2 + 1000);
    const kpu::KpuLayerCycles big = kpu::kpu_layer_cycles(arg_for(64), false, false, p);
    EXPECT_EQ(big.weight_fetch, 0u);
    EXPECT_EQ(big.total, big.compute + big.write_back + 1000);
    // 8-bit layers keep their own constants.
    const kpu::KpuLayerCycles eight = kpu::kpu_layer_cycles(arg_for(64), true, false, p);
    EXPECT_EQ(eight.weight_bytes, 128u * 128 * 9);
    EXPECT_EQ(eight.overhead, static_cast<uint64_t>(std::llround(p.layer_overhead)));
}

TEST(CalibrationFit, CliWritesRowsAndTheFittedFile) {
    const std::string rows_path = "/tmp/kpusim_calibrate_rows.json", params_path = "/tmp/kpusim_calibrate_params.json";
    std::filesystem::remove(rows_path);
    std::filesystem::remove(params_path);
    const std::string cmd = std::string(KPUSIM_BINARY) + " calibrate --fit --output " + params_path + " --json " +
                            rows_path + " > /dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ifstream rf(rows_path);
    ASSERT_TRUE(rf);
    const nlohmann::json rows = nlohmann::json::parse(rf);
    ASSERT_EQ(rows.at("rows").size(), load_measurements(kData).points.size());
    for (const auto& r : rows.at("rows")) {
        for (const char* key : {"id", "source", "setting", "predicted_ms", "measured_ms", "error_pct", "in_fit", "loo_error_pct"})
            EXPECT_TRUE(r.contains(key)) << key << " in " << r.dump();
        const double err = 100 * (r.at("predicted_ms").get<double>() - r.at("measured_ms").get<double>()) /
                           r.at("measured_ms").get<double>();
        EXPECT_NEAR(r.at("error_pct").get<double>(), err, 1e-9) << r.at("id");
    }
    EXPECT_EQ(rows.at("not_reproduced").size(), 1u);
    Parameters written = Parameters::defaults();
    written.load_file(params_path);
    expect_same(written, committed(), Parameters::keys());
}
