#include "memory/memory_target.h"

#include "memory/timed_access.h"
#include "memory/tlm_payload.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

namespace kpusim::memory {

namespace {

// Checks the construction arguments before any storage is allocated.
MemoryTiming validated(const char* name, uint64_t size_bytes, const MemoryTiming& t) {
    const std::string who = std::string("MemoryTarget '") + name + "': ";
    if (size_bytes == 0) throw std::invalid_argument(who + "size must be > 0 bytes");
    if (t.clock_hz == 0) throw std::invalid_argument(who + "clock must be > 0 Hz");
    if (t.bytes_per_cycle == 0) throw std::invalid_argument(who + "bytes per cycle must be > 0");
    return t;
}

}  // namespace

MemoryTarget::MemoryTarget(sc_core::sc_module_name name, uint64_t size_bytes, uint64_t clock_hz,
                           uint64_t access_cycles, uint64_t bytes_per_cycle,
                           uint64_t base_address)
    : MemoryTarget(name, size_bytes, MemoryTiming{clock_hz, access_cycles, bytes_per_cycle},
                   base_address) {}

MemoryTarget::MemoryTarget(sc_core::sc_module_name name, uint64_t size_bytes,
                           const MemoryTiming& timing, uint64_t base_address)
    : sc_core::sc_module(name),
      socket("socket"),
      timing_(validated(static_cast<const char*>(name), size_bytes, timing)),
      clock_(timing_.clock_hz, std::string(static_cast<const char*>(name)) + " clock"),
      base_address_(base_address),
      bytes_(size_bytes, 0) {
    socket.register_b_transport(this, &MemoryTarget::b_transport);
    socket.register_transport_dbg(this, &MemoryTarget::transport_dbg);
    socket.register_get_direct_mem_ptr(this, &MemoryTarget::get_direct_mem_ptr);
}

uint64_t MemoryTarget::access_cycles(uint64_t bytes) const noexcept {
    // ceil(bytes / bytes_per_cycle) without overflow for any bytes.
    const uint64_t beats = bytes / timing_.bytes_per_cycle + (bytes % timing_.bytes_per_cycle != 0);
    return timing_.access_cycles + beats;
}

sc_core::sc_time MemoryTarget::cycles_to_time(uint64_t cycles) const {
    // cycles / f in picoseconds; sc_time rounds to the kernel's time resolution. A clock
    // that does not divide 1 s into whole picoseconds (67.166 MHz) is rounded once per
    // conversion, not once per cycle.
    return clock_.time(cycles);
}

void MemoryTarget::set_timing(const MemoryTiming& timing) {
    timing_ = validated(name(), bytes_.size(), timing);
    clock_ = ClockDomain(timing_.clock_hz, std::string(name()) + " clock");
}

void MemoryTarget::reset_counters() noexcept {
    bytes_read_ = 0;
    bytes_written_ = 0;
    transactions_ = 0;
}

void MemoryTarget::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
    const tlm::tlm_command cmd = trans.get_command();
    const uint64_t address = trans.get_address();
    const uint64_t length = trans.get_data_length();
    unsigned char* ptr = trans.get_data_ptr();

    TimedAccess* timed = trans.get_extension<TimedAccess>();
    const bool account_only = timed && timed->account_only;
    if (account_only && ptr == nullptr && length > 0 && address < size() && length <= size() - address &&
        cmd != tlm::TLM_IGNORE_COMMAND) {
        // DMI user charging its access: no bytes move here.
    } else if (const tlm::tlm_response_status error = memory::payload_error(trans, size());
               error != tlm::TLM_OK_RESPONSE) {
        trans.set_response_status(error);
        return;
    }

    switch (cmd) {
        case tlm::TLM_READ_COMMAND:
            if (length > 0 && !account_only) std::memcpy(ptr, bytes_.data() + address, length);
            bytes_read_ += length;
            break;
        case tlm::TLM_WRITE_COMMAND:
            if (length > 0 && !account_only) std::memcpy(bytes_.data() + address, ptr, length);
            bytes_written_ += length;
            break;
        case tlm::TLM_IGNORE_COMMAND:
            trans.set_response_status(tlm::TLM_OK_RESPONSE);
            return;
    }
    ++transactions_;
    book_access(busy_, trans, delay, clock_.ps(access_cycles(length)));
    trans.set_dmi_allowed(true);
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned int MemoryTarget::transport_dbg(tlm::tlm_generic_payload& trans) {
    return memory::debug_transport(trans, bytes_);
}

bool MemoryTarget::get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) {
    if (trans.get_address() >= size()) {
        dmi.allow_none();
        dmi.set_start_address(size());
        dmi.set_end_address(std::numeric_limits<sc_dt::uint64>::max());
        return false;
    }
    dmi.set_dmi_ptr(bytes_.data());
    dmi.set_start_address(0);
    dmi.set_end_address(size() - 1);
    dmi.allow_read_write();
    dmi.set_read_latency(dmi_latency());
    dmi.set_write_latency(dmi_latency());
    return true;
}

}  // namespace kpusim::memory
