// Little-endian writers for the kmodel builders (models/kmodel_v3_builder.h,
// models/kmodel_v4_builder.h): the counterpart of byte_reader.h. Every kmodel field is
// little-endian (kmodel-spec.md, conventions).
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace kpusim {

/// Append `v` as 4 little-endian bytes.
inline void put_u32(std::vector<uint8_t>& b, uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

/// Append `v` as 8 little-endian bytes.
inline void put_u64(std::vector<uint8_t>& b, uint64_t v) {
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

/// Append the IEEE-754 bits of `v` as 4 little-endian bytes.
inline void put_f32(std::vector<uint8_t>& b, float v) {
    uint32_t u;
    std::memcpy(&u, &v, 4);
    put_u32(b, u);
}

}  // namespace kpusim
