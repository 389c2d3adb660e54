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

// The dispatch over the number of outputs, inlined into each clone below.
template <typename Acc>
__attribute__((always_inline)) inline void accumulate_outputs(const PaddedInput& in, uint32_t kernel, uint32_t c0,
                                                              uint32_t count, uint32_t outputs,
                                                              const int32_t* const* weights, Acc* const* acc) {
    switch (outputs) {
        case 4: accumulate_block<Acc, 4>(in, kernel, c0, count, weights, acc); break;
        case 3: accumulate_block<Acc, 3>(in, kernel, c0, count, weights, acc); break;
        case 2: accumulate_block<Acc, 2>(in, kernel, c0, count, weights, acc); break;
        default: accumulate_block<Acc, 1>(in, kernel, c0, count, weights, acc); break;
    }
}

// One AVX2 and one default clone per accumulator type, chosen at load time. target_clones
// goes on these plain overloads, not on the template: clang rejects it on templates.
// Not under ASan (GCC says __SANITIZE_ADDRESS__, clang __has_feature): its ifunc resolvers
// run before the sanitizer runtime is set up.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KPUSIM_CONV_ASAN 1
#endif
#endif
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && !defined(KPUSIM_CONV_ASAN)
#define KPUSIM_CONV_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define KPUSIM_CONV_CLONES
#endif

KPUSIM_CONV_CLONES void accumulate_clone(const PaddedInput& in, uint32_t kernel, uint32_t c0, uint32_t count,
                                         uint32_t outputs, const int32_t* const* weights, int32_t* const* acc) {
    accumulate_outputs<int32_t>(in, kernel, c0, count, outputs, weights, acc);
}
KPUSIM_CONV_CLONES void accumulate_clone(const PaddedInput& in, uint32_t kernel, uint32_t c0, uint32_t count,
                                         uint32_t outputs, const int32_t* const* weights, int64_t* const* acc) {
    accumulate_outputs<int64_t>(in, kernel, c0, count, outputs, weights, acc);
}

}  // namespace

template <typename Acc>
void accumulate_products(const PaddedInput& in, uint32_t kernel, uint32_t c0, uint32_t count,
                         uint32_t outputs, const int32_t* const* weights, Acc* const* acc) {
    accumulate_clone(in, kernel, c0, count, outputs, weights, acc);
}

template void accumulate_products<int32_t>(const PaddedInput&, uint32_t, uint32_t, uint32_t, uint32_t,
                                           const int32_t* const*, int32_t* const*);
template void accumulate_products<int64_t>(const PaddedInput&, uint32_t, uint32_t, uint32_t, uint32_t,
                                           const int32_t* const*, int64_t* const*);

}  // namespace kpusim::kpu
