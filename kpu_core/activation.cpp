#include "kpu_core/activation.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kpu_core/postprocess_simd.h"
#include "kpu_core/rounding.h"

namespace kpusim::kpu {

ActivationRule parse_activation_rule(const char* name) {
    const std::string s = name;
    if (s == "reference") return ActivationRule::nncase_reference;
    if (s == "v01") return ActivationRule::nncase_v01_emulator;
    throw std::invalid_argument("unknown activation rule '" + s +
                                "' (expected 'reference' or 'v01')");
}

const char* to_string(ActivationRule rule) {
    return rule == ActivationRule::nncase_reference ? "reference" : "v01";
}

ActivationTable ActivationTable::decode(const uint8_t* b) {
    auto word = [&](int i) {
        uint64_t w = 0;
        for (int k = 7; k >= 0; --k) w = (w << 8) | b[i * 8 + k];
        return w;
    };
    ActivationTable t;
    for (int i = 0; i < 16; ++i) {
        const uint64_t w = word(i);
        ActivationSegment& s = t.segments[i];
        s.shift_number = static_cast<uint32_t>(w & 0xFF);
        const uint64_t mul = (w >> 8) & 0xFFFF;
        s.y_mul = static_cast<int32_t>((mul ^ 0x8000) - 0x8000);
        const uint64_t start = (w >> 24) & ((uint64_t{1} << 36) - 1);
        const uint64_t m = uint64_t{1} << 35;
        s.x_start = static_cast<int64_t>((start ^ m) - m);
        s.result_bias = b[128 + i];
    }
    t.starts_sorted = true;
    for (int i = 1; i < 16; ++i)
        if (t.segments[i].x_start < t.segments[i - 1].x_start) t.starts_sorted = false;
    for (int i = 0; i < 16; ++i) {
        const auto& si = t.segments[i];
        if (si.y_mul != 0) {
            t.constant_down_to[i] = i + 1;
            continue;
        }
        int j = i;
        while (j > 0 && t.segments[j - 1].y_mul == 0 && t.segments[j - 1].result_bias == si.result_bias) --j;
        t.constant_down_to[i] = j;
    }
    return t;
}

namespace {

// Steps 2-4 of spec §6.4 for a chosen segment.
inline uint8_t apply_segment(int64_t bn, const ActivationSegment& s, ActivationRule rule) {
    // 64-bit like the reference simulator; wraps (no undefined behaviour) only for batch-norm
    // values far outside the documented 36-bit range.
    const int64_t p = static_cast<int64_t>((static_cast<uint64_t>(bn) - static_cast<uint64_t>(s.x_start)) *
                                           static_cast<uint64_t>(static_cast<int64_t>(s.y_mul)));
    const uint32_t shift = std::min<uint32_t>(s.shift_number, 63);
    const int64_t r = rule == ActivationRule::nncase_reference ? act_round(p, shift) : kcs(p, shift);
    return static_cast<uint8_t>(std::clamp<int64_t>(r + s.result_bias, 0, 255));
}

inline bool in_segment(int64_t bn, int64_t start, ActivationRule rule) {
    return rule == ActivationRule::nncase_reference ? start < bn : start <= bn;
}

}  // namespace

uint8_t activate(int64_t bn, const ActivationTable& table, ActivationRule rule, bool* no_segment) {
    int seg = -1;
    if (table.starts_sorted) {
        // Starts below bn (reference) or at most bn (v01) form a prefix: count it.
        int lo = 0, hi = 16;
        while (lo < hi) {
            const int mid = (lo + hi) / 2;
            const int64_t start = table.segments[mid].x_start;
            const bool inside = rule == ActivationRule::nncase_reference ? start < bn : start <= bn;
            if (inside) lo = mid + 1;
            else hi = mid;
        }
        seg = lo - 1;
    } else if (rule == ActivationRule::nncase_reference) {
        for (int i = 15; i >= 0; --i)
            if (bn > table.segments[i].x_start) { seg = i; break; }
    } else {
        for (int i = 15; i >= 0; --i)
            if (table.segments[i].x_start <= bn) { seg = i; break; }
    }
    if (seg < 0) {
        if (no_segment) *no_segment = true;
        return 0;
    }
    return apply_segment(bn, table.segments[seg], rule);
}

bool linear_activation(const ActivationTable& table, ActivationRule rule, int64_t min_value, int64_t max_value,
                       LinearActivation* out) {
    if (!table.starts_sorted || !in_segment(min_value, table.segments[0].x_start, rule)) return false;
    int lo = 0, hi = 15;
    // The segments of the smallest and largest value bound every other value's segment.
    while (lo < 15 && in_segment(min_value, table.segments[lo + 1].x_start, rule)) ++lo;
    while (hi > lo && !in_segment(max_value, table.segments[hi].x_start, rule)) --hi;
    const ActivationSegment& top = table.segments[hi];
    const bool below_constant = lo == hi || table.constant_down_to[hi - 1] <= lo;
    const bool small = static_cast<uint64_t>(max_value) - static_cast<uint64_t>(top.x_start) < (uint64_t{1} << 46) ||
                       !in_segment(max_value, top.x_start, rule);
    if (!(below_constant && top.y_mul >= 0 && small && top.shift_number < 63)) return false;
    out->x_start = top.x_start;
    out->mul = static_cast<uint64_t>(top.y_mul);
    out->shift = top.shift_number;
    out->bias = top.result_bias;
    out->constant = lo == hi ? 0 : static_cast<uint8_t>(std::min<uint32_t>(table.segments[lo].result_bias, 255));
    out->reference = rule == ActivationRule::nncase_reference;
    return true;
}

void activate_plane(const int64_t* bn, uint64_t n, const ActivationTable& table, ActivationRule rule,
                    uint8_t* out, bool* no_segment) {
    if (n == 0) return;
    const auto [lo_it, hi_it] = std::minmax_element(bn, bn + n);
    activate_plane(bn, n, table, rule, out, no_segment, *lo_it, *hi_it, false);
}

void activate_plane(const int64_t* bn, uint64_t n, const ActivationTable& table, ActivationRule rule,
                    uint8_t* out, bool* no_segment, int64_t min_value, int64_t max_value, bool simd) {
    if (n == 0) return;
    const int64_t* lo_it = &min_value;
    const int64_t* hi_it = &max_value;
    if (!table.starts_sorted || !in_segment(*lo_it, table.segments[0].x_start, rule)) {
        for (uint64_t i = 0; i < n; ++i) out[i] = activate(bn[i], table, rule, no_segment);
        return;
    }
    LinearActivation lin;
    if (linear_activation(table, rule, *lo_it, *hi_it, &lin)) {
        // Branch-free loop; the product is known to stay below 2^62, so it equals
        // apply_segment() exactly.
        const ActivationSegment top{lin.x_start, static_cast<int32_t>(lin.mul), lin.shift, lin.bias};
        const uint8_t constant = lin.constant;
        const uint32_t sh = top.shift_number;
        const uint64_t mul = lin.mul;
        const uint64_t mask = sh ? (uint64_t{1} << sh) - 1 : 0, half = sh ? uint64_t{1} << (sh - 1) : 0;
        const bool reference = lin.reference;
        const uint64_t done =
            simd ? simd::activate_linear(bn, n, top.x_start, mul, sh, top.result_bias, constant, reference, out) : 0;
        for (uint64_t i = done; i < n; ++i) {
            const int64_t v = bn[i];
            const bool inside = reference ? v > top.x_start : v >= top.x_start;
            const uint64_t p = inside ? (static_cast<uint64_t>(v) - static_cast<uint64_t>(top.x_start)) * mul : 0;
            uint64_t r = p >> sh;
            if (sh) {
                const uint64_t f = p & mask;
                // ACT_ROUND for p >= 0: half to even; KCS for p >= 0: half up.
                r += reference ? (f > half) | ((f == half) & (r & 1)) : (f >= half);
            }
            const uint64_t value = std::min<uint64_t>(r + top.result_bias, 255);
            out[i] = inside ? static_cast<uint8_t>(value) : constant;
        }
        return;
    }
    int lo = 0, hi = 15;
    while (lo < 15 && in_segment(*lo_it, table.segments[lo + 1].x_start, rule)) ++lo;
    while (hi > lo && !in_segment(*hi_it, table.segments[hi].x_start, rule)) --hi;
    for (uint64_t i = 0; i < n; ++i) {
        const int64_t v = bn[i];
        int seg = hi;
        while (seg > lo && !in_segment(v, table.segments[seg].x_start, rule)) {
            --seg;
            if (table.constant_down_to[seg] <= lo) break;  // segments lo..seg all give one byte
        }
        out[i] = apply_segment(v, table.segments[seg], rule);
    }
}

}  // namespace kpusim::kpu
