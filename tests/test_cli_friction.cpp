// The rough edges a new user hits (issue 11, "What to build" 5), end to end through the
// kpusim program: decode guesses that fail become warnings, YOLOv2 with 0 classes, guessed
// anchors said aloud, sweep against kpu.load, check's direction and machine-readable
// results, exit codes, "-" as standard output, defaults in the help, RAM-mode reports
// without flash settings, out-of-memory errors naming the presets, absurd clocks.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "models/kmodel_v3_builder.h"
#include "tests/test_support.h"

using kpusim::test::read_text;
using kpusim::test::shared_path;

namespace {

const char* kMobileNet = "models/mobilenetv1_0.75_imagenet_v3/mbnet75.kmodel";
const char* kIris = "models/iris_v3/iris.kmodel";
const char* kVocYolo = "models/yolo20_voc_nncase_v3/yolo.kmodel";
const char* kLicencePlate = "models/licenseplate_detect_canmv_v3/lp_detect.kmodel";

/// A fresh folder for one test's files (removed by the destructor).
struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/kpusim_friction_XXXXXX";
        const char* p = mkdtemp(tmpl);
        path = p ? p : "/tmp";
    }
    ~TempDir() {
        std::error_code ec;
        if (path != "/tmp") std::filesystem::remove_all(path, ec);
    }
    std::string operator/(const std::string& name) const { return path + "/" + name; }
};

/// The kpusim program's stdout and stderr, kept apart, and its exit status.
struct Split {
    int status;
    std::string out, err;
};

Split run_split(const std::string& args, const TempDir& dir) {
    const std::string out = dir / "stdout.txt", err = dir / "stderr.txt";
    const std::string cmd = kpusim::test::kpusim_binary() + " " + args + " > " + out + " 2> " + err;
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(out), read_text(err)};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// A V3 model whose one float output is 1 x channels x 7 x 10, made by a 1x1 KPU conv of a
/// 3-channel 10 x 7 input streaming to main memory and a DEQUANTIZE: with 35 channels it looks
/// like a tiny YOLOv2 of 5 anchors x (5 + 2 classes), a layout with no built-in anchors.
std::string yolo_looking_model(const TempDir& dir, uint32_t channels) {
    kpusim::KpuConvDesc d;
    d.in_width = 10;
    d.in_height = 7;
    d.in_channels = 3;
    d.out_channels = channels;
    d.kernel = 1;
    d.in_row = 0;
    d.out_row = 64;
    d.main_mem_out = 0;
    for (uint32_t i = 0; i < d.weight_count(); ++i) d.weights.push_back(static_cast<uint8_t>(i % 5));
    d.bn.assign(channels, kpusim::BnEntry{1, 0, 0});
    kpusim::KmodelV3Builder b;
    b.add_conv(d);
    const uint32_t elements = channels * 7 * 10;
    const uint32_t floats_at = (elements + 7) / 8 * 8;
    b.add_dequantize(0, floats_at, elements, 0.05f, -4.0f);
    b.add_output(floats_at, elements);
    const std::vector<uint8_t> bytes = b.build();
    const std::string path = dir / ("yolo_looking_" + std::to_string(channels) + ".kmodel");
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                static_cast<std::streamsize>(bytes.size()));
    return path;
}

nlohmann::json json_file(const std::string& path) { return nlohmann::json::parse(read_text(path)); }

}  // namespace

// ---- 1. a failed decode guess falls back to no decoding --------------------------------------

TEST(CliFriction, FailedYoloGuessFallsBackToNoDecodeWithAWarning) {
    TempDir dir;
    const std::string model = yolo_looking_model(dir, 35);
    const Split r = run_split("run " + model + " --json " + (dir / "r.json") + " --dump-outputs " + (dir / "out"), dir);
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "guessed yolo2: 35 channels = 5 anchors x (5 + 2 classes)")) << r.out;
    EXPECT_TRUE(contains(r.err, "kpusim: warning: the output looks like YOLOv2 but kpusim has no built-in anchors"))
        << r.err;
    EXPECT_TRUE(contains(r.err, "not decoded")) << r.err;
    EXPECT_FALSE(contains(r.err, "error")) << r.err;
    EXPECT_TRUE(contains(r.out, "output 0 1x35x7x10 float32")) << r.out;
    const auto j = json_file(dir / "r.json");
    EXPECT_EQ(j.at("decode"), "none");
    ASSERT_EQ(j.at("warnings").size(), 1u);
    EXPECT_TRUE(contains(j.at("warnings")[0].get<std::string>(), "no built-in anchors")) << j.at("warnings");
    EXPECT_FALSE(j.contains("anchors"));
    EXPECT_EQ(std::filesystem::file_size(dir / "out/output_0.bin"), 35u * 7 * 10 * 4);
    // Asked for by name, the same decode is an error (exit 2) naming the way out.
    const Split asked = run_split("run " + model + " --decode yolo2", dir);
    EXPECT_EQ(asked.status, 2) << asked.out << asked.err;
    EXPECT_TRUE(contains(asked.err, "kpusim: error: no built-in anchors")) << asked.err;
    EXPECT_TRUE(contains(asked.err, "--anchors")) << asked.err;
    // With anchors it decodes, and says nothing about guessed anchors.
    const Split given = run_split("run " + model + " --json " + (dir / "g.json") +
                                      " --anchors 1,1,2,2,3,3,4,4,5,5",
                                  dir);
    ASSERT_EQ(given.status, 0) << given.err;
    EXPECT_EQ(given.err, "");
    const auto g = json_file(dir / "g.json");
    EXPECT_EQ(g.at("decode"), "yolo2");
    EXPECT_EQ(g.at("anchors_source"), "option");
    EXPECT_EQ(g.at("anchors").size(), 10u);
    EXPECT_TRUE(g.at("warnings").empty());
}

// ---- 2. YOLOv2 with 0 classes ----------------------------------------------------------------

TEST(CliFriction, LicencePlateDetectorWithZeroClassesIsDecoded) {
    TempDir dir;
    const Split r = run_split("run " + shared_path(kLicencePlate) + " --json " + (dir / "r.json") +
                                  " --threshold 0",  // every box passes: class ids and labels show
                              dir);
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "guessed yolo2: 25 channels = 5 anchors x (5 + 0 classes) on a 20 x 15 grid"))
        << r.out;
    const auto j = json_file(dir / "r.json");
    EXPECT_EQ(j.at("decode"), "yolo2");
    EXPECT_EQ(j.at("anchors_source"), "built-in");
    ASSERT_EQ(j.at("anchors").size(), 10u);
    EXPECT_NEAR(j.at("anchors")[0].get<double>(), 8.30891522166988, 1e-5);
    ASSERT_FALSE(j.at("detections").empty());
    for (const auto& d : j.at("detections")) {
        EXPECT_EQ(d.at("class_id"), 0);
        EXPECT_EQ(d.at("label"), "object");
    }
}

// ---- 3. anchors guessed from the output size are said aloud -----------------------------------

TEST(CliFriction, GuessedAnchorsAreSaidAloud) {
    TempDir dir;
    const Split r = run_split("run " + shared_path(kVocYolo) + " --json " + (dir / "r.json"), dir);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.err, "kpusim: warning: YOLOv2 anchors guessed from the output's size alone "
                                "(5 anchors x (5 + 20 classes))"))
        << r.err;
    EXPECT_TRUE(contains(r.err, "20-class VOC")) << r.err;
    const auto j = json_file(dir / "r.json");
    EXPECT_EQ(j.at("anchors_source"), "built-in");
    ASSERT_EQ(j.at("warnings").size(), 1u);
    EXPECT_TRUE(contains(j.at("warnings")[0].get<std::string>(), "anchors guessed"));
    EXPECT_NEAR(j.at("anchors")[0].get<double>(), 1.08, 1e-6);
}

// ---- 4. sweep against kpu.load --------------------------------------------------------------

TEST(CliFriction, SweepRecommendsRamModeWhenItFitsAndIsFaster) {
    TempDir dir;
    const Split r = run_split("sweep " + shared_path(kMobileNet) + " --ram-budget maixpy-minimum --csv " +
                                  (dir / "s.csv") + " --json " + (dir / "s.json"),
                              dir);
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "recommended: kpu.load (RAM mode): the RAM mode (kpu.load) fits the budget and is "
                                "faster"))
        << r.out;
    const auto j = json_file(dir / "s.json");
    ASSERT_TRUE(j.at("recommended").is_object());
    EXPECT_EQ(j.at("recommended").at("mode"), "ram");
    EXPECT_TRUE(j.at("recommended").at("index").is_null());
    EXPECT_EQ(j.at("recommended").at("forward_ms"), j.at("ram_reference").at("forward_ms"));
    EXPECT_LT(j.at("ram_reference").at("forward_ms").get<double>(),
              j.at("fastest_fitting").at("forward_ms").get<double>());
    // CSV: the RAM row first, recommended; the flash point not.
    const std::string csv = read_text(dir / "s.csv");
    std::istringstream lines(csv);
    std::string header, ram, flash;
    std::getline(lines, header);
    std::getline(lines, ram);
    std::getline(lines, flash);
    EXPECT_EQ(header.substr(header.rfind(',') + 1), "recommended");
    EXPECT_EQ(ram.rfind("ram,flash,,,,", 0), 0u) << ram;
    EXPECT_EQ(ram.substr(ram.rfind(',') + 1), "true") << ram;
    EXPECT_EQ(flash.substr(flash.rfind(',') + 1), "false") << flash;
    // Under maixpy-full the RAM mode does not fit: the flash setting is recommended.
    const Split full = run_split("sweep " + shared_path(kMobileNet) + " --ram-budget maixpy-full --json " +
                                     (dir / "f.json"),
                                 dir);
    ASSERT_EQ(full.status, 0) << full.err;
    EXPECT_TRUE(contains(full.out, "recommended: the flash setting above: the RAM mode (kpu.load) needs")) << full.out;
    EXPECT_EQ(json_file(dir / "f.json").at("recommended").at("mode"), "flash-dual");
}

// ---- 5. check --direction, --junit, --json ---------------------------------------------------

TEST(CliFriction, CheckDirectionJunitAndJson) {
    TempDir dir;
    const std::string report = dir / "report.json", slower = dir / "baseline_faster_by_5pct.json";
    ASSERT_EQ(run_split("run " + shared_path(kIris) + " --mode flash-dual --batch-size 128 --json " + report, dir).status, 0);
    // A baseline 5 % slower than the report: the report got faster.
    auto b = json_file(report);
    b["forward_ms"] = b["forward_ms"].get<double>() * 1.05;
    std::ofstream(slower) << b.dump(2);
    const std::string base = "check " + report + " --baseline " + slower;
    const Split both = run_split(base, dir);
    EXPECT_EQ(both.status, 1) << both.out;
    EXPECT_TRUE(contains(both.out, "beyond \u00b12%")) << both.out;
    const Split up = run_split(base + " --direction slower", dir);
    EXPECT_EQ(up.status, 0) << up.out;
    EXPECT_TRUE(contains(up.out, "forward_ms: ")) << up.out;  // listed, not failed
    EXPECT_TRUE(contains(up.out, "0 beyond +2% (slower)")) << up.out;
    const Split down = run_split(base + " --direction faster --junit " + (dir / "j.xml") + " --json " + (dir / "c.json"),
                                 dir);
    EXPECT_EQ(down.status, 1) << down.out;
    EXPECT_TRUE(contains(down.out, "1 beyond -2% (faster)")) << down.out;
    // JUnit: one testcase per compared value, one failure naming forward_ms.
    const std::string xml = read_text(dir / "j.xml");
    const auto j = json_file(dir / "c.json");
    size_t testcases = 0;
    for (size_t at = xml.find("<testcase "); at != std::string::npos; at = xml.find("<testcase ", at + 1)) ++testcases;
    EXPECT_EQ(testcases, j.at("compared").get<size_t>());
    EXPECT_GT(testcases, 10u);
    EXPECT_TRUE(contains(xml, "tests=\"" + std::to_string(testcases) + "\" failures=\"1\"")) << xml.substr(0, 300);
    EXPECT_TRUE(contains(xml, "<testcase classname=\"kpusim.check\" name=\"forward_ms\">\n      <failure message=\"forward_ms: "))
        << xml;
    EXPECT_EQ(j.at("kind"), "check");
    EXPECT_EQ(j.at("direction"), "faster");
    EXPECT_FALSE(j.at("passed").get<bool>());
    EXPECT_EQ(j.at("beyond"), 1);
    size_t beyond = 0;
    for (const auto& v : j.at("values")) {
        if (!v.at("beyond").get<bool>()) continue;
        ++beyond;
        EXPECT_EQ(v.at("what"), "forward_ms");
        EXPECT_NEAR(v.at("change").get<double>(), 1 / 1.05 - 1, 1e-6);
    }
    EXPECT_EQ(beyond, 1u);
    // A bad direction is an error naming the accepted ones.
    const Split bad = run_split(base + " --direction sideways", dir);
    EXPECT_EQ(bad.status, 2);
    EXPECT_TRUE(contains(bad.err, "--direction 'sideways': expected slower, faster or both")) << bad.err;
}

// ---- 6. exit codes ----------------------------------------------------------------------------

TEST(CliFriction, ExitCodesFollowTheReadmeTable) {
    TempDir dir;
    // 4: the command line (CLI11's errors, with our prefix instead of 105-109).
    for (const std::string args : {"run --no-such-option", "frobnicate", "", "check", "run --top 0",
                                   "run --top many", "sweep"}) {
        const Split r = run_split(args, dir);
        EXPECT_EQ(r.status, 4) << args << "\n" << r.err;
        EXPECT_EQ(r.err.rfind("kpusim: error: ", 0), 0u) << args << "\n" << r.err;
        EXPECT_TRUE(contains(r.err, "--help")) << r.err;
    }
    // 0: help and version.
    for (const std::string args : {"--help", "run --help", "sweep --help", "--version"}) {
        const Split r = run_split(args, dir);
        EXPECT_EQ(r.status, 0) << args << "\n" << r.err;
        EXPECT_FALSE(r.out.empty()) << args;
    }
    // 2: errors of the input.
    const Split missing = run_split("run /nonexistent.kmodel", dir);
    EXPECT_EQ(missing.status, 2);
    EXPECT_EQ(missing.err.rfind("kpusim: error: ", 0), 0u) << missing.err;
    EXPECT_EQ(run_split("run " + shared_path(kIris) + " --cpu-freq fast", dir).status, 2);
    // 3: run --mode all with a mode that could not run (MobileNet's RAM mode under maixpy-full).
    const Split all = run_split("run " + shared_path(kMobileNet) + " --mode all --ram-budget maixpy-full --json " +
                                    (dir / "all.json"),
                                dir);
    EXPECT_EQ(all.status, 3) << all.err;
    EXPECT_TRUE(contains(all.out, "ram could not run: out of memory")) << all.out;
    EXPECT_TRUE(json_file(dir / "all.json").at("modes").at(0).contains("error"));
    // 1: check beyond the tolerance is covered by CheckDirectionJunitAndJson.
}

// ---- 7. "-" is standard output -----------------------------------------------------------------

TEST(CliFriction, DashWritesTheJsonToStandardOutputAndTheTextToStderr) {
    TempDir dir;
    const Split r = run_split("run " + shared_path(kIris) + " --json -", dir);
    ASSERT_EQ(r.status, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);  // stdout is the JSON and nothing else
    EXPECT_EQ(j.at("schema_version"), 1);
    EXPECT_TRUE(contains(r.err, "forward ms")) << r.err;
    EXPECT_FALSE(std::filesystem::exists("-"));
    // sweep --csv -, check --json -.
    const Split csv = run_split("sweep " + shared_path(kIris) + " --batch-size 128 --csv -", dir);
    ASSERT_EQ(csv.status, 0) << csv.err;
    EXPECT_EQ(csv.out.rfind("mode,source,batch_size,", 0), 0u) << csv.out;
    EXPECT_TRUE(contains(csv.err, "recommended:")) << csv.err;
    const std::string report = dir / "iris.json";
    ASSERT_EQ(run_split("run " + shared_path(kIris) + " --json " + report, dir).status, 0);
    const Split check = run_split("check " + report + " --baseline " + report + " --json -", dir);
    EXPECT_EQ(check.status, 0);
    EXPECT_TRUE(nlohmann::json::parse(check.out).at("passed").get<bool>());
    EXPECT_TRUE(contains(csv.err, "wrote standard output")) << csv.err;
    // flash-image -o -: the image's bytes, the same as written to a file.
    const Split image = run_split("flash-image " + shared_path(kIris) + " -o -", dir);
    ASSERT_EQ(image.status, 0) << image.err;
    ASSERT_EQ(run_split("flash-image " + shared_path(kIris) + " -o " + (dir / "iris.img"), dir).status, 0);
    EXPECT_EQ(image.out, read_text(dir / "iris.img"));
    EXPECT_EQ(image.out.size(), 436u);
    EXPECT_TRUE(contains(image.err, "wrote standard output: 436 bytes")) << image.err;
    // Two outputs cannot both go to standard output.
    const Split two = run_split("run " + shared_path(kIris) + " --json - --trace -", dir);
    EXPECT_EQ(two.status, 2);
    EXPECT_TRUE(contains(two.err, "only one output can go there")) << two.err;
    // A plot needs a real file.
    const Split plot = run_split("sweep " + shared_path(kIris) + " --batch-size 128 --plot -", dir);
    EXPECT_EQ(plot.status, 2);
}

// ---- 8. defaults in the help -----------------------------------------------------------------

TEST(CliFriction, HelpShowsTheDefaults) {
    TempDir dir;
    const std::string run = run_split("run --help", dir).out;
    for (const char* shown : {"--mode TEXT=ram", "--source TEXT=flash", "--batch-size TEXT=0xC000",
                              "--spi-speed TEXT=80M", "--cpu-freq TEXT=400M", "--ram-budget TEXT=bare-metal",
                              "--top UINT:INT in [1 - 100000]=5"})
        EXPECT_TRUE(contains(run, shown)) << shown << "\n" << run;
    const std::string sweep = run_split("sweep --help", dir).out;
    EXPECT_TRUE(contains(sweep, "--mode TEXT=flash-dual")) << sweep;
    const std::string check = run_split("check --help", dir).out;
    EXPECT_TRUE(contains(check, "--direction TEXT=both")) << check;
    EXPECT_TRUE(contains(check, "--tolerance TEXT=2%")) << check;
}

// ---- 9. RAM-mode reports without flash settings -------------------------------------------------

TEST(CliFriction, RamModeReportsLeaveOutTheFlashSettings) {
    TempDir dir;
    const Split ram = run_split("run " + shared_path(kIris) + " --json " + (dir / "ram.json"), dir);
    ASSERT_EQ(ram.status, 0) << ram.err;
    EXPECT_FALSE(contains(ram.out, "SPI")) << ram.out;
    EXPECT_FALSE(contains(ram.out, "batch")) << ram.out;
    const auto j = json_file(dir / "ram.json");
    for (const char* key : {"spi_speed_hz", "flash_lanes", "flash_ddr", "batch_size"})
        EXPECT_FALSE(j.at("config").contains(key)) << key;
    for (const char* key : {"batches", "spi_actual_hz", "spi_divider"}) EXPECT_FALSE(j.contains(key)) << key;
    EXPECT_TRUE(j.at("config").contains("cpu_hz"));
    // A flash mode keeps them.
    const Split flash = run_split("run " + shared_path(kIris) + " --mode flash-dual --batch-size 128 --json " +
                                      (dir / "flash.json"),
                                  dir);
    ASSERT_EQ(flash.status, 0) << flash.err;
    EXPECT_TRUE(contains(flash.out, "SPI speed 80000000 Hz requested")) << flash.out;
    const auto f = json_file(dir / "flash.json");
    EXPECT_EQ(f.at("config").at("batch_size"), 128);
    EXPECT_TRUE(f.contains("spi_actual_hz"));
    // --mode all keeps the settings (the flash modes use them) but not in the RAM mode's entry.
    ASSERT_EQ(run_split("run " + shared_path(kIris) + " --mode all --batch-size 128 --json " + (dir / "all.json"), dir)
                  .status,
              0);
    const auto a = json_file(dir / "all.json");
    EXPECT_TRUE(a.at("config").contains("spi_speed_hz"));
    EXPECT_FALSE(a.at("modes").at(0).contains("spi_actual_hz"));
    EXPECT_TRUE(a.at("modes").at(2).contains("spi_actual_hz"));
}

// ---- 10. out of memory names the presets ------------------------------------------------------

TEST(CliFriction, OutOfMemoryNamesThePresetsTheModelFits) {
    TempDir dir;
    const Split r = run_split("run " + shared_path(kMobileNet) + " --ram-budget maixpy-full", dir);
    EXPECT_EQ(r.status, 2);
    EXPECT_TRUE(contains(r.err, "kpusim: error: out of memory")) << r.err;
    EXPECT_TRUE(contains(r.err, "in ram mode the model needs")) << r.err;
    EXPECT_TRUE(contains(r.err, "it fits the maixpy-minimum (4194304 bytes) and bare-metal (6029312 bytes) budgets"))
        << r.err;
    EXPECT_TRUE(contains(r.err, "flash-dual (kpu.load_flash) needs")) << r.err;
    EXPECT_TRUE(contains(r.err, "fits every preset")) << r.err;
}

// ---- 11. absurd clocks: refused, never wrapped -------------------------------------------------

TEST(CliFriction, SweepRefusesClocksBelowOneMegahertz) {
    TempDir dir;
    // 1-2 Hz once ran each point for simulated days, and a long sweep passed 2^64 ps.
    for (const std::string clocks : {"--cpu-freq 2 --kpu-freq 1", "--cpu-freq 400M --kpu-freq 999999"}) {
        const Split r = run_split("sweep " + shared_path(kIris) + " " + clocks +
                                      " --batch-size 128 --spi-speed 1:3:1 --json " + (dir / "s.json"),
                                  dir);
        EXPECT_EQ(r.status, 2) << clocks << "\n" << r.out << r.err;
        EXPECT_TRUE(contains(r.err, "is below kpusim's minimum of 1000000 Hz (1 MHz)")) << r.err;
        EXPECT_FALSE(std::filesystem::exists(dir / "s.json"));
    }
    const Split run = run_split("run " + shared_path(kIris) + " --cpu-freq 1", dir);
    EXPECT_EQ(run.status, 2);
    EXPECT_TRUE(contains(run.err, "CPU frequency of 1 Hz is below kpusim's minimum")) << run.err;
    // At the minimum a sweep runs and every valid point has a positive forward time.
    const Split slow = run_split("sweep " + shared_path(kIris) + " --cpu-freq 1M --kpu-freq 1M --batch-size 128 "
                                 "--spi-speed 100K:500K:100K --json " + (dir / "slow.json"),
                                 dir);
    ASSERT_EQ(slow.status, 0) << slow.err;
    const auto j = json_file(dir / "slow.json");
    size_t valid = 0;
    for (const auto& p : j.at("points")) {
        if (!p.at("valid").get<bool>()) continue;
        ++valid;
        EXPECT_GT(p.at("forward_ms").get<double>(), 1.0) << p;
    }
    EXPECT_GT(valid, 0u);
    EXPECT_GT(j.at("fastest_fitting").at("forward_ms").get<double>(), 1.0);
}
