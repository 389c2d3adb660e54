// Each timing figure of a report says how it was obtained (sim/provenance.h).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "test_support.h"

namespace {

nlohmann::json run_json(const std::string& args, const std::string& path) {
    const std::string cmd = kpusim::test::kpusim_binary() + " run " + args + " --json " + path + " > /dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return nlohmann::json::parse(ss.str());
}

}  // namespace

TEST(Provenance, ModesAndLayersAreLabelled) {
    const auto j = run_json(kpusim::test::shared_path("models/mobilenetv1_0.75_imagenet_v3/mbnet75.kmodel") +
                                " --mode all --source flash",
                            "/tmp/kpusim_provenance_all.json");
    ASSERT_EQ(j.at("modes").size(), 3u);
    EXPECT_EQ(j["modes"][0].at("basis").at("forward_ms"), "calibrated");  // RAM: C1
    EXPECT_EQ(j["modes"][0].at("basis").at("load_ms"), "calibrated");
    EXPECT_EQ(j["modes"][1].at("basis").at("forward_ms"), "derived");     // flash runner
    EXPECT_EQ(j["modes"][2].at("basis").at("forward_ms"), "derived");
    int calibrated = 0, projection = 0;
    for (const auto& l : j["modes"][0].at("layers")) {
        const std::string basis = l.at("basis");
        if (l.at("type") == "K210_CONV" || l.at("type") == "DEQUANTIZE") {
            EXPECT_EQ(basis, "calibrated") << l.dump();
        }
        if (l.at("type") == "SOFTMAX") {
            EXPECT_EQ(basis, "projection");  // estimated per-element cost
        }
        calibrated += basis == "calibrated";
        projection += basis == "projection";
    }
    EXPECT_EQ(calibrated, 28 + 2);  // 28 convolutions, 2 dequantizes
    EXPECT_GT(projection, 0);
}

TEST(Provenance, PsramIsAProjection) {
    const auto j = run_json(kpusim::test::shared_path("models/mobilenetv1_0.75_imagenet_v3/mbnet75.kmodel") + " --mode flash-dual --source psram-qspi",
                            "/tmp/kpusim_provenance_psram.json");
    EXPECT_EQ(j.at("basis").at("forward_ms"), "projection");
    EXPECT_EQ(j.at("basis").at("load_ms"), "projection");
}
