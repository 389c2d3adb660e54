#include "kpu_core/pool.h"

#include <algorithm>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace kpusim::kpu {

namespace {

// 2 x 2 windows of rows r0 and r1 (2 x ow bytes each), 16 outputs at a time with SSE2 (part of
// every x86-64 CPU); returns how many outputs were written (the caller does the rest).
enum class Window2x2 { max, mean };

template <Window2x2 kind>
uint32_t pool_2x2_sse2(const uint8_t* r0, const uint8_t* r1, uint32_t ow, uint8_t* out) {
#if defined(__SSE2__)
    const uint32_t done = ow / 16 * 16;
    // Each 16-bit lane holds a pixel pair: the low byte is the left pixel, the high byte the right.
    const __m128i low = _mm_set1_epi16(0x00FF);
    auto left = [&](__m128i v) { return _mm_and_si128(v, low); };
    auto right = [](__m128i v) { return _mm_srli_epi16(v, 8); };
    for (uint32_t ox = 0; ox < done; ox += 16) {
        __m128i v[2];
        for (int h = 0; h < 2; ++h) {
            const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + 2 * ox + 16 * h));
            const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r1 + 2 * ox + 16 * h));
            if constexpr (kind == Window2x2::max) {
                const __m128i m = _mm_max_epu8(a, b);  // the column maxima
                v[h] = _mm_max_epi16(left(m), right(m));
            } else {  // floored mean: the sum of four bytes is below 2^10, exact in 16 bits
                const __m128i sum = _mm_add_epi16(_mm_add_epi16(left(a), right(a)), _mm_add_epi16(left(b), right(b)));
                v[h] = _mm_srli_epi16(sum, 2);
            }
        }
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + ox), _mm_packus_epi16(v[0], v[1]));
    }
    return done;
#else
    (void)r0, (void)r1, (void)ow, (void)out;
    return 0;
#endif
}

}  // namespace

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
                const uint8_t* r0 = in + uint64_t{y0} * w;
                const uint8_t* r1 = r0 + w;
                for (uint32_t ox = pool_2x2_sse2<Window2x2::max>(r0, r1, ow, o); ox < ow; ++ox) {
                    const uint8_t a = std::max(r0[2 * ox], r0[2 * ox + 1]);
                    const uint8_t b = std::max(r1[2 * ox], r1[2 * ox + 1]);
                    o[ox] = std::max(a, b);
                }
                break;
            }
            case PoolType::mean_2_s2: {
                const uint8_t* r0 = in + uint64_t{y0} * w;
                const uint8_t* r1 = r0 + w;
                for (uint32_t ox = pool_2x2_sse2<Window2x2::mean>(r0, r1, ow, o); ox < ow; ++ox)
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
