// libFuzzer entry point: `kpusim check`'s JSON side. The input is "REPORT\0BASELINE" (no
// zero byte: the same text for both); both are parsed with parse_report_json (depth limit)
// and compared with compare_reports, as check_command does.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_limits.h"
#include "models/kmodel_error.h"
#include "sim/report_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace kpusim;
    if (size > fuzz::kMaxJsonBytes) return 0;
    const std::string text(reinterpret_cast<const char*>(data), size);
    const size_t split = text.find('\0');
    const std::string report_text = text.substr(0, split);
    const std::string baseline_text = split == std::string::npos ? report_text : text.substr(split + 1);
    try {
        const auto report = parse_report_json(report_text, "report");
        const auto baseline = parse_report_json(baseline_text, "baseline");
        CheckOptions options;
        compare_reports(report, baseline, options);
    } catch (const InputError&) {
    }
    return 0;
}
