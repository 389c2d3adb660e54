#include "sim/run_report.h"

#include <algorithm>

#include "kpusim/kpusim.h"
#include "sim/atomic_file.h"
#include "sim/budget_hint.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <spdlog/fmt/fmt.h>

#include "models/kmodel_error.h"
#include "sim/provenance.h"

namespace kpusim {

namespace {

nlohmann::ordered_json shape_json(const Shape& s) { return {s.n, s.c, s.h, s.w}; }

std::map<std::string, uint32_t> layer_counts(const Model& m) {
    std::map<std::string, uint32_t> counts;
    for (const auto& l : m.layers) ++counts[l.type_name];
    return counts;
}

uint64_t ps_to_ns(uint64_t ps) { return (ps + 500) / 1000; }

// Milliseconds rounded to the nanosecond, so that JSON numbers are short and exact.
double ms(uint64_t ps) { return static_cast<double>(ps_to_ns(ps)) / 1e6; }

std::string mode_name(const ModeRun& r) {
    std::string s = to_string(r.settings.mode);
    if (r.settings.source != ModelSource::flash) s += std::string("/") + to_string(r.settings.source);
    return s;
}

nlohmann::ordered_json config_json(const RunReport& r) {
    const RunSettings& s = r.runs.front().settings;
    nlohmann::ordered_json modes = nlohmann::ordered_json::array();
    for (const auto& run : r.runs) modes.push_back(to_string(run.settings.mode));
    nlohmann::ordered_json j;
    j["modes"] = modes;
    j["source"] = to_string(s.source);
    j["cpu_hz"] = s.cpu_hz;
    j["kpu_hz"] = s.kpu_hz;
    if (!ram_mode_only(r)) {  // the flash runner's settings
        j["spi_speed_hz"] = s.spi_speed_hz;
        j["flash_lanes"] = s.flash_lanes;
        j["flash_ddr"] = s.flash_ddr;
        j["batch_size"] = s.batch_size;
    }
    j["model_address"] = s.model_address;
    j["ram_budget_bytes"] = s.ram_budget_bytes;
    j["activation_rule"] = kpu::to_string(s.kpu.activation_rule);
    j["arg_x_rule"] = kpu::to_string(s.kpu.arg_x_rule);
    j["parameters"] = s.parameters.to_json();
    return j;
}

nlohmann::ordered_json timing_json(const ModeRun& run, const Model& m) {
    const TimingResult& t = run.result.timing;
    const MemoryUse& u = run.result.memory;
    nlohmann::ordered_json j;
    j["mode"] = to_string(run.settings.mode);
    j["source"] = to_string(run.settings.source);
    if (!run.error.empty()) {
        j["error"] = run.error;
        return j;
    }
    j["projection"] = t.projection;
    j["load_ms"] = ms(t.load_ps);
    j["forward_ms"] = ms(t.forward_ps);
    // How the figures were obtained (sim/provenance.h).
    j["basis"] = {{"load_ms", load_basis(run.settings, t.projection)},
                  {"forward_ms", forward_basis(run.settings, t.projection)}};
    j["input_upload_ns"] = ps_to_ns(t.input_upload_ps);
    j["bytes_read"] = t.bytes_read;
    j["source_busy_ns"] = ps_to_ns(t.source_busy_ps);
    j["busy_ns"] = {{"general_sram", ps_to_ns(t.busy.general_sram_ps)},
                    {"kpu_ram", ps_to_ns(t.busy.kpu_ram_ps)},
                    {"source", ps_to_ns(t.busy.source_ps)}};
    if (run.settings.mode != RunMode::ram) {  // the flash runner's batches and SPI clock
        j["batches"] = t.batches;
        j["spi_actual_hz"] = t.spi_actual_hz;
        j["spi_divider"] = t.spi_divider;
    }
    if (!t.notes.empty()) j["notes"] = t.notes;
    j["memory"] = {
        {"ram_budget_bytes", u.ram_budget},       {"ram_used_bytes", u.ram_used},
        {"ram_free_bytes", u.ram_free},           {"model_body_bytes", u.model_body},
        {"header_buffer_bytes", u.header_buffer}, {"layer_buffer_bytes", u.layer_buffers},
        {"main_buffer_bytes", u.main_buffer},     {"kpu_ram_peak_bytes", u.kpu_ram_peak},
    };
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    for (const LayerTiming& l : t.layers) {
        nlohmann::ordered_json stages = nlohmann::ordered_json::array();
        for (const kpu::KpuStage& st : l.stages)
            stages.push_back({{"stage", st.name},
                              {"cycles", st.cycles},
                              {"wait_ns", ps_to_ns(st.wait_ps)},
                              {"start_ns", ps_to_ns(st.start_ps)},
                              {"end_ns", ps_to_ns(st.end_ps)}});
        layers.push_back({{"index", l.index},
                          {"type", l.type},
                          {"shape", shape_json(l.out_shape)},
                          {"macs", l.macs},
                          {"body_bytes", l.body_bytes},
                          {"kpu_cycles", l.kpu_cycles},
                          {"cpu_cycles", l.cpu_cycles},
                          {"bytes_read", l.bytes_read},
                          {"wait_ns", ps_to_ns(l.wait_ps)},
                          {"start_ns", ps_to_ns(l.start_ps)},
                          {"end_ns", ps_to_ns(l.end_ps)},
                          {"bound", l.bound},
                          {"basis", l.index < m.layers.size() ? layer_basis(m.layers[l.index], m.eight_bit) : "projection"},
                          {"memory_wait_ns", ps_to_ns(l.memory_wait_ps)},
                          {"stages", stages}});
    }
    j["layers"] = layers;
    return j;
}

}  // namespace

std::vector<ModeRun> simulate_modes(const Model& model, const std::vector<uint8_t>& input,
                                    const RunSettings& base, const std::vector<RunMode>& modes) {
    std::vector<ModeRun> runs;
    bool have_outputs = false;
    for (RunMode mode : modes) {
        RunSettings s = base;
        s.mode = mode;
        s.compute_outputs = base.compute_outputs && !have_outputs;
        std::string error;
        try {
            runs.push_back({s, simulate(model, input, s), {}});
            have_outputs = true;
            continue;
        } catch (const CapacityError& e) {
            // Out of memory: say which RAM-budget presets the model would fit.
            const std::string hint = ram_budget_hint(model, input, s);
            error = hint.empty() ? std::string(e.what()) : std::string(e.what()) + "; " + hint;
            if (modes.size() == 1) throw CapacityError(error);
        } catch (const std::exception& e) {
            if (modes.size() == 1) throw;
            error = e.what();
        }
        ModeRun failed;
        failed.settings = s;
        failed.error = error;
        runs.push_back(std::move(failed));
    }
    if (!have_outputs) throw InputError("no mode could run: " + runs.front().error);
    return runs;
}

bool ram_mode_only(const RunReport& r) {
    for (const auto& run : r.runs)
        if (run.settings.mode != RunMode::ram) return false;
    return true;
}

const ModeRun& RunReport::first_ran() const {
    for (const auto& run : runs)
        if (run.error.empty()) return run;
    return runs.front();
}

nlohmann::ordered_json to_json(const RunReport& r) {
    const Model& m = *r.model;
    nlohmann::ordered_json j;
    j["schema_version"] = kRunReportSchemaVersion;
    j["kpusim_version"] = version();
    j["model"] = {
        {"path", r.model_path},
        {"sha256", model_sha256(m)},
        {"byte_order", r.byte_order},
        {"kmodel_version", m.version},
        {"file_bytes", m.file_size()},
        {"weights_bits", m.eight_bit ? 8 : 16},
        {"layers", m.layers.size()},
        {"layer_counts", layer_counts(m)},
        {"main_mem_usage", m.main_mem_usage},
        {"largest_body_bytes", m.largest_body()},
        {"input", {{"shape", shape_json(m.input.shape)}, {"dtype", to_string(m.input.type)}}},
    };
    if (!m.notes.empty()) j["model"]["notes"] = m.notes;
    j["input"] = r.input_description;
    j["config"] = config_json(r);
    if (r.runs.size() == 1) {
        const nlohmann::ordered_json timing = timing_json(r.runs.front(), m);
        for (const auto& [k, v] : timing.items()) j[k] = v;
    } else {
        nlohmann::ordered_json modes = nlohmann::ordered_json::array();
        for (const auto& run : r.runs) modes.push_back(timing_json(run, m));
        j["modes"] = modes;
    }
    nlohmann::ordered_json outs = nlohmann::ordered_json::array();
    const auto& outputs = r.first_ran().result.outputs;
    for (size_t i = 0; i < outputs.size(); ++i)
        outs.push_back({{"index", i}, {"shape", shape_json(outputs[i].shape)},
                        {"dtype", to_string(outputs[i].type)}});
    j["outputs"] = outs;
    const nlohmann::ordered_json decoded = decoded_json(r);
    for (const auto& [k, v] : decoded.items()) j[k] = v;
    return j;
}

nlohmann::ordered_json decoded_json(const RunReport& r) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    if (!r.top.empty()) {
        nlohmann::ordered_json top = nlohmann::ordered_json::array();
        for (const auto& c : r.top)
            top.push_back({{"class_id", c.class_id},
                           {"label", c.class_id < r.labels.size() ? r.labels[c.class_id] : ""},
                           {"score", c.score}});
        j["top_k"] = top;
    }
    j["decode"] = r.decode;
    nlohmann::ordered_json dets = nlohmann::ordered_json::array();
    for (const Detection& d : r.detections) {
        nlohmann::ordered_json det = {{"class_id", d.class_id}, {"label", d.label}, {"score", d.score},
                                      {"box", {d.box[0], d.box[1], d.box[2], d.box[3]}}};
        if (!d.landmarks.empty()) {
            nlohmann::ordered_json points = nlohmann::ordered_json::array();
            for (const auto& p : d.landmarks) points.push_back({p[0], p[1]});
            det["landmarks"] = points;
        }
        dets.push_back(det);
    }
    j["detections"] = dets;
    if (r.decode == "yolo2") {
        j["anchors"] = r.anchors;
        j["anchors_source"] = r.anchors_source;
    }
    j["warnings"] = r.warnings;
    if (r.decode == "features")
        j["features"] = {{"shape", shape_json(r.features.shape)}, {"count", r.features.count},
                         {"l2_norm", r.features.l2_norm}, {"first", r.features.first}};
    return j;
}

std::string to_text(const RunReport& r) {
    const Model& m = *r.model;
    const RunSettings& s = r.runs.front().settings;
    std::ostringstream o;
    uint32_t kpu_layers = 0;
    for (const auto& l : m.layers) kpu_layers += l.engine() == Engine::kpu;
    o << fmt::format("model    {}\n", r.model_path);
    o << fmt::format("         kmodel V{}, {} bytes, {}-bit weights, {} layers ({} KPU, {} CPU), largest body {} bytes\n",
                     m.version, m.file_size(), m.eight_bit ? 8 : 16, m.layers.size(), kpu_layers,
                     m.layers.size() - kpu_layers, m.largest_body());
    std::string counts;
    for (const auto& [name, n] : layer_counts(m))
        counts += fmt::format("{}{} x{}", counts.empty() ? "" : ", ", name, n);
    o << fmt::format("         layers: {}\n", counts);
    for (const std::string& note : m.notes) o << fmt::format("         note: {}\n", note);
    o << fmt::format("input    {} {} ({})\n", to_string(m.input.shape), to_string(m.input.type),
                     r.input_description);
    const bool ram_only = ram_mode_only(r);
    if (ram_only)  // kpu.load reads the model with the firmware's own flash settings
        o << fmt::format("clocks   CPU {} Hz, KPU {} Hz; source {}\n", s.cpu_hz, s.kpu_hz, to_string(s.source));
    else
        o << fmt::format("clocks   CPU {} Hz, KPU {} Hz; source {}; SPI speed {} Hz requested, {} lanes{}; batch_size {}\n",
                         s.cpu_hz, s.kpu_hz, to_string(s.source), s.spi_speed_hz, s.flash_lanes,
                         s.flash_ddr ? " DDR" : "", s.batch_size);
    o << fmt::format("KPU      activation rule {}, arg_x rule {}\n", kpu::to_string(s.kpu.activation_rule),
                     kpu::to_string(s.kpu.arg_x_rule));

    // Per-layer table.
    if (r.runs.size() == 1) {
        const TimingResult& t = r.runs.front().result.timing;
        o << fmt::format("\n{:>3} {:<22} {:<14} {:>11} {:>8} {:>9} {:>8} {:>8} {:>9} {:>9} {:>9}  {:<6} {}\n", "#",
                         "type", "shape", "MACs", "body B", "KPU cyc", "CPU cyc", "read B", "wait us",
                         "start us", "end us", "bound", "basis");
        for (const LayerTiming& l : t.layers)
            o << fmt::format("{:>3} {:<22} {:<14} {:>11} {:>8} {:>9} {:>8} {:>8} {:>9.1f} {:>9.1f} {:>9.1f}  {:<6} {}\n",
                             l.index, l.type, to_string(l.out_shape), l.macs, l.body_bytes,
                             l.kpu_cycles, l.cpu_cycles, l.bytes_read, l.wait_ps / 1e6,
                             l.start_ps / 1e6, l.end_ps / 1e6, l.bound,
                             l.index < m.layers.size() ? layer_basis(m.layers[l.index], m.eight_bit) : "projection");
    } else {
        o << fmt::format("\n{:>3} {:<22} {:>8} ", "#", "type", "body B");
        for (const auto& run : r.runs) o << fmt::format("{:>24}", mode_name(run) + " us (wait)");
        o << "\n";
        for (size_t i = 0; i < m.layers.size(); ++i) {
            const Layer& layer = m.layers[i];
            o << fmt::format("{:>3} {:<22} {:>8} ", layer.index, layer.type_name, layer.body.size);
            for (const auto& run : r.runs) {
                if (!run.error.empty()) {
                    o << fmt::format("{:>24}", "-");
                    continue;
                }
                const LayerTiming& l = run.result.timing.layers[i];
                o << fmt::format("{:>24}", fmt::format("{:.1f} ({:.1f})", (l.end_ps - l.start_ps) / 1e6,
                                                       l.wait_ps / 1e6));
            }
            o << "\n";
        }
    }

    // Totals, side by side.
    o << fmt::format("\n{:<24}", "");
    for (const auto& run : r.runs) o << fmt::format("{:>20}", mode_name(run));
    o << "\n";
    auto row = [&](const char* name, auto value) {
        o << fmt::format("{:<24}", name);
        for (const auto& run : r.runs) o << fmt::format("{:>20}", run.error.empty() ? value(run) : std::string("-"));
        o << "\n";
    };
    row("load ms", [](const ModeRun& x) { return fmt::format("{:.3f}", ps_to_ms(x.result.timing.load_ps)); });
    row("forward ms", [](const ModeRun& x) { return fmt::format("{:.3f}", ps_to_ms(x.result.timing.forward_ps)); });
    row("  load basis", [](const ModeRun& x) { return load_basis(x.settings, x.result.timing.projection); });
    row("  forward basis", [](const ModeRun& x) { return forward_basis(x.settings, x.result.timing.projection); });
    row("  input upload ms", [](const ModeRun& x) { return fmt::format("{:.3f}", ps_to_ms(x.result.timing.input_upload_ps)); });
    row("bytes read / forward", [](const ModeRun& x) { return fmt::format("{}", x.result.timing.bytes_read); });
    if (!ram_only)
        row("batches", [](const ModeRun& x) {
            return x.settings.mode == RunMode::ram ? std::string("-") : fmt::format("{}", x.result.timing.batches);
        });
    row("RAM used B", [](const ModeRun& x) { return fmt::format("{}", x.result.memory.ram_used); });
    row("RAM free B", [](const ModeRun& x) { return fmt::format("{}", x.result.memory.ram_free); });
    row("KPU RAM peak B", [](const ModeRun& x) { return fmt::format("{}", x.result.memory.kpu_ram_peak); });
    if (!ram_only)
        row("SPI actual Hz", [](const ModeRun& x) {
            return x.settings.mode != RunMode::ram && x.result.timing.spi_actual_hz
                       ? fmt::format("{}", x.result.timing.spi_actual_hz)
                       : std::string("-");
        });
    for (const auto& run : r.runs)
        if (!run.error.empty()) o << fmt::format("{} could not run: {}\n", mode_name(run), run.error);
    std::vector<std::string> notes;
    for (const auto& run : r.runs)
        for (const std::string& note : run.result.timing.notes)
            if (std::find(notes.begin(), notes.end(), note) == notes.end()) notes.push_back(note);
    for (const std::string& note : notes) o << "note: " << note << "\n";
    bool projection = false;
    for (const auto& run : r.runs) projection |= run.result.timing.projection;
    if (projection)
        o << "note: PSRAM, 8-lane and DDR results are projections: no public K210 measurement covers them\n";
    o << "basis: calibrated = fitted to a published K210 measurement of that kind; derived = from the memory and\n"
         "       runner models, no measurement of that setting; projection = no public measurement covers it\n"
         "       (docs/calibration.md; `kpusim calibrate` lists the measurements and errors)\n";

    const auto& outputs = r.first_ran().result.outputs;
    o << "\n";
    for (size_t i = 0; i < outputs.size(); ++i)
        o << fmt::format("output {} {} {}\n", i, to_string(outputs[i].shape), to_string(outputs[i].type));
    if (r.decode == "yolo2" || r.decode == "ultraface" || r.decode == "ultraface-landmark") {
        o << fmt::format("detections ({}):\n", r.detections.size());
        for (const Detection& d : r.detections) {
            o << fmt::format("  {:<16} {:.3f}  box ({:.0f}, {:.0f}) - ({:.0f}, {:.0f})", d.label, d.score,
                             d.box[0], d.box[1], d.box[2], d.box[3]);
            if (!d.landmarks.empty()) {
                o << "  landmarks";
                for (const auto& p : d.landmarks) o << fmt::format(" ({:.0f}, {:.0f})", p[0], p[1]);
            }
            o << "\n";
        }
    }
    if (r.decode == "features") {
        o << fmt::format("features: {} values (output {}), L2 norm {:.6g}; first {}:", r.features.count,
                         to_string(r.features.shape), r.features.l2_norm, r.features.first.size());
        for (float v : r.features.first) o << fmt::format(" {:.6g}", v);
        o << "\n";
    }
    if (!r.top.empty()) {
        o << fmt::format("top {}:\n", r.top.size());
        for (const auto& c : r.top)
            o << fmt::format("  {:5}  {:.6f}  {}\n", c.class_id, c.score,
                             c.class_id < r.labels.size() ? r.labels[c.class_id] : "");
    }
    return o.str();
}

void dump_outputs(const std::vector<OutputTensor>& outputs, const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw InputError("cannot create output folder '" + dir + "': " + ec.message());
    nlohmann::ordered_json index = nlohmann::ordered_json::array();
    for (size_t i = 0; i < outputs.size(); ++i) {
        const auto& o = outputs[i];
        const std::string name = "output_" + std::to_string(i) + ".bin";
        const auto path = std::filesystem::path(dir) / name;
        write_file_atomically(path.string(), o.bytes, "output tensor");
        index.push_back({{"file", name}, {"dtype", to_string(o.type)}, {"shape", shape_json(o.shape)},
                         {"bytes", o.bytes.size()}});
    }
    write_file_atomically((std::filesystem::path(dir) / "outputs.json").string(), index.dump(2) + "\n",
                          "output index");
}

}  // namespace kpusim
