// A byte-array memory as a loosely-timed TLM-2.0 target.
//
// Addressing: the socket sees MODULE-LOCAL addresses 0 .. size()-1. The memory's place in
// the K210 address map (base_address(), e.g. 0x8000_0000 for general SRAM) is informational:
// whoever routes transactions here (an interconnect or the initiator itself) subtracts the
// base (or the base of an alias, such as the uncached 0x4000_0000 view) before sending.
//
// Timing (loosely timed, IEEE 1666-2011 §11.1.2): b_transport never calls wait(); it adds
// its latency to the annotated delay. Latencies are whole cycles of this memory's clock and
// are turned into sc_time in one place, cycles_to_time(). DMI grants carry the latency of
// one full-width beat, which is exactly what b_transport charges for bytes_per_cycle()
// bytes; an initiator copying n bytes through DMI that wants to match b_transport charges
// access_time(n).
#pragma once

#include <cstdint>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include "common/clock_domain.h"
#include "memory/memory_timing.h"
#include "memory/timed_access.h"

namespace kpusim::memory {

class MemoryTarget : public sc_core::sc_module {
public:
    /// Target socket; accepts b_transport, transport_dbg and get_direct_mem_ptr.
    /// It must be bound to an initiator before elaboration ends (SystemC rule for ports).
    tlm_utils::simple_target_socket<MemoryTarget> socket;

    /// Create a zero-filled memory.
    /// @param name            SystemC module name.
    /// @param size_bytes      capacity in bytes (> 0).
    /// @param clock_hz        clock of the memory port in Hz (> 0).
    /// @param access_cycles   fixed latency per access, in cycles (>= 0).
    /// @param bytes_per_cycle bytes transferred per cycle (> 0).
    /// @param base_address    where the memory sits in the K210 map (informational; the
    ///                        socket always sees local addresses 0..size_bytes-1).
    /// @throws std::invalid_argument if size_bytes, clock_hz or bytes_per_cycle is 0.
    MemoryTarget(sc_core::sc_module_name name, uint64_t size_bytes, uint64_t clock_hz,
                 uint64_t access_cycles, uint64_t bytes_per_cycle, uint64_t base_address = 0);

    /// Same, with the timing given as one MemoryTiming (memory_timing.h).
    /// @throws std::invalid_argument as above.
    MemoryTarget(sc_core::sc_module_name name, uint64_t size_bytes, const MemoryTiming& timing,
                 uint64_t base_address = 0);

    const char* kind() const override { return "kpusim::memory::MemoryTarget"; }

    // ---- direct access for the functional core (no timing, no counters) ----

    /// The memory's bytes, size() of them, local address 0 first. Valid for the module's
    /// lifetime (never reallocated; the same pointer DMI hands out).
    uint8_t* data() noexcept { return bytes_.data(); }
    const uint8_t* data() const noexcept { return bytes_.data(); }
    /// Capacity in bytes.
    uint64_t size() const noexcept { return bytes_.size(); }
    /// Address of local byte 0 in the K210 map (informational, see the file comment).
    uint64_t base_address() const noexcept { return base_address_; }

    // ---- timing ----

    /// The timing this memory was built with or last given by set_timing().
    const MemoryTiming& timing() const noexcept { return timing_; }
    /// Change the port's clock and latency (a new parameter set).
    /// @throws std::invalid_argument if timing.clock_hz or timing.bytes_per_cycle is 0.
    void set_timing(const MemoryTiming& timing);
    /// Cycles one access of `bytes` bytes takes:
    /// access_cycles + ceil(bytes / bytes_per_cycle). Zero bytes cost access_cycles.
    uint64_t access_cycles(uint64_t bytes) const noexcept;
    /// `cycles` cycles of this memory's clock as sc_time (rounded to the time resolution).
    /// The only place where this module turns cycles into time.
    sc_core::sc_time cycles_to_time(uint64_t cycles) const;
    /// cycles_to_time(access_cycles(bytes)): the delay b_transport adds for `bytes` bytes.
    sc_core::sc_time access_time(uint64_t bytes) const { return cycles_to_time(access_cycles(bytes)); }
    /// Latency set in DMI grants for reads and writes alike: access_time(bytes_per_cycle),
    /// i.e. one full-width beat, equal to what b_transport charges for that many bytes.
    sc_core::sc_time dmi_latency() const { return access_time(timing_.bytes_per_cycle); }

    // ---- counters (b_transport only; debug transport and DMI are not counted) ----

    /// Bytes read through b_transport since construction or reset_counters().
    uint64_t bytes_read() const noexcept { return bytes_read_; }
    /// Bytes written through b_transport since construction or reset_counters().
    uint64_t bytes_written() const noexcept { return bytes_written_; }
    /// Successful b_transport reads and writes since construction or reset_counters().
    uint64_t transactions() const noexcept { return transactions_; }
    /// Zero the three counters.
    void reset_counters() noexcept;

    // ---- contention (memory/timed_access.h) ----

    /// Time the port has been busy with b_transport accesses (ps), including account-only
    /// accesses of DMI users, since construction or reset_contention().
    uint64_t busy_ps() const noexcept { return busy_.busy_ps(); }
    /// When the port is next free (exact ps).
    uint64_t busy_until_ps() const noexcept { return busy_.busy_until_ps(); }
    /// An idle port: forget every booking and the busy time.
    void reset_contention() noexcept { busy_.reset(); }

private:
    /// Blocking transport. Response status:
    /// - TLM_ADDRESS_ERROR_RESPONSE if [address, address + length) is not inside 0..size()-1;
    /// - TLM_BYTE_ENABLE_ERROR_RESPONSE if a byte-enable pointer is set (not supported);
    /// - TLM_BURST_ERROR_RESPONSE if the streaming width is smaller than the data length
    ///   (streaming not supported);
    /// - TLM_GENERIC_ERROR_RESPONSE if the data pointer is null with a non-zero length;
    /// - TLM_OK_RESPONSE otherwise; reads/writes copy the bytes (not for account-only
    ///   accesses, timed_access.h), book the port (busy-until) and add the queueing wait plus
    ///   access_time(length) to `delay`, and set the DMI hint. The request time is the
    ///   TimedAccess extension's request_ps, else sc_time_stamp() + delay. TLM_IGNORE_COMMAND does nothing and adds no delay.
    /// On an error nothing is copied and `delay` is unchanged.
    void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);

    /// Debug transport: copies min(length, size() - address) bytes, takes no time and
    /// counts nothing; returns the number of bytes copied (0 if the address is out of
    /// range, the data pointer is null, or the command is TLM_IGNORE_COMMAND). As IEEE 1666
    /// §11.3 asks, only command, address, data pointer and data length are used.
    unsigned int transport_dbg(tlm::tlm_generic_payload& trans);

    /// Grants read/write DMI over the whole array (local range 0..size()-1) with
    /// dmi_latency() for reads and writes, and returns true. For an address beyond the
    /// array it returns false, granting no access, with the denied range set to
    /// size()..max.
    bool get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi);

    MemoryTiming timing_;
    ClockDomain clock_;
    BusyUntil busy_;
    uint64_t base_address_;
    std::vector<uint8_t> bytes_;
    uint64_t bytes_read_ = 0;
    uint64_t bytes_written_ = 0;
    uint64_t transactions_ = 0;
};

}  // namespace kpusim::memory
