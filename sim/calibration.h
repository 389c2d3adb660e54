// THE table of calibrated and estimated timing constants of kpusim, in one place: the default
// values of the parameter set (sim/parameters.h), which a run may override key by key.
//
// The fitted values ([fit ...], [meas]) are exactly calibration/parameters.json, which
// `kpusim calibrate --fit` computes from the measurement files calibration/measurements/*.json
// (sim/calibration_fit.h); tests/test_calibration_fit.cpp refits and checks both (1e-9
// relative). After a refit, copy the file's values here.
//
// Each value says where it comes from:
//   [fit C2]  least-squares fit to the per-layer trace of kendryte/nncase issue #77
//             (timing.md Part B row C2; docs/calibration.md);
//   [fit C3]  fit to the 16-bit single-conv sizes of bbs.sipeed.com topic 691 (row C3);
//   [fit C1]  set so that MobileNetV1-0.75 at CPU 481 / KPU 398 MHz gives the published
//             RAM-mode forward (40 ms) or load (421 ms) (timing.md Part B row C1);
//   [meas]    a direct measurement;
//   [est]     an estimate from the code path, NOT measured: change it when a measurement
//             appears, and say so in docs/calibration.md.
// Flash and PSRAM modes are derived from these and the memory models (flash_spi/, psram/),
// never fitted to flash timings.
#pragma once

#include <cstdint>

#include "cpu_layers/cpu_timing.h"
#include "cpu_layers/v4/v4_cpu_timing.h"
#include "kpu_core/kpu_timing.h"
#include "sim/parameters.h"

namespace kpusim {

struct Calibration {
    kpu::KpuTimingParameters kpu;
    cpu::CpuTimingParameters cpu;
    LoadParameters load;
    RunnerParameters runner;
};

inline constexpr Calibration kCalibration{
    // ---- KPU, in KPU cycles -------------------------------------------------------------
    // [fit C2] weighted least squares (relative error) over the 23 KPU layers of the C2
    // trace, KPU at 400 MHz (Kendryte demo default; a free-clock fit gives ~392 MHz,
    // timing.md C.1). Normal convolutions within 2.5 %, depthwise within 4.3 %, total
    // within 0.2 %; leave-one-out worst 9.2 % (layer 0) (docs/calibration.md).
    // Depthwise or not is read from each layer argument's depth_wise_layer bit.
    kpu::KpuTimingParameters{
        /*cycles_per_row_op=*/1.0201656329162594,
        /*cycles_per_output_row=*/1.2601472766199449,
        /*cycles_per_weight_byte=*/1.3764754339832095,
        /*cycles_per_output_byte=*/5.080414739655611,  // [fit C2] one point: layer 22's 9,000-byte output
        /*layer_overhead=*/15059.862416892436,
        /*depthwise_layer_overhead=*/2677.5918792213347,
        // ---- 16-bit weights, in KPU cycles: [fit C3] least squares over C3's ten sizes with
        // the weight fetch overlapped (time = max(compute + write-back, fetch) + overhead);
        // every size within 2 %, leave-one-out within 2.6 %. The write-back uses the 8-bit
        // cycles_per_output_row (C3 cannot separate it). Depthwise 16-bit: not measured.
        /*w16_cycles_per_row_op=*/1.0237237108719308,
        /*w16_cycles_per_pass=*/3.27060950639357,
        /*w16_cycles_per_weight_byte=*/0.19498692592785485,
        /*w16_layer_overhead=*/44196.015500790934,
    },
    // ---- CPU, in CPU cycles --------------------------------------------------------------
    cpu::CpuTimingParameters{
        /*layer_overhead=*/400.0,            // [est] ai_step entry and dispatch, ~1 us
        /*dequantize_per_element=*/17.91111111111111,  // [meas] C2: 9,000 values in 0.404 ms at 400 MHz,
                                             //        less the 400-cycle dispatch
        /*quantize_per_element=*/22.0,       // [est] dequantize plus a rounding and a clamp
        /*table_per_element=*/6.0,           // [est] load, table load, store
        /*add_per_element=*/8.0,             // [est] two float loads, add, store
        /*quantized_add_per_element=*/14.0,  // [est] two scalings, KCS, clamp
        /*pool_per_tap=*/4.0,                // [est] one float load and add per tap
        /*exp_per_element=*/90.0,            // [est] newlib expf (~60) plus the max/sum passes
        /*l2_norm_per_element=*/12.0,        // [est] fma pass plus scaling pass
        /*fc_per_mac=*/4.0,                  // [est] two float loads and an fmadd
        /*copy_per_byte=*/2.0,               // [est] byte copy loop
        /*upload_per_byte=*/6.803987902911988,   // [fit C1] the forward's residual after the KPU
                                             //        and the other CPU layers (calibration.md)
        /*dma_per_byte=*/0.5711805555555555,  // [meas] nncase#95: a 320x240x3 input DMA'd in 329 us
                                             //        at 400 MHz (V4 runtime; kmodel-spec §11)
    },
    // ---- load ----------------------------------------------------------------------------
    LoadParameters{
        /*copy_verify_cycles_per_byte=*/44.215986213904486,  // [fit C1] load 421 ms
        /*load_flash_overhead_cycles=*/400'000,  // [est] ~1 ms at 400 MHz ("a few ms", C.3)
    },
    // ---- flash runner ----------------------------------------------------------------------
    RunnerParameters{
        /*command_cycles=*/2000,           // [est] ~5 us: SSI + 2 DMA channel set-up (C.3 t_sw)
        /*layer_boundary_cycles=*/400,     // [est] ~1 us of buffer bookkeeping per layer
    },
};

// ---- kmodel V4 (nncase 0.2) CPU nodes, in CPU cycles ----------------------------------------
// Used by v4::cpu_node_cycles together with the V3 CPU constants above (which it reuses where
// the kernel is analogous: layer_overhead, add, table, pool, exp, fc_per_mac, copy).
inline constexpr v4::V4CpuTimingParameters kV4CpuTiming{
    /*dequantize_per_element=*/12.18,      // [fit] nncase#95 "Dequantize: 9.357 ms" (V4 runtime),
                                          //   307,200 elements (160x120x16, kmodel-spec §11's reading),
                                          //   CPU 400 MHz, less the 400-cycle dispatch
    /*quantize_per_element=*/16.0,         // [est] dequantize plus fcvt and clamp (V3: +4)
    /*broadcast_per_element=*/12.0,        // [est] 4-D index and two broadcast offsets
    /*quantized_binary_per_element=*/30.0, // [est] two loads, three 64-bit RHU, op, clamp
    /*quantized_mac=*/5.0,                 // [est] two byte loads, two adds, mul, add
    /*requantize_per_output=*/12.0,        // [est] RHU, offset, clamp, byte store
    /*unary_per_element=*/8.0,             // [est] load, one FPU op, store (rsqrt: fsqrt+fdiv)
    /*transcendental_per_element=*/70.0,   // [est] newlib expf/logf/sinf/cosf (~60) plus the loop
    /*index_per_element=*/10.0,            // [est] 4-D offset arithmetic, load, store
    /*resize_per_element=*/40.0,           // [est] four loads, five fused ops, conversions
    /*nnil_per_instruction=*/6.0,          // [est] byte dispatch and a stack access
    /*scatter_per_tap=*/6.0,               // [est] load, fmadd, store
    /*download_per_byte=*/34.24,           // [fit] nncase#95: the 16-channel 160x120 conv with a
                                          //   main-memory output took 26.563 ms against 0.268 ms
                                          //   without: (26.563 - 0.268) ms x 400 MHz / 307,200 bytes
};

}  // namespace kpusim
