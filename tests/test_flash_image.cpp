// The kpu.load_flash image: word reversal, byte-order detection, placement warnings.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <sstream>
#include <unistd.h>

#include "models/kmodel_error.h"
#include "models/kmodel_loader.h"
#include "sim/flash_image.h"
#include "tests/test_support.h"

using namespace kpusim;
using kpusim::test::read_file_bytes;
using kpusim::test::shared_path;

namespace {

const char* kFaceModel = "models/face_detect_maixpy_v3/facedetect.kmodel";

std::string temp_file(const std::string& name) {
    return (std::filesystem::temp_directory_path() /
            ("kpusim_test_" + std::to_string(::getpid()) + "_" + name))
        .string();
}

bool has_warning(const FlashImagePlan& plan, const std::string& text) {
    for (const auto& w : plan.warnings)
        if (w.find(text) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST(FlashImage, ImageOfFaceModelHasEveryWordByteReversed) {
    const auto model = read_file_bytes(shared_path(kFaceModel));
    ASSERT_EQ(model.size(), 388776u);  // SOURCE.md; a multiple of 4: no padding
    const auto image = make_flash_image(model);
    ASSERT_EQ(image.size(), model.size());
    for (size_t k = 0; k < model.size() / 4; ++k)
        for (size_t j = 0; j < 4; ++j)
            ASSERT_EQ(image[4 * k + j], model[4 * k + 3 - j]) << "word " << k << " byte " << j;
    // The file starts with version 3 (03 00 00 00); its image with 00 00 00 03.
    EXPECT_EQ(image[0], 0);
    EXPECT_EQ(image[3], 3);
}

TEST(FlashImage, ImagePadsToAMultipleOfFourWithZeros) {
    const std::vector<uint8_t> six = {1, 2, 3, 4, 5, 6};
    const auto image = make_flash_image(six);
    EXPECT_EQ(image, (std::vector<uint8_t>{4, 3, 2, 1, 0, 0, 6, 5}));
}

TEST(FlashImage, DetectsByteOrderOfBothForms) {
    const auto model = read_file_bytes(shared_path(kFaceModel));
    EXPECT_EQ(detect_byte_order(model), KmodelByteOrder::plain);
    EXPECT_EQ(detect_byte_order(make_flash_image(model)), KmodelByteOrder::word_reversed);
    // V4 (nncase 0.2) files start with "LDMK"; their image with "KMDL".
    const auto v4 = read_file_bytes(shared_path("models/yolo20_voc_nncase_v4/yolo.kmodel"));
    ASSERT_GE(v4.size(), 4u);
    EXPECT_EQ(std::string(v4.begin(), v4.begin() + 4), "LDMK");
    EXPECT_EQ(detect_byte_order(v4), KmodelByteOrder::plain);
    EXPECT_EQ(detect_byte_order(make_flash_image(v4)), KmodelByteOrder::word_reversed);
    EXPECT_EQ(detect_byte_order({1, 0, 0, 0}), KmodelByteOrder::unknown);  // legacy V1
    EXPECT_EQ(detect_byte_order({3, 0, 0}), KmodelByteOrder::unknown);     // too short
    EXPECT_STREQ(to_string(KmodelByteOrder::word_reversed), "word_reversed");
}

TEST(FlashImage, ToPlainKmodelRoundTripParses) {
    const auto model = read_file_bytes(shared_path(kFaceModel));
    KmodelByteOrder order = KmodelByteOrder::unknown;
    const auto back = to_plain_kmodel(make_flash_image(model), &order);
    EXPECT_EQ(order, KmodelByteOrder::word_reversed);
    EXPECT_EQ(back, model);
    EXPECT_EQ(parse_kmodel(back).layers.size(), 24u);
    EXPECT_EQ(to_plain_kmodel(model, &order), model);
    EXPECT_EQ(order, KmodelByteOrder::plain);

    // A file whose size is not a multiple of 4 comes back with the image's zero padding,
    // which the V3 reader tolerates.
    auto odd = model;
    odd.push_back(0xAB);
    odd.push_back(0xCD);
    const auto odd_back = to_plain_kmodel(make_flash_image(odd));
    ASSERT_EQ(odd_back.size(), odd.size() + 2);
    EXPECT_TRUE(std::equal(odd.begin(), odd.end(), odd_back.begin()));
    EXPECT_EQ(odd_back[odd.size()], 0);
    EXPECT_EQ(parse_kmodel(odd_back).layers.size(), 24u);
}

TEST(FlashImage, PlanWarnings) {
    // MaixPy's usual place: 0x300000, after a firmware below 3 MiB: no warning.
    EXPECT_TRUE(plan_flash_image(0x300000, 388776, 0x200000).warnings.empty());
    EXPECT_TRUE(plan_flash_image(0x600000, 388776, 0).warnings.empty());

    // A 2 MiB firmware at [0, 0x200000) and an image at 0x100000.
    const auto overlap = plan_flash_image(0x100000, 388776, 2u << 20);
    ASSERT_EQ(overlap.warnings.size(), 1u);
    EXPECT_TRUE(has_warning(overlap, "overlaps the firmware")) << overlap.warnings[0];
    EXPECT_TRUE(has_warning(overlap, "0x200000")) << overlap.warnings[0];

    // Past the 16 MiB flash: 0xFF0000 + 0x20000 ends at 0x1010000.
    const auto past = plan_flash_image(0xFF0000, 0x20000, 0);
    ASSERT_EQ(past.warnings.size(), 1u);
    EXPECT_TRUE(has_warning(past, "past the end of the 16 MiB flash")) << past.warnings[0];
    EXPECT_TRUE(has_warning(past, "0x10000 (65536 bytes)")) << past.warnings[0];
    // Ending exactly at 16 MiB is fine.
    EXPECT_TRUE(plan_flash_image(0x1000000 - 0x20000, 0x20000, 0).warnings.empty());

    // Not on a 4 KiB sector boundary.
    const auto unaligned = plan_flash_image(0x300100, 1000, 0x200000);
    ASSERT_EQ(unaligned.warnings.size(), 1u);
    EXPECT_TRUE(has_warning(unaligned, "not a multiple of 4 KiB")) << unaligned.warnings[0];
    EXPECT_TRUE(has_warning(unaligned, "erased in 4 KiB sectors")) << unaligned.warnings[0];

    // All three at once.
    EXPECT_EQ(plan_flash_image(0x100001, 16u << 20, 2u << 20).warnings.size(), 3u);
}

TEST(FlashImage, CommandWritesTheImageAndReportsWarnings) {
    const std::string out_path = temp_file("face_be.kmodel");
    std::ostringstream out;
    EXPECT_EQ(flash_image_command(shared_path(kFaceModel), 0x100000, 2u << 20, out_path, out), 0);
    const auto image = read_file_bytes(out_path);
    EXPECT_EQ(image, make_flash_image(read_file_bytes(shared_path(kFaceModel))));
    const std::string text = out.str();
    EXPECT_NE(text.find("388776 bytes"), std::string::npos) << text;
    EXPECT_NE(text.find("warning: the image"), std::string::npos) << text;
    EXPECT_NE(text.find("kpu.load_flash(0x100000"), std::string::npos) << text;

    // Given the image itself, it reverses it back first and writes the same image.
    const std::string again = temp_file("face_be2.kmodel");
    std::ostringstream out2;
    flash_image_command(out_path, 0x300000, 0, again, out2);
    EXPECT_EQ(read_file_bytes(again), image);
    EXPECT_NE(out2.str().find("already word-reversed"), std::string::npos) << out2.str();
    EXPECT_EQ(out2.str().find("warning"), std::string::npos) << out2.str();
    std::remove(out_path.c_str());
    std::remove(again.c_str());
}

TEST(FlashImage, CommandErrors) {
    std::ostringstream out;
    const std::string out_path = temp_file("never.kmodel");
    EXPECT_THROW(flash_image_command("/nonexistent/model.kmodel", 0x300000, 0, out_path, out), InputError);
    // V5 (nncase 1.x) is not a model kpusim reads.
    EXPECT_THROW(flash_image_command(shared_path("models/yolox_nano_224_v5/yolox_nano_224.kmodel"), 0x300000,
                                     0, out_path, out),
                 KmodelError);
    EXPECT_THROW(flash_image_command(shared_path(kFaceModel), 0x300000, 0, "/nonexistent/dir/x.kmodel", out),
                 InputError);
    EXPECT_FALSE(std::filesystem::exists(out_path));
}
