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
    // 3x3: sum the channels' padded planes, then a separable 3-tap box sum.
    std::vector<int32_t> plane(uint64_t{pw} * ph, 0), rows(uint64_t{w} * ph);
    for (uint32_t c = c0; c < c0 + count; ++c) {
        const int16_t* p = in.plane(c);
        for (uint64_t i = 0; i < plane.size(); ++i) plane[i] += p[i];
    }
    for (uint32_t y = 0; y < ph; ++y)
        for (uint32_t x = 0; x < w; ++x) {
            const int32_t* r = plane.data() + uint64_t{y} * pw + x;
            rows[uint64_t{y} * w + x] = r[0] + r[1] + r[2];
        }
    for (uint32_t y = 0; y < h; ++y)
        for (uint32_t x = 0; x < w; ++x)
            out[uint64_t{y} * w + x] = rows[uint64_t{y} * w + x] + rows[uint64_t{y + 1} * w + x] +
                                       rows[uint64_t{y + 2} * w + x];
}

}  // namespace kpusim::kpu
