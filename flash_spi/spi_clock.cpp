#include "flash_spi/spi_clock.h"

#include <limits>
#include <string>

#include "common/errors.h"

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

}  // namespace kpusim::flash_spi
