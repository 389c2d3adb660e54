#include "kpu_core/conv.h"

#include <algorithm>

namespace kpusim::kpu {

void window_input_sums(const PaddedInput& in, uint32_t kernel, uint32_t c0, uint32_t count,
                       std::vector<int32_t>& out) {
    const uint32_t w = in.width, h = in.height, pw = in.padded_width(), ph = in.padded_height();
    out.assign(uint64_t{w} * h, 0);
    if (kernel == 1) {
        for (uint32_t c = c0; c < c0 + count; ++c) {
            const int16_t* p = in.plane(c);
            for (uint64_t i = 0; i < uint64_t{w} * h; ++i) out[i] += p[i];
        }
        return;
    }
    // 3x3: sum the channels' padded planes (one channel: read it in place), then a separable
    // 3-tap box sum. Work buffers kept per thread: depthwise layers call this per channel.
    thread_local std::vector<int32_t> plane, rows;
    rows.resize(uint64_t{w} * ph);
    auto row_sums = [&](const auto* src) {
        for (uint64_t y = 0; y < ph; ++y) {
            const auto* r = src + y * pw;
            int32_t* dst = rows.data() + y * w;
            for (uint64_t x = 0; x < w; ++x) dst[x] = int32_t{r[x]} + r[x + 1] + r[x + 2];  // 64-bit index: vectorises
        }
    };
    if (count == 1) {
        row_sums(in.plane(c0));
    } else {
        plane.assign(uint64_t{pw} * ph, 0);
        for (uint32_t c = c0; c < c0 + count; ++c) {
            const int16_t* p = in.plane(c);
            for (uint64_t i = 0; i < plane.size(); ++i) plane[i] += p[i];
        }
        row_sums(plane.data());
    }
    for (uint64_t y = 0; y < h; ++y) {
        const int32_t* r0 = rows.data() + y * w;
        const int32_t* r1 = r0 + w;
        const int32_t* r2 = r1 + w;
        int32_t* dst = out.data() + y * w;
        for (uint64_t x = 0; x < w; ++x) dst[x] = r0[x] + r1[x] + r2[x];
    }
}

}  // namespace kpusim::kpu
