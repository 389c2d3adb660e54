#include "flash_spi/spi_flash.h"

#include <algorithm>

#include <cstring>
#include <string>

#include "memory/timed_access.h"
#include "common/errors.h"
#include "memory/tlm_payload.h"

namespace kpusim::flash_spi {

namespace {

// Validates before the sc_module base is built, so a bad configuration throws without
// leaving a half-registered module behind.
const sc_core::sc_module_name& checked(const sc_core::sc_module_name& name,
                                       const SpiFlashConfig& config) {
    validate(config);
    return name;
}

}  // namespace

SpiFlashConfig flash_runner_config(uint64_t cpu_hz, uint64_t spi_speed_hz) {
    SpiFlashConfig c;
    c.source_hz = cpu_hz;
    c.requested_sck_hz = spi_speed_hz;
    c.lanes = 4;
    c.ddr = false;
    c.frame_bits = 32;
    c.max_bytes_per_command = kFlashRunnerMaxCommandBytes;
    c.cpu_hz = cpu_hz;
    return c;
}

SpiFlashConfig kpu_load_config(uint64_t cpu_hz) {
    SpiFlashConfig c = flash_runner_config(cpu_hz, cpu_hz / 16);  // f_CPU/400·25 MHz
    c.frame_bits = 8;
    c.max_bytes_per_command = kKpuLoadMaxCommandBytes;
    return c;
}

void validate(const SpiFlashConfig& config) {
    (void)choose_read_command(config.lanes, config.ddr);  // throws for a bad lane count
    if (config.frame_bits != 8 && config.frame_bits != 32)
        throw InputError("SPI flash: frame_bits " + std::to_string(config.frame_bits) +
                         " is not supported (use 8 or 32)");
    const uint64_t frame_bytes = config.frame_bits / 8;
    if (config.max_bytes_per_command == 0 || config.max_bytes_per_command % frame_bytes != 0)
        throw InputError("SPI flash: max_bytes_per_command " +
                         std::to_string(config.max_bytes_per_command) +
                         " must be a positive multiple of the " + std::to_string(frame_bytes) +
                         "-byte frame");
    if (config.max_bytes_per_command > kMaxFramesPerCommand * frame_bytes)
        throw InputError("SPI flash: max_bytes_per_command " +
                         std::to_string(config.max_bytes_per_command) + " is more than " +
                         std::to_string(kMaxFramesPerCommand) + " " +
                         std::to_string(config.frame_bits) + "-bit frames (" +
                         std::to_string(kMaxFramesPerCommand * frame_bytes) +
                         " bytes), the most one SSI command can count");
    if (config.cpu_hz == 0) throw InputError("SPI flash: cpu_hz is 0 Hz");
    (void)resolve_spi_clock(config.source_hz, config.requested_sck_hz, config.max_sck_hz);
}

bool is_projection(const SpiFlashConfig& config) { return config.lanes > 4 || config.ddr; }

sc_core::sc_time FlashReadTiming::time() const {
    return to_sc_time(total_ps);
}

FlashReadTiming read_time(const SpiFlashConfig& config, uint64_t bytes) {
    validate(config);
    const SpiClock clock =
        resolve_spi_clock(config.source_hz, config.requested_sck_hz, config.max_sck_hz);
    const SpiReadCommand& cmd = choose_read_command(config.lanes, config.ddr);
    const uint64_t frame_bytes = config.frame_bits / 8;
    const uint64_t max = config.max_bytes_per_command;

    FlashReadTiming t;
    t.bytes = bytes;
    t.wire_bytes = (bytes / frame_bytes + (bytes % frame_bytes != 0)) * frame_bytes;
    const uint64_t full = t.wire_bytes / max;
    const uint64_t tail = t.wire_bytes % max;
    t.commands = full + (tail != 0);
    t.overhead_sck_cycles = t.commands * overhead_sck_cycles(cmd);
    t.data_sck_cycles = full * data_sck_cycles(cmd, max) + data_sck_cycles(cmd, tail);
    t.sck_cycles = t.overhead_sck_cycles + t.data_sck_cycles;
    t.cpu_cycles = t.commands * config.software_cycles_per_command;
    t.sck_ps = clock.cycles_to_ps(t.sck_cycles);
    t.cpu_ps = cycles_to_picoseconds(t.cpu_cycles, config.cpu_hz);
    t.total_ps = t.sck_ps + t.cpu_ps;
    return t;
}

std::vector<uint8_t> reverse_32bit_words(const std::vector<uint8_t>& bytes) {
    std::vector<uint8_t> out(bytes);
    out.resize((out.size() + 3) / 4 * 4, 0);
    for (size_t i = 0; i < out.size(); i += 4) {
        std::swap(out[i], out[i + 3]);
        std::swap(out[i + 1], out[i + 2]);
    }
    return out;
}

SpiFlash::SpiFlash(sc_core::sc_module_name name, const SpiFlashConfig& config)
    : sc_core::sc_module(checked(name, config)),
      socket("socket"),
      config_(config),
      clock_(resolve_spi_clock(config.source_hz, config.requested_sck_hz, config.max_sck_hz)),
      command_(&choose_read_command(config.lanes, config.ddr)),
      bytes_(kFlashSizeBytes, 0xFF) {
    socket.register_b_transport(this, &SpiFlash::b_transport);
    socket.register_transport_dbg(this, &SpiFlash::transport_dbg);
}

void SpiFlash::program(uint64_t address, const uint8_t* bytes, uint64_t size) {
    if (address > this->size() || size > this->size() - address)
        throw InputError("SPI flash: an image of " + std::to_string(size) +
                         " bytes at address " + std::to_string(address) +
                         " does not fit in the " + std::to_string(this->size()) +
                         "-byte (16 MiB) flash (it would end at " +
                         std::to_string(address + size) + ")");
    if (size > 0) std::memcpy(bytes_.data() + address, bytes, size);
}

void SpiFlash::reconfigure(const SpiFlashConfig& config) {
    validate(config);
    clock_ = resolve_spi_clock(config.source_hz, config.requested_sck_hz, config.max_sck_hz);
    command_ = &choose_read_command(config.lanes, config.ddr);
    config_ = config;
}

void SpiFlash::set_requested_sck_hz(uint64_t hz) {
    SpiFlashConfig c = config_;
    c.requested_sck_hz = hz;
    reconfigure(c);
}

void SpiFlash::reset_counters() noexcept {
    commands_issued_ = 0;
    bytes_read_ = 0;
    wire_bytes_read_ = 0;
    transactions_ = 0;
    busy_ps_ = 0;
    busy_.reset();
}

void SpiFlash::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
    const uint64_t address = trans.get_address();
    const uint64_t length = trans.get_data_length();
    unsigned char* ptr = trans.get_data_ptr();

    if (memory::answered_unless_valid_read(trans, size())) return;

    const FlashReadTiming t = read_time(length);
    memory::TimedAccess* timed = trans.get_extension<memory::TimedAccess>();
    if (timed && timed->account_only) {
        // Timing only (memory/timed_access.h): the initiator does not need the bytes.
    } else if (config_.frame_bits == 8) {
        if (length > 0) std::memcpy(ptr, bytes_.data() + address, length);
    } else {
        // 32-bit frames: wire byte 4g+k lands at 4g+3-k. A tail group reads the bytes after
        // the requested range from the flash (wrapping at the end of the array).
        const uint64_t n = size();
        const uint64_t whole = length & ~uint64_t{3};
        // Whole groups: one 32-bit byte swap each (the same mapping, word at a time).
        for (uint64_t g = 0; g < whole; g += 4) {
            uint32_t word;
            std::memcpy(&word, bytes_.data() + address + g, 4);
            word = __builtin_bswap32(word);
            std::memcpy(ptr + g, &word, 4);
        }
        for (uint64_t i = whole; i < length; ++i) {
            const uint64_t wire = (i & ~uint64_t{3}) + (3 - (i & 3));
            ptr[i] = bytes_[(address + wire) % n];
        }
    }
    commands_issued_ += t.commands;
    bytes_read_ += length;
    wire_bytes_read_ += t.wire_bytes;
    ++transactions_;
    busy_ps_ += t.total_ps;
    // One controller: a read requested while another is in flight queues behind it.
    memory::book_access(busy_, trans, delay, t.total_ps);
    trans.set_dmi_allowed(false);
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned int SpiFlash::transport_dbg(tlm::tlm_generic_payload& trans) {
    return memory::debug_transport(trans, bytes_);
}

}  // namespace kpusim::flash_spi
