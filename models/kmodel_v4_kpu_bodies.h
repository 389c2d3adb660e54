// Bodies of the two K210 nodes of kmodel V4 (kmodel-spec.md §9.4) for the test-model builder:
// kpu_upload (0x2001) and kpu_conv2d (0x2002). Independent of the reader like the rest of the
// builder: the layer argument comes from the V3 builder's own encoder (models/kmodel_v3_builder.h).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "models/kmodel_v3_builder.h"

namespace kpusim {

/// A memory_range as the file stores it (spec §9.1): memory type 0 const / 1 main / 2 kpu,
/// datatype 0 float32 / 1 uint8, start and size in bytes.
struct V4RawRange {
    uint32_t memory = 0, datatype = 0, start = 0, size = 0;
};

/// Append the 16 bytes of `r` to `out`.
void append_range(std::vector<uint8_t>& out, const V4RawRange& r);

/// kpu_upload body (48 bytes): input range (main, uint8), output range (kpu), in_shape NCHW.
std::vector<uint8_t> v4_kpu_upload_body(const V4RawRange& in, const V4RawRange& out, uint32_t n, uint32_t c,
                                        uint32_t h, uint32_t w);

/// kpu_conv2d body as nncase 0.2 writes it, for a body that starts at absolute file offset
/// `body_offset`: main_mem_output (all zeros = none), batches, reserved0 = 0, the layer argument
/// (d's fields, image_src_addr = d.in_row, image_dst_addr = d.out_row) whose bwsx_base_addr,
/// active_addr and para_start_addr hold the paddings P1, P2, P3 that put the BN table, the
/// activation table and the weights on absolute 256-byte boundaries, then those blobs, then
/// padding to an absolute 8-byte boundary. 8-bit weights only (d.weights). d.main_mem_out is
/// ignored (V4 outputs to main memory through `main_mem_output`); d.overrides apply last.
std::vector<uint8_t> v4_kpu_conv2d_body(const KpuConvDesc& d, uint64_t body_offset, uint32_t batches = 1,
                                        const V4RawRange& main_mem_output = {});

}  // namespace kpusim
