// The KPU's register file as the firmware sees it (`kpu_config_t`, all registers 64-bit;
// ../shared/docs/kmodel-spec.md §1.1, from the Kendryte SDK's kpu.h), and the field edits the
// runtimes make to a layer argument before they push it (§7.4).
#pragma once

#include <array>
#include <cstdint>

namespace kpusim::kpu {

/// Physical address of the KPU's register file (SDK platform.h: AI_BASE_ADDR).
inline constexpr uint64_t kKpuConfigBase = 0x4080'0000;

/// Byte offsets of the registers inside the register file (spec §1.1).
namespace reg {
inline constexpr uint64_t layer_argument_fifo = 0x00;  ///< write-only: push one argument word
inline constexpr uint64_t interrupt_status = 0x08;     ///< bit 0 calc_done, 1 almost_empty, 2 almost_full
inline constexpr uint64_t interrupt_raw = 0x10;        ///< same bits, unmasked
inline constexpr uint64_t interrupt_mask = 0x18;       ///< 1 = masked (disabled)
inline constexpr uint64_t interrupt_clear = 0x20;      ///< write 1s to clear (runtimes write 7)
inline constexpr uint64_t fifo_threshold = 0x28;       ///< bits 0-3 full, 4-7 empty threshold
inline constexpr uint64_t fifo_data_out = 0x30;        ///< output FIFO read port (DMA handshake)
inline constexpr uint64_t fifo_ctrl = 0x38;            ///< flush bits
inline constexpr uint64_t eight_bit_mode = 0x40;       ///< bit 0: 1 = 8-bit weights
/// kpusim's view of the system-DMA channel that the runtime points at fifo_data_out
/// (handshake SYSCTL_DMA_SELECT_AI_RX_REQ, spec §1.1): the physical address in general SRAM
/// where a layer with send_data_out = 1 streams its output. Not a KPU register on the chip:
/// on the chip the CPU programs the DMAC; kpusim folds that channel into the KPU module.
inline constexpr uint64_t data_out_address = 0x48;
}  // namespace reg

/// Bytes of the register window (the nine registers plus the DMA channel word).
inline constexpr uint64_t kKpuRegisterBytes = 0x50;

/// Interrupt bits (spec §1.1).
inline constexpr uint64_t kCalcDoneInterrupt = 1;

/// A layer argument as the V3 runtime pushes it (spec §7.4): the blob addresses
/// (para_start_addr = weights, bwsx_base_addr = batch-norm table, active_addr = activation
/// table: physical general-SRAM addresses), int_en = 1, and send_data_out as given.
/// `words` are the 12 words of the model file.
std::array<uint64_t, 12> patch_layer_argument(const std::array<uint64_t, 12>& words,
                                              uint32_t weights_address, uint32_t batchnorm_address,
                                              uint32_t activation_address, bool send_data_out);

}  // namespace kpusim::kpu
