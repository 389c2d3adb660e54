// The KPU's 16-segment piecewise-linear activation (spec §4.2 table, §6.4 arithmetic,
// §6.8 the two candidate semantics).
#pragma once

#include <array>
#include <cstdint>

namespace kpusim::kpu {

/// Which of nncase's two emulations of the activation stage to follow (spec §6.8).
/// Silicon behaviour is unpublished; the default is the spec's recommendation.
enum class ActivationRule {
    /// nncase 0.2 / 1.x reference simulator (default): the segment is the last one whose
    /// start is strictly below bn; ACT_ROUND (half to even for non-negative products).
    nncase_reference,
    /// nncase 0.1 C# emulator: the last segment whose start is <= bn; KCS (half up).
    nncase_v01_emulator,
};

/// "reference" or "v01"; throws std::invalid_argument on anything else.
ActivationRule parse_activation_rule(const char* name);
const char* to_string(ActivationRule rule);

struct ActivationSegment {
    int64_t x_start = 0;       ///< signed 36-bit segment start
    int32_t y_mul = 0;         ///< signed 16-bit slope
    uint32_t shift_number = 0; ///< unsigned 8-bit right shift
    uint32_t result_bias = 0;  ///< unsigned 8-bit offset added after the shift
};

/// kpu_activate_table_t: 16 segment words then 16 bias bytes (144 bytes).
struct ActivationTable {
    std::array<ActivationSegment, 16> segments{};
    /// Segment starts are non-decreasing (true of every nncase table): the segment can then
    /// be found by binary search, with the same result as the linear rule.
    bool starts_sorted = false;
    /// For each segment i: the lowest j such that segments j..i all output the same constant
    /// (y_mul 0 and the same result_bias); i + 1 when segment i is not constant. Lets a search
    /// stop early: any of those segments gives the same byte.
    std::array<int, 16> constant_down_to{};
    /// Decode 144 bytes (18 little-endian words).
    static ActivationTable decode(const uint8_t* bytes144);
};

/// Error from the activation stage: no segment matches bn (a table whose segment 0 does not
/// start at the bottom of the 36-bit range). The reference simulator has undefined behaviour
/// there; kpusim reports it.
struct ActivationNoSegment {
    int64_t bn;
};

/// Map a batch-norm output to uint8 (spec §6.4). Returns the uint8 result; sets `*no_segment`
/// and returns 0 when no segment matches.
uint8_t activate(int64_t bn, const ActivationTable& table, ActivationRule rule, bool* no_segment);

/// activate() over `n` batch-norm values, with the same results, faster: the segments are
/// searched only between those of the smallest and the largest value.
void activate_plane(const int64_t* bn, uint64_t n, const ActivationTable& table, ActivationRule rule,
                    uint8_t* out, bool* no_segment);

/// The common case of a plane's activation (every nncase ReLU-style table): all values fall in
/// one rising segment (y_mul >= 0) or in segments below it that all give one constant byte.
struct LinearActivation {
    int64_t x_start = 0;   ///< the rising segment's start
    uint64_t mul = 0;      ///< its slope, 0..32767
    uint32_t shift = 0;    ///< its shift, < 63
    uint32_t bias = 0;     ///< its result bias
    uint8_t constant = 0;  ///< the byte of every value at or below x_start
    bool reference = true; ///< ActivationRule::nncase_reference (else v01)
};

/// True, with *out filled, when every bn in [lo, hi] takes the LinearActivation route with
/// results equal to activate() (the product (bn - x_start) x mul stays below 2^62); false
/// otherwise (unsorted table, a value below every segment start, other shapes).
bool linear_activation(const ActivationTable& table, ActivationRule rule, int64_t lo, int64_t hi,
                       LinearActivation* out);

/// activate_plane() with the minimum `lo` and maximum `hi` of bn[0..n) already known, and,
/// when `simd` is true, the AVX2 loop of postprocess_simd.h where the CPU has it (same results).
void activate_plane(const int64_t* bn, uint64_t n, const ActivationTable& table, ActivationRule rule,
                    uint8_t* out, bool* no_segment, int64_t lo, int64_t hi, bool simd);

}  // namespace kpusim::kpu
