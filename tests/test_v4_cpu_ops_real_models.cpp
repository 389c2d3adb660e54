// kmodel V4 CPU operations on the real V4 models of ../shared/models: every CPU node of every
// model parses and runs, and iris_v4 (all CPU nodes) gives its documented logits. The
// container is walked here from kmodel-spec §9.1 (header, constants, node headers, bodies)
// so that the test does not depend on the V4 reader.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cpu_layers/v4/v4_kernels.h"
#include "models/kmodel_v4_builder.h"
#include "test_support.h"

using namespace kpusim;

namespace {

struct Walk {
    std::vector<uint8_t> file;
    v4::MemorySizes sizes;
    uint64_t constants_at = 0;
    struct NodeRef {
        uint32_t opcode;
        uint64_t at, size;  ///< body offset; bytes of it in the file
        uint32_t declared;  ///< body_size of the node header
    };
    std::vector<NodeRef> nodes;
    uint32_t u32(uint64_t o) const {
        uint32_t v;
        std::memcpy(&v, file.data() + o, 4);
        return v;
    }
};

Walk walk(const std::string& relative) {
    Walk w;
    w.file = test::read_file_bytes(test::shared_path(relative));
    if (w.file.size() < 40 || w.u32(4) != 4) return w;
    const uint32_t inputs = w.u32(28), outputs = w.u32(32), nodes = w.u32(24);
    w.sizes = {w.u32(16), w.u32(20), 2u << 20};
    w.constants_at = 40 + 32ull * inputs + 16ull * outputs;
    uint64_t headers = w.constants_at + w.sizes.constants;
    uint64_t body = headers + 8ull * nodes;
    for (uint32_t i = 0; i < nodes; ++i) {
        const uint32_t size = w.u32(headers + 8 * i + 4);
        const uint64_t avail = body >= w.file.size() ? 0 : std::min<uint64_t>(size, w.file.size() - body);
        w.nodes.push_back({w.u32(headers + 8 * i), body, avail, size});
        body += size;
    }
    return w;
}

// The nine V4 models of ../shared/models.
const char* kModels[] = {
    "models/face_detect_canmv_v4/face_detect_320x240.kmodel",
    "models/iris_v4/iris.kmodel",
    "models/maix_asr_v4/maix_asr_2900k_0x500000.kmodel",
    "models/mnist_canmv_v4/uint8_mnist_cnn_model.kmodel",
    "models/mobilenet0.25_feature_canmv_v4/mb-0.25.kmodel",
    "models/ulffd_landmark_v4/ulffd_landmark.kmodel",
    "models/ulffd_rfb320_v4/RFB-320.kmodel",
    "models/ulffd_slim320_v4/slim-320.kmodel",
    "models/yolo20_voc_nncase_v4/yolo.kmodel",
};

}  // namespace

TEST(V4CpuOpsRealModels, EveryCpuNodeOfEveryV4ModelParsesAndRuns) {
    int total = 0;
    for (const char* m : kModels) {
        SCOPED_TRACE(m);
        const Walk w = walk(m);
        ASSERT_FALSE(w.nodes.empty());
        std::vector<uint8_t> main(w.sizes.main), kpu(w.sizes.kpu);
        std::mt19937 rng(5);
        for (auto& b : main) b = static_cast<uint8_t>(rng());
        const v4::Memories mem{w.file.data() + w.constants_at, main.data(), kpu.data(), w.sizes};
        int cpu = 0;
        for (size_t i = 0; i < w.nodes.size(); ++i) {
            const auto& n = w.nodes[i];
            if (!v4::is_cpu_opcode(n.opcode)) continue;
            ++cpu;
            std::shared_ptr<const v4::CpuNode> node;
            ASSERT_NO_THROW(node = v4::parse_cpu_node(n.opcode, w.file.data() + n.at, n.size,
                                                      static_cast<uint32_t>(i), w.sizes))
                << "node " << i << " " << v4::opcode_name(n.opcode);
            ASSERT_NO_THROW(v4::execute(*node, mem)) << "node " << i;
        }
        EXPECT_GT(cpu, 0);
        total += cpu;
    }
    EXPECT_EQ(total, 152);  // the CPU nodes the nine files hold
}

TEST(V4CpuOpsRealModels, IrisLogits) {
    const Walk w = walk("models/iris_v4/iris.kmodel");
    ASSERT_EQ(w.nodes.size(), 4u);
    std::vector<uint8_t> main(w.sizes.main, 0), kpu(16);
    const float input[4] = {5.1f, 3.8f, 1.9f, 0.4f};
    std::memcpy(main.data() + w.u32(40 + 8), input, 16);  // input range start
    const v4::Memories mem{w.file.data() + w.constants_at, main.data(), kpu.data(), w.sizes};
    for (size_t i = 0; i < 4; ++i) {
        const auto node = v4::parse_cpu_node(w.nodes[i].opcode, w.file.data() + w.nodes[i].at, w.nodes[i].size,
                                             static_cast<uint32_t>(i), w.sizes);
        v4::execute(*node, mem);
    }
    float out[3];
    std::memcpy(out, main.data() + w.u32(40 + 32 + 8), 12);  // output range start
    // SOURCE.md: 16.077795, 5.607656, -2.071745 (V3 build, bias added last); 1e-6 relative.
    EXPECT_NEAR(out[0], 16.077795f, 16.077795f * 1e-6f);
    EXPECT_NEAR(out[1], 5.607656f, 5.607656f * 1e-6f);
    EXPECT_NEAR(out[2], -2.071745f, 2.071745f * 1e-6f);
}

// ---- the V4 writer against the real files -----------------------------------------------------

namespace {

v4build::Range R(const v4::MemoryRange& r) {
    return {static_cast<uint32_t>(r.memory), r.type == DataType::float32 ? v4build::kF32 : v4build::kU8, r.start, r.size};
}
v4build::Shape4 S(const v4::Dims4& d) { return {d[0], d[1], d[2], d[3]}; }

/// The body the builder writes for a parsed node (the ops the real models use), or empty.
std::vector<uint8_t> reencode(const v4::CpuNode& node) {
    using namespace v4build;
    return std::visit(
        [](const auto& o) -> std::vector<uint8_t> {
            using T = std::decay_t<decltype(o)>;
            if constexpr (std::is_same_v<T, v4::DequantizeOp> || std::is_same_v<T, v4::QuantizeOp>)
                return quant_body({R(o.in), R(o.out), o.quant_param.zero_point, o.quant_param.scale});
            else if constexpr (std::is_same_v<T, v4::TransposeOp>)
                return transpose_body({R(o.in), R(o.out), S(o.in_shape), S(o.perm)});
            else if constexpr (std::is_same_v<T, v4::PadOp>) {
                PadDesc d{R(o.in), R(o.out), S(o.in_shape), {}, o.pad_value_type, 0};
                for (int k = 0; k < 4; ++k) d.paddings[k] = {o.paddings[k].before, o.paddings[k].after};
                std::memcpy(&d.pad_storage, o.pad_value.data(), 4);
                return pad_body(d);
            } else if constexpr (std::is_same_v<T, v4::ConcatOp>) {
                ConcatDesc d{R(o.out), o.inner_size, o.outer_size, {}, o.dims};
                for (const auto& r : o.inputs) d.inputs.push_back(R(r));
                return concat_body(d);
            } else if constexpr (std::is_same_v<T, v4::MemoryCopyOp>)
                return memory_copy_body({R(o.in), R(o.out)});
            else if constexpr (std::is_same_v<T, v4::QuantizedBinaryOp>) {
                QuantizedBinaryDesc d;
                d.base = {R(o.a), R(o.b), R(o.out), static_cast<uint32_t>(o.op), S(o.a_shape), S(o.b_shape), S(o.out_shape)};
                d.a_offset = o.a_offset, d.a_mul = o.a_mul, d.a_shift = o.a_shift;
                d.b_offset = o.b_offset, d.b_mul = o.b_mul, d.b_shift = o.b_shift;
                d.output_offset = o.output_offset, d.output_mul = o.output_mul, d.output_shift = o.output_shift;
                return quantized_binary_body(d);
            } else if constexpr (std::is_same_v<T, v4::ReduceOp>)
                return reduce_body({R(o.in), R(o.out), static_cast<uint32_t>(o.op), S(o.in_shape), S(o.out_shape), o.init_value});
            else if constexpr (std::is_same_v<T, v4::MatMulOp>)
                return matmul_body({R(o.a), R(o.b), R(o.out), o.a_rows, o.a_cols, o.b_cols, o.fused_activation.min,
                                    o.fused_activation.max, o.bias});
            else if constexpr (std::is_same_v<T, v4::UnaryOp>)
                return unary_body({R(o.in), R(o.out), static_cast<uint32_t>(o.op)});
            else if constexpr (std::is_same_v<T, v4::Conv2DOp>) {
                Conv2DDesc d;
                d.in = R(o.in), d.out = R(o.out), d.in_shape = S(o.in_shape), d.groups = o.groups;
                d.out_channels = o.out_channels;
                const auto& w = o.window;
                d.window = {w.padding_h.before, w.padding_h.after, w.padding_w.before, w.padding_w.after, w.filter_h,
                            w.filter_w, w.stride_h, w.stride_w, w.dilation_h, w.dilation_w};
                d.act_min = o.fused_activation.min, d.act_max = o.fused_activation.max;
                d.weights = o.weights, d.bias = o.bias;
                return conv2d_body(d);
            } else
                return {};
        },
        node.op);
}

}  // namespace

// Every CPU body of the real models, re-encoded by the builder from the parsed fields, equals
// the file's bytes (the rest of the body being the zero padding): the body layouts of the
// builder and of the parser are nncase's.
TEST(V4BuilderRealModels, CpuBodiesReencodeToTheFileBytes) {
    int compared = 0;
    for (const char* m : kModels) {
        SCOPED_TRACE(m);
        const Walk w = walk(m);
        for (size_t i = 0; i < w.nodes.size(); ++i) {
            const auto& n = w.nodes[i];
            if (!v4::is_cpu_opcode(n.opcode)) continue;
            const auto node = v4::parse_cpu_node(n.opcode, w.file.data() + n.at, n.size, static_cast<uint32_t>(i), w.sizes);
            const auto body = reencode(*node);
            ASSERT_FALSE(body.empty()) << v4::opcode_name(n.opcode) << " has no re-encoder here";
            ASSERT_LE(body.size(), n.size) << "node " << i;
            const std::vector<uint8_t> file_body(w.file.begin() + n.at, w.file.begin() + n.at + body.size());
            EXPECT_EQ(body, file_body) << "node " << i << " " << v4::opcode_name(n.opcode);
            for (uint64_t k = body.size(); k < n.size; ++k)
                ASSERT_EQ(w.file[n.at + k], 0) << "node " << i << " byte " << k << " after the fields";
            ++compared;
        }
    }
    EXPECT_EQ(compared, 152);
}

// The container writer, given a real file's header fields, ranges, constants and (padded)
// bodies, writes that file byte for byte (the CanMV MNIST model lacks its last padding).
TEST(V4BuilderRealModels, ContainerRewritesTheFileBytes) {
    int trailing = 0;
    for (const char* m : kModels) {
        SCOPED_TRACE(m);
        const Walk w = walk(m);
        v4build::V4Builder b;
        b.flags = w.u32(8);
        b.target = w.u32(12);
        b.main_mem = w.u32(20);
        b.reserved0 = w.u32(36);
        const uint32_t inputs = w.u32(28), outputs = w.u32(32);
        auto range = [&](uint64_t o) { return v4build::Range{w.u32(o), w.u32(o + 4), w.u32(o + 8), w.u32(o + 12)}; };
        for (uint32_t i = 0; i < inputs; ++i) {
            v4build::V4Builder::Input in;
            in.range = range(40 + 16 * i);
            for (int k = 0; k < 4; ++k) in.shape[k] = static_cast<int32_t>(w.u32(40 + 16 * inputs + 16 * i + 4 * k));
            b.inputs.push_back(in);
        }
        for (uint32_t i = 0; i < outputs; ++i) b.outputs.push_back(range(40 + 32 * inputs + 16 * i));
        b.constants.assign(w.file.begin() + w.constants_at, w.file.begin() + w.constants_at + w.sizes.constants);
        for (const auto& n : w.nodes)  // the bodies as in the file, padding included
            b.nodes.push_back({n.opcode, std::vector<uint8_t>(w.file.begin() + n.at, w.file.begin() + n.at + n.size)});
        // A last body shorter in the file than its header says: nncase's missing last padding.
        b.drop_last_padding = !w.nodes.empty() && w.nodes.back().size < w.nodes.back().declared;
        const auto out = b.build();
        ASSERT_LE(out.size(), w.file.size());
        EXPECT_TRUE(std::equal(out.begin(), out.end(), w.file.begin()));
        trailing += out.size() < w.file.size();
    }
    // maix_asr_v4 carries ~1 MB after its last body (the file is a flash dump); the others end
    // with their last body.
    EXPECT_EQ(trailing, 1);
}
