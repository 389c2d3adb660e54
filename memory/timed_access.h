// A TLM-2.0 extension that carries exact picosecond times between kpusim's initiators and its
// shared resources (general SRAM, KPU RAM, the SPI flash, the PSRAM).
//
// Each shared resource keeps the time until which it is busy (gem5 SimpleMemory style): an
// access requested at time t starts at max(t, busy_until), holds the resource for its own
// access time, and the initiator sees the queueing wait plus the access time. So concurrent
// traffic (the flash DMA filling a buffer, the KPU fetching weights, the output copy) slows
// each other even in this loosely-timed model.
//
// Initiators that set this extension get exact figures back (request_ps in, wait_ps and
// access_ps out) and do not depend on the kernel's time resolution. Initiators that do not
// set it are served as ordinary loosely-timed TLM: the request time is sc_time_stamp() plus
// the annotated delay, and the delay grows by the wait and the access time.
//
// account_only: the initiator moves the bytes itself through DMI (the functional KPU and CPU
// layers work on the memories' arrays directly, for speed), or does not need them (a
// timing-only run reading the flash), and asks the resource only to charge the access: time,
// busy-until and counters, no copy. For the memories the data pointer may be null.
#pragma once

#include <cstdint>

#include <tlm>

namespace kpusim::memory {

struct TimedAccess : tlm::tlm_extension<TimedAccess> {
    uint64_t request_ps = 0;    ///< in: exact time the access is requested (ps)
    bool account_only = false;  ///< in: charge the access, copy nothing (bytes moved via DMI)
    uint64_t wait_ps = 0;       ///< out: time queued behind earlier accesses (ps)
    uint64_t access_ps = 0;     ///< out: the access itself (ps)

    tlm::tlm_extension_base* clone() const override { return new TimedAccess(*this); }
    void copy_from(const tlm::tlm_extension_base& other) override {
        *this = static_cast<const TimedAccess&>(other);
    }
};

/// The busy-until bookkeeping of one shared resource (exact picoseconds).
class BusyUntil {
public:
    /// Book an access of `access_ps` requested at `request_ps`; returns the wait before it
    /// starts. The resource is then busy until start + access_ps.
    uint64_t book(uint64_t request_ps, uint64_t access_ps) noexcept {
        const uint64_t start = request_ps > busy_until_ps_ ? request_ps : busy_until_ps_;
        busy_until_ps_ = start + access_ps;
        busy_ps_ += access_ps;
        return start - request_ps;
    }
    /// When the resource is next free (ps).
    uint64_t busy_until_ps() const noexcept { return busy_until_ps_; }
    /// Total time the resource has been busy since construction or reset (ps).
    uint64_t busy_ps() const noexcept { return busy_ps_; }
    /// Forget every booking (an idle resource).
    void reset() noexcept { busy_until_ps_ = 0, busy_ps_ = 0; }

private:
    uint64_t busy_until_ps_ = 0;
    uint64_t busy_ps_ = 0;
};

}  // namespace kpusim::memory
