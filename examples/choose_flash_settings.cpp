// Example (b): choose batch_size and SPI speed for kpu.load_flash under a RAM budget with the
// C++ API, and compare with kpu.load when the whole model fits.
//
//   example_choose_flash_settings MODEL.kmodel [RAM_BUDGET: preset or bytes, default maixpy-minimum]
#include <kpusim/kpusim.h>

#include <cstdio>
#include <exception>

int sc_main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s MODEL [RAM_BUDGET]\n", argv[0]);
        return 2;
    }
    try {
        const kpusim::Model model = kpusim::load_model(argv[1]);
        const std::vector<uint8_t> input = kpusim::test_pattern(model.input);  // timing does not depend on it
        kpusim::RunSettings base;
        base.ram_budget_bytes = kpusim::parse_ram_budget(argc > 2 ? argv[2] : "maixpy-minimum");
        base.compute_outputs = false;  // timing only: fast re-runs of one model

        double best_ms = 0;
        uint64_t best_batch = 0, best_spi = 0;
        for (uint64_t batch = 0x4000; batch <= 0x20000; batch += 0x4000) {
            for (uint64_t spi = 20'000'000; spi <= 80'000'000; spi += 20'000'000) {
                kpusim::RunSettings s = base;
                s.mode = kpusim::RunMode::flash_dual;
                s.batch_size = batch;
                s.spi_speed_hz = spi;
                try {
                    const kpusim::RunResult r = kpusim::simulate(model, input, s);
                    if (best_batch == 0 || r.forward_ms < best_ms) best_ms = r.forward_ms, best_batch = batch, best_spi = spi;
                } catch (const kpusim::CapacityError&) {  // buffers beyond the budget
                } catch (const kpusim::InputError&) {     // batch_size above the largest body
                }
            }
        }
        if (best_batch == 0) {
            std::printf("no flash-dual setting fits the budget\n");
            return 1;
        }
        std::printf("fastest flash-dual setting: batch_size 0x%llx, SPI %llu Hz: %.3f ms per forward\n",
                    static_cast<unsigned long long>(best_batch), static_cast<unsigned long long>(best_spi), best_ms);
        try {
            const kpusim::RunResult ram = kpusim::simulate(model, input, base);
            std::printf("kpu.load fits too: %.3f ms per forward (%s)\n", ram.forward_ms,
                        ram.forward_ms < best_ms ? "faster: use kpu.load" : "slower than the flash runner");
        } catch (const kpusim::CapacityError& e) {
            std::printf("kpu.load does not fit: %s\n", e.what());
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
