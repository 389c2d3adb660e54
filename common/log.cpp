#include "common/log.h"

#include <mutex>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <systemc>

#include "common/errors.h"

namespace kpusim {

namespace {

// "%*" in the pattern: the simulated time in milliseconds.
class SimTimeFlag : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
        const std::string text = "sim " + std::to_string(sc_core::sc_time_stamp().to_seconds() * 1e3) + " ms";
        dest.append(text.data(), text.data() + text.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<SimTimeFlag>(); }
};

spdlog::level::level_enum g_level = spdlog::level::warn;

void systemc_report(const sc_core::sc_report& report, const sc_core::sc_actions& actions) {
    auto log = logger("systemc");
    const std::string text = std::string(report.get_msg_type()) + ": " + report.get_msg();
    switch (report.get_severity()) {
        case sc_core::SC_INFO: log->info(text); break;
        case sc_core::SC_WARNING: log->warn(text); break;
        default: log->error(text); break;
    }
    // Keep SystemC's own actions (throw, stop, abort) except its display.
    sc_core::sc_report_handler::default_handler(report, actions & ~(sc_core::SC_DISPLAY | sc_core::SC_LOG));
}

}  // namespace

std::shared_ptr<spdlog::logger> logger(const std::string& name) {
    static std::mutex mutex;
    std::lock_guard<std::mutex> lock(mutex);
    const std::string full = "kpusim." + name;
    if (auto existing = spdlog::get(full)) return existing;
    auto log = std::make_shared<spdlog::logger>(full, std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<SimTimeFlag>('*').set_pattern("[%*] [" + name + "] [%l] %v");
    log->set_formatter(std::move(formatter));
    log->set_level(g_level);
    spdlog::register_logger(log);
    return log;
}

void set_log_level(const std::string& level) {
    const auto parsed = spdlog::level::from_str(level);
    if (parsed == spdlog::level::off && level != "off")
        throw InputError("--log-level: '" + level + "' is not trace, debug, info, warn, error or off");
    g_level = parsed;
    spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
        if (l->name().rfind("kpusim.", 0) == 0) l->set_level(parsed);
    });
    sc_core::sc_report_handler::set_handler(systemc_report);
}

void set_time_resolution(const std::string& resolution) {
    double value = 0;
    sc_core::sc_time_unit unit = sc_core::SC_PS;
    if (resolution == "1ps") return;  // SystemC's default
    else if (resolution == "10ps") value = 10;
    else if (resolution == "100ps") value = 100;
    else if (resolution == "1ns") value = 1, unit = sc_core::SC_NS;
    else throw InputError("--time-resolution: '" + resolution + "' is not 1ps, 10ps, 100ps or 1ns");
    try {
        sc_core::sc_set_time_resolution(value, unit);
    } catch (const std::exception& e) {
        throw InputError("--time-resolution: the SystemC time resolution is already fixed (" + std::string(e.what()) + ")");
    }
}

}  // namespace kpusim
