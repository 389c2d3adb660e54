// kpusim command-line program.
//
//   kpusim run [MODEL] [--input FILE] [--labels FILE] [--top K] [--json FILE]
//              [--dump-outputs DIR] [--ram-budget BYTES|PRESET] [--activation-rule RULE]
//
// Without MODEL it runs the built-in default job: the MobileNet of
// ../shared/models/mobilenetv1_0.75_imagenet_v3 on ../shared/images/coffee.png.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include "kpu_core/activation.h"
#include "memory/ram_budget.h"
#include "models/kmodel_error.h"
#include "models/kmodel_loader.h"
#include "sim/classification.h"
#include "sim/model_input.h"
#include "sim/run_report.h"
#include "sim/soc.h"
#include "sim/units.h"

#ifndef KPUSIM_DEFAULT_SHARED_DIR
#define KPUSIM_DEFAULT_SHARED_DIR "../shared"
#endif

namespace {

struct RunOptions {
    std::string model, input, labels, json, dump_dir;
    uint32_t top = 5;
    bool top_given = false;
    std::string ram_budget = "bare-metal";
    std::string activation_rule = "reference";
};

uint64_t resolve_ram_budget(const std::string& text) {
    try {
        return kpusim::memory::preset_bytes(kpusim::memory::parse_ram_preset(text));
    } catch (const std::invalid_argument&) {
        return kpusim::parse_quantity(text, "--ram-budget");
    }
}

int run_command(RunOptions o) {
    using namespace kpusim;
    if (o.model.empty()) {
        const std::string shared = KPUSIM_DEFAULT_SHARED_DIR;
        o.model = shared + "/models/mobilenetv1_0.75_imagenet_v3/mbnet75.kmodel";
        if (o.input.empty()) o.input = shared + "/images/coffee.png";
        if (o.labels.empty()) o.labels = shared + "/models/mobilenetv1_0.75_imagenet_v3/labels.txt";
        std::cout << "no model given: running the default job (MobileNetV1 0.75 on coffee.png)\n";
    }
    const Model model = load_kmodel(o.model);
    const std::vector<uint8_t> input = o.input.empty() ? test_pattern(model.input)
                                                       : load_model_input(o.input, model.input);
    RunConfig cfg;
    cfg.kpu.activation_rule = kpu::parse_activation_rule(o.activation_rule.c_str());
    cfg.ram_budget_bytes = resolve_ram_budget(o.ram_budget);

    RunReport report;
    report.model_path = o.model;
    report.input_description = o.input.empty() ? "test pattern" : o.input;
    report.model = &model;
    report.result = soc().run(model, input, cfg);
    if (!o.labels.empty()) report.labels = load_labels(o.labels);
    if ((!o.labels.empty() || o.top_given) && !report.result.outputs.empty())
        report.top = top_k(report.result.outputs.front().as_floats(), o.top);

    std::cout << to_text(report);
    if (!o.json.empty()) {
        std::ofstream f(o.json);
        f << to_json(report).dump(2) << "\n";
        if (!f) throw InputError("cannot write JSON report '" + o.json + "'");
    }
    if (!o.dump_dir.empty()) dump_outputs(report.result.outputs, o.dump_dir);
    return 0;
}

}  // namespace

int sc_main(int argc, char** argv) {
    CLI::App app{"kpusim: a cycle-approximate simulator of the Kendryte K210 KPU"};
    app.require_subcommand(1);
    RunOptions o;
    CLI::App* run = app.add_subcommand("run", "Run a kmodel on the simulated K210 and report its outputs");
    run->add_option("model", o.model, "kmodel file (default: the MobileNet demo job of ../shared)");
    run->add_option("--input", o.input,
                    "JPEG/PNG/BMP picture (resized, planar RGB888 / grey) or raw input file "
                    "(uint8 CHW, or float32 for float-input models); default: a test pattern");
    run->add_option("--labels", o.labels, "class labels, one per line (enables the top-K list)");
    CLI::Option* top = run->add_option("--top", o.top, "how many classes to list")->check(CLI::Range(1, 100000));
    run->add_option("--json", o.json, "write the report as JSON to this file");
    run->add_option("--dump-outputs", o.dump_dir,
                    "write output_N.bin (raw little-endian) and outputs.json into this folder");
    run->add_option("--ram-budget", o.ram_budget,
                    "general RAM left to models: bare-metal (default), maixpy-minimum, "
                    "maixpy-full, or bytes (e.g. 4Mi)");
    run->add_option("--activation-rule", o.activation_rule,
                    "KPU activation semantics: reference (nncase 0.2, default) or v01 (nncase 0.1 emulator)");
    CLI11_PARSE(app, argc, argv);
    spdlog::set_level(spdlog::level::warn);
    try {
        o.top_given = top->count() > 0;
        return run_command(o);
    } catch (const std::exception& e) {
        std::cerr << "kpusim: error: " << e.what() << "\n";
        return 2;
    }
}
