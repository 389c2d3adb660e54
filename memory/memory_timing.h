// Default access timing of the K210's on-chip memories, kept in one place.
//
// PLACEHOLDERS. No public source gives the K210's SRAM access latency or width as seen by
// the KPU or the DMA (/work/shared/docs/timing.md lists no SRAM figure; its C.5 table of
// parameters to calibrate is where these belong). The values below are plausible first
// guesses, to be replaced when the timing issue calibrates them against the measured runs
// of timing.md Part B. Everything that models a memory access should read these constants
// (or a MemoryTiming passed in from configuration), never a literal.
//
// Latency model (see MemoryTarget::access_cycles):
//     cycles(n bytes) = access_cycles + ceil(n / bytes_per_cycle)
//     time            = cycles / clock_hz
#pragma once

#include <cstdint>

namespace kpusim::memory {

/// Timing of one memory: its clock and the two terms of the per-access latency.
struct MemoryTiming {
    uint64_t clock_hz;         ///< clock of the memory port, in Hz (must be > 0)
    uint64_t access_cycles;    ///< fixed cycles per access (address phase, arbitration)
    uint64_t bytes_per_cycle;  ///< data bytes moved per cycle once the access runs (must be > 0)
};

/// General SRAM (6 MiB, spec §1) on the 64-bit AXI bus.
/// Clock: 400 MHz, the CPU/bus clock of the Kendryte demos (PLL0 = 800 MHz, CPU 400 MHz;
/// timing.md A.1). Width: 8 bytes per cycle, one 64-bit beat (the KPU's output DMA uses
/// 64-bit transfers, timing.md A.2). Access overhead: 2 cycles, a guess. PLACEHOLDER.
inline constexpr MemoryTiming kGeneralSramTiming{400'000'000, 2, 8};

/// KPU RAM / AI SRAM (2 MiB, spec §1) as seen by the KPU.
/// Clock: 400 MHz, the KPU clock of the demos and of MaixPy's default (PLL1 = 400 MHz;
/// timing.md A.1). Width: 64 bytes per cycle, one 64-byte row (spec §2: the KPU addresses
/// this memory in rows; timing.md A.2: "KPU deal pictures in 64 pixels every time").
/// Access overhead: 1 cycle, a guess. PLACEHOLDER.
inline constexpr MemoryTiming kKpuRamTiming{400'000'000, 1, 64};

}  // namespace kpusim::memory
