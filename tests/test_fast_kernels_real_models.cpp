// Every real V3 kmodel of ../shared/models gives the same outputs, bit for bit, with the fast
// convolution kernels (the default) and with the scalar reference kernels.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "models/kmodel_error.h"
#include "models/kmodel_loader.h"
#include "sim/functional_executor.h"
#include "sim/model_input.h"
#include "tests/test_support.h"

using namespace kpusim;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> v3_models() {
    std::vector<fs::path> models;
    for (const auto& dir : fs::directory_iterator(test::shared_path("models"))) {
        const std::string name = dir.path().filename().string();
        if (!dir.is_directory() || name.size() < 3 || name.substr(name.size() - 3) != "_v3") continue;
        for (const auto& f : fs::directory_iterator(dir.path()))
            if (f.path().extension() == ".kmodel") models.push_back(f.path());
    }
    std::sort(models.begin(), models.end());
    return models;
}

void expect_same_outputs(const Model& m, const std::vector<uint8_t>& input) {
    kpu::KpuOptions reference;
    reference.reference_kernels = true;
    const auto fast = run_functional(m, input);
    const auto ref = run_functional(m, input, reference);
    ASSERT_EQ(fast.size(), ref.size());
    for (size_t i = 0; i < fast.size(); ++i) EXPECT_TRUE(fast[i].bytes == ref[i].bytes) << "output " << i;
}

}  // namespace

TEST(FastKernelsRealModels, EveryV3ModelIsUnchangedBitForBit) {
    const auto models = v3_models();
    ASSERT_GE(models.size(), 15u) << "expected the team's V3 models under ../shared/models";
    const std::string picture = test::shared_path("images/coffee.png");
    size_t ran = 0;
    for (const auto& path : models) {
        SCOPED_TRACE(path.string());
        Model m;
        try {
            m = load_kmodel(path.string());
        } catch (const KmodelError& e) {
            // Layers the K210 runtime does not run: no outputs to compare.
            EXPECT_EQ(e.kind(), KmodelErrorKind::unsupported_layer) << e.what();
            continue;
        }
        ++ran;
        expect_same_outputs(m, test_pattern(m.input));
        if (m.input.type == DataType::uint8 && (m.input.shape.c == 3 || m.input.shape.c == 1))
            expect_same_outputs(m, load_model_input(picture, m.input));
    }
    EXPECT_GE(ran, 15u);
}
