#include "kpu_core/batchnorm.h"

namespace kpusim::kpu {

BatchNormEntry BatchNormEntry::decode(uint64_t w) {
    BatchNormEntry e;
    const uint64_t mul = w & 0xFFFFFF;
    e.norm_mul = static_cast<int32_t>((mul ^ 0x800000) - 0x800000);
    e.norm_add = static_cast<int32_t>(static_cast<uint32_t>((w >> 24) & 0xFFFFFFFF));
    e.norm_shift = static_cast<uint32_t>((w >> 56) & 0xF);
    return e;
}

}  // namespace kpusim::kpu
