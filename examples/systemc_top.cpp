// Example (d): the K210 platform inside your own SystemC design. The top has its own clock, a
// camera module of its own that writes a frame into a buffer over simulated time (as a DVP
// camera's DMA would), and a thread that runs the model on each frame with K210::run, which
// consumes simulated time like the chip. Two frames, two runs; the reports must agree.
//
//   example_systemc_top MODEL.kmodel
#include <kpusim/k210.h>

#include <cstdio>
#include <exception>

#include <systemc>

// A camera: fills a frame of `bytes` bytes line by line, one line per 100 us, then notifies.
struct Camera : sc_core::sc_module {
    std::vector<uint8_t> frame;
    sc_core::sc_event frame_ready;
    uint32_t lines = 0;
    uint8_t shade = 0;

    Camera(sc_core::sc_module_name name, size_t bytes, uint32_t frame_lines)
        : sc_core::sc_module(name), frame(bytes), lines(frame_lines) {
        SC_HAS_PROCESS(Camera);
        SC_THREAD(capture);
    }
    void capture() {
        for (;;) {
            const size_t per_line = (frame.size() + lines - 1) / lines;
            for (size_t at = 0; at < frame.size(); at += per_line) {
                sc_core::wait(100, sc_core::SC_US);
                for (size_t i = at; i < std::min(frame.size(), at + per_line); ++i)
                    frame[i] = static_cast<uint8_t>((i * 7 + shade) & 0xFF);
            }
            frame_ready.notify(sc_core::SC_ZERO_TIME);
            sc_core::wait(1, sc_core::SC_MS);  // the next frame starts after the host took this one
        }
    }
};

struct Top : sc_core::sc_module {
    sc_core::sc_clock clk{"clk", 10, sc_core::SC_NS};  // your design's own clock keeps running
    kpusim::K210 k210{"k210"};
    Camera camera;
    const kpusim::Model& model;
    int status = 1;

    Top(sc_core::sc_module_name name, const kpusim::Model& m)
        : sc_core::sc_module(name), camera("camera", m.input.bytes(), m.input.shape.h), model(m) {
        SC_HAS_PROCESS(Top);
        SC_THREAD(host);
    }
    void host() {
        kpusim::RunSettings settings;
        settings.mode = kpusim::RunMode::flash_dual;  // kpu.load_flash(addr, 1, 0xC000, 80 MHz)
        std::vector<double> forward_ms;
        for (int frame = 0; frame < 2; ++frame) {
            sc_core::wait(camera.frame_ready);
            const sc_core::sc_time start = sc_core::sc_time_stamp();
            const kpusim::RunResult r = k210.run(model, camera.frame, settings);
            std::printf("frame %d at %s: load %.3f ms, forward %.3f ms, simulated time advanced %s\n", frame,
                        start.to_string().c_str(), r.load_ms, r.forward_ms,
                        (sc_core::sc_time_stamp() - start).to_string().c_str());
            forward_ms.push_back(r.forward_ms);
        }
        status = forward_ms[0] == forward_ms[1] ? 0 : 1;
        std::printf(status == 0 ? "two runs agree\n" : "the two runs differ\n");
        sc_core::sc_stop();
    }
};

int sc_main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s MODEL\n", argv[0]);
        return 2;
    }
    try {
        const kpusim::Model model = kpusim::load_model(argv[1]);
        Top top("top", model);
        sc_core::sc_start(10, sc_core::SC_SEC);  // bounded: the host stops the simulation when done
        return top.status;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
