#include "sim/parameters.h"

#include <cmath>
#include <fstream>
#include <functional>

#include "common/errors.h"
#include "sim/calibration.h"

namespace kpusim {

namespace {

// One key of the set: its name and where its value lives.
struct Entry {
    const char* key;
    double* real = nullptr;
    uint64_t* integer = nullptr;
    bool positive = false;  ///< 0 is not allowed (clocks, widths)
};

std::vector<Entry> entries(Parameters& p) {
    return {
        {"kpu.cycles_per_row_op", &p.kpu.cycles_per_row_op},
        {"kpu.cycles_per_output_row", &p.kpu.cycles_per_output_row},
        {"kpu.cycles_per_weight_byte", &p.kpu.cycles_per_weight_byte},
        {"kpu.cycles_per_output_byte", &p.kpu.cycles_per_output_byte},
        {"kpu.layer_overhead", &p.kpu.layer_overhead},
        {"kpu.depthwise_layer_overhead", &p.kpu.depthwise_layer_overhead},
        {"kpu.w16_cycles_per_row_op", &p.kpu.w16_cycles_per_row_op},
        {"kpu.w16_cycles_per_pass", &p.kpu.w16_cycles_per_pass},
        {"kpu.w16_cycles_per_weight_byte", &p.kpu.w16_cycles_per_weight_byte},
        {"kpu.w16_layer_overhead", &p.kpu.w16_layer_overhead},
        {"cpu.layer_overhead", &p.cpu.layer_overhead},
        {"cpu.dequantize_per_element", &p.cpu.dequantize_per_element},
        {"cpu.quantize_per_element", &p.cpu.quantize_per_element},
        {"cpu.table_per_element", &p.cpu.table_per_element},
        {"cpu.add_per_element", &p.cpu.add_per_element},
        {"cpu.quantized_add_per_element", &p.cpu.quantized_add_per_element},
        {"cpu.pool_per_tap", &p.cpu.pool_per_tap},
        {"cpu.exp_per_element", &p.cpu.exp_per_element},
        {"cpu.l2_norm_per_element", &p.cpu.l2_norm_per_element},
        {"cpu.fc_per_mac", &p.cpu.fc_per_mac},
        {"cpu.copy_per_byte", &p.cpu.copy_per_byte},
        {"cpu.upload_per_byte", &p.cpu.upload_per_byte},
        {"cpu.dma_per_byte", &p.cpu.dma_per_byte},
        {"v4_cpu.dequantize_per_element", &p.v4_cpu.dequantize_per_element},
        {"v4_cpu.quantize_per_element", &p.v4_cpu.quantize_per_element},
        {"v4_cpu.broadcast_per_element", &p.v4_cpu.broadcast_per_element},
        {"v4_cpu.quantized_binary_per_element", &p.v4_cpu.quantized_binary_per_element},
        {"v4_cpu.quantized_mac", &p.v4_cpu.quantized_mac},
        {"v4_cpu.requantize_per_output", &p.v4_cpu.requantize_per_output},
        {"v4_cpu.unary_per_element", &p.v4_cpu.unary_per_element},
        {"v4_cpu.transcendental_per_element", &p.v4_cpu.transcendental_per_element},
        {"v4_cpu.index_per_element", &p.v4_cpu.index_per_element},
        {"v4_cpu.resize_per_element", &p.v4_cpu.resize_per_element},
        {"v4_cpu.nnil_per_instruction", &p.v4_cpu.nnil_per_instruction},
        {"v4_cpu.scatter_per_tap", &p.v4_cpu.scatter_per_tap},
        {"v4_cpu.download_per_byte", &p.v4_cpu.download_per_byte},
        {"load.copy_verify_cycles_per_byte", &p.load.copy_verify_cycles_per_byte},
        {"load.load_flash_overhead_cycles", nullptr, &p.load.load_flash_overhead_cycles},
        {"runner.command_cycles", nullptr, &p.runner.command_cycles},
        {"runner.layer_boundary_cycles", nullptr, &p.runner.layer_boundary_cycles},
        {"sram.clock_hz", nullptr, &p.sram.clock_hz, true},
        {"sram.access_cycles", nullptr, &p.sram.access_cycles},
        {"sram.bytes_per_cycle", nullptr, &p.sram.bytes_per_cycle, true},
        {"kpu_ram.clock_hz", nullptr, &p.kpu_ram.clock_hz, true},
        {"kpu_ram.access_cycles", nullptr, &p.kpu_ram.access_cycles},
        {"kpu_ram.bytes_per_cycle", nullptr, &p.kpu_ram.bytes_per_cycle, true},
    };
}

Entry find(Parameters& p, const std::string& key) {
    for (const Entry& e : entries(p))
        if (key == e.key) return e;
    std::string known;
    for (const std::string& k : Parameters::keys()) known += (known.empty() ? "" : ", ") + k;
    throw InputError("unknown parameter '" + key + "' (known: " + known + ")");
}

void assign(const Entry& e, double value, const std::string& key) {
    if (!std::isfinite(value) || value < 0)
        throw InputError("parameter " + key + ": " + std::to_string(value) + " is not a non-negative number");
    if (e.positive && value == 0) throw InputError("parameter " + key + " must be above 0");
    if (e.real) {
        *e.real = value;
        return;
    }
    if (value != std::floor(value) || value > 1.8e19)
        throw InputError("parameter " + key + " takes a whole number, not " + std::to_string(value));
    *e.integer = static_cast<uint64_t>(value);
}

void apply_node(Parameters& p, const nlohmann::json& j, const std::string& prefix) {
    if (!j.is_object()) throw InputError("parameters: expected a JSON object at '" + prefix + "'");
    for (const auto& [k, v] : j.items()) {
        const std::string key = prefix.empty() ? k : prefix + "." + k;
        if (v.is_object()) {
            apply_node(p, v, key);
        } else if (v.is_number()) {
            assign(find(p, key), v.get<double>(), key);
        } else {
            throw InputError("parameter " + key + ": expected a number, got " + v.dump());
        }
    }
}

}  // namespace

Parameters Parameters::defaults() {
    Parameters p;
    p.kpu = kCalibration.kpu;
    p.cpu = kCalibration.cpu;
    p.v4_cpu = kV4CpuTiming;
    p.load = kCalibration.load;
    p.runner = kCalibration.runner;
    p.sram = memory::kGeneralSramTiming;
    p.kpu_ram = memory::kKpuRamTiming;
    return p;
}

std::vector<std::string> Parameters::keys() {
    Parameters p = defaults();
    std::vector<std::string> k;
    for (const Entry& e : entries(p)) k.emplace_back(e.key);
    return k;
}

void Parameters::set(const std::string& key, const std::string& value) {
    const Entry e = find(*this, key);
    size_t used = 0;
    double v = 0;
    try {
        v = std::stod(value, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != value.size())
        throw InputError("parameter " + key + ": '" + value + "' is not a number");
    assign(e, v, key);
}

void Parameters::set_assignment(const std::string& assignment) {
    const auto eq = assignment.find('=');
    if (eq == std::string::npos)
        throw InputError("--set expects key=value (e.g. runner.command_cycles=1500), got '" + assignment + "'");
    set(assignment.substr(0, eq), assignment.substr(eq + 1));
}

void Parameters::apply(const nlohmann::json& json) { apply_node(*this, json, ""); }

void Parameters::load_file(const std::string& path) {
    std::ifstream f(path);
    if (!f) throw InputError("cannot read the parameter file '" + path + "'");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(f);
    } catch (const nlohmann::json::exception& e) {
        throw InputError("parameter file '" + path + "' is not valid JSON: " + e.what());
    }
    apply(j);
}

nlohmann::ordered_json Parameters::to_json() const {
    Parameters copy = *this;
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (const Entry& e : entries(copy)) {
        const std::string key = e.key;
        const auto dot = key.find('.');
        auto& group = j[key.substr(0, dot)];
        if (e.real) group[key.substr(dot + 1)] = *e.real;
        else group[key.substr(dot + 1)] = *e.integer;
    }
    return j;
}

}  // namespace kpusim
