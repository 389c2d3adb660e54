// Predicted against measured, for each calibration point of timing.md Part B:
//   C1  MobileNetV1-0.75 (mbnet75.kmodel), RAM mode, CPU 481 / KPU 398 MHz:
//       forward 40 ms, load 421 ms (bbs.sipeed.com topic 1811);
//   C2  MaixPy's YOLOv2 face detector (facedetect.kmodel), per-layer trace with KPU_DEBUG,
//       KPU 400 MHz assumed (kendryte/nncase issue #77).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace kpusim {

struct CalibrationPoint {
    std::string name;       ///< e.g. "C2 layer 14 (K210_CONV)" or "C1 forward"
    bool normal_conv;       ///< a non-depthwise KPU convolution (C2's 10 % criterion)
    double measured_ms;
    double predicted_ms;
    double error() const { return (predicted_ms - measured_ms) / measured_ms; }
};

/// Run the two calibration models (timing only) and compare. `shared_dir`: the team's
/// shared/ folder. Throws like K210::run when a model is missing or malformed.
std::vector<CalibrationPoint> calibration_points(const std::string& shared_dir);

/// Print calibration_points() as a table; returns 0.
int print_calibration(std::ostream& out, const std::string& shared_dir);

}  // namespace kpusim
