#include "sim/features.h"

#include <algorithm>
#include <cmath>

#include "models/kmodel_error.h"

namespace kpusim {

FeatureSummary summarize_features(const OutputTensor& out, uint32_t first_values) {
    const std::vector<float> v = out.as_floats();
    if (v.empty()) throw InputError("a feature vector needs at least one value, the output " + to_string(out.shape) + " has none");
    FeatureSummary f;
    f.shape = out.shape;
    f.count = v.size();
    double sum = 0;
    for (float x : v) sum += static_cast<double>(x) * x;
    f.l2_norm = std::sqrt(sum);
    f.first.assign(v.begin(), v.begin() + std::min<size_t>(first_values, v.size()));
    return f;
}

double cosine_similarity(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size() || a.empty())
        throw InputError("cosine similarity needs two feature vectors of the same non-zero size, got " +
                         std::to_string(a.size()) + " and " + std::to_string(b.size()) + " values");
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        dot += static_cast<double>(a[i]) * b[i];
        na += static_cast<double>(a[i]) * a[i];
        nb += static_cast<double>(b[i]) * b[i];
    }
    if (na == 0 || nb == 0) throw InputError("cosine similarity of a zero-length feature vector is undefined");
    return dot / (std::sqrt(na) * std::sqrt(nb));
}

}  // namespace kpusim
