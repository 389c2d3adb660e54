// Class labels and top-K ranking of a classifier's scores.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kpusim {

/// One line per class, in class-id order (line N = class id N - 1). A trailing newline or
/// CR-LF line ends are accepted. Throws InputError when the file cannot be read or is not a
/// regular file (a folder, a device).
std::vector<std::string> load_labels(const std::string& path);

struct RankedClass {
    uint32_t class_id;
    float score;
};

/// The k highest scores, highest first; ties keep the lower class id first. NaN scores rank
/// last. k is clipped to scores.size().
std::vector<RankedClass> top_k(const std::vector<float>& scores, uint32_t k);

}  // namespace kpusim
