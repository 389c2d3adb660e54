#include "sim/model_input.h"

#include <stb_image.h>
#include <stb_image_resize.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

#include "models/kmodel_error.h"

namespace kpusim {

std::vector<uint8_t> load_model_input(const std::string& path, const ModelInput& in) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw InputError("cannot open input file '" + path + "'");
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                                     std::istreambuf_iterator<char>());
    int w = 0, h = 0, comp = 0;
    const bool picture = bytes.size() <= static_cast<size_t>(INT32_MAX) &&
                         stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &comp);
    if (!picture) {
        if (bytes.size() != in.bytes())
            throw InputError("input file '" + path + "' is neither a JPEG/PNG/BMP picture nor a raw " +
                             to_string(in.type) + " tensor of the model's input size (" +
                             to_string(in.shape) + " = " + std::to_string(in.bytes()) +
                             " bytes); it has " + std::to_string(bytes.size()) + " bytes");
        return bytes;
    }
    if (in.type != DataType::uint8)
        throw InputError("input file '" + path + "' is a picture, but the model takes " +
                         to_string(in.type) + " input: give a raw file of " +
                         std::to_string(in.bytes()) + " bytes");
    const uint32_t channels = in.shape.c;
    if (channels != 1 && channels != 3)
        throw InputError("input file '" + path + "' is a picture, but the model's input has " +
                         std::to_string(channels) + " channels (pictures feed 1 or 3)");
    const int want = static_cast<int>(channels);
    std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
        stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &comp, want),
        stbi_image_free);
    if (!pixels)
        throw InputError("cannot decode picture '" + path + "': " + stbi_failure_reason());
    const int ow = static_cast<int>(in.shape.w), oh = static_cast<int>(in.shape.h);
    std::vector<uint8_t> resized(static_cast<size_t>(ow) * oh * channels);
    if (w == ow && h == oh) {
        std::memcpy(resized.data(), pixels.get(), resized.size());
    } else if (!stbir_resize_uint8(pixels.get(), w, h, 0, resized.data(), ow, oh, 0, want)) {
        throw InputError("cannot resize picture '" + path + "' to " + std::to_string(ow) + "x" +
                         std::to_string(oh));
    }
    // Interleaved RGBRGB... -> planar R, G, B.
    std::vector<uint8_t> planar(resized.size());
    const size_t plane = static_cast<size_t>(ow) * oh;
    for (size_t p = 0; p < plane; ++p)
        for (uint32_t c = 0; c < channels; ++c) planar[c * plane + p] = resized[p * channels + c];
    return planar;
}

std::vector<uint8_t> test_pattern(const ModelInput& in) {
    std::vector<uint8_t> out(in.bytes());
    if (in.type == DataType::uint8) {
        size_t i = 0;
        for (uint32_t c = 0; c < in.shape.c; ++c)
            for (uint32_t y = 0; y < in.shape.h; ++y)
                for (uint32_t x = 0; x < in.shape.w; ++x)
                    out[i++] = static_cast<uint8_t>((c * 61 + y * 7 + x * 3) & 0xFF);
    } else {
        for (uint64_t i = 0; i < in.shape.elements(); ++i) {
            const float v = 0.5f + 0.25f * static_cast<float>(i % 8);
            std::memcpy(out.data() + 4 * i, &v, 4);
        }
    }
    return out;
}

}  // namespace kpusim
