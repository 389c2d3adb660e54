#include "sim/run_settings.h"

#include "memory/ram_budget.h"
#include "models/kmodel_error.h"
#include "sim/units.h"

namespace kpusim {

const char* to_string(RunMode m) {
    switch (m) {
        case RunMode::ram: return "ram";
        case RunMode::flash_single: return "flash-single";
        case RunMode::flash_dual: return "flash-dual";
    }
    return "?";
}

RunMode parse_run_mode(const std::string& s) {
    if (s == "ram") return RunMode::ram;
    if (s == "flash-single") return RunMode::flash_single;
    if (s == "flash-dual") return RunMode::flash_dual;
    throw InputError("unknown mode '" + s + "' (expected ram, flash-single, flash-dual or all)");
}

const char* to_string(ModelSource s) {
    switch (s) {
        case ModelSource::flash: return "flash";
        case ModelSource::psram_qspi: return "psram-qspi";
        case ModelSource::psram_ospi: return "psram-ospi";
    }
    return "?";
}

ModelSource parse_model_source(const std::string& s) {
    if (s == "flash") return ModelSource::flash;
    if (s == "psram-qspi") return ModelSource::psram_qspi;
    if (s == "psram-ospi") return ModelSource::psram_ospi;
    throw InputError("unknown source '" + s + "' (expected flash, psram-qspi or psram-ospi)");
}

uint64_t parse_ram_budget(const std::string& text) {
    try {
        return memory::preset_bytes(memory::parse_ram_preset(text));
    } catch (const std::invalid_argument&) {
        return parse_quantity(text, "--ram-budget");
    }
}

void RunSettings::validate() const {
    auto clock = [](const char* name, uint64_t hz, uint64_t max) {
        if (hz == 0 || hz > max)
            throw InputError(std::string(name) + " of " + std::to_string(hz) +
                             " Hz is impossible for a K210 (must be " + std::to_string(kMinClockHz) + ".." +
                             std::to_string(max) + " Hz)");
        if (hz < kMinClockHz)
            throw InputError(std::string(name) + " of " + std::to_string(hz) + " Hz is below kpusim's minimum of " +
                             std::to_string(kMinClockHz) + " Hz (1 MHz): the simulated time of such a run would "
                             "be absurd (must be " + std::to_string(kMinClockHz) + ".." + std::to_string(max) + " Hz)");
    };
    clock("CPU frequency", cpu_hz, kMaxCpuHz);
    clock("KPU frequency", kpu_hz, kMaxKpuHz);
    if (flash_lanes != 1 && flash_lanes != 2 && flash_lanes != 4 && flash_lanes != 8)
        throw InputError("flash lanes " + std::to_string(flash_lanes) + " is not 1, 2, 4 or 8");
    if (mode == RunMode::flash_dual && batch_size == 0)
        throw InputError("batch_size 0 in flash-dual mode would build empty batches (the runner "
                         "reads batches of at least batch_size bytes; MaixPy suggests 0x4000..0x10000)");
}

}  // namespace kpusim
