#include "models/kmodel_v3_reader.h"

#include <algorithm>
#include <initializer_list>
#include <map>
#include <string>

#include "kpu_core/kpu_ram_layout.h"
#include "models/byte_reader.h"
#include "models/kmodel_error.h"
#include "models/size_limits.h"

namespace kpusim {

namespace {

constexpr uint32_t kHeaderBytes = 28;
constexpr uint32_t kMaxLastBodyOverrun = 7;  // missing final padding (spec §7.1)

struct TypeInfo {
    uint32_t code;
    const char* name;
    bool runs_on_sdk;  ///< the standard Kendryte SDK's kpu.c runs it
};

// Layer types the standard SDK refuses but Maix-EMC's modified kpu.c runs (spec §17);
// accepted unless KmodelReadOptions::strict_sdk.
constexpr uint32_t kQuantizedFlatten = 21;

constexpr TypeInfo kTypes[] = {
    {0, "INVALID", false},
    {1, "ADD", true},
    {2, "QUANTIZED_ADD", true},
    {3, "GLOBAL_MAX_POOL2D", false},
    {4, "QUANTIZED_GLOBAL_MAX_POOL2D", false},
    {5, "GLOBAL_AVERAGE_POOL2D", true},
    {6, "QUANTIZED_GLOBAL_AVERAGE_POOL2D", false},
    {7, "MAX_POOL2D", false},
    {8, "QUANTIZED_MAX_POOL2D", true},
    {9, "AVERAGE_POOL2D", true},
    {10, "QUANTIZED_AVERAGE_POOL2D", false},
    {11, "QUANTIZE", true},
    {12, "DEQUANTIZE", true},
    {13, "REQUANTIZE", true},
    {14, "L2_NORMALIZATION", true},
    {15, "SOFTMAX", true},
    {16, "CONCAT", true},
    {17, "QUANTIZED_CONCAT", true},
    {18, "FULLY_CONNECTED", true},
    {19, "QUANTIZED_FULLY_CONNECTED", false},
    {20, "TENSORFLOW_FLATTEN", true},
    {21, "QUANTIZED_TENSORFLOW_FLATTEN", false},
    {22, "RESIZE_NEAREST_NEIGHBOR", true},
    {23, "QUANTIZED_RESIZE_NEAREST_NEIGHBOR", true},
    {24, "CHANNELWISE_DEQUANTIZE", true},
    {25, "LOGISTIC", true},
    {10240, "K210_CONV", true},
    {10241, "K210_ADD_PADDING", true},
    {10242, "K210_REMOVE_PADDING", true},
    {10243, "K210_UPLOAD", true},
};

const TypeInfo* find_type(uint32_t code) {
    for (const auto& t : kTypes)
        if (t.code == code) return &t;
    return nullptr;
}

Shape vec_shape(uint32_t n) { return Shape{1, n, 1, 1}; }

// Tracks what each layer wrote to main memory, to give outputs and layers their shapes.
struct MainTensor {
    uint32_t offset, bytes;
    Shape shape;
    DataType type;
};

class V3Reader {
public:
    V3Reader(std::shared_ptr<const std::vector<uint8_t>> file, const KmodelReadOptions& options)
        : file_(std::move(file)), options_(options) {
        m_.file = file_;
    }

    Model read() {
        const std::vector<uint8_t>& f = *file_;
        const ByteReader r(f.data(), f.size());
        r.require(0, kHeaderBytes, "header");
        m_.version = r.u32(0, "version");
        const uint32_t flags = r.u32(4, "flags");
        const uint32_t arch = r.u32(8, "arch");
        const uint32_t layers = r.u32(12, "layers_length");
        m_.max_start_address = r.u32(16, "max_start_address");
        m_.main_mem_usage = r.u32(20, "main_mem_usage");
        const uint32_t outputs = r.u32(24, "output_count");
        m_.eight_bit = (flags & 1) != 0;
        if (arch != 0)
            throw KmodelError(KmodelErrorKind::inconsistent,
                              "arch " + std::to_string(arch) + " is not the K210 (0)", std::nullopt,
                              "arch");
        if (m_.main_mem_usage > kGeneralSramBytes)
            throw CapacityError("out of memory: main_mem_usage of " +
                                std::to_string(m_.main_mem_usage) +
                                " bytes exceeds the K210's 6 MiB (" +
                                std::to_string(kGeneralSramBytes) + " bytes) of general SRAM");
        if (layers == 0)
            throw KmodelError(KmodelErrorKind::inconsistent, "the model has no layers",
                              std::nullopt, "layers_length");
        const uint64_t outputs_at = kHeaderBytes;
        const uint64_t layers_at = outputs_at + uint64_t{outputs} * 8;
        const uint64_t bodies_at = layers_at + uint64_t{layers} * 8;
        r.require(outputs_at, uint64_t{outputs} * 8, "outputs");
        r.require(layers_at, uint64_t{layers} * 8, "layer headers");

        uint64_t body_start = bodies_at;
        for (uint32_t i = 0; i < layers; ++i) {
            const uint32_t type = r.u32(layers_at + 8 * i, "type");
            const uint32_t body_size = r.u32(layers_at + 8 * i + 4, "body_size");
            const uint64_t end = body_start + body_size;
            const bool last = i + 1 == layers;
            if (end > f.size() && !(last && end - f.size() <= kMaxLastBodyOverrun))
                throw KmodelError(KmodelErrorKind::out_of_bounds,
                                  "body of " + std::to_string(body_size) + " bytes at offset " +
                                      std::to_string(body_start) + " runs past the end of the " +
                                      std::to_string(f.size()) + "-byte file",
                                  i, "body_size");
            Layer layer;
            layer.index = i;
            layer.type_code = type;
            layer.body = {static_cast<uint32_t>(body_start), body_size};
            const uint64_t readable = std::min<uint64_t>(end, f.size()) - body_start;
            read_body(layer, ByteReader(f.data() + body_start, readable, body_start, i));
            m_.layers.push_back(std::move(layer));
            body_start = end;
        }

        for (uint32_t o = 0; o < outputs; ++o) {
            ModelOutput out;
            out.main_offset = r.u32(outputs_at + 8 * o, "outputs.address");
            out.size = r.u32(outputs_at + 8 * o + 4, "outputs.size");
            check_main(std::nullopt, "outputs.address", out.main_offset, out.size);
            resolve_output(out);
            m_.outputs.push_back(out);
        }
        set_input();
        if (!maixemc_layers_.empty()) {
            // Only Maix-EMC's kpu.c runs this model: its FULLY_CONNECTED sums in order.
            bool fc = false;
            for (Layer& l : m_.layers)
                if (auto* op = std::get_if<FullyConnectedOp>(&l.op)) fc = op->sequential_sum = true;
            m_.notes.push_back("layer type 21 (QUANTIZED_TENSORFLOW_FLATTEN, layer " +
                               maixemc_layers_ +
                               ") is run as Maix-EMC's modified SDK (kpu.c) runs it; the "
                               "standard Kendryte SDK refuses it (\"Layer is not supported.\")" +
                               (fc ? "; the model's FULLY_CONNECTED layers sum in order as that "
                                     "kpu.c's loop does"
                                   : ""));
        }
        return std::move(m_);
    }

private:
    void check_main(std::optional<uint32_t> layer, const std::string& field, uint64_t offset,
                    uint64_t bytes) {
        if (offset + bytes > m_.main_mem_usage)
            throw KmodelError(KmodelErrorKind::out_of_bounds,
                              "main-memory range " + std::to_string(offset) + ".." +
                                  std::to_string(offset + bytes) + " is past main_mem_usage (" +
                                  std::to_string(m_.main_mem_usage) + " bytes)",
                              layer, field);
    }

    // Elements of a tensor with dimensions `dims`, after checking that each dimension and the
    // product of the dimensions with every 0 counted as 1 (the iterations of the layer's
    // outer loops, which a zero inner dimension does not stop) are at most
    // kMaxTensorElements: no wrapped product can pass a range check, no loop runs long.
    uint64_t elements(uint32_t layer, const char* field, std::initializer_list<uint32_t> dims) {
        uint64_t loops = 1;
        std::string text;
        bool too_big = false;
        for (uint32_t d : dims) {
            text += (text.empty() ? "" : " x ") + std::to_string(d);
            if (d > kMaxTensorElements) too_big = true;
            const auto next = checked_mul(loops, std::max<uint32_t>(d, 1));
            if (!next || *next > kMaxTensorElements) too_big = true;
            else loops = *next;
        }
        if (too_big)
            throw KmodelError(KmodelErrorKind::out_of_bounds,
                              "tensor " + text + " has more elements (counting each 0 as 1) than the " +
                                  std::to_string(kMaxTensorElements) + " the 6 MiB main memory can hold",
                              layer, field);
        uint64_t n = 1;
        for (uint32_t d : dims) n *= d;  // <= loops: cannot overflow
        return n;
    }

    // The in-bounds taps of pooling window `w` summed over its output, checked against
    // kMaxPoolTaps (after elements() bounded every dimension, nothing here overflows).
    void check_pool_work(uint32_t layer, const PoolWindow& w) {
        const uint64_t outputs = uint64_t{std::max<uint32_t>(w.out_c, 1)} *
                                 std::max<uint32_t>(w.out_h, 1) * std::max<uint32_t>(w.out_w, 1);
        const uint64_t taps = uint64_t{std::min(w.kernel_h, std::max<uint32_t>(w.in_h, 1))} *
                              std::min(w.kernel_w, std::max<uint32_t>(w.in_w, 1));
        if (outputs * taps > kMaxPoolTaps)
            throw KmodelError(KmodelErrorKind::inconsistent,
                              "pooling needs " + std::to_string(outputs) + " windows x " +
                                  std::to_string(taps) + " taps, above kpusim's limit of " +
                                  std::to_string(kMaxPoolTaps) + " taps per layer",
                              layer, "kernel_width");
    }

    void check_kpu(uint32_t layer, const std::string& field, uint32_t row, uint32_t w, uint32_t h,
                   uint32_t c) {
        if (w == 0 || h == 0 || c == 0 || w > 1024 || h > 1024 || c > 1024)
            throw KmodelError(KmodelErrorKind::inconsistent,
                              "KPU feature map " + std::to_string(c) + "x" + std::to_string(h) +
                                  "x" + std::to_string(w) + " is outside 1..1024 per dimension",
                              layer, field);
        const uint64_t rows = kpu::feature_map_rows(w, h, c);
        if (row + rows > kpu::kKpuRamRows)
            throw CapacityError("KPU allocator cannot allocate more memory: layer " +
                                std::to_string(layer) + " needs KPU RAM rows " +
                                std::to_string(row) + ".." + std::to_string(row + rows - 1) +
                                " (" + std::to_string(rows * 64) + " bytes), but KPU RAM has " +
                                std::to_string(kpu::kKpuRamBytes) + " bytes");
    }

    // Record a main-memory tensor written by layer i; later layers and outputs look it up.
    void wrote(Layer& layer, uint32_t offset, Shape shape, DataType type) {
        layer.out_shape = shape;
        layer.out_type = type;
        const uint32_t bytes = static_cast<uint32_t>(shape.elements() * element_size(type));
        written_[offset] = MainTensor{offset, bytes, shape, type};
    }
    // Shape of the tensor at `offset` if a layer wrote exactly `elements` there; else a vector.
    Shape shape_at(uint32_t offset, uint64_t elements) const {
        auto it = written_.find(offset);
        if (it != written_.end() && it->second.shape.elements() == elements) return it->second.shape;
        return vec_shape(static_cast<uint32_t>(elements));
    }

    void read_body(Layer& layer, const ByteReader& b) {
        const uint32_t i = layer.index;
        const TypeInfo* t = find_type(layer.type_code);
        if (!t)
            throw KmodelError(KmodelErrorKind::unknown_layer_type,
                              "layer type " + std::to_string(layer.type_code) +
                                  " is not a kmodel V3 layer type",
                              i, "type");
        layer.type_name = t->name;
        const bool maixemc = t->code == kQuantizedFlatten && !options_.strict_sdk;
        if (!t->runs_on_sdk && !maixemc)
            throw KmodelError(KmodelErrorKind::unsupported_layer,
                              std::string("layer type ") + t->name + " (" +
                                  std::to_string(t->code) +
                                  ") is not run by the K210 SDK runtime (\"Layer is not supported.\")" +
                                  (t->code == kQuantizedFlatten
                                       ? "; Maix-EMC's modified kpu.c runs it (refused because "
                                         "strict SDK checking is on)"
                                       : ""),
                              i, "type");
        if (maixemc) maixemc_layers_ += (maixemc_layers_.empty() ? "" : ", ") + std::to_string(i);
        auto u = [&](uint32_t off, const char* field) { return b.u32(off, field); };
        auto main = [&](const char* field, uint64_t off, uint64_t bytes) {
            check_main(i, field, off, bytes);
        };
        switch (layer.type_code) {
            case 10240: read_conv(layer, b); break;
            case 1: {
                AddOp op{u(4, "main_mem_in_a_address"), u(8, "main_mem_in_b_address"),
                         u(12, "main_mem_out_address"), u(16, "count")};
                main("main_mem_in_a_address", op.in_a, 4ull * op.count);
                main("main_mem_in_b_address", op.in_b, 4ull * op.count);
                main("main_mem_out_address", op.out, 4ull * op.count);
                wrote(layer, op.out, shape_at(op.in_a, op.count), DataType::float32);
                layer.op = op;
                break;
            }
            case 2: {
                QuantizedAddOp op{};
                op.in_a = u(4, "main_mem_in_a_address");
                op.in_b = u(8, "main_mem_in_b_address");
                op.out = u(12, "main_mem_out_address");
                op.count = u(16, "count");
                op.in_a_offset = b.i32(20, "in_a_offset");
                op.in_a_mul = b.i32(24, "in_a_mul");
                op.in_a_shift = b.i32(28, "in_a_shift");
                op.in_b_offset = b.i32(32, "in_b_offset");
                op.in_b_mul = b.i32(36, "in_b_mul");
                op.in_b_shift = b.i32(40, "in_b_shift");
                op.out_offset = b.i32(44, "out_offset");
                op.out_mul = b.i32(48, "out_mul");
                op.out_shift = b.i32(52, "out_shift");
                for (auto [name, v] : {std::pair{"in_a_shift", op.in_a_shift},
                                       std::pair{"in_b_shift", op.in_b_shift},
                                       std::pair{"out_shift", op.out_shift}})
                    if (v < 0 || v > 63)
                        throw KmodelError(KmodelErrorKind::inconsistent,
                                          "shift " + std::to_string(v) + " is outside 0..63", i, name);
                main("main_mem_in_a_address", op.in_a, op.count);
                main("main_mem_in_b_address", op.in_b, op.count);
                main("main_mem_out_address", op.out, op.count);
                wrote(layer, op.out, shape_at(op.in_a, op.count), DataType::uint8);
                layer.op = op;
                break;
            }
            case 5: {
                GlobalAveragePoolOp op{u(4, "main_mem_in_address"), u(8, "main_mem_out_address"),
                                       u(12, "kernel_size"), u(16, "channels")};
                if (op.kernel_size == 0)
                    throw KmodelError(KmodelErrorKind::inconsistent, "kernel_size is 0", i, "kernel_size");
                main("main_mem_in_address", op.in,
                     4 * elements(i, "kernel_size", {op.channels, op.kernel_size}));
                main("main_mem_out_address", op.out, 4ull * op.channels);
                wrote(layer, op.out, vec_shape(op.channels), DataType::float32);
                layer.op = op;
                break;
            }
            case 8:
            case 9: {
                PoolWindow w{u(12, "in_shape.width"),  u(16, "in_shape.height"),
                             u(20, "in_shape.channels"), u(24, "out_shape.width"),
                             u(28, "out_shape.height"), u(32, "out_shape.channels"),
                             u(36, "kernel_width"),     u(40, "kernel_height"),
                             u(44, "stride_width"),     u(48, "stride_height"),
                             u(52, "padding_width"),    u(56, "padding_height")};
                const uint32_t in = u(4, "main_mem_in_address"), out = u(8, "main_mem_out_address");
                if (w.in_c != w.out_c)
                    throw KmodelError(KmodelErrorKind::inconsistent, "input and output channels differ",
                                      i, "out_shape.channels");
                if (w.kernel_w == 0 || w.kernel_h == 0 || w.stride_w == 0 || w.stride_h == 0)
                    throw KmodelError(KmodelErrorKind::inconsistent, "zero kernel or stride", i,
                                      "kernel_width");
                const uint64_t esize = layer.type_code == 8 ? 1 : 4;
                main("main_mem_in_address", in,
                     esize * elements(i, "in_shape.width", {w.in_c, w.in_h, w.in_w}));
                main("main_mem_out_address", out,
                     esize * elements(i, "out_shape.width", {w.out_c, w.out_h, w.out_w}));
                check_pool_work(i, w);
                const Shape s{1, w.out_c, w.out_h, w.out_w};
                if (layer.type_code == 8) {
                    wrote(layer, out, s, DataType::uint8);
                    layer.op = QuantizedMaxPoolOp{in, out, w};
                } else {
                    wrote(layer, out, s, DataType::float32);
                    layer.op = AveragePoolOp{in, out, w, u(60, "act")};
                }
                break;
            }
            case 11:
            case 12: {
                const uint32_t in = u(4, "main_mem_in_address"), out = u(8, "main_mem_out_address");
                const uint32_t count = u(12, "count");
                const float scale = b.f32(16, "scale"), bias = b.f32(20, "bias");
                if (layer.type_code == 11) {
                    main("main_mem_in_address", in, 4ull * count);
                    main("main_mem_out_address", out, count);
                    wrote(layer, out, shape_at(in, count), DataType::uint8);
                    layer.op = QuantizeOp{in, out, count, scale, bias};
                } else {
                    main("main_mem_in_address", in, count);
                    main("main_mem_out_address", out, 4ull * count);
                    wrote(layer, out, shape_at(in, count), DataType::float32);
                    layer.op = DequantizeOp{in, out, count, scale, bias};
                }
                break;
            }
            case 13: {
                RequantizeOp op{};
                op.in = u(4, "main_mem_in_address");
                op.out = u(8, "main_mem_out_address");
                op.count = u(12, "count");
                std::memcpy(op.table.data(), b.bytes(16, 256, "table"), 256);
                main("main_mem_in_address", op.in, op.count);
                main("main_mem_out_address", op.out, op.count);
                wrote(layer, op.out, shape_at(op.in, op.count), DataType::uint8);
                layer.op = op;
                break;
            }
            case 14:
            case 15:
            case 25: {
                const uint32_t in = u(4, "main_mem_in_address"), out = u(8, "main_mem_out_address");
                const uint32_t channels = u(12, "channels");
                main("main_mem_in_address", in, 4ull * channels);
                main("main_mem_out_address", out, 4ull * channels);
                wrote(layer, out, shape_at(in, channels), DataType::float32);
                if (layer.type_code == 14) layer.op = L2NormalizationOp{in, out, channels};
                else if (layer.type_code == 15) layer.op = SoftmaxOp{in, out, channels};
                else layer.op = LogisticOp{in, out, channels};
                break;
            }
            case 16:
            case 17: {
                ConcatOp op;
                op.out = u(4, "main_mem_out_address");
                const uint32_t n = u(8, "input_count");
                b.require(12, uint64_t{n} * 8, "inputs");
                uint64_t total = 0;
                for (uint32_t k = 0; k < n; ++k) {
                    const uint32_t start = u(12 + 8 * k, "inputs.start");
                    const uint32_t size = u(16 + 8 * k, "inputs.size");
                    main("inputs.start", start, size);
                    op.inputs.emplace_back(start, size);
                    total += size;
                }
                main("main_mem_out_address", op.out, total);
                wrote(layer, op.out, vec_shape(static_cast<uint32_t>(total)), DataType::uint8);
                if (layer.type_code == 16) {  // float concat: report float elements
                    layer.out_shape = vec_shape(static_cast<uint32_t>(total / 4));
                    layer.out_type = DataType::float32;
                    written_[op.out] = MainTensor{op.out, static_cast<uint32_t>(total),
                                                  layer.out_shape, DataType::float32};
                }
                layer.op = std::move(op);
                break;
            }
            case 18: {
                FullyConnectedOp op;
                op.in = u(4, "main_mem_in_address");
                op.out = u(8, "main_mem_out_address");
                op.in_channels = u(12, "in_channels");
                op.out_channels = u(16, "out_channels");
                op.act = u(20, "act");
                if (op.act > 2)
                    throw KmodelError(KmodelErrorKind::inconsistent,
                                      "activation " + std::to_string(op.act) +
                                          " is not linear (0), ReLU (1) or ReLU6 (2)",
                                      i, "act");
                // The ranges first: they bound both channel counts by 1.5 Mi, so the weight
                // count below cannot overflow, and the weights must be in the body.
                main("main_mem_in_address", op.in, 4ull * op.in_channels);
                main("main_mem_out_address", op.out, 4ull * op.out_channels);
                const uint64_t nw = uint64_t{op.in_channels} * op.out_channels;
                const uint8_t* w = b.bytes(24, 4 * nw, "weights");
                const uint8_t* bias = b.bytes(24 + 4 * nw, 4ull * op.out_channels, "bias");
                op.weights.resize(nw);
                op.bias.resize(op.out_channels);
                if (nw > 0) std::memcpy(op.weights.data(), w, 4 * nw);
                if (op.out_channels > 0)
                    std::memcpy(op.bias.data(), bias, 4ull * op.out_channels);
                wrote(layer, op.out, vec_shape(op.out_channels), DataType::float32);
                layer.op = std::move(op);
                break;
            }
            case 20:
            case 21: {  // 21: uint8 elements, as Maix-EMC's kpu.c runs it (spec §17)
                FlattenOp op{u(4, "main_mem_in_address"), u(8, "main_mem_out_address"),
                             u(12, "width"), u(16, "height"), u(20, "channels")};
                op.type = layer.type_code == 20 ? DataType::float32 : DataType::uint8;
                const uint64_t n = elements(i, "width", {op.channels, op.height, op.width});
                const uint64_t bytes = n * element_size(op.type);
                main("main_mem_in_address", op.in, bytes);
                main("main_mem_out_address", op.out, bytes);
                wrote(layer, op.out, vec_shape(static_cast<uint32_t>(n)), op.type);
                layer.op = op;
                break;
            }
            case 22:
            case 23: {
                ResizeNearestOp op{u(4, "main_mem_in_address"), u(8, "main_mem_out_address"),
                                   u(12, "in_width"), u(16, "in_height"), u(20, "channels"),
                                   u(24, "out_width"), u(28, "out_height"), b.i32(32, "align_corners")};
                if (op.out_w == 0 || op.out_h == 0 || op.in_w == 0 || op.in_h == 0)
                    throw KmodelError(KmodelErrorKind::inconsistent, "zero size", i, "out_width");
                const uint64_t es = layer.type_code == 22 ? 4 : 1;
                main("main_mem_in_address", op.in,
                     es * elements(i, "in_width", {op.channels, op.in_h, op.in_w}));
                main("main_mem_out_address", op.out,
                     es * elements(i, "out_width", {op.channels, op.out_h, op.out_w}));
                wrote(layer, op.out, Shape{1, op.channels, op.out_h, op.out_w},
                      es == 4 ? DataType::float32 : DataType::uint8);
                layer.op = op;
                break;
            }
            case 24: {
                ChannelwiseDequantizeOp op;
                op.in = u(4, "main_mem_in_address");
                op.out = u(8, "main_mem_out_address");
                op.channels = u(12, "channels");
                op.channel_size = u(16, "channel_size");
                const uint64_t n = elements(i, "channel_size", {op.channels, op.channel_size});
                const uint8_t* params = b.bytes(20, 8ull * op.channels, "quant_params");
                for (uint32_t c = 0; c < op.channels; ++c) {
                    float s, z;
                    std::memcpy(&s, params + 8 * c, 4);
                    std::memcpy(&z, params + 8 * c + 4, 4);
                    op.scale.push_back(s);
                    op.bias.push_back(z);
                }
                main("main_mem_in_address", op.in, n);
                main("main_mem_out_address", op.out, 4 * n);
                wrote(layer, op.out, shape_at(op.in, n), DataType::float32);
                layer.op = std::move(op);
                break;
            }
            case 10241: {
                AddPaddingOp op{u(4, "main_mem_in_address"), u(8, "kpu_mem_out_address"),
                                u(12, "channels")};
                main("main_mem_in_address", op.in, op.channels);
                check_kpu(i, "kpu_mem_out_address", op.kpu_row, 4, 4, op.channels);
                layer.out_shape = Shape{1, op.channels, 4, 4};
                layer.out_type = DataType::uint8;
                layer.op = op;
                break;
            }
            case 10242: {
                RemovePaddingOp op{u(4, "main_mem_in_address"), u(8, "main_mem_out_address"),
                                   u(12, "channels")};
                main("main_mem_in_address", op.in, 16ull * op.channels);
                main("main_mem_out_address", op.out, op.channels);
                wrote(layer, op.out, vec_shape(op.channels), DataType::uint8);
                layer.op = op;
                break;
            }
            case 10243: {
                UploadOp op{u(4, "main_mem_in_address"), u(8, "kpu_mem_out_address"),
                            u(12, "width"), u(16, "height"), u(20, "channels")};
                check_kpu(i, "kpu_mem_out_address", op.kpu_row, op.width, op.height, op.channels);
                main("main_mem_in_address", op.in, uint64_t{op.width} * op.height * op.channels);
                layer.out_shape = Shape{1, op.channels, op.height, op.width};
                layer.out_type = DataType::uint8;
                layer.op = op;
                break;
            }
            default:
                throw KmodelError(KmodelErrorKind::unsupported_layer, "no reader for this type", i,
                                  "type");
        }
    }

    void read_conv(Layer& layer, const ByteReader& b) {
        const uint32_t i = layer.index;
        KpuConvOp op;
        const uint32_t flags = b.u32(0, "flags");
        op.main_mem_out = (flags & 1) != 0;
        op.main_mem_out_address = b.u32(4, "main_mem_out_address");
        const uint32_t layer_offset = b.u32(8, "layer_offset");
        const uint32_t weights_offset = b.u32(12, "weights_offset");
        const uint32_t bn_offset = b.u32(16, "bn_offset");
        const uint32_t act_offset = b.u32(20, "act_offset");
        // Blobs are absolute file offsets and must lie inside this layer's body: a flash run
        // reads only the body.
        const uint64_t body_begin = layer.body.offset;
        const uint64_t body_end = body_begin + b.size();
        auto blob = [&](const char* field, uint32_t offset, uint64_t bytes) {
            if (offset < body_begin || offset > body_end || bytes > body_end - offset)
                throw KmodelError(KmodelErrorKind::out_of_bounds,
                                  "blob of " + std::to_string(bytes) + " bytes at file offset " +
                                      std::to_string(offset) + " is outside the layer body (bytes " +
                                      std::to_string(body_begin) + ".." + std::to_string(body_end) + ")",
                                  i, field);
            return FileSpan{offset, static_cast<uint32_t>(bytes)};
        };
        op.layer_argument = blob("layer_offset", layer_offset, kpu::kLayerArgumentBytes);
        op.arg = kpu::LayerArgument::decode(file_->data() + layer_offset);
        kpu::validate(op.arg, i);
        const kpu::LayerArgument& a = op.arg;
        op.weights = blob("weights_offset", weights_offset, a.weight_bytes(m_.eight_bit));
        op.batchnorm = blob("bn_offset", bn_offset, 8ull * a.out_channels());
        op.activation = blob("act_offset", act_offset, 144);
        const Shape out{1, a.out_channels(), a.out_height(), a.out_width()};
        if (op.main_mem_out) {
            check_main(i, "main_mem_out_address", op.main_mem_out_address, out.elements());
            wrote(layer, op.main_mem_out_address, out, DataType::uint8);
        }
        layer.out_shape = out;
        layer.out_type = DataType::uint8;
        layer.op = op;
    }

    void resolve_output(ModelOutput& out) {
        auto it = written_.find(out.main_offset);
        if (it != written_.end()) {
            out.shape = it->second.shape;
            out.type = it->second.type;
            // V3 writes sizes as element count x 4 whatever the type (spec §7.1).
            const uint64_t declared_elements = out.size / 4;
            if (declared_elements != out.shape.elements() && out.size != it->second.bytes)
                out.shape = vec_shape(static_cast<uint32_t>(out.size / element_size(out.type)));
        } else {
            out.type = DataType::float32;
            out.shape = vec_shape(out.size / 4);
        }
    }

    void set_input() {
        const Layer& first = m_.layers.front();
        if (const auto* conv = std::get_if<KpuConvOp>(&first.op)) {
            const auto& a = conv->arg;
            m_.input.shape = Shape{1, a.in_channels(), a.in_height(), a.in_width()};
            m_.input.type = DataType::uint8;
            m_.input.to_kpu_ram = true;
            m_.input.kpu_row = a.image_src_addr;
        } else if (const auto* fc = std::get_if<FullyConnectedOp>(&first.op)) {
            m_.input.shape = vec_shape(fc->in_channels);
            m_.input.type = DataType::float32;
            m_.input.to_kpu_ram = false;
            m_.input.main_offset = fc->in;
        } else {
            throw KmodelError(KmodelErrorKind::unsupported_layer,
                              "the V3 runtime accepts only K210_CONV or FULLY_CONNECTED as the "
                              "first layer, not " + first.type_name,
                              0u, "type");
        }
    }

    std::shared_ptr<const std::vector<uint8_t>> file_;
    KmodelReadOptions options_;
    std::string maixemc_layers_;  ///< indices of the layers only Maix-EMC's kpu.c runs
    Model m_;
    std::map<uint32_t, MainTensor> written_;
};

}  // namespace

const char* v3_layer_type_name(uint32_t code) {
    const TypeInfo* t = find_type(code);
    return t ? t->name : nullptr;
}

Model read_kmodel_v3(std::shared_ptr<const std::vector<uint8_t>> file, const KmodelReadOptions& options) {
    return V3Reader(std::move(file), options).read();
}

}  // namespace kpusim
