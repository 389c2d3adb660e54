// The kpusim program end to end: its commands, their outputs and their errors.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <cstring>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "tests/test_support.h"

using kpusim::test::read_file_bytes;
using kpusim::test::shared_path;

namespace {

using kpusim::test::kpusim_cli;
using Result = kpusim::test::CliResult;

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(kpusim::test::read_text(path)); }

}  // namespace

TEST(Cli, FlashImageCommandWritesTheWordReversedModel) {
    const std::string model = shared_path("models/face_detect_maixpy_v3/facedetect.kmodel");
    const Result r = kpusim_cli("flash-image " + model + " --address 0x600000 -o /tmp/kpusim_cli_fd.img");
    ASSERT_EQ(r.status, 0) << r.out;
    const auto plain = read_file_bytes(model);
    const auto image = read_file_bytes("/tmp/kpusim_cli_fd.img");
    ASSERT_EQ(image.size(), (plain.size() + 3) / 4 * 4);
    for (size_t i = 0; i < plain.size(); ++i) ASSERT_EQ(image[i], plain[i / 4 * 4 + 3 - i % 4]) << i;
}

TEST(Cli, FlashImageWarnsOfFirmwareOverlapAndFlashEnd) {
    const std::string model = shared_path("models/mobilenetv1_0.75_imagenet_v3/mbnet75.kmodel");
    const Result overlap = kpusim_cli("flash-image " + model + " --address 0x100000 --firmware-size 0x200000 -o /tmp/kpusim_cli_mb.img");
    EXPECT_EQ(overlap.status, 0);
    EXPECT_NE(overlap.out.find("warning"), std::string::npos) << overlap.out;
    EXPECT_NE(overlap.out.find("firmware"), std::string::npos) << overlap.out;
    const Result end = kpusim_cli("flash-image " + model + " --address 0xF00000 -o /tmp/kpusim_cli_mb.img");
    EXPECT_NE(end.out.find("16 MiB"), std::string::npos) << end.out;
}

TEST(Cli, RunAcceptsEitherFormOfAModelAndSaysWhichItFound) {
    const std::string model = shared_path("models/face_detect_maixpy_v3/facedetect.kmodel");
    ASSERT_EQ(kpusim_cli("flash-image " + model + " -o /tmp/kpusim_cli_fd2.img").status, 0);
    const Result plain = kpusim_cli("run " + model + " --mode flash-dual --dump-outputs /tmp/kpusim_cli_plain");
    const Result reversed = kpusim_cli("run /tmp/kpusim_cli_fd2.img --mode flash-dual --dump-outputs /tmp/kpusim_cli_rev");
    ASSERT_EQ(plain.status, 0) << plain.out;
    ASSERT_EQ(reversed.status, 0) << reversed.out;
    EXPECT_EQ(plain.out.find("kpu.load_flash image"), std::string::npos);
    EXPECT_NE(reversed.out.find("kpu.load_flash image"), std::string::npos) << reversed.out;
    EXPECT_EQ(read_file_bytes("/tmp/kpusim_cli_plain/output_0.bin"), read_file_bytes("/tmp/kpusim_cli_rev/output_0.bin"));
}

TEST(Cli, Yolo20OnDogFindsBicycleDogAndCarInJson) {
    const std::string dir = shared_path("models/yolo20_voc_nncase_v3");
    const Result r = kpusim_cli("run " + dir + "/yolo.kmodel --input " + dir + "/dog.bmp --labels " + dir +
                                "/labels.txt --json /tmp/kpusim_cli_dog.json --annotate /tmp/kpusim_cli_dog.png");
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("guessed yolo2"), std::string::npos);
    const auto j = read_json("/tmp/kpusim_cli_dog.json");
    EXPECT_EQ(j.at("decode"), "yolo2");
    std::set<std::string> labels;
    for (const auto& d : j.at("detections")) {
        labels.insert(d.at("label").get<std::string>());
        EXPECT_EQ(d.at("box").size(), 4u);
    }
    EXPECT_EQ(labels, (std::set<std::string>{"bicycle", "car", "dog"}));
    EXPECT_GT(read_file_bytes("/tmp/kpusim_cli_dog.png").size(), 1000u);
}

TEST(Cli, DumpOutputsWritesRawTensorsAndTheirIndex) {
    const Result r = kpusim_cli("run " + shared_path("models/iris_v3/iris.kmodel") + " --input " +
                                shared_path("models/iris_v3/input_f32.bin") + " --dump-outputs /tmp/kpusim_cli_iris");
    ASSERT_EQ(r.status, 0) << r.out;
    const auto bin = read_file_bytes("/tmp/kpusim_cli_iris/output_0.bin");
    ASSERT_EQ(bin.size(), 12u);
    float v[3];
    std::memcpy(v, bin.data(), 12);
    EXPECT_NEAR(v[0], 16.077795f, 1e-5);
    const auto index = read_json("/tmp/kpusim_cli_iris/outputs.json");
    EXPECT_EQ(index.at(0).at("dtype"), "float32");
    EXPECT_EQ(index.at(0).at("shape"), nlohmann::json::array({1, 3, 1, 1}));
}

TEST(Cli, BadInputsGetClearErrorsAndExitCode2) {
    const std::string mnist = shared_path("models/mnist_maixpy_v3/mnist.kmodel");
    const std::pair<std::string, std::string> cases[] = {
        {"run /nonexistent/model.kmodel", "cannot open kmodel file"},
        {"run " + mnist + " --input /nonexistent.png", "cannot open input file"},
        {"run " + mnist + " --input /etc/hostname", "neither a JPEG/PNG/BMP picture nor a raw"},
        {"run " + shared_path("models/legacy_v1_face_detect/aug.kmodel"), "version 1"},
        {"run " + mnist + " --cpu-freq 2G", "CPU frequency"},
        {"run " + mnist + " --mode flash-dual --batch-size 0", "batch_size 0"},
        {"run " + mnist + " --spi-speed 80X", "unknown suffix"},
        {"run " + mnist + " --mode warp", "unknown mode"},
        {"run /tmp", "not a regular file"},
        {"run " + mnist + " --input /dev/null", "not a regular file"},
        // A folder is a dataset run (sim/dataset_run.h): one without pictures is refused.
        {"run " + mnist + " --input /proc/self/fdinfo", "holds no .jpg"},
    };
    for (const auto& [args, message] : cases) {
        const Result r = kpusim_cli(args);
        EXPECT_EQ(r.status, 2) << args << "\n" << r.out;
        EXPECT_NE(r.out.find(message), std::string::npos) << args << "\n" << r.out;
    }
}

TEST(Cli, BrokenPicturesAreRefusedNotGuessed) {
    const std::string yolo = shared_path("models/yolo20_voc_nncase_v3/yolo.kmodel");
    // A BMP cut short: stb_image would fill the missing rows with zeros.
    auto bmp = read_file_bytes(shared_path("models/yolo20_voc_nncase_v3/dog.bmp"));
    {
        std::ofstream f("/tmp/kpusim_cli_short.bmp", std::ios::binary);
        f.write(reinterpret_cast<const char*>(bmp.data()), 5000);
    }
    Result r = kpusim_cli("run " + yolo + " --input /tmp/kpusim_cli_short.bmp");
    EXPECT_EQ(r.status, 2) << r.out;
    EXPECT_NE(r.out.find("truncated BMP"), std::string::npos) << r.out;
    // A BMP whose header says 0 x 0 pixels.
    std::vector<uint8_t> empty(bmp.begin(), bmp.begin() + 54);
    std::memset(empty.data() + 18, 0, 8);
    {
        std::ofstream f("/tmp/kpusim_cli_empty.bmp", std::ios::binary);
        f.write(reinterpret_cast<const char*>(empty.data()), static_cast<std::streamsize>(empty.size()));
    }
    r = kpusim_cli("run " + yolo + " --input /tmp/kpusim_cli_empty.bmp");
    EXPECT_EQ(r.status, 2) << r.out;
    EXPECT_NE(r.out.find("kpusim: error"), std::string::npos) << r.out;
}

TEST(Cli, ModeAllReportsTheModesThatFitWhenRamModeDoesNot) {
    // 2.6 MB of MobileNet does not fit MaixPy's full firmware, but streamed from flash it does.
    const Result r = kpusim_cli("run " + shared_path("models/mobilenetv1_0.75_imagenet_v3/mbnet75.kmodel") +
                                " --mode all --ram-budget maixpy-full --json /tmp/kpusim_cli_mf.json");
    ASSERT_EQ(r.status, 3) << r.out;  // a mode failed (README "Exit codes"); the report is complete
    EXPECT_NE(r.out.find("ram could not run: out of memory"), std::string::npos) << r.out;
    const auto j = read_json("/tmp/kpusim_cli_mf.json");
    ASSERT_EQ(j.at("modes").size(), 3u);
    EXPECT_TRUE(j.at("modes").at(0).contains("error"));
    EXPECT_GT(j.at("modes").at(2).at("forward_ms").get<double>(), 0.0);
    EXPECT_EQ(j.at("outputs").size(), 1u);
    EXPECT_EQ(kpusim_cli("check /tmp/kpusim_cli_mf.json --baseline /tmp/kpusim_cli_mf.json").status, 0);
}
