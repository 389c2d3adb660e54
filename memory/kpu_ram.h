// The K210's KPU RAM ("AI SRAM"): 2 MiB at 0x8060_0000, uncached view at 0x4060_0000,
// addressed by the KPU as 32768 rows of 64 bytes (spec §1 and the conventions at the top
// of the spec; feature-map layout in spec §2, kpu_core/kpu_ram_layout.h).
#pragma once

#include <cstdint>
#include <optional>

#include "memory/memory_target.h"
#include "memory/memory_timing.h"

namespace kpusim::memory {

/// Bytes per KPU RAM row (spec conventions, §2).
inline constexpr uint64_t kKpuRamRowBytes = 64;
/// Rows in KPU RAM; row indices in layer arguments are 0..32767 (spec conventions, §3).
inline constexpr uint64_t kKpuRamRows = 32768;
/// Capacity of KPU RAM in bytes: 2 MiB = 32768 rows x 64 bytes (spec §1).
inline constexpr uint64_t kKpuRamSize = kKpuRamRows * kKpuRamRowBytes;  // 2097152
static_assert(kKpuRamSize == 2ull * 1024 * 1024, "KPU RAM is 2 MiB");
/// Physical address of KPU RAM, cached view (`AI_RAM_BASE_ADDR`, spec §1).
inline constexpr uint64_t kKpuRamBase = 0x8060'0000;
/// Physical address of the uncached view (`AI_IO_BASE_ADDR`, spec §1); both runtimes
/// write feature maps through it.
inline constexpr uint64_t kKpuRamUncachedBase = 0x4060'0000;

/// Offset inside KPU RAM of a physical address in either view, or nullopt if the address
/// is in neither [0x8060_0000, +2 MiB) nor [0x4060_0000, +2 MiB).
inline std::optional<uint64_t> kpu_ram_offset(uint64_t physical) {
    if (physical >= kKpuRamBase && physical - kKpuRamBase < kKpuRamSize)
        return physical - kKpuRamBase;
    if (physical >= kKpuRamUncachedBase && physical - kKpuRamUncachedBase < kKpuRamSize)
        return physical - kKpuRamUncachedBase;
    return std::nullopt;
}

/// KPU RAM as a TLM target: a MemoryTarget of kKpuRamSize bytes based at kKpuRamBase.
/// The socket takes byte offsets (row x 64 + byte in row), see kpu_ram_offset().
class KpuRam : public MemoryTarget {
public:
    /// @param name   SystemC module name.
    /// @param timing clock and latency; the default kKpuRamTiming is a placeholder until
    ///               the timing issue calibrates it (memory_timing.h).
    /// @throws std::invalid_argument if timing.clock_hz or timing.bytes_per_cycle is 0.
    explicit KpuRam(sc_core::sc_module_name name, const MemoryTiming& timing = kKpuRamTiming)
        : MemoryTarget(name, kKpuRamSize, timing, kKpuRamBase) {}

    const char* kind() const override { return "kpusim::memory::KpuRam"; }
};

}  // namespace kpusim::memory
