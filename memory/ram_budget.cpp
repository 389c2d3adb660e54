#include "memory/ram_budget.h"

#include <stdexcept>

#include "memory/general_sram.h"
#include "common/errors.h"

namespace kpusim::memory {

namespace {

constexpr uint64_t kMiB = 1024 * 1024;

// The preset values, in one place (see preset_bytes() in the header for their sources).
constexpr uint64_t kMaixpyFullBytes = 2 * kMiB;                 // 2097152
constexpr uint64_t kMaixpyMinimumBytes = 4 * kMiB;              // 4194304
static_assert(kBareMetalBytes <= kGeneralSramSize, "a preset cannot exceed general SRAM");

uint64_t align_up(uint64_t value, uint64_t alignment) {
    return (value + alignment - 1) & ~(alignment - 1);
}

}  // namespace

uint64_t preset_bytes(RamPreset preset) {
    switch (preset) {
        case RamPreset::maixpy_full: return kMaixpyFullBytes;
        case RamPreset::maixpy_minimum: return kMaixpyMinimumBytes;
        case RamPreset::bare_metal: return kBareMetalBytes;
    }
    throw std::invalid_argument("unknown RamPreset value");
}

const char* to_string(RamPreset preset) {
    switch (preset) {
        case RamPreset::maixpy_full: return "maixpy-full";
        case RamPreset::maixpy_minimum: return "maixpy-minimum";
        case RamPreset::bare_metal: return "bare-metal";
    }
    return "unknown";
}

RamPreset parse_ram_preset(const std::string& name) {
    if (name == "maixpy" || name == "maixpy-full") return RamPreset::maixpy_full;
    if (name == "maixpy-minimum") return RamPreset::maixpy_minimum;
    if (name == "bare-metal") return RamPreset::bare_metal;
    throw std::invalid_argument("unknown RAM preset '" + name +
                                "': accepted values are maixpy, maixpy-full, maixpy-minimum, "
                                "bare-metal");
}

MainMemoryAllocator::MainMemoryAllocator(uint64_t budget_bytes)
    : MainMemoryAllocator(budget_bytes,
                          budget_bytes <= kGeneralSramSize ? kGeneralSramSize - budget_bytes : 0) {}

MainMemoryAllocator::MainMemoryAllocator(uint64_t budget_bytes, uint64_t base_offset)
    : budget_(budget_bytes), base_(base_offset) {
    if (budget_bytes > kGeneralSramSize)
        throw std::invalid_argument("RAM budget of " + std::to_string(budget_bytes) +
                                    " bytes exceeds the general SRAM (" +
                                    std::to_string(kGeneralSramSize) + " bytes)");
    if (base_offset > kGeneralSramSize - budget_bytes)
        throw std::invalid_argument("RAM budget of " + std::to_string(budget_bytes) +
                                    " bytes at offset " + std::to_string(base_offset) +
                                    " ends past the general SRAM (" +
                                    std::to_string(kGeneralSramSize) + " bytes)");
}

uint64_t MainMemoryAllocator::allocate(uint64_t bytes, const std::string& what,
                                       uint32_t alignment) {
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        throw std::invalid_argument("allocation alignment must be a power of two, got " +
                                    std::to_string(alignment));
    const uint64_t size = bytes == 0 ? 1 : bytes;
    const uint64_t end = base_ + budget_;

    // First fit: walk the gaps in address order.
    uint64_t gap_start = base_;
    auto try_gap = [&](uint64_t gap_end, uint64_t& out) {
        const uint64_t a = align_up(gap_start, alignment);
        if (a < gap_end && size <= gap_end - a) {  // a < gap_end also guards align_up overflow
            out = a;
            return true;
        }
        return false;
    };
    uint64_t address = 0;
    bool found = false;
    for (const auto& [addr, block] : blocks_) {
        if (try_gap(addr, address)) {
            found = true;
            break;
        }
        gap_start = addr + block.size;
    }
    if (!found) found = try_gap(end, address);

    if (!found) {
        std::string msg = "out of memory: cannot allocate " + std::to_string(bytes) +
                          " bytes for " + what + " (budget " + std::to_string(budget_) +
                          " bytes, " + std::to_string(in_use_) + " in use, " +
                          std::to_string(free_bytes()) + " free";
        if (free_bytes() >= size)
            msg += ", largest free block " + std::to_string(largest_free_block()) + " bytes";
        msg += ")";
        throw kpusim::CapacityError(msg);
    }

    blocks_.emplace(address, Block{size, bytes, what});
    in_use_ += size;
    if (in_use_ > peak_) peak_ = in_use_;
    return address;
}

void MainMemoryAllocator::free(uint64_t address) {
    const auto it = blocks_.find(address);
    if (it == blocks_.end())
        throw std::invalid_argument("free of address " + std::to_string(address) +
                                    ", which is not the start of a live allocation");
    in_use_ -= it->second.size;
    blocks_.erase(it);
}

void MainMemoryAllocator::reset() {
    blocks_.clear();
    in_use_ = 0;
    peak_ = 0;
}

uint64_t MainMemoryAllocator::largest_free_block() const noexcept {
    uint64_t largest = 0;
    uint64_t gap_start = base_;
    for (const auto& [addr, block] : blocks_) {
        if (addr - gap_start > largest) largest = addr - gap_start;
        gap_start = addr + block.size;
    }
    const uint64_t end = base_ + budget_;
    if (end - gap_start > largest) largest = end - gap_start;
    return largest;
}

std::vector<Allocation> MainMemoryAllocator::allocations() const {
    std::vector<Allocation> out;
    out.reserve(blocks_.size());
    for (const auto& [addr, block] : blocks_) out.push_back({addr, block.requested, block.what});
    return out;
}

}  // namespace kpusim::memory
