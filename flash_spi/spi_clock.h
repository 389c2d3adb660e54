// The SPI clock (SCK) a K210 SPI controller makes from its source clock, and the one
// place where kpusim turns SPI / CPU clock cycles into picoseconds.
//
// Rule (kendryte-standalone-sdk lib/drivers/spi.c, spi_set_clk_rate, quoted in
// /work/shared/docs/timing.md A.1 and C.3):
//     BAUDR = clamp(floor(f_src / f_requested), 2, 65534)
//     SCK   = f_src / BAUDR
// where f_src is the SPI block's input clock. For SPI3 (the flash controller) MaixPy's setup
// gives f_SPI3 = f_CPU: both published "SPI freq" values fit it (481 MHz / 6 = 80,166,666 Hz,
// ≈403 MHz / 6 = 67,166,666 Hz; timing.md A.1).
//
// Open point (timing.md A.1, C.7 item 5): DesignWare SSIs usually force BAUDR even; no K210
// statement either way was found, so odd dividers are taken as the SDK reports them.
#pragma once

#include <cstdint>

#include "common/clock_domain.h"

namespace kpusim::flash_spi {

/// Smallest SCK divider BAUDR the SDK programs (spi.c, spi_set_clk_rate): SCK ≤ f_src / 2.
inline constexpr uint32_t kSpiMinDivider = 2;
/// Largest SCK divider BAUDR the SDK programs (spi.c, spi_set_clk_rate).
inline constexpr uint32_t kSpiMaxDivider = 65534;
/// Highest SCK of SPI3, in Hz: "SPI3 supports up to 100MHz clock (TBC)" (K210 datasheet
/// en/003.md, timing.md A.6). The datasheet marks it "to be confirmed".
inline constexpr uint64_t kSpi3MaxSckHz = 100'000'000;
/// Highest SCK of SPI0/1/2, in Hz: "SPI0, SPI1, and SPI2 support up to 25MHz clock (TBC)"
/// (K210 datasheet en/003.md, timing.md A.6). SPI0 is the only block with eight data
/// balls (SPI0_D0–D7), so an octal memory on a K210 would sit there (timing.md A.6).
inline constexpr uint64_t kSpi0MaxSckHz = 25'000'000;

/// A resolved SPI clock: what the controller is asked for and what it makes.
struct SpiClock {
    uint64_t source_hz = 0;     ///< f_src, the SPI block's input clock, in Hz
    uint64_t requested_hz = 0;  ///< the SCK the software asked for, in Hz
    uint32_t divider = 0;       ///< BAUDR, in [kSpiMinDivider, kSpiMaxDivider]
    /// floor(source_hz / divider), in Hz: the integer the SDK's spi_set_clk_rate returns
    /// and prints (e.g. 80,166,666 for 481 MHz / 6).
    uint64_t actual_hz = 0;

    /// The exact SCK, source_hz / divider, in Hz (e.g. 80,166,666.67 for 481 MHz / 6).
    /// For reports only; timing uses the exact rational through cycles_to_ps().
    double actual_hz_exact() const noexcept {
        return static_cast<double>(source_hz) / static_cast<double>(divider);
    }
    /// Duration of `cycles` SCK cycles in picoseconds, computed from the exact rational
    /// (cycles · divider / source_hz), rounded to the nearest picosecond.
    uint64_t cycles_to_ps(uint64_t cycles) const;
};

/// Resolves the SCK an SPI controller makes (SDK rule above).
/// @param source_hz    f_src in Hz (for SPI3 in MaixPy: f_CPU, timing.md A.1). Must be > 0.
/// @param requested_hz requested SCK in Hz. Must be > 0 and ≤ source_hz / 2.
/// @param max_sck_hz   datasheet limit of the controller in Hz; default kSpi3MaxSckHz.
/// @return divider and actual frequency. A request so slow that floor(f_src / f_req)
///         exceeds 65534 is clamped as the SDK does (the SCK is then faster than asked).
/// @throws kpusim::InputError if source_hz or requested_hz is 0; if requested_hz is above
///         source_hz / 2 (the message names the request, the source and that maximum);
///         or if the resulting SCK is above max_sck_hz (the SPI3 datasheet limit).
/// Examples (timing.md A.1): (481 MHz, 80 MHz) → divider 6, 80,166,666 Hz;
/// (403 MHz, 60 MHz) → divider 6, 67,166,666 Hz.
SpiClock resolve_spi_clock(uint64_t source_hz, uint64_t requested_hz,
                           uint64_t max_sck_hz = kSpi3MaxSckHz);

/// The one cycles-to-picoseconds conversion of kpusim (common/clock_domain.h), under the
/// name the flash and PSRAM models have always used.
using kpusim::cycles_to_ps;
inline uint64_t cycles_to_picoseconds(uint64_t cycles, uint64_t clock_hz, uint64_t divider = 1) {
    return cycles_to_ps(cycles, clock_hz, divider);
}

}  // namespace kpusim::flash_spi
