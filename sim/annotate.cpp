#include "sim/annotate.h"

#include "sim/atomic_file.h"

#include "models/read_file.h"

#include <stb_image.h>
#include <stb_image_write.h>

// stb_easy_font.h is all static functions; we use only some of them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_easy_font.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

#include "models/kmodel_error.h"

namespace kpusim {

namespace {

// Sasha Trubetskoy's "20 distinct colours" (https://sashamaps.net/docs/resources/20-colors/).
constexpr std::array<std::array<uint8_t, 3>, 20> kPalette = {{
    {230, 25, 75},   {60, 180, 75},   {255, 225, 25},  {0, 130, 200},   {245, 130, 48},
    {145, 30, 180},  {70, 240, 240},  {240, 50, 230},  {210, 245, 60},  {250, 190, 212},
    {0, 128, 128},   {220, 190, 255}, {170, 110, 40},  {255, 250, 200}, {128, 0, 0},
    {170, 255, 195}, {128, 128, 0},   {255, 215, 180}, {0, 0, 128},     {128, 128, 128},
}};

struct Image {
    int w = 0, h = 0;
    std::vector<uint8_t> rgb;  // w * h * 3, rows top-down

    void fill(int x0, int y0, int x1, int y1, const std::array<uint8_t, 3>& c) {  // [x0,x1) x [y0,y1)
        x0 = std::max(x0, 0);
        y0 = std::max(y0, 0);
        x1 = std::min(x1, w);
        y1 = std::min(y1, h);
        for (int y = y0; y < y1; ++y)
            for (int x = x0; x < x1; ++x) std::memcpy(&rgb[(size_t(y) * w + x) * 3], c.data(), 3);
    }
};

struct Quad {
    float x0, y0, x1, y1;
};

/// stb_easy_font's quads for `text` at (0, 0), in font units.
std::vector<Quad> text_quads(const std::string& text) {
    std::vector<char> s;
    for (char ch : text) s.push_back(ch >= 32 && ch < 127 ? ch : '?');
    s.push_back('\0');
    std::vector<char> vbuf(300 * s.size() + 1024);
    const int n = stb_easy_font_print(0, 0, s.data(), nullptr, vbuf.data(), static_cast<int>(vbuf.size()));
    std::vector<Quad> quads;
    for (int q = 0; q < n; ++q) {
        Quad r{1e9f, 1e9f, -1e9f, -1e9f};
        for (int v = 0; v < 4; ++v) {
            float xy[2];
            std::memcpy(xy, vbuf.data() + (size_t(q) * 4 + v) * 16, sizeof xy);  // x, y, z, rgba
            r.x0 = std::min(r.x0, xy[0]);
            r.x1 = std::max(r.x1, xy[0]);
            r.y0 = std::min(r.y0, xy[1]);
            r.y1 = std::max(r.y1, xy[1]);
        }
        quads.push_back(r);
    }
    return quads;
}

std::string score_text(const Detection& d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " %.2f", static_cast<double>(d.score));
    return d.label + buf;
}

struct Cells {
    int c0, r0, c1, r1;  // outline columns c0..c1 and rows r0..r1, inclusive
};

Cells box_cells(const Image& img, const Detection& d) {
    const auto clampx = [&](long v) { return static_cast<int>(std::clamp<long>(v, 0, img.w - 1)); };
    const auto clampy = [&](long v) { return static_cast<int>(std::clamp<long>(v, 0, img.h - 1)); };
    const int c0 = clampx(std::lround(d.box[0]));
    const int r0 = clampy(std::lround(d.box[1]));
    const int c1 = std::max(c0, clampx(std::lround(d.box[2]) - 1));
    const int r1 = std::max(r0, clampy(std::lround(d.box[3]) - 1));
    return {c0, r0, c1, r1};
}

void draw_outline(Image& img, const Detection& d) {
    const auto colour = class_colour(d.class_id);
    const auto [c0, r0, c1, r1] = box_cells(img, d);
    // 2-pixel outline: rows r0, r0+1, r1-1, r1 and columns c0, c0+1, c1-1, c1.
    img.fill(c0, r0, c1 + 1, std::min(r0 + 2, r1 + 1), colour);
    img.fill(c0, std::max(r1 - 1, r0), c1 + 1, r1 + 1, colour);
    img.fill(c0, r0, std::min(c0 + 2, c1 + 1), r1 + 1, colour);
    img.fill(std::max(c1 - 1, c0), r0, c1 + 1, r1 + 1, colour);
}

/// Each landmark as a filled square of side 2 * scale + 1 pixels centred on the pixel
/// (round(x), round(y)), in class_colour(class_id + 1) so that it stands out on the box
/// colour; squares are clipped to the picture (a point outside it draws nothing).
void draw_landmarks(Image& img, const Detection& d, int scale) {
    const auto colour = class_colour(d.class_id + 1);
    for (const auto& p : d.landmarks) {
        if (!std::isfinite(p[0]) || !std::isfinite(p[1])) continue;
        const double x = std::round(p[0]), y = std::round(p[1]);
        if (x < -scale || y < -scale || x > img.w + scale || y > img.h + scale) continue;
        const int cx = static_cast<int>(x), cy = static_cast<int>(y);
        img.fill(cx - scale, cy - scale, cx + scale + 1, cy + scale + 1, colour);
    }
}

void draw_label(Image& img, const Detection& d, int scale) {
    const auto colour = class_colour(d.class_id);
    const Cells box = box_cells(img, d);
    // Label strip: text on a box-coloured background, 1 font unit of padding around it.
    const auto quads = text_quads(score_text(d));
    if (quads.empty()) return;
    float tx0 = 1e9f, ty0 = 1e9f, tx1 = -1e9f, ty1 = -1e9f;
    for (const Quad& q : quads) {
        tx0 = std::min(tx0, q.x0);
        ty0 = std::min(ty0, q.y0);
        tx1 = std::max(tx1, q.x1);
        ty1 = std::max(ty1, q.y1);
    }
    const int pad = scale;
    const int sw = static_cast<int>(std::ceil((tx1 - tx0) * scale)) + 2 * pad;
    const int sh = static_cast<int>(std::ceil((ty1 - ty0) * scale)) + 2 * pad;
    const int sx = std::max(0, std::min(box.c0, img.w - sw));
    const int sy = box.r0 - sh >= 0 ? box.r0 - sh : box.r0;
    img.fill(sx, sy, sx + sw, sy + sh, colour);
    const int luma = (299 * colour[0] + 587 * colour[1] + 114 * colour[2]) / 1000;
    const std::array<uint8_t, 3> ink = luma > 140 ? std::array<uint8_t, 3>{0, 0, 0}
                                                  : std::array<uint8_t, 3>{255, 255, 255};
    for (const Quad& q : quads) {
        const float ox = sx + pad - tx0 * scale, oy = sy + pad - ty0 * scale;
        img.fill(static_cast<int>(std::lround(ox + q.x0 * scale)),
                 static_cast<int>(std::lround(oy + q.y0 * scale)),
                 static_cast<int>(std::lround(ox + q.x1 * scale)),
                 static_cast<int>(std::lround(oy + q.y1 * scale)), ink);
    }
}

}  // namespace

std::array<uint8_t, 3> class_colour(uint32_t class_id) { return kPalette[class_id % kPalette.size()]; }

void annotate_png(const std::string& picture_path, const std::vector<Detection>& detections,
                  const std::string& out_png) {
    const std::vector<uint8_t> bytes = read_whole_file(picture_path, "picture to annotate");
    int w = 0, h = 0, comp = 0;
    if (bytes.size() > static_cast<size_t>(INT32_MAX) ||
        !stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &comp))
        throw InputError("'" + picture_path +
                         "' is not a JPEG, PNG or BMP picture: only pictures can be annotated "
                         "(a raw input file has no picture to draw on; give the picture it was "
                         "made from)");
    std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
        stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &comp, 3),
        stbi_image_free);
    if (!pixels)
        throw InputError("cannot decode picture '" + picture_path + "': " + stbi_failure_reason());

    Image img;
    img.w = w;
    img.h = h;
    img.rgb.assign(pixels.get(), pixels.get() + size_t(w) * h * 3);
    const int scale = std::max(1, h / 240);
    auto has_box = [](const Detection& d) {
        return !(d.box[0] == 0 && d.box[1] == 0 && d.box[2] == 0 && d.box[3] == 0);
    };
    for (const Detection& d : detections)
        if (has_box(d)) draw_outline(img, d);
    for (const Detection& d : detections)
        if (has_box(d)) draw_landmarks(img, d, scale);
    // Labels last, in reverse order: the first (highest-scoring) detection's label ends on top.
    for (auto it = detections.rbegin(); it != detections.rend(); ++it)
        if (has_box(*it)) draw_label(img, *it, scale);
    // Encoded in memory (stb's result checked), then written atomically.
    std::vector<uint8_t> png;
    const int encoded = stbi_write_png_to_func(
        [](void* context, void* data, int size) {
            auto* out = static_cast<std::vector<uint8_t>*>(context);
            out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
        },
        &png, w, h, 3, img.rgb.data(), w * 3);
    if (!encoded || png.empty()) throw InputError("cannot encode annotated picture '" + out_png + "' as PNG");
    write_file_atomically(out_png, png, "annotated picture");
}

}  // namespace kpusim
