// Simulated time never wraps: clocks below kMinClockHz are refused, and the standalone K210
// refuses a run that could pass the end of SystemC's 64-bit time (issue 11: a sweep at 1-2 Hz
// passed 2^64 ps, reported 0.000 ms and named such a point fastest).
#include <gtest/gtest.h>

#include <string>

#include <systemc>

#include "models/kmodel_error.h"
#include "models/kmodel_loader.h"
#include "sim/model_input.h"
#include "sim/simulate.h"
#include "tests/test_support.h"

using namespace kpusim;
using kpusim::test::shared_path;

namespace {

const char* kIris = "models/iris_v3/iris.kmodel";

RunSettings flash_dual() {
    RunSettings s;
    s.mode = RunMode::flash_dual;
    s.batch_size = 128;
    return s;
}

}  // namespace

TEST(TimeBounds, ClocksBelowOneMegahertzAreRefused) {
    RunSettings s;
    s.cpu_hz = kMinClockHz - 1;
    try {
        s.validate();
        FAIL() << "a CPU clock of 999999 Hz was accepted";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("below kpusim's minimum of 1000000 Hz"), std::string::npos) << e.what();
    }
    s.cpu_hz = kMinClockHz;
    s.kpu_hz = 2;
    EXPECT_THROW(s.validate(), InputError);
    s.kpu_hz = kMinClockHz;
    EXPECT_NO_THROW(s.validate());
}

TEST(TimeBounds, RunsNearTheEndOfSystemCTimeMatchAFreshRunAndPastItAreRefused) {
    const Model m = load_kmodel(shared_path(kIris));
    const std::vector<uint8_t> input = test_pattern(m.input);
    const RunResult fresh = run_standalone(m, input, flash_dual());
    ASSERT_GT(fresh.timing.forward_ps, 0u);

    // Move the kernel (idle between runs) to 500000 s before its end (2^64 ps ~ 1.8447e7 s):
    // a run may take up to kMaxRunSeconds (1e5 s), so it is still allowed and must give the
    // same figures, times near 2^64 ps included.
    // (Exact integer times: a double of seconds above 2^63 ps does not convert.)
    ASSERT_EQ(sc_core::sc_get_time_resolution(), sc_core::sc_time(1, sc_core::SC_PS));
    const uint64_t end_ps = sc_core::sc_max_time().value();  // 2^64 - 1 ps
    const uint64_t s_ps = 1'000'000'000'000ull;
    auto move_to = [](uint64_t ps) {
        sc_core::sc_start(sc_core::sc_time::from_value(ps) - sc_core::sc_time_stamp());
        ASSERT_EQ(sc_core::sc_time_stamp().value(), ps);
    };
    move_to(end_ps - 500'000 * s_ps);
    const RunResult late = run_standalone(m, input, flash_dual());
    EXPECT_EQ(late.timing.forward_ps, fresh.timing.forward_ps);
    EXPECT_EQ(late.timing.load_ps, fresh.timing.load_ps);
    ASSERT_EQ(late.timing.layers.size(), fresh.timing.layers.size());
    EXPECT_EQ(late.timing.layers.back().end_ps - late.timing.layers.front().start_ps,
              fresh.timing.layers.back().end_ps - fresh.timing.layers.front().start_ps);

    // Within kMaxRunSeconds of the end: refused with a clear error, nothing wraps.
    move_to(end_ps - 50'000 * s_ps);
    try {
        run_standalone(m, input, flash_dual());
        FAIL() << "a run 5e4 s before the end of SystemC time was started";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("would pass the end of SystemC's time"), std::string::npos) << e.what();
    }
}
