// The SystemC platform's own cost: a whole simulated MobileNet run (functional forward plus
// the timing of the three modes) and a 56-point sweep of timing-only runs (8 batch sizes x 7
// SPI speeds, as `kpusim sweep` does), on the standalone K210.
#include <benchmark/benchmark.h>

#include <string>

#include "kpusim/kpusim.h"

namespace {

const std::string kMobileNet = std::string(KPUSIM_SHARED_DIR) + "/models/mobilenetv1_0.75_imagenet_v3/mbnet75.kmodel";

void mobilenet_run_all_modes(benchmark::State& state) {
    const kpusim::Model model = kpusim::load_model(kMobileNet);
    const std::vector<uint8_t> input = kpusim::test_pattern(model.input);
    for (auto _ : state) {
        kpusim::RunSettings s;
        s.cpu_hz = 481'000'000;
        s.kpu_hz = 398'000'000;
        for (kpusim::RunMode mode : {kpusim::RunMode::ram, kpusim::RunMode::flash_single, kpusim::RunMode::flash_dual}) {
            s.mode = mode;
            benchmark::DoNotOptimize(kpusim::simulate(model, input, s));
            s.compute_outputs = false;  // as `kpusim run --mode all`: outputs once
        }
    }
}
BENCHMARK(mobilenet_run_all_modes)->Unit(benchmark::kMillisecond);

void sweep_56_points(benchmark::State& state) {
    const kpusim::Model model = kpusim::load_model(kMobileNet);
    const std::vector<uint8_t> input = kpusim::test_pattern(model.input);
    for (auto _ : state) {
        for (uint64_t batch = 0x4000; batch <= 0x20000; batch += 0x4000)
            for (uint64_t spi = 20'000'000; spi <= 80'000'000; spi += 10'000'000) {
                kpusim::RunSettings s;
                s.mode = kpusim::RunMode::flash_dual;
                s.compute_outputs = false;
                s.batch_size = batch;
                s.spi_speed_hz = spi;
                benchmark::DoNotOptimize(kpusim::simulate(model, input, s));
            }
    }
}
BENCHMARK(sweep_56_points)->Unit(benchmark::kMillisecond);

}  // namespace
