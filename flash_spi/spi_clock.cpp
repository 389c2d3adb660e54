#include "flash_spi/spi_clock.h"

#include <limits>
#include <string>

#include "models/kmodel_error.h"

namespace kpusim::flash_spi {

uint64_t SpiClock::cycles_to_ps(uint64_t cycles) const {
    return cycles_to_picoseconds(cycles, source_hz, divider);
}

SpiClock resolve_spi_clock(uint64_t source_hz, uint64_t requested_hz, uint64_t max_sck_hz) {
    if (source_hz == 0)
        throw InputError("SPI clock: the source clock f_SPI3 is 0 Hz (requested SCK " +
                         std::to_string(requested_hz) + " Hz)");
    if (requested_hz == 0)
        throw InputError("SPI clock: the requested SCK is 0 Hz (source clock " +
                         std::to_string(source_hz) + " Hz)");
    // floor(f_src / f_req) < 2  <=>  f_req > f_src / 2  <=>  2 * f_req > f_src.
    if (static_cast<unsigned __int128>(requested_hz) * 2 > source_hz) {
        throw InputError("SPI clock: requested SCK " + std::to_string(requested_hz) +
                         " Hz is above the fastest the SPI controller can make from its " +
                         std::to_string(source_hz) + " Hz source clock: f_src / 2 = " +
                         std::to_string(source_hz / 2) +
                         " Hz (the SCK divider BAUDR is at least 2)");
    }
    uint64_t div = source_hz / requested_hz;
    if (div < kSpiMinDivider) div = kSpiMinDivider;  // unreachable after the check above
    if (div > kSpiMaxDivider) div = kSpiMaxDivider;  // SDK clamp: SCK faster than asked

    SpiClock clock;
    clock.source_hz = source_hz;
    clock.requested_hz = requested_hz;
    clock.divider = static_cast<uint32_t>(div);
    clock.actual_hz = source_hz / div;
    // Compare the exact rational source/div with the limit: source > limit * div.
    const unsigned __int128 limit_times_div =
        static_cast<unsigned __int128>(max_sck_hz) * static_cast<unsigned __int128>(div);
    if (static_cast<unsigned __int128>(source_hz) > limit_times_div) {
        throw InputError("SPI clock: " + std::to_string(source_hz) + " Hz / divider " +
                         std::to_string(div) + " = " + std::to_string(clock.actual_hz) +
                         " Hz SCK (requested " + std::to_string(requested_hz) +
                         " Hz) is above the SPI3 limit of " + std::to_string(max_sck_hz) +
                         " Hz (K210 datasheet: \"SPI3 supports up to 100MHz clock (TBC)\")");
    }
    return clock;
}

uint64_t cycles_to_picoseconds(uint64_t cycles, uint64_t clock_hz, uint64_t divider) {
    if (clock_hz == 0 || divider == 0)
        throw InputError("cycles_to_picoseconds: clock " + std::to_string(clock_hz) +
                         " Hz / divider " + std::to_string(divider) + " is not a clock");
    using u128 = unsigned __int128;
    constexpr uint64_t kPsPerSecond = 1'000'000'000'000ull;
    // cycles * divider * 1e12 / clock_hz, rounded half up. cycles * divider < 2^96 and
    // * 1e12 (< 2^40) stays below 2^128 except for absurd inputs, which are checked.
    const u128 num_cycles = static_cast<u128>(cycles) * divider;
    if (num_cycles != 0 && num_cycles > (~static_cast<u128>(0)) / kPsPerSecond)
        throw InputError("cycles_to_picoseconds: " + std::to_string(cycles) +
                         " cycles overflow the picosecond count");
    const u128 num = num_cycles * kPsPerSecond;
    const u128 ps = (num + clock_hz / 2) / clock_hz;
    if (ps > std::numeric_limits<uint64_t>::max())
        throw InputError("cycles_to_picoseconds: " + std::to_string(cycles) +
                         " cycles exceed 2^64 - 1 picoseconds");
    return static_cast<uint64_t>(ps);
}

}  // namespace kpusim::flash_spi
