// Limits of the fuzz targets, so that one input costs bounded time and memory (well
// under libFuzzer's -timeout=10 and -rss_limit_mb=1024, with ASan and UBSan).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kpusim::fuzz {

/// kmodel target: inputs above 1 MiB are skipped (the real V3 models are below 700 KiB).
inline constexpr size_t kMaxKmodelBytes = size_t{1} << 20;
/// kmodel target: models whose functional_work() (models/model_cost.h) is above 2^21
/// element steps, or whose main_mem_usage is above 1 MiB, are parsed but not run: a run
/// then costs at most a few milliseconds under ASan (the allocation of a large main buffer
/// alone costs more than a small model's run). The real models above these limits
/// (MobileNet, YOLO) are run by the test suite instead.
inline constexpr uint64_t kMaxFunctionalWork = uint64_t{1} << 21;
inline constexpr uint32_t kMaxRunMainMemory = 1u << 20;
/// picture target: pictures above 2^22 pixels (e.g. 2048 x 2048) are skipped before
/// decoding; load_model_input() itself accepts up to 2^26.
inline constexpr uint64_t kMaxPicturePixels = uint64_t{1} << 22;
/// check target: inputs above 1 MiB are skipped.
inline constexpr size_t kMaxJsonBytes = size_t{1} << 20;

}  // namespace kpusim::fuzz
