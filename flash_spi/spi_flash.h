// The board's SPI NOR flash behind the K210's SPI3 controller, as a loosely-timed TLM-2.0
// target: the model source of MaixPy's flash runner (kpu.load_flash) and of kpu.load.
//
// What a read costs (timing.md A.5, C.3). A read of n bytes is split into commands of at
// most max_bytes_per_command bytes (256 KiB for the flash runner, 64 KiB for kpu.load's
// driver). With 32-bit SSI frames the length is first rounded up to a multiple of 4 (the
// runner reads a tail as one extra 4-byte word). Each command costs
//     software_cycles_per_command CPU cycles at cpu_hz      (reprogram SSI + 2 DMA channels)
//   + command_sck_cycles(cmd, chunk) SCK cycles at the SCK   (instruction+address+dummy+data)
// and the read costs the sum over its commands. Cycles are counted per clock domain and
// turned into picoseconds in one place (cycles_to_picoseconds, spi_clock.h); read_time() is
// that formula, and b_transport adds exactly read_time(config, n).time() to the delay.
//
// Byte order (timing.md A.5). The SSI shifts each frame MSB first and the DMA stores the
// 32-bit FIFO word little-endian, so with 32-bit frames every 4-byte group on the wire
// arrives byte-reversed; this is why MaixPy's kpu.load_flash needs a model file whose 32-bit
// words were reversed beforehand (MaixPy_scripts machine_vision/model_le2be.py, mirrored by
// reverse_32bit_words() below): reading a reversed image through 32-bit frames gives back
// the original bytes. With 8-bit frames (kpu.load's driver) bytes arrive in order. Groups
// are counted from the first byte of the transaction (the first byte on the wire).
//
// Addressing: the socket sees flash addresses 0 .. 16 MiB − 1 (models conventionally at
// 0x300000+, timing.md A.6). A 32-bit-frame tail that runs past the end of the array wraps
// to address 0, as a NOR flash's continuous read does.
//
// How a run-mode process reads N bytes: fill a tlm_generic_payload (TLM_READ_COMMAND,
// address, data pointer, length N, streaming width N), call socket->b_transport(tx, delay),
// check tx.is_response_ok(), then wait(delay) (or hand it to a quantum keeper). The delay it
// learns is read_time(config, N).time(). To let other processes run between the runner's
// ≤ 256 KiB commands (timing.md C.4, dual-buffer mode), issue one transaction per command.
#pragma once

#include <cstdint>
#include <vector>

#include <systemc>
#include <tlm>

#include "memory/timed_access.h"
#include <tlm_utils/simple_target_socket.h>

#include "flash_spi/spi_clock.h"
#include "flash_spi/spi_read_command.h"

namespace kpusim::flash_spi {

/// Capacity of the board flash in bytes: 16 MiB on MaixPy boards (Sipeed wiki, Maix Duino
/// page; timing.md A.6).
inline constexpr uint64_t kFlashSizeBytes = 16ull * 1024 * 1024;

/// Largest command of MaixPy's flash runner, in bytes: 256 KiB = 65,536 32-bit frames
/// (kpu_flash_read_once, decoded; timing.md A.5).
inline constexpr uint64_t kFlashRunnerMaxCommandBytes = 256ull * 1024;
/// Largest command of MaixPy's normal flash driver (kpu.load), in bytes: 64 KiB = 65,536
/// 8-bit frames (w25qxx.c; timing.md A.4).
inline constexpr uint64_t kKpuLoadMaxCommandBytes = 64ull * 1024;
/// Frames one SSI receive command can count: 65,536 (the two limits above are this many
/// 32-bit and 8-bit frames; timing.md A.5). max_bytes_per_command may not exceed this many
/// frames.
inline constexpr uint64_t kMaxFramesPerCommand = 65536;

/// Software cost of one flash command charged by the module itself, in CPU cycles: 0. The
/// CPU's cost of programming the SSI and two DMA channels for a command is the initiator's
/// (kpusim's flash runner charges `runner.command_cycles` of the parameter set,
/// sim/parameters.h): one cost, one constant. A standalone user of this module may set
/// SpiFlashConfig::software_cycles_per_command to charge it here instead.
inline constexpr uint64_t kSoftwareCyclesPerCommand = 0;

/// How the flash is read: clocks, bus mode, frame format, command split, software cost.
struct SpiFlashConfig {
    /// f_SPI3, the SPI3 input clock, in Hz. In MaixPy's setup f_SPI3 = f_CPU (timing.md A.1).
    uint64_t source_hz = 400'000'000;
    /// The SCK asked for, in Hz (kpu.load_flash's spi_speed; MaixPy's README asks ≤ 80 MHz).
    uint64_t requested_sck_hz = 80'000'000;
    /// Data lanes: 1, 2, 4 or 8. A K210 board's flash has 4 (timing.md A.6); 8 is a projection.
    uint32_t lanes = 4;
    /// Double data rate. No public K210 code uses it; a projection (timing.md A.6).
    bool ddr = false;
    /// SSI frame size in bits: 32 (flash runner, byte-reversed words) or 8 (kpu.load).
    uint32_t frame_bits = 32;
    /// Largest command in bytes (> 0, a whole number of frames, ≤ 65,536 frames).
    uint64_t max_bytes_per_command = kFlashRunnerMaxCommandBytes;
    /// CPU clock in Hz, the clock of software_cycles_per_command.
    uint64_t cpu_hz = 400'000'000;
    /// Software cost of one command in CPU cycles (see kSoftwareCyclesPerCommand).
    uint64_t software_cycles_per_command = kSoftwareCyclesPerCommand;
    /// Highest SCK the controller may make, in Hz: SPI3's datasheet limit by default. To
    /// explore an octal memory on SPI0, set kSpi0MaxSckHz (timing.md A.6).
    uint64_t max_sck_hz = kSpi3MaxSckHz;
};

/// The flash runner's setting (kpu.load_flash, timing.md A.5): 0xEB on 4 lanes, SDR,
/// 32-bit frames, ≤ 256 KiB per command, f_SPI3 = f_CPU.
/// @param cpu_hz       CPU clock in Hz (= f_SPI3 and the software-cost clock).
/// @param spi_speed_hz kpu.load_flash's spi_speed argument in Hz (requested SCK).
SpiFlashConfig flash_runner_config(uint64_t cpu_hz, uint64_t spi_speed_hz);

/// kpu.load's setting (timing.md A.4): 0xEB on 4 lanes, SDR, 8-bit frames, ≤ 64 KiB per
/// command, SCK requested as f_CPU/400·25 MHz = f_CPU / 16 (25 MHz at 400 MHz, 30.06 MHz at
/// 481 MHz; w25qxx_init_dma).
/// @param cpu_hz CPU clock in Hz (= f_SPI3 and the software-cost clock).
SpiFlashConfig kpu_load_config(uint64_t cpu_hz);

/// Checks a configuration and resolves its clock.
/// @throws kpusim::InputError naming the bad field: lanes not 1/2/4/8, frame_bits not 8/32,
///         max_bytes_per_command 0, not a whole number of frames or above 65,536 frames,
///         cpu_hz 0, or any clock error of resolve_spi_clock().
void validate(const SpiFlashConfig& config);

/// True if the setting is a projection no K210 board's flash can run (8 lanes or DDR;
/// timing.md A.6); reports should label such results.
bool is_projection(const SpiFlashConfig& config);

/// The cost of one read, per clock domain and in total. All counts are integers.
struct FlashReadTiming {
    uint64_t bytes = 0;                ///< bytes asked for
    uint64_t wire_bytes = 0;           ///< bytes clocked: bytes rounded up to whole frames
    uint64_t commands = 0;             ///< SPI commands: ceil(wire_bytes / max_bytes_per_command)
    uint64_t overhead_sck_cycles = 0;  ///< Σ instruction + address + dummy SCK cycles
    uint64_t data_sck_cycles = 0;      ///< Σ data SCK cycles
    uint64_t sck_cycles = 0;           ///< overhead_sck_cycles + data_sck_cycles
    uint64_t cpu_cycles = 0;           ///< commands × software_cycles_per_command
    uint64_t sck_ps = 0;               ///< sck_cycles at the resolved SCK, in ps (rounded once)
    uint64_t cpu_ps = 0;               ///< cpu_cycles at cpu_hz, in ps (rounded once)
    uint64_t total_ps = 0;             ///< sck_ps + cpu_ps

    /// total_ps as sc_time (exact at SystemC's default 1 ps resolution).
    sc_core::sc_time time() const;
};

/// The one formula for the cost of reading `bytes` bytes (file comment; timing.md C.3).
/// Zero bytes cost nothing (no command is issued).
/// Example: 481 MHz, 80 MHz requested (SCK 80.166 MHz), 776,360 bytes, runner setting →
/// 3 commands, 3·20 + 2·776,360 = 1,552,780 SCK cycles and 3 × 1,200 CPU cycles.
/// @throws kpusim::InputError if the configuration is invalid (see validate()).
FlashReadTiming read_time(const SpiFlashConfig& config, uint64_t bytes);

/// What MaixPy_scripts' model_le2be.py does to a model before it is written to flash for
/// kpu.load_flash (timing.md A.5): pads with zero bytes to a multiple of 4 and reverses the
/// bytes of every 32-bit word.
std::vector<uint8_t> reverse_32bit_words(const std::vector<uint8_t>& bytes);

/// The board's SPI flash as a TLM-2.0 loosely-timed target (see the file comment).
class SpiFlash : public sc_core::sc_module {
public:
    /// Target socket: b_transport (timed reads) and transport_dbg (untimed). No DMI: every
    /// timed read must pay the SPI cost. Bind it before elaboration ends.
    tlm_utils::simple_target_socket<SpiFlash> socket;

    /// A flash of kFlashSizeBytes bytes, all 0xFF (erased NOR).
    /// @param name   SystemC module name.
    /// @param config how it is read; validated before the module is built.
    /// @throws kpusim::InputError if the configuration is invalid (validate()).
    explicit SpiFlash(sc_core::sc_module_name name, const SpiFlashConfig& config = SpiFlashConfig{});

    const char* kind() const override { return "kpusim::flash_spi::SpiFlash"; }

    // ---- contents ----

    /// Writes `size` bytes at flash address `address` (e.g. a model image at 0x300000),
    /// without time or counters. Bytes are stored as given: for kpu.load_flash pass
    /// reverse_32bit_words(model).
    /// @throws kpusim::InputError if [address, address + size) does not fit in 16 MiB; the
    ///         message names the address, the image size and the flash size.
    void program(uint64_t address, const uint8_t* bytes, uint64_t size);
    /// Same, for a byte vector.
    void program(uint64_t address, const std::vector<uint8_t>& bytes) {
        program(address, bytes.data(), bytes.size());
    }
    /// The stored bytes, size() of them (flash address 0 first).
    const uint8_t* data() const noexcept { return bytes_.data(); }
    /// Capacity in bytes (kFlashSizeBytes).
    uint64_t size() const noexcept { return bytes_.size(); }

    // ---- configuration and timing ----

    /// The configuration in force.
    const SpiFlashConfig& config() const noexcept { return config_; }
    /// The resolved SCK: divider and actual frequency (for reports).
    const SpiClock& clock() const noexcept { return clock_; }
    /// The read command in use (choose_read_command(lanes, ddr)).
    const SpiReadCommand& command() const noexcept { return *command_; }
    /// read_time(config(), bytes): what b_transport charges for a read of `bytes` bytes.
    FlashReadTiming read_time(uint64_t bytes) const { return flash_spi::read_time(config_, bytes); }
    /// Replaces the configuration (e.g. between runs). Counters are kept.
    /// @throws kpusim::InputError if it is invalid; the old configuration then stays.
    void reconfigure(const SpiFlashConfig& config);
    /// Changes only the requested SCK, as the runner does before a forward
    /// (kpu_fast_flash: spi_speed) and after it (kpu_recover_flash: 25 MHz); timing.md A.5.
    /// @param hz requested SCK in Hz.
    /// @throws kpusim::InputError as resolve_spi_clock(); the old clock then stays.
    void set_requested_sck_hz(uint64_t hz);

    // ---- counters (b_transport reads only; debug transport is not counted) ----

    /// SPI commands issued since construction or reset_counters().
    uint64_t commands_issued() const noexcept { return commands_issued_; }
    /// Bytes delivered to initiators.
    uint64_t bytes_read() const noexcept { return bytes_read_; }
    /// Bytes clocked on the bus (bytes_read plus 32-bit-frame padding).
    uint64_t wire_bytes_read() const noexcept { return wire_bytes_read_; }
    /// Successful timed read transactions.
    uint64_t transactions() const noexcept { return transactions_; }
    /// Σ total_ps of the successful reads, in picoseconds (time the flash path was busy).
    uint64_t busy_ps() const noexcept { return busy_ps_; }
    /// Zero all counters.
    void reset_counters() noexcept;

private:
    /// Blocking transport. Response status, checked in this order:
    /// - TLM_IGNORE_COMMAND: OK, nothing done, no delay;
    /// - TLM_WRITE_COMMAND: TLM_COMMAND_ERROR_RESPONSE (the flash is programmed with
    ///   program() or debug transport, not by timed writes);
    /// - TLM_ADDRESS_ERROR_RESPONSE if [address, address + length) is not inside the flash;
    /// - TLM_BYTE_ENABLE_ERROR_RESPONSE if a byte-enable pointer is set;
    /// - TLM_BURST_ERROR_RESPONSE if the streaming width is smaller than the length;
    /// - TLM_GENERIC_ERROR_RESPONSE if the data pointer is null with a non-zero length;
    /// - otherwise OK: copies the bytes (32-bit frames: each 4-byte group reversed), adds
    ///   read_time(length).time() to `delay` and counts. On an error nothing is copied and
    ///   `delay` is unchanged.
    void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);

    /// Debug transport: reads or writes the stored bytes as they are (no frame reversal),
    /// min(length, size() − address) of them, without time or counters; returns the count
    /// (0 for an address out of range, a null pointer or TLM_IGNORE_COMMAND).
    unsigned int transport_dbg(tlm::tlm_generic_payload& trans);

    SpiFlashConfig config_;
    SpiClock clock_;
    const SpiReadCommand* command_;
    std::vector<uint8_t> bytes_;
    uint64_t commands_issued_ = 0;
    uint64_t bytes_read_ = 0;
    uint64_t wire_bytes_read_ = 0;
    uint64_t transactions_ = 0;
    uint64_t busy_ps_ = 0;
    memory::BusyUntil busy_;  ///< the controller: one read at a time (timed_access.h)
};

}  // namespace kpusim::flash_spi
