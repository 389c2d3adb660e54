// Time in kpusim: every clock domain counts integer cycles, every duration and instant inside
// the platform is an integer number of picoseconds, and SystemC time is only used to
// synchronise processes. This header is THE place where cycles become picoseconds
// (cycles_to_ps) and picoseconds become sc_time (to_sc_time) and back (to_ps).
//
// Why picoseconds and not sc_time: clocks such as 67.166 MHz do not divide a second into
// whole picoseconds, and an embedding design may choose a coarse time resolution (1 ns).
// Reports are computed from the exact picosecond values, so a run gives the same figures at
// every time resolution of 1 ps or coarser; the SystemC waits are rounded up to the
// resolution, so causality is kept (a process never sees an event before its exact time).
#pragma once

#include <cstdint>
#include <string>

#include <systemc>

namespace kpusim {

/// Picoseconds in one second.
inline constexpr uint64_t kPsPerSecond = 1'000'000'000'000ull;

/// Duration of `cycles` cycles of a clock of clock_hz / divider Hz, in picoseconds, rounded
/// to the nearest picosecond (halves up), in 128-bit integers: rounded once per conversion,
/// never once per cycle.
/// @throws kpusim::InputError if clock_hz or divider is 0, or the result exceeds 2^64 - 1 ps.
uint64_t cycles_to_ps(uint64_t cycles, uint64_t clock_hz, uint64_t divider = 1);

/// A picosecond count as sc_time, rounded UP to the kernel's time resolution (so a process
/// that waits until to_sc_time(t) is never early). Exact when the resolution divides `ps`.
sc_core::sc_time to_sc_time(uint64_t ps);

/// An sc_time in picoseconds (exact for resolutions of 1 ps or coarser; rounded down for
/// finer ones).
uint64_t to_ps(const sc_core::sc_time& t);

/// One clock of the K210 (CPU, KPU, a memory port): its frequency and the conversions of its
/// cycles. Cheap to copy.
class ClockDomain {
public:
    /// @param hz   frequency in Hz (> 0).
    /// @param name what the clock is, for error messages ("KPU clock").
    /// @throws kpusim::InputError if hz is 0.
    explicit ClockDomain(uint64_t hz, const std::string& name = "clock");

    uint64_t hz() const noexcept { return hz_; }
    /// `cycles` cycles in picoseconds (cycles_to_ps).
    uint64_t ps(uint64_t cycles) const { return cycles_to_ps(cycles, hz_); }
    /// `cycles` cycles as sc_time (rounded up to the resolution).
    sc_core::sc_time time(uint64_t cycles) const { return to_sc_time(ps(cycles)); }
    /// Whole cycles that fit in `ps` picoseconds (rounded down).
    uint64_t cycles_in(uint64_t ps) const;

private:
    uint64_t hz_;
};

/// The exact time (ps) of one SystemC process of the platform. A process advances it by
/// durations (advance) or to instants it learns from others (catch_up), then synchronises the
/// SystemC kernel to it (sync) before it interacts with another process.
class LocalTime {
public:
    /// The process's exact time, in ps since the start of the simulation.
    uint64_t now() const noexcept { return now_ps_; }
    /// Start from the kernel's current time (the start of a run).
    void start_from_kernel() { now_ps_ = to_ps(sc_core::sc_time_stamp()); }
    /// Advance by `ps` and wait until the kernel reaches the new time (rounded up).
    void advance(uint64_t ps) {
        now_ps_ += ps;
        sync();
    }
    /// Move to `ps` if it is later (an event from another process); no wait.
    void catch_up(uint64_t ps) noexcept {
        if (ps > now_ps_) now_ps_ = ps;
    }
    /// Wait until the kernel's time is at least to_sc_time(now()). Call from an SC_THREAD.
    void sync() const;

private:
    uint64_t now_ps_ = 0;
};

}  // namespace kpusim
