#include "common/clock_domain.h"

#include <limits>

#include "common/errors.h"

namespace kpusim {

uint64_t cycles_to_ps(uint64_t cycles, uint64_t clock_hz, uint64_t divider) {
    if (clock_hz == 0 || divider == 0)
        throw InputError("cycles_to_ps: clock " + std::to_string(clock_hz) + " Hz / divider " +
                         std::to_string(divider) + " is not a clock");
    using u128 = unsigned __int128;
    // cycles * divider * 1e12 / clock_hz, rounded half up. cycles * divider < 2^96 and
    // * 1e12 (< 2^40) stays below 2^128 except for absurd inputs, which are checked.
    const u128 num_cycles = static_cast<u128>(cycles) * divider;
    if (num_cycles != 0 && num_cycles > (~static_cast<u128>(0)) / kPsPerSecond)
        throw InputError("cycles_to_ps: " + std::to_string(cycles) + " cycles overflow the picosecond count");
    const u128 num = num_cycles * kPsPerSecond;
    const u128 ps = (num + clock_hz / 2) / clock_hz;
    if (ps > std::numeric_limits<uint64_t>::max())
        throw InputError("cycles_to_ps: " + std::to_string(cycles) + " cycles of a " +
                         std::to_string(clock_hz) + " Hz clock exceed 2^64 - 1 picoseconds (213 days)");
    return static_cast<uint64_t>(ps);
}

namespace {

// Picoseconds per resolution unit (>= 1), or 0 when the resolution is finer than 1 ps; then
// `per_ps` is the number of resolution units in one picosecond.
struct Resolution {
    uint64_t ps_per_unit = 1;
    uint64_t units_per_ps = 1;
};

Resolution resolution() {
    const double seconds = sc_core::sc_get_time_resolution().to_seconds();
    Resolution r;
    if (seconds >= 1e-12) {
        r.ps_per_unit = static_cast<uint64_t>(seconds * 1e12 + 0.5);
        r.units_per_ps = 0;
    } else {
        r.ps_per_unit = 0;
        r.units_per_ps = static_cast<uint64_t>(1e-12 / seconds + 0.5);
    }
    return r;
}

}  // namespace

sc_core::sc_time to_sc_time(uint64_t ps) {
    static const Resolution r = resolution();  // fixed once the kernel's first time exists
    if (r.ps_per_unit) return sc_core::sc_time::from_value(ps / r.ps_per_unit + (ps % r.ps_per_unit != 0));
    return sc_core::sc_time::from_value(ps * r.units_per_ps);
}

uint64_t to_ps(const sc_core::sc_time& t) {
    static const Resolution r = resolution();
    if (r.ps_per_unit) return t.value() * r.ps_per_unit;
    return t.value() / r.units_per_ps;
}

ClockDomain::ClockDomain(uint64_t hz, const std::string& name) : hz_(hz) {
    if (hz == 0) throw InputError(name + ": 0 Hz is not a clock");
}

uint64_t ClockDomain::cycles_in(uint64_t ps) const {
    using u128 = unsigned __int128;
    return static_cast<uint64_t>(static_cast<u128>(ps) * hz_ / kPsPerSecond);
}

void LocalTime::sync() const {
    const sc_core::sc_time target = to_sc_time(now_ps_);
    const sc_core::sc_time now = sc_core::sc_time_stamp();
    if (target > now) sc_core::wait(target - now);
}

}  // namespace kpusim
