#include "python/job.h"

#include "kpusim/kpusim.h"
#include "sim/decode_choice.h"

#include <sstream>

#include "kpu_core/activation.h"
#include "models/kmodel_error.h"
#include "models/kmodel_loader.h"
#include "models/read_file.h"
#include "sim/classification.h"
#include "sim/flash_image.h"
#include "sim/run_report.h"
#include "sim/units.h"

namespace kpusim::python {

namespace {

// --anchors "1.08,1.19,..." -> floats, with the CLI's messages.
std::vector<float> parse_anchors(const std::string& text) {
    std::vector<float> v;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        try {
            size_t used = 0;
            v.push_back(std::stof(item, &used));
            if (used != item.size()) throw std::invalid_argument(item);
        } catch (const std::exception&) {
            throw InputError("--anchors: '" + item + "' is not a number (expected w,h,w,h,... in grid units)");
        }
    }
    if (v.empty() || v.size() % 2)
        throw InputError("--anchors needs w,h pairs, got " + std::to_string(v.size()) + " values");
    return v;
}

}  // namespace

LoadedModel load(const std::string& path, bool strict_sdk) {
    KmodelReadOptions read_options;
    read_options.strict_sdk = strict_sdk;
    KmodelByteOrder order = KmodelByteOrder::plain;
    LoadedModel m{parse_kmodel(to_plain_kmodel(read_whole_file(path, "kmodel file"), &order), read_options), path,
                  to_string(order)};
    return m;
}

RunSettings resolve_settings(const JobOptions& o, std::vector<RunMode>* modes) {
    RunSettings base;
    base.kpu.activation_rule = kpu::parse_activation_rule(o.activation_rule.c_str());
    base.kpu.arg_x_rule = kpu::parse_arg_x_rule(o.arg_x_rule.c_str());
    base.ram_budget_bytes = parse_ram_budget(o.ram_budget);
    base.cpu_hz = parse_quantity(o.cpu_freq, "--cpu-freq");
    base.kpu_hz = parse_quantity(o.kpu_freq, "--kpu-freq");
    base.spi_speed_hz = parse_quantity(o.spi_speed, "--spi-speed");
    base.batch_size = parse_quantity(o.batch_size, "--batch-size");
    base.model_address = parse_quantity(o.model_address, "--model-address");
    const uint64_t lanes = parse_quantity(o.flash_lanes, "--flash-lanes");
    if (lanes > 8) throw InputError("--flash-lanes " + o.flash_lanes + " is not 1, 2, 4 or 8");
    base.flash_lanes = static_cast<uint32_t>(lanes);
    base.flash_ddr = o.flash_ddr;
    base.source = parse_model_source(o.source);
    if (!o.params_file.empty()) base.parameters.load_file(o.params_file);
    for (const std::string& assignment : o.sets) base.parameters.set_assignment(assignment);
    base.compute_outputs = o.compute_outputs;
    if (modes) {
        if (o.mode == "all") *modes = {RunMode::ram, RunMode::flash_single, RunMode::flash_dual};
        else *modes = {parse_run_mode(o.mode)};
    }
    return base;
}

JobResult run_job(const LoadedModel& m, const std::vector<uint8_t>& input, const JobOptions& o) {
    if (o.top < 1 || o.top > 100000) throw InputError("--top " + std::to_string(o.top) + " is not in 1..100000");
    std::vector<RunMode> modes;
    const RunSettings base = resolve_settings(o, &modes);
    RunReport report;
    report.model_path = m.path;
    report.input_description = o.input_description;
    report.model = &m.model;
    report.runs = simulate_modes(m.model, input, base, modes);
    if (!o.labels.empty()) report.labels = load_labels(o.labels);
    report.byte_order = m.byte_order;
    const auto& outputs = report.first_ran().result.outputs;
    if (!outputs.empty()) {
        // The CLI's decoding step (sim/decode_choice.h): same guesses, fallbacks and warnings.
        DecodeRequest request;
        request.decode = o.decode;
        if (!o.anchors.empty()) request.anchors = parse_anchors(o.anchors);
        request.threshold = o.threshold;
        request.nms = o.nms;
        request.top = o.top;
        request.picture_width = o.picture_width > 0 ? o.picture_width : static_cast<float>(m.model.input.shape.w);
        request.picture_height = o.picture_height > 0 ? o.picture_height : static_cast<float>(m.model.input.shape.h);
        request.model_sha256 = model_sha256(m.model);
        request.model_input = m.model.input.shape;
        DecodeOutcome decoded = decode_first_output(outputs.front(), request, report.labels);
        report.decode = to_string(decoded.kind);
        report.top = std::move(decoded.top);
        report.detections = std::move(decoded.detections);
        report.anchors = std::move(decoded.anchors);
        report.anchors_source = std::move(decoded.anchors_source);
        report.warnings = std::move(decoded.warnings);
    }
    JobResult r;
    r.report_json = to_json(report).dump();
    r.decode = report.decode;
    r.detections = report.detections;
    r.outputs = outputs;
    return r;
}

}  // namespace kpusim::python
