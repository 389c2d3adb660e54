// AVX2 versions of the per-pixel stages after the convolution (spec §6.2 offsets, §6.3
// batch-norm, §6.4 activation), bit-exact to the scalar code of kpu_layer.cpp,
// batchnorm.h and activation.cpp: 64-bit lanes with the same wrapping arithmetic
// (64-bit products modulo 2^64, flooring arithmetic shifts).
//
// Each function handles a prefix of the `n` elements and returns its length (a multiple of
// the vector width; 0 when AVX2 is not available on this CPU/build); the caller finishes the
// rest with the scalar code.
#pragma once

#include <cstdint>

namespace kpusim::kpu::simd {

/// True when this build and the running CPU run the AVX2 paths.
bool available();

/// out[i] = apply_batchnorm(acc[i] + xterm[i] + per_channel, bn) for the prefix handled (xterm:
/// the (arg_x x S_x) >> shr_x term of each position); also lowers *lo / raises *hi to the
/// minimum / maximum of those outputs. `conv_fits_int32`: the caller knows every sum
/// acc + xterm + per_channel fits int32 (then one 32 x 32 multiply is exact).
uint64_t conv_batchnorm(const int32_t* acc, const int64_t* xterm, uint64_t n, int64_t per_channel,
                        int64_t norm_mul, uint32_t norm_shift, int64_t norm_add, bool conv_fits_int32,
                        int64_t* out, int64_t* lo, int64_t* hi);

/// out[i] = (arg_x x sx[i]) >> shr_x (flooring) for the prefix handled, |arg_x| < 2^23,
/// |sx[i]| < 2^22; lowers *lo / raises *hi to the minimum / maximum of those outputs.
uint64_t offset_term(const int32_t* sx, uint64_t n, int64_t arg_x, uint32_t shr_x, int64_t* out, int64_t* lo,
                     int64_t* hi);

/// The minimum and maximum of v[0..n) (n >= 1), all of it.
void minmax(const int64_t* v, uint64_t n, int64_t* lo, int64_t* hi);

/// The one-rising-segment activation of activate_plane's fast path: for v = bn[i],
/// inside = v > x_start (reference rule) or v >= x_start (v01); inside: p = (v - x_start) * mul
/// (known < 2^62), r = p >> shift rounded (reference: half to even, v01: half up),
/// out = min(r + bias, 255); outside: out = constant. Preconditions: shift < 63, mul < 2^16.
uint64_t activate_linear(const int64_t* bn, uint64_t n, int64_t x_start, uint64_t mul, uint32_t shift,
                         uint32_t bias, uint8_t constant, bool reference, uint8_t* out);

/// conv_activate() in double precision, 4 lanes with a third of the instructions: exact when
/// every intermediate is an integer (or a power-of-two fraction) below 2^52 in magnitude, which
/// the caller checks from the bounds: |conv x norm_mul| < 2^52 and, for values above x_start,
/// (bn - x_start) x mul < 2^52. Then floor((conv x norm_mul) / 2^norm_shift) is the flooring
/// shift, and rounding (bn - x_start) x mul / 2^shift to nearest-even (reference) or
/// floor(. + 1/2) (v01) is ACT_ROUND / KCS of a non-negative value.
/// xterm: the offset term of each position as double; returns the prefix handled (multiple of 16).
uint64_t conv_activate_f64(const int32_t* acc, const double* xterm, uint64_t n, int64_t per_channel,
                           int64_t norm_mul, uint32_t norm_shift, int64_t norm_add, int64_t x_start, uint64_t mul,
                           uint32_t shift, uint32_t bias, uint8_t constant, bool reference, uint8_t* out);

/// out[i] = v[i] as a double, exactly, for the prefix handled; precondition |v[i]| < 2^51
/// (the offset terms are below 2^46). Returns the prefix length handled (a multiple of 4).
uint64_t to_double(const int64_t* v, uint64_t n, double* out);

/// The minimum and maximum of v[0..n) (n >= 1), all of it.
void minmax32(const int32_t* v, uint64_t n, int32_t* lo, int32_t* hi);

/// conv_batchnorm() then activate_linear() in one pass, without storing the batch-norm
/// values: out[i] = the activation byte of apply_batchnorm(acc[i] + xterm[i] + per_channel).
/// Precondition: every such value is one activate_linear() handles exactly (the caller
/// bounds them). Returns the prefix length handled (a multiple of 16).
uint64_t conv_activate(const int32_t* acc, const int64_t* xterm, uint64_t n, int64_t per_channel,
                       int64_t norm_mul, uint32_t norm_shift, int64_t norm_add, bool conv_fits_int32,
                       int64_t x_start, uint64_t mul, uint32_t shift, uint32_t bias, uint8_t constant,
                       bool reference, uint8_t* out);

}  // namespace kpusim::kpu::simd
