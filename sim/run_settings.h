// Settings of a simulated run: clocks, execution mode, model source, flash runner knobs.
#pragma once

#include <cstdint>
#include <string>

#include "kpu_core/kpu_layer.h"
#include "memory/ram_budget.h"
#include "sim/parameters.h"

namespace kpusim {

/// How the model's layer bodies reach the KPU (timing.md A.4, A.5).
enum class RunMode {
    ram,           ///< kpu.load: the whole model read into general RAM, then run
    flash_single,  ///< kpu.load_flash(dual_buf=0): each body read into one buffer, blocking
    flash_dual,    ///< kpu.load_flash(dual_buf=1): batches read into two buffers, overlapped
};
const char* to_string(RunMode m);
/// "ram", "flash-single", "flash-dual"; throws InputError otherwise.
RunMode parse_run_mode(const std::string& s);

/// The memory the model is read from.
enum class ModelSource {
    flash,       ///< the board's SPI NOR flash behind SPI3
    psram_qspi,  ///< QSPI PSRAM, 133 MHz SDR (projection: no public K210 measurement)
    psram_ospi,  ///< OSPI PSRAM, 133 MHz DDR (projection)
};
const char* to_string(ModelSource s);
/// "flash", "psram-qspi", "psram-ospi"; throws InputError otherwise.
ModelSource parse_model_source(const std::string& s);

/// Highest CPU and KPU clocks kpusim accepts, in Hz: Sipeed quotes KPU "turbo to 750M"
/// with raised core voltage and the spec's 800 MHz overclock (kmodel-spec.md §1, timing.md
/// A.1); anything above is not a K210 setting.
inline constexpr uint64_t kMaxCpuHz = 800'000'000;
inline constexpr uint64_t kMaxKpuHz = 800'000'000;

/// Lowest CPU and KPU clock kpusim accepts, in Hz: 1 MHz. kpusim's own bound, not a chip
/// limit: far below any clock the SDK or MaixPy sets (tens to hundreds of MHz), it keeps
/// absurd settings (1-2 Hz) from running one model for simulated weeks. With it, a run of
/// the team's models takes at most minutes of simulated time, far inside kMaxRunSeconds
/// (sim/simulate.h) and, over a whole sweep, inside SystemC's 64-bit time (2^64 ps, about
/// 213 days); run_standalone() also refuses a run that could pass that end.
inline constexpr uint64_t kMinClockHz = 1'000'000;

/// The general RAM left to models, from a preset name ("bare-metal", "maixpy-minimum",
/// "maixpy-full", "maixpy"; memory/ram_budget.h) or a byte count ("3Mi", "3000000").
/// Throws InputError naming --ram-budget for anything else.
uint64_t parse_ram_budget(const std::string& text);

struct RunSettings {
    kpu::KpuOptions kpu;
    /// General RAM left to models (memory/ram_budget.h); default: the bare-metal preset
    /// (5.75 MiB = 6,029,312 bytes, as the CLI's --ram-budget default).
    uint64_t ram_budget_bytes = memory::kBareMetalBytes;
    uint64_t cpu_hz = 400'000'000;      ///< CPU clock (also SPI3's source clock, timing.md A.1)
    uint64_t kpu_hz = 400'000'000;      ///< KPU clock
    RunMode mode = RunMode::ram;
    ModelSource source = ModelSource::flash;
    uint64_t spi_speed_hz = 80'000'000; ///< kpu.load_flash's spi_speed (requested SCK)
    uint32_t flash_lanes = 4;           ///< 1, 2, 4 (board flash) or 8 (projection)
    bool flash_ddr = false;             ///< DDR reads (projection)
    uint64_t batch_size = 0xC000;       ///< flash-dual: bytes per batch (at least)
    uint64_t model_address = 0x300000;  ///< where the model sits in flash / PSRAM
    bool compute_outputs = true;        ///< false: timing only (outputs left empty)
    /// Every timing constant of the run (sim/parameters.h); defaults: sim/calibration.h.
    Parameters parameters = Parameters::defaults();

    /// Throws InputError naming the setting: a clock below kMinClockHz or above kMaxCpuHz/kMaxKpuHz,
    /// lanes not 1/2/4/8, batch_size 0 in flash-dual mode.
    void validate() const;
};

}  // namespace kpusim
