#include "models/layer_graph.h"

#include <algorithm>

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
    uint32_t top = 0;
    for (const auto& l : layers) {
        if (const auto* c = std::get_if<KpuConvOp>(&l.op)) {
            const auto& a = c->arg;
            top = std::max(top, a.image_src_addr +
                                    kpu::feature_map_rows(a.in_width(), a.in_height(), a.in_channels()));
            top = std::max(top, a.image_dst_addr + kpu::feature_map_rows(a.out_width(), a.out_height(),
                                                                         a.out_channels()));
        } else if (const auto* p = std::get_if<AddPaddingOp>(&l.op)) {
            top = std::max(top, p->kpu_row + kpu::feature_map_rows(4, 4, p->channels));
        } else if (const auto* u = std::get_if<UploadOp>(&l.op)) {
            top = std::max(top, u->kpu_row + kpu::feature_map_rows(u->width, u->height, u->channels));
        }
    }
    return top;
}

}  // namespace kpusim
