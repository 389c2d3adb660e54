// libFuzzer entry point: the picture loader (decode_model_input: stb_image, the truncated
// BMP/PNM checks, the resize and planar layout). The first byte picks the model input
// (1 or 3 channels, 1..64 x 1..64 pixels); the rest is the file. Pictures above
// fuzz::kMaxPicturePixels are skipped before decoding.
#include <cstddef>
#include <cstdint>
#include <vector>

#include <stb_image.h>

#include "fuzz/fuzz_limits.h"
#include "models/kmodel_error.h"
#include "sim/model_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace kpusim;
    if (size < 1) return 0;
    const uint8_t pick = data[0];
    const std::vector<uint8_t> bytes(data + 1, data + size);
    int w = 0, h = 0, comp = 0;
    if (bytes.size() <= (size_t{1} << 30) &&
        stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &comp) &&
        uint64_t(w) * uint64_t(h) > fuzz::kMaxPicturePixels)
        return 0;
    ModelInput in;
    in.type = DataType::uint8;
    const uint32_t side = 1 + (pick >> 1) % 64;
    in.shape = Shape{1, (pick & 1) ? 3u : 1u, side, 1u + (pick >> 2) % 64u};
    try {
        const auto planar = decode_model_input(bytes, "fuzz input", in);
        if (planar.size() != in.bytes()) __builtin_trap();  // the documented size
    } catch (const InputError&) {
    }
    return 0;
}
