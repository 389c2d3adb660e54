// Runs a kmodel through the installed kpusim and checks that it produced outputs and timing.
#include <kpusim/kpusim.h>

#include <cstdio>

int sc_main(int argc, char** argv) {
    if (argc != 2) return 2;
    const kpusim::Model model = kpusim::load_model(argv[1]);
    kpusim::RunSettings settings;
    const kpusim::RunResult r = kpusim::simulate(model, kpusim::test_pattern(model.input), settings);
    std::printf("kpusim %s: %zu output(s), forward %.6f ms\n", kpusim::version(), r.outputs.size(), r.forward_ms);
    return r.outputs.empty() || !(r.forward_ms > 0) ? 1 : 0;
}
