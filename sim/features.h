// The "features" decode: a model whose output is a feature vector (an embedding compared
// between pictures, e.g. CanMV's self-learning classifier mobilenet0.25_feature_canmv_v4,
// 256 values) rather than class scores. There is nothing to rank: the report gives the
// vector's shape, its length (L2 norm) and its first values.
#pragma once

#include <cstdint>
#include <vector>

#include "models/layer_graph.h"
#include "sim/functional_executor.h"

namespace kpusim {

/// What the report says about a feature vector.
struct FeatureSummary {
    Shape shape;                ///< the output's shape (N x C x H x W as the model gives it)
    uint64_t count = 0;         ///< number of values (shape.elements())
    double l2_norm = 0;         ///< sqrt of the sum of squares, summed in double precision
    std::vector<float> first;   ///< the first min(count, first_values) values, in memory order
};

/// Summarise `out` (values read with as_floats()): its shape, value count, L2 norm and
/// first `first_values` values. A NaN or infinite value makes the norm NaN or infinite (it is
/// reported, not refused). @throws InputError when the output holds no value.
FeatureSummary summarize_features(const OutputTensor& out, uint32_t first_values = 8);

/// Cosine similarity of two feature vectors (dot / (|a| |b|), in double precision), what
/// CanMV's self-learning example compares features with. @throws InputError when the sizes
/// differ, are 0, or a vector has zero length.
double cosine_similarity(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace kpusim
