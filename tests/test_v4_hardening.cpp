// Malformed kmodel V4 files made from the real ones: every truncation point class and random
// bit flips give a typed error (KmodelError, CapacityError, or a run-time fault as
// std::runtime_error), never a crash, a sanitizer report or a hang.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "models/kmodel_error.h"
#include "models/kmodel_loader.h"
#include "models/model_cost.h"
#include "sim/functional_executor.h"
#include "sim/model_input.h"
#include "tests/test_support.h"

using namespace kpusim;
using kpusim::test::read_file_bytes;
using kpusim::test::shared_path;

namespace {

const char* const kV4Models[] = {
    "models/iris_v4/iris.kmodel",
    "models/face_detect_canmv_v4/face_detect_320x240.kmodel",
    "models/yolo20_voc_nncase_v4/yolo.kmodel",
    "models/mnist_canmv_v4/uint8_mnist_cnn_model.kmodel",
    "models/mobilenet0.25_feature_canmv_v4/mb-0.25.kmodel",
    "models/ulffd_rfb320_v4/RFB-320.kmodel",
    "models/ulffd_slim320_v4/slim-320.kmodel",
    "models/ulffd_landmark_v4/ulffd_landmark.kmodel",
    "models/maix_asr_v4/maix_asr_2900k_0x500000.kmodel",
};

/// Parse `bytes`; if that succeeds and the model is small enough to run in a test, run it on
/// the test pattern. Returns "parsed", "ran" or the error's kind; fails the test on anything
/// but a typed error.
std::string try_model(std::vector<uint8_t> bytes) {
    try {
        const Model m = parse_kmodel(std::move(bytes));
        if (functional_work(m) > (uint64_t{1} << 24)) return "parsed";
        run_functional(m, test_pattern(m.input));
        return "ran";
    } catch (const KmodelError& e) {
        return to_string(e.kind());
    } catch (const CapacityError&) {
        return "capacity";
    } catch (const InputError&) {
        return "input";
    } catch (const std::runtime_error&) {
        return "fault";  // e.g. an activation table with no segment for a value
    }
}

}  // namespace

TEST(V4Hardening, TruncationsAreTypedErrors) {
    for (const char* path : kV4Models) {
        SCOPED_TRACE(path);
        const auto bytes = read_file_bytes(shared_path(path));
        const Model whole = parse_kmodel(bytes);
        // Inside the header, the tables, the constants, the node headers and every 97th byte of
        // the bodies (a short body is what a file cut in transfer gives).
        std::vector<size_t> cuts = {0, 3, 4, 8, 39, 40, 41, whole.constants.offset + 1, whole.bodies_offset - 1,
                                    whole.bodies_offset, whole.bodies_offset + 1};
        // (maix_asr_v4 carries data past its last body, which the model does not use.)
        const size_t bodies_end = whole.layers.back().body.offset + whole.layers.back().body.size;
        for (size_t at = whole.bodies_offset; at + 8 < bodies_end; at += std::max<size_t>(97, bodies_end / 40))
            cuts.push_back(at);
        for (size_t cut : cuts) {
            if (cut >= bytes.size()) continue;
            SCOPED_TRACE("cut at " + std::to_string(cut));
            std::vector<uint8_t> b(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
            try {
                parse_kmodel(b);
                ADD_FAILURE() << "a file cut at byte " << cut << " of " << bytes.size() << " was accepted";
            } catch (const KmodelError& e) {
                EXPECT_EQ(e.kind(), KmodelErrorKind::truncated) << e.what();
            }
        }
    }
}

TEST(V4Hardening, RandomBitFlipsGiveTypedErrorsOrRun) {
    std::mt19937 rng(20261126);
    for (const char* path : kV4Models) {
        SCOPED_TRACE(path);
        const auto bytes = read_file_bytes(shared_path(path));
        const Model whole = parse_kmodel(bytes);
        // Flips in the structure (header, tables, node headers, the first bytes of each body)
        // are the interesting ones: weights accept any value.
        std::vector<size_t> targets;
        for (size_t i = 0; i < whole.bodies_offset; ++i) targets.push_back(i);
        for (const Layer& l : whole.layers)
            for (size_t i = 0; i < 160 && l.body.offset + i < bytes.size(); ++i) targets.push_back(l.body.offset + i);
        for (int trial = 0; trial < 24; ++trial) {
            std::vector<uint8_t> b = bytes;
            const int flips = 1 + trial % 3;
            std::string where;
            for (int f = 0; f < flips; ++f) {
                const size_t at = targets[std::uniform_int_distribution<size_t>(0, targets.size() - 1)(rng)];
                const int bit = std::uniform_int_distribution<int>(0, 7)(rng);
                b[at] ^= static_cast<uint8_t>(1u << bit);
                where += " " + std::to_string(at) + ":" + std::to_string(bit);
            }
            SCOPED_TRACE("flipped" + where);
            const std::string outcome = try_model(std::move(b));
            EXPECT_FALSE(outcome.empty());
        }
    }
}
