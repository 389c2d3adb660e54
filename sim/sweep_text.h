// Formatting shared by the sweep command and its plot (internal to sim/).
#pragma once

#include <cctype>
#include <cstdint>
#include <string>

#include <spdlog/fmt/fmt.h>

#include "sim/run_settings.h"

namespace kpusim::sweep_text {

// Milliseconds rounded to the nanosecond (as the run report writes them).
inline double ms(uint64_t ps) { return static_cast<double>((ps + 500) / 1000) / 1e6; }

inline std::string hex(uint64_t v) { return fmt::format("0x{:X}", v); }

// "20M", "20500K", "133333333" for requested speeds.
inline std::string short_hz(uint64_t hz) {
    if (hz != 0 && hz % 1'000'000 == 0) return fmt::format("{}M", hz / 1'000'000);
    if (hz != 0 && hz % 1'000 == 0) return fmt::format("{}K", hz / 1'000);
    return std::to_string(hz);
}

inline std::string mhz(double hz) { return fmt::format("{:.1f}", hz / 1e6); }

// Clocks for titles: "400", "66.67".
inline std::string clock_mhz(uint64_t hz) {
    if (hz % 1'000'000 == 0) return std::to_string(hz / 1'000'000);
    return fmt::format("{:.2f}", static_cast<double>(hz) / 1e6);
}

inline std::string kib(uint64_t bytes) { return fmt::format("{:.0f} KiB", static_cast<double>(bytes) / 1024.0); }

inline std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

inline std::string mode_title(const RunSettings& s) {
    return fmt::format("{} from {}", to_string(s.mode), to_string(s.source));
}

inline std::string clocks_title(const RunSettings& s) {
    std::string t = fmt::format("CPU {} MHz, KPU {} MHz", clock_mhz(s.cpu_hz), clock_mhz(s.kpu_hz));
    if (s.source == ModelSource::flash)
        t += fmt::format(", {} lane{}{}", s.flash_lanes, s.flash_lanes == 1 ? "" : "s", s.flash_ddr ? " DDR" : "");
    return t;
}

}  // namespace kpusim::sweep_text
