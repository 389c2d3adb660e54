// Read commands of SPI NOR flash (W25Q / GD25Q family and their octal / DTR relatives), with
// the SCK cycles each phase takes, and the cycle count of one command.
//
// Cycle model of one read command of n data bytes (timing.md C.3):
//     SCK cycles = instruction + address(+mode) + dummy + ceil(8·n / (lanes · (DDR ? 2 : 1)))
//
// Sources, per row of the table (spi_read_commands()):
// - 0x03, 0x0B, 0x3B, 0xBB, 0x6B, 0xEB: MaixPy's flash driver (sipeed/MaixPy-v1
//   components/drivers/flash/src/w25qxx.c / w25qxx.h), summarised in timing.md A.6; 0xEB's
//   8 + 8 + 4 SCK also in timing.md A.4/A.5 (decoded flash runner) and in the generic 0xEB
//   sequence of a BY25Q80A datasheet page (timing.md A.6). Dummy clocks of 0x0B/0x3B/0x6B
//   (8) match Linux spi-nor's defaults (drivers/mtd/spi-nor/core.c,
//   spi_nor_info_init_params: 0 mode + 8 dummy clocks for READ_FAST, 1-1-2, 1-1-4).
// - 0x8B (1-1-8) and 0xCB (1-8-8): opcodes of Linux include/linux/mtd/spi-nor.h; dummy
//   clocks 8 and 16 are Linux's defaults for these modes (spi_nor_info_init_params for
//   1-1-8; the IS25LX256 fixup for 1-8-8).
// - DTR (DDR) reads 0x0D (1-1D-1D), 0xBD (1-2D-2D), 0xED (1-4D-4D): opcodes "defined in
//   JEDEC JESD216B" per Linux include/linux/mtd/spi-nor.h. Their dummy counts are
//   PLACEHOLDERS: they depend on the part and on its configured dummy setting, and no
//   datasheet table was retrieved for them.
// - 0xFD (8D-8D-8D): GigaDevice's octal DTR fast read (Linux drivers/mtd/spi-nor/
//   gigadevice.c, SPINOR_OP_GD_DTR_RD); 2-byte instruction and 4-byte address on eight
//   lanes in DTR (1 + 2 clocks); 20 dummy clocks is Linux's default for 8D-8D-8D reads
//   (spi_nor_info_init_params).
//
// K210 reality check (timing.md A.6): the board flash sits on SPI3 with four data balls
// (F_D0–F_D3), so 1, 2 and 4 SDR lanes are what a K210 board can run; eight lanes would need
// SPI0 (25 MHz TBC) and DTR is a datasheet feature no public K210 code uses. Rows with
// `projection == true` are for exploring such settings, not descriptions of a K210 board.
#pragma once

#include <cstdint>
#include <vector>

namespace kpusim::flash_spi {

/// One SPI NOR read command and the SCK cycles of its phases.
struct SpiReadCommand {
    uint8_t opcode;               ///< instruction byte, e.g. 0xEB
    const char* name;             ///< e.g. "Fast Read Quad I/O"
    const char* protocol;         ///< JEDEC-style lanes of instruction-address-data, e.g. "1-4-4"
    uint32_t instruction_cycles;  ///< SCK cycles of the instruction phase
    uint32_t address_cycles;      ///< SCK cycles of the 24/32-bit address plus mode bits
    uint32_t dummy_cycles;        ///< SCK dummy (wait) cycles before data
    uint32_t data_lanes;          ///< data lines: 1, 2, 4 or 8
    bool ddr;                     ///< data (and address) on both SCK edges
    bool projection;              ///< true: not runnable on a K210 board's flash (see file comment)
    const char* source;           ///< where the cycle counts come from
};

/// All read commands kpusim knows, in opcode order of the table above:
/// 0x03, 0x0B, 0x3B, 0xBB, 0x6B, 0xEB, 0x8B, 0xCB, 0x0D, 0xBD, 0xED, 0xFD.
const std::vector<SpiReadCommand>& spi_read_commands();

/// The read command with this opcode.
/// @throws kpusim::InputError if kpusim does not know the opcode.
const SpiReadCommand& read_command(uint8_t opcode);

/// The command a driver uses for a lanes / DDR setting: the I/O variant (address on the
/// data lanes), which has the fewest overhead cycles of the commands with that many data
/// lanes that run at full clock — 1 lane SDR: 0x0B (0x03 has no dummy cycles and is
/// specified for a lower clock on W25Q-class parts); 2: 0xBB; 4: 0xEB (what MaixPy's
/// driver and the flash runner use, timing.md A.4/A.5); 8: 0xCB; DDR: 0x0D, 0xBD, 0xED, 0xFD.
/// @param lanes data lanes: 1, 2, 4 or 8.
/// @param ddr   true for double data rate (DTR).
/// @throws kpusim::InputError for any other lane count.
const SpiReadCommand& choose_read_command(uint32_t lanes, bool ddr);

/// SCK cycles that move `bytes` data bytes over the command's data lanes:
/// ceil(8·bytes / (data_lanes · (ddr ? 2 : 1))). E.g. quad SDR: 2 cycles per byte.
uint64_t data_sck_cycles(const SpiReadCommand& cmd, uint64_t bytes);

/// SCK cycles of the fixed part of one command: instruction + address(+mode) + dummy.
/// E.g. 0xEB: 8 + 8 + 4 = 20.
uint64_t overhead_sck_cycles(const SpiReadCommand& cmd);

/// SCK cycles of one command reading `bytes` bytes: overhead_sck_cycles(cmd) +
/// data_sck_cycles(cmd, bytes). E.g. 0xEB, 4096 bytes: 20 + 8192 = 8212.
uint64_t command_sck_cycles(const SpiReadCommand& cmd, uint64_t bytes);

}  // namespace kpusim::flash_spi
