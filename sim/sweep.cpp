#include "sim/sweep.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <tuple>

#include <spdlog/fmt/fmt.h>

#include "memory/general_sram.h"
#include "memory/ram_budget.h"
#include "models/kmodel_error.h"
#include "models/kmodel_loader.h"
#include "sim/atomic_file.h"
#include "sim/model_input.h"
#include "sim/simulate.h"
#include "sim/sweep_text.h"
#include "sim/units.h"

namespace kpusim {

using namespace sweep_text;

namespace {

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) {
        if (c == '"') q += '"';
        q += c;
    }
    return q + "\"";
}

}  // namespace

// ---- ranges ------------------------------------------------------------------------------

std::vector<uint64_t> SweepRange::values() const {
    std::vector<uint64_t> v;
    for (uint64_t x = first;; x += step) {
        v.push_back(x);
        if (step == 0 || last - x < step) break;  // the next value would pass `last` (or overflow)
    }
    return v;
}

SweepRange parse_sweep_range(const std::string& text, const std::string& what) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (;;) {
        const size_t colon = text.find(':', start);
        parts.push_back(text.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
        if (colon == std::string::npos) break;
        start = colon + 1;
    }
    const std::string form = " (expected FIRST:LAST:STEP, e.g. 0x4000:0x20000:0x4000 or 20M:80M:10M, or one value)";
    if (parts.size() == 1) {
        const uint64_t v = parse_quantity(parts[0], what);
        return {v, v, 1};
    }
    if (parts.size() != 3)
        throw InputError(what + ": '" + text + "' has " + std::to_string(parts.size()) + " parts" + form);
    SweepRange r{parse_quantity(parts[0], what), parse_quantity(parts[1], what), parse_quantity(parts[2], what)};
    if (r.step == 0) throw InputError(what + ": '" + text + "' has a step of 0" + form);
    if (r.last < r.first)
        throw InputError(what + ": '" + text + "' ends (" + std::to_string(r.last) + ") before it starts (" +
                         std::to_string(r.first) + ")" + form);
    const uint64_t points = (r.last - r.first) / r.step + 1;
    if (points > kMaxSweepPoints)
        throw InputError(what + ": '" + text + "' holds " + std::to_string(points) + " points, more than the " +
                         std::to_string(kMaxSweepPoints) + " a sweep allows");
    return r;
}

// ---- running -----------------------------------------------------------------------------

int choose_fastest_fitting(const std::vector<SweepPoint>& points) {
    int best = -1;
    for (size_t i = 0; i < points.size(); ++i) {
        const SweepPoint& p = points[i];
        if (!p.valid || !p.fits_budget) continue;
        if (best < 0) {
            best = static_cast<int>(i);
            continue;
        }
        const SweepPoint& b = points[static_cast<size_t>(best)];
        const auto key = [](const SweepPoint& x) {
            return std::make_tuple(x.forward_ps, x.ram_used, x.batch_size, x.spi_speed_hz);
        };
        if (key(p) < key(b)) best = static_cast<int>(i);
    }
    return best;
}

SweepRecommendation recommend(const SweepResult& r) {
    SweepRecommendation rec;
    const bool ram_fits = r.ram_mode_error.empty() && r.ram_mode_ram_used <= r.base.ram_budget_bytes;
    const SweepPoint* flash =
        r.fastest_fitting >= 0 ? &r.points[static_cast<size_t>(r.fastest_fitting)] : nullptr;
    const std::string ram_why = !r.ram_mode_error.empty() ? "the RAM mode (kpu.load) cannot run: " + r.ram_mode_error
                                                          : fmt::format("the RAM mode (kpu.load) needs {} bytes, over the "
                                                                        "budget of {}",
                                                                        r.ram_mode_ram_used, r.base.ram_budget_bytes);
    if (ram_fits && (!flash || r.ram_forward_ps <= flash->forward_ps)) {
        rec.kind = SweepRecommendation::Kind::ram;
        rec.forward_ps = r.ram_forward_ps;
        rec.reason = flash ? fmt::format("the RAM mode (kpu.load) fits the budget and is {}: forward {:.3f} ms "
                                         "against {:.3f} ms for the fastest {} setting",
                                         r.ram_forward_ps == flash->forward_ps ? "as fast" : "faster",
                                         ms(r.ram_forward_ps), ms(flash->forward_ps), to_string(r.base.mode))
                           : fmt::format("the RAM mode (kpu.load) fits the budget (forward {:.3f} ms) and no {} "
                                         "setting does",
                                         ms(r.ram_forward_ps), to_string(r.base.mode));
    } else if (flash) {
        rec.kind = SweepRecommendation::Kind::flash;
        rec.point = r.fastest_fitting;
        rec.forward_ps = flash->forward_ps;
        rec.reason = ram_fits ? fmt::format("the fastest {} setting is faster than the RAM mode (kpu.load), which "
                                            "fits too: forward {:.3f} ms against {:.3f} ms",
                                            to_string(r.base.mode), ms(flash->forward_ps), ms(r.ram_forward_ps))
                              : ram_why;
    } else {
        rec.reason = "no setting fits the budget: " + ram_why + ", and no " + to_string(r.base.mode) + " setting fits";
    }
    return rec;
}

SweepResult run_sweep(const Model& model, const std::vector<uint8_t>& input, const RunSettings& base,
                      const SweepRange& batch, const SweepRange& spi, uint64_t ram_budget,
                      std::function<void(size_t, size_t)> progress) {
    if (ram_budget > memory::kGeneralSramSize)
        throw InputError("RAM budget of " + std::to_string(ram_budget) + " bytes is more than the " +
                         std::to_string(memory::kGeneralSramSize) + " bytes of general SRAM");
    RunSettings probe = base;
    probe.batch_size = 1;
    probe.validate();

    SweepResult r;
    r.base = base;
    r.base.ram_budget_bytes = ram_budget;
    r.base.compute_outputs = false;
    r.batch_sizes = batch.values();
    r.spi_speeds = spi.values();
    const size_t total = r.batch_sizes.size() * r.spi_speeds.size() + 1;
    size_t done = 0;
    if (progress) progress(done, total);

    RunSettings s = r.base;
    s.ram_budget_bytes = memory::kGeneralSramSize;  // time points over the budget too

    // The RAM-mode reference (batch size and SPI speed do not apply to it).
    {
        RunSettings ram = s;
        ram.mode = RunMode::ram;
        try {
            const RunResult rr = run_standalone(model, input, ram);
            r.ram_forward_ps = rr.timing.forward_ps;
            r.ram_load_ps = rr.timing.load_ps;
            r.ram_mode_ram_used = rr.memory.ram_used;
        } catch (const InputError& e) {
            r.ram_mode_error = e.what();
        } catch (const CapacityError& e) {
            r.ram_mode_error = e.what();
        }
        if (progress) progress(++done, total);
    }

    r.points.reserve(total - 1);
    for (uint64_t b : r.batch_sizes) {
        for (uint64_t hz : r.spi_speeds) {
            SweepPoint p;
            p.batch_size = b;
            p.spi_speed_hz = hz;
            s.batch_size = b;
            s.spi_speed_hz = hz;
            try {
                const RunResult rr = run_standalone(model, input, s);
                p.valid = true;
                p.forward_ps = rr.timing.forward_ps;
                p.load_ps = rr.timing.load_ps;
                p.ram_used = rr.memory.ram_used;
                p.ram_free = p.ram_used <= ram_budget ? ram_budget - p.ram_used : 0;
                p.spi_actual_hz = rr.timing.spi_actual_hz;
                p.fits_budget = p.ram_used <= ram_budget;
            } catch (const InputError& e) {
                p.error = e.what();
            } catch (const CapacityError& e) {
                p.error = e.what();
            }
            r.points.push_back(std::move(p));
            if (progress) progress(++done, total);
        }
    }
    r.fastest_fitting = choose_fastest_fitting(r.points);
    return r;
}

// ---- CSV and JSON ------------------------------------------------------------------------

void write_sweep_csv(const SweepResult& r, const std::string& path) {
    std::ostringstream f;
    f << "mode,source,batch_size,spi_speed_hz,spi_actual_hz,forward_ms,load_ms,ram_used_bytes,"
         "ram_free_bytes,fits_budget,valid,error,recommended\n";
    const std::string mode = to_string(r.base.mode), source = to_string(r.base.source);
    const SweepRecommendation rec = recommend(r);
    // The RAM-mode reference: batch size and SPI speed do not apply to it.
    f << "ram," << source << ",,,,";
    if (r.ram_mode_error.empty()) {
        const uint64_t budget = r.base.ram_budget_bytes;
        const bool fits = r.ram_mode_ram_used <= budget;
        f << fmt::format("{:.6f}", ms(r.ram_forward_ps)) << ',' << fmt::format("{:.6f}", ms(r.ram_load_ps)) << ','
          << r.ram_mode_ram_used << ',' << (fits ? budget - r.ram_mode_ram_used : 0) << ','
          << (fits ? "true" : "false") << ",true,";
    } else {
        f << ",,,,false,false,";
    }
    f << csv_field(r.ram_mode_error) << ',' << (rec.kind == SweepRecommendation::Kind::ram ? "true" : "false")
      << '\n';
    for (size_t i = 0; i < r.points.size(); ++i) {
        const SweepPoint& p = r.points[i];
        f << mode << ',' << source << ',' << p.batch_size << ',' << p.spi_speed_hz << ',';
        if (p.valid)
            f << p.spi_actual_hz << ',' << fmt::format("{:.6f}", ms(p.forward_ps)) << ','
              << fmt::format("{:.6f}", ms(p.load_ps)) << ',' << p.ram_used << ',' << p.ram_free << ','
              << (p.fits_budget ? "true" : "false") << ",true,";
        else
            f << ",,,,,false,false,";
        f << csv_field(p.error) << ','
          << (rec.kind == SweepRecommendation::Kind::flash && rec.point == static_cast<int>(i) ? "true" : "false")
          << '\n';
    }
    write_file_atomically(path, f.str(), "CSV file");
}

namespace {

nlohmann::ordered_json point_json(const SweepPoint& p) {
    nlohmann::ordered_json j;
    j["batch_size"] = p.batch_size;
    j["spi_speed_hz"] = p.spi_speed_hz;
    j["valid"] = p.valid;
    if (p.valid) {
        j["spi_actual_hz"] = p.spi_actual_hz;
        j["forward_ms"] = ms(p.forward_ps);
        j["load_ms"] = ms(p.load_ps);
        j["ram_used_bytes"] = p.ram_used;
        j["ram_free_bytes"] = p.ram_free;
        j["fits_budget"] = p.fits_budget;
    } else {
        j["error"] = p.error;
    }
    return j;
}

}  // namespace

nlohmann::ordered_json sweep_json(const SweepResult& r) {
    const RunSettings& s = r.base;
    nlohmann::ordered_json j;
    j["schema_version"] = kSweepSchemaVersion;
    j["kind"] = "sweep";
    j["model"] = r.model_path;
    j["config"] = {
        {"mode", to_string(s.mode)},
        {"source", to_string(s.source)},
        {"cpu_hz", s.cpu_hz},
        {"kpu_hz", s.kpu_hz},
        {"flash_lanes", s.flash_lanes},
        {"flash_ddr", s.flash_ddr},
        {"model_address", s.model_address},
        {"ram_budget_bytes", s.ram_budget_bytes},
        {"activation_rule", kpu::to_string(s.kpu.activation_rule)},
        {"batch_sizes", r.batch_sizes},
        {"spi_speeds_hz", r.spi_speeds},
    };
    nlohmann::ordered_json ram;
    ram["valid"] = r.ram_mode_error.empty();
    if (r.ram_mode_error.empty()) {
        ram["forward_ms"] = ms(r.ram_forward_ps);
        ram["load_ms"] = ms(r.ram_load_ps);
        ram["ram_used_bytes"] = r.ram_mode_ram_used;
        ram["fits_budget"] = r.ram_mode_ram_used <= s.ram_budget_bytes;
    } else {
        ram["error"] = r.ram_mode_error;
    }
    j["ram_reference"] = ram;
    if (r.fastest_fitting >= 0) {
        nlohmann::ordered_json f;
        f["index"] = r.fastest_fitting;
        const nlohmann::ordered_json point = point_json(r.points[static_cast<size_t>(r.fastest_fitting)]);
        for (const auto& [k, v] : point.items()) f[k] = v;
        j["fastest_fitting"] = f;
    } else {
        j["fastest_fitting"] = nullptr;
    }
    const SweepRecommendation rec = recommend(r);
    if (rec.kind == SweepRecommendation::Kind::none) {
        j["recommended"] = nullptr;
    } else {
        nlohmann::ordered_json f;
        f["mode"] = rec.kind == SweepRecommendation::Kind::ram ? "ram" : to_string(s.mode);
        f["index"] = rec.point >= 0 ? nlohmann::ordered_json(rec.point) : nlohmann::ordered_json(nullptr);
        f["forward_ms"] = ms(rec.forward_ps);
        f["reason"] = rec.reason;
        j["recommended"] = f;
    }
    nlohmann::ordered_json points = nlohmann::ordered_json::array();
    for (const SweepPoint& p : r.points) points.push_back(point_json(p));
    j["points"] = points;
    return j;
}

void write_sweep_json(const SweepResult& r, const std::string& path) {
    write_file_atomically(path, sweep_json(r).dump(2) + "\n", "JSON file");
}


// ---- the command -------------------------------------------------------------------------

void print_progress(size_t done, size_t total) {
    if (!isatty(STDERR_FILENO) || total == 0) return;
    constexpr size_t kWidth = 40;
    const size_t filled = std::min(kWidth, done * kWidth / total);
    std::string bar(filled, '#');
    bar.append(kWidth - filled, '.');
    std::fprintf(stderr, "\rsweep [%s] %zu/%zu", bar.c_str(), done, total);
    if (done >= total) std::fputc('\n', stderr);
    std::fflush(stderr);
}

int sweep_command(const SweepOptions& o, std::ostream& out) {
    if (o.model.empty()) throw InputError("sweep: no model given");
    if (o.mode == "ram" || o.mode == "all")
        throw InputError("--mode " + o.mode + ": a sweep varies the flash runner's batch size and SPI speed; use "
                         "flash-dual or flash-single (the RAM mode is always run as the reference)");
    RunSettings base;
    base.mode = parse_run_mode(o.mode);
    base.source = parse_model_source(o.source);
    base.cpu_hz = parse_quantity(o.cpu_freq, "--cpu-freq");
    base.kpu_hz = parse_quantity(o.kpu_freq, "--kpu-freq");
    const uint64_t lanes = parse_quantity(o.flash_lanes, "--flash-lanes");
    if (lanes > 8) throw InputError("--flash-lanes " + o.flash_lanes + " is not 1, 2, 4 or 8");
    base.flash_lanes = static_cast<uint32_t>(lanes);
    base.compute_outputs = false;
    const uint64_t budget = parse_ram_budget(o.ram_budget);
    if (budget > memory::kGeneralSramSize)
        throw InputError("--ram-budget " + o.ram_budget + " is more than the " +
                         std::to_string(memory::kGeneralSramSize) + " bytes of general SRAM");
    const SweepRange batch = parse_sweep_range(o.batch_range.empty() ? "0xC000" : o.batch_range, "--batch-size");
    const SweepRange spi = parse_sweep_range(o.spi_range.empty() ? "80M" : o.spi_range, "--spi-speed");
    const uint64_t batch_points = batch.values().size(), spi_points = spi.values().size();
    if (base.mode == RunMode::flash_single && batch_points > 1)
        throw InputError("--batch-size: flash-single reads one layer at a time and has no batch size; give one "
                         "value or use flash-dual");
    if (base.source != ModelSource::flash && spi_points > 1)
        throw InputError(std::string("--spi-speed: the SPI speed does not apply to the ") + to_string(base.source) +
                         " source; give one value or use --source flash");
    for (const std::string* f : {&o.plot}) {
        if (f->empty()) continue;
        const std::string ext = lower(std::filesystem::path(*f).extension().string());
        if (ext != ".svg" && ext != ".png") throw InputError("--plot " + *f + ": the extension must be .svg or .png");
    }

    const Model model = load_kmodel(o.model);
    const std::vector<uint8_t> input = o.input.empty() ? test_pattern(model.input)
                                                       : load_model_input(o.input, model.input);
    SweepResult r = run_sweep(model, input, base, batch, spi, budget, print_progress);
    r.model_path = o.model;

    // Table: forward ms, batch_size rows x SPI speed columns.
    const RunSettings& b = r.base;
    out << fmt::format("model    {}\n", o.model);
    out << fmt::format("sweep    {}; {}; RAM budget {} bytes ({})\n", mode_title(b), clocks_title(b),
                       b.ram_budget_bytes, o.ram_budget);
    if (r.ram_mode_error.empty())
        out << fmt::format("RAM mode forward {:.3f} ms, load {:.3f} ms, RAM used {} bytes{}\n", ms(r.ram_forward_ps),
                           ms(r.ram_load_ps), r.ram_mode_ram_used,
                           r.ram_mode_ram_used <= b.ram_budget_bytes ? "" : " (over the budget)");
    else
        out << "RAM mode: cannot run: " << r.ram_mode_error << "\n";
    const size_t ns = r.spi_speeds.size();
    out << "\nforward ms  (columns: SPI speed asked, actual SCK MHz)\n";
    out << fmt::format("{:<12}", "batch_size");
    for (size_t j = 0; j < ns; ++j) {
        uint64_t actual = 0;
        for (size_t i = 0; i < r.batch_sizes.size() && !actual; ++i) actual = r.points[i * ns + j].spi_actual_hz;
        const std::string head = b.source != ModelSource::flash ? std::string(to_string(b.source))
                                 : actual ? fmt::format("{} ({})", short_hz(r.spi_speeds[j]), mhz(static_cast<double>(actual)))
                                          : short_hz(r.spi_speeds[j]);
        out << fmt::format(" {:>13}", head);
    }
    out << "\n";
    bool any_over = false, any_invalid = false;
    for (size_t i = 0; i < r.batch_sizes.size(); ++i) {
        out << fmt::format("{:<12}", b.mode == RunMode::flash_single ? std::string("-") : hex(r.batch_sizes[i]));
        for (size_t j = 0; j < ns; ++j) {
            const SweepPoint& p = r.points[i * ns + j];
            std::string cell = "-";
            if (p.valid) cell = fmt::format("{:.3f}{}", ms(p.forward_ps), p.fits_budget ? " " : "*");
            else any_invalid = true;
            any_over |= p.valid && !p.fits_budget;
            out << fmt::format(" {:>13}", cell);
        }
        out << "\n";
    }
    if (any_over) out << "* over the RAM budget\n";
    if (any_invalid) {
        out << "- invalid:\n";
        std::vector<std::pair<std::string, std::vector<size_t>>> reasons;
        for (size_t k = 0; k < r.points.size(); ++k) {
            if (r.points[k].valid) continue;
            auto it = std::find_if(reasons.begin(), reasons.end(),
                                   [&](const auto& x) { return x.first == r.points[k].error; });
            if (it == reasons.end()) reasons.push_back({r.points[k].error, {k}});
            else it->second.push_back(k);
        }
        for (const auto& [why, ks] : reasons) {
            const SweepPoint& p = r.points[ks.front()];
            out << fmt::format("  batch_size {}, SPI {}{}: {}\n", hex(p.batch_size), short_hz(p.spi_speed_hz),
                               ks.size() > 1 ? fmt::format(" (and {} more)", ks.size() - 1) : "", why);
        }
    }
    if (r.fastest_fitting >= 0) {
        const SweepPoint& f = r.points[static_cast<size_t>(r.fastest_fitting)];
        std::string setting;
        if (b.mode == RunMode::flash_dual)
            setting = fmt::format("batch_size {} ({} bytes)", hex(f.batch_size), f.batch_size);
        if (b.source == ModelSource::flash)
            setting += fmt::format("{}SPI {} (SCK {} MHz)", setting.empty() ? "" : ", ", short_hz(f.spi_speed_hz),
                                   mhz(static_cast<double>(f.spi_actual_hz)));
        if (setting.empty()) setting = to_string(b.source);
        out << fmt::format("\nfastest that fits the budget: {}: forward {:.3f} ms, load {:.3f} ms, RAM used {} of {} "
                           "bytes\n",
                           setting, ms(f.forward_ps), ms(f.load_ps), f.ram_used, b.ram_budget_bytes);
    } else {
        out << fmt::format("\nno {} setting fits the RAM budget of {} bytes\n", to_string(b.mode), b.ram_budget_bytes);
    }
    const SweepRecommendation rec = recommend(r);
    const char* use = rec.kind == SweepRecommendation::Kind::ram     ? "kpu.load (RAM mode)"
                      : rec.kind == SweepRecommendation::Kind::flash ? "the flash setting above"
                                                                     : "nothing";
    out << fmt::format("recommended: {}: {}\n", use, rec.reason);

    if (!o.csv.empty()) {
        write_sweep_csv(r, o.csv);
        out << "wrote " << (is_standard_output(o.csv) ? std::string("standard output") : o.csv) << "\n";
    }
    if (!o.json.empty()) {
        write_sweep_json(r, o.json);
        out << "wrote " << (is_standard_output(o.json) ? std::string("standard output") : o.json) << "\n";
    }
    if (!o.plot.empty()) {
        plot_sweep(r, o.plot);
        out << "wrote " << o.plot << "\n";
    }
    return 0;
}

}  // namespace kpusim
