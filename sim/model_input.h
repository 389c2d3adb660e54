// Preparing a model's input: a picture (JPEG/PNG/BMP), a raw file, or a test pattern.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/layer_graph.h"

namespace kpusim {

/// Read `path` as the input of a model whose input is `in` (see the limits below).
/// - A JPEG, PNG or BMP picture (recognised by content, decoded with stb_image) is resized to
///   the input's W x H (stb_image_resize) and laid out as planar RGB888 (R plane, G plane,
///   B plane, rows top-down: the layout of MaixPy's pix_to_ai buffer) for 3-channel inputs,
///   or as one grey plane (stb's luma) for 1-channel inputs. Pictures need a uint8 input.
/// - Anything else is a raw file that must hold exactly in.bytes() bytes (uint8 CHW, or
///   little-endian float32 for float-input models).
/// Throws InputError naming the file and the problem (missing, undecodable, wrong size,
/// picture for a float or 2/4+-channel input).
/// A picture must have 1..kMaxPicturePixels pixels (so that decoding costs at most about
/// 4 x 3 x 2^26 bytes and linear time), and its pixel data must all be in the file (a
/// truncated BMP or binary PNM (P5/P6), which stb_image would accept with missing pixels,
/// is refused).
std::vector<uint8_t> load_model_input(const std::string& path, const ModelInput& in);

/// load_model_input() on bytes already in memory; `path` names them in errors.
std::vector<uint8_t> decode_model_input(const std::vector<uint8_t>& bytes, const std::string& path,
                                        const ModelInput& in);

/// Width and height in pixels of the picture file `path` (its header, read by stb_image), or
/// the model input's W x H when `path` is empty or not a picture stb_image reads (a raw
/// input). Detection boxes are scaled to this size.
std::pair<float, float> picture_size(const std::string& path, const ModelInput& in);

/// Largest picture (pixels) and picture side load_model_input() decodes: 2^26 (8192 x 8192)
/// and 2^24.
inline constexpr uint64_t kMaxPicturePixels = uint64_t{1} << 26;
inline constexpr uint64_t kMaxPictureSide = uint64_t{1} << 24;

/// A deterministic input for runs without --input: uint8 (c*61 + y*7 + x*3) mod 256, or
/// float32 values 0.5 + 0.25 * (i mod 8).
std::vector<uint8_t> test_pattern(const ModelInput& in);

}  // namespace kpusim
