// Bounds-checked little-endian reads from a byte range of a kmodel file. Every read names
// the field it is for, so that a short file produces a KmodelError saying which field and
// which layer ran past the end.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "models/kmodel_error.h"

namespace kpusim {

class ByteReader {
public:
    /// `data`/`size`: the readable bytes; `origin`: their absolute file offset (for messages);
    /// `layer`: the layer the range belongs to, if any.
    ByteReader(const uint8_t* data, uint64_t size, uint64_t origin = 0,
               std::optional<uint32_t> layer = std::nullopt)
        : data_(data), size_(size), origin_(origin), layer_(layer) {}

    uint64_t size() const { return size_; }

    /// Throws KmodelError(truncated) unless [offset, offset + bytes) is readable.
    void require(uint64_t offset, uint64_t bytes, const std::string& field) const {
        if (offset > size_ || bytes > size_ - offset)
            throw KmodelError(KmodelErrorKind::truncated,
                              "needs bytes " + std::to_string(origin_ + offset) + ".." +
                                  std::to_string(origin_ + offset + bytes) + " of the file, but only " +
                                  std::to_string(origin_ + size_) + " are there",
                              layer_, field);
    }
    uint32_t u32(uint64_t offset, const std::string& field) const {
        require(offset, 4, field);
        uint32_t v;
        std::memcpy(&v, data_ + offset, 4);  // the host is little-endian like the kmodel
        return v;
    }
    int32_t i32(uint64_t offset, const std::string& field) const {
        return static_cast<int32_t>(u32(offset, field));
    }
    float f32(uint64_t offset, const std::string& field) const {
        const uint32_t v = u32(offset, field);
        float f;
        std::memcpy(&f, &v, 4);
        return f;
    }
    const uint8_t* bytes(uint64_t offset, uint64_t count, const std::string& field) const {
        require(offset, count, field);
        return data_ + offset;
    }

private:
    const uint8_t* data_;
    uint64_t size_;
    uint64_t origin_;
    std::optional<uint32_t> layer_;
};

}  // namespace kpusim
