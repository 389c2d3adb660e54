// Drawing detections onto the input picture (a PNG to look at).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/detection.h"

namespace kpusim {

/// The RGB colour boxes of class `class_id` are drawn in: entry class_id mod 20 of a fixed
/// palette of 20 saturated, mutually distinct colours (the same class always gets the same
/// colour, in every picture).
std::array<uint8_t, 3> class_colour(uint32_t class_id);

/// Writes `out_png`: the picture at `picture_path` (JPEG, PNG or BMP, decoded by stb_image
/// as RGB) with every detection drawn on it:
/// - the box as a 2-pixel outline in class_colour(class_id). Box edges are in picture
///   pixels (Detection::box: x0, y0 inclusive, x1, y1 exclusive); the outline covers pixel
///   columns c0, c0+1 and c1-1, c1 and rows r0, r0+1 and r1-1, r1, where c0 = round(x0),
///   c1 = round(x1) - 1, r0 = round(y0), r1 = round(y1) - 1, clamped to the picture;
/// - its label and score ("dog 0.87", score with 2 decimals) in stb_easy_font's bitmap font,
///   in black or white (whichever contrasts) on a strip of the box colour that sits just
///   above the box's top-left corner (inside the box when there is no room above), shifted
///   left to stay inside the picture. Glyphs are 1 pixel per font unit for pictures up to
///   479 pixels high, 2 from 480, 3 from 720, ... (height / 240). Characters outside
///   printable ASCII are drawn as '?';
/// - its landmarks (Detection::landmarks, ultraface-landmark's five points), each a filled
///   square of side 2 s + 1 pixels (s = pixels per font unit, as for the glyphs) centred on
///   (round(x), round(y)), in class_colour(class_id + 1), clipped to the picture.
/// All outlines are drawn first, then the landmarks, then the labels in reverse list order,
/// so that where labels overlap the first detection's (decode_yolo2's highest-scoring) stays readable on top.
/// Detections with all-zero boxes (classify results) are not drawn. Pixels not covered by
/// an outline, a landmark or a label strip equal the picture's (the PNG is lossless, 8-bit RGB).
/// @throws InputError naming the file when the picture is missing or is not a decodable
///         JPEG/PNG/BMP (a raw input file cannot be annotated: there is no picture format to
///         tell its size and layout), or when `out_png` cannot be written.
void annotate_png(const std::string& picture_path, const std::vector<Detection>& detections,
                  const std::string& out_png);

}  // namespace kpusim
