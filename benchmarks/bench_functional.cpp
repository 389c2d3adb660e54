// Wall time of the functional core: one forward of each real V3 and V4 model of ../shared/models,
// and the KPU convolution kernel's MAC/s; beside ours, the chip's published forward time
// (chip_ms, ../shared/docs/timing.md: C1 MobileNet 40 ms at KPU 398 MHz; C2 the Sipeed YOLOv2
// face detector, KPU 12.328 + CPU 0.404 = 12.732 ms; the kendryte/nncase example
// examples/fast_facedetect/Readme.md at v0.2.0-beta4: slim-320 65.6 ms, RFB-320 164.8 ms on a
// KD233, clocks not stated). forward_reference runs the scalar
// reference kernels (KpuOptions::reference_kernels). dataset/T: pictures per second of a
// dataset run (sim/dataset_run.h) of 64 copies of coffee.png through MobileNet on T threads.
// forward_threads/threads:T: MobileNet forwards per second on T threads (no picture decoding).
//
//   ./build/kpusim_bench                       all benchmarks
//   ./build/kpusim_bench --benchmark_filter=MobileNet
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <systemc>

#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "kpu_core/kpu_layer.h"
#include "kpu_core/kpu_ram_layout.h"
#include "models/kmodel_loader.h"
#include "sim/dataset_run.h"
#include "sim/functional_executor.h"
#include "sim/model_input.h"

using namespace kpusim;

namespace {

void forward_with(benchmark::State& state, const std::string& relative, double chip_ms, bool reference) {
    const Model m = load_kmodel(std::string(KPUSIM_SHARED_DIR) + "/" + relative);
    const auto input = test_pattern(m.input);
    uint64_t macs = 0;
    for (const auto& l : m.layers)
        if (const auto* c = std::get_if<KpuConvOp>(&l.op)) macs += c->arg.macs() * c->batches;
    kpu::KpuOptions options;
    options.reference_kernels = reference;
    for (auto _ : state) benchmark::DoNotOptimize(run_functional(m, input, options));
    state.counters["KPU_MAC/s"] =
        benchmark::Counter(static_cast<double>(macs), benchmark::Counter::kIsIterationInvariantRate);
    if (chip_ms > 0) state.counters["chip_ms"] = chip_ms;
}

void forward(benchmark::State& state, const std::string& relative, double chip_ms) {
    forward_with(state, relative, chip_ms, false);
}

void forward_reference(benchmark::State& state, const std::string& relative, double chip_ms) {
    forward_with(state, relative, chip_ms, true);
}

// Pictures per second of a dataset run on state.range(0) threads (wall time).
void dataset(benchmark::State& state) {
    const std::string shared = KPUSIM_SHARED_DIR;
    const Model m = load_kmodel(shared + "/models/mobilenetv1_0.75_imagenet_v3/mbnet75.kmodel");
    const std::vector<std::string> files(64, shared + "/images/coffee.png");
    DatasetOptions opt;
    opt.threads = static_cast<unsigned>(state.range(0));
    for (auto _ : state) benchmark::DoNotOptimize(run_dataset(m, files, opt));
    state.counters["pictures/s"] = benchmark::Counter(static_cast<double>(files.size()),
                                                      benchmark::Counter::kIsIterationInvariantRate);
}

// MobileNet forwards (test pattern, no picture decoding) on state.threads() threads at once,
// each thread with its own memories as a dataset worker: forwards per second in total
// (items_per_second) shows how the functional path scales with cores.
void forward_threads(benchmark::State& state) {
    static const Model m =
        load_kmodel(std::string(KPUSIM_SHARED_DIR) + "/models/mobilenetv1_0.75_imagenet_v3/mbnet75.kmodel");
    static const std::vector<uint8_t> input = test_pattern(m.input);
    FunctionalMemories memories;
    for (auto _ : state) benchmark::DoNotOptimize(run_functional(m, input, {}, memories));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// One synthetic KPU layer: C -> C channels on a W x H map, 1x1 or 3x3, random weights.
void conv_kernel(benchmark::State& state) {
    const uint32_t k = static_cast<uint32_t>(state.range(0));
    const uint32_t c = static_cast<uint32_t>(state.range(1));
    const uint32_t w = static_cast<uint32_t>(state.range(2));
    const uint32_t h = w;
    std::mt19937 rng(7);
    std::vector<uint8_t> arg_bytes(96, 0);
    auto set = [&](int word, unsigned lo, uint64_t v) {
        uint64_t x;
        std::memcpy(&x, arg_bytes.data() + 8 * word, 8);
        x |= v << lo;
        std::memcpy(arg_bytes.data() + 8 * word, &x, 8);
    };
    set(1, 32, kpu::feature_map_rows(w, h, c));  // output after the input
    set(2, 0, c - 1);
    set(2, 32, c - 1);
    set(2, 48, c - 1);
    set(3, 0, w - 1);
    set(3, 10, h - 1);
    set(3, 32, w - 1);
    set(3, 42, h - 1);
    set(4, 0, k == 3 ? 1 : 0);
    set(9, 32, 0xFFFF80);  // arg_x = -128
    const kpu::LayerArgument arg = kpu::LayerArgument::decode(arg_bytes.data());
    std::vector<uint8_t> weights(arg.weight_bytes(true));
    for (auto& b : weights) b = static_cast<uint8_t>(rng());
    std::vector<uint8_t> bn(8 * c, 0);
    for (uint32_t o = 0; o < c; ++o) bn[8 * o] = 1;  // mul 1, add 0, shift 0
    std::vector<uint8_t> act(144, 0);
    // Segment 0 starts at -2^35 with slope 1 and shift 8.
    const uint64_t seg0 = uint64_t{8} | (uint64_t{1} << 8) | (uint64_t{0x800000000} << 24);
    std::memcpy(act.data(), &seg0, 8);
    for (int i = 1; i < 16; ++i) {
        const uint64_t s = uint64_t{0x7FFFFFFF0} << 24;
        std::memcpy(act.data() + 8 * i, &s, 8);
    }
    std::vector<uint8_t> ram(kpu::kKpuRamBytes);
    for (auto& b : ram) b = static_cast<uint8_t>(rng());
    kpu::KpuLayerInputs in{&arg, weights.data(), true, bn.data(), act.data()};
    for (auto _ : state) kpu::run_layer(in, ram.data(), nullptr, {}, 0);
    state.counters["MAC/s"] =
        benchmark::Counter(static_cast<double>(arg.macs()), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK_CAPTURE(forward, MobileNetV1_0_75, "models/mobilenetv1_0.75_imagenet_v3/mbnet75.kmodel", 40.0)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(forward, FaceDetectMaixPy, "models/face_detect_maixpy_v3/facedetect.kmodel", 12.732)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(forward, FaceDetectKendryte, "models/face_detect_kendryte_v3/detect.kmodel", 12.732)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(forward, FaceDetectCanMV, "models/face_detect_canmv_v3/yolo_face_detect.kmodel", 0.0)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(forward, Yolo20Nncase, "models/yolo20_voc_nncase_v3/yolo.kmodel", 0.0)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(forward, Yolo20MaixPy, "models/yolo20_voc_maixpy_v3/yolo.kmodel", 0.0)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(forward, MnistMaixPy, "models/mnist_maixpy_v3/mnist.kmodel", 0.0)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(forward, Iris, "models/iris_v3/iris.kmodel", 0.0)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(forward, V4Iris, "models/iris_v4/iris.kmodel", 0.0)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(forward, V4FaceDetectCanMV, "models/face_detect_canmv_v4/face_detect_320x240.kmodel", 0.0)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(forward, V4Yolo20Nncase, "models/yolo20_voc_nncase_v4/yolo.kmodel", 0.0)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(forward, V4MnistCanMV, "models/mnist_canmv_v4/uint8_mnist_cnn_model.kmodel", 0.0)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(forward, V4MobileNet025Feature, "models/mobilenet0.25_feature_canmv_v4/mb-0.25.kmodel", 0.0)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(forward, V4UlffdSlim320, "models/ulffd_slim320_v4/slim-320.kmodel", 65.6)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(forward, V4UlffdRfb320, "models/ulffd_rfb320_v4/RFB-320.kmodel", 164.8)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(forward, V4UlffdLandmark, "models/ulffd_landmark_v4/ulffd_landmark.kmodel", 0.0)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(forward, V4MaixAsr, "models/maix_asr_v4/maix_asr_2900k_0x500000.kmodel", 0.0)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(forward_reference, MobileNetV1_0_75, "models/mobilenetv1_0.75_imagenet_v3/mbnet75.kmodel", 40.0)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(forward_reference, FaceDetectMaixPy, "models/face_detect_maixpy_v3/facedetect.kmodel", 12.732)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(dataset)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(forward_threads)->Threads(1)->Threads(2)->UseRealTime()->Unit(benchmark::kMillisecond);
// {kernel, channels, width}
BENCHMARK(conv_kernel)->Args({1, 128, 56})->Args({3, 64, 56})->Unit(benchmark::kMillisecond);

int sc_main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
