// kpusim command-line program.
//
//   kpusim run [MODEL] [--input FILE] [--labels FILE] [--top K] [--json FILE]
//              [--dump-outputs DIR] [--mode ram|flash-single|flash-dual|all]
//              [--source flash|psram-qspi|psram-ospi] [--batch-size N] [--spi-speed HZ]
//              [--cpu-freq HZ] [--kpu-freq HZ] [--flash-lanes N] [--flash-ddr]
//              [--ram-budget PRESET|BYTES] [--activation-rule reference|v01]
//              [--arg-x-rule board|nncase] [--strict-sdk]
//   kpusim compare [MODEL --input FILE | --outputs DIR] --capture FILE [--tolerance X]
//              [--capture-format auto|raw|text|dump] [--output N] [--json FILE]
//   kpusim calibrate [--fit] [--json FILE] [--markdown]
//
// Exit codes: cli/exit_codes.h (README "Exit codes"). An output named "-" goes to standard
// output and the human text to stderr (cli/stdout_outputs.h).
//
// Without MODEL, `run` runs the built-in default job: the MobileNet of
// ../shared/models/mobilenetv1_0.75_imagenet_v3 on ../shared/images/coffee.png.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "kpu_core/activation.h"
#include "memory/ram_budget.h"
#include "models/kmodel_error.h"
#include "models/kmodel_loader.h"
#include "models/read_file.h"
#include "sim/atomic_file.h"
#include "sim/calibration_bench.h"
#include "sim/calibration_fit.h"
#include "sim/classification.h"
#include "sim/compare.h"
#include "sim/dataset_run.h"
#include "sim/run_options.h"
#include "sim/model_input.h"
#include "sim/run_report.h"
#include "sim/annotate.h"
#include "sim/detection.h"
#include "sim/flash_image.h"
#include "sim/report_check.h"
#include "sim/simulate.h"
#include "sim/sweep.h"
#include "sim/trace.h"

#include <iterator>
#include <sstream>
#include "sim/units.h"
#include "common/log.h"
#include "kpusim/kpusim.h"
#include "cli/exit_codes.h"
#include "cli/stdout_outputs.h"
#include "sim/decode_choice.h"

#ifndef KPUSIM_DEFAULT_SHARED_DIR
#define KPUSIM_DEFAULT_SHARED_DIR "../shared"
#endif

namespace {

struct RunOptions : kpusim::RunSettingsText, kpusim::DecodeText {
    std::string model, input, labels, json, dump_dir, trace;
    bool top_given = false;
    bool strict_sdk = false;
    std::string annotate;
    std::vector<std::string> inputs;   // --input: one file, or a folder / several files (dataset run)
    kpusim::DatasetCommand dataset;
};

struct FlashImageOptions {
    std::string model, address = "0x600000", firmware_size = "0", output;
};

int run_command(RunOptions o) {
    using namespace kpusim;
    std::ostream& text = cli::text_stream({{"--json", o.json}, {"--trace", o.trace}, {"--annotate", o.annotate}});
    if (o.model.empty()) {
        const std::string shared = KPUSIM_DEFAULT_SHARED_DIR;
        o.model = shared + "/models/mobilenetv1_0.75_imagenet_v3/mbnet75.kmodel";
        if (o.input.empty()) o.input = shared + "/images/coffee.png";
        if (o.labels.empty()) o.labels = shared + "/models/mobilenetv1_0.75_imagenet_v3/labels.txt";
        text << "no model given: running the default job (MobileNetV1 0.75 on coffee.png)\n";
    }
    KmodelReadOptions read_options;
    read_options.strict_sdk = o.strict_sdk;
    std::vector<RunMode> modes;
    RunSettings base = resolve_run_settings(o, &modes);

    // Either form of a model: as nncase wrote it, or the word-reversed kpu.load_flash image.
    KmodelByteOrder order = KmodelByteOrder::plain;
    const Model model = [&] {
        return parse_kmodel(to_plain_kmodel(read_whole_file(o.model, "kmodel file"), &order), read_options);
    }();
    if (order == KmodelByteOrder::word_reversed)
        text << "model file is a kpu.load_flash image (every 32-bit word byte-reversed): read back to the plain kmodel\n";
    if (!o.dataset.inputs.empty()) {  // a folder or several pictures: see sim/dataset_run.h
        base.mode = modes.front();
        return dataset_command(model, base, o.dataset, std::cout);
    }
    const std::vector<uint8_t> input = o.input.empty() ? test_pattern(model.input)
                                                       : load_model_input(o.input, model.input);
    RunReport report;
    report.model_path = o.model;
    report.input_description = o.input.empty() ? "test pattern" : o.input;
    report.model = &model;
    report.runs = simulate_modes(model, input, base, modes);
    if (!o.labels.empty()) report.labels = load_labels(o.labels);
    report.byte_order = to_string(order);
    const auto& outputs = report.first_ran().result.outputs;
    if (!outputs.empty()) {
        const auto [picture_width, picture_height] = picture_size(o.input, model.input);
        const std::string guess = decode_into_report(model, outputs, o, picture_width, picture_height, report);
        if (!guess.empty()) text << guess << " (--decode to choose)\n";
        for (const std::string& w : report.warnings) std::cerr << "kpusim: warning: " << w << "\n";
        if (!o.annotate.empty()) {
            if (o.input.empty()) throw InputError("--annotate needs a picture given with --input");
            annotate_png(o.input, report.detections, o.annotate);
        }
    }

    text << to_text(report);
    if (!o.json.empty()) write_file_atomically(o.json, to_json(report).dump(2) + "\n", "JSON report");
    if (!o.dump_dir.empty()) dump_outputs(outputs, o.dump_dir);
    if (!o.trace.empty()) {
        // With --mode all, the timeline of the last mode (flash-dual) is the one with overlap.
        const ModeRun& traced = report.runs.back().error.empty() ? report.runs.back() : report.first_ran();
        write_chrome_trace(model, traced.settings, traced.result, o.trace);
    }
    for (const ModeRun& r : report.runs)
        if (!r.error.empty()) return cli::kExitModeFailed;  // --mode all: the report names the reason
    return cli::kExitOk;
}

}  // namespace

int sc_main(int argc, char** argv) {
    CLI::App app{"kpusim: a cycle-approximate simulator of the Kendryte K210 KPU"};
    app.require_subcommand(1);
    RunOptions o;
    CLI::App* run = app.add_subcommand("run", "Run a kmodel on the simulated K210; report outputs and timing");
    run->add_option("model", o.model, "kmodel file (default: the MobileNet demo job of ../shared)");
    run->add_option("--input", o.inputs,
                    "JPEG/PNG/BMP picture (resized, planar RGB888 / grey) or raw input file "
                    "(uint8 CHW, or float32 for float-input models); default: a test pattern. "
                    "A folder or several pictures: a dataset run on every core, one JSON Lines record each");
    run->add_option("--records", o.dataset.records, "dataset run: write the JSON Lines records here (default: standard output)");
    run->add_option("--threads", o.dataset.threads, "dataset run: worker threads (default: every core)");
    run->add_option("--labels", o.labels, "class labels, one per line (enables the top-K list)");
    CLI::Option* top = run->add_option("--top", o.top, "how many classes to list")
                           ->capture_default_str()
                           ->check(CLI::Range(1, 100000));
    run->add_option("--json", o.json, "write the report as JSON to this file ('-': standard output, the text goes to stderr)");
    run->add_option("--dump-outputs", o.dump_dir,
                    "write output_N.bin (raw little-endian) and outputs.json into this folder");
    run->add_option("--trace", o.trace,
                    "write a Chrome trace-event timeline (Perfetto, chrome://tracing) of the forward ('-': stdout); "
                    "with --mode all, of the flash-dual run");
    run->add_option("--mode", o.mode, "ram (kpu.load), flash-single, flash-dual (kpu.load_flash) or all")
        ->capture_default_str();
    run->add_option("--source", o.source, "where the model is read from: flash, psram-qspi, psram-ospi")
        ->capture_default_str();
    run->add_option("--batch-size", o.batch_size, "flash-dual batch size in bytes")->capture_default_str();
    run->add_option("--spi-speed", o.spi_speed, "requested flash SCK in Hz (flash modes)")->capture_default_str();
    run->add_option("--cpu-freq", o.cpu_freq, "CPU clock in Hz, also SPI3's source")->capture_default_str();
    run->add_option("--kpu-freq", o.kpu_freq, "KPU clock in Hz")->capture_default_str();
    run->add_option("--flash-lanes", o.flash_lanes, "flash data lanes: 1, 2, 4 or 8")->capture_default_str();
    run->add_flag("--flash-ddr", o.flash_ddr, "DDR flash reads (projection)");
    run->add_option("--model-address", o.model_address, "model address in flash / PSRAM")->capture_default_str();
    run->add_option("--ram-budget", o.ram_budget,
                    "general RAM left to models: bare-metal, maixpy-minimum, "
                    "maixpy-full, or bytes (e.g. 4Mi)")
        ->capture_default_str();
    run->add_option("--activation-rule", o.activation_rule,
                    "KPU activation semantics: reference (nncase 0.2) or v01 (nncase 0.1 emulator)")
        ->capture_default_str();
    run->add_option("--arg-x-rule", o.arg_x_rule,
                    "KPU arg_x/arg_w flooring: board (per input channel, as the chip) or "
                    "nncase (whole sum, as nncase's emulators)")
        ->capture_default_str();
    run->add_flag("--strict-sdk", o.strict_sdk,
                  "refuse layer types the standard SDK refuses (type 21, which Maix-EMC's kpu.c runs)");
    run->add_option("--decode", o.decode, "decode the outputs: classify, yolo2, ultraface, ultraface-landmark, features "
                    "or none (default: guessed from the outputs and the model; a guess that cannot be applied falls back "
                    "to none with a warning)");
    run->add_option("--anchors", o.anchors, "YOLOv2 anchors w,h,w,h,... in grid units (default: built-in for known models "
                    "and output layouts, with a warning)");
    run->add_option("--threshold", o.threshold, "YOLOv2 score threshold (default 0.5, as MaixPy's init_yolo2 demos)");
    run->add_option("--nms", o.nms, "YOLOv2 NMS IoU threshold (default 0.3, as MaixPy's init_yolo2 demos)");
    run->add_option("--annotate", o.annotate, "draw the detections on the input picture and write this PNG ('-': stdout)");

    FlashImageOptions fi;
    CLI::App* flash_image = app.add_subcommand(
        "flash-image", "Write the image kpu.load_flash needs (every 32-bit word byte-reversed, padded to 4)");
    flash_image->add_option("model", fi.model, "kmodel file (plain or already reversed)")->required();
    flash_image->add_option("--address", fi.address, "flash address the image is for")->capture_default_str();
    flash_image->add_option("--firmware-size", fi.firmware_size, "bytes of firmware at flash address 0, to warn of overlap")
        ->capture_default_str();
    flash_image->add_option("-o,--output", fi.output, "image file to write ('-': standard output)")->required();

    kpusim::SweepOptions sw;
    CLI::App* sweep = app.add_subcommand(
        "sweep", "Time a model over a grid of batch_size x SPI speed (the outputs do not depend on them)");
    sweep->add_option("model", sw.model, "kmodel file")->required();
    sweep->add_option("--input", sw.input, "picture or raw input (default: a test pattern)");
    sweep->add_option("--mode", sw.mode, "flash-dual or flash-single")->capture_default_str();
    sweep->add_option("--source", sw.source, "flash, psram-qspi or psram-ospi")->capture_default_str();
    sweep->add_option("--batch-size", sw.batch_range,
                      "FIRST:LAST:STEP in bytes, e.g. 0x4000:0x20000:0x4000, or one value (default 0xC000)");
    sweep->add_option("--spi-speed", sw.spi_range, "FIRST:LAST:STEP in Hz, e.g. 20M:80M:10M, or one value (default 80M)");
    sweep->add_option("--ram-budget", sw.ram_budget, "general RAM left to models (preset or bytes)")->capture_default_str();
    sweep->add_option("--cpu-freq", sw.cpu_freq, "CPU clock in Hz")->capture_default_str();
    sweep->add_option("--kpu-freq", sw.kpu_freq, "KPU clock in Hz")->capture_default_str();
    sweep->add_option("--flash-lanes", sw.flash_lanes, "flash data lanes: 1, 2, 4 or 8")->capture_default_str();
    sweep->add_option("--csv", sw.csv, "write every point as CSV ('-': standard output, the text goes to stderr)");
    sweep->add_option("--json", sw.json, "write every point as JSON ('-': standard output, the text goes to stderr)");
    sweep->add_option("--plot", sw.plot, "plot forward time against batch_size (.svg or .png, gnuplot)");

    kpusim::CheckCommand chk;
    CLI::App* check = app.add_subcommand(
        "check", "Compare a run report with a baseline; exit 1 on a timing change beyond the tolerance");
    check->add_option("report", chk.report, "the --json report of kpusim run")->required();
    check->add_option("--baseline", chk.baseline, "the baseline report")->required();
    check->add_option("--tolerance", chk.tolerance, "largest accepted relative change")->capture_default_str();
    check->add_option("--direction", chk.direction,
                      "which changes fail: slower (rises only), faster (falls only) or both")
        ->capture_default_str();
    check->add_option("--junit", chk.junit, "write the result as JUnit XML, one testcase per value ('-': stdout)");
    check->add_option("--json", chk.json, "write the result as JSON ('-': stdout)");

    kpusim::CompareOptions cmp;
    CLI::App* compare = app.add_subcommand(
        "compare", "Compare a run's outputs with a capture from a board; exit 1 beyond the tolerance");
    compare->add_option("model", cmp.model, "kmodel to run on --input (or give --outputs)");
    compare->add_option("--input", cmp.input, "the picture or raw input the capture was taken on");
    compare->add_option("--outputs", cmp.outputs_dir, "a folder of kpusim run --dump-outputs, instead of a model");
    compare->add_option("--capture", cmp.capture,
                        "the board's output: raw float32 file, printed list (text) or --dump-outputs folder")
        ->required();
    compare->add_option("--capture-format", cmp.capture_format, "auto, raw, text or dump")->capture_default_str();
    compare->add_option("--tolerance", cmp.tolerance, "largest accepted absolute difference (default 1e-5)");
    compare->add_option("--output", cmp.output, "compare only this output (the capture holds just it)");
    compare->add_option("--json", cmp.json, "write the comparison as JSON to this file ('-': standard output)");
    compare->add_option("--activation-rule", cmp.activation_rule, "as for run: reference (default) or v01");
    compare->add_option("--arg-x-rule", cmp.arg_x_rule, "as for run: board (default) or nncase");
    compare->add_flag("--strict-sdk", cmp.strict_sdk, "as for run: refuse layer types the standard SDK refuses");

    CLI::App* calibrate = app.add_subcommand(
        "calibrate", "Print the timing model's predictions against the published measurements");
    kpusim::CalibrateOptions cal;
    cal.data_dir = KPUSIM_CALIBRATION_DIR "/measurements";
    cal.output = KPUSIM_CALIBRATION_DIR "/parameters.json";
    cal.shared_dir = KPUSIM_DEFAULT_SHARED_DIR;
    calibrate->add_flag("--fit", cal.fit, "fit the calibrated constants to the measurements and write the parameter file");
    calibrate->add_option("--output", cal.output, "with --fit: the parameter file to write (default: calibration/parameters.json)");
    calibrate->add_option("--json", cal.json, "also write one row per measurement as JSON to this file");
    calibrate->add_option("--data", cal.data_dir, "the measurement files (default: calibration/measurements)");
    calibrate->add_option("--params", cal.params_file, "evaluate (and fit from) this parameter file instead of the defaults");
    calibrate->add_flag("--markdown", cal.markdown, "print the table as Markdown (the README's table)");
    run->add_option("--params", o.params_file,
                    "load timing parameters from this JSON file (keys as in the report's config.parameters)");
    run->add_option("--set", o.sets,
                    "override one timing parameter, e.g. --set runner.command_cycles=1500 (repeatable)");
    std::string log_level = "warn", time_resolution = "1ps";
    app.add_option("--log-level", log_level, "trace, debug, info, warn (default), error or off")
        ->capture_default_str();
    app.add_option("--time-resolution", time_resolution,
                   "SystemC time resolution: 1ps (default), 10ps, 100ps, 1ns; figures do not depend on it")
        ->capture_default_str();
    app.set_version_flag("--version", std::string("kpusim ") + kpusim::version());
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return kpusim::cli::handle_parse_error(app, e);
    }
    try {
        kpusim::set_log_level(log_level);
        kpusim::set_time_resolution(time_resolution);
    } catch (const std::exception& e) {
        return kpusim::cli::report_error(e.what());
    }
    try {
        if (calibrate->parsed()) return kpusim::calibrate_command(cal, std::cout);
        using kpusim::cli::text_stream;
        if (sweep->parsed()) return kpusim::sweep_command(sw, text_stream({{"--csv", sw.csv}, {"--json", sw.json}}));
        if (compare->parsed()) return kpusim::compare_command(cmp, text_stream({{"--json", cmp.json}}));
        if (check->parsed()) return kpusim::check_command(chk, text_stream({{"--junit", chk.junit}, {"--json", chk.json}}));
        if (flash_image->parsed())
            return kpusim::flash_image_command(fi.model, kpusim::parse_quantity(fi.address, "--address"),
                                               kpusim::parse_quantity(fi.firmware_size, "--firmware-size"),
                                               fi.output, text_stream({{"-o", fi.output}}));
        o.top_given = top->count() > 0;
        if (o.inputs.size() == 1 && !std::filesystem::is_directory(o.inputs[0])) o.input = o.inputs[0];
        else if (!o.inputs.empty())
            o.dataset = {o.inputs, o.dataset.records, o.labels, o.dump_dir, o.top, o.dataset.threads,
                         static_cast<const kpusim::DecodeText&>(o)};
        return run_command(o);
    } catch (const std::exception& e) {
        return kpusim::cli::report_error(e.what());
    }
}

// The CLI's own entry point instead of libsystemc's main(): SystemC prints its banner on
// standard output before sc_main runs, which would corrupt `--json -` and clutter every
// command. The banner stays off unless SYSTEMC_DISABLE_COPYRIGHT_MESSAGE is already set.
int main(int argc, char** argv) {
    setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
    return sc_core::sc_elab_and_sim(argc, argv);
}
