#include "kpu_core/zero_point_terms.h"

#include <cstring>
#include <stdexcept>
#include <string>

namespace kpusim::kpu {

ArgXRule parse_arg_x_rule(const char* name) {
    const std::string s = name ? name : "";
    if (s == "board" || s == "per-channel") return ArgXRule::per_channel;
    if (s == "nncase" || s == "whole-sum") return ArgXRule::whole_sum;
    throw std::invalid_argument("arg_x rule '" + s +
                                "' is not board (per input channel, the default) or nncase "
                                "(whole sum, as nncase's emulators)");
}

const char* to_string(ArgXRule rule) {
    return rule == ArgXRule::per_channel ? "board" : "nncase";
}

bool arg_rules_agree(int64_t arg, uint32_t shift) {
    if (shift == 0) return true;
    if (shift >= 63) return arg == 0;
    const uint64_t mask = (uint64_t{1} << shift) - 1;
    return (static_cast<uint64_t>(arg) & mask) == 0;  // two's complement: also for arg < 0
}

namespace {

// (arg * sum) >> shift, flooring (an arithmetic right shift of a signed value).
inline int64_t floor_scaled(int64_t arg, int64_t sum, uint32_t shift) { return (arg * sum) >> shift; }

// Window sums of one padded channel plane: height x width values (k = 1 or 3).
void channel_window_sums(const PaddedInput& in, uint32_t kernel, uint32_t c,
                         std::vector<int32_t>& rows, std::vector<int32_t>& out) {
    const uint32_t w = in.width, h = in.height, pw = in.padded_width(), ph = in.padded_height();
    const int16_t* p = in.plane(c);
    out.resize(uint64_t{w} * h);
    if (kernel == 1) {
        for (uint64_t i = 0; i < out.size(); ++i) out[i] = p[i];
        return;
    }
    rows.resize(uint64_t{w} * ph);
    for (uint32_t y = 0; y < ph; ++y) {
        const int16_t* r = p + uint64_t{y} * pw;
        int32_t* dst = rows.data() + uint64_t{y} * w;
        for (uint32_t x = 0; x < w; ++x) dst[x] = r[x] + r[x + 1] + r[x + 2];
    }
    for (uint32_t y = 0; y < h; ++y) {
        const int32_t* r0 = rows.data() + uint64_t{y} * w;
        int32_t* dst = out.data() + uint64_t{y} * w;
        for (uint32_t x = 0; x < w; ++x) dst[x] = r0[x] + r0[x + w] + r0[x + 2 * uint64_t{w}];
    }
}

}  // namespace

void input_sum_term(const PaddedInput& in, uint32_t kernel, uint32_t c0, uint32_t count,
                    int32_t arg_x, uint32_t shr_x, ArgXRule rule, std::vector<int64_t>& term) {
    const uint64_t pixels = uint64_t{in.width} * in.height;
    term.assign(pixels, 0);
    if (arg_x == 0) return;
    const bool per_channel =
        rule == ArgXRule::per_channel && count > 1 && !arg_rules_agree(arg_x, shr_x);
    if (!per_channel) {
        std::vector<int32_t> sums;
        window_input_sums(in, kernel, c0, count, sums);
        for (uint64_t p = 0; p < pixels; ++p) term[p] = floor_scaled(arg_x, sums[p], shr_x);
        return;
    }
    std::vector<int32_t> rows, sums;
    for (uint32_t c = c0; c < c0 + count; ++c) {
        channel_window_sums(in, kernel, c, rows, sums);
        for (uint64_t p = 0; p < pixels; ++p) term[p] += floor_scaled(arg_x, sums[p], shr_x);
    }
}

namespace {

template <typename W>
int64_t weight_sum_term_of(const W* weights, uint32_t count, uint32_t taps, int32_t arg_w,
                        uint32_t shr_w, ArgXRule rule) {
    if (arg_w == 0) return 0;
    // Per channel only where the rules can differ: otherwise the whole sum gives the same
    // term in one pass the compiler vectorises.
    if (rule == ArgXRule::per_channel && count > 1 && !arg_rules_agree(arg_w, shr_w)) {
        int64_t total = 0;
        for (uint32_t c = 0; c < count; ++c) {
            int64_t s = 0;
            for (uint32_t t = 0; t < taps; ++t) s += weights[uint64_t{c} * taps + t];
            total += floor_scaled(arg_w, s, shr_w);
        }
        return total;
    }
    int64_t s = 0;
    for (uint64_t i = 0; i < uint64_t{count} * taps; ++i) s += weights[i];
    return floor_scaled(arg_w, s, shr_w);
}

}  // namespace

int64_t weight_sum_term(const int32_t* weights, uint32_t count, uint32_t taps, int32_t arg_w,
                        uint32_t shr_w, ArgXRule rule) {
    return weight_sum_term_of(weights, count, taps, arg_w, shr_w, rule);
}

int64_t weight_sum_term(const uint8_t* weights, uint32_t count, uint32_t taps, int32_t arg_w,
                        uint32_t shr_w, ArgXRule rule) {
    return weight_sum_term_of(weights, count, taps, arg_w, shr_w, rule);
}

}  // namespace kpusim::kpu
