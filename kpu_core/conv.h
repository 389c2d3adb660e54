// Convolution stage of the KPU (spec §6.1, §6.2): the k x k window over all input channels
// of the group, evaluated at every input position (stride comes only from pooling).
#pragma once

#include <cstdint>
#include <vector>

namespace kpusim::kpu {

/// Input of the convolution stage: IC planes of H x W pixels, already padded by `pad`
/// pixels on each side with pad_value (pad = 1 for 3x3, 0 for 1x1), as int16.
struct PaddedInput {
    uint32_t channels = 0, height = 0, width = 0, pad = 0;
    std::vector<int16_t> pixels;  ///< channels x (height + 2 pad) x (width + 2 pad)
    uint32_t padded_width() const { return width + 2 * pad; }
    uint32_t padded_height() const { return height + 2 * pad; }
    const int16_t* plane(uint32_t c) const {
        return pixels.data() + uint64_t{c} * padded_height() * padded_width();
    }
};

/// S_x of spec §6.2 for every position: the sum of input bytes (padding included) over the
/// k x k window and the channels [c0, c0 + count). Result: height x width values.
/// |S_x| <= 1024 channels x 9 taps x 255 < 2^22, so int32 holds it.
void window_input_sums(const PaddedInput& in, uint32_t kernel, uint32_t c0, uint32_t count,
                       std::vector<int32_t>& out);

/// Most output channels accumulated in one pass over the input (register blocking).
inline constexpr uint32_t kOutputBlock = 4;

/// S_xw of spec §6.2 for `outputs` (1..kOutputBlock) output channels at once: for output j,
/// the sum over channels [c0, c0 + count) and the k x k taps of pixel x weight, with
/// `weights[j]` holding count x k x k values ([ic][ky][kx]). Accumulates into `acc[j]`
/// (height x width each), which the caller zeroes.
/// Acc is int32_t (8-bit weights: |sum| < 2^31 for up to 1024 channels x 9 taps x 255 x 255)
/// or int64_t (16-bit weights).
template <typename Acc>
void accumulate_products(const PaddedInput& in, uint32_t kernel, uint32_t c0, uint32_t count,
                         uint32_t outputs, const int32_t* const* weights, Acc* const* acc);

}  // namespace kpusim::kpu
