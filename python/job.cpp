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


LoadedModel load(const std::string& path, bool strict_sdk) {
    KmodelReadOptions read_options;
    read_options.strict_sdk = strict_sdk;
    KmodelByteOrder order = KmodelByteOrder::plain;
    LoadedModel m{parse_kmodel(to_plain_kmodel(read_whole_file(path, "kmodel file"), &order), read_options), path,
                  to_string(order)};
    return m;
}

RunSettings resolve_settings(const JobOptions& o, std::vector<RunMode>* modes) {
    RunSettings base = resolve_run_settings(o, modes);
    base.compute_outputs = o.compute_outputs;
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
        // The CLI's decoding step (sim/run_options.h): same guesses, fallbacks and warnings.
        decode_into_report(m.model, outputs, o,
                           o.picture_width > 0 ? o.picture_width : static_cast<float>(m.model.input.shape.w),
                           o.picture_height > 0 ? o.picture_height : static_cast<float>(m.model.input.shape.h),
                           report);
    }
    JobResult r;
    r.report_json = to_json(report).dump();
    r.decode = report.decode;
    r.detections = report.detections;
    r.outputs = outputs;
    return r;
}

}  // namespace kpusim::python
