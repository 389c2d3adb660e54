// One KPU layer end to end: read the input feature map from KPU RAM, convolution,
// batch-norm, activation, pooling, write-back to KPU RAM and the optional stream to main
// memory. Bit-exact to the integer semantics of spec §6, with the arg_x / arg_w terms floored
// per input channel as a real K210 computes them (spec §17; KpuOptions::arg_x_rule selects
// nncase's whole-sum form). Knows nothing of time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kpu_core/activation.h"
#include "kpu_core/layer_argument.h"
#include "kpu_core/zero_point_terms.h"

namespace kpusim::kpu {

/// Options of the functional KPU.
struct KpuOptions {
    ActivationRule activation_rule = ActivationRule::nncase_reference;
    /// Granularity of the arg_x / arg_w flooring (kpu_core/zero_point_terms.h): per input
    /// channel as the board computes it (default), or the whole sum as nncase's emulators.
    /// Changes only layers whose arg_x or arg_w is not a multiple of 2^shr (no nncase-made
    /// model; of ../shared/models only maixemc_cifar10_v3).
    ArgXRule arg_x_rule = ArgXRule::per_channel;
    /// Use the scalar reference kernels: the multiply-accumulate of conv.h accumulate_products
    /// instead of the fast one (conv_fast.h), and the scalar batch-norm / activation instead of
    /// the AVX2 ones (postprocess_simd.h). Both give the same results bit for bit. 16-bit
    /// weights always use the reference multiply-accumulate.
    bool reference_kernels = false;
};

/// Everything the KPU fetches for one layer (what para_start_addr, bwsx_base_addr and
/// active_addr point at on the chip).
struct KpuLayerInputs {
    const LayerArgument* arg = nullptr;
    const uint8_t* weights = nullptr;  ///< arg->weight_bytes(eight_bit) bytes, [oc][ic][ky][kx]
    bool eight_bit = true;             ///< false: little-endian uint16 weights
    const uint8_t* batchnorm = nullptr;  ///< 8 x OC bytes (kpu_batchnorm_argument_t)
    const uint8_t* activation = nullptr; ///< 144 bytes (kpu_activate_table_t)
};

/// Run one layer on `kpu_ram` (kKpuRamBytes bytes, persistent across layers).
/// `main_out`, when not null, receives the dense OC x OH x OW output stream
/// (dma_total_byte + 1 bytes) that send_data_out sends through fifo_data_out.
/// Preconditions: validate(*in.arg) passed. Throws std::runtime_error naming `layer_index`
/// when the activation table has no segment for a batch-norm value.
void run_layer(const KpuLayerInputs& in, uint8_t* kpu_ram, uint8_t* main_out,
               const KpuOptions& options, uint32_t layer_index);

}  // namespace kpusim::kpu
