#include "models/layer_graph.h"

#include <algorithm>
#include <cstdint>

#include "kpu_core/kpu_ram_layout.h"

namespace kpusim {

const char* to_string(DataType t) { return t == DataType::float32 ? "float32" : "uint8"; }

std::string to_string(const Shape& s) {
    return std::to_string(s.n) + "x" + std::to_string(s.c) + "x" + std::to_string(s.h) + "x" +
           std::to_string(s.w);
}

uint32_t Model::largest_body() const {
    uint32_t m = 0;
    for (const auto& l : layers) m = std::max(m, l.body.size);
    return m;
}

uint32_t Model::kpu_ram_rows_used() const {
    uint32_t low = UINT32_MAX, high = 0;
    auto touch = [&](uint32_t row, uint32_t rows) {
        low = std::min(low, row);
        high = std::max(high, row + rows);
    };
    if (input.to_kpu_ram)
        touch(input.kpu_row, input.shape.n * kpu::feature_map_rows(input.shape.w, input.shape.h, input.shape.c));
    for (const auto& l : layers) {
        if (const auto* c = std::get_if<KpuConvOp>(&l.op)) {
            const auto& a = c->arg;
            touch(a.image_src_addr, c->batches * kpu::feature_map_rows(a.in_width(), a.in_height(), a.in_channels()));
            touch(a.image_dst_addr, c->batches * kpu::feature_map_rows(a.out_width(), a.out_height(), a.out_channels()));
        } else if (const auto* v = std::get_if<V4UploadOp>(&l.op)) {
            const uint32_t rows = v->shape.n * kpu::feature_map_rows(v->shape.w, v->shape.h, v->shape.c);
            touch(v->kpu_offset / kpu::kKpuRamRowBytes,
                  (v->kpu_offset % kpu::kKpuRamRowBytes + rows * kpu::kKpuRamRowBytes + kpu::kKpuRamRowBytes - 1) /
                      kpu::kKpuRamRowBytes);
        } else if (const auto* p = std::get_if<AddPaddingOp>(&l.op)) {
            touch(p->kpu_row, kpu::feature_map_rows(4, 4, p->channels));
        } else if (const auto* u = std::get_if<UploadOp>(&l.op)) {
            touch(u->kpu_row, kpu::feature_map_rows(u->width, u->height, u->channels));
        }
    }
    return high > low ? high - low : 0;
}

}  // namespace kpusim
