#include "sim/trace.h"

#include "sim/atomic_file.h"

#include <fstream>
#include <map>

#include "models/kmodel_error.h"

namespace kpusim {

namespace {

constexpr int kPid = 1;
constexpr int kKpuTrack = 1, kCpuTrack = 2, kDmaTrack = 3;

double us(uint64_t ps) { return static_cast<double>(ps) / 1e6; }

nlohmann::ordered_json slice(const std::string& name, int tid, uint64_t start_ps, uint64_t end_ps,
                             nlohmann::ordered_json args) {
    return {{"name", name}, {"cat", tid == kDmaTrack ? "memory" : "compute"}, {"ph", "X"},
            {"pid", kPid}, {"tid", tid}, {"ts", us(start_ps)}, {"dur", us(end_ps - start_ps)},
            {"args", std::move(args)}};
}

nlohmann::ordered_json track_name(int tid, const char* name) {
    return {{"name", "thread_name"}, {"ph", "M"}, {"pid", kPid}, {"tid", tid}, {"args", {{"name", name}}}};
}

}  // namespace

nlohmann::ordered_json chrome_trace(const Model& model, const RunSettings& settings, const RunResult& result) {
    const TimingResult& t = result.timing;
    nlohmann::ordered_json events = nlohmann::ordered_json::array();
    events.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", kPid},
                      {"args", {{"name", std::string("K210 ") + to_string(settings.mode)}}}});
    events.push_back(track_name(kKpuTrack, "KPU"));
    events.push_back(track_name(kCpuTrack, "CPU"));
    events.push_back(track_name(kDmaTrack, std::string("DMA from ") .append(to_string(settings.source)).c_str()));

    if (t.input_upload_ps > 0)
        events.push_back(slice("input upload", kCpuTrack, 0, t.input_upload_ps,
                               {{"bytes", model.input.bytes()}}));
    for (const LayerTiming& l : t.layers) {
        if (l.wait_ps > 0)
            events.push_back(slice("runner: wait for layer " + std::to_string(l.index), kCpuTrack,
                                   l.start_ps - l.wait_ps, l.start_ps, {{"layer", l.index}, {"bytes_read", l.bytes_read}}));
        const bool kpu = l.kpu_cycles > 0;
        events.push_back(slice(l.type, kpu ? kKpuTrack : kCpuTrack, l.start_ps, l.end_ps,
                               {{"layer", l.index},
                                {"type", l.type},
                                {"shape", to_string(l.out_shape)},
                                {"body_bytes", l.body_bytes},
                                {"kpu_cycles", l.kpu_cycles},
                                {"cpu_cycles", l.cpu_cycles},
                                {"macs", l.macs}}));
    }
    // Reads, and the bytes each buffer holds (a new batch empties its buffer when its read starts).
    std::map<int, int> batch_in;
    std::map<int, uint64_t> held;
    auto counter = [&](uint64_t ps) {
        nlohmann::ordered_json args;
        for (const auto& [b, bytes] : held) args["buffer " + std::to_string(b)] = bytes;
        events.push_back({{"name", "buffer occupancy (bytes)"}, {"ph", "C"}, {"pid", kPid},
                          {"ts", us(ps)}, {"args", args}});
    };
    for (const ReadRecord& r : t.reads) {
        events.push_back(slice("read " + std::string(settings.mode == RunMode::flash_dual ? "batch " : "layer ") +
                                   std::to_string(r.batch),
                               kDmaTrack, r.start_ps, r.end_ps,
                               {{"bytes", r.bytes}, {"source_address", r.source_address},
                                {"buffer", r.buffer}, {"batch", r.batch}}));
        if (r.buffer < 0) continue;
        if (batch_in.count(r.buffer) == 0 || batch_in[r.buffer] != r.batch) {
            batch_in[r.buffer] = r.batch;
            held[r.buffer] = 0;
            counter(r.start_ps);
        }
        held[r.buffer] += r.bytes;
        counter(r.end_ps);
    }
    nlohmann::ordered_json trace;
    trace["traceEvents"] = events;
    trace["displayTimeUnit"] = "ns";
    return trace;
}

void write_chrome_trace(const Model& model, const RunSettings& settings, const RunResult& result,
                        const std::string& path) {
    write_file_atomically(path, chrome_trace(model, settings, result).dump() + "\n", "trace file");
}

}  // namespace kpusim
