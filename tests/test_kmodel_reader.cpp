// The V3 reader on real files and on real files made malformed: each problem gets its own
// typed error naming the layer and the field, and nothing crashes or hangs.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "models/kmodel_error.h"
#include "models/kmodel_loader.h"
#include "sim/functional_executor.h"
#include "sim/model_input.h"
#include "tests/test_support.h"

using namespace kpusim;
using kpusim::test::read_file_bytes;
using kpusim::test::shared_path;

namespace {

std::vector<uint8_t> mobilenet_bytes() {
    return read_file_bytes(shared_path("models/mobilenetv1_0.75_imagenet_v3/mbnet75.kmodel"));
}

uint32_t get_u32(const std::vector<uint8_t>& b, size_t off) {
    uint32_t v;
    std::memcpy(&v, b.data() + off, 4);
    return v;
}
void put_u32(std::vector<uint8_t>& b, size_t off, uint32_t v) { std::memcpy(b.data() + off, &v, 4); }

// Offset of layer i's header (type, body_size) in a V3 file.
size_t layer_header(const std::vector<uint8_t>& b, uint32_t i) { return 28 + 8 * get_u32(b, 24) + 8 * i; }

// Absolute offset of layer i's body.
size_t body_offset(const std::vector<uint8_t>& b, uint32_t i) {
    size_t off = 28 + 8 * get_u32(b, 24) + 8 * get_u32(b, 12);
    for (uint32_t k = 0; k < i; ++k) off += get_u32(b, layer_header(b, k) + 4);
    return off;
}

KmodelError parse_error(std::vector<uint8_t> bytes) {
    try {
        parse_kmodel(std::move(bytes));
    } catch (const KmodelError& e) {
        return e;
    }
    ADD_FAILURE() << "the file was accepted";
    return KmodelError(KmodelErrorKind::inconsistent, "none");
}

}  // namespace

TEST(KmodelReader, ReadsMobileNetStructure) {
    const Model m = parse_kmodel(mobilenet_bytes());
    EXPECT_EQ(m.version, 3u);
    EXPECT_EQ(m.layers.size(), 35u);
    EXPECT_EQ(m.main_mem_usage, 188160u);
    EXPECT_EQ(m.input.shape, (Shape{1, 3, 224, 224}));
    EXPECT_EQ(m.layers[27].type_name, "DEQUANTIZE");
    EXPECT_EQ(m.layers[31].type_name, "K210_CONV");
    EXPECT_EQ(m.layers[34].type_name, "SOFTMAX");
    EXPECT_EQ(m.largest_body(), 776360u);  // SOURCE.md: L31
    ASSERT_EQ(m.outputs.size(), 1u);
    EXPECT_EQ(m.outputs[0].main_offset, 180160u);
    EXPECT_EQ(m.outputs[0].shape.elements(), 1000u);
    EXPECT_EQ(m.outputs[0].type, DataType::float32);
}

TEST(KmodelReader, RefusesLegacyVersion1NamingTheVersions) {
    const auto e = parse_error(read_file_bytes(shared_path("models/legacy_v1_face_detect/aug.kmodel")));
    EXPECT_EQ(e.kind(), KmodelErrorKind::unsupported_version);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("version 1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("supports kmodel versions 3, 4"), std::string::npos) << msg;
}

TEST(KmodelReader, RefusesV5NamingTheVersion) {
    const auto e5 = parse_error(read_file_bytes(shared_path("models/yolox_nano_224_v5/yolox_nano_224.kmodel")));
    EXPECT_NE(std::string(e5.what()).find("version 5"), std::string::npos);
}

TEST(KmodelReader, AcceptsNncaseMissingTailPadding) {
    // iris: headers add up to 440 bytes, the file has 436; yolo20 nncase: 4 bytes short too.
    const auto iris = read_file_bytes(shared_path("models/iris_v3/iris.kmodel"));
    ASSERT_EQ(iris.size(), 436u);
    EXPECT_NO_THROW(parse_kmodel(iris));
    EXPECT_NO_THROW(parse_kmodel(read_file_bytes(shared_path("models/yolo20_voc_nncase_v3/yolo.kmodel"))));
}

TEST(KmodelReader, TruncatedHeaderIsTruncated) {
    auto b = mobilenet_bytes();
    b.resize(20);
    const auto e = parse_error(b);
    EXPECT_EQ(e.kind(), KmodelErrorKind::truncated);
    EXPECT_EQ(e.field(), "header");
}

TEST(KmodelReader, TruncatedLayerTableIsTruncated) {
    auto b = mobilenet_bytes();
    b.resize(layer_header(b, 20));
    const auto e = parse_error(b);
    EXPECT_EQ(e.kind(), KmodelErrorKind::truncated);
    EXPECT_EQ(e.field(), "layer headers");
}

TEST(KmodelReader, BodyPastTheEndNamesTheLayer) {
    auto b = mobilenet_bytes();
    b.resize(body_offset(b, 10) + 100);  // layer 9's body is whole, layer 10's is not
    const auto e = parse_error(b);
    EXPECT_EQ(e.kind(), KmodelErrorKind::out_of_bounds);
    ASSERT_TRUE(e.layer().has_value());
    EXPECT_EQ(*e.layer(), 10u);
    EXPECT_EQ(e.field(), "body_size");
}

TEST(KmodelReader, BlobOffsetOutsideItsBodyIsOutOfBounds) {
    auto b = mobilenet_bytes();
    put_u32(b, body_offset(b, 3) + 12, 0x7FFFFFF0);  // weights_offset of layer 3
    const auto e = parse_error(b);
    EXPECT_EQ(e.kind(), KmodelErrorKind::out_of_bounds);
    EXPECT_EQ(*e.layer(), 3u);
    EXPECT_EQ(e.field(), "weights_offset");
}

TEST(KmodelReader, MainMemoryRangePastMainMemUsageIsOutOfBounds) {
    auto b = mobilenet_bytes();
    put_u32(b, body_offset(b, 27) + 8, 188000);  // DEQUANTIZE out address; 37632 floats do not fit
    const auto e = parse_error(b);
    EXPECT_EQ(e.kind(), KmodelErrorKind::out_of_bounds);
    EXPECT_EQ(*e.layer(), 27u);
    EXPECT_EQ(e.field(), "main_mem_out_address");
}

TEST(KmodelReader, UnknownLayerTypeNamesTheCode) {
    auto b = mobilenet_bytes();
    put_u32(b, layer_header(b, 28), 777);
    const auto e = parse_error(b);
    EXPECT_EQ(e.kind(), KmodelErrorKind::unknown_layer_type);
    EXPECT_EQ(*e.layer(), 28u);
    EXPECT_NE(std::string(e.what()).find("777"), std::string::npos);
}

TEST(KmodelReader, LayerTypeTheSdkDoesNotRunIsUnsupported) {
    auto b = mobilenet_bytes();
    put_u32(b, layer_header(b, 28), 7);  // MAX_POOL2D: emitted by nncase 0.1, not run by the SDK
    const auto e = parse_error(b);
    EXPECT_EQ(e.kind(), KmodelErrorKind::unsupported_layer);
    EXPECT_NE(std::string(e.what()).find("MAX_POOL2D"), std::string::npos);
}

TEST(KmodelReader, UndocumentedArgumentFieldNamesLayerAndField) {
    auto b = mobilenet_bytes();
    const size_t arg = get_u32(b, body_offset(b, 5) + 8);  // layer_offset of layer 5
    b[arg + 4 * 8 + 1] |= 0x02;  // word 4 bit 9: bypass_conv
    const auto e = parse_error(b);
    EXPECT_EQ(e.kind(), KmodelErrorKind::undocumented_field);
    EXPECT_EQ(*e.layer(), 5u);
    EXPECT_EQ(e.field(), "bypass_conv");
}

TEST(KmodelReader, LayoutRegisterDisagreeingWithWidthIsInconsistent) {
    auto b = mobilenet_bytes();
    const size_t arg = get_u32(b, body_offset(b, 5) + 8);
    b[arg + 7 * 8] ^= 0x01;  // word 7: channel_switch_addr
    const auto e = parse_error(b);
    EXPECT_EQ(e.kind(), KmodelErrorKind::inconsistent);
    EXPECT_EQ(*e.layer(), 5u);
    EXPECT_EQ(e.field(), "channel_switch_addr");
}

TEST(KmodelReader, FeatureMapPastKpuRamIsKpuAllocatorError) {
    auto b = mobilenet_bytes();
    const size_t arg = get_u32(b, body_offset(b, 5) + 8);
    uint64_t w1;
    std::memcpy(&w1, b.data() + arg + 8, 8);
    w1 = (w1 & ~(uint64_t{0x7FFF} << 32)) | (uint64_t{32700} << 32);  // image_dst_addr near the top
    std::memcpy(b.data() + arg + 8, &w1, 8);
    try {
        parse_kmodel(b);
        FAIL() << "accepted";
    } catch (const CapacityError& e) {
        EXPECT_NE(std::string(e.what()).find("KPU allocator cannot allocate more memory"), std::string::npos);
    }
}

// Truncations and random bit flips of real models: every outcome is either a clean parse
// (then the model runs or fails with an exception) or a typed error; never a crash or hang.
TEST(KmodelReader, TruncationsAndBitFlipsNeverCrash) {
    std::mt19937 rng(1234);
    const char* small[] = {"models/iris_v3/iris.kmodel", "models/mnist_maixpy_v3/mnist.kmodel",
                           "models/face_detect_canmv_v3/yolo_face_detect.kmodel"};
    int parsed = 0, refused = 0, ran = 0;
#if defined(__SANITIZE_ADDRESS__)
    const int per_model = 20;  // sanitized builds run the models ~50x slower
#else
    const int per_model = 60;
#endif
    for (const char* path : small) {
        const auto original = read_file_bytes(shared_path(path));
        for (int t = 0; t < per_model; ++t) {
            auto b = original;
            if (t % 3 == 0) {
                b.resize(std::uniform_int_distribution<size_t>(0, b.size() - 1)(rng));
            } else {
                // Flip bits in the first 4 KiB (headers, layer arguments), where they matter.
                const size_t limit = std::min<size_t>(b.size(), 4096);
                for (int k = 0; k < 1 + t % 4; ++k)
                    b[std::uniform_int_distribution<size_t>(0, limit - 1)(rng)] ^=
                        static_cast<uint8_t>(1u << std::uniform_int_distribution<int>(0, 7)(rng));
            }
            try {
                const Model m = parse_kmodel(b);
                ++parsed;
                try {
                    run_functional(m, test_pattern(m.input));
                    ++ran;
                } catch (const std::exception&) {
                }
            } catch (const KmodelError&) {
                ++refused;
            } catch (const CapacityError&) {
                ++refused;
            }
        }
    }
    EXPECT_EQ(parsed + refused, 3 * per_model);
    EXPECT_GT(refused, 0);
    EXPECT_GT(ran, 0);
}
