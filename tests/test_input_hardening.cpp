// Regression tests for bad inputs a new user or a fuzzer hands kpusim (issue 11): deeply
// nested JSON given to `check`, a PNM picture with a header and no pixels, `--labels`
// naming a folder, and a flash-image address that would wrap.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>

#include "models/kmodel_error.h"
#include "sim/classification.h"
#include "sim/flash_image.h"
#include "sim/model_input.h"
#include "sim/report_check.h"
#include "tests/test_support.h"

using namespace kpusim;

namespace {

std::string temp_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("kpusim_hardening_" + name)).string();
}

int run_cli(const std::string& args, std::string* out) {
    const std::string cmd = test::kpusim_binary() + " " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
    const int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::vector<uint8_t> bytes_of(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

}  // namespace

// A million nested arrays overflowed the stack in the recursive dump and comparison.
TEST(InputHardening, DeeplyNestedJsonIsRefusedWithItsDepth) {
    const std::string deep = std::string(1000000, '[') + std::string(1000000, ']');
    try {
        parse_report_json(deep, "the report 'deep.json'");
        ADD_FAILURE() << "accepted";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("1000000 levels deep"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("deep.json"), std::string::npos) << e.what();
    }
    // Through the command too, with the file named.
    const std::string path = temp_path("deep.json");
    std::ofstream(path) << "{\"schema_version\": " << deep << "}";
    std::ostringstream out;
    EXPECT_THROW(check_command(path, path, "2%", out), InputError);
    std::filesystem::remove(path);
}

TEST(InputHardening, JsonDepthWithinTheLimitParsesAndStringsDoNotCount) {
    const int d = kMaxReportJsonDepth;
    const auto j = parse_report_json(std::string(d, '[') + std::string(d, ']'), "x");
    EXPECT_TRUE(j.is_array());
    EXPECT_THROW(parse_report_json(std::string(d + 1, '[') + std::string(d + 1, ']'), "x"), InputError);
    // Brackets inside strings (and escaped quotes) are not nesting.
    const std::string text = "{\"a\": \"" + std::string(1000, '[') + "\\\"" + std::string(1000, '{') + "\"}";
    EXPECT_EQ(parse_report_json(text, "x")["a"].get<std::string>().size(), 2001u);
}

TEST(InputHardening, HeaderOnlyPpmIsRefused) {
    ModelInput in;
    in.shape = Shape{1, 3, 2, 2};
    in.type = DataType::uint8;
    try {
        decode_model_input(bytes_of("P6\n2 2\n255\n"), "head.ppm", in);
        ADD_FAILURE() << "accepted";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("truncated PNM"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("needs 12 bytes"), std::string::npos) << e.what();
    }
    // One byte short, a comment in the header, and grey P5.
    EXPECT_THROW(decode_model_input(bytes_of("P6 # made by hand\n2 2 255\n" + std::string(11, 'x')),
                                    "short.ppm", in),
                 InputError);
    in.shape.c = 1;
    EXPECT_THROW(decode_model_input(bytes_of("P5\n2 2\n255\n"), "grey.pgm", in), InputError);
}

TEST(InputHardening, CompletePpmDecodesToPlanarRgb) {
    ModelInput in;
    in.shape = Shape{1, 3, 1, 2};
    in.type = DataType::uint8;
    // 2 x 1 pixels: (1,2,3) (4,5,6) -> R plane 1 4, G plane 2 5, B plane 3 6.
    const std::string ppm = std::string("P6\n# comment\n2 1\n255\n") + "\x01\x02\x03\x04\x05\x06";
    EXPECT_EQ(decode_model_input(bytes_of(ppm), "ok.ppm", in),
              (std::vector<uint8_t>{1, 4, 2, 5, 3, 6}));
}

TEST(InputHardening, LabelsNamingAFolderAreRefused) {
    const std::string dir = temp_path("labels_dir");
    std::filesystem::create_directories(dir);
    try {
        load_labels(dir);
        ADD_FAILURE() << "accepted";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
    }
    std::string out;
    const int code = run_cli("run " + test::shared_path("models/mnist_maixpy_v3/mnist.kmodel") +
                                 " --labels " + dir, &out);
    EXPECT_EQ(code, 2) << out;
    EXPECT_NE(out.find("labels file"), std::string::npos) << out;
    std::filesystem::remove(dir);
}

TEST(InputHardening, FlashAddressOutsideTheFlashIsAnError) {
    EXPECT_THROW(plan_flash_image(0xFFFFFFFFFFFFF000ull, 4096, 0), InputError);
    EXPECT_THROW(plan_flash_image(16u << 20, 1, 0), InputError);
    EXPECT_NO_THROW(plan_flash_image((16u << 20) - 4096, 4096, 0));
    const std::string image = temp_path("wrap.img");
    std::filesystem::remove(image);
    std::string out;
    const int code = run_cli("flash-image " +
                                 test::shared_path("models/mnist_maixpy_v3/mnist.kmodel") +
                                 " --address 0xFFFFFFFFFFFFF000 -o " + image, &out);
    EXPECT_EQ(code, 2) << out;
    EXPECT_NE(out.find("not inside the 16 MiB flash"), std::string::npos) << out;
    EXPECT_FALSE(std::filesystem::exists(image));
}
