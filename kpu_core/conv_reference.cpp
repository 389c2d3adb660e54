// The scalar reference of the convolution stage's multiply-accumulate (spec §6.2): the
// straightforward planar kernel the fast kernels of conv_fast.cpp are tested against, and the
// path for 16-bit weights.
#include <algorithm>

#include "kpu_core/conv.h"

namespace kpusim::kpu {

namespace {

// Add weight x input over `n` contiguous pixels for NB output channels at once: the input
// is read once per NB outputs, and the innermost loop vectorises.
template <typename Acc, int NB>
__attribute__((always_inline)) inline void axpy_block(const int16_t* x, uint64_t n, const Acc* wv, Acc* const* acc, uint64_t acc_at) {
    Acc* a[NB];
    for (int j = 0; j < NB; ++j) a[j] = acc[j] + acc_at;
    for (uint64_t i = 0; i < n; ++i) {
        const Acc xi = x[i];
        for (int j = 0; j < NB; ++j) a[j][i] += wv[j] * xi;
    }
}

template <typename Acc, int NB>
__attribute__((always_inline)) inline void accumulate_block(const PaddedInput& in, uint32_t kernel, uint32_t c0, uint32_t count,
                      const int32_t* const* weights, Acc* const* acc) {
    const uint32_t w = in.width, h = in.height, pw = in.padded_width();
    constexpr uint64_t kTile = 1024;  // pixels per tile: NB accumulator tiles stay in L1
    const uint64_t pixels = uint64_t{w} * h;
    if (kernel == 1) {
        for (uint64_t t = 0; t < pixels; t += kTile) {
            const uint64_t n = std::min(kTile, pixels - t);
            for (uint32_t ci = 0; ci < count; ++ci) {
                Acc wv[NB];
                bool any = false;
                for (int j = 0; j < NB; ++j) any |= (wv[j] = weights[j][ci]) != 0;
                if (any) axpy_block<Acc, NB>(in.plane(c0 + ci) + t, n, wv, acc, t);
            }
        }
        return;
    }
    for (uint32_t y = 0; y < h; ++y) {
        for (uint32_t ci = 0; ci < count; ++ci) {
            const int16_t* p = in.plane(c0 + ci);
            for (uint32_t ky = 0; ky < kernel; ++ky)
                for (uint32_t kx = 0; kx < kernel; ++kx) {
                    Acc wv[NB];
                    bool any = false;
                    for (int j = 0; j < NB; ++j)
                        any |= (wv[j] = weights[j][(ci * kernel + ky) * kernel + kx]) != 0;
                    if (any)
                        axpy_block<Acc, NB>(p + uint64_t{y + ky} * pw + kx, w, wv, acc, uint64_t{y} * w);
                }
        }
    }
}

}  // namespace

template <typename Acc>
void accumulate_products(const PaddedInput& in, uint32_t kernel, uint32_t c0, uint32_t count,
                         uint32_t outputs, const int32_t* const* weights, Acc* const* acc) {
    switch (outputs) {
        case 4: accumulate_block<Acc, 4>(in, kernel, c0, count, weights, acc); break;
        case 3: accumulate_block<Acc, 3>(in, kernel, c0, count, weights, acc); break;
        case 2: accumulate_block<Acc, 2>(in, kernel, c0, count, weights, acc); break;
        default: accumulate_block<Acc, 1>(in, kernel, c0, count, weights, acc); break;
    }
}

template void accumulate_products<int32_t>(const PaddedInput&, uint32_t, uint32_t, uint32_t, uint32_t,
                                           const int32_t* const*, int32_t* const*);
template void accumulate_products<int64_t>(const PaddedInput&, uint32_t, uint32_t, uint32_t, uint32_t,
                                           const int32_t* const*, int64_t* const*);

}  // namespace kpusim::kpu
