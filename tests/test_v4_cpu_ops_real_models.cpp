// kmodel V4 CPU operations on the real V4 models of ../shared/models: every CPU node of every
// model parses and runs, and iris_v4 (all CPU nodes) gives its documented logits. The
// container is walked here from kmodel-spec §9.1 (header, constants, node headers, bodies)
// so that the test does not depend on the V4 reader.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cpu_layers/v4/v4_kernels.h"
#include "test_support.h"

using namespace kpusim;

namespace {

struct Walk {
    std::vector<uint8_t> file;
    v4::MemorySizes sizes;
    uint64_t constants_at = 0;
    struct NodeRef {
        uint32_t opcode;
        uint64_t at, size;
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
        w.nodes.push_back({w.u32(headers + 8 * i), body, avail});
        body += size;
    }
    return w;
}

}  // namespace

TEST(V4CpuOpsRealModels, EveryCpuNodeOfEveryV4ModelParsesAndRuns) {
    const char* models[] = {
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
    int total = 0;
    for (const char* m : models) {
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
