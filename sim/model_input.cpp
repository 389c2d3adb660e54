#include "sim/model_input.h"

#include <stb_image.h>
#include <stb_image_resize.h>

#include <cctype>
#include <cstring>
#include <memory>

#include "models/kmodel_error.h"
#include "models/read_file.h"

namespace kpusim {

namespace {

// stb_image fills the missing pixels of a short BMP with zeros; refuse it instead. The
// pixel array starts at bfOffBits (offset 10) and holds |height| rows of
// ceil(width x bits per pixel / 32) x 4 bytes (BITMAPINFOHEADER, offsets 18, 22, 28).
void check_bmp_complete(const std::vector<uint8_t>& b, const std::string& path) {
    if (b.size() < 30 || b[0] != 'B' || b[1] != 'M') return;
    auto u32 = [&](size_t o) { return uint32_t{b[o]} | uint32_t{b[o + 1]} << 8 | uint32_t{b[o + 2]} << 16 | uint32_t{b[o + 3]} << 24; };
    if (u32(14) < 40 || b.size() < 34 || u32(30) != 0) return;  // not BI_RGB: stb's own checks
    const uint64_t offset = u32(10);
    const int64_t width = static_cast<int32_t>(u32(18));
    const int64_t height = static_cast<int32_t>(u32(22));
    const uint64_t bpp = uint64_t{b[28]} | uint64_t{b[29]} << 8;
    const uint64_t row = (static_cast<uint64_t>(width < 0 ? -width : width) * bpp + 31) / 32 * 4;
    const uint64_t needed = offset + row * static_cast<uint64_t>(height < 0 ? -height : height);
    if (b.size() < needed)
        throw InputError("picture '" + path + "' is a truncated BMP: its header needs " +
                         std::to_string(needed) + " bytes, the file has " + std::to_string(b.size()));
}

// stb_image accepts a binary PNM (P5 grey, P6 RGB) whose pixel data is missing or short
// and leaves the missing pixels uninitialised; refuse it. Header (netpbm): magic, then
// width, height and maxval as decimal text separated by whitespace (comments from '#' to
// the end of the line allowed), then one whitespace byte, then width x height x channels
// samples of 1 byte (maxval < 256) or 2 bytes.
void check_pnm_complete(const std::vector<uint8_t>& b, const std::string& path) {
    if (b.size() < 2 || b[0] != 'P' || (b[1] != '5' && b[1] != '6')) return;
    size_t i = 2;
    uint64_t fields[3] = {0, 0, 0};
    for (uint64_t& field : fields) {
        for (;;) {  // whitespace and comments
            if (i < b.size() && std::isspace(b[i])) {
                ++i;
            } else if (i < b.size() && b[i] == '#') {
                while (i < b.size() && b[i] != '\n' && b[i] != '\r') ++i;
            } else {
                break;
            }
        }
        if (i >= b.size() || !std::isdigit(b[i])) return;  // malformed: stb's own error
        while (i < b.size() && std::isdigit(b[i]) && field < (uint64_t{1} << 40))
            field = field * 10 + (b[i++] - '0');
    }
    ++i;  // the single whitespace byte after maxval
    if (fields[0] > kMaxPictureSide || fields[1] > kMaxPictureSide) return;  // refused later
    const uint64_t samples = fields[0] * fields[1] * (b[1] == '6' ? 3 : 1);  // < 2^50
    const uint64_t sample_bytes = fields[2] > 255 ? 2 : 1;
    const uint64_t available = b.size() > i ? b.size() - i : 0;
    if (samples * sample_bytes > available)
        throw InputError("picture '" + path + "' is a truncated PNM: its header (" +
                         std::to_string(fields[0]) + "x" + std::to_string(fields[1]) +
                         ") needs " + std::to_string(samples * sample_bytes) +
                         " bytes of pixel data, the file has " + std::to_string(available));
}

}  // namespace

std::vector<uint8_t> load_model_input(const std::string& path, const ModelInput& in) {
    return decode_model_input(read_whole_file(path, "input file"), path, in);
}

std::vector<uint8_t> decode_model_input(const std::vector<uint8_t>& bytes, const std::string& path,
                                        const ModelInput& in) {
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
    if (w <= 0 || h <= 0 || uint64_t(w) * uint64_t(h) > kMaxPicturePixels)
        throw InputError("picture '" + path + "' is " + std::to_string(w) + "x" + std::to_string(h) +
                         " pixels; kpusim decodes pictures of 1 to " +
                         std::to_string(kMaxPicturePixels) + " pixels");
    if (in.shape.w == 0 || in.shape.h == 0 || in.shape.w > kMaxPictureSide ||
        in.shape.h > kMaxPictureSide)
        throw InputError("input file '" + path + "' is a picture, but the model's input is " +
                         to_string(in.shape));
    check_bmp_complete(bytes, path);
    check_pnm_complete(bytes, path);
    const int want = static_cast<int>(channels);
    std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
        stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &comp, want),
        stbi_image_free);
    if (!pixels)
        throw InputError("cannot decode picture '" + path + "': " + stbi_failure_reason());
    if (w <= 0 || h <= 0) throw InputError("picture '" + path + "' has no pixels");
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

std::pair<float, float> picture_size(const std::string& path, const ModelInput& in) {
    int w = 0, h = 0, c = 0;
    if (!path.empty() && stbi_info(path.c_str(), &w, &h, &c)) return {static_cast<float>(w), static_cast<float>(h)};
    return {static_cast<float>(in.shape.w), static_cast<float>(in.shape.h)};
}

}  // namespace kpusim
