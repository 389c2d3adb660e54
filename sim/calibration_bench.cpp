#include "sim/calibration_bench.h"

#include <cmath>

#include <spdlog/fmt/fmt.h>

#include "memory/ram_budget.h"
#include "models/kmodel_loader.h"
#include "sim/model_input.h"
#include "sim/run_report.h"
#include "sim/simulate.h"

namespace kpusim {

namespace {

// C2: per-layer times in ms from kendryte/nncase issue #77 (timing.md Part B, kmodel-spec.md
// §11); layers 13..21 odd printed as 0.025-0.026 (0.0255 taken), even 14..20 as 1.521-1.522.
constexpr double kC2Ms[24] = {0.206,  0.039,  0.514,  0.029,  0.680,  0.053,  1.328,  0.020,
                              0.704,  0.034,  1.385,  0.016,  0.781,  0.0255, 1.5215, 0.0255,
                              1.5215, 0.0255, 1.5215, 0.0255, 1.5215, 0.0255, 0.326,  0.404};
constexpr double kC2TotalMs = 12.732;
// C1 (bbs.sipeed.com topic 1811): RAM mode at CPU 481 MHz, KPU 398 MHz.
constexpr double kC1ForwardMs = 40.0;
constexpr double kC1LoadMs = 421.0;

RunResult timing_run(const Model& m, uint64_t cpu_hz, uint64_t kpu_hz) {
    RunSettings s;
    s.ram_budget_bytes = memory::preset_bytes(memory::RamPreset::bare_metal);
    s.cpu_hz = cpu_hz;
    s.kpu_hz = kpu_hz;
    s.mode = RunMode::ram;
    s.compute_outputs = false;
    return run_standalone(m, test_pattern(m.input), s);
}

}  // namespace

std::vector<CalibrationPoint> calibration_points(const std::string& shared_dir) {
    std::vector<CalibrationPoint> points;
    const Model face = load_kmodel(shared_dir + "/models/face_detect_maixpy_v3/facedetect.kmodel");
    const RunResult c2 = timing_run(face, 400'000'000, 400'000'000);
    double total = 0;
    for (const LayerTiming& l : c2.timing.layers) {
        const double predicted = ps_to_ms(l.end_ps - l.start_ps);
        total += predicted;
        const bool conv = l.kpu_cycles > 0;
        // Depthwise or not: the layer argument's depth_wise_layer bit.
        const auto* op = l.index < face.layers.size() ? std::get_if<KpuConvOp>(&face.layers[l.index].op) : nullptr;
        const bool depthwise = conv && op && op->arg.depth_wise_layer;
        points.push_back({fmt::format("C2 layer {:2} {}{}", l.index, l.type, depthwise ? " (dw)" : ""),
                          conv && !depthwise, kC2Ms[l.index], predicted});
    }
    points.push_back({"C2 total (layers 0-23)", false, kC2TotalMs, total});
    const RunResult c1 = timing_run(load_kmodel(shared_dir + "/models/mobilenetv1_0.75_imagenet_v3/mbnet75.kmodel"),
                                    481'000'000, 398'000'000);
    points.push_back({"C1 MobileNet forward (RAM)", false, kC1ForwardMs, ps_to_ms(c1.timing.forward_ps)});
    points.push_back({"C1 MobileNet load (kpu.load)", false, kC1LoadMs, ps_to_ms(c1.timing.load_ps)});
    return points;
}

int print_calibration(std::ostream& out, const std::string& shared_dir) {
    out << fmt::format("{:<40} {:>12} {:>12} {:>8}\n", "calibration point", "measured ms", "predicted ms", "error");
    for (const CalibrationPoint& p : calibration_points(shared_dir))
        out << fmt::format("{:<40} {:>12.4f} {:>12.4f} {:>+7.1f}%\n", p.name, p.measured_ms, p.predicted_ms,
                           100 * p.error());
    out << "C2: Sipeed YOLOv2 face detector, KPU_DEBUG trace, kendryte/nncase#77 (KPU 400 MHz assumed)\n"
           "C1: MobileNet 1000-class, RAM mode, CPU 481 / KPU 398 MHz, bbs.sipeed.com topic 1811\n";
    return 0;
}

}  // namespace kpusim
