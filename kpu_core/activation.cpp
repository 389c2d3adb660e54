#include "kpu_core/activation.h"

#include <algorithm>
#include <stdexcept>
#include <string>

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
    return t;
}

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
    const ActivationSegment& s = table.segments[seg];
    // 64-bit like the reference simulator; wraps (no undefined behaviour) only for batch-norm
    // values far outside the documented 36-bit range.
    const int64_t p = static_cast<int64_t>((static_cast<uint64_t>(bn) - static_cast<uint64_t>(s.x_start)) *
                                           static_cast<uint64_t>(static_cast<int64_t>(s.y_mul)));
    const uint32_t shift = std::min<uint32_t>(s.shift_number, 63);
    const int64_t r = rule == ActivationRule::nncase_reference ? act_round(p, shift) : kcs(p, shift);
    const int64_t out = r + s.result_bias;
    return static_cast<uint8_t>(std::clamp<int64_t>(out, 0, 255));
}

}  // namespace kpusim::kpu
