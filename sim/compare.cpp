#include "sim/compare.h"

#include "sim/atomic_file.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <spdlog/fmt/fmt.h>

#include "kpu_core/kpu_layer.h"
#include "models/kmodel_error.h"
#include "models/kmodel_loader.h"
#include "models/read_file.h"
#include "sim/classification.h"
#include "sim/flash_image.h"
#include "sim/model_input.h"

namespace kpusim {

namespace {

bool is_separator(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v' || c == ',' ||
           c == ';' || c == '[' || c == ']' || c == '(' || c == ')' || c == '{' || c == '}';
}

// Bytes a printed list can hold: printable ASCII and whitespace.
bool looks_like_text(const std::vector<uint8_t>& bytes) {
    for (uint8_t b : bytes)
        if (!(b == '\t' || b == '\r' || b == '\n' || (b >= 0x20 && b < 0x7f))) return false;
    return true;
}

std::vector<float> parse_text(const std::vector<uint8_t>& bytes, const std::string& path) {
    std::vector<float> values;
    const std::string text(bytes.begin(), bytes.end());
    size_t line = 1;
    size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        if (c == '\n') {
            ++line;
            ++i;
        } else if (c == '#') {
            while (i < text.size() && text[i] != '\n') ++i;
        } else if (is_separator(c)) {
            ++i;
        } else {
            size_t end = i;
            while (end < text.size() && !is_separator(text[end]) && text[end] != '#') ++end;
            const std::string token = text.substr(i, end - i);
            char* stop = nullptr;
            const float v = std::strtof(token.c_str(), &stop);
            if (stop != token.c_str() + token.size() || token.empty())
                throw InputError("capture '" + path + "' line " + std::to_string(line) + ": '" + token +
                                 "' is not a number (a printed list holds numbers separated by "
                                 "spaces, commas or brackets; --capture-format raw for binary floats)");
            values.push_back(v);  // out of float range: strtof's +-inf or denormal, kept as read
            i = end;
        }
    }
    if (values.empty()) throw InputError("capture '" + path + "' holds no numbers");
    return values;
}

std::vector<float> parse_raw(const std::vector<uint8_t>& bytes, const std::string& path) {
    if (bytes.empty()) throw InputError("capture '" + path + "' is empty");
    if (bytes.size() % 4 != 0)
        throw InputError("capture '" + path + "' has " + std::to_string(bytes.size()) +
                         " bytes, not a whole number of little-endian float32 values");
    std::vector<float> v(bytes.size() / 4);
    std::memcpy(v.data(), bytes.data(), bytes.size());  // the host is little-endian
    return v;
}

DataType parse_dtype(const std::string& s, const std::string& where) {
    if (s == "float32") return DataType::float32;
    if (s == "uint8") return DataType::uint8;
    throw InputError(where + ": dtype '" + s + "' is not float32 or uint8");
}

uint32_t bits_of(float f) {
    uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
}

OutputComparison compare_one(uint32_t index, const std::vector<float>& run, const std::vector<float>& cap,
                             double tolerance) {
    OutputComparison c;
    c.index = index;
    c.elements = run.size();
    for (size_t i = 0; i < run.size(); ++i) {
        const float a = run[i], b = cap[i];
        if (bits_of(a) == bits_of(b)) ++c.bit_equal;
        const bool na = std::isnan(a), nb = std::isnan(b);
        if (na || nb) {
            if (na != nb) ++c.nan_mismatches;
            continue;
        }
        const double d = std::abs(static_cast<double>(a) - static_cast<double>(b));
        if (d > c.max_abs_diff) {
            c.max_abs_diff = d;
            c.max_abs_at = i;
        }
        const double scale = std::max(std::abs(static_cast<double>(a)), std::abs(static_cast<double>(b)));
        if (scale > 0 && !std::isinf(scale)) c.max_rel_diff = std::max(c.max_rel_diff, d / scale);
        else if (std::isinf(scale) && d != 0) c.max_rel_diff = std::max(c.max_rel_diff, 1.0);
    }
    if (run.size() >= 2) {
        const uint32_t k = static_cast<uint32_t>(std::min<size_t>(5, run.size()));
        const auto tr = top_k(run, k), tc = top_k(cap, k);
        c.top1_run = tr.front().class_id;
        c.top1_capture = tc.front().class_id;
        c.top5_size = k;
        for (const auto& x : tr)
            for (const auto& y : tc) c.top5_overlap += x.class_id == y.class_id;
    }
    c.within = c.nan_mismatches == 0 && c.max_abs_diff <= tolerance;
    return c;
}

std::string format_double(double v) { return std::isinf(v) ? "inf" : fmt::format("{:.3g}", v); }

}  // namespace

CaptureFormat parse_capture_format(const std::string& name) {
    if (name == "auto") return CaptureFormat::automatic;
    if (name == "raw") return CaptureFormat::raw;
    if (name == "text") return CaptureFormat::text;
    if (name == "dump") return CaptureFormat::dump;
    throw InputError("--capture-format '" + name + "' is not auto, raw, text or dump");
}

const char* to_string(CaptureFormat f) {
    switch (f) {
        case CaptureFormat::automatic: return "auto";
        case CaptureFormat::raw: return "raw";
        case CaptureFormat::text: return "text";
        case CaptureFormat::dump: return "dump";
    }
    return "?";
}

std::vector<OutputTensor> read_dumped_outputs(const std::string& dir) {
    namespace fs = std::filesystem;
    const fs::path index_path = fs::path(dir) / "outputs.json";
    const std::vector<uint8_t> index_bytes = read_whole_file(index_path.string(), "outputs.json of a --dump-outputs folder");
    nlohmann::json index;
    try {
        index = nlohmann::json::parse(index_bytes.begin(), index_bytes.end());
    } catch (const std::exception& e) {
        throw InputError("'" + index_path.string() + "' is not JSON: " + e.what());
    }
    if (!index.is_array() || index.empty())
        throw InputError("'" + index_path.string() + "' lists no outputs (expected the array kpusim run --dump-outputs writes)");
    std::vector<OutputTensor> outs;
    for (size_t i = 0; i < index.size(); ++i) {
        const std::string where = index_path.string() + " entry " + std::to_string(i);
        const auto& e = index[i];
        try {
            OutputTensor t;
            t.type = parse_dtype(e.at("dtype").get<std::string>(), where);
            const auto& sh = e.at("shape");
            if (!sh.is_array() || sh.size() != 4) throw InputError(where + ": shape is not [n, c, h, w]");
            t.shape = Shape{sh[0].get<uint32_t>(), sh[1].get<uint32_t>(), sh[2].get<uint32_t>(), sh[3].get<uint32_t>()};
            const std::string file = e.at("file").get<std::string>();
            if (file.empty() || fs::path(file).has_parent_path())
                throw InputError(where + ": file '" + file + "' is not a file name in the folder");
            t.bytes = read_whole_file((fs::path(dir) / file).string(), "dumped output");
            const uint64_t expected = t.shape.elements() * element_size(t.type);
            if (t.bytes.size() != expected)
                throw InputError(where + ": '" + file + "' has " + std::to_string(t.bytes.size()) + " bytes, its shape " +
                                 to_string(t.shape) + " " + to_string(t.type) + " needs " + std::to_string(expected));
            outs.push_back(std::move(t));
        } catch (const nlohmann::json::exception& ex) {
            throw InputError(where + ": " + ex.what());
        }
    }
    return outs;
}

Capture read_capture(const std::string& path, CaptureFormat format) {
    Capture c;
    const bool is_dir = std::filesystem::is_directory(path);
    if (format == CaptureFormat::automatic) {
        if (is_dir) {
            format = CaptureFormat::dump;
        } else {
            const std::vector<uint8_t> bytes = read_whole_file(path, "capture file");
            if (bytes.empty()) throw InputError("capture '" + path + "' is empty");
            c.format = looks_like_text(bytes) ? CaptureFormat::text : CaptureFormat::raw;
            c.outputs.push_back(c.format == CaptureFormat::text ? parse_text(bytes, path) : parse_raw(bytes, path));
            return c;
        }
    }
    c.format = format;
    if (format == CaptureFormat::dump) {
        if (!is_dir) throw InputError("capture '" + path + "' is not a --dump-outputs folder");
        for (const OutputTensor& t : read_dumped_outputs(path)) c.outputs.push_back(t.as_floats());
        return c;
    }
    const std::vector<uint8_t> bytes = read_whole_file(path, "capture file");
    if (bytes.empty()) throw InputError("capture '" + path + "' is empty");
    c.outputs.push_back(format == CaptureFormat::text ? parse_text(bytes, path) : parse_raw(bytes, path));
    return c;
}

bool CompareResult::within() const {
    for (const auto& o : outputs)
        if (!o.within) return false;
    return true;
}

CompareResult compare_outputs(const std::vector<OutputTensor>& run, const Capture& capture, double tolerance,
                              std::optional<uint32_t> only_output) {
    if (!(tolerance >= 0)) throw InputError("the tolerance must be a number >= 0");
    if (run.empty()) throw InputError("the run has no outputs to compare");
    if (capture.outputs.empty()) throw InputError("the capture holds no outputs");
    if (only_output && *only_output >= run.size())
        throw InputError("output " + std::to_string(*only_output) + " does not exist: the run has " +
                         std::to_string(run.size()) + " output(s)");
    std::vector<uint32_t> indices;
    if (only_output) indices.push_back(*only_output);
    else
        for (uint32_t i = 0; i < run.size(); ++i) indices.push_back(i);

    // The capture values for each compared output.
    std::vector<std::vector<float>> caps;
    if (capture.outputs.size() > 1) {  // a dump: one vector per output
        if (only_output) {
            if (*only_output >= capture.outputs.size())
                throw InputError("output " + std::to_string(*only_output) + " is not in the capture (it has " +
                                 std::to_string(capture.outputs.size()) + ")");
            caps.push_back(capture.outputs[*only_output]);
        } else {
            if (capture.outputs.size() != run.size())
                throw InputError("the capture has " + std::to_string(capture.outputs.size()) + " outputs, the run " +
                                 std::to_string(run.size()));
            caps = capture.outputs;
        }
    } else {  // everything back to back: split by the run's element counts
        const std::vector<float>& all = capture.outputs.front();
        uint64_t total = 0;
        for (uint32_t i : indices) total += run[i].shape.elements();
        if (all.size() != total)
            throw InputError("the capture holds " + std::to_string(all.size()) + " values, the run's output" +
                             (indices.size() > 1 ? "s hold " : " holds ") + std::to_string(total) +
                             (indices.size() > 1 || run.size() == 1 ? "" : " (--output chooses one output)"));
        uint64_t at = 0;
        for (uint32_t i : indices) {
            const uint64_t n = run[i].shape.elements();
            caps.emplace_back(all.begin() + static_cast<std::ptrdiff_t>(at), all.begin() + static_cast<std::ptrdiff_t>(at + n));
            at += n;
        }
    }

    CompareResult r;
    r.tolerance = tolerance;
    for (size_t k = 0; k < indices.size(); ++k) {
        const std::vector<float> values = run[indices[k]].as_floats();
        if (values.size() != caps[k].size())
            throw InputError("output " + std::to_string(indices[k]) + ": the run has " + std::to_string(values.size()) +
                             " elements, the capture " + std::to_string(caps[k].size()));
        r.outputs.push_back(compare_one(indices[k], values, caps[k], tolerance));
    }
    return r;
}

std::string to_text(const CompareResult& r) {
    std::ostringstream o;
    for (const auto& c : r.outputs) {
        o << fmt::format("output {}: {} elements, {} bit-equal, max |diff| {} (element {}), max relative diff {}",
                         c.index, c.elements, c.bit_equal, format_double(c.max_abs_diff), c.max_abs_at,
                         format_double(c.max_rel_diff));
        if (c.nan_mismatches) o << fmt::format(", {} NaN mismatches", c.nan_mismatches);
        o << "\n";
        if (c.top5_size)
            o << fmt::format("         top-1 {} (run) vs {} (capture){}; top-{} overlap {}/{}\n", c.top1_run,
                             c.top1_capture, c.top1_run == c.top1_capture ? ", agree" : ", DIFFER", c.top5_size,
                             c.top5_overlap, c.top5_size);
        o << fmt::format("         {} tolerance {}\n", c.within ? "within" : "BEYOND", format_double(r.tolerance));
    }
    o << (r.within() ? "result: every output within the tolerance\n" : "result: beyond the tolerance\n");
    return o.str();
}

nlohmann::ordered_json to_json(const CompareResult& r) {
    nlohmann::ordered_json j;
    j["tolerance"] = r.tolerance;
    j["within"] = r.within();
    nlohmann::ordered_json outs = nlohmann::ordered_json::array();
    for (const auto& c : r.outputs) {
        nlohmann::ordered_json o;
        o["index"] = c.index;
        o["elements"] = c.elements;
        o["bit_equal"] = c.bit_equal;
        o["nan_mismatches"] = c.nan_mismatches;
        o["max_abs_diff"] = std::isinf(c.max_abs_diff) ? nlohmann::ordered_json("inf") : nlohmann::ordered_json(c.max_abs_diff);
        o["max_abs_at"] = c.max_abs_at;
        o["max_rel_diff"] = c.max_rel_diff;
        if (c.top5_size) {
            o["top1_run"] = c.top1_run;
            o["top1_capture"] = c.top1_capture;
            o["top1_agree"] = c.top1_run == c.top1_capture;
            o["top5_overlap"] = c.top5_overlap;
            o["top5_size"] = c.top5_size;
        }
        o["within"] = c.within;
        outs.push_back(o);
    }
    j["outputs"] = outs;
    return j;
}

int compare_command(const CompareOptions& o, std::ostream& out) {
    if (o.capture.empty()) throw InputError("compare needs --capture FILE (a board's output)");
    if (o.model.empty() == o.outputs_dir.empty())
        throw InputError("compare needs either a MODEL (run on --input) or --outputs DIR (from run --dump-outputs), not " +
                         std::string(o.model.empty() ? "neither" : "both"));
    if (!(o.tolerance >= 0)) throw InputError("--tolerance must be a number >= 0");
    std::vector<OutputTensor> outputs;
    if (!o.model.empty()) {
        if (o.input.empty()) throw InputError("compare needs --input: the picture or raw input the capture was taken on");
        KmodelReadOptions read_options;
        read_options.strict_sdk = o.strict_sdk;
        const Model model = parse_kmodel(to_plain_kmodel(read_whole_file(o.model, "kmodel file")), read_options);
        for (const std::string& note : model.notes) out << "note: " << note << "\n";
        kpu::KpuOptions kpu;
        kpu.activation_rule = kpu::parse_activation_rule(o.activation_rule.c_str());
        kpu.arg_x_rule = kpu::parse_arg_x_rule(o.arg_x_rule.c_str());
        outputs = run_functional(model, load_model_input(o.input, model.input), kpu);
        out << fmt::format("run      {} on {} (activation rule {}, arg_x rule {})\n", o.model, o.input,
                           kpu::to_string(kpu.activation_rule), kpu::to_string(kpu.arg_x_rule));
    } else {
        outputs = read_dumped_outputs(o.outputs_dir);
        out << fmt::format("run      outputs of {}\n", o.outputs_dir);
    }
    const Capture capture = read_capture(o.capture, parse_capture_format(o.capture_format));
    out << fmt::format("capture  {} ({})\n", o.capture, to_string(capture.format));
    const CompareResult r = compare_outputs(outputs, capture, o.tolerance, o.output);
    out << to_text(r);
    if (!o.json.empty()) {
        write_file_atomically(o.json, to_json(r).dump(2) + "\n", "JSON result");
    }
    return r.within() ? 0 : 1;
}

}  // namespace kpusim
