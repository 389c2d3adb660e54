// A serial PSRAM as the model source of the flash runner, as a loosely-timed TLM-2.0 target
// with the same interface as flash_spi::SpiFlash.
//
// THIS IS A PROJECTION. No public K210 code drives a PSRAM (timing.md A.6); results obtained
// with this module answer "what if the runner read its layer bodies from a PSRAM of this
// datasheet class", and reports must label them so.
//
// Timing. A read is split into bursts that never cross a page boundary (the PSRAMs below
// wrap a linear burst at the 1 KiB page end, and the QSPI class allows wrapped bursts only
// "as long as tCEM is met", timing.md A.6); optionally also so that CE# stays low no longer
// than tCEM (max_ce_low_ps). Each burst costs
//     software_cycles_per_burst CPU cycles at cpu_hz                    (SSI + DMA set-up)
//   + command + address + latency + ceil(8·n / (lanes·(DDR?2:1))) clock cycles at clock_hz
// and the read costs the sum. Cycles are converted once per clock domain by
// flash_spi::cycles_to_picoseconds; read_time() is the formula and b_transport adds exactly
// read_time(config, address, n).time().
//
// Clock. The PSRAM clock is its own (133 MHz by default), not SPI3's divider. On a real K210
// a 4-lane PSRAM could share SPI3's rules (≤ 100 MHz TBC), and an 8-lane memory would have to
// sit on SPI0, the only block with eight data balls, whose datasheet limit is 25 MHz (TBC):
// the "OSPI PSRAM 133 MHz ×2" figure is a vendor projection (timing.md A.6). To model that
// limit, pass flash_spi::kSpi0MaxSckHz as the clock of ospi_psram_preset().
//
// Byte order: bytes arrive in order. (A driver using 32-bit SSI frames would write and read
// through the same frame format, so a reversal would cancel.)
//
// How a run-mode process reads N bytes: exactly as from SpiFlash (spi_flash.h) — a
// TLM_READ_COMMAND payload, socket->b_transport(tx, delay), then wait(delay); the delay is
// read_time(config, address, N).time().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>

#include "memory/timed_access.h"
#include <tlm_utils/simple_target_socket.h>

namespace kpusim::psram {

/// Capacity of the 64 Mb parts below, in bytes: 8 MiB (APS6404L/ESP-PSRAM64H class and
/// APS6408L: 64 Mb = 8M × 8 bits; APS6408L datasheet front page via timing.md A.6; ST
/// STM32CubeU5 Drivers/BSP/Components/aps6408/aps6408.h, APS6408_RAM_SIZE 0x800000).
inline constexpr uint64_t kPsram64MbBytes = 8ull * 1024 * 1024;

/// Page of both PSRAM classes, in bytes: 1 KiB. QSPI class: 64 Mb SPI/QPI PSRAM datasheet,
/// "1 KiB page" (timing.md A.6). OSPI: APS6408L "1024 byte page size" (datasheet front page,
/// timing.md A.6); Ambiq's driver AM_DEVICES_MPSI_PSRAM_APS6408L_PAGE_SIZE 1024
/// (am_devices_mspi_psram_aps6408l.h); ESP-IDF OCT_PSRAM_PAGE_SIZE "2 for 1024B"
/// (components/esp_psram/esp32s3/esp_psram_impl_octal.c).
inline constexpr uint64_t kPsramPageBytes = 1024;

/// Default PSRAM clock, in Hz: 133 MHz. QSPI class: ESP-PSRAM64H (64 Mb SPI PSRAM) is sold
/// as a 133 MHz part (Edragon/edragon.github.io Board-dat/CIC/CIC1067-dat/CIC1067-dat.md;
/// X65/x65.github.io _posts/2024-03-06-new-memory-chips.md); the related
/// 64 Mb SPI/QPI datasheet of timing.md A.6 allows up to 144 MHz. OSPI: 133 MHz with read
/// latency code LC = 5 (see kAps6408LatencyCodeAt133MHz); the part itself runs to 200 MHz
/// (APS6408L front page, timing.md A.6).
inline constexpr uint64_t kPsramDefaultClockHz = 133'000'000;

/// Software cost of one burst charged by the module itself, in CPU cycles: 0. Page bursts
/// are chained by the controller; the CPU's cost per command is the initiator's (kpusim's
/// flash runner charges `runner.command_cycles` of the parameter set, sim/parameters.h).
inline constexpr uint64_t kSoftwareCyclesPerBurst = 0;

// ---- QSPI class: 64 Mb SPI/QPI PSRAM (APS6404L / ESP-PSRAM64H), command 0xEB in QPI mode ----

/// Fast Quad Read opcode of SPI/QPI PSRAMs: 0xEB (ESP-IDF components/esp32s2beta/
/// spiram_psram.c PSRAM_FAST_READ_QUAD; Goodix GR5526 qspi_psram.h for APS6404L-SQRH;
/// Dialog DA1469x psram_aps6404jsq.h fast_read_opcode in QPI mode).
inline constexpr uint8_t kQspiReadOpcode = 0xEB;
/// Instruction clocks of 0xEB in QPI mode: 8 bits on 4 lanes = 2 (Dialog's APS6404 config
/// runs the PSRAM in QPI mode, qpi_mode = true). In SPI mode the opcode takes 8 clocks.
inline constexpr uint32_t kQspiCommandCycles = 2;
/// Address clocks: 24-bit address on 4 lanes = 6 (behavioural Verilog model of a 64 Mb QSPI
/// PSRAM: "command(8)->addr(24/4=6)->wait cycle(6)->data"; code index).
inline constexpr uint32_t kQspiAddressCycles = 6;
/// Wait clocks of Fast Quad Read: 6 (same Verilog model; ESP-IDF spiram_psram.c
/// PSRAM_FAST_READ_QUAD_DUMMY 0x5, a cycle count minus one).
inline constexpr uint32_t kQspiWaitCycles = 6;

// ---- OSPI class: APS6408L octal DDR PSRAM ----

/// Synchronous linear-burst read command of the APS6408L: 0x20 (ST aps6408.h
/// APS6408_READ_LINEAR_BURST_CMD; Zephyr drivers/memc/memc_mcux_flexspi_aps6408l.c).
inline constexpr uint8_t kOspiReadOpcode = 0x20;
/// Instruction clocks: 1 — the 8-bit instruction sent on both edges of one clock
/// (ESP-IDF esp_psram_impl_octal.c OCT_PSRAM_RD_CMD_BITLEN 16 in octal DTR mode).
inline constexpr uint32_t kOspiCommandCycles = 1;
/// Address clocks: 2 — a 32-bit address on eight lanes, both edges (ESP-IDF
/// OCT_PSRAM_ADDR_BITLEN 32; Zephyr's FlexSPI LUT RADDR_DDR 8 pads 0x20 bits).
inline constexpr uint32_t kOspiAddressCycles = 2;
/// Read latency code LC for 133 MHz: 5 (MR0 code 2). The datasheet's LC-versus-frequency
/// table was not retrieved; consistent with Zephyr programming MR0 code 4 (LC 7) "for
/// 200MHz" and with ESP-IDF running code 2 (LC 5) as its 80 MHz setting.
inline constexpr uint32_t kAps6408LatencyCodeAt133MHz = 5;

/// Read latency in clocks for an APS6408L latency code: LC with variable latency, 2·LC with
/// fixed latency (ST aps6408.h APS6408_READ_LATENCY: code + 3, doubled for fixed latency;
/// ESP-IDF prints code·2 + 6 for its fixed-latency setting).
/// @param latency_code LC, 3..7 (MR0 codes 0..4).
/// @param fixed        true for fixed latency (MR0 bit 5), the deterministic worst case;
///                     variable latency is LC unless a refresh collides, then 2·LC.
/// @throws kpusim::InputError if latency_code is outside 3..7.
uint32_t aps6408_read_latency_cycles(uint32_t latency_code, bool fixed);

/// How the PSRAM is read.
struct PsramConfig {
    std::string part;                 ///< description for reports
    uint64_t size_bytes = kPsram64MbBytes;
    uint64_t clock_hz = kPsramDefaultClockHz;  ///< PSRAM clock in Hz (> 0)
    uint32_t lanes = 4;               ///< data lanes: 1, 2, 4 or 8
    bool ddr = false;                 ///< data on both clock edges
    uint8_t opcode = kQspiReadOpcode; ///< read command (informational)
    uint32_t command_cycles = kQspiCommandCycles;  ///< clocks of the instruction phase
    uint32_t address_cycles = kQspiAddressCycles;  ///< clocks of the address phase
    uint32_t latency_cycles = kQspiWaitCycles;     ///< wait / read-latency clocks
    uint64_t page_bytes = kPsramPageBytes;         ///< bursts never cross a page (> 0)
    /// tCEM, the longest CE# low time of one burst, in picoseconds; 0 = not applied (bursts
    /// limited by the page only). The value was not retrieved from a datasheet; Dialog's
    /// DA1469x SDK caps CS-active time at 2 µs for APS6404 and 8 µs for APS1604
    /// (psram_aps6404jsq.h / psram_aps1604jsq.h, cs_active_time_max_us). When set, each
    /// burst carries at most the data that fits in tCEM with its command overhead.
    uint64_t max_ce_low_ps = 0;
    uint64_t cpu_hz = 400'000'000;    ///< CPU clock in Hz, for the software cost (> 0)
    uint64_t software_cycles_per_burst = kSoftwareCyclesPerBurst;  ///< CPU cycles per burst
};

/// QSPI preset: 64 Mb SPI/QPI PSRAM class (APS6404L / ESP-PSRAM64H), 4 lanes, SDR, 133 MHz,
/// 0xEB in QPI mode = 2 + 6 + 6 overhead clocks, 1 KiB page, tCEM not applied.
/// @param cpu_hz   CPU clock in Hz (software cost).
/// @param clock_hz PSRAM clock in Hz.
PsramConfig qspi_psram_preset(uint64_t cpu_hz = 400'000'000, uint64_t clock_hz = kPsramDefaultClockHz);

/// OSPI preset: APS6408L class, 8 lanes, DDR, 133 MHz, command + address in DDR (1 + 2
/// clocks), fixed read latency 2·LC = 10 clocks, 1 KiB page.
/// @param cpu_hz         CPU clock in Hz (software cost).
/// @param clock_hz       PSRAM clock in Hz (flash_spi::kSpi0MaxSckHz for the K210's SPI0).
/// @param latency_cycles read latency in clocks (aps6408_read_latency_cycles()).
PsramConfig ospi_psram_preset(uint64_t cpu_hz = 400'000'000, uint64_t clock_hz = kPsramDefaultClockHz,
                              uint32_t latency_cycles = 2 * kAps6408LatencyCodeAt133MHz);

/// Checks a configuration.
/// @throws kpusim::InputError naming the bad field: size, clock, CPU clock or page of 0;
///         lanes not 1/2/4/8; a tCEM shorter than one burst's overhead plus one data clock.
void validate(const PsramConfig& config);

/// The cost of one read, per clock domain and in total.
struct PsramReadTiming {
    uint64_t bytes = 0;                ///< bytes asked for
    uint64_t bursts = 0;               ///< page-bounded (and tCEM-bounded) bursts
    uint64_t overhead_cycles = 0;      ///< Σ command + address + latency clocks
    uint64_t data_cycles = 0;          ///< Σ data clocks
    uint64_t clock_cycles = 0;         ///< overhead_cycles + data_cycles (PSRAM clock)
    uint64_t cpu_cycles = 0;           ///< bursts × software_cycles_per_burst
    uint64_t clock_ps = 0;             ///< clock_cycles at clock_hz, in ps (rounded once)
    uint64_t cpu_ps = 0;               ///< cpu_cycles at cpu_hz, in ps (rounded once)
    uint64_t total_ps = 0;             ///< clock_ps + cpu_ps

    /// total_ps as sc_time (exact at SystemC's default 1 ps resolution).
    sc_core::sc_time time() const;
};

/// Data clocks of one burst of `bytes` bytes: ceil(8·bytes / (lanes · (ddr ? 2 : 1))).
uint64_t data_cycles(const PsramConfig& config, uint64_t bytes);

/// Largest number of data bytes one burst may carry under tCEM, or 0 if tCEM is not applied
/// (max_ce_low_ps == 0).
/// @throws kpusim::InputError if the configuration is invalid.
uint64_t max_burst_bytes_for_tcem(const PsramConfig& config);

/// The one formula for reading `bytes` bytes starting at PSRAM address `address` (bursts
/// split at page boundaries and, if set, at the tCEM limit). Zero bytes cost nothing.
/// @throws kpusim::InputError if the configuration is invalid.
PsramReadTiming read_time(const PsramConfig& config, uint64_t address, uint64_t bytes);

/// A serial PSRAM as a TLM-2.0 loosely-timed target (see the file comment).
class Psram : public sc_core::sc_module {
public:
    /// Target socket: b_transport (timed reads) and transport_dbg (untimed). No DMI.
    tlm_utils::simple_target_socket<Psram> socket;

    /// A zero-filled PSRAM of config.size_bytes bytes.
    /// @throws kpusim::InputError if the configuration is invalid (validate()).
    explicit Psram(sc_core::sc_module_name name, const PsramConfig& config = qspi_psram_preset());

    const char* kind() const override { return "kpusim::psram::Psram"; }

    /// Writes `size` bytes at PSRAM address `address`, without time or counters.
    /// @throws kpusim::InputError if [address, address + size) does not fit; the message
    ///         names the address, the image size and the PSRAM size.
    void program(uint64_t address, const uint8_t* bytes, uint64_t size);
    /// Same, for a byte vector.
    void program(uint64_t address, const std::vector<uint8_t>& bytes) {
        program(address, bytes.data(), bytes.size());
    }
    /// The stored bytes, size() of them.
    const uint8_t* data() const noexcept { return bytes_.data(); }
    /// Capacity in bytes.
    uint64_t size() const noexcept { return bytes_.size(); }

    /// The configuration in force.
    const PsramConfig& config() const noexcept { return config_; }
    /// read_time(config(), address, bytes): what b_transport charges for that read.
    PsramReadTiming read_time(uint64_t address, uint64_t bytes) const {
        return psram::read_time(config_, address, bytes);
    }
    /// Replaces the timing configuration (e.g. between runs); the size must stay the same.
    /// Counters are kept.
    /// @throws kpusim::InputError if it is invalid or changes size_bytes.
    void reconfigure(const PsramConfig& config);

    // ---- counters (b_transport reads only) ----

    /// Bursts issued since construction or reset_counters().
    uint64_t bursts_issued() const noexcept { return bursts_issued_; }
    /// Bytes delivered to initiators.
    uint64_t bytes_read() const noexcept { return bytes_read_; }
    /// Successful timed read transactions.
    uint64_t transactions() const noexcept { return transactions_; }
    /// Σ total_ps of the successful reads, in picoseconds.
    uint64_t busy_ps() const noexcept { return busy_ps_; }
    /// Zero all counters.
    void reset_counters() noexcept;

private:
    /// Blocking transport, with the same statuses as SpiFlash's (spi_flash.h): IGNORE → OK;
    /// WRITE → TLM_COMMAND_ERROR_RESPONSE; out of range → TLM_ADDRESS_ERROR_RESPONSE; byte
    /// enables → TLM_BYTE_ENABLE_ERROR_RESPONSE; streaming width < length →
    /// TLM_BURST_ERROR_RESPONSE; null data → TLM_GENERIC_ERROR_RESPONSE; otherwise copies
    /// the bytes in order and adds read_time(address, length).time() to `delay`.
    void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);

    /// Debug transport: reads or writes min(length, size() − address) stored bytes without
    /// time or counters; returns the count (0 if out of range, null pointer or IGNORE).
    unsigned int transport_dbg(tlm::tlm_generic_payload& trans);

    PsramConfig config_;
    std::vector<uint8_t> bytes_;
    uint64_t bursts_issued_ = 0;
    uint64_t bytes_read_ = 0;
    uint64_t transactions_ = 0;
    uint64_t busy_ps_ = 0;
    memory::BusyUntil busy_;  ///< the controller: one read at a time (timed_access.h)
};

}  // namespace kpusim::psram
