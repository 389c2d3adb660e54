#include "kpu_core/kpu_batches.h"

#include "kpu_core/kpu_ram_layout.h"

namespace kpusim::kpu {

LayerArgument batch_argument(const LayerArgument& a, uint32_t batch) {
    LayerArgument b = a;
    b.image_src_addr = a.image_src_addr + batch * feature_map_rows(a.in_width(), a.in_height(), a.in_channels());
    b.image_dst_addr = a.image_dst_addr + batch * feature_map_rows(a.out_width(), a.out_height(), a.out_channels());
    // Word 1: image_src_addr in bits 0-14, image_dst_addr in bits 32-46 (spec §3.1).
    constexpr uint64_t kAddressMask = (uint64_t{1} << 15) - 1;
    b.words[1] = (a.words[1] & ~(kAddressMask | (kAddressMask << 32))) | (uint64_t{b.image_src_addr} & kAddressMask) |
                 ((uint64_t{b.image_dst_addr} & kAddressMask) << 32);
    return b;
}

}  // namespace kpusim::kpu
