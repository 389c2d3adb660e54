#include "psram/psram.h"

#include <algorithm>

#include <cstring>
#include <limits>
#include <string>

#include "memory/timed_access.h"
#include "flash_spi/spi_clock.h"
#include "common/errors.h"
#include "memory/tlm_payload.h"

namespace kpusim::psram {

namespace {

// Validates before the sc_module base is built (see SpiFlash).
const sc_core::sc_module_name& checked(const sc_core::sc_module_name& name,
                                       const PsramConfig& config) {
    validate(config);
    return name;
}

uint64_t overhead_cycles(const PsramConfig& c) {
    return uint64_t{c.command_cycles} + c.address_cycles + c.latency_cycles;
}

// Data bits moved per clock.
uint64_t bits_per_cycle(const PsramConfig& c) { return uint64_t{c.lanes} * (c.ddr ? 2 : 1); }

}  // namespace

uint32_t aps6408_read_latency_cycles(uint32_t latency_code, bool fixed) {
    if (latency_code < 3 || latency_code > 7)
        throw InputError("PSRAM: APS6408L read latency code LC " + std::to_string(latency_code) +
                         " does not exist (LC is 3..7, MR0 codes 0..4)");
    return fixed ? 2 * latency_code : latency_code;
}

PsramConfig qspi_psram_preset(uint64_t cpu_hz, uint64_t clock_hz) {
    PsramConfig c;
    c.part = "64 Mb SPI/QPI PSRAM (APS6404L / ESP-PSRAM64H class), 0xEB in QPI mode";
    c.size_bytes = kPsram64MbBytes;
    c.clock_hz = clock_hz;
    c.lanes = 4;
    c.ddr = false;
    c.opcode = kQspiReadOpcode;
    c.command_cycles = kQspiCommandCycles;
    c.address_cycles = kQspiAddressCycles;
    c.latency_cycles = kQspiWaitCycles;
    c.page_bytes = kPsramPageBytes;
    c.max_ce_low_ps = 0;
    c.cpu_hz = cpu_hz;
    c.software_cycles_per_burst = kSoftwareCyclesPerBurst;
    return c;
}

PsramConfig ospi_psram_preset(uint64_t cpu_hz, uint64_t clock_hz, uint32_t latency_cycles) {
    PsramConfig c;
    c.part = "APS6408L-class octal DDR PSRAM, linear burst read 0x20";
    c.size_bytes = kPsram64MbBytes;
    c.clock_hz = clock_hz;
    c.lanes = 8;
    c.ddr = true;
    c.opcode = kOspiReadOpcode;
    c.command_cycles = kOspiCommandCycles;
    c.address_cycles = kOspiAddressCycles;
    c.latency_cycles = latency_cycles;
    c.page_bytes = kPsramPageBytes;
    c.max_ce_low_ps = 0;
    c.cpu_hz = cpu_hz;
    c.software_cycles_per_burst = kSoftwareCyclesPerBurst;
    return c;
}

void validate(const PsramConfig& c) {
    if (c.size_bytes == 0) throw InputError("PSRAM: size_bytes is 0");
    if (c.clock_hz == 0) throw InputError("PSRAM: clock_hz is 0 Hz");
    if (c.cpu_hz == 0) throw InputError("PSRAM: cpu_hz is 0 Hz");
    if (c.page_bytes == 0) throw InputError("PSRAM: page_bytes is 0");
    if (c.lanes != 1 && c.lanes != 2 && c.lanes != 4 && c.lanes != 8)
        throw InputError("PSRAM: " + std::to_string(c.lanes) +
                         " data lanes is not a SPI mode (use 1, 2, 4 or 8)");
    if (c.max_ce_low_ps != 0) {
        // Clocks that fit in tCEM: floor(tCEM · f).
        const unsigned __int128 clocks =
            static_cast<unsigned __int128>(c.max_ce_low_ps) * c.clock_hz / 1'000'000'000'000ull;
        if (clocks < overhead_cycles(c) + 1 ||
            (clocks - overhead_cycles(c)) * bits_per_cycle(c) < 8)
            throw InputError("PSRAM: tCEM of " + std::to_string(c.max_ce_low_ps) +
                             " ps leaves no room for data after the " +
                             std::to_string(overhead_cycles(c)) + "-clock command overhead at " +
                             std::to_string(c.clock_hz) + " Hz");
    }
}

sc_core::sc_time PsramReadTiming::time() const {
    return to_sc_time(total_ps);
}

uint64_t data_cycles(const PsramConfig& c, uint64_t bytes) {
    const uint64_t bpc = bits_per_cycle(c);
    return bytes / bpc * 8 + ((bytes % bpc) * 8 + bpc - 1) / bpc;
}

uint64_t max_burst_bytes_for_tcem(const PsramConfig& c) {
    validate(c);
    if (c.max_ce_low_ps == 0) return 0;
    const unsigned __int128 clocks =
        static_cast<unsigned __int128>(c.max_ce_low_ps) * c.clock_hz / 1'000'000'000'000ull;
    const unsigned __int128 bytes = (clocks - overhead_cycles(c)) * bits_per_cycle(c) / 8;
    constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
    return bytes > kMax ? kMax : static_cast<uint64_t>(bytes);
}

PsramReadTiming read_time(const PsramConfig& c, uint64_t address, uint64_t bytes) {
    const uint64_t tcem_bytes = max_burst_bytes_for_tcem(c);  // validates
    PsramReadTiming t;
    t.bytes = bytes;
    const uint64_t overhead = overhead_cycles(c);
    uint64_t addr = address;
    uint64_t left = bytes;
    while (left > 0) {
        uint64_t n = std::min(left, c.page_bytes - addr % c.page_bytes);
        if (tcem_bytes != 0) n = std::min(n, tcem_bytes);
        ++t.bursts;
        t.overhead_cycles += overhead;
        t.data_cycles += data_cycles(c, n);
        addr += n;
        left -= n;
    }
    t.clock_cycles = t.overhead_cycles + t.data_cycles;
    t.cpu_cycles = t.bursts * c.software_cycles_per_burst;
    t.clock_ps = flash_spi::cycles_to_picoseconds(t.clock_cycles, c.clock_hz);
    t.cpu_ps = flash_spi::cycles_to_picoseconds(t.cpu_cycles, c.cpu_hz);
    t.total_ps = t.clock_ps + t.cpu_ps;
    return t;
}

Psram::Psram(sc_core::sc_module_name name, const PsramConfig& config)
    : sc_core::sc_module(checked(name, config)),
      socket("socket"),
      config_(config),
      bytes_(config.size_bytes, 0) {
    socket.register_b_transport(this, &Psram::b_transport);
    socket.register_transport_dbg(this, &Psram::transport_dbg);
}

void Psram::program(uint64_t address, const uint8_t* bytes, uint64_t size) {
    if (address > this->size() || size > this->size() - address)
        throw InputError("PSRAM: an image of " + std::to_string(size) + " bytes at address " +
                         std::to_string(address) + " does not fit in the " +
                         std::to_string(this->size()) + "-byte PSRAM (it would end at " +
                         std::to_string(address + size) + ")");
    if (size > 0) std::memcpy(bytes_.data() + address, bytes, size);
}

void Psram::reconfigure(const PsramConfig& config) {
    validate(config);
    if (config.size_bytes != config_.size_bytes)
        throw InputError("PSRAM: reconfigure cannot change the size (" +
                         std::to_string(config_.size_bytes) + " -> " +
                         std::to_string(config.size_bytes) + " bytes)");
    config_ = config;
}

void Psram::reset_counters() noexcept {
    bursts_issued_ = 0;
    bytes_read_ = 0;
    transactions_ = 0;
    busy_ps_ = 0;
    busy_.reset();
}

void Psram::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
    const uint64_t address = trans.get_address();
    const uint64_t length = trans.get_data_length();
    unsigned char* ptr = trans.get_data_ptr();

    if (memory::answered_unless_valid_read(trans, size())) return;

    const PsramReadTiming t = read_time(address, length);
    memory::TimedAccess* timed = trans.get_extension<memory::TimedAccess>();
    // account_only: timing only (memory/timed_access.h), the initiator does not need the bytes.
    if (length > 0 && !(timed && timed->account_only)) std::memcpy(ptr, bytes_.data() + address, length);
    bursts_issued_ += t.bursts;
    bytes_read_ += length;
    ++transactions_;
    busy_ps_ += t.total_ps;
    // One controller: a read requested while another is in flight queues behind it.
    memory::book_access(busy_, trans, delay, t.total_ps);
    trans.set_dmi_allowed(false);
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned int Psram::transport_dbg(tlm::tlm_generic_payload& trans) {
    return memory::debug_transport(trans, bytes_);
}

}  // namespace kpusim::psram
