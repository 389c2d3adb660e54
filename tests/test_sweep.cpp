// `kpusim sweep`: range parsing, a small sweep whose points match single runs exactly,
// invalid points recorded, the fastest-fitting choice and the budget rule, CSV, JSON, plot.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "memory/general_sram.h"
#include "models/kmodel_error.h"
#include "models/kmodel_loader.h"
#include "sim/model_input.h"
#include "sim/simulate.h"
#include "sim/sweep.h"
#include "tests/test_support.h"

using namespace kpusim;
using kpusim::test::shared_path;

namespace {

const char* kFaceDetect = "models/face_detect_maixpy_v3/facedetect.kmodel";  // largest body 68096 B

std::string temp_file(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("kpusim_test_" + std::to_string(::getpid()) + "_" + name))
        .string();
}

std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

RunSettings base_settings() {
    RunSettings s;
    s.mode = RunMode::flash_dual;
    s.source = ModelSource::flash;
    s.cpu_hz = 400'000'000;
    s.kpu_hz = 400'000'000;
    s.compute_outputs = false;
    return s;
}

// 3 batch sizes (0x14000 = 81920 is above the largest body) x 3 speeds (120M makes 133 MHz,
// above the SPI3 limit): 4 valid points, 5 invalid.
struct SmallSweep {
    Model model = load_kmodel(shared_path(kFaceDetect));
    std::vector<uint8_t> input = test_pattern(model.input);
    SweepRange batch = parse_sweep_range("0x4000:0x14000:0x8000", "--batch-size");
    SweepRange spi = parse_sweep_range("40M:120M:40M", "--spi-speed");
    SweepResult run(uint64_t budget) { return run_sweep(model, input, base_settings(), batch, spi, budget); }
};

SweepPoint point(uint64_t batch, uint64_t hz, uint64_t forward, uint64_t ram, bool fits, bool valid = true) {
    SweepPoint p;
    p.batch_size = batch;
    p.spi_speed_hz = hz;
    p.forward_ps = forward;
    p.ram_used = ram;
    p.fits_budget = fits;
    p.valid = valid;
    return p;
}

}  // namespace

TEST(Sweep, RangeParsing) {
    const SweepRange b = parse_sweep_range("0x4000:0x20000:0x4000", "--batch-size");
    EXPECT_EQ(b.first, 0x4000u);
    EXPECT_EQ(b.last, 0x20000u);
    EXPECT_EQ(b.step, 0x4000u);
    EXPECT_EQ(b.values().size(), 8u);
    EXPECT_EQ(b.values().back(), 0x20000u);
    const std::vector<uint64_t> spi = parse_sweep_range("20M:80M:10M", "--spi-speed").values();
    ASSERT_EQ(spi.size(), 7u);
    EXPECT_EQ(spi.front(), 20'000'000u);
    EXPECT_EQ(spi.back(), 80'000'000u);
    const SweepRange one = parse_sweep_range("0xC000", "--batch-size");
    EXPECT_EQ(one.values(), std::vector<uint64_t>{0xC000});
    EXPECT_EQ(parse_sweep_range("48Ki", "x").values(), std::vector<uint64_t>{49152});
    // A last value off the grid is not reached.
    EXPECT_EQ(parse_sweep_range("1:10:4", "x").values(), (std::vector<uint64_t>{1, 5, 9}));
    EXPECT_EQ(parse_sweep_range("5:5:3", "x").values(), std::vector<uint64_t>{5});
    EXPECT_EQ(parse_sweep_range("1:10000:1", "x").values().size(), 10000u);
}

TEST(Sweep, RangeErrorsNameTheOption) {
    const char* bad[] = {"0x4000:0x20000:0",  // step 0
                         "80M:20M:10M",       // last < first
                         "1:10001:1",         // 10,001 points
                         "1:2",               // two parts
                         "1:2:3:4",           // four parts
                         "20M:eighty:10M",    // junk
                         ""};
    for (const char* text : bad) {
        try {
            parse_sweep_range(text, "--spi-speed");
            ADD_FAILURE() << "accepted '" << text << "'";
        } catch (const InputError& e) {
            EXPECT_NE(std::string(e.what()).find("--spi-speed"), std::string::npos) << e.what();
        }
    }
}

TEST(Sweep, PointsMatchSingleRunsExactly) {
    SmallSweep sw;
    std::vector<std::pair<size_t, size_t>> calls;
    const SweepResult r = run_sweep(sw.model, sw.input, base_settings(), sw.batch, sw.spi, 2 * 1024 * 1024,
                                    [&](size_t done, size_t total) { calls.push_back({done, total}); });
    ASSERT_EQ(r.batch_sizes, (std::vector<uint64_t>{0x4000, 0xC000, 0x14000}));
    ASSERT_EQ(r.spi_speeds, (std::vector<uint64_t>{40'000'000, 80'000'000, 120'000'000}));
    ASSERT_EQ(r.points.size(), 9u);
    // Progress: before the first run and after each of the 10 (9 points + the RAM reference).
    ASSERT_EQ(calls.size(), 11u);
    EXPECT_EQ(calls.front(), (std::pair<size_t, size_t>{0, 10}));
    EXPECT_EQ(calls.back(), (std::pair<size_t, size_t>{10, 10}));

    size_t valid = 0;
    for (size_t i = 0; i < 3; ++i) {
        for (size_t j = 0; j < 3; ++j) {
            const SweepPoint& p = r.points[i * 3 + j];
            EXPECT_EQ(p.batch_size, r.batch_sizes[i]);
            EXPECT_EQ(p.spi_speed_hz, r.spi_speeds[j]);
            RunSettings s = base_settings();
            s.batch_size = p.batch_size;
            s.spi_speed_hz = p.spi_speed_hz;
            s.ram_budget_bytes = memory::kGeneralSramSize;
            if (i == 2 || j == 2) {
                // Invalid settings are recorded, not thrown.
                EXPECT_FALSE(p.valid);
                EXPECT_FALSE(p.fits_budget);
                EXPECT_THROW(run_standalone(sw.model, sw.input, s), InputError);
                if (i == 2) {
                    EXPECT_NE(p.error.find("largest layer body"), std::string::npos) << p.error;
                } else {
                    EXPECT_NE(p.error.find("SPI"), std::string::npos) << p.error;
                }
                continue;
            }
            ++valid;
            ASSERT_TRUE(p.valid) << p.error;
            EXPECT_TRUE(p.error.empty());
            const RunResult single = run_standalone(sw.model, sw.input, s);
            EXPECT_EQ(p.forward_ps, single.timing.forward_ps);
            EXPECT_EQ(p.load_ps, single.timing.load_ps);
            EXPECT_EQ(p.ram_used, single.memory.ram_used);
            EXPECT_EQ(p.spi_actual_hz, single.timing.spi_actual_hz);
            EXPECT_EQ(p.ram_free, 2u * 1024 * 1024 - p.ram_used);
            EXPECT_TRUE(p.fits_budget);
        }
    }
    EXPECT_EQ(valid, 4u);
    // Timing-only points equal a run that computes the outputs.
    RunSettings full = base_settings();
    full.batch_size = 0xC000;
    full.spi_speed_hz = 80'000'000;
    full.ram_budget_bytes = memory::kGeneralSramSize;
    full.compute_outputs = true;
    const RunResult with_outputs = run_standalone(sw.model, sw.input, full);
    EXPECT_FALSE(with_outputs.outputs.empty());
    EXPECT_EQ(r.points[1 * 3 + 1].forward_ps, with_outputs.timing.forward_ps);
    // The RAM-mode reference.
    RunSettings ram = base_settings();
    ram.mode = RunMode::ram;
    ram.ram_budget_bytes = memory::kGeneralSramSize;
    const RunResult ram_run = run_standalone(sw.model, sw.input, ram);
    EXPECT_TRUE(r.ram_mode_error.empty());
    EXPECT_EQ(r.ram_forward_ps, ram_run.timing.forward_ps);
    EXPECT_EQ(r.ram_load_ps, ram_run.timing.load_ps);
    EXPECT_EQ(r.ram_mode_ram_used, ram_run.memory.ram_used);
    EXPECT_LT(r.ram_forward_ps, r.points[0].forward_ps);
    // Faster SCK, faster forward; the fastest fitting point is the 80M one with the lower time.
    EXPECT_LT(r.points[1].forward_ps, r.points[0].forward_ps);
    EXPECT_LT(r.points[4].forward_ps, r.points[3].forward_ps);
    ASSERT_GE(r.fastest_fitting, 0);
    const SweepPoint& f = r.points[static_cast<size_t>(r.fastest_fitting)];
    EXPECT_EQ(f.spi_speed_hz, 80'000'000u);
    for (const SweepPoint& p : r.points) {
        if (p.valid) {
            EXPECT_LE(f.forward_ps, p.forward_ps);
        }
    }
    EXPECT_EQ(r.base.ram_budget_bytes, 2u * 1024 * 1024);
}

TEST(Sweep, BudgetRule) {
    SmallSweep sw;
    const SweepResult roomy = sw.run(memory::kGeneralSramSize);
    ASSERT_GE(roomy.fastest_fitting, 0);
    const uint64_t used = roomy.points[static_cast<size_t>(roomy.fastest_fitting)].ram_used;
    // A budget one byte short of the flash runner's buffers: every point is still timed, none fits.
    const SweepResult tight = sw.run(used - 1);
    EXPECT_EQ(tight.fastest_fitting, -1);
    for (size_t k = 0; k < tight.points.size(); ++k) {
        EXPECT_EQ(tight.points[k].valid, roomy.points[k].valid);
        EXPECT_FALSE(tight.points[k].fits_budget);
        if (tight.points[k].valid) {
            EXPECT_EQ(tight.points[k].forward_ps, roomy.points[k].forward_ps);
            EXPECT_EQ(tight.points[k].ram_free, 0u);
        }
    }
    // Exactly the buffers: fits.
    const SweepResult exact = sw.run(used);
    EXPECT_EQ(exact.fastest_fitting, roomy.fastest_fitting);
    EXPECT_EQ(exact.points[static_cast<size_t>(exact.fastest_fitting)].ram_free, 0u);
    // A budget above the 6 MiB general SRAM is an error, not a sweep.
    EXPECT_THROW(sw.run(memory::kGeneralSramSize + 1), InputError);
    // A base that no point could make valid is an error too.
    RunSettings bad = base_settings();
    bad.cpu_hz = 0;
    EXPECT_THROW(run_sweep(sw.model, sw.input, bad, sw.batch, sw.spi, used), InputError);
}

TEST(Sweep, FastestFittingTieBreaks) {
    std::vector<SweepPoint> p = {
        point(0x4000, 80'000'000, 100, 500, true),
        point(0x8000, 80'000'000, 90, 600, false),       // fastest, but over the budget
        point(0xC000, 80'000'000, 80, 600, true, false),  // invalid
        point(0x8000, 70'000'000, 100, 400, true),       // same time, less RAM: wins the tie
    };
    EXPECT_EQ(choose_fastest_fitting(p), 3);
    p.push_back(point(0x4000, 75'000'000, 100, 400, true));  // same time and RAM, smaller batch
    EXPECT_EQ(choose_fastest_fitting(p), 4);
    p.push_back(point(0x4000, 70'000'000, 100, 400, true));  // ... and a lower SPI speed
    EXPECT_EQ(choose_fastest_fitting(p), 5);
    p.push_back(point(0x20000, 90'000'000, 99, 9000, true));  // faster beats everything else
    EXPECT_EQ(choose_fastest_fitting(p), 6);
    EXPECT_EQ(choose_fastest_fitting({point(1, 1, 1, 1, false), point(1, 1, 1, 1, true, false)}), -1);
    EXPECT_EQ(choose_fastest_fitting({}), -1);
}

TEST(Sweep, CsvHeaderAndRows) {
    SmallSweep sw;
    const SweepResult r = sw.run(2 * 1024 * 1024);
    const std::string path = temp_file("sweep.csv");
    write_sweep_csv(r, path);
    std::ifstream f(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(f, line);) lines.push_back(line);
    std::filesystem::remove(path);
    ASSERT_EQ(lines.size(), r.points.size() + 2);
    EXPECT_EQ(lines[0],
              "mode,source,batch_size,spi_speed_hz,spi_actual_hz,forward_ms,load_ms,ram_used_bytes,ram_free_bytes,"
              "fits_budget,valid,error,recommended");
    // The RAM-mode reference first, without batch size and SPI speed; recommended when it is
    // the fastest that fits.
    EXPECT_EQ(lines[1].rfind("ram,flash,,,,", 0), 0u) << lines[1];
    const bool ram_recommended = recommend(r).kind == SweepRecommendation::Kind::ram;
    EXPECT_NE(lines[1].find(std::string(",true,true,,") + (ram_recommended ? "true" : "false")), std::string::npos)
        << lines[1];
    EXPECT_EQ(lines[2].rfind("flash-dual,flash,16384,40000000,40000000,", 0), 0u) << lines[2];
    EXPECT_NE(lines[2].find(",true,true,"), std::string::npos) << lines[2];
    // An invalid point: empty measurements, valid false, the reason.
    EXPECT_NE(lines[4].find(",,,,,false,false,"), std::string::npos) << lines[4];
    EXPECT_NE(lines[4].find("SPI3 limit"), std::string::npos) << lines[4];
    // Exactly one row is recommended.
    size_t recommended = 0;
    for (size_t i = 1; i < lines.size(); ++i) recommended += lines[i].size() > 5 && lines[i].substr(lines[i].size() - 5) == ",true";
    EXPECT_EQ(recommended, 1u);
    // Every row has the 13 columns (quoted fields keep their commas).
    for (const std::string& line : lines) {
        size_t commas = 0;
        bool quoted = false;
        for (char c : line) {
            if (c == '"') quoted = !quoted;
            commas += c == ',' && !quoted;
        }
        EXPECT_EQ(commas, 12u) << line;
    }
    EXPECT_THROW(write_sweep_csv(r, "/nonexistent-dir/x.csv"), InputError);
}

TEST(Sweep, JsonKeys) {
    SmallSweep sw;
    SweepResult r = sw.run(2 * 1024 * 1024);
    r.model_path = shared_path(kFaceDetect);
    const nlohmann::ordered_json j = sweep_json(r);
    std::vector<std::string> keys;
    for (const auto& [k, v] : j.items()) keys.push_back(k);
    EXPECT_EQ(keys, (std::vector<std::string>{"schema_version", "kind", "model", "config", "ram_reference",
                                              "fastest_fitting", "recommended", "points"}));
    EXPECT_EQ(j["schema_version"], kSweepSchemaVersion);
    EXPECT_EQ(j["kind"], "sweep");
    EXPECT_EQ(j["config"]["mode"], "flash-dual");
    EXPECT_EQ(j["config"]["source"], "flash");
    EXPECT_EQ(j["config"]["ram_budget_bytes"], 2 * 1024 * 1024);
    EXPECT_EQ(j["config"]["batch_sizes"].size(), 3u);
    EXPECT_EQ(j["config"]["spi_speeds_hz"].size(), 3u);
    EXPECT_EQ(j["ram_reference"]["forward_ms"].get<double>(), static_cast<double>((r.ram_forward_ps + 500) / 1000) / 1e6);
    EXPECT_TRUE(j["ram_reference"]["fits_budget"].get<bool>());
    ASSERT_TRUE(j["fastest_fitting"].is_object());
    EXPECT_EQ(j["fastest_fitting"]["index"], r.fastest_fitting);
    EXPECT_EQ(j["fastest_fitting"]["spi_speed_hz"], 80'000'000);
    ASSERT_EQ(j["points"].size(), 9u);
    for (const char* k : {"batch_size", "spi_speed_hz", "valid", "spi_actual_hz", "forward_ms", "load_ms",
                          "ram_used_bytes", "ram_free_bytes", "fits_budget"})
        EXPECT_TRUE(j["points"][0].contains(k)) << k;
    EXPECT_FALSE(j["points"][2]["valid"].get<bool>());
    EXPECT_TRUE(j["points"][2].contains("error"));
    // recommended: the faster of the RAM mode and the fastest fitting flash point.
    ASSERT_TRUE(j["recommended"].is_object());
    const bool ram_faster = r.ram_forward_ps <= r.points[static_cast<size_t>(r.fastest_fitting)].forward_ps;
    EXPECT_EQ(j["recommended"]["mode"], ram_faster ? "ram" : "flash-dual");
    EXPECT_EQ(j["recommended"]["forward_ms"],
              ram_faster ? j["ram_reference"]["forward_ms"] : j["fastest_fitting"]["forward_ms"]);
    // No point fits: fastest_fitting and recommended are null.
    EXPECT_TRUE(sweep_json(sw.run(1000))["fastest_fitting"].is_null());
    EXPECT_TRUE(sweep_json(sw.run(1000))["recommended"].is_null());
}

TEST(Sweep, PlotSvgNamesTheSeries) {
    if (!gnuplot_available()) GTEST_SKIP() << "gnuplot is not installed (apt-get install gnuplot-nox)";
    SmallSweep sw;
    SweepResult r = sw.run(2 * 1024 * 1024);
    r.model_path = shared_path(kFaceDetect);
    const std::string path = temp_file("sweep.svg");
    plot_sweep(r, path);
    const std::string svg = slurp(path);
    std::filesystem::remove(path);
    ASSERT_FALSE(svg.empty());
    EXPECT_NE(svg.find("<svg"), std::string::npos);
    EXPECT_NE(svg.find("40.0 MHz (40M)"), std::string::npos);
    EXPECT_NE(svg.find("80.0 MHz (80M)"), std::string::npos);
    EXPECT_NE(svg.find("RAM mode"), std::string::npos);
    EXPECT_NE(svg.find("fastest that fits"), std::string::npos);
    EXPECT_NE(svg.find("facedetect.kmodel"), std::string::npos);
    EXPECT_NE(svg.find("0xC000"), std::string::npos);              // hex ticks
    EXPECT_NE(svg.find("5 invalid settings"), std::string::npos);  // the note
    // Over the budget: the key says so.
    const SweepResult tight = sw.run(1000);
    plot_sweep(tight, path);
    EXPECT_NE(slurp(path).find("over the RAM budget"), std::string::npos);
    std::filesystem::remove(path);
    EXPECT_THROW(plot_sweep(r, temp_file("sweep.pdf")), InputError);
}

TEST(Sweep, PlotPng) {
    if (!gnuplot_available()) GTEST_SKIP() << "gnuplot is not installed (apt-get install gnuplot-nox)";
    SmallSweep sw;
    const SweepResult r = sw.run(2 * 1024 * 1024);
    const std::string path = temp_file("sweep.png");
    plot_sweep(r, path);
    const std::string png = slurp(path);
    std::filesystem::remove(path);
    ASSERT_GT(png.size(), 8u);
    EXPECT_EQ(png.substr(1, 3), "PNG");
}

TEST(Sweep, CommandPrintsTableAndFastest) {
    SweepOptions o;
    o.model = shared_path(kFaceDetect);
    o.batch_range = "0x4000:0x14000:0x8000";
    o.spi_range = "40M:120M:40M";
    o.ram_budget = "maixpy-full";
    o.csv = temp_file("cmd.csv");
    o.json = temp_file("cmd.json");
    std::ostringstream out;
    EXPECT_EQ(sweep_command(o, out), 0);
    const std::string text = out.str();
    EXPECT_NE(text.find("0xC000"), std::string::npos) << text;
    EXPECT_NE(text.find("fastest that fits the budget: batch_size"), std::string::npos) << text;
    EXPECT_NE(text.find("- invalid:"), std::string::npos) << text;
    EXPECT_TRUE(std::filesystem::exists(o.csv));
    const auto j = nlohmann::json::parse(slurp(o.json));
    EXPECT_EQ(j["points"].size(), 9u);
    std::filesystem::remove(o.csv);
    std::filesystem::remove(o.json);

    // Over the budget: '*' and "no setting fits".
    SweepOptions tight = o;
    tight.csv = tight.json = "";
    tight.ram_budget = "1000";
    std::ostringstream out2;
    sweep_command(tight, out2);
    EXPECT_NE(out2.str().find("*"), std::string::npos);
    EXPECT_NE(out2.str().find("no flash-dual setting fits the RAM budget"), std::string::npos) << out2.str();
    EXPECT_NE(out2.str().find("recommended: nothing: no setting fits the budget"), std::string::npos) << out2.str();
}

TEST(Sweep, CommandRejectsBadOptions) {
    SweepOptions o;
    o.model = shared_path(kFaceDetect);
    std::ostringstream out;
    auto rejects = [&](SweepOptions x, const std::string& needle) {
        try {
            sweep_command(x, out);
            ADD_FAILURE() << "accepted (expected an error naming " << needle << ")";
        } catch (const InputError& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    SweepOptions x = o;
    x.mode = "ram";
    rejects(x, "--mode ram");
    x = o;
    x.mode = "flash-single";
    x.batch_range = "0x4000:0x8000:0x4000";
    rejects(x, "--batch-size");
    x = o;
    x.source = "psram-qspi";
    x.spi_range = "20M:80M:10M";
    rejects(x, "--spi-speed");
    x = o;
    x.ram_budget = "7Mi";
    rejects(x, "--ram-budget");
    x = o;
    x.ram_budget = "lots";
    rejects(x, "--ram-budget");
    x = o;
    x.plot = "sweep.jpg";
    rejects(x, "--plot");
    x = o;
    x.cpu_freq = "900M";
    rejects(x, "CPU frequency");
    x = o;
    x.model = "/nonexistent.kmodel";
    rejects(x, "/nonexistent.kmodel");
}
