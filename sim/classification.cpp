#include "sim/classification.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <numeric>

#include "models/kmodel_error.h"
#include "models/read_file.h"

namespace kpusim {

std::vector<std::string> load_labels(const std::string& path) {
    // read_whole_file refuses a folder or a device (an ifstream opens a folder and reads
    // nothing, which would silently give no labels).
    const std::vector<uint8_t> bytes = read_whole_file(path, "labels file");
    std::istringstream f(std::string(bytes.begin(), bytes.end()));
    std::vector<std::string> labels;
    std::string line;
    while (std::getline(f, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        labels.push_back(line);
    }
    return labels;
}

std::vector<RankedClass> top_k(const std::vector<float>& scores, uint32_t k) {
    std::vector<uint32_t> ids(scores.size());
    std::iota(ids.begin(), ids.end(), 0u);
    auto better = [&](uint32_t a, uint32_t b) {
        const float sa = scores[a], sb = scores[b];
        if (std::isnan(sa) != std::isnan(sb)) return std::isnan(sb);
        if (sa != sb && !std::isnan(sa)) return sa > sb;
        return a < b;
    };
    const size_t n = std::min<size_t>(k, ids.size());
    std::partial_sort(ids.begin(), ids.begin() + n, ids.end(), better);
    std::vector<RankedClass> out;
    for (size_t i = 0; i < n; ++i) out.push_back({ids[i], scores[ids[i]]});
    return out;
}

}  // namespace kpusim
