// libFuzzer entry point: a kmodel file through the reader (parse_kmodel: V3, and the
// refusals of other versions) and, when it parses and its work is below
// fuzz::kMaxFunctionalWork (and main memory below fuzz::kMaxRunMainMemory), a functional run on the test pattern. Every documented refusal
// is a normal outcome; anything else (a crash, a sanitizer report, another exception) is
// a finding.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "fuzz/fuzz_limits.h"
#include "models/kmodel_error.h"
#include "models/kmodel_loader.h"
#include "models/model_cost.h"
#include "sim/functional_executor.h"
#include "sim/model_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace kpusim;
    if (size > fuzz::kMaxKmodelBytes) return 0;
    Model model;
    try {
        model = parse_kmodel(std::vector<uint8_t>(data, data + size));
    } catch (const KmodelError&) {
        return 0;
    } catch (const CapacityError&) {
        return 0;
    }
    if (functional_work(model) > fuzz::kMaxFunctionalWork || model.main_mem_usage > fuzz::kMaxRunMainMemory)
        return 0;
    try {
        run_functional(model, test_pattern(model.input));
    } catch (const std::runtime_error&) {
        // The run's documented faults: KmodelError / CapacityError / InputError, and the KPU's
        // "batch-norm value below every activation segment start" (kpu_layer.cpp), a
        // data-dependent fault reported as std::runtime_error.
    } catch (const std::out_of_range&) {     // documented by K210_ADD_PADDING
    } catch (const std::invalid_argument&) {  // documented by FULLY_CONNECTED
    }
    return 0;
}
