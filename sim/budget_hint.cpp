#include "sim/budget_hint.h"

#include <spdlog/fmt/fmt.h>

#include "common/errors.h"
#include "memory/general_sram.h"
#include "memory/ram_budget.h"
#include "sim/simulate.h"

namespace kpusim {

namespace {

// "it fits the maixpy-minimum (4194304 bytes) and bare-metal (6029312 bytes) budgets",
// "it fits every preset", "it fits no preset (6029312 bytes at most)".
std::string presets_text(uint64_t needed) {
    using memory::RamPreset;
    std::vector<std::string> fits;
    const RamPreset order[] = {RamPreset::maixpy_full, RamPreset::maixpy_minimum, RamPreset::bare_metal};
    for (RamPreset p : order) {
        const uint64_t bytes = memory::preset_bytes(p);
        if (needed <= bytes) fits.push_back(fmt::format("{} ({} bytes)", memory::to_string(p), bytes));
    }
    if (fits.size() == std::size(order)) return "it fits every preset";
    if (fits.empty())
        return fmt::format("it fits no preset (the largest, bare-metal, leaves {} bytes)",
                           memory::preset_bytes(RamPreset::bare_metal));
    std::string list;
    for (size_t i = 0; i < fits.size(); ++i) list += (i == 0 ? "" : i + 1 == fits.size() ? " and " : ", ") + fits[i];
    return "it fits the " + list + (fits.size() == 1 ? " budget" : " budgets");
}

}  // namespace

uint64_t ram_needed(const Model& model, const std::vector<uint8_t>& input, RunSettings s, RunMode mode) {
    s.mode = mode;
    s.compute_outputs = false;
    // A batch larger than every layer body is refused; it does not change the RAM needed much.
    if (mode == RunMode::flash_dual && s.batch_size > model.largest_body()) s.batch_size = model.largest_body();
    s.ram_budget_bytes = memory::kGeneralSramSize;
    try {
        return run_standalone(model, input, s).memory.ram_used;
    } catch (const std::exception&) {
        return 0;
    }
}

std::string ram_budget_hint(const Model& model, const std::vector<uint8_t>& input, const RunSettings& settings) {
    std::string hint;
    const uint64_t here = ram_needed(model, input, settings, settings.mode);
    if (here)
        hint = fmt::format("in {} mode the model needs {} bytes: {}", to_string(settings.mode), here, presets_text(here));
    if (settings.mode == RunMode::ram) {
        const uint64_t flash = ram_needed(model, input, settings, RunMode::flash_dual);
        if (flash)
            hint += fmt::format("{}flash-dual (kpu.load_flash) needs {} bytes: {}", hint.empty() ? "" : "; ", flash,
                                presets_text(flash));
    }
    if (!hint.empty()) hint += " (--ram-budget, --mode)";
    return hint;
}

}  // namespace kpusim
