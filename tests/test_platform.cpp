// The K210 as SystemC modules: the KPU driven by register writes alone, contention at the
// memories, equal figures at 1 ps and 1 ns, the platform inside a design with a running clock,
// the standalone API run twice, the parameter set.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <sys/wait.h>

#include <nlohmann/json.hpp>
#include <systemc>
#include <tlm_utils/simple_initiator_socket.h>

#include "kpusim/k210.h"
#include "kpusim/kpusim.h"
#include "memory/general_sram.h"
#include "memory/kpu_ram.h"
#include "memory/shared_port.h"
#include "memory/timed_access.h"
#include "sim/calibration.h"
#include "sim/simulate.h"
#include "tests/test_support.h"

using kpusim::test::shared_path;

namespace {

using namespace kpusim;

const char* kFaceModel = "models/face_detect_maixpy_v3/facedetect.kmodel";

// General SRAM, KPU RAM and the KPU, a firmware thread with a register port, and a DMA-like
// initiator that can load the SRAM while the KPU runs.
struct KpuBench : sc_core::sc_module {
    memory::GeneralSram sram{"sram"};
    memory::KpuRam kpu_ram{"kpu_ram"};
    memory::SharedPort sram_port{"sram_port", 2};
    kpu::Kpu kpu{"kpu"};
    sc_core::sc_signal<bool> irq{"irq"};
    tlm_utils::simple_initiator_socket<KpuBench> config{"config"};
    tlm_utils::simple_initiator_socket<KpuBench> dma{"dma"};

    explicit KpuBench(sc_core::sc_module_name name) : sc_core::sc_module(name) {
        sram_port.output.bind(sram.socket);
        kpu.sram_port.bind(sram_port.input(0));
        dma.bind(sram_port.input(1));
        kpu.kpu_ram_port.bind(kpu_ram.socket);
        config.bind(kpu.config_socket);
        kpu.irq.bind(irq);
    }

    tlm::tlm_response_status reg(tlm::tlm_command cmd, uint64_t offset, uint64_t& value) {
        tlm::tlm_generic_payload t;
        t.set_command(cmd);
        t.set_address(offset);
        t.set_data_ptr(reinterpret_cast<unsigned char*>(&value));
        t.set_data_length(8);
        t.set_streaming_width(8);
        sc_core::sc_time d = sc_core::SC_ZERO_TIME;
        config->b_transport(t, d);
        return t.get_response_status();
    }
    void write(uint64_t offset, uint64_t value) { ASSERT_EQ(reg(tlm::TLM_WRITE_COMMAND, offset, value), tlm::TLM_OK_RESPONSE); }
    uint64_t read(uint64_t offset) {
        uint64_t v = 0;
        EXPECT_EQ(reg(tlm::TLM_READ_COMMAND, offset, v), tlm::TLM_OK_RESPONSE);
        return v;
    }
    // Another initiator writes `bytes` into SRAM now (as the flash DMA does).
    void dma_write(uint64_t bytes) {
        const memory::TimedResult r = memory::timed_transport(*dma.operator->(), tlm::TLM_WRITE_COMMAND,
                                                              memory::kGeneralSramSize - bytes, bytes,
                                                              to_ps(sc_core::sc_time_stamp()));
        ASSERT_TRUE(r.ok);
    }
};

// The first KPU layer of the face detector, placed as the firmware would: the model file at
// SRAM offset 0 (blob at file offset X -> uncached address 0x4000_0000 + X), the input in
// KPU RAM.
struct FirstLayer {
    Model model = load_model(shared_path(kFaceModel));
    const Layer* layer = nullptr;
    const KpuConvOp* conv = nullptr;
    FirstLayer() {
        for (const Layer& l : model.layers)
            if ((conv = std::get_if<KpuConvOp>(&l.op))) {
                layer = &l;
                break;
            }
    }
    std::array<uint64_t, 12> words() const {
        auto at = [](uint32_t offset) { return static_cast<uint32_t>(memory::kGeneralSramUncachedBase + offset); };
        return kpu::patch_layer_argument(conv->arg.words, at(conv->weights.offset), at(conv->batchnorm.offset),
                                         at(conv->activation.offset), false);
    }
    void place(KpuBench& b) const {
        std::memcpy(b.sram.data(), model.file->data(), model.file_size());
        std::memset(b.kpu_ram.data(), 0, b.kpu_ram.size());
        std::vector<uint8_t> main(model.main_mem_usage + kMainMemorySlack);
        write_input(model, test_pattern(model.input), {nullptr, main.data(), b.kpu_ram.data(), 0});
    }
};

TEST(KpuModule, RegisterWritesAloneRunALayerAndRaiseTheInterrupt) {
    KpuBench bench("bench");
    const FirstLayer first;
    ASSERT_NE(first.conv, nullptr);
    kpu::KpuSetup setup;
    setup.timing = kCalibration.kpu;
    bench.kpu.configure(setup);
    first.place(bench);
    // The reference: the functional core on a copy of KPU RAM.
    std::vector<uint8_t> expected(bench.kpu_ram.data(), bench.kpu_ram.data() + bench.kpu_ram.size());
    kpu::KpuLayerInputs in;
    in.arg = &first.conv->arg;
    in.weights = first.model.file->data() + first.conv->weights.offset;
    in.batchnorm = first.model.file->data() + first.conv->batchnorm.offset;
    in.activation = first.model.file->data() + first.conv->activation.offset;
    kpu::run_layer(in, expected.data(), nullptr, {}, 0);

    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    bench.write(kpu::reg::interrupt_clear, 7);
    bench.write(kpu::reg::interrupt_mask, 6);  // only calc_done
    bench.write(kpu::reg::eight_bit_mode, 1);
    for (uint64_t w : first.words()) bench.write(kpu::reg::layer_argument_fifo, w);
    EXPECT_EQ(bench.read(kpu::reg::interrupt_raw), 0u);
    sc_core::sc_start(1, sc_core::SC_SEC);  // the simulation ends when nothing is left to do

    EXPECT_TRUE(bench.irq.read());
    EXPECT_EQ(bench.read(kpu::reg::interrupt_status), kpu::kCalcDoneInterrupt);
    ASSERT_EQ(bench.kpu.records().size(), 1u);
    EXPECT_TRUE(bench.kpu.fault().empty()) << bench.kpu.fault();
    const kpu::KpuLayerRecord& r = bench.kpu.records()[0];
    const kpu::KpuLayerCycles c = kpu::kpu_layer_cycles(first.conv->arg, true, false, kCalibration.kpu);
    EXPECT_EQ(r.cycles.total, c.total);
    EXPECT_EQ(r.end_ps - r.start_ps, cycles_to_ps(c.overhead, 400'000'000) + cycles_to_ps(c.weight_fetch, 400'000'000) +
                                         cycles_to_ps(c.compute, 400'000'000) + cycles_to_ps(c.write_back, 400'000'000));
    ASSERT_EQ(r.stages.size(), 4u);  // no data-out stage for this layer
    EXPECT_STREQ(r.stages[2].name, "conv");
    EXPECT_EQ(r.memory_wait_ps, 0u);
    EXPECT_EQ(std::memcmp(bench.kpu_ram.data(), expected.data(), expected.size()), 0);
    EXPECT_GT(bench.sram.bytes_read(), first.conv->arg.weight_bytes(true));  // the fetch reached SRAM

    bench.write(kpu::reg::interrupt_clear, 7);
    sc_core::sc_start(1, sc_core::SC_NS);
    EXPECT_FALSE(bench.irq.read());
    EXPECT_EQ(bench.read(kpu::reg::interrupt_status), 0u);
    uint64_t dummy = 0;
    EXPECT_EQ(bench.reg(tlm::TLM_READ_COMMAND, kpu::reg::layer_argument_fifo, dummy), tlm::TLM_COMMAND_ERROR_RESPONSE);
}

TEST(KpuModule, ABadBlobAddressIsAFaultNotACrash) {
    KpuBench bench("bench");
    const FirstLayer first;
    first.place(bench);
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    auto words = first.conv->arg.words;  // addresses left at 0: outside general SRAM
    for (uint64_t w : words) bench.write(kpu::reg::layer_argument_fifo, w);
    sc_core::sc_start(1, sc_core::SC_SEC);
    EXPECT_NE(bench.kpu.fault().find("not inside general SRAM"), std::string::npos) << bench.kpu.fault();
    EXPECT_EQ(bench.read(kpu::reg::interrupt_raw) & 1, 1u);  // the firmware does not hang
}

TEST(Contention, DmaTrafficToSramSlowsALayer) {
    KpuBench bench("bench");
    const FirstLayer first;
    kpu::KpuSetup setup;
    setup.timing = kCalibration.kpu;
    setup.compute = false;
    bench.kpu.configure(setup);
    first.place(bench);
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    // Alone.
    for (uint64_t w : first.words()) bench.write(kpu::reg::layer_argument_fifo, w);
    sc_core::sc_start(1, sc_core::SC_SEC);
    bench.write(kpu::reg::interrupt_clear, 7);
    // With a 1 MiB DMA write into SRAM issued just before.
    bench.dma_write(1 << 20);
    for (uint64_t w : first.words()) bench.write(kpu::reg::layer_argument_fifo, w);
    sc_core::sc_start(1, sc_core::SC_SEC);
    ASSERT_EQ(bench.kpu.records().size(), 2u);
    const kpu::KpuLayerRecord &alone = bench.kpu.records()[0], &busy = bench.kpu.records()[1];
    const uint64_t t_alone = alone.end_ps - alone.start_ps, t_busy = busy.end_ps - busy.start_ps;
    EXPECT_EQ(alone.memory_wait_ps, 0u);
    EXPECT_GT(busy.memory_wait_ps, 0u);
    EXPECT_EQ(t_busy, t_alone + busy.memory_wait_ps);
    // The weight fetch queued behind what was left of the DMA's 1 MiB (131,072 + 2 cycles at
    // 400 MHz = 327.685 us) after the KPU's overhead stage.
    const uint64_t dma_ps = cycles_to_ps(131'074, 400'000'000);
    EXPECT_EQ(busy.memory_wait_ps, dma_ps - (busy.stages[1].start_ps - busy.submit_ps));
    EXPECT_STREQ(busy.stages[1].name, "weight_fetch");
    EXPECT_GT(busy.stages[1].wait_ps, 0u);
}

// A design of the user's own: a running clock, K210 run twice from an SC_THREAD.
struct UserTop : sc_core::sc_module {
    sc_core::sc_clock clk{"clk", 10, sc_core::SC_NS};
    K210 k210{"k210"};
    const Model& model;
    std::vector<RunResult> results;
    std::vector<sc_core::sc_time> advanced;
    UserTop(sc_core::sc_module_name n, const Model& m) : sc_core::sc_module(n), model(m) {
        SC_HAS_PROCESS(UserTop);
        SC_THREAD(host);
    }
    void host() {
        RunSettings s;
        s.mode = RunMode::flash_dual;
        for (int i = 0; i < 2; ++i) {
            const sc_core::sc_time t0 = sc_core::sc_time_stamp();
            results.push_back(k210.run(model, test_pattern(model.input), s));
            advanced.push_back(sc_core::sc_time_stamp() - t0);
            sc_core::wait(123, sc_core::SC_NS);  // off the previous run's grid
        }
        sc_core::sc_stop();
    }
};

TEST(Embedding, ADesignWithARunningClockCompletesTwoRuns) {
    const Model m = load_model(shared_path(kFaceModel));
    UserTop top("top", m);
    sc_core::sc_start(10, sc_core::SC_SEC);
    ASSERT_EQ(top.results.size(), 2u);
    EXPECT_EQ(top.results[0].outputs.at(0).bytes, top.results[1].outputs.at(0).bytes);
    EXPECT_EQ(top.results[0].timing.forward_ps, top.results[1].timing.forward_ps);
    EXPECT_EQ(top.results[0].timing.load_ps, top.results[1].timing.load_ps);
    // The run consumed the simulated time it reports (rounded up to the resolution).
    const uint64_t total = top.results[0].timing.load_ps + top.results[0].timing.forward_ps;
    EXPECT_GE(to_ps(top.advanced[0]), total);
    EXPECT_LT(to_ps(top.advanced[0]), total + 1000);
    EXPECT_LT(sc_core::sc_time_stamp(), sc_core::sc_time(10, sc_core::SC_SEC));  // stopped by the host
}

TEST(StandaloneApi, SimulateTwiceGivesIdenticalReports) {
    const Model m = load_model(shared_path(kFaceModel));
    RunSettings s;
    s.mode = RunMode::flash_single;
    s.cpu_hz = 403'000'000;
    s.kpu_hz = 400'000'000;
    s.spi_speed_hz = 60'000'000;
    const RunResult a = simulate(m, test_pattern(m.input), s);
    const RunResult b = simulate(m, test_pattern(m.input), s);
    EXPECT_EQ(a.outputs.at(0).bytes, b.outputs.at(0).bytes);
    EXPECT_EQ(a.timing.forward_ps, b.timing.forward_ps);
    EXPECT_EQ(a.timing.load_ps, b.timing.load_ps);
    ASSERT_EQ(a.timing.layers.size(), b.timing.layers.size());
    for (size_t i = 0; i < a.timing.layers.size(); ++i) EXPECT_EQ(a.timing.layers[i].end_ps, b.timing.layers[i].end_ps);
    EXPECT_DOUBLE_EQ(a.forward_ms, static_cast<double>(a.timing.forward_ps) / 1e9);
    EXPECT_GT(a.timing.busy.source_ps, 0u);
    EXPECT_GT(a.timing.busy.general_sram_ps, 0u);
    EXPECT_GT(a.timing.busy.kpu_ram_ps, 0u);
}

TEST(Parameters, SetLoadAndEchoOneParameterSet) {
    Parameters p = Parameters::defaults();
    EXPECT_EQ(p.runner.command_cycles, kCalibration.runner.command_cycles);
    p.set_assignment("runner.command_cycles=1500");
    EXPECT_EQ(p.runner.command_cycles, 1500u);
    p.apply(nlohmann::json::parse(R"({"kpu": {"layer_overhead": 12000.5}, "sram.clock_hz": 200000000})"));
    EXPECT_DOUBLE_EQ(p.kpu.layer_overhead, 12000.5);
    EXPECT_EQ(p.sram.clock_hz, 200'000'000u);
    Parameters q = Parameters::defaults();
    q.apply(nlohmann::json::parse(p.to_json().dump()));
    EXPECT_TRUE(q == p);
    EXPECT_THROW(p.set("runner.no_such_key", "1"), InputError);
    EXPECT_THROW(p.set("runner.command_cycles", "1.5"), InputError);
    EXPECT_THROW(p.set("sram.clock_hz", "0"), InputError);
    EXPECT_THROW(p.set("kpu.layer_overhead", "abc"), InputError);
    EXPECT_THROW(p.set_assignment("runner.command_cycles"), InputError);
}

TEST(Parameters, ACommandCostChangesFlashTimingAndNothingElse) {
    const Model m = load_model(shared_path(kFaceModel));
    RunSettings s;
    s.mode = RunMode::flash_single;
    s.compute_outputs = false;
    const RunResult base = simulate(m, test_pattern(m.input), s);
    s.parameters.set("runner.command_cycles", "4000");  // +2000 cycles per command
    const RunResult slower = simulate(m, test_pattern(m.input), s);
    uint64_t commands = 0;
    for (const ReadRecord& r : base.timing.reads) commands += r.bytes > 0;
    EXPECT_EQ(slower.timing.forward_ps - base.timing.forward_ps, commands * cycles_to_ps(2000, 400'000'000));
}

using Cli = kpusim::test::CliResult;
Cli cli(const std::string& args) { return kpusim::test::kpusim_cli(args); }
nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(kpusim::test::read_text(path)); }

TEST(TimeResolution, OnePicosecondAndOneNanosecondGiveTheSameReport) {
    const std::string model = shared_path(kFaceModel);
    const std::string dir = ::testing::TempDir();
    for (const char* res : {"1ps", "1ns"}) {
        const Cli r = cli("--time-resolution " + std::string(res) + " run " + model +
                          " --mode all --cpu-freq 403M --kpu-freq 400M --spi-speed 60M --json " + dir + "/res_" + res + ".json");
        ASSERT_EQ(r.status, 0) << r.out;
    }
    const nlohmann::json ps = read_json(dir + "/res_1ps.json"), ns = read_json(dir + "/res_1ns.json");
    EXPECT_TRUE(ps == ns) << "the reports differ";
    // Flash-single at these settings takes about 24.75 ms (it took 13.2 ms at 1 ns before the
    // single clock conversion).
    EXPECT_NEAR(ns["modes"][1]["forward_ms"].get<double>(), 24.75, 0.1);
}

TEST(Cli, VersionSetAndParametersInTheReport) {
    const Cli v = cli("--version");
    EXPECT_EQ(v.status, 0);
    EXPECT_NE(v.out.find(std::string("kpusim ") + version()), std::string::npos) << v.out;
    const std::string json = ::testing::TempDir() + "/set.json";
    const Cli r = cli("run " + shared_path("models/iris_v3/iris.kmodel") + " --set runner.command_cycles=1500 --json " + json);
    ASSERT_EQ(r.status, 0) << r.out;
    const nlohmann::json j = read_json(json);
    EXPECT_EQ(j["config"]["parameters"]["runner"]["command_cycles"], 1500);
    EXPECT_EQ(j["kpusim_version"], version());
    EXPECT_EQ(j["model"]["sha256"].get<std::string>().size(), 64u);
    const Cli bad = cli("run " + shared_path("models/iris_v3/iris.kmodel") + " --set runner.nope=1");
    EXPECT_EQ(bad.status, 2);
    EXPECT_NE(bad.out.find("unknown parameter 'runner.nope'"), std::string::npos) << bad.out;
}

}  // namespace
