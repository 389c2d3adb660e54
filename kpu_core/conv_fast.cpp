#include "kpu_core/conv_fast.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace kpusim::kpu {

namespace {

constexpr uint64_t kTile = 16;  // positions per tile (two 8 x int32 vectors)

uint64_t round_up(uint64_t v, uint64_t m) { return (v + m - 1) / m * m; }

// The layer's geometry as the kernels see it: positions q = y * pw + x of the padded plane,
// where window tap t reads plane[q + offset[t]].
struct Geometry {
    uint32_t taps = 1;
    uint64_t plane = 0;  // elements between two padded planes
    uint64_t positions = 0;  // FastAccLayout::plane_stride
    uint32_t offset[9] = {};
};

Geometry geometry(const PaddedInput& in, uint32_t kernel) {
    Geometry g;
    g.taps = kernel * kernel;
    const uint32_t pw = in.padded_width();
    g.plane = uint64_t{pw} * in.padded_height();
    g.positions = fast_acc_layout(in).plane_stride;
    for (uint32_t ky = 0; ky < kernel; ++ky)
        for (uint32_t kx = 0; kx < kernel; ++kx) g.offset[ky * kernel + kx] = ky * pw + kx;
    return g;
}

// Positions per cache block of the normal kernel: the input rows of one block, over all
// channels, stay in L2 (about 96 KiB) while every output block reads them.
uint64_t chunk_positions(uint32_t channels, uint64_t positions) {
    const uint64_t c = std::max<uint64_t>(64, (49152 / std::max(1u, channels)) / kTile * kTile);
    return std::min(c, positions);
}

// Weight pair (w[c], w[c + 1]) of two input channels (normal) or two taps (depthwise) as the
// int32 that pmaddwd reads: low half first. w[c + 1] = 0 when there is no partner.
inline int32_t pair(int32_t lo, int32_t hi) {
    return static_cast<int32_t>(static_cast<uint32_t>(lo) | (static_cast<uint32_t>(hi) << 16));
}

// Normal layers: pack weights of outputs [o0, o0 + ob) as [channel pair][tap][output] into
// out[0 .. pairs x taps x ob). Reads each output's weights in order (channel c of a pair is
// its low half, c + 1 its high half; no partner: 0). Weights are 0..255 (checked before).
template <typename W>
void pack_normal(const W* w, uint32_t channels, uint32_t taps, uint32_t o0, uint32_t ob, int32_t* out) {
    const uint64_t pairs = (channels + 1) / 2, full = channels / 2;
    for (uint64_t j = 0; j < ob; ++j) {
        const W* wo = w + (o0 + j) * uint64_t{channels} * taps;
        int32_t* dst = out + j;
        if (taps == 1) {  // 1x1: the common case, written out so that it compiles to a tight loop
            for (uint64_t cp = 0; cp < full; ++cp) dst[cp * ob] = pair(wo[2 * cp], wo[2 * cp + 1]);
            if (pairs > full) dst[full * ob] = pair(wo[2 * full], 0);
            continue;
        }
        for (uint64_t cp = 0; cp < full; ++cp) {
            const W* lo = wo + 2 * cp * taps;
            const W* hi = lo + taps;
            for (uint64_t t = 0; t < taps; ++t) dst[(cp * taps + t) * ob] = pair(lo[t], hi[t]);
        }
        if (pairs > full)  // odd channel count: the last channel has no partner
            for (uint64_t t = 0; t < taps; ++t) dst[(full * taps + t) * ob] = pair(wo[2 * full * taps + t], 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Portable kernels (any architecture; the compiler vectorises the inner loops).

template <typename W>
void normal_portable(const PaddedInput& in, const Geometry& g, uint32_t outputs, const W* w,
                     int32_t* acc) {
    const uint32_t channels = in.channels;
    constexpr uint32_t kOb = 4;
    constexpr uint64_t kChunk = 256;
    int32_t local[kOb][kChunk];
    for (uint64_t q0 = 0; q0 < g.positions; q0 += kChunk) {
        const uint64_t n = std::min(kChunk, g.positions - q0);
        for (uint32_t o0 = 0; o0 < outputs; o0 += kOb) {
            const uint32_t ob = std::min(kOb, outputs - o0);
            for (uint32_t j = 0; j < ob; ++j) std::fill(local[j], local[j] + n, 0);
            for (uint32_t c = 0; c < channels; ++c) {
                const int16_t* p = in.plane(c) + q0;
                for (uint32_t t = 0; t < g.taps; ++t) {
                    const int16_t* x = p + g.offset[t];
                    for (uint32_t j = 0; j < ob; ++j) {
                        const int32_t wv = w[(uint64_t{o0 + j} * channels + c) * g.taps + t];
                        if (wv == 0) continue;
                        int32_t* a = local[j];
                        for (uint64_t i = 0; i < n; ++i) a[i] += wv * x[i];
                    }
                }
            }
            for (uint32_t j = 0; j < ob; ++j)
                std::copy(local[j], local[j] + n, acc + uint64_t{o0 + j} * g.positions + q0);
        }
    }
}

template <typename W>
void depthwise_portable(const PaddedInput& in, const Geometry& g, uint32_t outputs,
                        const W* w, int32_t* acc) {
    for (uint32_t o = 0; o < outputs; ++o) {
        int32_t* a = acc + uint64_t{o} * g.positions;
        std::fill(a, a + g.positions, 0);
        const int16_t* p = in.plane(o);
        for (uint32_t t = 0; t < g.taps; ++t) {
            const int32_t wv = w[uint64_t{o} * g.taps + t];
            const int16_t* x = p + g.offset[t];
            for (uint64_t i = 0; i < g.positions; ++i) a[i] += wv * x[i];
        }
    }
}

// ---------------------------------------------------------------------------------------------
// AVX2 kernels. pmaddwd on the 16-bit interleave of two rows a, b (unpacklo/hi within each
// 128-bit lane) gives a[i] * wa + b[i] * wb for pixels 0-3, 8-11 (lo) and 4-7, 12-15 (hi);
// two lane permutes put the 16 sums back in order.

#if defined(__x86_64__)

#define KPUSIM_AVX2 __attribute__((target("avx2")))

KPUSIM_AVX2 inline void store_tile(int32_t* out, __m256i lo, __m256i hi) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8), _mm256_permute2x128_si256(lo, hi, 0x31));
}

KPUSIM_AVX2 inline __m256i load16(const int16_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// OB outputs x 16 positions per tile: 2 x OB int32 accumulators in registers.
template <int OB>
KPUSIM_AVX2 void normal_block_avx2(const PaddedInput& in, const Geometry& g, uint64_t q_begin,
                                   uint64_t q_end, const int32_t* wp, int32_t* const* out) {
    const uint32_t channels = in.channels, pairs = (channels + 1) / 2, taps = g.taps;
    for (uint64_t q0 = q_begin; q0 < q_end; q0 += kTile) {
        __m256i lo_acc[OB], hi_acc[OB];
        for (int j = 0; j < OB; ++j) lo_acc[j] = hi_acc[j] = _mm256_setzero_si256();
        const int32_t* wv = wp;
        for (uint32_t cp = 0; cp < pairs; ++cp) {
            const uint32_t c = 2 * cp;
            const int16_t* pa = in.plane(c) + q0;
            // No partner channel: pair the plane with itself under weight 0.
            const int16_t* pb = c + 1 < channels ? in.plane(c + 1) + q0 : pa;
            for (uint32_t t = 0; t < taps; ++t, wv += OB) {
                const __m256i a = load16(pa + g.offset[t]), b = load16(pb + g.offset[t]);
                const __m256i lo = _mm256_unpacklo_epi16(a, b), hi = _mm256_unpackhi_epi16(a, b);
                for (int j = 0; j < OB; ++j) {
                    const __m256i w = _mm256_set1_epi32(wv[j]);
                    lo_acc[j] = _mm256_add_epi32(lo_acc[j], _mm256_madd_epi16(lo, w));
                    hi_acc[j] = _mm256_add_epi32(hi_acc[j], _mm256_madd_epi16(hi, w));
                }
            }
        }
        for (int j = 0; j < OB; ++j) store_tile(out[j] + q0, lo_acc[j], hi_acc[j]);
    }
}

// The same kernel with vpdpwssd (AVX-512 VNNI, 256-bit): acc + a0 * w0 + a1 * w1 in one
// instruction, wrapping like pmaddwd + paddd (which never wrap here, see conv_fast.h).
#define KPUSIM_VNNI __attribute__((target("avx2,avx512f,avx512vl,avx512vnni")))

template <int OB>
KPUSIM_VNNI void normal_block_vnni(const PaddedInput& in, const Geometry& g, uint64_t q_begin,
                                   uint64_t q_end, const int32_t* wp, int32_t* const* out) {
    const uint32_t channels = in.channels, pairs = (channels + 1) / 2, taps = g.taps;
    for (uint64_t q0 = q_begin; q0 < q_end; q0 += kTile) {
        __m256i lo_acc[OB], hi_acc[OB];
        for (int j = 0; j < OB; ++j) lo_acc[j] = hi_acc[j] = _mm256_setzero_si256();
        const int32_t* wv = wp;
        for (uint32_t cp = 0; cp < pairs; ++cp) {
            const uint32_t c = 2 * cp;
            const int16_t* pa = in.plane(c) + q0;
            const int16_t* pb = c + 1 < channels ? in.plane(c + 1) + q0 : pa;
            for (uint32_t t = 0; t < taps; ++t, wv += OB) {
                const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pa + g.offset[t]));
                const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pb + g.offset[t]));
                const __m256i lo = _mm256_unpacklo_epi16(a, b), hi = _mm256_unpackhi_epi16(a, b);
                for (int j = 0; j < OB; ++j) {
                    const __m256i w = _mm256_set1_epi32(wv[j]);
                    lo_acc[j] = _mm256_dpwssd_epi32(lo_acc[j], lo, w);
                    hi_acc[j] = _mm256_dpwssd_epi32(hi_acc[j], hi, w);
                }
            }
        }
        for (int j = 0; j < OB; ++j) {
            int32_t* o = out[j] + q0;
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), _mm256_permute2x128_si256(lo_acc[j], hi_acc[j], 0x20));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 8), _mm256_permute2x128_si256(lo_acc[j], hi_acc[j], 0x31));
        }
    }
}

template <typename W>
KPUSIM_AVX2 void normal_avx2(const PaddedInput& in, const Geometry& g, uint32_t outputs,
                             const W* w, int32_t* acc, bool vnni) {
    constexpr uint32_t kOb = 6;
    const uint64_t chunk = chunk_positions(in.channels, g.positions);
    // Pack every output block's weights once, block b at b x block_size (a buffer kept per
    // thread: no allocation per layer).
    const uint32_t blocks = (outputs + kOb - 1) / kOb;
    const uint64_t block_size = uint64_t{(in.channels + 1) / 2} * g.taps * kOb;
    thread_local std::vector<int32_t> packed;
    if (packed.size() < blocks * block_size) packed.resize(blocks * block_size);
    for (uint32_t b = 0; b < blocks; ++b)
        pack_normal(w, in.channels, g.taps, b * kOb, std::min(kOb, outputs - b * kOb), packed.data() + b * block_size);
    for (uint64_t q0 = 0; q0 < g.positions; q0 += chunk) {
        const uint64_t q1 = std::min(g.positions, q0 + chunk);
        for (uint32_t b = 0; b < blocks; ++b) {
            const uint32_t o0 = b * kOb, ob = std::min(kOb, outputs - o0);
            int32_t* out[kOb];
            for (uint32_t j = 0; j < ob; ++j) out[j] = acc + uint64_t{o0 + j} * g.positions;
            const int32_t* wp = packed.data() + b * block_size;
            if (vnni) {
                switch (ob) {
                    case 6: normal_block_vnni<6>(in, g, q0, q1, wp, out); break;
                    case 5: normal_block_vnni<5>(in, g, q0, q1, wp, out); break;
                    case 4: normal_block_vnni<4>(in, g, q0, q1, wp, out); break;
                    case 3: normal_block_vnni<3>(in, g, q0, q1, wp, out); break;
                    case 2: normal_block_vnni<2>(in, g, q0, q1, wp, out); break;
                    default: normal_block_vnni<1>(in, g, q0, q1, wp, out); break;
                }
                continue;
            }
            switch (ob) {
                case 6: normal_block_avx2<6>(in, g, q0, q1, wp, out); break;
                case 5: normal_block_avx2<5>(in, g, q0, q1, wp, out); break;
                case 4: normal_block_avx2<4>(in, g, q0, q1, wp, out); break;
                case 3: normal_block_avx2<3>(in, g, q0, q1, wp, out); break;
                case 2: normal_block_avx2<2>(in, g, q0, q1, wp, out); break;
                default: normal_block_avx2<1>(in, g, q0, q1, wp, out); break;
            }
        }
    }
}

template <typename W>
KPUSIM_AVX2 void depthwise_avx2(const PaddedInput& in, const Geometry& g, uint32_t outputs,
                                const W* w, int32_t* acc) {
    const uint32_t taps = g.taps, pairs = (taps + 1) / 2;
    for (uint32_t o = 0; o < outputs; ++o) {
        const W* wo = w + uint64_t{o} * taps;
        __m256i wv[5];
        uint32_t off_a[5], off_b[5];
        for (uint32_t tp = 0; tp < pairs; ++tp) {
            const uint32_t t = 2 * tp;
            const bool partner = t + 1 < taps;
            wv[tp] = _mm256_set1_epi32(pair(wo[t], partner ? wo[t + 1] : 0));
            off_a[tp] = g.offset[t];
            off_b[tp] = partner ? g.offset[t + 1] : g.offset[t];
        }
        const int16_t* p = in.plane(o);
        int32_t* a = acc + uint64_t{o} * g.positions;
        for (uint64_t q0 = 0; q0 < g.positions; q0 += kTile) {
            __m256i lo_acc = _mm256_setzero_si256(), hi_acc = _mm256_setzero_si256();
            for (uint32_t tp = 0; tp < pairs; ++tp) {
                const __m256i x = load16(p + q0 + off_a[tp]), y = load16(p + q0 + off_b[tp]);
                lo_acc = _mm256_add_epi32(lo_acc, _mm256_madd_epi16(_mm256_unpacklo_epi16(x, y), wv[tp]));
                hi_acc = _mm256_add_epi32(hi_acc, _mm256_madd_epi16(_mm256_unpackhi_epi16(x, y), wv[tp]));
            }
            store_tile(a + q0, lo_acc, hi_acc);
        }
    }
}

#endif  // __x86_64__

}  // namespace

bool conv_avx2_available() {
#if defined(__x86_64__)
    static const bool available = __builtin_cpu_supports("avx2");
    return available;
#else
    return false;
#endif
}

bool conv_vnni_available() {
#if defined(__x86_64__)
    static const bool available = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") &&
                                  __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
    return available;
#else
    return false;
#endif
}

FastAccLayout fast_acc_layout(const PaddedInput& in) {
    FastAccLayout l;
    l.row_stride = in.padded_width();
    l.plane_stride = round_up(uint64_t{in.height - 1} * l.row_stride + in.width, kTile);
    return l;
}

namespace {

// The checks shared by both weight types; returns false when there is nothing to compute.
bool check_fast_arguments(const PaddedInput& in, uint32_t kernel, bool depthwise, uint32_t outputs, ConvIsa isa) {
    if (kernel != 1 && kernel != 3)
        throw std::invalid_argument("conv_products_fast: kernel " + std::to_string(kernel) +
                                    " (expected 1 or 3)");
    if (in.pad != (kernel == 3 ? 1u : 0u))
        throw std::invalid_argument("conv_products_fast: a " + std::to_string(kernel) + "x" +
                                    std::to_string(kernel) + " kernel needs pad " +
                                    (kernel == 3 ? "1" : "0"));
    if (isa == ConvIsa::avx2 || isa == ConvIsa::avx512vnni) {
        if (!conv_avx2_available())
            throw std::invalid_argument("conv_products_fast: AVX2 is not available on this CPU/build");
        if (isa == ConvIsa::avx512vnni && !conv_vnni_available())
            throw std::invalid_argument("conv_products_fast: AVX-512 VNNI is not available on this CPU/build");
    }
    if (in.channels == 0 || in.width == 0 || in.height == 0 || outputs == 0) return false;
    const Geometry g = geometry(in, kernel);
    if (in.pixels.size() < uint64_t{in.channels} * g.plane + kPaddedInputSlack)
        throw std::invalid_argument("conv_products_fast: the padded input needs " +
                                    std::to_string(kPaddedInputSlack) +
                                    " elements of slack after its last plane");
    if (depthwise && outputs != in.channels)
        throw std::invalid_argument("conv_products_fast: a depthwise layer has as many outputs as inputs");
    return true;
}

template <typename W>
void dispatch(const PaddedInput& in, uint32_t kernel, bool depthwise, uint32_t outputs, const W* weights,
              int32_t* acc, ConvIsa isa) {
    const Geometry g = geometry(in, kernel);
    const bool use_avx2 = isa == ConvIsa::avx2 || isa == ConvIsa::avx512vnni ||
                          (isa == ConvIsa::automatic && conv_avx2_available());
    const bool use_vnni = isa == ConvIsa::avx512vnni || (isa == ConvIsa::automatic && conv_vnni_available());
#if defined(__x86_64__)
    if (use_avx2) {
        if (depthwise) depthwise_avx2(in, g, outputs, weights, acc);
        else normal_avx2(in, g, outputs, weights, acc, use_vnni);
        return;
    }
#endif
    (void)use_avx2;
    (void)use_vnni;
    if (depthwise) depthwise_portable(in, g, outputs, weights, acc);
    else normal_portable(in, g, outputs, weights, acc);
}

}  // namespace

void conv_products_fast(const PaddedInput& in, uint32_t kernel, bool depthwise, uint32_t outputs,
                        const int32_t* weights, int32_t* acc, ConvIsa isa) {
    if (!check_fast_arguments(in, kernel, depthwise, outputs, isa)) return;
    const uint64_t n_weights = uint64_t{outputs} * (depthwise ? 1 : in.channels) * kernel * kernel;
    uint32_t bits = 0;  // any weight outside 0..255 sets a bit above bit 7 (branch-free, vectorised)
    for (uint64_t i = 0; i < n_weights; ++i) bits |= static_cast<uint32_t>(weights[i]);
    if (bits > 255)
        for (uint64_t i = 0; i < n_weights; ++i)
            if (weights[i] < 0 || weights[i] > 255)
                throw std::invalid_argument("conv_products_fast: weight " + std::to_string(weights[i]) +
                                            " outside 0..255 (8-bit weights only)");
    dispatch(in, kernel, depthwise, outputs, weights, acc, isa);
}

void conv_products_fast(const PaddedInput& in, uint32_t kernel, bool depthwise, uint32_t outputs,
                        const uint8_t* weights, int32_t* acc, ConvIsa isa) {
    if (!check_fast_arguments(in, kernel, depthwise, outputs, isa)) return;
    dispatch(in, kernel, depthwise, outputs, weights, acc, isa);
}

}  // namespace kpusim::kpu
