#include "sim/run_report.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <spdlog/fmt/fmt.h>

#include "models/kmodel_error.h"

namespace kpusim {

namespace {

nlohmann::ordered_json shape_json(const Shape& s) { return {s.n, s.c, s.h, s.w}; }

std::map<std::string, uint32_t> layer_counts(const Model& m) {
    std::map<std::string, uint32_t> counts;
    for (const auto& l : m.layers) ++counts[l.type_name];
    return counts;
}

}  // namespace

nlohmann::ordered_json to_json(const RunReport& r) {
    const Model& m = *r.model;
    nlohmann::ordered_json j;
    j["schema_version"] = kRunReportSchemaVersion;
    j["model"] = {
        {"path", r.model_path},
        {"kmodel_version", m.version},
        {"file_bytes", m.file_size()},
        {"weights_bits", m.eight_bit ? 8 : 16},
        {"layers", m.layers.size()},
        {"layer_counts", layer_counts(m)},
        {"main_mem_usage", m.main_mem_usage},
        {"input", {{"shape", shape_json(m.input.shape)}, {"dtype", to_string(m.input.type)}}},
    };
    j["input"] = r.input_description;
    const MemoryUse& u = r.result.memory;
    j["memory"] = {
        {"ram_budget_bytes", u.ram_budget},   {"model_body_bytes", u.model_body},
        {"main_buffer_bytes", u.main_buffer}, {"ram_used_bytes", u.ram_used},
        {"ram_free_bytes", u.ram_free},       {"kpu_ram_used_bytes", u.kpu_ram_used},
    };
    nlohmann::ordered_json outs = nlohmann::ordered_json::array();
    for (size_t i = 0; i < r.result.outputs.size(); ++i) {
        const auto& o = r.result.outputs[i];
        outs.push_back({{"index", i}, {"shape", shape_json(o.shape)}, {"dtype", to_string(o.type)}});
    }
    j["outputs"] = outs;
    if (!r.top.empty()) {
        nlohmann::ordered_json top = nlohmann::ordered_json::array();
        for (const auto& c : r.top)
            top.push_back({{"class_id", c.class_id},
                           {"label", c.class_id < r.labels.size() ? r.labels[c.class_id] : ""},
                           {"score", c.score}});
        j["top_k"] = top;
    }
    return j;
}

std::string to_text(const RunReport& r) {
    const Model& m = *r.model;
    std::ostringstream s;
    uint32_t kpu_layers = 0;
    for (const auto& l : m.layers) kpu_layers += l.engine() == Engine::kpu;
    s << fmt::format("model    {}\n", r.model_path);
    s << fmt::format("         kmodel V{}, {} bytes, {}-bit weights, {} layers ({} KPU, {} CPU)\n",
                     m.version, m.file_size(), m.eight_bit ? 8 : 16, m.layers.size(), kpu_layers,
                     m.layers.size() - kpu_layers);
    std::string counts;
    for (const auto& [name, n] : layer_counts(m)) counts += fmt::format("{}{} x{}", counts.empty() ? "" : ", ", name, n);
    s << fmt::format("         layers: {}\n", counts);
    s << fmt::format("input    {} {} ({})\n", to_string(m.input.shape), to_string(m.input.type),
                     r.input_description);
    const MemoryUse& u = r.result.memory;
    s << fmt::format("memory   general RAM: {} used of {} (model body {}, main buffer {}), {} free\n",
                     u.ram_used, u.ram_budget, u.model_body, u.main_buffer, u.ram_free);
    s << fmt::format("         KPU RAM: {} of {} bytes used by feature maps\n", u.kpu_ram_used,
                     kpu::kKpuRamBytes);
    for (size_t i = 0; i < r.result.outputs.size(); ++i) {
        const auto& o = r.result.outputs[i];
        s << fmt::format("output {} {} {}\n", i, to_string(o.shape), to_string(o.type));
    }
    if (!r.top.empty()) {
        s << fmt::format("top {}:\n", r.top.size());
        for (const auto& c : r.top)
            s << fmt::format("  {:5}  {:.6f}  {}\n", c.class_id, c.score,
                             c.class_id < r.labels.size() ? r.labels[c.class_id] : "");
    }
    return s.str();
}

void dump_outputs(const std::vector<OutputTensor>& outputs, const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw InputError("cannot create output folder '" + dir + "': " + ec.message());
    nlohmann::ordered_json index = nlohmann::ordered_json::array();
    for (size_t i = 0; i < outputs.size(); ++i) {
        const auto& o = outputs[i];
        const std::string name = "output_" + std::to_string(i) + ".bin";
        std::ofstream f(std::filesystem::path(dir) / name, std::ios::binary);
        f.write(reinterpret_cast<const char*>(o.bytes.data()), static_cast<std::streamsize>(o.bytes.size()));
        if (!f) throw InputError("cannot write '" + (std::filesystem::path(dir) / name).string() + "'");
        index.push_back({{"file", name}, {"dtype", to_string(o.type)}, {"shape", shape_json(o.shape)},
                         {"bytes", o.bytes.size()}});
    }
    std::ofstream f(std::filesystem::path(dir) / "outputs.json");
    f << index.dump(2) << "\n";
    if (!f) throw InputError("cannot write outputs.json in '" + dir + "'");
}

}  // namespace kpusim
