#include "models/kmodel_v4_cpu_ops.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "models/byte_reader.h"
#include "models/kmodel_error.h"
#include "models/size_limits.h"

namespace kpusim::v4 {

bool is_cpu_opcode(uint32_t opcode) {
    return opcode <= op_nnil_unary_method || (opcode >= op_cpu_conv2d && opcode <= op_cpu_quantized_depthwise_conv2d);
}

int64_t windowed_size(int64_t n, int64_t filter, int64_t stride, int64_t dilation, const Padding& pad) {
    const int64_t effective = (filter - 1) * dilation + 1;
    const int64_t num = n + pad.before + pad.after - effective + stride;
    if (stride <= 0 || num <= 0) return 0;
    return num / stride;
}

uint64_t shape_elements(const Dims4& s) {
    uint64_t r = 1;
    for (int32_t d : s) r *= static_cast<uint64_t>(d < 0 ? 0 : d);
    return r;
}

uint64_t binary_elements(const Dims4& a, const Dims4& b, const Dims4& out) {
    return shape_elements(a == b ? a : out);
}

namespace {

constexpr uint32_t kF32 = 1u << 0;  // allowed datatype masks
constexpr uint32_t kU8 = 1u << 1;
constexpr uint32_t kAny = kF32 | kU8;

uint64_t sat_mul(uint64_t a, uint64_t b) {
    const auto r = checked_mul(a, b);
    return r ? *r : std::numeric_limits<uint64_t>::max();
}
uint64_t sat_add(uint64_t a, uint64_t b) {
    const uint64_t r = a + b;
    return r < a ? std::numeric_limits<uint64_t>::max() : r;
}

class Parser {
public:
    Parser(const uint8_t* body, uint64_t size, uint32_t node, const MemorySizes& sizes)
        : r_(body, size, 0, node), node_(node), sizes_(sizes), body_(body), size_(size) {}

    [[noreturn]] void fail(KmodelErrorKind kind, const std::string& field, const std::string& msg) const {
        throw KmodelError(kind, msg, node_, field);
    }

    uint32_t u32(uint64_t off, const std::string& f) const { return r_.u32(off, f); }
    int32_t i32(uint64_t off, const std::string& f) const { return r_.i32(off, f); }
    float f32(uint64_t off, const std::string& f) const { return r_.f32(off, f); }

    /// A memory range at `off`; `written` ranges may not be constant.
    MemoryRange range(uint64_t off, const std::string& f, uint32_t types, bool written) const {
        const MemoryRange m = read_memory_range(r_, off, node_, f, sizes_);
        if (!(types & (m.type == DataType::float32 ? kF32 : kU8)))
            fail(KmodelErrorKind::inconsistent, f + ".datatype",
                 std::string("datatype ") + to_string(m.type) + " is not what this operation takes");
        if (written && m.memory == MemoryType::constant)
            fail(KmodelErrorKind::inconsistent, f, "the output range is in the read-only constant memory");
        return m;
    }

    /// A 4 x i32 shape, each dimension 0..kMaxTensorElements, product (zeros as 1) bounded.
    Dims4 shape(uint64_t off, const std::string& f) const {
        Dims4 s;
        uint64_t product = 1;
        for (int k = 0; k < 4; ++k) {
            s[k] = i32(off + 4 * k, f);
            if (s[k] < 0 || static_cast<uint64_t>(s[k]) > kMaxTensorElements)
                fail(KmodelErrorKind::inconsistent, f,
                     "dimension " + std::to_string(k) + " is " + std::to_string(s[k]) + " (must be 0.." +
                         std::to_string(kMaxTensorElements) + ")");
            product *= s[k] == 0 ? 1 : static_cast<uint64_t>(s[k]);  // <= (6 Mi)^4 < 2^92? checked below
            if (product > kMaxTensorElements)
                fail(KmodelErrorKind::inconsistent, f, "has more than " + std::to_string(kMaxTensorElements) + " elements");
        }
        return s;
    }

    /// A single dimension-like count (0..kMaxTensorElements).
    int32_t count(uint64_t off, const std::string& f) const {
        const int32_t v = i32(off, f);
        if (v < 0 || static_cast<uint64_t>(v) > kMaxTensorElements)
            fail(KmodelErrorKind::inconsistent, f,
                 "is " + std::to_string(v) + " (must be 0.." + std::to_string(kMaxTensorElements) + ")");
        return v;
    }
    /// A filter/stride/dilation (1..kMaxTensorElements).
    int32_t positive(uint64_t off, const std::string& f) const {
        const int32_t v = i32(off, f);
        if (v < 1 || static_cast<uint64_t>(v) > kMaxTensorElements)
            fail(KmodelErrorKind::inconsistent, f,
                 "is " + std::to_string(v) + " (must be 1.." + std::to_string(kMaxTensorElements) + ")");
        return v;
    }
    uint32_t enumeration(uint64_t off, const std::string& f, uint32_t max) const {
        const uint32_t v = u32(off, f);
        if (v > max)
            fail(KmodelErrorKind::inconsistent, f,
                 "value " + std::to_string(v) + " is not defined (0.." + std::to_string(max) + ")");
        return v;
    }
    Padding padding(uint64_t off, const std::string& f) const {
        Padding p{i32(off, f), i32(off + 4, f)};
        const int64_t lim = static_cast<int64_t>(kMaxTensorElements);
        if (p.before < -lim || p.before > lim || p.after < -lim || p.after > lim)
            fail(KmodelErrorKind::inconsistent, f, "padding beyond +-" + std::to_string(lim));
        return p;
    }
    ValueRange value_range(uint64_t off, const std::string& f) const { return {f32(off, f), f32(off + 4, f)}; }
    QuantParam quant_param(uint64_t off, const std::string& f) const { return {i32(off, f), f32(off + 4, f)}; }

    /// Window fields: padding_h at `off`, padding_w +8, filter_h +16, filter_w +20, strides, dilations.
    Window2D window(uint64_t off) const {
        Window2D w;
        w.padding_h = padding(off, "padding_h");
        w.padding_w = padding(off + 8, "padding_w");
        w.filter_h = positive(off + 16, "filter_h");
        w.filter_w = positive(off + 20, "filter_w");
        w.stride_h = positive(off + 24, "stride_h");
        w.stride_w = positive(off + 28, "stride_w");
        w.dilation_h = positive(off + 32, "dilation_h");
        w.dilation_w = positive(off + 36, "dilation_w");
        return w;
    }

    template <class T>
    std::vector<T> array(uint64_t off, uint64_t n, const std::string& f) const {
        const auto bytes = checked_mul(n, sizeof(T));
        if (!bytes) fail(KmodelErrorKind::truncated, f, "array size overflows");
        const uint8_t* p = r_.bytes(off, *bytes, f);
        std::vector<T> v(n);
        if (n) std::memcpy(v.data(), p, *bytes);
        return v;
    }

    /// `elements` of `esize` bytes must fit in range `m`.
    void fits(const MemoryRange& m, uint64_t elements, uint64_t esize, const std::string& f) const {
        const auto bytes = checked_mul(elements, esize);
        if (!bytes || *bytes > m.size)
            fail(KmodelErrorKind::out_of_bounds, f,
                 "the operation accesses " + std::to_string(elements) + " elements of " + std::to_string(esize) +
                     " bytes but the range holds " + std::to_string(m.size) + " bytes");
    }
    /// A product bounded by kMaxTensorElements.
    uint64_t bounded(std::initializer_list<uint64_t> f, const std::string& field) const {
        const auto p = checked_product(f);
        if (!p || *p > kMaxTensorElements)
            fail(KmodelErrorKind::inconsistent, field, "has more than " + std::to_string(kMaxTensorElements) + " elements");
        return *p;
    }
    /// Steps bounded by kMaxV4CpuSteps.
    void steps(std::initializer_list<uint64_t> f, const std::string& field) const {
        const auto p = checked_product(f);
        if (!p || *p > kMaxV4CpuSteps)
            fail(KmodelErrorKind::inconsistent, field,
                 "the node would do more than " + std::to_string(kMaxV4CpuSteps) + " multiply-adds or taps");
    }
    uint64_t size() const { return size_; }
    const uint8_t* body() const { return body_; }

private:
    ByteReader r_;
    uint32_t node_;
    const MemorySizes& sizes_;
    const uint8_t* body_;
    uint64_t size_;
};

uint64_t u(int32_t v) { return static_cast<uint64_t>(v < 0 ? 0 : v); }

/// Output spatial sizes of a window op, bounded.
std::pair<uint64_t, uint64_t> out_hw(const Parser& p, uint64_t h, uint64_t w, const Window2D& win) {
    const int64_t oh = windowed_size(static_cast<int64_t>(h), win.filter_h, win.stride_h, win.dilation_h, win.padding_h);
    const int64_t ow = windowed_size(static_cast<int64_t>(w), win.filter_w, win.stride_w, win.dilation_w, win.padding_w);
    if (static_cast<uint64_t>(oh) > kMaxTensorElements || static_cast<uint64_t>(ow) > kMaxTensorElements)
        p.fail(KmodelErrorKind::inconsistent, "padding_h", "the output window count is too large");
    return {static_cast<uint64_t>(oh), static_cast<uint64_t>(ow)};
}

/// Checks of a broadcast binary (float or quantized): element accesses.
void check_binary(const Parser& p, const MemoryRange& a, const MemoryRange& b, const MemoryRange& out,
                  const Dims4& as, const Dims4& bs, const Dims4& os, uint64_t esize) {
    if (as == bs) {
        const uint64_t n = shape_elements(as);
        p.fits(a, n, esize, "a");
        p.fits(b, n, esize, "b");
        p.fits(out, n, esize, "out");
        return;
    }
    const uint64_t n = shape_elements(os);
    p.fits(out, n, esize, "out");
    if (n == 0) return;
    // Highest offset read from an operand: index min(out-1, extent-1) on each axis (an index
    // >= the extent is reduced to 0), row-major in the operand's own shape.
    auto highest = [&](const Dims4& s) {
        uint64_t off = 0;
        for (int k = 0; k < 4; ++k) {
            const uint64_t idx = std::min(u(os[k]) - 1, u(s[k]) == 0 ? 0 : u(s[k]) - 1);
            off = off * u(s[k]) + idx;
        }
        return off;
    };
    p.fits(a, highest(as) + 1, esize, "a");
    p.fits(b, highest(bs) + 1, esize, "b");
}

std::shared_ptr<const CpuNode> make(uint32_t opcode, CpuOp op) {
    auto n = std::make_shared<CpuNode>();
    n->opcode = opcode;
    n->op = std::move(op);
    return n;
}

void check_nnil(const Parser& p, NnilUnaryMethodOp& op) {
    const auto& prog = op.program;
    int depth = 0;
    auto need = [&](int n, size_t at) {
        if (depth < n)
            p.fail(KmodelErrorKind::inconsistent, "program",
                   "nnil stack underflow at program byte " + std::to_string(at));
    };
    auto push = [&](size_t at) {
        if (++depth > static_cast<int>(kNnilStackDepth))
            p.fail(KmodelErrorKind::inconsistent, "program",
                   "nnil stack overflow (more than 64 entries) at program byte " + std::to_string(at));
    };
    size_t i = 0;
    uint32_t steps = 0;
    while (i < prog.size()) {
        const uint8_t opc = prog[i];
        const size_t at = i++;
        ++steps;
        switch (opc) {
        case 0x00: break;
        case 0x01: need(1, at); push(at); break;
        case 0x02: need(1, at); --depth; break;
        case 0x03: case 0x04: case 0x05: push(at); break;
        case 0x06:
            if (prog.size() - i < 4)
                p.fail(KmodelErrorKind::truncated, "program", "nnil ldc_r4 at program byte " + std::to_string(at) +
                                                               " lacks its 4-byte constant");
            i += 4;
            push(at);
            break;
        case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26: case 0x27: case 0x28: case 0x29:
            need(1, at);
            break;
        case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: need(2, at); --depth; break;
        case 0x80: need(3, at); depth -= 2; break;
        case 0xA0:
            need(1, at);
            op.steps = steps;
            op.has_ret = true;
            return;
        default:
            p.fail(KmodelErrorKind::unknown_layer_type, "program",
                   "nnil opcode 0x" + [](unsigned v) {
                       const char* hex = "0123456789abcdef";
                       return std::string{hex[v >> 4], hex[v & 15]};
                   }(opc) + " at program byte " + std::to_string(at) + " is not defined");
        }
    }
    op.steps = steps;
    op.has_ret = false;
}

}  // namespace

std::shared_ptr<const CpuNode> parse_cpu_node(uint32_t opcode, const uint8_t* body, uint64_t body_size,
                                              uint32_t node_index, const MemorySizes& sizes) {
    if (opcode == op_kpu_upload || opcode == op_kpu_conv2d)
        throw KmodelError(KmodelErrorKind::unsupported_layer,
                          std::string(opcode_name(opcode)) + " is a K210 operation, not a CPU one", node_index, "opcode");
    if (!is_cpu_opcode(opcode))
        throw KmodelError(KmodelErrorKind::unknown_layer_type,
                          "opcode " + std::to_string(opcode) + " is not defined by nncase 0.2", node_index, "opcode");
    const Parser p(body, body_size, node_index, sizes);

    switch (opcode) {
    case op_binary: {
        BinaryOp o;
        o.a = p.range(0, "a", kF32, false);
        o.b = p.range(16, "b", kF32, false);
        o.out = p.range(32, "out", kF32, true);
        o.op = static_cast<BinaryOpKind>(p.enumeration(48, "op", 5));
        o.a_shape = p.shape(52, "a_shape");
        o.b_shape = p.shape(68, "b_shape");
        o.out_shape = p.shape(84, "out_shape");
        o.fused_activation = p.value_range(100, "value_range");
        check_binary(p, o.a, o.b, o.out, o.a_shape, o.b_shape, o.out_shape, 4);
        return make(opcode, o);
    }
    case op_concat: {
        ConcatOp o;
        o.out = p.range(0, "out", kAny, true);
        o.inner_size = p.u32(16, "inner_size");
        o.outer_size = p.u32(20, "outer_size");
        const uint32_t n = p.u32(24, "n");
        // n ranges and n dims must be in the body: bounds n before allocating.
        if (uint64_t{n} * 20 > p.size())
            p.fail(KmodelErrorKind::truncated, "inputs", "declares " + std::to_string(n) + " inputs, more than the body holds");
        uint64_t row = 0;  // output bytes per outer index
        for (uint32_t i = 0; i < n; ++i)
            o.inputs.push_back(p.range(28 + 16 * uint64_t{i}, "inputs", kAny, false));
        for (uint32_t i = 0; i < n; ++i) {
            const int32_t d = p.count(28 + 16 * uint64_t{n} + 4 * uint64_t{i}, "dims");
            o.dims.push_back(d);
            const auto per = checked_mul(o.inner_size, u(d));
            const auto total = per ? checked_mul(*per, o.outer_size) : std::nullopt;
            if (!total || *total > o.inputs[i].size)
                p.fail(KmodelErrorKind::out_of_bounds, "inputs",
                       "input " + std::to_string(i) + " is read for outer_size x inner_size x dims bytes, more than its range");
            row += *per;
        }
        const auto total = checked_mul(row, o.outer_size);
        if (!total || *total > o.out.size)
            p.fail(KmodelErrorKind::out_of_bounds, "out", "the concatenation is larger than the output range");
        return make(opcode, o);
    }
    case op_conv2d: {
        Conv2DOp o;
        o.in = p.range(0, "in", kF32, false);
        o.out = p.range(16, "out", kF32, true);
        o.in_shape = p.shape(32, "in_shape");
        o.groups = p.positive(48, "groups");
        o.out_channels = p.count(52, "out_channels");
        o.window = p.window(56);
        o.fused_activation = p.value_range(96, "value_range");
        const auto& s = o.in_shape;
        if (s[1] % o.groups != 0 || o.out_channels % o.groups != 0)
            p.fail(KmodelErrorKind::inconsistent, "groups", "groups does not divide the input and output channels");
        const auto [oh, ow] = out_hw(p, u(s[2]), u(s[3]), o.window);
        const uint64_t gic = u(s[1]) / o.groups;
        const uint64_t nw = p.bounded({u(o.out_channels), gic, u(o.window.filter_h), u(o.window.filter_w)}, "weights");
        o.weights = p.array<float>(104, nw, "weights");
        o.bias = p.array<float>(104 + 4 * nw, u(o.out_channels), "bias");
        p.fits(o.in, shape_elements(s), 4, "in");
        const uint64_t outn = p.bounded({u(s[0]), u(o.out_channels), oh, ow}, "out_channels");
        p.fits(o.out, outn, 4, "out");
        p.steps({outn, gic, u(o.window.filter_h), u(o.window.filter_w)}, "filter_h");
        return make(opcode, o);
    }
    case op_dequantize:
    case op_quantize: {
        const bool deq = opcode == op_dequantize;
        const MemoryRange in = p.range(0, "in", deq ? kU8 : kF32, false);
        const MemoryRange out = p.range(16, "out", deq ? kF32 : kU8, true);
        const QuantParam q = p.quant_param(32, "quant_param");
        if (deq) {
            p.fits(out, in.size, 4, "out");
            return make(opcode, DequantizeOp{in, out, q});
        }
        p.fits(out, in.size / 4, 1, "out");
        return make(opcode, QuantizeOp{in, out, q});
    }
    case op_matmul: {
        MatMulOp o;
        o.a = p.range(0, "a", kF32, false);
        o.b = p.range(16, "b", kF32, false);
        o.out = p.range(32, "out", kF32, true);
        o.a_rows = p.count(48, "a_rows");
        o.a_cols = p.count(52, "a_cols");
        o.b_cols = p.count(56, "b_cols");
        o.fused_activation = p.value_range(60, "value_range");
        o.bias = p.array<float>(68, u(o.b_cols), "bias");
        p.fits(o.a, p.bounded({u(o.a_rows), u(o.a_cols)}, "a_cols"), 4, "a");
        p.fits(o.b, p.bounded({u(o.a_cols), u(o.b_cols)}, "b_cols"), 4, "b");
        p.fits(o.out, p.bounded({u(o.a_rows), u(o.b_cols)}, "b_cols"), 4, "out");
        p.steps({u(o.a_rows), u(o.a_cols), u(o.b_cols)}, "a_cols");
        return make(opcode, o);
    }
    case op_pad: {
        PadOp o;
        o.in = p.range(0, "in", kAny, false);
        o.out = p.range(16, "out", kAny, true);
        if (o.out.type != o.in.type)
            p.fail(KmodelErrorKind::inconsistent, "out.datatype", "pad's output datatype differs from its input's");
        o.in_shape = p.shape(32, "in_shape");
        for (int k = 0; k < 4; ++k) o.paddings[k] = p.padding(48 + 8 * k, "padding");
        o.pad_value_type = p.u32(80, "pad_value");
        const uint32_t storage = p.u32(84, "pad_value");
        std::memcpy(o.pad_value.data(), &storage, 4);
        const uint64_t es = element_size(o.in.type);
        p.fits(o.in, shape_elements(o.in_shape), es, "in");
        std::array<uint64_t, 4> os{};
        for (int k = 0; k < 4; ++k) {
            const int64_t d = int64_t{o.in_shape[k]} + o.paddings[k].before + o.paddings[k].after;
            if (d < 0) p.fail(KmodelErrorKind::inconsistent, "padding", "crops more than the input holds");
            os[k] = static_cast<uint64_t>(d);
        }
        p.fits(o.out, p.bounded({os[0], os[1], os[2], os[3]}, "padding"), es, "out");
        return make(opcode, o);
    }
    case op_reduce: {
        ReduceOp o;
        o.in = p.range(0, "in", kF32, false);
        o.out = p.range(16, "out", kF32, true);
        o.op = static_cast<ReduceOpKind>(p.enumeration(32, "op", 3));
        o.in_shape = p.shape(36, "in_shape");
        o.out_shape = p.shape(52, "out_shape");
        o.init_value = p.f32(68, "init");
        p.fits(o.in, shape_elements(o.in_shape), 4, "in");
        p.fits(o.out, shape_elements(o.out_shape), 4, "out");
        return make(opcode, o);
    }
    case op_reduce_window2d:
    case op_cpu_reduce_window2d: {
        ReduceWindow2DOp o;
        o.in = p.range(0, "in", kF32, false);
        o.out = p.range(16, "out", kF32, true);
        o.op = static_cast<ReduceOpKind>(p.enumeration(32, "op", 3));
        o.in_shape = p.shape(36, "in_shape");
        o.window = p.window(52);
        o.init_value = p.f32(92, "init");
        o.fused_activation = p.value_range(96, "value_range");
        const bool nhwc = opcode == op_cpu_reduce_window2d;
        const auto& s = o.in_shape;
        const auto [oh, ow] = out_hw(p, u(nhwc ? s[1] : s[2]), u(nhwc ? s[2] : s[3]), o.window);
        p.fits(o.in, shape_elements(s), 4, "in");
        const uint64_t outn = p.bounded({u(s[0]), u(nhwc ? s[3] : s[1]), oh, ow}, "out");
        p.fits(o.out, outn, 4, "out");
        p.steps({outn, u(o.window.filter_h), u(o.window.filter_w)}, "filter_h");
        if (nhwc) {
            CpuReduceWindow2DOp c;
            static_cast<ReduceWindow2DOp&>(c) = o;
            return make(opcode, c);
        }
        return make(opcode, o);
    }
    case op_memory_copy: {
        MemoryCopyOp o;
        o.in = p.range(0, "in", kAny, false);
        o.out = p.range(16, "out", kAny, true);
        p.fits(o.out, o.in.size / 4, 4, "out");
        return make(opcode, o);
    }
    case op_resize_image: {
        ResizeImageOp o;
        o.in = p.range(0, "in", kAny, false);
        o.out = p.range(16, "out", kAny, true);
        if (o.out.type != o.in.type)
            p.fail(KmodelErrorKind::inconsistent, "out.datatype", "resize_image's output datatype differs from its input's");
        o.in_shape = p.shape(32, "in_shape");
        o.out_h = p.count(48, "out_h");
        o.out_w = p.count(52, "out_w");
        o.mode = static_cast<ResizeMode>(p.enumeration(56, "mode", 1));
        o.align_corners = (p.u32(60, "align_corners") & 0xff) != 0;
        const uint64_t es = element_size(o.in.type);
        const auto& s = o.in_shape;
        p.fits(o.in, shape_elements(s), es, "in");
        const uint64_t outn = p.bounded({u(s[0]), u(s[1]), u(o.out_h), u(o.out_w)}, "out_h");
        p.fits(o.out, outn, es, "out");
        if (outn > 0 && (s[2] == 0 || s[3] == 0))
            p.fail(KmodelErrorKind::inconsistent, "in_shape", "resizing an empty image into a non-empty one");
        return make(opcode, o);
    }
    case op_softmax: {
        SoftmaxOp o;
        o.in = p.range(0, "in", kF32, false);
        o.out = p.range(16, "out", kF32, true);
        o.inner_size = p.count(32, "inner_size");
        o.outer_size = p.count(36, "outer_size");
        o.beta = p.f32(40, "beta");
        const uint64_t n = p.bounded({u(o.inner_size), u(o.outer_size)}, "outer_size");
        p.fits(o.in, n, 4, "in");
        p.fits(o.out, n, 4, "out");
        return make(opcode, o);
    }
    case op_transpose: {
        TransposeOp o;
        o.in = p.range(0, "in", kAny, false);
        o.out = p.range(16, "out", kAny, true);
        if (o.out.type != o.in.type)
            p.fail(KmodelErrorKind::inconsistent, "out.datatype", "transpose's output datatype differs from its input's");
        o.in_shape = p.shape(32, "in_shape");
        bool seen[4] = {false, false, false, false};
        for (int k = 0; k < 4; ++k) {
            o.perm[k] = p.i32(48 + 4 * k, "perm");
            if (o.perm[k] < 0 || o.perm[k] > 3 || seen[o.perm[k]])
                p.fail(KmodelErrorKind::inconsistent, "perm", "is not a permutation of 0..3");
            seen[o.perm[k]] = true;
        }
        const uint64_t n = shape_elements(o.in_shape);
        p.fits(o.in, n, element_size(o.in.type), "in");
        p.fits(o.out, n, element_size(o.in.type), "out");
        return make(opcode, o);
    }
    case op_strided_slice: {
        StridedSliceOp o;
        o.in = p.range(0, "in", kAny, false);
        o.out = p.range(16, "out", kAny, true);
        if (o.out.type != o.in.type)
            p.fail(KmodelErrorKind::inconsistent, "out.datatype", "strided_slice's output datatype differs from its input's");
        o.in_shape = p.shape(32, "in_shape");
        for (int k = 0; k < 4; ++k) {
            o.begin[k] = p.i32(48 + 4 * k, "begin");
            o.end[k] = p.i32(64 + 4 * k, "end");
            o.strides[k] = p.i32(80 + 4 * k, "strides");
        }
        o.begin_mask = p.i32(96, "begin_mask");
        o.end_mask = p.i32(100, "end_mask");
        o.ellipsis_mask = p.i32(104, "ellipsis_mask");
        o.new_axis_mask = p.i32(108, "new_axis_mask");
        o.shrink_axis_mask = p.i32(112, "shrink_axis_mask");
        uint64_t counts[4];
        for (int k = 0; k < 4; ++k) {
            const int64_t b = o.begin[k], e = o.end[k], st = o.strides[k];
            if (st == 0) p.fail(KmodelErrorKind::inconsistent, "strides", "a stride is 0");
            int64_t n = 0;
            if (st > 0 && b < e) n = (e - b + st - 1) / st;
            if (st < 0 && b > e) n = (b - e + (-st) - 1) / (-st);
            counts[k] = static_cast<uint64_t>(n);
            if (n > 0) {
                const int64_t last = b + (n - 1) * st;
                if (std::min(b, last) < 0 || std::max(b, last) >= o.in_shape[k])
                    p.fail(KmodelErrorKind::out_of_bounds, "begin",
                           "axis " + std::to_string(k) + " visits indices outside the input shape");
            }
        }
        const uint64_t es = element_size(o.in.type);
        p.fits(o.in, shape_elements(o.in_shape), es, "in");
        p.fits(o.out, p.bounded({counts[0], counts[1], counts[2], counts[3]}, "end"), es, "out");
        return make(opcode, o);
    }
    case op_unary: {
        UnaryOp o;
        o.in = p.range(0, "in", kF32, false);
        o.out = p.range(16, "out", kF32, true);
        o.op = static_cast<UnaryOpKind>(p.enumeration(32, "op", 9));
        p.fits(o.out, o.in.size / 4, 4, "out");
        return make(opcode, o);
    }
    case op_quantized_conv2d: {
        QuantizedConv2DOp o;
        o.in = p.range(0, "in", kU8, false);
        o.out = p.range(16, "out", kU8, true);
        o.in_shape = p.shape(32, "in_shape");
        o.groups = p.positive(48, "groups");
        o.out_channels = p.count(52, "out_channels");
        o.window = p.window(56);
        o.q = {p.i32(96, "input_offset"), p.i32(100, "filter_offset"), p.i32(104, "output_mul"),
               p.i32(108, "output_shift"), p.i32(112, "output_offset")};
        const auto& s = o.in_shape;
        if (s[1] % o.groups != 0 || o.out_channels % o.groups != 0)
            p.fail(KmodelErrorKind::inconsistent, "groups", "groups does not divide the input and output channels");
        const auto [oh, ow] = out_hw(p, u(s[2]), u(s[3]), o.window);
        const uint64_t gic = u(s[1]) / o.groups;
        o.bias = p.array<int32_t>(116, u(o.out_channels), "bias");
        const uint64_t nw = p.bounded({u(o.out_channels), gic, u(o.window.filter_h), u(o.window.filter_w)}, "weights");
        o.weights = p.array<uint8_t>(116 + 4 * u(o.out_channels), nw, "weights");
        p.fits(o.in, shape_elements(s), 1, "in");
        const uint64_t outn = p.bounded({u(s[0]), u(o.out_channels), oh, ow}, "out_channels");
        p.fits(o.out, outn, 1, "out");
        p.steps({outn, gic, u(o.window.filter_h), u(o.window.filter_w)}, "filter_h");
        return make(opcode, o);
    }
    case op_quantized_matmul: {
        QuantizedMatMulOp o;
        o.a = p.range(0, "a", kU8, false);
        o.b = p.range(16, "b", kU8, false);
        o.out = p.range(32, "out", kU8, true);
        o.a_rows = p.count(48, "a_rows");
        o.a_cols = p.count(52, "a_cols");
        o.b_cols = p.count(56, "b_cols");
        o.input_a_offset = p.i32(60, "input_a_offset");
        o.input_b_offset = p.i32(64, "input_b_offset");
        o.output_mul = p.i32(68, "output_mul");
        o.output_shift = p.i32(72, "output_shift");
        o.output_offset = p.i32(76, "output_offset");
        o.bias = p.array<int32_t>(80, u(o.b_cols), "bias");
        p.fits(o.a, p.bounded({u(o.a_rows), u(o.a_cols)}, "a_cols"), 1, "a");
        p.fits(o.b, p.bounded({u(o.a_cols), u(o.b_cols)}, "b_cols"), 1, "b");
        p.fits(o.out, p.bounded({u(o.a_rows), u(o.b_cols)}, "b_cols"), 1, "out");
        p.steps({u(o.a_rows), u(o.a_cols), u(o.b_cols)}, "a_cols");
        return make(opcode, o);
    }
    case op_quantized_binary: {
        QuantizedBinaryOp o;
        o.a = p.range(0, "a", kU8, false);
        o.b = p.range(16, "b", kU8, false);
        o.out = p.range(32, "out", kU8, true);
        o.op = static_cast<BinaryOpKind>(p.enumeration(48, "op", 5));
        o.a_shape = p.shape(52, "a_shape");
        o.b_shape = p.shape(68, "b_shape");
        o.out_shape = p.shape(84, "out_shape");
        o.a_offset = p.i32(100, "a_offset");
        o.a_mul = p.i32(104, "a_mul");
        o.a_shift = p.i32(108, "a_shift");
        o.b_offset = p.i32(112, "b_offset");
        o.b_mul = p.i32(116, "b_mul");
        o.b_shift = p.i32(120, "b_shift");
        o.output_offset = p.i32(124, "output_offset");
        o.output_mul = p.i32(128, "output_mul");
        o.output_shift = p.i32(132, "output_shift");
        check_binary(p, o.a, o.b, o.out, o.a_shape, o.b_shape, o.out_shape, 1);
        return make(opcode, o);
    }
    case op_table_lookup1d: {
        TableLookup1DOp o;
        o.in = p.range(0, "in", kU8, false);
        o.table = p.range(16, "table", kU8, false);
        o.out = p.range(32, "out", kU8, true);
        if (o.table.size < 256)
            p.fail(KmodelErrorKind::out_of_bounds, "table", "the table holds fewer than 256 entries");
        p.fits(o.out, o.in.size, 1, "out");
        return make(opcode, o);
    }
    case op_conv2d_transpose: {
        Conv2DTransposeOp o;
        o.in = p.range(0, "in", kF32, false);
        o.out = p.range(16, "out", kF32, true);
        o.in_shape = p.shape(32, "in_shape");
        o.out_shape = p.shape(48, "out_shape");
        o.groups = p.positive(64, "groups");
        o.window = p.window(68);
        o.fused_activation = p.value_range(108, "value_range");
        const auto& s = o.in_shape;
        const auto& os = o.out_shape;
        if (s[1] % o.groups != 0 || os[1] % o.groups != 0)
            p.fail(KmodelErrorKind::inconsistent, "groups", "groups does not divide the input and output channels");
        if (s[0] != os[0]) p.fail(KmodelErrorKind::inconsistent, "out_shape", "batch differs from in_shape's");
        const uint64_t gic = u(s[1]) / o.groups, goc = u(os[1]) / o.groups;
        const uint64_t nw = p.bounded({u(os[1]), gic, u(o.window.filter_h), u(o.window.filter_w)}, "weights");
        o.weights = p.array<float>(116, nw, "weights");
        o.bias = p.array<float>(116 + 4 * nw, u(os[1]), "bias");
        p.fits(o.in, shape_elements(s), 4, "in");
        p.fits(o.out, shape_elements(os), 4, "out");
        p.steps({shape_elements(s), goc, u(o.window.filter_h), u(o.window.filter_w)}, "filter_h");
        return make(opcode, o);
    }
    case op_nnil_unary_method: {
        NnilUnaryMethodOp o;
        o.in = p.range(0, "in", kF32, false);
        o.out = p.range(16, "out", kF32, true);
        const uint64_t len = body_size > 32 ? body_size - 32 : 0;
        o.program.assign(body + std::min<uint64_t>(32, body_size), body + std::min<uint64_t>(32, body_size) + len);
        check_nnil(p, o);
        p.fits(o.out, o.in.size / 4, 4, "out");
        p.steps({o.in.size / 4, std::max<uint64_t>(o.steps, 1)}, "program");
        return make(opcode, o);
    }
    case op_cpu_conv2d:
    case op_cpu_depthwise_conv2d: {
        const bool dw = opcode == op_cpu_depthwise_conv2d;
        MemoryRange in = p.range(0, "in", kF32, false);
        MemoryRange out = p.range(16, "out", kF32, true);
        const Dims4 s = p.shape(32, "in_shape");
        const int32_t oc = dw ? s[3] : p.count(48, "out_channels");
        const uint64_t base = dw ? 48 : 52;
        const Window2D win = p.window(base);
        const ValueRange act = p.value_range(base + 40, "value_range");
        const auto [oh, ow] = out_hw(p, u(s[1]), u(s[2]), win);
        const uint64_t taps = dw ? 1 : u(s[3]);
        const uint64_t nw = p.bounded({u(oc), u(win.filter_h), u(win.filter_w), taps}, "weights");
        std::vector<float> weights = p.array<float>(base + 48, nw, "weights");
        std::vector<float> bias = p.array<float>(base + 48 + 4 * nw, u(oc), "bias");
        p.fits(in, shape_elements(s), 4, "in");
        const uint64_t outn = p.bounded({u(s[0]), oh, ow, u(oc)}, "out");
        p.fits(out, outn, 4, "out");
        p.steps({outn, taps, u(win.filter_h), u(win.filter_w)}, "filter_h");
        if (dw) return make(opcode, CpuDepthwiseConv2DOp{in, out, s, win, act, std::move(weights), std::move(bias)});
        return make(opcode, CpuConv2DOp{in, out, s, oc, win, act, std::move(weights), std::move(bias)});
    }
    case op_cpu_quantized_conv2d:
    case op_cpu_quantized_depthwise_conv2d: {
        const bool dw = opcode == op_cpu_quantized_depthwise_conv2d;
        MemoryRange in = p.range(0, "in", kU8, false);
        MemoryRange out = p.range(16, "out", kU8, true);
        const Dims4 s = p.shape(32, "in_shape");
        const int32_t oc = dw ? s[3] : p.count(48, "out_channels");
        const uint64_t base = dw ? 48 : 52;
        const Window2D win = p.window(base);
        const QuantizedConvParams q{p.i32(base + 40, "input_offset"), p.i32(base + 44, "filter_offset"),
                                    p.i32(base + 48, "output_mul"), p.i32(base + 52, "output_shift"),
                                    p.i32(base + 56, "output_offset")};
        const auto [oh, ow] = out_hw(p, u(s[1]), u(s[2]), win);
        const uint64_t taps = dw ? 1 : u(s[3]);
        const uint64_t nw = p.bounded({u(oc), u(win.filter_h), u(win.filter_w), taps}, "weights");
        std::vector<uint8_t> weights = p.array<uint8_t>(base + 60, nw, "weights");
        std::vector<int32_t> bias = p.array<int32_t>(base + 60 + nw, u(oc), "bias");
        p.fits(in, shape_elements(s), 1, "in");
        const uint64_t outn = p.bounded({u(s[0]), oh, ow, u(oc)}, "out");
        p.fits(out, outn, 1, "out");
        p.steps({outn, taps, u(win.filter_h), u(win.filter_w)}, "filter_h");
        if (dw) return make(opcode, CpuQuantizedDepthwiseConv2DOp{in, out, s, win, q, std::move(weights), std::move(bias)});
        return make(opcode, CpuQuantizedConv2DOp{in, out, s, oc, win, q, std::move(weights), std::move(bias)});
    }
    }
    throw KmodelError(KmodelErrorKind::unknown_layer_type, "opcode not handled", node_index, "opcode");
}

// ---- node queries ---------------------------------------------------------------------------

namespace {

template <class F>
auto visit_node(const CpuNode& n, F&& f) {
    return std::visit(std::forward<F>(f), n.op);
}

Shape nchw(uint64_t n, uint64_t c, uint64_t h, uint64_t w) {
    return Shape{static_cast<uint32_t>(n), static_cast<uint32_t>(c), static_cast<uint32_t>(h), static_cast<uint32_t>(w)};
}
Shape of(const Dims4& d) { return nchw(u(d[0]), u(d[1]), u(d[2]), u(d[3])); }
Shape flat(uint64_t elements) { return nchw(1, 1, 1, elements); }

std::pair<uint64_t, uint64_t> hw(const Dims4& s, const Window2D& w, bool nhwc) {
    return {static_cast<uint64_t>(windowed_size(u(nhwc ? s[1] : s[2]), w.filter_h, w.stride_h, w.dilation_h, w.padding_h)),
            static_cast<uint64_t>(windowed_size(u(nhwc ? s[2] : s[3]), w.filter_w, w.stride_w, w.dilation_w, w.padding_w))};
}

}  // namespace

std::vector<MemoryRange> node_inputs(const CpuNode& node) {
    return visit_node(node, [](const auto& o) -> std::vector<MemoryRange> {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, BinaryOp> || std::is_same_v<T, MatMulOp> || std::is_same_v<T, QuantizedMatMulOp> ||
                      std::is_same_v<T, QuantizedBinaryOp>)
            return {o.a, o.b};
        else if constexpr (std::is_same_v<T, ConcatOp>) return o.inputs;
        else if constexpr (std::is_same_v<T, TableLookup1DOp>) return {o.in, o.table};
        else return {o.in};
    });
}

std::vector<MemoryRange> node_outputs(const CpuNode& node) {
    return visit_node(node, [](const auto& o) -> std::vector<MemoryRange> { return {o.out}; });
}

DataType output_type(const CpuNode& node) {
    return visit_node(node, [](const auto& o) { return o.out.type; });
}

Shape output_shape(const CpuNode& node) {
    return visit_node(node, [](const auto& o) -> Shape {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, BinaryOp> || std::is_same_v<T, QuantizedBinaryOp>)
            return of(o.a_shape == o.b_shape ? o.a_shape : o.out_shape);
        else if constexpr (std::is_same_v<T, ConcatOp>) return flat(o.out.size / element_size(o.out.type));
        else if constexpr (std::is_same_v<T, Conv2DOp> || std::is_same_v<T, QuantizedConv2DOp>) {
            const auto [h, w] = hw(o.in_shape, o.window, false);
            return nchw(u(o.in_shape[0]), u(o.out_channels), h, w);
        } else if constexpr (std::is_same_v<T, DequantizeOp> || std::is_same_v<T, TableLookup1DOp>)
            return flat(o.in.size);
        else if constexpr (std::is_same_v<T, QuantizeOp> || std::is_same_v<T, UnaryOp> ||
                           std::is_same_v<T, MemoryCopyOp> || std::is_same_v<T, NnilUnaryMethodOp>)
            return flat(o.in.size / 4);
        else if constexpr (std::is_same_v<T, MatMulOp> || std::is_same_v<T, QuantizedMatMulOp>)
            return nchw(1, 1, u(o.a_rows), u(o.b_cols));
        else if constexpr (std::is_same_v<T, PadOp>) {
            uint64_t d[4];
            for (int k = 0; k < 4; ++k)
                d[k] = static_cast<uint64_t>(int64_t{o.in_shape[k]} + o.paddings[k].before + o.paddings[k].after);
            return nchw(d[0], d[1], d[2], d[3]);
        } else if constexpr (std::is_same_v<T, ReduceOp>) return of(o.out_shape);
        else if constexpr (std::is_same_v<T, ReduceWindow2DOp>) {
            const auto [h, w] = hw(o.in_shape, o.window, false);
            return nchw(u(o.in_shape[0]), u(o.in_shape[1]), h, w);
        } else if constexpr (std::is_same_v<T, ResizeImageOp>)
            return nchw(u(o.in_shape[0]), u(o.in_shape[1]), u(o.out_h), u(o.out_w));
        else if constexpr (std::is_same_v<T, SoftmaxOp>) return nchw(1, 1, u(o.outer_size), u(o.inner_size));
        else if constexpr (std::is_same_v<T, TransposeOp>)
            return nchw(u(o.in_shape[o.perm[0]]), u(o.in_shape[o.perm[1]]), u(o.in_shape[o.perm[2]]),
                        u(o.in_shape[o.perm[3]]));
        else if constexpr (std::is_same_v<T, StridedSliceOp>) {
            uint64_t c[4];
            for (int k = 0; k < 4; ++k) {
                const int64_t b = o.begin[k], e = o.end[k], st = o.strides[k];
                c[k] = st > 0 ? (b < e ? (e - b + st - 1) / st : 0) : (b > e ? (b - e - st - 1) / -st : 0);
            }
            return nchw(c[0], c[1], c[2], c[3]);
        } else if constexpr (std::is_same_v<T, Conv2DTransposeOp>) return of(o.out_shape);
        else {  // NHWC cpu_* ops
            const auto [h, w] = hw(o.in_shape, o.window, true);
            uint64_t oc = u(o.in_shape[3]);
            if constexpr (std::is_same_v<T, CpuConv2DOp> || std::is_same_v<T, CpuQuantizedConv2DOp>) oc = u(o.out_channels);
            return flat(u(o.in_shape[0]) * h * w * oc);
        }
    });
}

uint64_t node_work(const CpuNode& node) {
    return visit_node(node, [](const auto& o) -> uint64_t {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, BinaryOp> || std::is_same_v<T, QuantizedBinaryOp>)
            return binary_elements(o.a_shape, o.b_shape, o.out_shape);
        else if constexpr (std::is_same_v<T, ConcatOp>) return o.out.size;
        else if constexpr (std::is_same_v<T, Conv2DOp> || std::is_same_v<T, QuantizedConv2DOp>) {
            const auto [h, w] = hw(o.in_shape, o.window, false);
            const uint64_t outn = sat_mul(sat_mul(u(o.in_shape[0]), u(o.out_channels)), sat_mul(h, w));
            return sat_mul(outn, sat_mul(u(o.in_shape[1]) / o.groups, sat_mul(u(o.window.filter_h), u(o.window.filter_w))));
        } else if constexpr (std::is_same_v<T, DequantizeOp> || std::is_same_v<T, TableLookup1DOp>) return o.in.size;
        else if constexpr (std::is_same_v<T, QuantizeOp> || std::is_same_v<T, UnaryOp> || std::is_same_v<T, MemoryCopyOp>)
            return o.in.size / 4;
        else if constexpr (std::is_same_v<T, NnilUnaryMethodOp>) return sat_mul(o.in.size / 4, std::max<uint64_t>(o.steps, 1));
        else if constexpr (std::is_same_v<T, MatMulOp> || std::is_same_v<T, QuantizedMatMulOp>)
            return sat_mul(sat_mul(u(o.a_rows), u(o.a_cols)), u(o.b_cols));
        else if constexpr (std::is_same_v<T, PadOp> || std::is_same_v<T, TransposeOp> || std::is_same_v<T, StridedSliceOp> ||
                           std::is_same_v<T, ResizeImageOp>) {
            const Shape s = output_shape(CpuNode{0, o});
            return s.elements();
        } else if constexpr (std::is_same_v<T, ReduceOp>)
            return sat_add(shape_elements(o.in_shape), shape_elements(o.out_shape));
        else if constexpr (std::is_same_v<T, ReduceWindow2DOp> || std::is_same_v<T, CpuReduceWindow2DOp>) {
            const bool nhwc = std::is_same_v<T, CpuReduceWindow2DOp>;
            const auto [h, w] = hw(o.in_shape, o.window, nhwc);
            return sat_mul(sat_mul(u(o.in_shape[0]), u(nhwc ? o.in_shape[3] : o.in_shape[1])),
                           sat_mul(sat_mul(h, w), sat_mul(u(o.window.filter_h), u(o.window.filter_w))));
        } else if constexpr (std::is_same_v<T, SoftmaxOp>) return sat_mul(3, sat_mul(u(o.inner_size), u(o.outer_size)));
        else if constexpr (std::is_same_v<T, Conv2DTransposeOp>)
            return sat_add(shape_elements(o.out_shape),
                           sat_mul(shape_elements(o.in_shape),
                                   sat_mul(u(o.out_shape[1]) / o.groups,
                                           sat_mul(u(o.window.filter_h), u(o.window.filter_w)))));
        else {
            const auto [h, w] = hw(o.in_shape, o.window, true);
            uint64_t oc = u(o.in_shape[3]), taps = 1;
            if constexpr (std::is_same_v<T, CpuConv2DOp> || std::is_same_v<T, CpuQuantizedConv2DOp>) {
                oc = u(o.out_channels);
                taps = u(o.in_shape[3]);
            }
            return sat_mul(sat_mul(sat_mul(u(o.in_shape[0]), sat_mul(h, w)), oc),
                           sat_mul(taps, sat_mul(u(o.window.filter_h), u(o.window.filter_w))));
        }
    });
}

}  // namespace kpusim::v4
