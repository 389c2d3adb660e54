// The Chrome trace-event timeline of a run.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "memory/ram_budget.h"
#include "models/kmodel_loader.h"
#include "sim/model_input.h"
#include "sim/simulate.h"
#include "sim/trace.h"
#include "tests/test_support.h"

using namespace kpusim;
using kpusim::test::shared_path;

TEST(Trace, FlashDualTraceShowsReadsOverlappingComputeOnSeparateTracks) {
    const std::string path = "/tmp/kpusim_trace_test.json";
    const std::string cmd = kpusim::test::kpusim_binary() + " run " +
                            shared_path("models/mobilenetv1_0.75_imagenet_v3/mbnet75.kmodel") +
                            " --mode flash-dual --cpu-freq 481M --kpu-freq 398M --trace " + path +
                            " > /dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    const auto trace = nlohmann::json::parse(ss.str());  // throws if it is not JSON
    const auto& events = trace.at("traceEvents");
    std::map<int, std::string> tracks;
    std::vector<std::pair<double, double>> kpu, reads;
    int counters = 0;
    for (const auto& e : events) {
        const std::string ph = e.at("ph");
        if (ph == "M" && e.at("name") == "thread_name") tracks[e.at("tid")] = e.at("args").at("name");
        if (ph == "C") ++counters;
        if (ph != "X") continue;
        const double ts = e.at("ts"), dur = e.at("dur");
        EXPECT_GE(dur, 0.0);
        if (e.at("cat") == "memory") {
            reads.emplace_back(ts, ts + dur);
            EXPECT_GT(e.at("args").at("bytes").get<uint64_t>(), 0u);
        } else if (e.at("args").contains("kpu_cycles") && e.at("args").at("kpu_cycles").get<uint64_t>() > 0) {
            kpu.emplace_back(ts, ts + dur);
        }
    }
    EXPECT_EQ(tracks.size(), 3u);
    EXPECT_EQ(kpu.size(), 28u);   // MobileNet's KPU layers
    EXPECT_GT(reads.size(), 10u);
    EXPECT_GT(counters, 0);
    // Some read runs while a KPU layer computes: the overlap of the dual buffer.
    int overlapping = 0;
    for (const auto& r : reads)
        for (const auto& k : kpu)
            if (r.first < k.second && k.first < r.second) {
                ++overlapping;
                break;
            }
    EXPECT_GT(overlapping, 5);
}

TEST(Trace, FlashSingleReadsNeverOverlapCompute) {
    const Model m = load_kmodel(shared_path("models/face_detect_maixpy_v3/facedetect.kmodel"));
    RunSettings s;
    s.ram_budget_bytes = memory::preset_bytes(memory::RamPreset::bare_metal);
    s.mode = RunMode::flash_single;
    s.compute_outputs = false;
    const RunResult r = run_standalone(m, test_pattern(m.input), s);
    ASSERT_EQ(r.timing.reads.size(), m.layers.size());
    for (const ReadRecord& read : r.timing.reads)
        for (const LayerTiming& l : r.timing.layers)
            EXPECT_FALSE(read.start_ps < l.end_ps && l.start_ps < read.end_ps)
                << "read of layer " << read.batch << " overlaps layer " << l.index;
    const auto trace = chrome_trace(m, s, r);
    EXPECT_GT(trace.at("traceEvents").size(), 2 * m.layers.size());
}
