#include "models/kmodel_v4_reader.h"

#include <algorithm>
#include <map>
#include <string>

#include "kpu_core/kpu_ram_layout.h"
#include "models/byte_reader.h"
#include "models/kmodel_error.h"
#include "models/kmodel_v4_cpu_ops.h"
#include "models/kmodel_v4_types.h"
#include "models/size_limits.h"

namespace kpusim {

namespace {

constexpr uint32_t kHeaderBytes = 40;
constexpr uint32_t kRangeBytes = 16;
constexpr uint32_t kShapeBytes = 16;
constexpr uint32_t kNodeHeaderBytes = 8;
constexpr uint32_t kMaxLastBodyOverrun = 7;  // the last body's padding may be missing (§9.1)
constexpr uint32_t kKpuConvFixedBytes = 120;  // main_mem_output, batches, reserved0, layer argument
constexpr uint32_t kActivationTableBytes = 144;

using v4::MemoryRange;
using v4::MemoryType;

class V4Reader {
public:
    V4Reader(std::shared_ptr<const std::vector<uint8_t>> file, const KmodelReadOptions& options)
        : file_(std::move(file)), options_(options) {}

    Model read() {
        const ByteReader r(file_->data(), file_->size());
        m_.version = r.u32(4, "version");
        if (m_.version != 4)
            throw KmodelError(KmodelErrorKind::unsupported_version,
                              "the V4 reader reads kmodel version 4, not " + std::to_string(m_.version), std::nullopt,
                              "version");
        const uint32_t target = r.u32(12, "target");
        if (target > 1)
            throw KmodelError(KmodelErrorKind::inconsistent,
                              "target " + std::to_string(target) + " is neither 0 (CPU) nor 1 (K210)", std::nullopt,
                              "target");
        const uint32_t constants = r.u32(16, "constants");
        m_.main_mem_usage = r.u32(20, "main_mem");
        const uint32_t nodes = r.u32(24, "nodes");
        const uint32_t inputs = r.u32(28, "inputs");
        const uint32_t outputs = r.u32(32, "outputs");
        // reserved0 (offset 36) holds garbage in real files: never validated.
        if (m_.main_mem_usage > kGeneralSramBytes)
            throw CapacityError("out of memory: main_mem of " + std::to_string(m_.main_mem_usage) +
                                " bytes is more than the whole " + std::to_string(kGeneralSramBytes) +
                                " bytes of general SRAM");
        if (inputs == 0)
            throw KmodelError(KmodelErrorKind::inconsistent, "the model declares no input", std::nullopt, "inputs");
        if (outputs == 0)
            throw KmodelError(KmodelErrorKind::inconsistent, "the model declares no output", std::nullopt, "outputs");
        if (nodes == 0)
            throw KmodelError(KmodelErrorKind::inconsistent, "the model declares no node", std::nullopt, "nodes");
        sizes_.main = m_.main_mem_usage;
        sizes_.kpu = kpu::kKpuRamBytes;
        sizes_.constants = constants;

        // Table offsets in 64 bits: counts come from the file.
        const uint64_t in_ranges = kHeaderBytes;
        const uint64_t in_shapes = in_ranges + uint64_t{kRangeBytes} * inputs;
        const uint64_t out_ranges = in_shapes + uint64_t{kShapeBytes} * inputs;
        const uint64_t const_at = out_ranges + uint64_t{kRangeBytes} * outputs;
        const uint64_t headers_at = const_at + constants;
        const uint64_t bodies_at = headers_at + uint64_t{kNodeHeaderBytes} * nodes;
        r.require(0, bodies_at, "node headers");
        m_.constants = FileSpan{static_cast<uint32_t>(const_at), constants};
        m_.bodies_offset = static_cast<uint32_t>(bodies_at);

        std::vector<MemoryRange> in(inputs);
        std::vector<Shape> in_shape(inputs);
        for (uint32_t i = 0; i < inputs; ++i) {
            in[i] = range(r, in_ranges + uint64_t{kRangeBytes} * i, std::nullopt, "inputs[" + std::to_string(i) + "]");
            in_shape[i] = shape(r, in_shapes + uint64_t{kShapeBytes} * i, std::nullopt,
                                "input_shapes[" + std::to_string(i) + "]");
        }
        std::vector<MemoryRange> out(outputs);
        for (uint32_t o = 0; o < outputs; ++o)
            out[o] = range(r, out_ranges + uint64_t{kRangeBytes} * o, std::nullopt, "outputs[" + std::to_string(o) + "]");

        uint64_t offset = bodies_at;
        for (uint32_t i = 0; i < nodes; ++i) {
            const uint64_t h = headers_at + uint64_t{kNodeHeaderBytes} * i;
            const uint32_t opcode = r.u32(h, "node_headers[" + std::to_string(i) + "].opcode");
            const uint32_t body_size = r.u32(h + 4, "node_headers[" + std::to_string(i) + "].body_size");
            const bool last = i + 1 == nodes;
            const uint64_t end = offset + body_size;
            if (end > file_->size() && !(last && end - file_->size() <= kMaxLastBodyOverrun))
                throw KmodelError(KmodelErrorKind::truncated,
                                  "body of " + std::to_string(body_size) + " bytes at file offset " +
                                      std::to_string(offset) + " runs past the end of the file (" +
                                      std::to_string(file_->size()) + " bytes)",
                                  i, "body_size");
            Layer layer;
            layer.index = i;
            layer.type_code = opcode;
            const char* name = v4::opcode_name(opcode);
            if (!name)
                throw KmodelError(KmodelErrorKind::unknown_layer_type,
                                  "opcode " + std::to_string(opcode) + " is not an nncase 0.2 runtime opcode", i,
                                  "opcode");
            layer.type_name = name;
            layer.body = FileSpan{static_cast<uint32_t>(offset), body_size};
            // The body as the runtime sees it: a missing last padding reads as zeros.
            std::vector<uint8_t> padded;
            const uint8_t* body = file_->data() + offset;
            if (end > file_->size()) {
                padded.assign(body_size, 0);
                std::copy(file_->begin() + static_cast<std::ptrdiff_t>(offset), file_->end(), padded.begin());
                body = padded.data();
            }
            if (opcode == v4::op_kpu_conv2d)
                read_kpu_conv(layer, body);
            else if (opcode == v4::op_kpu_upload)
                read_kpu_upload(layer, body);
            else
                read_cpu_node(layer, body);
            m_.layers.push_back(std::move(layer));
            offset = end;
        }

        if (offset < file_->size())
            m_.notes.push_back("the file holds " + std::to_string(file_->size() - offset) +
                               " bytes past its last node body, which the runtime never reads");
        set_input(in, in_shape);
        for (uint32_t o = 0; o < outputs; ++o) m_.outputs.push_back(output(out[o], o));
        if (inputs > 1)
            m_.notes.push_back("the model declares " + std::to_string(inputs) +
                               " inputs; the nncase 0.2 runtime feeds only input 0, the others keep "
                               "whatever main memory or KPU RAM holds (zeros here)");
        m_.file = file_;
        (void)options_;
        return std::move(m_);
    }

private:
    MemoryRange range(const ByteReader& r, uint64_t at, std::optional<uint32_t> node, const std::string& field) {
        return v4::read_memory_range(r, at, node, field, sizes_);
    }

    Shape shape(const ByteReader& r, uint64_t at, std::optional<uint32_t> node, const std::string& field) {
        int32_t d[4];
        for (int k = 0; k < 4; ++k) d[k] = r.i32(at + 4 * k, field);
        for (int k = 0; k < 4; ++k)
            if (d[k] < 1 || static_cast<uint64_t>(d[k]) > kMaxTensorElements)
                throw KmodelError(KmodelErrorKind::inconsistent,
                                  "dimension " + std::to_string(k) + " is " + std::to_string(d[k]) +
                                      " (each must be 1.." + std::to_string(kMaxTensorElements) + ")",
                                  node, field);
        const auto n = checked_product({uint64_t(d[0]), uint64_t(d[1]), uint64_t(d[2]), uint64_t(d[3])});
        if (!n || *n > kMaxTensorElements)
            throw KmodelError(KmodelErrorKind::inconsistent,
                              "the shape's element count is more than " + std::to_string(kMaxTensorElements), node,
                              field);
        return Shape{uint32_t(d[0]), uint32_t(d[1]), uint32_t(d[2]), uint32_t(d[3])};
    }

    /// Rows of one batch's map, and that the `batches` maps from `row` fit the KPU RAM.
    void check_kpu_rows(uint32_t node, const char* field, uint64_t first_row, uint64_t rows_per_batch,
                        uint64_t batches) {
        const auto rows = checked_mul(rows_per_batch, batches);
        if (!rows || first_row + *rows > kpu::kKpuRamRows)
            throw CapacityError("KPU allocator cannot allocate more memory: node " + std::to_string(node) + " (" +
                                field + ") needs KPU RAM rows " + std::to_string(first_row) + ".." +
                                (rows ? std::to_string(first_row + *rows) : std::string("(overflow)")) + " of " +
                                std::to_string(kpu::kKpuRamRows));
    }

    void read_kpu_upload(Layer& layer, const uint8_t* body) {
        const uint32_t i = layer.index;
        const ByteReader b(body, layer.body.size, layer.body.offset, i);
        const MemoryRange in = range(b, 0, i, "input");
        const MemoryRange out = range(b, 16, i, "output");
        const Shape s = shape(b, 32, i, "in_shape");
        if (in.memory != MemoryType::main || in.type != DataType::uint8)
            throw KmodelError(KmodelErrorKind::inconsistent, "kpu_upload reads uint8 main memory, not " +
                                  std::string(v4::to_string(in.memory)) + " " + to_string(in.type),
                              i, "input");
        if (out.memory != MemoryType::kpu)
            throw KmodelError(KmodelErrorKind::inconsistent, "kpu_upload writes KPU RAM, not " +
                                  std::string(v4::to_string(out.memory)), i, "output");
        if (s.elements() > in.size)
            throw KmodelError(KmodelErrorKind::out_of_bounds,
                              "in_shape " + to_string(s) + " has " + std::to_string(s.elements()) +
                                  " elements, more than the input range's " + std::to_string(in.size) + " bytes",
                              i, "in_shape");
        const uint64_t rows = kpu::feature_map_rows(s.w, s.h, s.c);
        // The layout from a byte offset: whole rows plus the offset inside the first one.
        const uint64_t first = out.start / kpu::kKpuRamRowBytes;
        const uint64_t extra = out.start % kpu::kKpuRamRowBytes ? 1 : 0;
        check_kpu_rows(i, "output", first, rows, s.n);
        if (extra) check_kpu_rows(i, "output", first + rows * s.n, 1, 1);
        layer.op = V4UploadOp{in.start, out.start, s};
        layer.out_shape = s;
        layer.out_type = DataType::uint8;
    }

    void read_kpu_conv(Layer& layer, const uint8_t* body) {
        const uint32_t i = layer.index;
        const ByteReader b(body, layer.body.size, layer.body.offset, i);
        const MemoryRange out = range(b, 0, i, "main_mem_output");
        const int32_t batches = b.i32(16, "batches");
        b.require(24, kpu::kLayerArgumentBytes, "layer_argument");
        KpuConvOp op;
        op.arg = kpu::LayerArgument::decode(body + 24);
        kpu::validate(op.arg, i);
        const kpu::LayerArgument& a = op.arg;
        if (batches < 1 || static_cast<uint32_t>(batches) > kpu::kKpuRamRows)
            throw KmodelError(KmodelErrorKind::inconsistent,
                              "batches is " + std::to_string(batches) + " (must be 1.." +
                                  std::to_string(kpu::kKpuRamRows) + ")",
                              i, "batches");
        op.batches = static_cast<uint32_t>(batches);
        check_kpu_rows(i, "image_src_addr", a.image_src_addr,
                       kpu::feature_map_rows(a.in_width(), a.in_height(), a.in_channels()), op.batches);
        check_kpu_rows(i, "image_dst_addr", a.image_dst_addr,
                       kpu::feature_map_rows(a.out_width(), a.out_height(), a.out_channels()), op.batches);
        // The three blob "addresses" are the paddings before each blob (spec §9.4).
        const uint64_t base = layer.body.offset;
        uint64_t at = kKpuConvFixedBytes + a.bwsx_base_addr;
        auto blob = [&](const char* field, uint64_t bytes) {
            b.require(at, bytes, field);
            const FileSpan span{static_cast<uint32_t>(base + at), static_cast<uint32_t>(bytes)};
            at += bytes;
            return span;
        };
        op.layer_argument = FileSpan{static_cast<uint32_t>(base + 24), kpu::kLayerArgumentBytes};
        op.batchnorm = blob("batchnorm", 8ull * a.out_channels());
        at += a.active_addr;
        op.activation = blob("activation", kActivationTableBytes);
        at += a.para_start_addr;
        op.weights = blob("weights", a.weight_bytes(true));
        const Shape o{op.batches, a.out_channels(), a.out_height(), a.out_width()};
        if (out.size != 0) {
            if (out.memory != MemoryType::main || out.type != DataType::uint8)
                throw KmodelError(KmodelErrorKind::inconsistent,
                                  "the main-memory output must be uint8 main memory, not " +
                                      std::string(v4::to_string(out.memory)) + " " + to_string(out.type),
                                  i, "main_mem_output");
            if (out.size < o.elements())
                throw KmodelError(KmodelErrorKind::out_of_bounds,
                                  "the output " + to_string(o) + " has " + std::to_string(o.elements()) +
                                      " bytes, more than main_mem_output's " + std::to_string(out.size),
                                  i, "main_mem_output.size");
            op.download = true;
            op.download_address = out.start;
            wrote(out.memory, out.start, o, DataType::uint8);
        }
        layer.out_shape = o;
        layer.out_type = DataType::uint8;
        layer.op = op;
    }

    void read_cpu_node(Layer& layer, const uint8_t* body) {
        V4CpuOp op;
        op.node = v4::parse_cpu_node(layer.type_code, body, layer.body.size, layer.index, sizes_);
        layer.out_shape = v4::output_shape(*op.node);
        layer.out_type = v4::output_type(*op.node);
        // Element-wise nodes carry no shape in their bodies: they keep their input's, as
        // whatever wrote that input knew it (e.g. the dequantize after a kpu_conv2d).
        const uint32_t code = layer.type_code;
        const bool elementwise = code == v4::op_dequantize || code == v4::op_quantize || code == v4::op_unary ||
                                 code == v4::op_memory_copy || code == v4::op_table_lookup1d ||
                                 code == v4::op_nnil_unary_method;
        const std::vector<MemoryRange> inputs = v4::node_inputs(*op.node);
        if (elementwise && !inputs.empty() && inputs.front().memory == MemoryType::main) {
            auto it = written_.find(inputs.front().start);
            if (it != written_.end() && it->second.shape.elements() == layer.out_shape.elements())
                layer.out_shape = it->second.shape;
        }
        for (const MemoryRange& r : v4::node_outputs(*op.node)) wrote(r.memory, r.start, layer.out_shape, layer.out_type);
        layer.op = std::move(op);
    }

    void wrote(MemoryType memory, uint32_t start, const Shape& s, DataType t) {
        if (memory == MemoryType::main) written_[start] = {s, t};
    }

    void set_input(const std::vector<MemoryRange>& in, const std::vector<Shape>& shapes) {
        ModelInput& mi = m_.input;
        const MemoryRange& r = in[0];
        mi.shape = shapes[0];
        mi.type = r.type;
        // In main memory the input is dense; in KPU RAM it takes the rows of the §2 layout.
        const uint64_t bytes = r.memory == MemoryType::kpu
                                   ? uint64_t{mi.shape.n} * kpu::feature_map_rows(mi.shape.w, mi.shape.h, mi.shape.c) *
                                         kpu::kKpuRamRowBytes
                                   : mi.shape.elements() * element_size(r.type);
        if (bytes != r.size)
            throw KmodelError(KmodelErrorKind::inconsistent,
                              "input 0's shape " + to_string(mi.shape) + " takes " + std::to_string(bytes) +
                                  " bytes of " + to_string(r.type) + " in " + v4::to_string(r.memory) +
                                  " memory but its range has " + std::to_string(r.size),
                              std::nullopt, "input_shapes[0]");
        if (r.memory == MemoryType::constant)
            throw KmodelError(KmodelErrorKind::inconsistent, "input 0 lies in the constant blob", std::nullopt,
                              "inputs[0].memory_type");
        if (r.memory == MemoryType::kpu) {
            if (r.type != DataType::uint8)
                throw KmodelError(KmodelErrorKind::inconsistent, "an input in KPU RAM must be uint8", std::nullopt,
                                  "inputs[0].datatype");
            if (r.start % kpu::kKpuRamRowBytes != 0)
                throw KmodelError(KmodelErrorKind::inconsistent,
                                  "input 0 starts at KPU RAM byte " + std::to_string(r.start) +
                                      ", not on a 64-byte row (nncase allocates KPU RAM in rows; kpusim uploads "
                                      "inputs to whole rows)",
                                  std::nullopt, "inputs[0].start");
            mi.to_kpu_ram = true;
            mi.kpu_row = r.start / kpu::kKpuRamRowBytes;
            check_kpu_rows(0, "inputs[0]", mi.kpu_row, kpu::feature_map_rows(mi.shape.w, mi.shape.h, mi.shape.c),
                           mi.shape.n);
        } else {
            mi.to_kpu_ram = false;
            mi.main_offset = r.start;
        }
    }

    ModelOutput output(const MemoryRange& r, uint32_t index) {
        ModelOutput o;
        o.main_offset = r.start;
        o.size = r.size;
        o.type = r.type;
        if (r.memory != MemoryType::main)
            throw KmodelError(KmodelErrorKind::inconsistent,
                              "output " + std::to_string(index) + " is in " + v4::to_string(r.memory) +
                                  " memory; kpusim reads outputs from main memory",
                              std::nullopt, "outputs[" + std::to_string(index) + "].memory_type");
        const uint64_t elements = r.size / element_size(r.type);
        if (r.size % element_size(r.type) != 0)
            throw KmodelError(KmodelErrorKind::inconsistent,
                              "output " + std::to_string(index) + " has " + std::to_string(r.size) +
                                  " bytes, not a whole number of " + to_string(r.type) + " elements",
                              std::nullopt, "outputs[" + std::to_string(index) + "].size");
        auto it = written_.find(r.start);
        if (it != written_.end() && it->second.type == r.type && it->second.shape.elements() == elements)
            o.shape = it->second.shape;
        else
            o.shape = Shape{1, static_cast<uint32_t>(elements), 1, 1};
        return o;
    }

    struct Written {
        Shape shape;
        DataType type;
    };
    std::shared_ptr<const std::vector<uint8_t>> file_;
    KmodelReadOptions options_;
    v4::MemorySizes sizes_;
    Model m_;
    std::map<uint32_t, Written> written_;
};

}  // namespace

Model read_kmodel_v4(std::shared_ptr<const std::vector<uint8_t>> file, const KmodelReadOptions& options) {
    return V4Reader(std::move(file), options).read();
}

}  // namespace kpusim
