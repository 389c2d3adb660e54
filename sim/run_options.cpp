#include "sim/run_options.h"

#include <sstream>
#include <stdexcept>

#include "common/errors.h"
#include "kpusim/kpusim.h"
#include "memory/ram_budget.h"
#include "sim/decode_choice.h"
#include "sim/decode_outputs.h"
#include "sim/units.h"

namespace kpusim {

RunSettings resolve_run_settings(const RunSettingsText& o, std::vector<RunMode>* modes) {
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
    if (modes) {
        if (o.mode == "all") *modes = {RunMode::ram, RunMode::flash_single, RunMode::flash_dual};
        else *modes = {parse_run_mode(o.mode)};
    }
    return base;
}

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

std::string decode_into_report(const Model& model, const std::vector<OutputTensor>& outputs, const DecodeText& o,
                               float picture_width, float picture_height, RunReport& report,
                               const std::string* known_sha256) {
    std::string guess;
    const DecodeKind kind =
        o.decode.empty() ? guess_outputs_decode(model, outputs, report.labels, &guess, known_sha256) : parse_decode_kind(o.decode);
    if (kind == DecodeKind::ultraface || kind == DecodeKind::ultraface_landmark || kind == DecodeKind::features) {
        OutputsDecodeSettings settings;
        settings.decode = to_string(kind);
        settings.threshold = o.threshold;
        settings.nms = o.nms;
        settings.top = o.top;
        settings.labels = report.labels;
        settings.picture_width = picture_width;
        settings.picture_height = picture_height;
        if (known_sha256) settings.model_sha256 = *known_sha256;
        DecodedOutputs decoded = decode_outputs(model, outputs, settings);
        report.decode = to_string(decoded.kind);
        report.top = std::move(decoded.top);
        report.detections = std::move(decoded.detections);
        if (decoded.features) report.features = *decoded.features;
        return guess;
    }
    DecodeRequest request;
    request.decode = o.decode;
    if (!o.anchors.empty()) request.anchors = parse_anchors(o.anchors);
    request.threshold = o.threshold;
    request.nms = o.nms;
    request.top = o.top;
    request.model_sha256 = known_sha256 ? *known_sha256 : model_sha256(model);
    request.model_input = model.input.shape;
    request.picture_width = picture_width;
    request.picture_height = picture_height;
    DecodeOutcome decoded = decode_first_output(outputs.front(), request, report.labels);
    report.decode = to_string(decoded.kind);
    report.top = std::move(decoded.top);
    report.detections = std::move(decoded.detections);
    report.anchors = std::move(decoded.anchors);
    report.anchors_source = std::move(decoded.anchors_source);
    report.warnings = std::move(decoded.warnings);
    return decoded.guess;
}

}  // namespace kpusim
