#include "kpu_core/postprocess_simd.h"

#include "kpu_core/conv_fast.h"

#include <algorithm>
#include <climits>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace kpusim::kpu::simd {

bool available() { return conv_avx2_available(); }

#if defined(__x86_64__)

namespace {

#define KPUSIM_AVX2 __attribute__((target("avx2")))

// a * b modulo 2^64 in each 64-bit lane (AVX2 has no 64-bit multiply).
KPUSIM_AVX2 inline __m256i mullo64(__m256i a, __m256i b) {
    const __m256i lo = _mm256_mul_epu32(a, b);
    const __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), b),
                                           _mm256_mul_epu32(a, _mm256_srli_epi64(b, 32)));
    return _mm256_add_epi64(lo, _mm256_slli_epi64(cross, 32));
}

// Arithmetic (flooring) right shift of 64-bit lanes by s in 0..63.
KPUSIM_AVX2 inline __m256i srai64(__m256i x, __m128i s, __m128i s_complement) {
    const __m256i sign = _mm256_cmpgt_epi64(_mm256_setzero_si256(), x);
    // s = 0: s_complement is 64 and the shift gives 0.
    return _mm256_or_si256(_mm256_srl_epi64(x, s), _mm256_sll_epi64(sign, s_complement));
}

KPUSIM_AVX2 inline __m256i min64(__m256i a, __m256i b) { return _mm256_blendv_epi8(a, b, _mm256_cmpgt_epi64(a, b)); }
KPUSIM_AVX2 inline __m256i max64(__m256i a, __m256i b) { return _mm256_blendv_epi8(b, a, _mm256_cmpgt_epi64(a, b)); }

KPUSIM_AVX2 void reduce(__m256i vlo, __m256i vhi, int64_t* lo, int64_t* hi) {
    alignas(32) int64_t l[4], h[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(l), vlo);
    _mm256_store_si256(reinterpret_cast<__m256i*>(h), vhi);
    for (int i = 0; i < 4; ++i) {
        if (l[i] < *lo) *lo = l[i];
        if (h[i] > *hi) *hi = h[i];
    }
}

KPUSIM_AVX2 uint64_t offset_term_avx2(const int32_t* sx, uint64_t n, int64_t arg_x, uint32_t shr_x, int64_t* out,
                                      int64_t* lo, int64_t* hi) {
    const uint64_t done = n / 4 * 4;
    if (done == 0) return 0;
    const __m256i ax = _mm256_set1_epi64x(arg_x);
    const __m128i s = _mm_cvtsi32_si128(static_cast<int>(shr_x)), c = _mm_cvtsi32_si128(static_cast<int>(64 - shr_x));
    __m256i vlo = _mm256_set1_epi64x(INT64_MAX), vhi = _mm256_set1_epi64x(INT64_MIN);
    for (uint64_t i = 0; i < done; i += 4) {
        const __m256i v = _mm256_cvtepi32_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sx + i)));
        // Both factors fit int32: the signed 32 x 32 product is exact.
        const __m256i t = srai64(_mm256_mul_epi32(v, ax), s, c);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), t);
        vlo = min64(vlo, t);
        vhi = max64(vhi, t);
    }
    reduce(vlo, vhi, lo, hi);
    return done;
}

template <bool kFitsInt32>
KPUSIM_AVX2 uint64_t conv_batchnorm_avx2(const int32_t* acc, const int64_t* xterm, uint64_t n,
                                         int64_t per_channel, int64_t norm_mul, uint32_t norm_shift,
                                         int64_t norm_add, int64_t* out, int64_t* lo, int64_t* hi) {
    const uint64_t done = n / 4 * 4;
    if (done == 0) return 0;
    const __m256i pc = _mm256_set1_epi64x(per_channel);
    const __m256i mul = _mm256_set1_epi64x(norm_mul), add = _mm256_set1_epi64x(norm_add);
    const __m128i bn_s = _mm_cvtsi32_si128(static_cast<int>(norm_shift)),
                  bn_c = _mm_cvtsi32_si128(static_cast<int>(64 - norm_shift));
    __m256i vlo = _mm256_set1_epi64x(INT64_MAX), vhi = _mm256_set1_epi64x(INT64_MIN);
    for (uint64_t i = 0; i < done; i += 4) {
        const __m256i a = _mm256_cvtepi32_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(acc + i)));
        const __m256i xt = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xterm + i));
        const __m256i conv = _mm256_add_epi64(_mm256_add_epi64(a, xt), pc);
        // conv in int32 and norm_mul 24-bit: the signed 32 x 32 product is the exact one.
        const __m256i product = kFitsInt32 ? _mm256_mul_epi32(conv, mul) : mullo64(conv, mul);
        const __m256i bn = _mm256_add_epi64(srai64(product, bn_s, bn_c), add);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), bn);
        vlo = min64(vlo, bn);
        vhi = max64(vhi, bn);
    }
    reduce(vlo, vhi, lo, hi);
    return done;
}

KPUSIM_AVX2 void minmax_avx2(const int64_t* v, uint64_t n, int64_t* lo, int64_t* hi) {
    *lo = v[0];
    *hi = v[0];
    const uint64_t done = n / 4 * 4;
    if (done) {
        __m256i vlo = _mm256_set1_epi64x(INT64_MAX), vhi = _mm256_set1_epi64x(INT64_MIN);
        for (uint64_t i = 0; i < done; i += 4) {
            const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v + i));
            vlo = min64(vlo, x);
            vhi = max64(vhi, x);
        }
        reduce(vlo, vhi, lo, hi);
    }
    for (uint64_t i = done; i < n; ++i) {
        if (v[i] < *lo) *lo = v[i];
        if (v[i] > *hi) *hi = v[i];
    }
}

KPUSIM_AVX2 inline __m256i activate4(__m256i v, __m256i xs, __m256i mul, __m128i sh, __m256i mask,
                                     __m256i half, bool rounding, bool reference, __m256i bias,
                                     __m256i constant) {
    const __m256i one = _mm256_set1_epi64x(1), limit = _mm256_set1_epi64x(255);
    const __m256i inside = reference ? _mm256_cmpgt_epi64(v, xs)
                                     : _mm256_xor_si256(_mm256_cmpgt_epi64(xs, v), _mm256_set1_epi64x(-1));
    // mul < 2^16: the low 32 bits of mul hold it all.
    const __m256i d = _mm256_sub_epi64(v, xs);
    const __m256i p = _mm256_add_epi64(_mm256_mul_epu32(d, mul),
                                       _mm256_slli_epi64(_mm256_mul_epu32(_mm256_srli_epi64(d, 32), mul), 32));
    __m256i r = _mm256_srl_epi64(p, sh);
    if (rounding) {
        const __m256i f = _mm256_and_si256(p, mask);
        __m256i up;
        if (reference)
            up = _mm256_or_si256(_mm256_cmpgt_epi64(f, half),
                                 _mm256_and_si256(_mm256_cmpeq_epi64(f, half),
                                                  _mm256_cmpeq_epi64(_mm256_and_si256(r, one), one)));
        else
            up = _mm256_xor_si256(_mm256_cmpgt_epi64(half, f), _mm256_set1_epi64x(-1));
        r = _mm256_sub_epi64(r, up);  // up is all ones (-1) where the value rounds up
    }
    __m256i value = _mm256_add_epi64(r, bias);
    value = _mm256_blendv_epi8(value, limit, _mm256_cmpgt_epi64(value, limit));
    return _mm256_blendv_epi8(constant, value, inside);
}

KPUSIM_AVX2 uint64_t activate_linear_avx2(const int64_t* bn, uint64_t n, int64_t x_start, uint64_t mul,
                                          uint32_t shift, uint32_t bias, uint8_t constant, bool reference,
                                          uint8_t* out) {
    const uint64_t done = n / 16 * 16;
    const __m256i xs = _mm256_set1_epi64x(x_start), m = _mm256_set1_epi64x(static_cast<int64_t>(mul));
    const __m128i sh = _mm_cvtsi32_si128(static_cast<int>(shift));
    const uint64_t mask_v = shift ? (uint64_t{1} << shift) - 1 : 0, half_v = shift ? uint64_t{1} << (shift - 1) : 0;
    const __m256i mask = _mm256_set1_epi64x(static_cast<int64_t>(mask_v)),
                  half = _mm256_set1_epi64x(static_cast<int64_t>(half_v));
    const __m256i b = _mm256_set1_epi64x(bias), c = _mm256_set1_epi64x(constant);
    const bool rounding = shift != 0;
    const __m256i pick = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    for (uint64_t i = 0; i < done; i += 16) {
        __m128i q[4];
        for (int k = 0; k < 4; ++k) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bn + i + 4 * k));
            const __m256i r = activate4(v, xs, m, sh, mask, half, rounding, reference, b, c);
            q[k] = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(r, pick));  // 4 x int32 0..255
        }
        const __m128i w0 = _mm_packus_epi32(q[0], q[1]), w1 = _mm_packus_epi32(q[2], q[3]);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm_packus_epi16(w0, w1));
    }
    return done;
}

template <bool kFitsInt32>
KPUSIM_AVX2 inline __m256i batchnorm4(const int32_t* acc, const int64_t* xterm, __m256i pc, __m256i mul,
                                      __m128i bn_s, __m128i bn_c, __m256i add) {
    const __m256i a = _mm256_cvtepi32_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(acc)));
    const __m256i xt = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xterm));
    const __m256i conv = _mm256_add_epi64(_mm256_add_epi64(a, xt), pc);
    const __m256i product = kFitsInt32 ? _mm256_mul_epi32(conv, mul) : mullo64(conv, mul);
    return _mm256_add_epi64(srai64(product, bn_s, bn_c), add);
}

template <bool kFitsInt32>
KPUSIM_AVX2 uint64_t conv_activate_avx2(const int32_t* acc, const int64_t* xterm, uint64_t n, int64_t per_channel,
                                        int64_t norm_mul, uint32_t norm_shift, int64_t norm_add, int64_t x_start,
                                        uint64_t act_mul, uint32_t shift, uint32_t bias, uint8_t constant,
                                        bool reference, uint8_t* out) {
    const uint64_t done = n / 16 * 16;
    const __m256i pc = _mm256_set1_epi64x(per_channel);
    const __m256i mul = _mm256_set1_epi64x(norm_mul), add = _mm256_set1_epi64x(norm_add);
    const __m128i bn_s = _mm_cvtsi32_si128(static_cast<int>(norm_shift)),
                  bn_c = _mm_cvtsi32_si128(static_cast<int>(64 - norm_shift));
    const __m256i xs = _mm256_set1_epi64x(x_start), m = _mm256_set1_epi64x(static_cast<int64_t>(act_mul));
    const __m128i sh = _mm_cvtsi32_si128(static_cast<int>(shift));
    const uint64_t mask_v = shift ? (uint64_t{1} << shift) - 1 : 0, half_v = shift ? uint64_t{1} << (shift - 1) : 0;
    const __m256i mask = _mm256_set1_epi64x(static_cast<int64_t>(mask_v)),
                  half = _mm256_set1_epi64x(static_cast<int64_t>(half_v));
    const __m256i b = _mm256_set1_epi64x(bias), c = _mm256_set1_epi64x(constant);
    const bool rounding = shift != 0;
    const __m256i pick = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    for (uint64_t i = 0; i < done; i += 16) {
        __m128i q[4];
        for (int k = 0; k < 4; ++k) {
            const __m256i v = batchnorm4<kFitsInt32>(acc + i + 4 * k, xterm + i + 4 * k, pc, mul, bn_s, bn_c, add);
            const __m256i r = activate4(v, xs, m, sh, mask, half, rounding, reference, b, c);
            q[k] = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(r, pick));
        }
        const __m128i w0 = _mm_packus_epi32(q[0], q[1]), w1 = _mm_packus_epi32(q[2], q[3]);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm_packus_epi16(w0, w1));
    }
    return done;
}

KPUSIM_AVX2 uint64_t conv_activate_f64_avx2(const int32_t* acc, const double* xterm, uint64_t n, int64_t per_channel,
                                            int64_t norm_mul, uint32_t norm_shift, int64_t norm_add, int64_t x_start,
                                            uint64_t act_mul, uint32_t shift, uint32_t bias, uint8_t constant,
                                            bool reference, uint8_t* out) {
    const uint64_t done = n / 16 * 16;
    const __m256d pc = _mm256_set1_pd(static_cast<double>(per_channel));
    // norm_mul / 2^norm_shift and 1 / 2^shift are exact doubles.
    const __m256d nm = _mm256_set1_pd(static_cast<double>(norm_mul) / static_cast<double>(uint64_t{1} << norm_shift));
    const __m256d na = _mm256_set1_pd(static_cast<double>(norm_add));
    const __m256d xs = _mm256_set1_pd(static_cast<double>(x_start));
    const __m256d m = _mm256_set1_pd(static_cast<double>(act_mul));
    const __m256d inv = _mm256_set1_pd(1.0 / static_cast<double>(uint64_t{1} << shift));
    const __m256d b = _mm256_set1_pd(static_cast<double>(bias)), c = _mm256_set1_pd(static_cast<double>(constant));
    const __m256d limit = _mm256_set1_pd(255.0), half = _mm256_set1_pd(0.5);
    for (uint64_t i = 0; i < done; i += 16) {
        __m128i q[4];
        for (int k = 0; k < 4; ++k) {
            const uint64_t at = i + 4 * k;
            const __m256d a = _mm256_cvtepi32_pd(_mm_loadu_si128(reinterpret_cast<const __m128i*>(acc + at)));
            const __m256d conv = _mm256_add_pd(_mm256_add_pd(a, _mm256_loadu_pd(xterm + at)), pc);
            const __m256d bn = _mm256_add_pd(_mm256_floor_pd(_mm256_mul_pd(conv, nm)), na);
            const __m256d inside = reference ? _mm256_cmp_pd(bn, xs, _CMP_GT_OQ) : _mm256_cmp_pd(bn, xs, _CMP_GE_OQ);
            const __m256d x = _mm256_mul_pd(_mm256_mul_pd(_mm256_sub_pd(bn, xs), m), inv);
            const __m256d r = reference ? _mm256_round_pd(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
                                        : _mm256_floor_pd(_mm256_add_pd(x, half));
            const __m256d value = _mm256_min_pd(_mm256_add_pd(r, b), limit);
            q[k] = _mm256_cvtpd_epi32(_mm256_blendv_pd(c, value, inside));  // 0..255, exact
        }
        const __m128i w0 = _mm_packus_epi32(q[0], q[1]), w1 = _mm_packus_epi32(q[2], q[3]);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm_packus_epi16(w0, w1));
    }
    return done;
}

// int64 -> double for |v| < 2^51 (AVX2 has no such conversion): adding v to the bits of
// 1.5 x 2^52 puts v in the mantissa of a double in [2^52, 2^53); subtracting 1.5 x 2^52
// leaves v, exactly.
KPUSIM_AVX2 uint64_t to_double_avx2(const int64_t* v, uint64_t n, double* out) {
    const uint64_t done = n / 4 * 4;
    const __m256d magic = _mm256_set1_pd(6755399441055744.0);  // 1.5 x 2^52
    const __m256i magic_bits = _mm256_castpd_si256(magic);
    for (uint64_t i = 0; i < done; i += 4) {
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v + i));
        _mm256_storeu_pd(out + i, _mm256_sub_pd(_mm256_castsi256_pd(_mm256_add_epi64(x, magic_bits)), magic));
    }
    return done;
}

KPUSIM_AVX2 void minmax32_avx2(const int32_t* v, uint64_t n, int32_t* lo, int32_t* hi) {
    *lo = v[0];
    *hi = v[0];
    const uint64_t done = n / 8 * 8;
    if (done) {
        __m256i vlo = _mm256_set1_epi32(INT32_MAX), vhi = _mm256_set1_epi32(INT32_MIN);
        for (uint64_t i = 0; i < done; i += 8) {
            const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v + i));
            vlo = _mm256_min_epi32(vlo, x);
            vhi = _mm256_max_epi32(vhi, x);
        }
        alignas(32) int32_t l[8], h[8];
        _mm256_store_si256(reinterpret_cast<__m256i*>(l), vlo);
        _mm256_store_si256(reinterpret_cast<__m256i*>(h), vhi);
        for (int i = 0; i < 8; ++i) {
            *lo = std::min(*lo, l[i]);
            *hi = std::max(*hi, h[i]);
        }
    }
    for (uint64_t i = done; i < n; ++i) {
        *lo = std::min(*lo, v[i]);
        *hi = std::max(*hi, v[i]);
    }
}

}  // namespace

uint64_t conv_batchnorm(const int32_t* acc, const int64_t* xterm, uint64_t n, int64_t per_channel,
                        int64_t norm_mul, uint32_t norm_shift, int64_t norm_add, bool conv_fits_int32,
                        int64_t* out, int64_t* lo, int64_t* hi) {
    if (!available()) return 0;
    if (conv_fits_int32)
        return conv_batchnorm_avx2<true>(acc, xterm, n, per_channel, norm_mul, norm_shift, norm_add, out, lo, hi);
    return conv_batchnorm_avx2<false>(acc, xterm, n, per_channel, norm_mul, norm_shift, norm_add, out, lo, hi);
}

uint64_t conv_activate_f64(const int32_t* acc, const double* xterm, uint64_t n, int64_t per_channel,
                           int64_t norm_mul, uint32_t norm_shift, int64_t norm_add, int64_t x_start, uint64_t mul,
                           uint32_t shift, uint32_t bias, uint8_t constant, bool reference, uint8_t* out) {
    if (!available()) return 0;
    return conv_activate_f64_avx2(acc, xterm, n, per_channel, norm_mul, norm_shift, norm_add, x_start, mul, shift,
                                  bias, constant, reference, out);
}

uint64_t to_double(const int64_t* v, uint64_t n, double* out) {
    if (!available()) return 0;
    return to_double_avx2(v, n, out);
}

void minmax32(const int32_t* v, uint64_t n, int32_t* lo, int32_t* hi) {
    if (available()) return minmax32_avx2(v, n, lo, hi);
    *lo = *hi = v[0];
    for (uint64_t i = 1; i < n; ++i) {
        *lo = std::min(*lo, v[i]);
        *hi = std::max(*hi, v[i]);
    }
}

uint64_t conv_activate(const int32_t* acc, const int64_t* xterm, uint64_t n, int64_t per_channel,
                       int64_t norm_mul, uint32_t norm_shift, int64_t norm_add, bool conv_fits_int32,
                       int64_t x_start, uint64_t mul, uint32_t shift, uint32_t bias, uint8_t constant,
                       bool reference, uint8_t* out) {
    if (!available()) return 0;
    if (conv_fits_int32)
        return conv_activate_avx2<true>(acc, xterm, n, per_channel, norm_mul, norm_shift, norm_add, x_start, mul,
                                        shift, bias, constant, reference, out);
    return conv_activate_avx2<false>(acc, xterm, n, per_channel, norm_mul, norm_shift, norm_add, x_start, mul,
                                     shift, bias, constant, reference, out);
}

uint64_t offset_term(const int32_t* sx, uint64_t n, int64_t arg_x, uint32_t shr_x, int64_t* out, int64_t* lo,
                     int64_t* hi) {
    if (!available()) return 0;
    return offset_term_avx2(sx, n, arg_x, shr_x, out, lo, hi);
}

void minmax(const int64_t* v, uint64_t n, int64_t* lo, int64_t* hi) {
    if (available()) return minmax_avx2(v, n, lo, hi);
    *lo = *hi = v[0];
    for (uint64_t i = 1; i < n; ++i) {
        if (v[i] < *lo) *lo = v[i];
        if (v[i] > *hi) *hi = v[i];
    }
}

uint64_t activate_linear(const int64_t* bn, uint64_t n, int64_t x_start, uint64_t mul, uint32_t shift,
                         uint32_t bias, uint8_t constant, bool reference, uint8_t* out) {
    if (!available()) return 0;
    return activate_linear_avx2(bn, n, x_start, mul, shift, bias, constant, reference, out);
}

#else  // not x86-64: the scalar code does everything

uint64_t conv_batchnorm(const int32_t*, const int64_t*, uint64_t, int64_t, int64_t, uint32_t, int64_t, bool,
                        int64_t*, int64_t*, int64_t*) {
    return 0;
}

uint64_t offset_term(const int32_t*, uint64_t, int64_t, uint32_t, int64_t*, int64_t*, int64_t*) { return 0; }

uint64_t to_double(const int64_t*, uint64_t, double*) { return 0; }

void minmax32(const int32_t* v, uint64_t n, int32_t* lo, int32_t* hi) {
    *lo = *hi = v[0];
    for (uint64_t i = 1; i < n; ++i) {
        *lo = std::min(*lo, v[i]);
        *hi = std::max(*hi, v[i]);
    }
}

uint64_t conv_activate(const int32_t*, const int64_t*, uint64_t, int64_t, int64_t, uint32_t, int64_t, bool, int64_t,
                       uint64_t, uint32_t, uint32_t, uint8_t, bool, uint8_t*) {
    return 0;
}

uint64_t conv_activate_f64(const int32_t*, const double*, uint64_t, int64_t, int64_t, uint32_t, int64_t, int64_t,
                           uint64_t, uint32_t, uint32_t, uint8_t, bool, uint8_t*) {
    return 0;
}

void minmax(const int64_t* v, uint64_t n, int64_t* lo, int64_t* hi) {
    *lo = *hi = v[0];
    for (uint64_t i = 1; i < n; ++i) {
        if (v[i] < *lo) *lo = v[i];
        if (v[i] > *hi) *hi = v[i];
    }
}

uint64_t activate_linear(const int64_t*, uint64_t, int64_t, uint64_t, uint32_t, uint32_t, uint8_t, bool, uint8_t*) {
    return 0;
}

#endif

}  // namespace kpusim::kpu::simd
