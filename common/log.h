// kpusim's logging: one spdlog logger per module ("k210", "kpu", "dma", "flash", ...), each line
// stamped with the simulated time, and SystemC's own reports routed through the "systemc"
// logger. The level is global (set_log_level, the CLI's --log-level); default: warn.
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace kpusim {

/// The logger of module `name`, created on first use with kpusim's format:
/// "[sim 12.345678 ms] [kpu] [debug] message" (simulated time of the SystemC kernel).
std::shared_ptr<spdlog::logger> logger(const std::string& name);

/// Set the level of every kpusim logger: "trace", "debug", "info", "warn", "error", "off".
/// Also routes SystemC's reports (sc_report_handler) through the "systemc" logger.
/// @throws InputError naming --log-level for another word.
void set_log_level(const std::string& level);

/// Set the SystemC time resolution ("1ps", "10ps", "100ps", "1ns"); must be called before
/// the first simulation. kpusim's figures are the same at each (common/clock_domain.h).
/// @throws InputError for another value or when the resolution is already fixed.
void set_time_resolution(const std::string& resolution);

}  // namespace kpusim
