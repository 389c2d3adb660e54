#include "sim/simulate.h"

#include <exception>
#include <stdexcept>

#include "common/errors.h"
#include "sim/asan_systemc.h"

namespace kpusim {

namespace {

struct StandaloneTop : sc_core::sc_module {
    K210 k210;
    sc_core::sc_event go;
    const Model* model = nullptr;
    const std::vector<uint8_t>* input = nullptr;
    const RunSettings* settings = nullptr;
    RunResult result;
    std::exception_ptr error;
    bool done = false;

    explicit StandaloneTop(sc_core::sc_module_name name) : sc_core::sc_module(name), k210("k210") {
        SC_HAS_PROCESS(StandaloneTop);
        SC_THREAD(driver);
    }

    void driver() {
        for (;;) {
            sc_core::wait(go);
            try {
                result = k210.run(*model, *input, *settings);
            } catch (...) {
                error = std::current_exception();
            }
            done = true;
            sc_core::sc_pause();
        }
    }
};

StandaloneTop& top() {
    static StandaloneTop* instance = [] {
        if (sc_core::sc_get_status() != sc_core::SC_ELABORATION)
            throw std::runtime_error(
                "kpusim: the standalone K210 must be created before the SystemC kernel starts; a "
                "program with its own SystemC design instantiates kpusim::K210 itself");
        auto* t = new StandaloneTop("kpusim");
        sc_core::sc_start(sc_core::SC_ZERO_TIME);  // elaborate and park the processes
        resync_asan_main_stack();
        return t;
    }();
    return *instance;
}

}  // namespace

K210& standalone_k210() { return top().k210; }

RunResult run_standalone(const Model& model, const std::vector<uint8_t>& input, const RunSettings& settings) {
    StandaloneTop& t = top();
    // SystemC time is 64 bits of the resolution (2^64 ps, about 213 days at 1 ps) and every run
    // continues from the kernel's time: refuse a run that could pass the end rather than wrap.
    const sc_core::sc_time longest(kMaxRunSeconds, sc_core::SC_SEC);
    if (sc_core::sc_max_time() - sc_core::sc_time_stamp() < longest)
        throw InputError("this process has simulated " + sc_core::sc_time_stamp().to_string() +
                         "; another run of up to " + longest.to_string() + " would pass the end of SystemC's " +
                         "time (" + sc_core::sc_max_time().to_string() + "): start a new process");
    t.model = &model;
    t.input = &input;
    t.settings = &settings;
    t.result = {};
    t.error = nullptr;
    t.done = false;
    t.go.notify(sc_core::SC_ZERO_TIME);
    sc_core::sc_start(sc_core::sc_time(kMaxRunSeconds, sc_core::SC_SEC));
    resync_asan_main_stack();
    if (!t.done)
        throw std::runtime_error("the run did not end within " + std::to_string(kMaxRunSeconds) +
                                 " s of simulated time (check the clocks)");
    if (t.error) std::rethrow_exception(t.error);
    return std::move(t.result);
}

}  // namespace kpusim
