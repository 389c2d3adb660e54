#include "sim/calibration_fit.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>

#include <Eigen/Dense>
#include <spdlog/fmt/fmt.h>

#include "common/errors.h"
#include "kpu_core/kpu_timing.h"
#include "memory/ram_budget.h"
#include "models/kmodel_loader.h"
#include "models/kmodel_v3_builder.h"
#include "sim/atomic_file.h"
#include "sim/model_input.h"
#include "sim/run_report.h"
#include "sim/simulate.h"

namespace kpusim {

namespace {

constexpr uint32_t kKpuRamRows = 32768;  // 2 MiB of 64-byte rows

// ---- reading the files ----------------------------------------------------------------------

template <typename T>
T field(const nlohmann::json& j, const char* key, const std::string& where) {
    if (!j.is_object() || !j.contains(key)) throw InputError(where + ": missing field '" + key + "'");
    try {
        return j.at(key).get<T>();
    } catch (const nlohmann::json::exception&) {
        throw InputError(where + ": field '" + key + "' has the wrong type (" + j.at(key).dump() + ")");
    }
}

// ---- building and running the models ---------------------------------------------------------

KpuConvDesc conv_desc(const nlohmann::json& b, const std::string& where) {
    KpuConvDesc d;
    d.in_width = field<uint32_t>(b, "width", where);
    d.in_height = field<uint32_t>(b, "height", where);
    d.in_channels = field<uint32_t>(b, "in_channels", where);
    d.out_channels = field<uint32_t>(b, "out_channels", where);
    d.kernel = field<uint32_t>(b, "kernel", where);
    d.pool_type = b.value("pool_type", 0u);
    if (d.in_width == 0 || d.in_height == 0 || d.in_channels == 0 || d.out_channels == 0 ||
        (d.kernel != 1 && d.kernel != 3))
        throw InputError(where + ": builder needs positive sizes and kernel 1 or 3");
    const uint32_t bits = field<uint32_t>(b, "weight_bits", where);
    if (bits != 8 && bits != 16) throw InputError(where + ": weight_bits must be 8 or 16");
    d.bn.assign(d.out_channels, BnEntry{});
    if (bits == 8) d.weights.assign(d.weight_count(), 1);
    else d.weights16.assign(d.weight_count(), 1);
    return d;
}

bool eight_bit_of(const nlohmann::json& b) { return b.value("weight_bits", 8u) == 8; }

// The conv's feature maps (input at row 0, output after it) fit in the KPU RAM.
bool runnable(const KpuConvDesc& d) {
    return uint64_t{builder_feature_map_rows(d.in_width, d.in_height, d.in_channels)} +
               builder_feature_map_rows(d.out_width(), d.out_height(), d.out_channels) <=
           kKpuRamRows;
}

// A single K210_CONV (KPU RAM output) followed by a one-value DEQUANTIZE, so that the model
// has a main-memory output as V3 requires; only the conv layer's time is read.
Model conv_model(const KpuConvDesc& desc, bool eight_bit) {
    KpuConvDesc d = desc;
    d.in_row = 0;
    d.out_row = builder_feature_map_rows(d.in_width, d.in_height, d.in_channels);
    KmodelV3Builder b;
    b.set_eight_bit(eight_bit);
    b.add_conv(d);
    b.add_dequantize(0, 8, 1, 1.0f, 0.0f);
    b.add_output(8, 1);
    return parse_kmodel(b.build());
}

kpu::LayerArgument encoded_argument(const KpuConvDesc& d, bool eight_bit) {
    const auto words = encode_layer_argument(d, eight_bit);
    uint8_t bytes[96];
    for (size_t w = 0; w < 12; ++w)
        for (size_t i = 0; i < 8; ++i) bytes[8 * w + i] = static_cast<uint8_t>(words[w] >> (8 * i));
    return kpu::LayerArgument::decode(bytes);
}

// One run of a model at given clocks and parameters (timing only, RAM mode, bare-metal RAM).
struct Run {
    Model model;
    RunResult result;
};

class Runner {
public:
    Runner(const Parameters& p, std::string shared_dir) : p_(p), shared_(std::move(shared_dir)) {}

    // The run of `m`'s model, or nullptr for a built conv too large for the KPU RAM.
    const Run* run(const Measurement& m) {
        std::string key = fmt::format("{}|{}|{}|{}", m.shared_model, m.builder.dump(), m.cpu_hz, m.kpu_hz);
        auto it = runs_.find(key);
        if (it != runs_.end()) return it->second.get();
        std::unique_ptr<Run> r;
        if (!m.shared_model.empty()) {
            r = std::make_unique<Run>();
            r->model = load_kmodel(shared_ + "/" + m.shared_model);
        } else {
            const KpuConvDesc d = conv_desc(m.builder, m.id);
            if (runnable(d)) {
                r = std::make_unique<Run>();
                r->model = conv_model(d, eight_bit_of(m.builder));
            }
        }
        if (r) {
            RunSettings s;
            s.ram_budget_bytes = memory::preset_bytes(memory::RamPreset::bare_metal);
            s.cpu_hz = m.cpu_hz;
            s.kpu_hz = m.kpu_hz;
            s.mode = RunMode::ram;
            s.compute_outputs = false;
            s.parameters = p_;
            r->result = run_standalone(r->model, test_pattern(r->model.input), s);
        }
        return (runs_[key] = std::move(r)).get();
    }

private:
    Parameters p_;
    std::string shared_;
    std::map<std::string, std::unique_ptr<Run>> runs_;
};

const KpuConvOp& conv_op(const Model& model, size_t layer, const std::string& id) {
    if (layer >= model.layers.size()) throw InputError(id + ": the model has no layer " + std::to_string(layer));
    const auto* conv = std::get_if<KpuConvOp>(&model.layers[layer].op);
    if (!conv) throw InputError(id + ": layer " + std::to_string(layer) + " is not a K210_CONV");
    return *conv;
}

uint64_t layer_ps(const RunResult& r, size_t layer, const std::string& id) {
    if (layer >= r.timing.layers.size()) throw InputError(id + ": no timing for layer " + std::to_string(layer));
    return r.timing.layers[layer].end_ps - r.timing.layers[layer].start_ps;
}

Prediction predict_one(const Measurement& m, const Parameters& p, Runner& runner) {
    const Run* run = runner.run(m);
    if (!run) {  // a built conv whose maps exceed the KPU RAM: the layer formula alone
        if (m.what != "conv") throw InputError(m.id + ": '" + m.what + "' needs a model that fits the KPU RAM");
        const bool eight = eight_bit_of(m.builder);
        const kpu::KpuLayerCycles c =
            kpu::kpu_layer_cycles(encoded_argument(conv_desc(m.builder, m.id), eight), eight, false, p.kpu);
        return {1e3 * static_cast<double>(c.total) / static_cast<double>(m.kpu_hz), "formula"};
    }
    const RunResult& r = run->result;
    if (m.what == "layer") return {ps_to_ms(layer_ps(r, static_cast<size_t>(m.layer), m.id)), "soc"};
    if (m.what == "conv") return {ps_to_ms(layer_ps(r, 0, m.id)), "soc"};
    if (m.what == "input_upload") return {ps_to_ms(r.timing.input_upload_ps), "soc"};
    if (m.what == "forward") return {ps_to_ms(r.timing.forward_ps), "soc"};
    if (m.what == "load") return {ps_to_ms(r.timing.load_ps), "soc"};
    if (m.what == "layers_sum") {
        uint64_t sum = 0;
        for (size_t i = 0; i < r.timing.layers.size(); ++i) sum += layer_ps(r, i, m.id);
        return {ps_to_ms(sum), "soc"};
    }
    throw InputError(m.id + ": unknown 'what' \"" + m.what + "\"");
}

// ---- the linear systems of the two KPU groups -------------------------------------------------

// One point of a KPU group: predicted cycles = features . x (per branch) + offset.
struct GroupRow {
    size_t point = 0;
    Eigen::VectorXd compute;   // kpu8: the only branch
    Eigen::VectorXd fetch;     // kpu16: the weight-fetch branch
    double offset_cycles = 0;  // what the simulator adds besides the fitted terms
    double compute_extra = 0;  // kpu16: the write-back (8-bit constant), on the compute branch only
    double measured_cycles = 0;
    double kpu_hz = 0;
};

constexpr int kKpu8Params = 6, kKpu16Params = 4;
const char* const kKpu8Keys[kKpu8Params] = {"kpu.cycles_per_row_op", "kpu.cycles_per_output_row",
                                            "kpu.cycles_per_weight_byte", "kpu.cycles_per_output_byte",
                                            "kpu.layer_overhead", "kpu.depthwise_layer_overhead"};
const char* const kKpu16Keys[kKpu16Params] = {"kpu.w16_cycles_per_row_op", "kpu.w16_cycles_per_pass",
                                              "kpu.w16_cycles_per_weight_byte", "kpu.w16_layer_overhead"};

std::vector<GroupRow> group_rows(const MeasurementData& data, const std::string& group, const Parameters& p,
                                 Runner& runner) {
    std::vector<GroupRow> rows;
    for (size_t i = 0; i < data.points.size(); ++i) {
        const Measurement& m = data.points[i];
        if (!m.in_fit || m.fits != group) continue;
        const Run* run = runner.run(m);
        kpu::LayerArgument arg;
        bool eight = true, main_out = false;
        double sim_cycles = 0;
        if (group == "kpu8") {
            if (m.what != "layer" || !run) throw InputError(m.id + ": kpu8 points are layers of a model file");
            const KpuConvOp& op = conv_op(run->model, static_cast<size_t>(m.layer), m.id);
            arg = op.arg;
            main_out = op.main_mem_out;
            eight = run->model.eight_bit;
            sim_cycles = static_cast<double>(layer_ps(run->result, static_cast<size_t>(m.layer), m.id)) * 1e-12 *
                         static_cast<double>(m.kpu_hz);
        } else {
            if (m.what != "conv") throw InputError(m.id + ": kpu16 points are built convolutions");
            eight = eight_bit_of(m.builder);
            arg = run ? conv_op(run->model, 0, m.id).arg : encoded_argument(conv_desc(m.builder, m.id), eight);
        }
        if (eight != (group == "kpu8"))
            throw InputError(m.id + ": a " + group + " point needs " + (eight ? "16" : "8") + "-bit weights");
        const kpu::KpuLayerCycles c = kpu::kpu_layer_cycles(arg, eight, main_out, p.kpu);
        if (run && group == "kpu16")
            sim_cycles = static_cast<double>(layer_ps(run->result, 0, m.id)) * 1e-12 * static_cast<double>(m.kpu_hz);
        GroupRow r;
        r.point = i;
        r.kpu_hz = static_cast<double>(m.kpu_hz);
        r.measured_cycles = m.measured_ms * 1e-3 * r.kpu_hz;
        const bool dw = arg.depth_wise_layer;  // read from the layer argument
        if (group == "kpu8") {
            r.compute.resize(kKpu8Params);
            r.compute << double(c.row_ops), double(c.output_rows), double(c.weight_bytes), double(c.output_bytes),
                dw ? 0.0 : 1.0, dw ? 1.0 : 0.0;
            r.offset_cycles = sim_cycles - static_cast<double>(c.total);
        } else {
            r.compute.resize(kKpu16Params);
            r.fetch.resize(kKpu16Params);
            r.compute << double(c.row_ops), double(c.passes), 0.0, 1.0;
            r.fetch << 0.0, 0.0, double(c.weight_bytes), 1.0;
            r.compute_extra = static_cast<double>(c.write_back);
            r.offset_cycles = (run ? sim_cycles - static_cast<double>(c.total) : 0.0) + static_cast<double>(c.main_out);
        }
        rows.push_back(std::move(r));
    }
    return rows;
}

struct Solution {
    Eigen::VectorXd x;
    int rank = 0;
    double sse = 0;
};

// Weighted least squares (relative error) of the rows `use`, each with its branch.
Solution solve(const std::vector<GroupRow>& rows, const std::vector<size_t>& use, const std::vector<bool>& fetch,
               int n) {
    Eigen::MatrixXd A(use.size(), n);
    Eigen::VectorXd b(use.size());
    for (size_t k = 0; k < use.size(); ++k) {
        const GroupRow& r = rows[use[k]];
        const double w = 1.0 / r.measured_cycles;
        A.row(static_cast<Eigen::Index>(k)) = (fetch[use[k]] ? r.fetch : r.compute).transpose() * w;
        b(static_cast<Eigen::Index>(k)) = (r.measured_cycles - r.offset_cycles - (fetch[use[k]] ? 0.0 : r.compute_extra)) * w;
    }
    // Columns scaled to unit norm (the counts span 1 to 1e7), so that the rank test compares
    // like with like; a column of zeros (a constant no point uses) stays zero.
    Eigen::VectorXd scale = A.colwise().norm().transpose();
    for (Eigen::Index c = 0; c < n; ++c) scale(c) = scale(c) > 0 ? 1.0 / scale(c) : 1.0;
    const Eigen::MatrixXd As = A * scale.asDiagonal();
    Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(As);
    qr.setThreshold(1e-10);
    Solution s;
    s.rank = static_cast<int>(qr.rank());
    s.x = scale.asDiagonal() * qr.solve(b);
    s.sse = (A * s.x - b).squaredNorm();
    return s;
}

double group_predict(const GroupRow& r, const Eigen::VectorXd& x, bool piecewise) {
    // kpu16: max(compute + write-back, fetch) + overhead (both branches hold the overhead).
    double cycles = r.compute.dot(x) + r.compute_extra;
    if (piecewise) cycles = std::max(cycles, r.fetch.dot(x));
    return cycles + r.offset_cycles;
}

// kpu8: one linear fit. kpu16: every assignment of the points to the two branches, keeping the
// consistent one (each point on the branch that is the larger at the solution, all constants
// non-negative) with the smallest error. Returns nothing when the group is not determined.
std::optional<Eigen::VectorXd> fit_group(const std::vector<GroupRow>& rows, const std::vector<size_t>& use,
                                         bool piecewise) {
    const int n = piecewise ? kKpu16Params : kKpu8Params;
    if (!piecewise) {
        const Solution s = solve(rows, use, std::vector<bool>(rows.size(), false), n);
        if (s.rank < n) return std::nullopt;
        return s.x;
    }
    if (use.size() > 20) throw InputError("kpu16: more than 20 points (the branch search is exhaustive)");
    std::optional<Eigen::VectorXd> best;
    double best_sse = std::numeric_limits<double>::infinity();
    for (uint32_t mask = 0; mask < (1u << use.size()); ++mask) {
        std::vector<bool> fetch(rows.size(), false);
        for (size_t k = 0; k < use.size(); ++k) fetch[use[k]] = (mask >> k) & 1;
        const Solution s = solve(rows, use, fetch, n);
        if (s.rank < n || s.sse >= best_sse || (s.x.array() < 0).any()) continue;
        bool consistent = true;
        for (size_t k : use) {
            const double compute = rows[k].compute.dot(s.x) + rows[k].compute_extra, fetched = rows[k].fetch.dot(s.x);
            if (fetch[k] ? fetched < compute : compute < fetched) consistent = false;
        }
        if (!consistent) continue;
        best_sse = s.sse;
        best = s.x;
    }
    return best;
}

std::vector<size_t> all_rows(size_t n) {
    std::vector<size_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = i;
    return v;
}

void set_keys(Parameters& p, const char* const* keys, const Eigen::VectorXd& x) {
    for (Eigen::Index i = 0; i < x.size(); ++i) p.set(keys[i], fmt::format("{:.17g}", x(i)));
}

}  // namespace

std::string Measurement::setting() const {
    std::string s;
    if (cpu_hz) s = fmt::format("CPU {:g} / KPU {:g} MHz", cpu_hz / 1e6, kpu_hz / 1e6);
    if (what == "layer") s += fmt::format(", layer {}", layer);
    else if (what == "conv" || what == "input_upload") {
        s += fmt::format(", {} {}x{} {}->{} {}x{} {}-bit", what == "conv" ? "conv" : "input of", builder.value("width", 0),
                         builder.value("height", 0), builder.value("in_channels", 0), builder.value("out_channels", 0),
                         builder.value("kernel", 0), builder.value("kernel", 0), builder.value("weight_bits", 8));
        if (builder.value("pool_type", 0) != 0) s += fmt::format(" pool {}", builder.value("pool_type", 0));
    } else {
        s += ", " + what;
    }
    return s;
}

MeasurementData load_measurements(const std::string& dir) {
    namespace fs = std::filesystem;
    if (!fs::is_directory(dir)) throw InputError("calibration data folder '" + dir + "' does not exist");
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".json") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    MeasurementData data;
    for (const fs::path& f : files) {
        const std::string where = f.filename().string();
        std::ifstream in(f);
        if (!in) throw InputError("cannot read calibration data file '" + f.string() + "'");
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(in);
        } catch (const nlohmann::json::exception& e) {
            throw InputError("calibration data file '" + f.string() + "' is not valid JSON: " + e.what());
        }
        const auto set = field<std::string>(j, "set", where);
        const auto source = field<std::string>(j, "source", where);
        if (!j.value("reproducible", true)) {
            data.unreproduced.push_back({set, source, j.value("description", ""), field<std::string>(j, "reason", where)});
            continue;
        }
        const auto& clocks = j.contains("clocks") ? j.at("clocks") : nlohmann::json();
        const auto cpu_hz = field<uint64_t>(clocks, "cpu_hz", where + " clocks");
        const auto kpu_hz = field<uint64_t>(clocks, "kpu_hz", where + " clocks");
        if (cpu_hz == 0 || kpu_hz == 0) throw InputError(where + ": clocks must be above 0");
        const auto& model = j.contains("model") ? j.at("model") : nlohmann::json();
        const auto& points = j.contains("points") ? j.at("points") : nlohmann::json();
        if (!points.is_array()) throw InputError(where + ": 'points' must be an array");
        for (const auto& pt : points) {
            Measurement m;
            m.set = set;
            m.source = source;
            m.id = field<std::string>(pt, "id", where);
            const std::string at = where + " " + m.id;
            m.what = field<std::string>(pt, "what", at);
            m.measured_ms = field<double>(pt, "measured_ms", at);
            if (!(m.measured_ms > 0)) throw InputError(at + ": measured_ms must be above 0");
            m.in_fit = field<bool>(pt, "in_fit", at);
            m.fits = pt.value("fits", "");
            if (m.in_fit && m.fits.empty()) throw InputError(at + ": a point in the fit needs 'fits'");
            m.note = pt.value("note", "");
            m.cpu_hz = cpu_hz;
            m.kpu_hz = kpu_hz;
            m.layer = pt.value("layer", -1);
            if (m.what == "layer" && m.layer < 0) throw InputError(at + ": a layer point needs 'layer'");
            if (pt.contains("builder")) m.builder = pt.at("builder");
            else if (model.is_object() && model.contains("shared")) m.shared_model = model.at("shared").get<std::string>();
            else throw InputError(at + ": neither a builder description nor a shared model");
            data.points.push_back(std::move(m));
        }
    }
    return data;
}

std::vector<Prediction> predict(const MeasurementData& data, const Parameters& p, const std::string& shared_dir) {
    Runner runner(p, shared_dir);
    std::vector<Prediction> out;
    for (const Measurement& m : data.points) out.push_back(predict_one(m, p, runner));
    return out;
}

std::vector<std::string> fitted_keys() {
    std::vector<std::string> k(std::begin(kKpu8Keys), std::end(kKpu8Keys));
    k.insert(k.end(), std::begin(kKpu16Keys), std::end(kKpu16Keys));
    for (const char* key : {"cpu.dequantize_per_element", "cpu.dma_per_byte", "cpu.upload_per_byte",
                            "load.copy_verify_cycles_per_byte"})
        k.emplace_back(key);
    return k;
}

namespace {

// One pass over the groups (see the file comment), each fitted with the values before it.
Parameters fit_pass(const MeasurementData& data, const Parameters& start, const std::string& shared_dir) {
    Parameters p = start;
    for (const std::string group : {"kpu8", "kpu16"}) {
        const bool piecewise = group == "kpu16";
        // The rows from a run with the group's constants at a fixed 1000 (whole cycles, and
        // far above any memory's own transfer time): what the simulator adds besides the
        // formula then does not depend on the values the fit starts from.
        Parameters zero = p;
        for (const char* const* k = piecewise ? kKpu16Keys : kKpu8Keys;
             k != (piecewise ? kKpu16Keys + kKpu16Params : kKpu8Keys + kKpu8Params); ++k)
            zero.set(*k, "1000");
        Runner runner(zero, shared_dir);
        const std::vector<GroupRow> rows = group_rows(data, group, zero, runner);
        const auto x = fit_group(rows, all_rows(rows.size()), piecewise);
        if (!x) throw InputError(group + ": the " + std::to_string(rows.size()) + " points in the fit do not determine its constants");
        set_keys(p, piecewise ? kKpu16Keys : kKpu8Keys, *x);
    }
    // One-point keys, in file order: the prediction is linear in the key, so two runs, at 0
    // and at 100 (fixed values: the result does not depend on the start), solve it.
    for (const Measurement& m : data.points) {
        if (!m.in_fit || m.fits == "kpu8" || m.fits == "kpu16") continue;
        const std::vector<std::string> keys = Parameters::keys();
        if (std::find(keys.begin(), keys.end(), m.fits) == keys.end())
            throw InputError(m.id + ": 'fits' names no parameter: " + m.fits);
        {
            constexpr double kProbe = 100;
            Parameters p0 = p, p1 = p;
            p0.set(m.fits, "0");
            p1.set(m.fits, fmt::format("{}", kProbe));
            Runner r0(p0, shared_dir), r1(p1, shared_dir);
            const double t0 = predict_one(m, p0, r0).ms, t1 = predict_one(m, p1, r1).ms;
            if (t1 == t0) throw InputError(m.id + ": the prediction does not depend on " + m.fits);
            const double v = (m.measured_ms - t0) * kProbe / (t1 - t0);
            if (v < 0)
                throw InputError(m.id + ": fitting " + m.fits + " gives a negative value (" + std::to_string(v) +
                                 "): the rest of the model already exceeds the measurement");
            p.set(m.fits, fmt::format("{:.17g}", v));
        }
    }
    return p;
}

}  // namespace

Parameters fit_parameters(const MeasurementData& data, const Parameters& start, const std::string& shared_dir) {
    // Passes until the fitted keys stop moving: a pass takes what the simulator adds besides
    // the fitted terms (rounding of cycles to whole numbers) and the keys fitted later (C1's
    // forward holds C2's dequantize) from the previous values, so the result must not depend
    // on the starting values.
    Parameters p = start;
    for (int pass = 0; pass < 20; ++pass) {
        const Parameters next = fit_pass(data, p, shared_dir);
        double change = 0;
        const auto a = p.to_json(), b = next.to_json();
        for (const std::string& k : fitted_keys()) {
            const auto dot = k.find('.');
            const double x = a[k.substr(0, dot)][k.substr(dot + 1)], y = b[k.substr(0, dot)][k.substr(dot + 1)];
            change = std::max(change, std::abs(x - y) / std::max(std::abs(y), 1e-300));
        }
        p = next;
        if (pass > 0 && change < 1e-12) return p;
    }
    throw InputError("the calibration fit does not converge (20 passes)");
}

std::vector<CalibrationRow> calibration_rows(const MeasurementData& data, const Parameters& p,
                                             const std::string& shared_dir) {
    Runner runner(p, shared_dir);
    std::vector<CalibrationRow> rows;
    for (const Measurement& m : data.points) {
        const Prediction pr = predict_one(m, p, runner);
        CalibrationRow r;
        r.id = m.id;
        r.source = m.source;
        r.setting = m.setting();
        r.method = pr.method;
        r.fits = m.fits;
        r.note = m.note;
        r.predicted_ms = pr.ms;
        r.measured_ms = m.measured_ms;
        r.error_pct = 100 * (pr.ms - m.measured_ms) / m.measured_ms;
        r.in_fit = m.in_fit;
        if (m.in_fit && m.fits != "kpu8" && m.fits != "kpu16") r.loo_note = "one-point fit of " + m.fits;
        rows.push_back(std::move(r));
    }
    for (const std::string group : {"kpu8", "kpu16"}) {
        const std::vector<GroupRow> g = group_rows(data, group, p, runner);
        for (size_t k = 0; k < g.size(); ++k) {
            std::vector<size_t> use;
            for (size_t i = 0; i < g.size(); ++i)
                if (i != k) use.push_back(i);
            const bool piecewise = group == "kpu16";
            const auto x = fit_group(g, use, piecewise);
            CalibrationRow& r = rows[g[k].point];
            if (!x) {
                r.loo_note = "the only point that fixes one of the " + group + " constants";
                continue;
            }
            const double ms = 1e3 * group_predict(g[k], *x, piecewise) / g[k].kpu_hz;
            r.loo_error_pct = 100 * (ms - r.measured_ms) / r.measured_ms;
        }
    }
    return rows;
}

nlohmann::ordered_json calibration_json(const std::vector<CalibrationRow>& rows, const MeasurementData& data) {
    nlohmann::ordered_json j;
    j["rows"] = nlohmann::ordered_json::array();
    for (const CalibrationRow& r : rows) {
        nlohmann::ordered_json o;
        o["id"] = r.id;
        o["source"] = r.source;
        o["setting"] = r.setting;
        o["method"] = r.method;
        o["predicted_ms"] = r.predicted_ms;
        o["measured_ms"] = r.measured_ms;
        o["error_pct"] = r.error_pct;
        o["in_fit"] = r.in_fit;
        o["fits"] = r.fits;
        o["loo_error_pct"] = r.loo_error_pct ? nlohmann::ordered_json(*r.loo_error_pct) : nlohmann::ordered_json();
        if (!r.loo_note.empty()) o["loo_note"] = r.loo_note;
        if (!r.note.empty()) o["note"] = r.note;
        j["rows"].push_back(o);
    }
    j["not_reproduced"] = nlohmann::ordered_json::array();
    for (const UnreproducedMeasurement& u : data.unreproduced)
        j["not_reproduced"].push_back({{"set", u.set}, {"source", u.source}, {"description", u.description}, {"reason", u.reason}});
    return j;
}

namespace {
struct Worst {
    double pct = 0;
    std::string id;
    void see(double e, const std::string& name) {
        if (std::abs(e) > std::abs(pct)) {
            pct = e;
            id = name;
        }
    }
};
}  // namespace

void print_calibration_rows(std::ostream& out, const std::vector<CalibrationRow>& rows, const MeasurementData& data) {
    out << fmt::format("{:<24} {:<54} {:>11} {:>11} {:>8} {:>6} {:>8}\n", "id", "setting", "measured ms", "predicted ms",
                       "error", "in fit", "LOO");
    Worst in_fit, loo, out_fit;
    for (const CalibrationRow& r : rows) {
        out << fmt::format("{:<24} {:<54} {:>11.4f} {:>11.4f} {:>+7.1f}% {:>6} {:>8}{}\n", r.id, r.setting, r.measured_ms,
                           r.predicted_ms, r.error_pct, r.in_fit ? "yes" : "no",
                           r.loo_error_pct ? fmt::format("{:+.1f}%", *r.loo_error_pct) : std::string("-"),
                           r.method == "formula" ? "  (formula)" : "");
        if (r.in_fit) in_fit.see(r.error_pct, r.id);
        else out_fit.see(r.error_pct, r.id);
        if (r.loo_error_pct) loo.see(*r.loo_error_pct, r.id);
    }
    std::string sources;
    for (const CalibrationRow& r : rows)
        if (sources.find(r.source) == std::string::npos) sources += "  " + r.id.substr(0, r.id.find('-')) + ": " + r.source + "\n";
    out << "sources:\n" << sources;
    for (const UnreproducedMeasurement& u : data.unreproduced)
        out << "not reproduced: " << u.set << " (" << u.source << "): " << u.reason << "\n";
    out << fmt::format("worst in-fit error {:+.1f}% ({}), worst leave-one-out {:+.1f}% ({}), worst out-of-fit {:+.1f}% ({})\n",
                       in_fit.pct, in_fit.id, loo.pct, loo.id, out_fit.pct, out_fit.id);
    out << "(formula): the maps exceed the 2 MiB KPU RAM; evaluated with the layer formula, not the SoC\n";
}

void print_calibration_markdown(std::ostream& out, const std::vector<CalibrationRow>& rows) {
    out << "| id | setting | measured ms | predicted ms | error | in fit | leave-one-out |\n"
           "|---|---|---:|---:|---:|---|---:|\n";
    for (const CalibrationRow& r : rows)
        out << fmt::format("| {} | {}{} | {:.4f} | {:.4f} | {:+.1f} % | {} | {} |\n", r.id, r.setting,
                           r.method == "formula" ? " (formula)" : "", r.measured_ms, r.predicted_ms, r.error_pct,
                           r.in_fit ? "yes" : "no",
                           r.loo_error_pct ? fmt::format("{:+.1f} %", *r.loo_error_pct) : std::string("–"));
}

int calibrate_command(const CalibrateOptions& o, std::ostream& out) {
    const MeasurementData data = load_measurements(o.data_dir);
    Parameters p = Parameters::defaults();
    if (!o.params_file.empty()) p.load_file(o.params_file);
    if (o.fit) {
        p = fit_parameters(data, p, o.shared_dir);
        nlohmann::ordered_json j = p.to_json();
        write_file_atomically(o.output, j.dump(2) + "\n", "parameter file");
        out << "fitted " << fitted_keys().size() << " constants from " << data.points.size()
            << " measurements; wrote " << o.output << "\n";
        if (!(p == Parameters::defaults()))
            out << "note: the fitted set differs from the compiled-in defaults (sim/calibration.h): "
                   "copy the values there to make them the defaults\n";
    }
    const std::vector<CalibrationRow> rows = calibration_rows(data, p, o.shared_dir);
    if (o.markdown) print_calibration_markdown(out, rows);
    else print_calibration_rows(out, rows, data);
    if (!o.json.empty()) write_file_atomically(o.json, calibration_json(rows, data).dump(2) + "\n", "calibration JSON");
    return 0;
}

}  // namespace kpusim
