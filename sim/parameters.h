// THE parameter set of a simulation: every timing constant kpusim uses (the calibrated KPU and
// CPU constants, the loader's and the flash runner's software costs, the memory ports'
// timing) in one value, named by dotted keys ("runner.command_cycles"), loadable from a JSON
// file, overridable key by key (`--set key=value`), and echoed in every report's `config`.
// The clocks of a run (CPU, KPU, SPI) are run settings (run_settings.h), not parameters.
//
// The default values and their provenance are the table in sim/calibration.h (calibrated)
// and memory/memory_timing.h (placeholders); Parameters::defaults() reads them from there.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cpu_layers/cpu_timing.h"
#include "cpu_layers/v4/v4_cpu_timing.h"
#include "kpu_core/kpu_timing.h"
#include "memory/memory_timing.h"

namespace kpusim {

/// Loading a model (kpu.load / kpu.load_flash). kpu.load's flash reads themselves are the
/// flash model's (flash_spi::kpu_load_config: 0xEB, 8-bit frames, SCK f_CPU / 16).
struct LoadParameters {
    /// CPU cycles per model byte to copy the body to the uncached alias and compare it with
    /// the cached copy (the loader's body_start_iomem == body_start_cache check, A.4).
    double copy_verify_cycles_per_byte;
    /// CPU cycles of kpu.load_flash besides its 4 KiB header read: QE-bit check, mallocs,
    /// walking the layer table, clock switches (A.4).
    uint64_t load_flash_overhead_cycles;
};

/// The MaixPy flash runner (timing.md A.5).
struct RunnerParameters {
    /// CPU cycles to issue one SPI read command: reprogram the SSI and two DMA channels.
    /// The only charge for it: the flash and PSRAM modules charge none of their own.
    uint64_t command_cycles;
    /// CPU cycles of the runner's bookkeeping at each layer boundary in the flash modes
    /// (buffer checks, re-pointing the model base).
    uint64_t layer_boundary_cycles;
};

struct Parameters {
    kpu::KpuTimingParameters kpu;
    cpu::CpuTimingParameters cpu;
    v4::V4CpuTimingParameters v4_cpu;  ///< kmodel V4 CPU nodes (cpu_layers/v4/v4_cpu_timing.h)
    LoadParameters load;
    RunnerParameters runner;
    memory::MemoryTiming sram;     ///< general SRAM port (memory_timing.h)
    memory::MemoryTiming kpu_ram;  ///< KPU RAM port (memory_timing.h)

    /// The committed values: sim/calibration.h and memory/memory_timing.h.
    static Parameters defaults();

    /// Every key, in a stable order ("kpu.cycles_per_row_op", ..., "kpu_ram.bytes_per_cycle").
    static std::vector<std::string> keys();
    /// Set one key from text ("1500", "1.25", "400M" is not accepted: plain numbers).
    /// @throws InputError naming the key for an unknown key, a value that is not a number, a
    ///         negative value, a fraction for an integer key, or a clock or width of 0.
    void set(const std::string& key, const std::string& value);
    /// Apply "key=value" (the command line's --set).
    /// @throws InputError as set(), or when there is no '='.
    void set_assignment(const std::string& assignment);
    /// Apply a JSON object, nested ({"runner": {"command_cycles": 1500}}) or flat
    /// ({"runner.command_cycles": 1500}); keys not given keep their value.
    /// @throws InputError naming the key for an unknown key or a value that is not a number.
    void apply(const nlohmann::json& json);
    /// apply() the JSON file at `path`. @throws InputError if it cannot be read or parsed.
    void load_file(const std::string& path);
    /// The whole set as nested JSON (what the report's config echoes; apply() reads it back).
    nlohmann::ordered_json to_json() const;

    bool operator==(const Parameters& other) const { return to_json() == other.to_json(); }
};

}  // namespace kpusim
