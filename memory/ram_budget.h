// How much of the K210's 6 MiB general SRAM is left to a model, and the allocator that
// places the model's buffers in it.
//
// On the device a model's body (kpu.load reads the whole file into RAM, timing.md A.4) and
// its main-memory working buffer (`main_mem_usage` bytes, spec §7.1 / §9.1) are malloc'ed
// from what the firmware leaves free; when they do not fit MaixPy reports "out of memory"
// (MaixPy-v1 issues #180, #317: "SYSCALL: Out of memory"). MainMemoryAllocator reproduces
// that check with kpusim::CapacityError.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kpusim::memory {

/// Firmware presets for the general RAM left to models.
enum class RamPreset {
    maixpy_full,     ///< MaixPy full firmware (IDE support, OpenMV functions): ~2 MiB free
    maixpy_minimum,  ///< MaixPy "minimum" firmware: ~4 MiB free
    bare_metal,      ///< standalone-SDK program: 6 MiB less program and stacks
};

/// Bytes of general RAM a preset leaves to models. ESTIMATES, rounded, from:
/// - maixpy_full: 2 MiB = 2097152. A MaixPy 0.5.0 full firmware (IDE support) reports
///   "free sys heap memory: 2052 KB" before loading a model (kpu.memtest(), sipeed/MaixPy-v1
///   issue #422); Sipeed's memory guide describes 6 MiB = ~2 MiB firmware + 512 KiB GC
///   heap + the rest as system heap, less what the camera/LCD/IDE buffers take.
/// - maixpy_minimum: 4 MiB = 4194304. The minimum firmware drops the IDE and OpenMV code
///   to free memory for models (Sipeed wiki, "why customize firmware"); an older M5StickV
///   build reported 3460 KB free (issue #180). 4 MiB assumes ~1.5 MiB firmware + 512 KiB GC.
/// - bare_metal: 5.75 MiB = 6029312. A standalone-SDK program (drivers, kpu.c runtime,
///   newlib, stacks of both cores) is assumed to take 256 KiB of the 6 MiB (spec §1).
uint64_t preset_bytes(RamPreset preset);

/// The bare-metal preset in bytes (see preset_bytes): 6 MiB less 256 KiB.
inline constexpr uint64_t kBareMetalBytes = 6ull * 1024 * 1024 - 256 * 1024;  // 6029312

/// Canonical name of a preset: "maixpy-full", "maixpy-minimum" or "bare-metal".
const char* to_string(RamPreset preset);

/// Parse a preset name: "maixpy" (= maixpy-full), "maixpy-full", "maixpy-minimum",
/// "bare-metal" (exact, lower case).
/// @throws std::invalid_argument naming the accepted values for anything else.
RamPreset parse_ram_preset(const std::string& name);

/// One live allocation.
struct Allocation {
    uint64_t address;  ///< offset inside general SRAM, in bytes
    uint64_t size;     ///< bytes requested
    std::string what;  ///< label given to allocate() ("model body", "main memory", ...)
};

/// First-fit allocator over a budget of general SRAM, with the device's failure message.
///
/// The budget is the region [base, base + budget) of the 6 MiB general SRAM; addresses
/// returned are offsets inside general SRAM (physical = 0x8000_0000 + offset, spec §1).
/// malloc's per-block headers are not modelled: a block costs its requested size plus any
/// alignment gap before it.
class MainMemoryAllocator {
public:
    /// A budget placed at the top of general SRAM: base = 6 MiB - budget_bytes (the
    /// firmware's code and data sit below its heap).
    /// @throws std::invalid_argument if budget_bytes > 6 MiB (6291456).
    explicit MainMemoryAllocator(uint64_t budget_bytes);

    /// A budget of budget_bytes starting at offset base_offset of general SRAM.
    /// @throws std::invalid_argument if budget_bytes > 6 MiB or base_offset + budget_bytes
    ///         > 6 MiB.
    MainMemoryAllocator(uint64_t budget_bytes, uint64_t base_offset);

    /// Reserve `bytes` bytes (a zero-byte request reserves 1 byte, so every live block has
    /// its own address) at the lowest address, aligned to `alignment` bytes, that fits
    /// (first fit).
    /// @param bytes     size in bytes.
    /// @param what      label used in the error message and in allocations().
    /// @param alignment power of two, in bytes (alignment of the SRAM offset, and so of the
    ///                  physical address).
    /// @return the block's offset inside general SRAM.
    /// @throws kpusim::CapacityError "out of memory: cannot allocate N bytes for WHAT
    ///         (budget B bytes, U in use, F free)" when no gap fits; when the free total
    ///         would suffice but no single gap does, ", largest free block L bytes" is added.
    /// @throws std::invalid_argument if alignment is 0 or not a power of two.
    uint64_t allocate(uint64_t bytes, const std::string& what, uint32_t alignment = 8);

    /// Release the block that allocate() returned at `address`.
    /// @throws std::invalid_argument if no live block starts at `address`.
    void free(uint64_t address);

    /// Release every block and zero the peak (to reuse the allocator for another run).
    void reset();

    /// Budget in bytes.
    uint64_t budget() const noexcept { return budget_; }
    /// Offset of the budget's first byte inside general SRAM.
    uint64_t base_offset() const noexcept { return base_; }
    /// Bytes in live blocks (requested sizes, a zero-byte block counting 1; alignment gaps
    /// not counted).
    uint64_t in_use() const noexcept { return in_use_; }
    /// budget() - in_use(), in bytes.
    uint64_t free_bytes() const noexcept { return budget_ - in_use_; }
    /// Highest in_use() seen since construction or reset(), in bytes.
    uint64_t peak() const noexcept { return peak_; }
    /// Size of the largest gap between live blocks (or at either end), in bytes.
    uint64_t largest_free_block() const noexcept;
    /// Live blocks in address order.
    std::vector<Allocation> allocations() const;

private:
    struct Block {
        uint64_t size;  // bytes reserved (>= 1)
        uint64_t requested;
        std::string what;
    };
    uint64_t budget_;
    uint64_t base_;
    uint64_t in_use_ = 0;
    uint64_t peak_ = 0;
    std::map<uint64_t, Block> blocks_;  // by address
};

}  // namespace kpusim::memory
