// The format-independent layer graph: what a kmodel asks the K210 to do, with every
// file-format detail (offsets tables, padding, version quirks) resolved by a reader.
//
// A Model owns its file bytes; KPU layers refer to their weights, batch-norm and activation
// tables by byte offset in those bytes (the "model body", which a run mode places in general
// SRAM or in a flash buffer). CPU layers address a main-memory working buffer of
// `main_mem_usage` bytes by byte offset, as the V3 runtime does.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "kpu_core/layer_argument.h"

namespace kpusim {

enum class DataType : uint8_t { uint8, float32 };
const char* to_string(DataType t);
inline uint32_t element_size(DataType t) { return t == DataType::float32 ? 4 : 1; }

/// N x C x H x W (N is always 1 in V3).
struct Shape {
    uint32_t n = 1, c = 1, h = 1, w = 1;
    uint64_t elements() const { return uint64_t{n} * c * h * w; }
    bool operator==(const Shape& o) const { return n == o.n && c == o.c && h == o.h && w == o.w; }
};
std::string to_string(const Shape& s);

/// Byte range inside the model file (a blob of a layer body).
struct FileSpan {
    uint32_t offset = 0;
    uint32_t size = 0;
};

// ---- layer operations (V3 semantics, kmodel-spec.md §7.3) ----------------------------------
// All "in"/"out" fields are byte offsets into the main-memory buffer; "kpu_row" is a KPU RAM
// row index. Counts are elements.

struct KpuConvOp {                  ///< K210_CONV (10240), V4 kpu_conv2d (0x2002)
    kpu::LayerArgument arg;
    FileSpan weights, batchnorm, activation, layer_argument;
    bool main_mem_out = false;      ///< flags bit 0: also stream the output to main memory
    uint32_t main_mem_out_address = 0;
    /// V4 (spec §9.4): the layer runs once per batch, batch n reading its input at
    /// image_src_addr + n x rows(input) and writing at image_dst_addr + n x rows(output)
    /// (KPU RAM rows). 1 in V3.
    uint32_t batches = 1;
    /// V4: after all batches the CPU copies the outputs out of KPU RAM (kpu_download) into
    /// main memory at this byte offset, dense N x C x H x W (batch after batch). V3 uses
    /// main_mem_out instead (the KPU's own output stream).
    bool download = false;
    uint32_t download_address = 0;
};
struct AddOp { uint32_t in_a, in_b, out, count; };                      ///< ADD (1), float
struct QuantizedAddOp {                                                 ///< QUANTIZED_ADD (2)
    uint32_t in_a, in_b, out, count;
    int32_t in_a_offset, in_a_mul, in_a_shift, in_b_offset, in_b_mul, in_b_shift, out_offset,
        out_mul, out_shift;
};
struct GlobalAveragePoolOp { uint32_t in, out, kernel_size, channels; };  ///< (5), float
struct PoolWindow {
    uint32_t in_w, in_h, in_c, out_w, out_h, out_c, kernel_w, kernel_h, stride_w, stride_h,
        padding_w, padding_h;
};
struct QuantizedMaxPoolOp { uint32_t in, out; PoolWindow window; };      ///< (8), uint8
struct AveragePoolOp { uint32_t in, out; PoolWindow window; uint32_t act; }; ///< (9), float
struct QuantizeOp { uint32_t in, out, count; float scale, bias; };      ///< (11) float -> uint8
struct DequantizeOp { uint32_t in, out, count; float scale, bias; };    ///< (12) uint8 -> float
struct RequantizeOp { uint32_t in, out, count; std::array<uint8_t, 256> table; };  ///< (13)
struct L2NormalizationOp { uint32_t in, out, channels; };              ///< (14), float
struct SoftmaxOp { uint32_t in, out, channels; };                      ///< (15), float
struct ConcatOp {                                                      ///< (16) and (17)
    uint32_t out;
    std::vector<std::pair<uint32_t, uint32_t>> inputs;  ///< {start, size} byte ranges
};
struct FullyConnectedOp {                                              ///< (18), float
    uint32_t in, out, in_channels, out_channels;
    uint32_t act;                  ///< 0 linear, 1 ReLU, 2 ReLU6
    std::vector<float> weights;    ///< [out_channels][in_channels]
    std::vector<float> bias;       ///< [out_channels]
    /// The dot product as a plain in-order loop, sum = fma(x_i, w_i, sum), whatever
    /// in_channels: Maix-EMC's modified kpu.c (its FULLY_CONNECTED loop is not unrolled). The
    /// reader sets it for models that only that runtime runs (layer type 21, spec §17).
    /// false: the standard SDK's loop (cpu_layers/fully_connected.cpp).
    bool sequential_sum = false;
};
/// TENSORFLOW_FLATTEN (20, float32) and QUANTIZED_TENSORFLOW_FLATTEN (21, uint8; run only by
/// Maix-EMC's modified kpu.c, spec §17): CHW -> HWC. Same 24-byte body for both.
struct FlattenOp {
    uint32_t in, out, width, height, channels;
    DataType type = DataType::float32;  ///< element type: float32 (20) or uint8 (21)
};
struct ResizeNearestOp {                                               ///< (22) float, (23) uint8
    uint32_t in, out, in_w, in_h, channels, out_w, out_h;
    int32_t align_corners;
};
struct ChannelwiseDequantizeOp {                                       ///< (24)
    uint32_t in, out, channels, channel_size;
    std::vector<float> scale, bias;  ///< per channel
};
struct LogisticOp { uint32_t in, out, channels; };                     ///< (25), float
struct AddPaddingOp { uint32_t in, kpu_row, channels; };               ///< K210_ADD_PADDING
struct RemovePaddingOp { uint32_t in, out, channels; };                ///< K210_REMOVE_PADDING
struct UploadOp { uint32_t in, kpu_row, width, height, channels; };    ///< K210_UPLOAD
/// V4 kpu_upload (0x2001, spec §9.4): dense N x C x H x W uint8 from main memory at `in` into
/// the KPU RAM layout at byte offset `kpu_offset`, batch n at kpu_offset + n x rows(W, H, C) x 64.
struct V4UploadOp { uint32_t in, kpu_offset; Shape shape; };

namespace v4 {
struct CpuNode;
}
/// A V4 (nncase 0.2) CPU node (spec §9.3): parsed by models/kmodel_v4_cpu_ops.h, run by
/// cpu_layers/v4. Its memory ranges address the constant blob, main memory or KPU RAM.
struct V4CpuOp { std::shared_ptr<const v4::CpuNode> node; };

using LayerOp = std::variant<KpuConvOp, AddOp, QuantizedAddOp, GlobalAveragePoolOp,
                             QuantizedMaxPoolOp, AveragePoolOp, QuantizeOp, DequantizeOp,
                             RequantizeOp, L2NormalizationOp, SoftmaxOp, ConcatOp,
                             FullyConnectedOp, FlattenOp, ResizeNearestOp,
                             ChannelwiseDequantizeOp, LogisticOp, AddPaddingOp, RemovePaddingOp,
                             UploadOp, V4UploadOp, V4CpuOp>;

/// Where a layer runs on the chip.
enum class Engine : uint8_t { kpu, cpu };

struct Layer {
    uint32_t index = 0;
    uint32_t type_code = 0;       ///< the file's layer type code (V3 enum) or V4 opcode
    std::string type_name;        ///< e.g. "K210_CONV", "DEQUANTIZE" (V3), "kpu_conv2d" (V4)
    FileSpan body;                ///< the layer body inside the file (size as declared)
    LayerOp op;
    Shape out_shape;              ///< output shape (inferred where the format does not say)
    DataType out_type = DataType::uint8;
    Engine engine() const { return std::holds_alternative<KpuConvOp>(op) ? Engine::kpu : Engine::cpu; }
};

/// How the model's input is fed (spec §7.4 step 3).
struct ModelInput {
    Shape shape;
    DataType type = DataType::uint8;
    bool to_kpu_ram = true;    ///< true: dense CHW uint8 converted into KPU RAM at kpu_row
    uint32_t kpu_row = 0;      ///< V4: batch n at kpu_row + n x rows(W, H, C)
    uint32_t main_offset = 0;  ///< when !to_kpu_ram: copied to this main-memory offset (V3 float32; V4 uint8 or float32)
    uint64_t bytes() const { return shape.elements() * element_size(type); }
};

struct ModelOutput {
    uint32_t main_offset = 0;  ///< byte offset in the main buffer
    uint32_t size = 0;         ///< bytes, as the file declares (element count x 4 in V3)
    Shape shape;
    DataType type = DataType::float32;
};

struct Model {
    uint32_t version = 0;          ///< kmodel version (3 or 4)
    bool eight_bit = true;         ///< weights are 8-bit (header flags bit 0)
    uint32_t main_mem_usage = 0;   ///< bytes of the main-memory working buffer
    uint32_t max_start_address = 0;
    /// V4: the constant blob inside the file (spec §9.1), and where the node bodies start (the
    /// end of the header, tables, constants and node headers: what MaixPy's V4 flash runner
    /// must find in its 4 KiB header read, timing.md A.5b).
    FileSpan constants;
    uint32_t bodies_offset = 0;
    std::shared_ptr<const std::vector<uint8_t>> file;  ///< the whole file as read
    ModelInput input;
    std::vector<ModelOutput> outputs;
    std::vector<Layer> layers;
    /// What a report should tell about how the model is run, e.g. a layer type that only a
    /// modified SDK runs (empty for models the standard SDK runs as they are).
    std::vector<std::string> notes;

    uint64_t file_size() const { return file ? file->size() : 0; }
    /// Largest layer body in bytes (what the flash runner sizes its buffers by).
    uint32_t largest_body() const;
    /// KPU RAM rows between the lowest and the highest row any layer (or the input) touches:
    /// the footprint of the model's feature maps, which nncase places statically
    /// (0 when the model uses no KPU RAM).
    uint32_t kpu_ram_rows_used() const;
};

}  // namespace kpusim
