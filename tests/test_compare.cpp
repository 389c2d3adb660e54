// `kpusim compare`: reading board captures (raw float32, printed text, --dump-outputs
// folders), the per-output statistics, and the command's exit status.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "models/kmodel_error.h"
#include "sim/compare.h"
#include "sim/run_report.h"
#include "tests/test_support.h"

namespace kpusim {
namespace {

namespace fs = std::filesystem;
using test::shared_path;

std::string temp_path(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / "kpusim_test_compare";
    fs::create_directories(dir);
    return (dir / name).string();
}

std::string write_text(const std::string& name, const std::string& text) {
    const std::string p = temp_path(name);
    std::ofstream(p, std::ios::binary) << text;
    return p;
}

std::string write_floats(const std::string& name, const std::vector<float>& v) {
    const std::string p = temp_path(name);
    std::ofstream f(p, std::ios::binary);
    f.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
    return p;
}

OutputTensor float_output(const std::vector<float>& v) {
    OutputTensor t;
    t.type = DataType::float32;
    t.shape = Shape{1, static_cast<uint32_t>(v.size()), 1, 1};
    t.bytes.resize(v.size() * 4);
    std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
    return t;
}

OutputTensor byte_output(const std::vector<uint8_t>& v) {
    OutputTensor t;
    t.type = DataType::uint8;
    t.shape = Shape{1, 1, 1, static_cast<uint32_t>(v.size())};
    t.bytes = v;
    return t;
}

Capture one(const std::vector<float>& v) {
    Capture c;
    c.outputs.push_back(v);
    return c;
}

// ---- reading captures ------------------------------------------------------------------------

TEST(Compare, TextCaptureToleratesBracketsCommasWhitespaceAndComments) {
    const std::string p = write_text("list.txt",
                                     "# MaixPy print(fmap[:])\n[1.181304, -5.381746,\t1.5e-3 ,\r\n"
                                     "(2), {-0.5};  7 ]\n[8,9]  # second line\n");
    const Capture c = read_capture(p);
    EXPECT_EQ(c.format, CaptureFormat::text);
    ASSERT_EQ(c.outputs.size(), 1u);
    EXPECT_EQ(c.outputs[0], (std::vector<float>{1.181304f, -5.381746f, 1.5e-3f, 2, -0.5f, 7, 8, 9}));
    // The SDK's printf("%f, ") list: trailing comma, no brackets.
    EXPECT_EQ(read_capture(write_text("sdk.txt", "1.000000, -2.500000, \n3.250000, \n")).outputs[0],
              (std::vector<float>{1, -2.5f, 3.25f}));
    // nan and inf as printed by C and Python.
    const auto special = read_capture(write_text("nan.txt", "nan, -inf, inf")).outputs[0];
    ASSERT_EQ(special.size(), 3u);
    EXPECT_TRUE(std::isnan(special[0]));
    EXPECT_EQ(special[1], -std::numeric_limits<float>::infinity());
}

TEST(Compare, TextCaptureRejectsWordsWithTheirLine) {
    const std::string p = write_text("words.txt", "1.0, 2.0\ntotal 10 feature\n");
    try {
        read_capture(p);
        FAIL() << "a word was read as a number";
    } catch (const InputError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("line 2"), std::string::npos) << msg;
        EXPECT_NE(msg.find("'total'"), std::string::npos) << msg;
    }
    EXPECT_THROW(read_capture(write_text("empty_list.txt", "[ ]\n")), InputError);
    EXPECT_THROW(read_capture(write_text("half.txt", "1.5x")), InputError);
}

TEST(Compare, RawCaptureIsLittleEndianFloat32) {
    const std::vector<float> v = {1.5f, -2.25f, 0.0f, 3e-8f};
    const std::string p = write_floats("raw.bin", v);
    const Capture c = read_capture(p);
    EXPECT_EQ(c.format, CaptureFormat::raw);
    EXPECT_EQ(c.outputs.at(0), v);
    // A raw file of printable bytes is read as raw when asked.
    const std::string printable = write_text("printable.bin", "1234abcd");
    EXPECT_EQ(read_capture(printable, CaptureFormat::raw).outputs.at(0).size(), 2u);
    EXPECT_THROW(read_capture(printable), InputError);  // auto: text, and not numbers
}

TEST(Compare, RawCaptureErrors) {
    try {
        read_capture(write_text("odd.bin", std::string("\x01\x02\x03\x04\x05", 5)));
        FAIL();
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("5 bytes"), std::string::npos) << e.what();
    }
    EXPECT_THROW(read_capture(write_text("empty.bin", "")), InputError);
    EXPECT_THROW(read_capture(temp_path("does_not_exist.bin")), InputError);
}

TEST(Compare, DumpFolderIsReadWithItsDtypes) {
    const std::string dir = temp_path("dump_ok");
    fs::remove_all(dir);
    dump_outputs({float_output({0.5f, 1.5f}), byte_output({7, 200, 3})}, dir);
    const Capture c = read_capture(dir);
    EXPECT_EQ(c.format, CaptureFormat::dump);
    ASSERT_EQ(c.outputs.size(), 2u);
    EXPECT_EQ(c.outputs[0], (std::vector<float>{0.5f, 1.5f}));
    EXPECT_EQ(c.outputs[1], (std::vector<float>{7, 200, 3}));
    const auto outs = read_dumped_outputs(dir);
    ASSERT_EQ(outs.size(), 2u);
    EXPECT_EQ(outs[1].type, DataType::uint8);
    EXPECT_EQ(outs[1].shape, (Shape{1, 1, 1, 3}));
}

TEST(Compare, DumpFolderErrors) {
    const std::string dir = temp_path("dump_bad");
    fs::remove_all(dir);
    fs::create_directories(dir);
    EXPECT_THROW(read_capture(dir), InputError);  // no outputs.json
    dump_outputs({float_output({1, 2, 3})}, dir);
    std::ofstream(fs::path(dir) / "output_0.bin", std::ios::binary) << "12345678";  // 2 floats, not 3
    try {
        read_capture(dir);
        FAIL();
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("needs 12"), std::string::npos) << e.what();
    }
    std::ofstream(fs::path(dir) / "outputs.json") << "{ not json";
    EXPECT_THROW(read_capture(dir), InputError);
    EXPECT_THROW(read_capture(write_floats("not_a_dir.bin", {1}), CaptureFormat::dump), InputError);
}

// ---- statistics ------------------------------------------------------------------------------

TEST(Compare, StatisticsOfOneOutput) {
    const std::vector<float> run = {1.0f, 2.0f, -4.0f, 0.5f, 0.25f, 3.0f};
    const std::vector<float> cap = {1.0f, 2.000001f, -4.0f, 0.5f, 0.0f, 3.0f};
    const CompareResult r = compare_outputs({float_output(run)}, one(cap), 1e-5);
    ASSERT_EQ(r.outputs.size(), 1u);
    const OutputComparison& c = r.outputs[0];
    EXPECT_EQ(c.elements, 6u);
    EXPECT_EQ(c.bit_equal, 4u);
    EXPECT_DOUBLE_EQ(c.max_abs_diff, 0.25);
    EXPECT_EQ(c.max_abs_at, 4u);
    EXPECT_DOUBLE_EQ(c.max_rel_diff, 1.0);  // 0.25 vs 0: |d| / max(|a|, |b|)
    EXPECT_EQ(c.top1_run, 5u);
    EXPECT_EQ(c.top1_capture, 5u);
    EXPECT_EQ(c.top5_size, 5u);
    EXPECT_EQ(c.top5_overlap, 5u);  // both: 5, 1, 0, 3, 4 (index 2, -4, is last in both)
    EXPECT_FALSE(c.within);
    EXPECT_FALSE(r.within());
    EXPECT_TRUE(compare_outputs({float_output(run)}, one(cap), 0.25).within());
    // Reversed order: top-5 of the run {0..4}, of the capture {5..1}: 4 shared.
    const OutputComparison rev =
        compare_outputs({float_output({5, 4, 3, 2, 1, 0})}, one({0, 1, 2, 3, 4, 5}), 10).outputs.at(0);
    EXPECT_EQ(rev.top5_overlap, 4u);
    EXPECT_EQ(rev.top1_run, 0u);
    EXPECT_EQ(rev.top1_capture, 5u);
}

TEST(Compare, TopOneDisagreementAndNanMismatch) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const CompareResult r =
        compare_outputs({float_output({0.1f, 0.9f, nan, nan})}, one({0.9f, 0.1f, 1.0f, nan}), 10.0);
    const OutputComparison& c = r.outputs.at(0);
    EXPECT_EQ(c.top1_run, 1u);
    EXPECT_EQ(c.top1_capture, 2u);
    EXPECT_EQ(c.nan_mismatches, 1u);
    EXPECT_EQ(c.bit_equal, 1u);  // the two NaNs have the same bits
    EXPECT_FALSE(c.within);      // a NaN mismatch is never within
}

TEST(Compare, ACaptureOfAllOutputsIsSplitByTheRunsSizes) {
    const std::vector<OutputTensor> run = {float_output({1, 2}), byte_output({3, 4, 5})};
    const CompareResult r = compare_outputs(run, one({1, 2, 3, 4, 6}), 0.5);
    ASSERT_EQ(r.outputs.size(), 2u);
    EXPECT_TRUE(r.outputs[0].within);
    EXPECT_EQ(r.outputs[0].bit_equal, 2u);
    EXPECT_FALSE(r.outputs[1].within);
    EXPECT_DOUBLE_EQ(r.outputs[1].max_abs_diff, 1.0);
    // One output chosen: the capture holds just it.
    const CompareResult only = compare_outputs(run, one({3, 4, 5}), 0, 1u);
    ASSERT_EQ(only.outputs.size(), 1u);
    EXPECT_EQ(only.outputs[0].index, 1u);
    EXPECT_TRUE(only.within());
    EXPECT_THROW(compare_outputs(run, one({1, 2, 3}), 0.5), InputError);  // 3 values for 5
    EXPECT_THROW(compare_outputs(run, one({1, 2}), 0.5, 2u), InputError);  // no output 2
}

TEST(Compare, JsonFormHasEveryStatistic) {
    const auto j = to_json(compare_outputs({float_output({1, 2, 3})}, one({1, 2, 3.5f}), 1.0));
    EXPECT_EQ(j["within"], true);
    EXPECT_EQ(j["outputs"][0]["bit_equal"], 2);
    EXPECT_DOUBLE_EQ(j["outputs"][0]["max_abs_diff"].get<double>(), 0.5);
    EXPECT_EQ(j["outputs"][0]["top1_agree"], true);
    EXPECT_EQ(j["outputs"][0]["top5_overlap"], 3);
}

// ---- the command -----------------------------------------------------------------------------

using test::kpusim_cli;
using Result = test::CliResult;

// The README's "K210:" numbers of Maix-EMC's CIFAR-10 model on plane.bmp, as printed.
const char* kBoardPrint = "[1.181304, -5.381746, 1.580029, 0.045343, 0.511492,\n"
                          " -0.656629, -3.597826, 0.561016, -0.733270, -3.771462]\n";

std::string cifar_args() {
    return shared_path("models/maixemc_cifar10_v3/cifar10_output.kmodel") + " --input " +
           shared_path("models/maixemc_cifar10_v3/plane.bmp");
}

TEST(CompareCli, BoardPrintOfTheCifarModelIsWithinTheDefaultTolerance) {
    const std::string capture = write_text("cifar_k210.txt", kBoardPrint);
    const std::string json = temp_path("cifar_compare.json");
    const Result r = kpusim_cli("compare " + cifar_args() + " --capture " + capture + " --json " + json);
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("within"), std::string::npos) << r.out;
    std::ifstream f(json);
    std::stringstream ss;
    ss << f.rdbuf();
    const auto j = nlohmann::json::parse(ss.str());
    EXPECT_EQ(j["within"], true);
    EXPECT_LT(j["outputs"][0]["max_abs_diff"].get<double>(), 1e-5);
    EXPECT_EQ(j["outputs"][0]["top5_overlap"], 5);
}

TEST(CompareCli, NncaseArithmeticIsBeyondTheToleranceExitOne) {
    const std::string capture = write_text("cifar_k210_b.txt", kBoardPrint);
    const Result r = kpusim_cli("compare " + cifar_args() + " --capture " + capture + " --arg-x-rule nncase");
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_NE(r.out.find("BEYOND"), std::string::npos) << r.out;
    // A looser tolerance accepts it.
    EXPECT_EQ(kpusim_cli("compare " + cifar_args() + " --capture " + capture + " --arg-x-rule nncase --tolerance 0.01")
                  .status,
              0);
}

TEST(CompareCli, EachCaptureFormatAgainstDumpedOutputs) {
    const std::string dir = temp_path("cli_dump");
    fs::remove_all(dir);
    ASSERT_EQ(kpusim_cli("run " + cifar_args() + " --dump-outputs " + dir).status, 0);
    // dump: a run compared with itself is bit-equal.
    Result r = kpusim_cli("compare --outputs " + dir + " --capture " + dir);
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("10 bit-equal"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("(dump)"), std::string::npos) << r.out;
    // raw: the output file itself.
    r = kpusim_cli("compare --outputs " + dir + " --capture " + dir + "/output_0.bin");
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("(raw)"), std::string::npos) << r.out;
    // text: the board's print.
    r = kpusim_cli("compare --outputs " + dir + " --capture " + write_text("cli_k210.txt", kBoardPrint));
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("(text)"), std::string::npos) << r.out;
    // A perturbed raw capture: beyond.
    const auto bytes = test::read_file_bytes(dir + "/output_0.bin");
    std::vector<float> v(10);
    std::memcpy(v.data(), bytes.data(), 40);
    v[3] += 0.001f;
    r = kpusim_cli("compare --outputs " + dir + " --capture " + write_floats("cli_perturbed.bin", v));
    EXPECT_EQ(r.status, 1) << r.out;
}

TEST(CompareCli, BadInputExitsTwoWithAnError) {
    const std::string dir = temp_path("cli_dump2");
    fs::remove_all(dir);
    ASSERT_EQ(kpusim_cli("run " + cifar_args() + " --dump-outputs " + dir).status, 0);
    struct Case {
        std::string args, expect;
    };
    const Case cases[] = {
        {"compare --outputs " + dir + " --capture " + write_text("nine.txt", "1 2 3 4 5 6 7 8 9"), "9 values"},
        {"compare --outputs " + dir + " --capture " + write_text("word.txt", "1 2 x"), "'x'"},
        {"compare --outputs " + dir + " --capture " + temp_path("missing.txt"), "missing.txt"},
        {"compare --capture " + write_text("ten.txt", "1 2 3 4 5 6 7 8 9 10"), "either a MODEL"},
        {"compare " + shared_path("models/maixemc_cifar10_v3/cifar10_output.kmodel") + " --capture " +
             write_text("ten2.txt", "1 2 3 4 5 6 7 8 9 10"),
         "--input"},
        {"compare --outputs " + dir + " --capture " + dir + " --capture-format csv", "csv"},
        {"compare --outputs " + dir + " --capture " + dir + " --tolerance -1", "tolerance"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.args);
        const Result r = kpusim_cli(c.args);
        EXPECT_EQ(r.status, 2) << r.out;
        EXPECT_NE(r.out.find("kpusim: error: "), std::string::npos) << r.out;
        EXPECT_NE(r.out.find(c.expect), std::string::npos) << r.out;
    }
}

}  // namespace
}  // namespace kpusim
