// The K210's general SRAM: 6 MiB at 0x8000_0000, uncached alias at 0x4000_0000
// (spec §1, from the SDK's platform.h). Model files and the kmodel "main memory" buffer are
// malloc'ed here; ram_budget.h models how much of it a firmware leaves to models.
#pragma once

#include <cstdint>
#include <optional>

#include "memory/memory_target.h"
#include "memory/memory_timing.h"

namespace kpusim::memory {

/// Capacity of general SRAM in bytes: 6 MiB (spec §1).
inline constexpr uint64_t kGeneralSramSize = 6ull * 1024 * 1024;  // 6291456
/// Physical address of general SRAM, cached view (spec §1).
inline constexpr uint64_t kGeneralSramBase = 0x8000'0000;
/// Physical address of the uncached alias ("IOMEM") of the same memory (spec §1); the KPU
/// is given weight and table addresses in this alias.
inline constexpr uint64_t kGeneralSramUncachedBase = 0x4000'0000;

/// Offset inside general SRAM of a physical address in either view, or nullopt if the
/// address is in neither [0x8000_0000, +6 MiB) nor [0x4000_0000, +6 MiB).
inline std::optional<uint64_t> general_sram_offset(uint64_t physical) {
    if (physical >= kGeneralSramBase && physical - kGeneralSramBase < kGeneralSramSize)
        return physical - kGeneralSramBase;
    if (physical >= kGeneralSramUncachedBase && physical - kGeneralSramUncachedBase < kGeneralSramSize)
        return physical - kGeneralSramUncachedBase;
    return std::nullopt;
}

/// General SRAM as a TLM target: a MemoryTarget of kGeneralSramSize bytes based at
/// kGeneralSramBase. The socket takes offsets (0 .. 6 MiB - 1), see general_sram_offset().
class GeneralSram : public MemoryTarget {
public:
    /// @param name   SystemC module name.
    /// @param timing clock and latency; the default kGeneralSramTiming is a placeholder
    ///               until the timing issue calibrates it (memory_timing.h).
    /// @throws std::invalid_argument if timing.clock_hz or timing.bytes_per_cycle is 0.
    explicit GeneralSram(sc_core::sc_module_name name,
                         const MemoryTiming& timing = kGeneralSramTiming)
        : MemoryTarget(name, kGeneralSramSize, timing, kGeneralSramBase) {}

    const char* kind() const override { return "kpusim::memory::GeneralSram"; }
};

}  // namespace kpusim::memory
