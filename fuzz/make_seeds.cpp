// Writes seed corpora for the fuzz targets:
//   kpusim_fuzz_seeds OUT_DIR SHARED_DIR BASELINES_DIR [MAX_KMODEL_BYTES]
// - OUT_DIR/kmodel: every V3 .kmodel under SHARED_DIR/models of at most MAX_KMODEL_BYTES
//   (default 1 MiB, the kmodel target's limit; read at run time, never kept in the repo),
//   plus small models from the V3 builder: one per CPU layer type behind a first layer, and
//   K210_CONV variants (8/16-bit, 1x1/3x3, depthwise, pooling, main-memory output);
// - OUT_DIR/picture: every .jpg/.png/.bmp under SHARED_DIR/models of at most 64 KiB, and
//   tiny made-up BMP / PNM / PNG files, each after the target's selector byte;
// - OUT_DIR/check: every baseline report of BASELINES_DIR as "REPORT\0BASELINE" pairs
//   (itself, and with the next one), and a few hand-made reports.
// Prints the number of seeds per target. Exit 2 on a bad argument.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <stb_image_write.h>
#include <systemc>

#include "models/kmodel_v3_builder.h"

using namespace kpusim;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> read_bytes(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& p, const std::vector<uint8_t>& b) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    if (!f) {
        std::fprintf(stderr, "cannot write %s\n", p.c_str());
        std::exit(1);
    }
}

KpuConvDesc small_conv(uint32_t w, uint32_t h, uint32_t ic, uint32_t oc, uint32_t kernel) {
    KpuConvDesc d;
    d.in_width = w;
    d.in_height = h;
    d.in_channels = ic;
    d.out_channels = oc;
    d.kernel = kernel;
    d.weights.assign(d.weight_count(), 3);
    d.weights16.assign(d.weight_count(), 300);
    d.bn.assign(oc, BnEntry{2, -5, 1});
    d.act = relu_table_nncase01();
    d.in_row = 0;
    d.out_row = 1000;
    return d;
}

std::vector<std::vector<uint8_t>> builder_kmodels() {
    std::vector<std::vector<uint8_t>> out;
    // K210_CONV variants, each streaming its output to main memory and dequantized.
    for (int v = 0; v < 6; ++v) {
        KmodelV3Builder b;
        KpuConvDesc d = small_conv(4 + v, 4, 1 + v % 3, 2 + v % 2, v % 2 ? 3 : 1);
        if (v == 2) {
            d.depthwise = true;
            d.out_channels = d.in_channels;
            d.weights.assign(d.weight_count(), 5);
            d.weights16.assign(d.weight_count(), 500);
            d.bn.assign(d.out_channels, BnEntry{});
        }
        if (v == 3) d.pool_type = 1;
        if (v == 4) b.set_eight_bit(false);
        d.main_mem_out = 0;
        b.add_conv(d);
        const uint32_t n = d.out_elements();
        b.add_dequantize(0, 64, n, 0.5f, -1.0f);
        b.add_output(64, n);
        out.push_back(b.build(V3BuildOptions{v == 5, std::nullopt}));
    }
    // CPU layers behind a FULLY_CONNECTED 4 -> 8 (floats at 0 -> 16).
    auto fc_first = [](KmodelV3Builder& b) {
        std::vector<float> w(32);
        for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i % 5) - 2.0f;
        b.add_fully_connected(0, 16, 4, 8, 1, w, std::vector<float>(8, 0.25f));
    };
    auto words = [&](uint32_t type, std::vector<uint32_t> body, uint32_t output_at, uint32_t n) {
        KmodelV3Builder b;
        fc_first(b);
        b.add_raw_layer_words(type, body, {{0, 512}});
        b.add_output(output_at, n);
        out.push_back(b.build());
    };
    words(kV3Add, {0, 16, 16, 128, 8}, 128, 8);
    words(kV3GlobalAveragePool2d, {0, 16, 128, 4, 2}, 128, 2);
    words(kV3QuantizedMaxPool2d, {0, 16, 128, 4, 2, 4, 2, 1, 4, 2, 2, 2, 2, 0, 0}, 128, 2);
    words(kV3AveragePool2d, {0, 16, 128, 2, 2, 2, 1, 1, 2, 2, 2, 1, 1, 0, 0, 0}, 128, 2);
    words(kV3Quantize, {0, 16, 128, 8, 0x3e000000u, 0}, 128, 2);
    words(kV3Dequantize, {0, 16, 128, 8, 0x3e000000u, 0}, 128, 8);
    words(kV3L2Normalization, {0, 16, 128, 8}, 128, 8);
    words(kV3Softmax, {0, 16, 128, 8}, 128, 8);
    words(kV3Logistic, {0, 16, 128, 8}, 128, 8);
    words(kV3Concat, {0, 128, 2, 16, 16, 32, 16}, 128, 8);
    words(kV3QuantizedConcat, {0, 128, 2, 16, 5, 40, 3}, 128, 2);
    words(kV3TensorflowFlatten, {0, 16, 128, 2, 2, 2}, 128, 8);
    words(kV3ResizeNearestNeighbor, {0, 16, 128, 2, 2, 2, 3, 3, 0}, 128, 18);
    words(kV3QuantizedResizeNearestNeighbor, {0, 16, 128, 2, 2, 2, 4, 3, 1}, 128, 6);
    words(kV3ChannelwiseDequantize, {0, 16, 128, 2, 4, 0x3f000000u, 0, 0x40000000u, 0x3f800000u}, 128, 8);
    words(kV3K210RemovePadding, {0, 16, 128, 2}, 128, 1);
    {
        std::vector<uint32_t> requantize = {0, 16, 128, 8};
        for (uint32_t i = 0; i < 64; ++i) requantize.push_back(0x03020100u + 0x04040404u * i);
        words(kV3Requantize, requantize, 128, 2);
    }
    words(kV3QuantizedAdd, {0, 16, 20, 128, 8, 0xFFFFFFFDu, 11, 2, 4, 0xFFFFFFF3u, 3, 9, 1000, 10}, 128, 2);
    // Upload and add-padding feeding a conv.
    {
        KmodelV3Builder b;
        fc_first(b);
        b.add_upload(16, 0, 4, 2, 2);
        KpuConvDesc d = small_conv(4, 2, 2, 2, 1);
        d.main_mem_out = 64;
        b.add_conv(d);
        b.add_output(64, d.out_elements());
        out.push_back(b.build());
    }
    {
        KmodelV3Builder b;
        fc_first(b);
        b.add_add_padding(16, 0, 3);
        KpuConvDesc d = small_conv(4, 4, 3, 2, 1);
        d.main_mem_out = 64;
        b.add_conv(d);
        b.add_remove_padding(64, 128, 2);
        b.add_output(128, 1);
        out.push_back(b.build());
    }
    return out;
}

// A 3 x 2 24-bit BMP (BITMAPINFOHEADER, rows bottom-up, padded to 4 bytes).
std::vector<uint8_t> tiny_bmp() {
    const uint32_t w = 3, h = 2, row = 12, data = row * h, size = 54 + data;
    std::vector<uint8_t> b(size, 0);
    auto put32 = [&](size_t o, uint32_t v) { for (int i = 0; i < 4; ++i) b[o + i] = uint8_t(v >> (8 * i)); };
    b[0] = 'B'; b[1] = 'M';
    put32(2, size); put32(10, 54); put32(14, 40); put32(18, w); put32(22, h);
    b[26] = 1; b[28] = 24; put32(34, data);
    for (uint32_t i = 0; i < data; ++i) b[54 + i] = uint8_t(i * 17);
    return b;
}

std::vector<uint8_t> tiny_png() {
    std::vector<uint8_t> png;
    uint8_t pixels[4 * 3 * 3];
    for (size_t i = 0; i < sizeof pixels; ++i) pixels[i] = uint8_t(i * 9);
    stbi_write_png_to_func(
        [](void* ctx, void* data, int size) {
            auto* v = static_cast<std::vector<uint8_t>*>(ctx);
            v->insert(v->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
        },
        &png, 4, 3, 3, pixels, 12);
    return png;
}

std::vector<uint8_t> with_selector(uint8_t selector, const std::vector<uint8_t>& b) {
    std::vector<uint8_t> out(b.size() + 1);
    out[0] = selector;
    std::copy(b.begin(), b.end(), out.begin() + 1);
    return out;
}

std::vector<uint8_t> text_bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

}  // namespace

int sc_main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s OUT_DIR SHARED_DIR BASELINES_DIR [MAX_KMODEL_BYTES]\n", argv[0]);
        return 2;
    }
    const fs::path out(argv[1]), shared(argv[2]), baselines(argv[3]);
    const uint64_t max_kmodel = argc > 4 ? std::strtoull(argv[4], nullptr, 0) : (1u << 20);
    for (const char* t : {"kmodel", "picture", "check"}) fs::create_directories(out / t);
    if (!fs::is_directory(shared / "models") || !fs::is_directory(baselines)) {
        std::fprintf(stderr, "no %s/models or no %s\n", shared.c_str(), baselines.c_str());
        return 2;
    }
    std::vector<fs::path> shared_files;
    for (const auto& e : fs::recursive_directory_iterator(shared / "models"))
        if (e.is_regular_file()) shared_files.push_back(e.path());
    std::sort(shared_files.begin(), shared_files.end());

    int kmodels = 0, pictures = 0, checks = 0;
    for (const fs::path& p : shared_files) {
        if (p.extension() != ".kmodel" || fs::file_size(p) > max_kmodel) continue;
        const auto b = read_bytes(p);
        if (b.size() < 4 || b[0] != 3 || b[1] != 0 || b[2] != 0 || b[3] != 0) continue;  // V3 only
        write_bytes(out / "kmodel" / ("shared-" + std::to_string(kmodels++)), b);
    }
    for (const auto& b : builder_kmodels())
        write_bytes(out / "kmodel" / ("builder-" + std::to_string(kmodels++)), b);

    for (const fs::path& p : shared_files) {
        const std::string ext = p.extension().string();
        if ((ext != ".jpg" && ext != ".png" && ext != ".bmp") || fs::file_size(p) > 65536) continue;
        write_bytes(out / "picture" / ("shared-" + std::to_string(pictures++)), with_selector(0x2F, read_bytes(p)));
    }
    const std::vector<std::vector<uint8_t>> made = {
        tiny_bmp(), tiny_png(), text_bytes("P6\n# rgb\n2 2\n255\n" + std::string(12, '\x40')),
        text_bytes("P5\n3 1\n65535\n" + std::string(6, '\x7f'))};
    for (size_t i = 0; i < made.size(); ++i)
        for (uint8_t sel : {uint8_t{0x00}, uint8_t{0x13}})
            write_bytes(out / "picture" / ("made-" + std::to_string(pictures++)), with_selector(sel, made[i]));

    std::vector<fs::path> reports;
    for (const auto& e : fs::directory_iterator(baselines))
        if (e.path().extension() == ".json") reports.push_back(e.path());
    std::sort(reports.begin(), reports.end());
    for (size_t i = 0; i < reports.size(); ++i) {
        const auto a = read_bytes(reports[i]);
        write_bytes(out / "check" / ("self-" + std::to_string(checks++)), a);
        auto pair = a;
        pair.push_back(0);
        const auto b = read_bytes(reports[(i + 1) % reports.size()]);
        pair.insert(pair.end(), b.begin(), b.end());
        write_bytes(out / "check" / ("pair-" + std::to_string(checks++)), pair);
    }
    for (const char* text : {"{\"schema_version\": 1}", "{\"schema_version\": 1, \"modes\": [{\"mode\": \"ram\"}]}",
                             "[[[[]]]]", "{\"config\": {\"a\": [1, {\"b\": null}]}}"})
        write_bytes(out / "check" / ("made-" + std::to_string(checks++)), text_bytes(text));

    std::printf("seeds: %d kmodel, %d picture, %d check in %s\n", kmodels, pictures, checks, out.c_str());
    return 0;
}
