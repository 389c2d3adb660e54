#include "models/kmodel_v4_kpu_bodies.h"

#include <stdexcept>

namespace kpusim {

namespace {

void append_u32(std::vector<uint8_t>& out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void append_u64(std::vector<uint8_t>& out, uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
/// Zero bytes until the absolute offset body_offset + out.size() is a multiple of `alignment`;
/// returns how many were added.
uint32_t pad_to(std::vector<uint8_t>& out, uint64_t body_offset, uint64_t alignment) {
    uint32_t n = 0;
    while ((body_offset + out.size()) % alignment != 0) {
        out.push_back(0);
        ++n;
    }
    return n;
}

}  // namespace

void append_range(std::vector<uint8_t>& out, const V4RawRange& r) {
    append_u32(out, r.memory);
    append_u32(out, r.datatype);
    append_u32(out, r.start);
    append_u32(out, r.size);
}

std::vector<uint8_t> v4_kpu_upload_body(const V4RawRange& in, const V4RawRange& out, uint32_t n, uint32_t c,
                                        uint32_t h, uint32_t w) {
    std::vector<uint8_t> b;
    append_range(b, in);
    append_range(b, out);
    for (uint32_t d : {n, c, h, w}) append_u32(b, d);
    return b;
}

std::vector<uint8_t> v4_kpu_conv2d_body(const KpuConvDesc& d, uint64_t body_offset, uint32_t batches,
                                        const V4RawRange& main_mem_output) {
    if (d.weights.size() != d.weight_count())
        throw std::invalid_argument("v4_kpu_conv2d_body: " + std::to_string(d.weights.size()) +
                                    " weights for a layer that needs " + std::to_string(d.weight_count()));
    // The paddings depend only on where the fixed part ends and on the blob sizes.
    const uint64_t fixed_end = body_offset + 120;
    const uint32_t p1 = static_cast<uint32_t>((256 - fixed_end % 256) % 256);
    const uint64_t bn_end = fixed_end + p1 + 8ull * d.out_channels;
    const uint32_t p2 = static_cast<uint32_t>((256 - bn_end % 256) % 256);
    const uint64_t act_end = bn_end + p2 + 144;
    const uint32_t p3 = static_cast<uint32_t>((256 - act_end % 256) % 256);

    KpuConvDesc desc = d;
    desc.main_mem_out.reset();
    desc.overrides.clear();
    desc.set("bwsx_base_addr", p1).set("active_addr", p2).set("para_start_addr", p3);
    for (const ArgOverride& o : d.overrides) desc.overrides.push_back(o);
    const std::array<uint64_t, 12> words = encode_layer_argument(desc, true);

    std::vector<uint8_t> b;
    append_range(b, main_mem_output);
    append_u32(b, batches);
    append_u32(b, 0);  // reserved0
    for (uint64_t w : words) append_u64(b, w);
    pad_to(b, body_offset, 256);
    for (const BnEntry& e : d.bn) append_u64(b, encode_bn(e));
    pad_to(b, body_offset, 256);
    const std::vector<uint8_t> act = encode_activation(d.act);
    b.insert(b.end(), act.begin(), act.end());
    pad_to(b, body_offset, 256);
    b.insert(b.end(), d.weights.begin(), d.weights.end());
    pad_to(b, body_offset, 8);
    return b;
}

}  // namespace kpusim
