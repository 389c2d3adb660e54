#include "kpu_core/conv.h"

namespace kpusim::kpu {

void window_input_sums(const PaddedInput& in, uint32_t kernel, uint32_t c0, uint32_t count,
                       std::vector<int64_t>& out) {
    const uint32_t w = in.width, h = in.height, pw = in.padded_width();
    out.assign(uint64_t{w} * h, 0);
    std::vector<int32_t> plane_sum(uint64_t{w} * h);
    for (uint32_t c = c0; c < c0 + count; ++c) {
        const int16_t* p = in.plane(c);
        for (uint32_t y = 0; y < h; ++y) {
            for (uint32_t x = 0; x < w; ++x) {
                int32_t s = 0;
                for (uint32_t ky = 0; ky < kernel; ++ky)
                    for (uint32_t kx = 0; kx < kernel; ++kx) s += p[(y + ky) * pw + x + kx];
                out[uint64_t{y} * w + x] += s;
            }
        }
    }
}

// The hot loop: for each (channel, tap), add weight x shifted input row to the accumulator.
// Written so that the compiler vectorises the innermost loop over x.
template <typename Acc>
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("avx2", "default")))
#endif
void accumulate_products(const PaddedInput& in, uint32_t kernel, uint32_t c0, uint32_t count,
                         const int32_t* weights, Acc* acc) {
    const uint32_t w = in.width, h = in.height, pw = in.padded_width();
    for (uint32_t ci = 0; ci < count; ++ci) {
        const int16_t* p = in.plane(c0 + ci);
        for (uint32_t ky = 0; ky < kernel; ++ky) {
            for (uint32_t kx = 0; kx < kernel; ++kx) {
                const Acc wv = static_cast<Acc>(weights[(ci * kernel + ky) * kernel + kx]);
                if (wv == 0) continue;
                if (kernel == 1) {
                    const uint64_t n = uint64_t{w} * h;
                    for (uint64_t i = 0; i < n; ++i) acc[i] += wv * static_cast<Acc>(p[i]);
                } else {
                    for (uint32_t y = 0; y < h; ++y) {
                        const int16_t* row = p + (y + ky) * pw + kx;
                        Acc* a = acc + uint64_t{y} * w;
                        for (uint32_t x = 0; x < w; ++x) a[x] += wv * static_cast<Acc>(row[x]);
                    }
                }
            }
        }
    }
}

template void accumulate_products<int32_t>(const PaddedInput&, uint32_t, uint32_t, uint32_t,
                                           const int32_t*, int32_t*);
template void accumulate_products<int64_t>(const PaddedInput&, uint32_t, uint32_t, uint32_t,
                                           const int32_t*, int64_t*);

}  // namespace kpusim::kpu
