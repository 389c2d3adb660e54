#include "sim/dataset_run.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "kpusim/kpusim.h"
#include "models/kmodel_error.h"
#include "sim/detection.h"
#include "sim/model_input.h"
#include "sim/run_options.h"
#include "sim/run_report.h"
#include "sim/simulate.h"

namespace kpusim {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool is_picture(const fs::path& p) {
    const std::string e = lower(p.extension().string());
    return e == ".jpg" || e == ".jpeg" || e == ".png" || e == ".bmp";
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// The label of a class id, or the id as text.
std::string label_of(uint32_t id, const std::vector<std::string>& labels) {
    return id < labels.size() ? labels[id] : std::to_string(id);
}

}  // namespace

std::vector<std::string> list_dataset_inputs(const std::vector<std::string>& args) {
    std::vector<std::string> files;
    for (const std::string& a : args) {
        std::error_code ec;
        if (fs::is_directory(a, ec)) {
            std::vector<std::string> found;
            for (const auto& e : fs::recursive_directory_iterator(a, ec))
                if (e.is_regular_file() && is_picture(e.path())) found.push_back(e.path().string());
            if (ec) throw InputError("--input: cannot list folder '" + a + "': " + ec.message());
            if (found.empty())
                throw InputError("--input: folder '" + a + "' holds no .jpg, .jpeg, .png or .bmp picture");
            std::sort(found.begin(), found.end());
            files.insert(files.end(), found.begin(), found.end());
        } else if (fs::is_regular_file(a, ec)) {
            files.push_back(a);
        } else {
            throw InputError("--input: '" + a + "' is neither a file nor a folder");
        }
    }
    return files;
}

std::vector<PictureRecord> run_dataset(const Model& model, const std::vector<std::string>& files,
                                       const DatasetOptions& options) {
    std::vector<PictureRecord> records(files.size());
    const bool classifier =
        !model.outputs.empty() && guess_decode(model.outputs.front().shape) == DecodeKind::classify;
    const std::string sha256 = options.decode ? model_sha256(model) : std::string();
    std::atomic<size_t> next{0};
    size_t done = 0;
    std::mutex progress_mutex;
    auto work = [&] {
        FunctionalMemories memories;  // this worker's, reused picture after picture
        for (size_t i = next++; i < files.size(); i = next++) {
            PictureRecord& r = records[i];
            r.file = files[i];
            try {
                std::vector<OutputTensor> outs =
                    run_functional(model, load_model_input(files[i], model.input), options.kpu, memories);
                if (options.decode && !outs.empty()) {
                    RunReport report;
                    report.labels = options.labels;
                    const auto [width, height] = picture_size(files[i], model.input);
                    decode_into_report(model, outs, *options.decode, width, height, report, &sha256);
                    r.classifier = report.decode == "classify";
                    if (r.classifier) r.top = std::move(report.top);
                    else r.decoded = decoded_json(report);
                    if (options.keep_outputs || report.decode == "none") r.outputs = std::move(outs);
                } else {
                    r.classifier = classifier && !outs.empty();
                    if (r.classifier) r.top = top_k(outs.front().as_floats(), options.top);
                    if (options.keep_outputs || !r.classifier) r.outputs = std::move(outs);
                }
            } catch (const std::exception& e) {
                r.error = e.what();
                r.outputs.clear();
                r.decoded = nlohmann::ordered_json();
            }
            if (options.progress) {
                std::lock_guard<std::mutex> lock(progress_mutex);
                options.progress(++done, files.size());
            }
        }
    };
    unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    threads = static_cast<unsigned>(std::min<size_t>(threads, std::max<size_t>(files.size(), 1)));
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
    work();  // the calling thread is worker 0
    for (auto& t : pool) t.join();
    return records;
}

nlohmann::ordered_json record_json(const PictureRecord& r, const std::vector<std::string>& labels) {
    nlohmann::ordered_json j;
    j["file"] = r.file;
    if (!r.error.empty()) {
        j["error"] = r.error;
        return j;
    }
    if (r.classifier) {
        auto top = nlohmann::ordered_json::array();
        for (const RankedClass& c : r.top) {
            nlohmann::ordered_json e;
            e["class"] = c.class_id;
            if (c.class_id < labels.size()) e["label"] = labels[c.class_id];
            e["score"] = c.score;
            top.push_back(e);
        }
        j["top"] = top;
    }
    if (r.decoded.is_object())
        for (const auto& [key, value] : r.decoded.items()) j[key] = value;
    if (!r.outputs.empty()) {
        auto outs = nlohmann::ordered_json::array();
        for (const OutputTensor& o : r.outputs) {
            nlohmann::ordered_json e;
            e["shape"] = {o.shape.n, o.shape.c, o.shape.h, o.shape.w};
            e["values"] = o.as_floats();
            outs.push_back(e);
        }
        j["outputs"] = outs;
    }
    return j;
}

AccuracySummary accuracy(const std::vector<PictureRecord>& records, const std::vector<std::string>& labels) {
    // Folder name (lower case) -> class id.
    std::map<std::string, uint32_t> ids;
    for (uint32_t i = 0; i < labels.size(); ++i) {
        ids.emplace(lower(trim(labels[i])), i);
        ids.emplace(lower(trim(labels[i].substr(0, labels[i].find(',')))), i);
    }
    AccuracySummary s;
    for (const PictureRecord& r : records) {
        const std::string folder = fs::path(r.file).parent_path().filename().string();
        uint32_t truth = 0;
        bool known = false;
        if (const auto it = ids.find(lower(folder)); it != ids.end()) {
            truth = it->second;
            known = true;
        } else if (!folder.empty() && std::all_of(folder.begin(), folder.end(), ::isdigit) && folder.size() < 9) {
            truth = static_cast<uint32_t>(std::stoul(folder));
            known = true;
        }
        if (!r.error.empty() || !r.classifier || r.top.empty() || !known) {
            ++s.unmatched;
            continue;
        }
        ++s.pictures;
        if (r.top[0].class_id == truth) ++s.top1;
        for (size_t k = 0; k < r.top.size() && k < 5; ++k)
            if (r.top[k].class_id == truth) {
                ++s.top5;
                break;
            }
        ++s.confusion[folder][label_of(r.top[0].class_id, labels)];
    }
    return s;
}

void print_accuracy(const AccuracySummary& s, std::ostream& out) {
    if (s.pictures == 0) {
        out << "accuracy: no picture sits in a folder named after a class (CLASS_NAME/*.jpg)\n";
        return;
    }
    auto pct = [&](size_t n, size_t of) {
        std::ostringstream o;
        o << std::fixed << std::setprecision(1) << 100.0 * n / of << " %";
        return o.str();
    };
    out << "accuracy over " << s.pictures << " pictures";
    if (s.unmatched) out << " (" << s.unmatched << " others skipped)";
    out << ": top-1 " << pct(s.top1, s.pictures) << " (" << s.top1 << "), top-5 " << pct(s.top5, s.pictures)
        << " (" << s.top5 << ")\n";
    out << "confusion (true class: pictures, top-1 hits, most frequent wrong top-1):\n";
    for (const auto& [truth, predicted] : s.confusion) {
        size_t total = 0, hits = 0, worst = 0;
        std::string worst_label;
        for (const auto& [label, n] : predicted) {
            total += n;
            const bool same = lower(trim(label)) == lower(truth) ||
                              lower(trim(label.substr(0, label.find(',')))) == lower(truth);
            if (same) hits += n;
            else if (n > worst) {
                worst = n;
                worst_label = label;
            }
        }
        out << "  " << truth << ": " << total << ", " << hits;
        if (worst) out << ", " << worst_label << " (" << worst << ")";
        out << "\n";
    }
}

int dataset_command(const Model& model, const RunSettings& settings, const DatasetCommand& cmd,
                    std::ostream& out) {
    const std::vector<std::string> files = list_dataset_inputs(cmd.inputs);
    std::vector<std::string> labels;
    if (!cmd.labels.empty()) labels = load_labels(cmd.labels);
    std::ostream& info = cmd.records.empty() ? std::cerr : out;

    // Timing does not depend on the picture: simulate it once, on the test pattern (so that an
    // unreadable first picture is one failed record, not a failed run).
    RunSettings timing_settings = settings;
    timing_settings.compute_outputs = false;
    const RunResult timing = run_standalone(model, test_pattern(model.input), timing_settings);

    DatasetOptions opt;
    opt.threads = cmd.threads;
    opt.top = cmd.top;
    opt.keep_outputs = !cmd.dump_dir.empty();
    opt.kpu = settings.kpu;
    opt.decode = &cmd.decode;
    opt.labels = labels;
    const bool bar = isatty(fileno(stderr));
    if (bar)
        opt.progress = [](size_t done, size_t total) {
            constexpr size_t kWidth = 40;
            const size_t filled = total ? done * kWidth / total : kWidth;
            std::fprintf(stderr, "\r[%s%s] %zu/%zu", std::string(filled, '#').c_str(),
                         std::string(kWidth - filled, '.').c_str(), done, total);
            if (done == total) std::fprintf(stderr, "\n");
            std::fflush(stderr);
        };
    const auto start = std::chrono::steady_clock::now();
    const std::vector<PictureRecord> records = run_dataset(model, files, opt);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::ofstream file;
    if (!cmd.records.empty()) {
        file.open(cmd.records);
        if (!file) throw InputError("cannot write records file '" + cmd.records + "'");
    }
    std::ostream& rec = cmd.records.empty() ? std::cout : file;
    size_t failed = 0;
    for (size_t i = 0; i < records.size(); ++i) {
        const PictureRecord& r = records[i];
        failed += !r.error.empty();
        nlohmann::ordered_json j = record_json(r, labels);
        if (!cmd.dump_dir.empty() && r.error.empty()) {
            // One subfolder per picture: its index and file name keep it unique and ordered.
            char index[32];
            std::snprintf(index, sizeof index, "%06zu_", i);
            const std::string dir =
                (fs::path(cmd.dump_dir) / (index + fs::path(r.file).stem().string())).string();
            fs::create_directories(dir);
            dump_outputs(r.outputs, dir);
            j.erase("outputs");
            j["outputs_dir"] = dir;
        }
        rec << j.dump() << "\n";
    }
    if (!rec) throw InputError("cannot write the records");
    // The decoders' warnings (built-in anchors, a failed guess) once each, not once per picture.
    std::vector<std::string> warnings;
    for (const PictureRecord& r : records)
        if (r.decoded.is_object() && r.decoded.contains("warnings"))
            for (const auto& w : r.decoded["warnings"])
                if (std::find(warnings.begin(), warnings.end(), w.get<std::string>()) == warnings.end())
                    warnings.push_back(w.get<std::string>());
    for (const std::string& w : warnings) std::cerr << "kpusim: warning: " << w << "\n";

    const unsigned threads = cmd.threads ? cmd.threads : std::max(1u, std::thread::hardware_concurrency());
    info << records.size() << " pictures in " << std::fixed << std::setprecision(2) << seconds << " s ("
         << std::setprecision(1) << records.size() / std::max(seconds, 1e-9) << " pictures/s, "
         << std::min<size_t>(threads, records.size()) << " threads)";
    if (failed) info << ", " << failed << " failed";
    info << "\n";
    info << "timing (same for every picture, " << to_string(settings.mode) << "): forward "
         << std::setprecision(3) << timing.timing.forward_ps / 1e9 << " ms";
    if (timing.timing.load_ps) info << ", load " << timing.timing.load_ps / 1e9 << " ms";
    info << "\n";
    if (!labels.empty()) print_accuracy(accuracy(records, labels), info);
    return failed ? 1 : 0;
}

}  // namespace kpusim
