#include "kpu_core/kpu_registers.h"

namespace kpusim::kpu {

namespace {
uint64_t with_bits(uint64_t word, unsigned lo, unsigned width, uint64_t value) {
    const uint64_t mask = (width == 64 ? ~uint64_t{0} : ((uint64_t{1} << width) - 1)) << lo;
    return (word & ~mask) | ((value << lo) & mask);
}
}  // namespace

std::array<uint64_t, 12> patch_layer_argument(const std::array<uint64_t, 12>& words,
                                              uint32_t weights_address, uint32_t batchnorm_address,
                                              uint32_t activation_address, bool send_data_out) {
    std::array<uint64_t, 12> w = words;
    // Bit positions: spec §3.1 (kernel_pool_type_cfg, kernel_load_cfg, kernel_calc_type_cfg,
    // interrupt_enabe, dma_parameter).
    w[0] = with_bits(w[0], 0, 1, 1);  // int_en
    w[4] = with_bits(w[4], 32, 32, batchnorm_address);
    w[5] = with_bits(w[5], 32, 32, weights_address);
    w[7] = with_bits(w[7], 32, 32, activation_address);
    w[11] = with_bits(w[11], 0, 1, send_data_out ? 1 : 0);
    return w;
}

}  // namespace kpusim::kpu
