#include "kpu_core/pool.h"

#include <algorithm>

namespace kpusim::kpu {

void pool_plane(const uint8_t* in, uint32_t w, uint32_t h, PoolType type, uint8_t* out) {
    const uint32_t s = pool_stride(type);
    const uint32_t ow = w / s, oh = h / s;
    auto px = [&](uint32_t y, uint32_t x) { return in[uint64_t{y} * w + x]; };
    for (uint32_t oy = 0; oy < oh; ++oy) {
        uint8_t* o = out + uint64_t{oy} * ow;
        const uint32_t y0 = oy * s;
        switch (type) {
            case PoolType::bypass:
                std::copy(in + uint64_t{y0} * w, in + uint64_t{y0} * w + ow, o);
                break;
            case PoolType::left_top_2_s2:
            case PoolType::left_top_4_s4:
                for (uint32_t ox = 0; ox < ow; ++ox) o[ox] = px(y0, ox * s);
                break;
            case PoolType::right_top_2_s2:
                for (uint32_t ox = 0; ox < ow; ++ox) o[ox] = px(y0, ox * 2 + 1);
                break;
            case PoolType::max_2_s2: {
                // Written out for 2 x 2 so that the compiler vectorises it.
                const uint8_t* r0 = in + uint64_t{y0} * w;
                const uint8_t* r1 = r0 + w;
                for (uint32_t ox = 0; ox < ow; ++ox) {
                    const uint8_t a = std::max(r0[2 * ox], r0[2 * ox + 1]);
                    const uint8_t b = std::max(r1[2 * ox], r1[2 * ox + 1]);
                    o[ox] = std::max(a, b);
                }
                break;
            }
            case PoolType::mean_2_s2: {
                const uint8_t* r0 = in + uint64_t{y0} * w;
                const uint8_t* r1 = r0 + w;
                for (uint32_t ox = 0; ox < ow; ++ox)
                    o[ox] = static_cast<uint8_t>((uint32_t{r0[2 * ox]} + r0[2 * ox + 1] + r1[2 * ox] + r1[2 * ox + 1]) / 4);
                break;
            }
            case PoolType::max_4_s4:
                for (uint32_t ox = 0; ox < ow; ++ox) {
                    uint8_t m = 0;
                    for (uint32_t dy = 0; dy < s; ++dy)
                        for (uint32_t dx = 0; dx < s; ++dx) m = std::max(m, px(y0 + dy, ox * s + dx));
                    o[ox] = m;
                }
                break;
            case PoolType::mean_4_s4:
                for (uint32_t ox = 0; ox < ow; ++ox) {
                    uint32_t sum = 0;
                    for (uint32_t dy = 0; dy < s; ++dy)
                        for (uint32_t dx = 0; dx < s; ++dx) sum += px(y0 + dy, ox * s + dx);
                    o[ox] = static_cast<uint8_t>(sum / (s * s));
                }
                break;
            case PoolType::mean_2_s1:
                // The window reaches past the last row/column: the index is clamped (edge
                // replicate), as in nncase's reference simulator (spec §6.5).
                for (uint32_t ox = 0; ox < ow; ++ox) {
                    uint32_t sum = 0;
                    for (uint32_t dy = 0; dy < 2; ++dy)
                        for (uint32_t dx = 0; dx < 2; ++dx)
                            sum += px(std::min(oy + dy, h - 1), std::min(ox + dx, w - 1));
                    o[ox] = static_cast<uint8_t>(sum / 4);
                }
                break;
            case PoolType::max_2_s1:
                // Out-of-image taps count as 0; the maximum starts from 0, so they never win.
                for (uint32_t ox = 0; ox < ow; ++ox) {
                    uint8_t m = 0;
                    for (uint32_t dy = 0; dy < 2; ++dy)
                        for (uint32_t dx = 0; dx < 2; ++dx)
                            if (oy + dy < h && ox + dx < w) m = std::max(m, px(oy + dy, ox + dx));
                    o[ox] = m;
                }
                break;
        }
    }
}

}  // namespace kpusim::kpu
