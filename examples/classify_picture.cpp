// Example (a): run a kmodel on a picture with the C++ API, print the top-5 classes and the
// timing of kpu.load (RAM mode) next to kpu.load_flash with two buffers.
//
//   example_classify_picture MODEL.kmodel PICTURE.(png|jpg|bmp) LABELS.txt
#include <kpusim/kpusim.h>

#include <cstdio>
#include <exception>

#include "sim/classification.h"  // top_k, load_labels: the CLI's decoders

int sc_main(int argc, char** argv) {  // libsystemc defines main() and calls sc_main()
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s MODEL PICTURE LABELS\n", argv[0]);
        return 2;
    }
    try {
        const kpusim::Model model = kpusim::load_model(argv[1]);
        // Resized and laid out as MaixPy's pix_to_ai does (planar RGB888).
        const std::vector<uint8_t> input = kpusim::load_model_input(argv[2], model.input);
        const std::vector<std::string> labels = kpusim::load_labels(argv[3]);

        kpusim::RunSettings ram;  // kpu.load: the model in RAM; CPU and KPU at 400 MHz
        const kpusim::RunResult r = kpusim::simulate(model, input, ram);
        for (const kpusim::RankedClass& c : kpusim::top_k(r.outputs.at(0).as_floats(), 5))
            std::printf("%4u  %.6f  %s\n", c.class_id, c.score,
                        c.class_id < labels.size() ? labels[c.class_id].c_str() : "?");

        kpusim::RunSettings flash = ram;  // kpu.load_flash(addr, 1, 0xC000, 80 MHz)
        flash.mode = kpusim::RunMode::flash_dual;
        flash.compute_outputs = false;    // same outputs: time it only
        const kpusim::RunResult f = kpusim::simulate(model, input, flash);
        std::printf("kpu.load:       load %.3f ms, forward %.3f ms\n", r.load_ms, r.forward_ms);
        std::printf("kpu.load_flash: load %.3f ms, forward %.3f ms (dual buffer)\n", f.load_ms, f.forward_ms);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
