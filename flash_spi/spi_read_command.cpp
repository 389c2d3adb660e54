#include "flash_spi/spi_read_command.h"

#include <cstdio>
#include <string>

#include "common/errors.h"

namespace kpusim::flash_spi {

namespace {

constexpr const char* kMaixPyDriver =
    "MaixPy w25qxx.c/w25qxx.h (timing.md A.6); dummy as Linux spi-nor defaults";
constexpr const char* kMaixPyEB =
    "MaixPy w25qxx.c, flash runner (timing.md A.4, A.5): 8 instr + 6 addr + 2 mode + 4 dummy";
constexpr const char* kLinuxOctal = "Linux spi-nor.h opcode; Linux spi-nor default dummy cycles";
constexpr const char* kDtrPlaceholder =
    "JESD216B opcode (Linux spi-nor.h); dummy cycles PLACEHOLDER (part-dependent)";
constexpr const char* kGdOctalDtr =
    "GigaDevice octal DTR (Linux gigadevice.c); 20 dummy = Linux 8D-8D-8D default";

}  // namespace

const std::vector<SpiReadCommand>& spi_read_commands() {
    // clang-format off
    static const std::vector<SpiReadCommand> table = {
        // opcode name                     proto       instr addr dummy lanes ddr   proj   source
        {0x03, "Read Data",                "1-1-1",      8,  24,   0,   1, false, false, kMaixPyDriver},
        {0x0B, "Fast Read",                "1-1-1",      8,  24,   8,   1, false, false, kMaixPyDriver},
        {0x3B, "Fast Read Dual Output",    "1-1-2",      8,  24,   8,   2, false, false, kMaixPyDriver},
        // 24-bit address + 8 mode bits on two lanes = 16 clocks, no dummy.
        {0xBB, "Fast Read Dual I/O",       "1-2-2",      8,  16,   0,   2, false, false, kMaixPyDriver},
        {0x6B, "Fast Read Quad Output",    "1-1-4",      8,  24,   8,   4, false, false, kMaixPyDriver},
        // 24-bit address (6 clocks) + mode byte M7-0 (2 clocks) on four lanes, 4 dummy.
        {0xEB, "Fast Read Quad I/O",       "1-4-4",      8,   8,   4,   4, false, false, kMaixPyEB},
        {0x8B, "Fast Read Octal Output",   "1-1-8",      8,  24,   8,   8, false, true,  kLinuxOctal},
        // 24-bit address on eight lanes = 3 clocks.
        {0xCB, "Fast Read Octal I/O",      "1-8-8",      8,   3,  16,   8, false, true,  kLinuxOctal},
        // DTR: 24-bit address on one lane, both edges = 12 clocks.
        {0x0D, "DTR Fast Read",            "1-1D-1D",    8,  12,   6,   1, true,  true,  kDtrPlaceholder},
        // DTR: 24-bit address + 8 mode bits on two lanes, both edges = 6 + 2 clocks.
        {0xBD, "DTR Fast Read Dual I/O",   "1-2D-2D",    8,   8,   6,   2, true,  true,  kDtrPlaceholder},
        // DTR: 24-bit address + 8 mode bits on four lanes, both edges = 3 + 1 clocks.
        {0xED, "DTR Fast Read Quad I/O",   "1-4D-4D",    8,   4,   8,   4, true,  true,  kDtrPlaceholder},
        // 2-byte instruction (1 clock) and 4-byte address (2 clocks) on eight lanes, DTR.
        {0xFD, "Octal DTR Fast Read",      "8D-8D-8D",   1,   2,  20,   8, true,  true,  kGdOctalDtr},
    };
    // clang-format on
    return table;
}

const SpiReadCommand& read_command(uint8_t opcode) {
    for (const SpiReadCommand& cmd : spi_read_commands())
        if (cmd.opcode == opcode) return cmd;
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(opcode));
    throw InputError(std::string("SPI flash: unknown read command opcode ") + hex);
}

const SpiReadCommand& choose_read_command(uint32_t lanes, bool ddr) {
    switch (lanes) {
        case 1: return read_command(ddr ? 0x0D : 0x0B);
        case 2: return read_command(ddr ? 0xBD : 0xBB);
        case 4: return read_command(ddr ? 0xED : 0xEB);
        case 8: return read_command(ddr ? 0xFD : 0xCB);
        default:
            throw InputError("SPI flash: " + std::to_string(lanes) +
                             " data lanes is not a SPI mode (use 1, 2, 4 or 8)");
    }
}

uint64_t data_sck_cycles(const SpiReadCommand& cmd, uint64_t bytes) {
    const uint64_t bits_per_cycle = uint64_t{cmd.data_lanes} * (cmd.ddr ? 2 : 1);
    // ceil(8 * bytes / bits_per_cycle) without overflowing 8 * bytes.
    const uint64_t whole = bytes / bits_per_cycle;
    const uint64_t rest_bits = (bytes % bits_per_cycle) * 8;
    return whole * 8 + (rest_bits + bits_per_cycle - 1) / bits_per_cycle;
}

uint64_t overhead_sck_cycles(const SpiReadCommand& cmd) {
    return uint64_t{cmd.instruction_cycles} + cmd.address_cycles + cmd.dummy_cycles;
}

uint64_t command_sck_cycles(const SpiReadCommand& cmd, uint64_t bytes) {
    return overhead_sck_cycles(cmd) + data_sck_cycles(cmd, bytes);
}

}  // namespace kpusim::flash_spi
