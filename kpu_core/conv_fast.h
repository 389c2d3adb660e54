// Fast multiply-accumulate of the convolution stage for 8-bit weights (spec §6.2 S_xw):
// an integer GEMM-style kernel over the padded input planes, bit-exact to the scalar
// reference accumulate_products() of conv.h, with run-time CPU dispatch (AVX-512 VNNI or AVX2
// when the CPU has them, a portable C++ kernel otherwise; no -march flag needed).
//
// Arithmetic: pixels (0..255, or the 8-bit pad value) and weights (0..255) are held as int16;
// pairs of products are summed exactly into int32 (x86 pmaddwd: |2 x 255 x 255| < 2^31) and
// accumulated in int32: |S_xw| <= 1024 channels x 9 taps x 255 x 255 < 2^30, so no partial or
// final sum can overflow.
#pragma once

#include <cstdint>

#include "kpu_core/conv.h"

namespace kpusim::kpu {

/// Extra int16 elements PaddedInput::pixels must hold past the last plane for the fast
/// kernels: they read whole 16-pixel tiles, up to 15 elements beyond the last padded pixel
/// (the values are never used).
inline constexpr uint32_t kPaddedInputSlack = 16;

/// Which implementation conv_products_fast() uses.
enum class ConvIsa {
    automatic,  ///< AVX2 when the running CPU supports it, else portable
    portable,   ///< plain C++ (any architecture)
    avx2,       ///< x86-64 AVX2; throws std::invalid_argument where not available
    /// x86-64 AVX-512 VNNI on 256-bit vectors (vpdpwssd: the pair multiply-add and the int32
    /// accumulation in one instruction, no saturation) for normal layers, AVX2 for depthwise;
    /// throws std::invalid_argument where not available.
    avx512vnni,
};

/// True when this build and the running CPU can run ConvIsa::avx2.
bool conv_avx2_available();
/// True when this build and the running CPU can run ConvIsa::avx512vnni (AVX2, AVX-512 VL
/// and VNNI). ConvIsa::automatic picks it first.
bool conv_vnni_available();

/// Output layout of conv_products_fast(): output channel o, input position (y, x) is at
/// acc[o * plane_stride + y * row_stride + x], where row_stride = in.padded_width() (the
/// positions x >= width in each row hold values that mean nothing).
struct FastAccLayout {
    uint64_t row_stride = 0;
    uint64_t plane_stride = 0;  ///< a multiple of 16, >= (height - 1) * row_stride + width
    uint64_t elements(uint32_t outputs) const { return plane_stride * outputs; }
};
FastAccLayout fast_acc_layout(const PaddedInput& in);

/// S_xw of spec §6.2 for every output channel and input position, 8-bit weights.
/// `weights`: 0..255 values as int32, [oc][g][k][k] with g = in.channels (normal) or 1
/// (depthwise, output o reads input channel o, so outputs == in.channels).
/// `acc`: fast_acc_layout(in).elements(outputs) int32 values, fully written (no zeroing needed).
/// Preconditions: kernel 1 (pad 0) or 3 (pad 1); in.pixels holds kPaddedInputSlack extra
/// elements; pixels and weights in 0..255. Throws std::invalid_argument when the slack is
/// missing, a weight is outside 0..255, or `isa` is avx2 where it is not available.
void conv_products_fast(const PaddedInput& in, uint32_t kernel, bool depthwise, uint32_t outputs,
                        const int32_t* weights, int32_t* acc, ConvIsa isa = ConvIsa::automatic);

/// The same with the weights as the kmodel stores them (one byte each, same order): no
/// conversion or range check needed. Throws as above, except for the weight range.
void conv_products_fast(const PaddedInput& in, uint32_t kernel, bool depthwise, uint32_t outputs,
                        const uint8_t* weights, int32_t* acc, ConvIsa isa = ConvIsa::automatic);

}  // namespace kpusim::kpu
