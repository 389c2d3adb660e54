#include "models/kmodel_v4_builder.h"

#include <stdexcept>
#include <string>

#include <cstring>

namespace kpusim::v4build {

void put_range(std::vector<uint8_t>& b, const Range& r) {
    put_u32(b, r.memory_type);
    put_u32(b, r.datatype);
    put_u32(b, r.start);
    put_u32(b, r.size);
}
void poke_u32(std::vector<uint8_t>& body, size_t offset, uint32_t value) {
    if (body.size() < offset + 4) body.resize(offset + 4, 0);
    for (int i = 0; i < 4; ++i) body[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}
void poke_f32(std::vector<uint8_t>& body, size_t offset, float value) {
    uint32_t u;
    std::memcpy(&u, &value, 4);
    poke_u32(body, offset, u);
}

namespace {

void put_i32(std::vector<uint8_t>& b, int32_t v) { put_u32(b, static_cast<uint32_t>(v)); }
void put_shape(std::vector<uint8_t>& b, const Shape4& s) {
    for (int32_t v : s) put_i32(b, v);
}
void put_window(std::vector<uint8_t>& b, const Window& w) {
    for (int32_t v : {w.pad_h_before, w.pad_h_after, w.pad_w_before, w.pad_w_after, w.filter_h, w.filter_w, w.stride_h,
                      w.stride_w, w.dilation_h, w.dilation_w})
        put_i32(b, v);
}
void put_floats(std::vector<uint8_t>& b, const std::vector<float>& v) {
    for (float f : v) put_f32(b, f);
}
void put_ints(std::vector<uint8_t>& b, const std::vector<int32_t>& v) {
    for (int32_t x : v) put_i32(b, x);
}
void put_bytes(std::vector<uint8_t>& b, const std::vector<uint8_t>& v) { b.insert(b.end(), v.begin(), v.end()); }

}  // namespace

std::vector<uint8_t> binary_body(const BinaryDesc& d) {
    std::vector<uint8_t> b;
    put_range(b, d.a);        // 0
    put_range(b, d.b);        // 16
    put_range(b, d.out);      // 32
    put_u32(b, d.op);         // 48
    put_shape(b, d.a_shape);  // 52
    put_shape(b, d.b_shape);  // 68
    put_shape(b, d.out_shape);  // 84
    put_f32(b, d.act_min);    // 100
    put_f32(b, d.act_max);    // 104 -> 108 bytes
    return b;
}

std::vector<uint8_t> concat_body(const ConcatDesc& d) {
    std::vector<uint8_t> b;
    put_range(b, d.out);
    put_u32(b, d.inner_size);
    put_u32(b, d.outer_size);
    put_u32(b, static_cast<uint32_t>(d.inputs.size()));
    for (const auto& r : d.inputs) put_range(b, r);
    put_ints(b, d.dims);
    return b;
}

std::vector<uint8_t> conv2d_body(const Conv2DDesc& d) {
    std::vector<uint8_t> b;
    put_range(b, d.in);
    put_range(b, d.out);
    put_shape(b, d.in_shape);  // 32
    put_i32(b, d.groups);      // 48
    put_i32(b, d.out_channels);  // 52
    put_window(b, d.window);   // 56..95
    put_f32(b, d.act_min);     // 96
    put_f32(b, d.act_max);
    put_floats(b, d.weights);  // 104
    put_floats(b, d.bias);
    return b;
}

std::vector<uint8_t> quant_body(const QuantDesc& d) {
    std::vector<uint8_t> b;
    put_range(b, d.in);
    put_range(b, d.out);
    put_i32(b, d.zero_point);
    put_f32(b, d.scale);
    return b;
}

std::vector<uint8_t> matmul_body(const MatMulDesc& d) {
    std::vector<uint8_t> b;
    put_range(b, d.a);
    put_range(b, d.b);
    put_range(b, d.out);
    put_i32(b, d.a_rows);
    put_i32(b, d.a_cols);
    put_i32(b, d.b_cols);
    put_f32(b, d.act_min);  // 60
    put_f32(b, d.act_max);
    put_floats(b, d.bias);  // 68
    return b;
}

std::vector<uint8_t> pad_body(const PadDesc& d) {
    std::vector<uint8_t> b;
    put_range(b, d.in);
    put_range(b, d.out);
    put_shape(b, d.in_shape);
    for (const auto& p : d.paddings) {
        put_i32(b, p[0]);
        put_i32(b, p[1]);
    }
    put_u32(b, d.pad_type);  // 80
    put_u32(b, d.pad_storage);
    return b;
}

std::vector<uint8_t> reduce_body(const ReduceDesc& d) {
    std::vector<uint8_t> b;
    put_range(b, d.in);
    put_range(b, d.out);
    put_u32(b, d.op);
    put_shape(b, d.in_shape);
    put_shape(b, d.out_shape);
    put_f32(b, d.init);
    return b;
}

std::vector<uint8_t> reduce_window2d_body(const ReduceWindowDesc& d) {
    std::vector<uint8_t> b;
    put_range(b, d.in);
    put_range(b, d.out);
    put_u32(b, d.op);          // 32
    put_shape(b, d.in_shape);  // 36
    put_window(b, d.window);   // 52..91
    put_f32(b, d.init);        // 92
    put_f32(b, d.act_min);     // 96
    put_f32(b, d.act_max);
    return b;
}

std::vector<uint8_t> memory_copy_body(const InOutDesc& d) {
    std::vector<uint8_t> b;
    put_range(b, d.in);
    put_range(b, d.out);
    return b;
}

std::vector<uint8_t> resize_image_body(const ResizeDesc& d) {
    std::vector<uint8_t> b;
    put_range(b, d.in);
    put_range(b, d.out);
    put_shape(b, d.in_shape);
    put_i32(b, d.out_h);
    put_i32(b, d.out_w);
    put_u32(b, d.mode);
    put_u32(b, d.align_corners ? 1u : 0u);  // u8 + 3 padding bytes
    return b;
}

std::vector<uint8_t> softmax_body(const SoftmaxDesc& d) {
    std::vector<uint8_t> b;
    put_range(b, d.in);
    put_range(b, d.out);
    put_i32(b, d.inner_size);
    put_i32(b, d.outer_size);
    put_f32(b, d.beta);
    return b;
}

std::vector<uint8_t> transpose_body(const TransposeDesc& d) {
    std::vector<uint8_t> b;
    put_range(b, d.in);
    put_range(b, d.out);
    put_shape(b, d.in_shape);
    put_shape(b, d.perm);
    return b;
}

std::vector<uint8_t> strided_slice_body(const StridedSliceDesc& d) {
    std::vector<uint8_t> b;
    put_range(b, d.in);
    put_range(b, d.out);
    put_shape(b, d.in_shape);
    put_shape(b, d.begin);
    put_shape(b, d.end);
    put_shape(b, d.strides);
    for (int32_t m : d.masks) put_i32(b, m);
    return b;
}

std::vector<uint8_t> unary_body(const UnaryDesc& d) {
    std::vector<uint8_t> b;
    put_range(b, d.in);
    put_range(b, d.out);
    put_u32(b, d.op);
    return b;
}

std::vector<uint8_t> quantized_conv2d_body(const QuantizedConv2DDesc& d) {
    std::vector<uint8_t> b;
    put_range(b, d.in);
    put_range(b, d.out);
    put_shape(b, d.in_shape);
    put_i32(b, d.groups);
    put_i32(b, d.out_channels);
    put_window(b, d.window);  // 56..95
    for (int32_t v : {d.input_offset, d.filter_offset, d.output_mul, d.output_shift, d.output_offset}) put_i32(b, v);
    put_ints(b, d.bias);  // 116
    put_bytes(b, d.weights);
    return b;
}

std::vector<uint8_t> quantized_matmul_body(const QuantizedMatMulDesc& d) {
    std::vector<uint8_t> b;
    put_range(b, d.a);
    put_range(b, d.b);
    put_range(b, d.out);
    put_i32(b, d.a_rows);
    put_i32(b, d.a_cols);
    put_i32(b, d.b_cols);
    for (int32_t v : {d.input_a_offset, d.input_b_offset, d.output_mul, d.output_shift, d.output_offset}) put_i32(b, v);
    put_ints(b, d.bias);  // 80
    return b;
}

std::vector<uint8_t> quantized_binary_body(const QuantizedBinaryDesc& d) {
    std::vector<uint8_t> b = binary_body(d.base);
    b.resize(100);  // no value_range
    for (int32_t v : {d.a_offset, d.a_mul, d.a_shift, d.b_offset, d.b_mul, d.b_shift, d.output_offset, d.output_mul,
                      d.output_shift})
        put_i32(b, v);
    return b;  // 136 bytes
}

std::vector<uint8_t> table_lookup1d_body(const TableLookupDesc& d) {
    std::vector<uint8_t> b;
    put_range(b, d.in);
    put_range(b, d.table);
    put_range(b, d.out);
    return b;
}

std::vector<uint8_t> conv2d_transpose_body(const Conv2DTransposeDesc& d) {
    std::vector<uint8_t> b;
    put_range(b, d.in);
    put_range(b, d.out);
    put_shape(b, d.in_shape);   // 32
    put_shape(b, d.out_shape);  // 48
    put_i32(b, d.groups);       // 64
    put_window(b, d.window);    // 68..107
    put_f32(b, d.act_min);      // 108
    put_f32(b, d.act_max);
    put_floats(b, d.weights);   // 116
    put_floats(b, d.bias);
    return b;
}

std::vector<uint8_t> nnil_unary_method_body(const NnilDesc& d) {
    std::vector<uint8_t> b;
    put_range(b, d.in);
    put_range(b, d.out);
    put_bytes(b, d.program);
    return b;
}

namespace {
std::vector<uint8_t> cpu_conv(const CpuConv2DDesc& d, bool depthwise) {
    std::vector<uint8_t> b;
    put_range(b, d.in);
    put_range(b, d.out);
    put_shape(b, d.in_shape);
    if (!depthwise) put_i32(b, d.out_channels);
    put_window(b, d.window);
    put_f32(b, d.act_min);
    put_f32(b, d.act_max);
    put_floats(b, d.weights);
    put_floats(b, d.bias);
    return b;
}
std::vector<uint8_t> cpu_qconv(const CpuQuantizedConv2DDesc& d, bool depthwise) {
    std::vector<uint8_t> b;
    put_range(b, d.in);
    put_range(b, d.out);
    put_shape(b, d.in_shape);
    if (!depthwise) put_i32(b, d.out_channels);
    put_window(b, d.window);
    for (int32_t v : {d.input_offset, d.filter_offset, d.output_mul, d.output_shift, d.output_offset}) put_i32(b, v);
    put_bytes(b, d.weights);
    put_ints(b, d.bias);  // may be unaligned
    return b;
}
}  // namespace

std::vector<uint8_t> cpu_conv2d_body(const CpuConv2DDesc& d) { return cpu_conv(d, false); }
std::vector<uint8_t> cpu_depthwise_conv2d_body(const CpuConv2DDesc& d) { return cpu_conv(d, true); }
std::vector<uint8_t> cpu_quantized_conv2d_body(const CpuQuantizedConv2DDesc& d) { return cpu_qconv(d, false); }
std::vector<uint8_t> cpu_quantized_depthwise_conv2d_body(const CpuQuantizedConv2DDesc& d) { return cpu_qconv(d, true); }

// ---- container ---------------------------------------------------------------------------------

namespace {
uint64_t pad8(uint64_t end) { return (8 - end % 8) % 8; }
}  // namespace

uint64_t V4Builder::body_offset(size_t i) const {
    uint64_t pos = 40 + 32 * inputs.size() + 16 * outputs.size() + constants.size() + 8 * nodes.size();
    for (size_t k = 0; k < i; ++k) pos += nodes[k].body.size() + pad8(pos + nodes[k].body.size());
    return pos;
}

std::vector<uint8_t> V4Builder::build() const {
    std::vector<uint8_t> f;
    put_u32(f, 0x4B4D444C);  // 'KMDL'
    put_u32(f, version);
    put_u32(f, flags);
    put_u32(f, target);
    put_u32(f, static_cast<uint32_t>(constants.size()));
    put_u32(f, main_mem);
    put_u32(f, static_cast<uint32_t>(nodes.size()));
    put_u32(f, static_cast<uint32_t>(inputs.size()));
    put_u32(f, static_cast<uint32_t>(outputs.size()));
    put_u32(f, reserved0);
    for (const auto& in : inputs) put_range(f, in.range);
    for (const auto& in : inputs) put_shape(f, in.shape);
    for (const auto& r : outputs) put_range(f, r);
    put_bytes(f, constants);
    uint64_t pos = f.size() + 8 * nodes.size();
    for (const auto& n : nodes) {
        const uint64_t padded = n.body.size() + pad8(pos + n.body.size());
        put_u32(f, n.opcode);
        put_u32(f, static_cast<uint32_t>(padded));
        pos += padded;
    }
    for (size_t i = 0; i < nodes.size(); ++i) {
        put_bytes(f, nodes[i].body);
        if (!(drop_last_padding && i + 1 == nodes.size())) f.resize(f.size() + pad8(f.size()), 0);
    }
    return f;
}

// ---- K210 ops -----------------------------------------------------------------------------------

std::vector<uint8_t> kpu_upload_body(const Range& in, const Range& out, const Shape4& in_shape) {
    std::vector<uint8_t> b;
    put_range(b, in);
    put_range(b, out);
    for (int32_t d : in_shape) put_u32(b, static_cast<uint32_t>(d));
    return b;
}

std::vector<uint8_t> kpu_conv2d_body(const KpuConvDesc& d, uint64_t body_offset, uint32_t batches,
                                     const Range& main_mem_output) {
    if (d.weights.size() != d.weight_count())
        throw std::invalid_argument("kpu_conv2d_body: " + std::to_string(d.weights.size()) +
                                    " weights for a layer that needs " + std::to_string(d.weight_count()));
    // Zero bytes until the absolute offset is a multiple of `alignment`; returns their count.
    auto padding = [](uint64_t at, uint64_t alignment) { return static_cast<uint32_t>((alignment - at % alignment) % alignment); };
    const uint64_t fixed_end = body_offset + 120;
    const uint32_t p1 = padding(fixed_end, 256);
    const uint64_t bn_end = fixed_end + p1 + 8ull * d.bn.size();
    const uint32_t p2 = padding(bn_end, 256);
    const uint64_t act_end = bn_end + p2 + 144;
    const uint32_t p3 = padding(act_end, 256);

    KpuConvDesc desc = d;
    desc.main_mem_out.reset();
    desc.overrides.clear();
    desc.set("bwsx_base_addr", p1).set("active_addr", p2).set("para_start_addr", p3);
    for (const ArgOverride& o : d.overrides) desc.overrides.push_back(o);
    const std::array<uint64_t, 12> words = encode_layer_argument(desc, true);

    std::vector<uint8_t> b;
    put_range(b, main_mem_output);
    put_u32(b, batches);
    put_u32(b, 0);  // reserved0
    for (uint64_t w : words) {
        put_u32(b, static_cast<uint32_t>(w));
        put_u32(b, static_cast<uint32_t>(w >> 32));
    }
    b.resize(b.size() + p1, 0);
    for (const BnEntry& e : d.bn) {
        const uint64_t w = encode_bn(e);
        put_u32(b, static_cast<uint32_t>(w));
        put_u32(b, static_cast<uint32_t>(w >> 32));
    }
    b.resize(b.size() + p2, 0);
    const std::vector<uint8_t> act = encode_activation(d.act);
    b.insert(b.end(), act.begin(), act.end());
    b.resize(b.size() + p3, 0);
    b.insert(b.end(), d.weights.begin(), d.weights.end());
    return b;
}

}  // namespace kpusim::v4build
