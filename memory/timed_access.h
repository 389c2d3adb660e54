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
#include <string>

#include <systemc>
#include <tlm>

#include "common/clock_domain.h"

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

/// For a target: book an access of `access_ps` on `busy` for `trans` (requested at its
/// TimedAccess's request_ps, or sc_time_stamp() + delay without one), fill the extension's
/// wait_ps and access_ps, and add the wait plus the access to `delay`.
inline void book_access(BusyUntil& busy, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay,
                        uint64_t access_ps) {
    TimedAccess* timed = trans.get_extension<TimedAccess>();
    const uint64_t request = timed ? timed->request_ps : to_ps(sc_core::sc_time_stamp() + delay);
    const uint64_t wait = busy.book(request, access_ps);
    if (timed) {
        timed->wait_ps = wait;
        timed->access_ps = access_ps;
    }
    delay += to_sc_time(wait + access_ps);
}

/// What a timed access cost the initiator.
struct TimedResult {
    bool ok = false;         ///< the target answered TLM_OK_RESPONSE
    uint64_t wait_ps = 0;    ///< queued behind earlier accesses
    uint64_t access_ps = 0;  ///< the access itself
    std::string error;       ///< the response string when not ok
};

/// For an initiator: one b_transport of `bytes` bytes at `address`, requested at exact time
/// `request_ps`, carrying a TimedAccess. With `data` null the access is account-only (the
/// initiator moves the bytes through DMI or does not need them; memory targets copy nothing);
/// `account_only` forces that with a data pointer too (a read whose bytes are not needed).
inline TimedResult timed_transport(tlm::tlm_fw_transport_if<>& target, tlm::tlm_command command,
                                   uint64_t address, uint64_t bytes, uint64_t request_ps,
                                   unsigned char* data = nullptr, bool account_only = false) {
    tlm::tlm_generic_payload trans;
    TimedAccess timed;
    timed.request_ps = request_ps;
    timed.account_only = account_only || data == nullptr;
    trans.set_command(command);
    trans.set_address(address);
    trans.set_data_ptr(data);
    trans.set_data_length(static_cast<unsigned>(bytes));
    trans.set_streaming_width(static_cast<unsigned>(bytes));
    trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    trans.set_extension(&timed);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    target.b_transport(trans, delay);
    trans.clear_extension(&timed);
    TimedResult r;
    r.ok = trans.is_response_ok();
    if (r.ok) {
        r.wait_ps = timed.wait_ps;
        r.access_ps = timed.access_ps;
    } else {
        r.error = trans.get_response_string();
    }
    return r;
}

}  // namespace kpusim::memory
