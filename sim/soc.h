// The K210 SoC top: general SRAM and KPU RAM as TLM-2.0 targets, and the CPU process that
// loads a model into SRAM and runs its layers (KPU layers through the functional KPU, CPU
// layers through the CPU kernels).
//
// A SystemC kernel elaborates once per process, so the SoC is built once (soc()) and serves
// any number of runs: each run() notifies the CPU process, advances the simulation until it
// is idle again, and returns the result. Every run starts from zeroed memories, so that equal
// jobs give equal results whatever ran before.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "kpu_core/kpu_layer.h"
#include "memory/general_sram.h"
#include "memory/kpu_ram.h"
#include "models/layer_graph.h"
#include "sim/functional_executor.h"

namespace kpusim {

/// Settings of one run.
struct RunConfig {
    kpu::KpuOptions kpu;
    /// General RAM left to models, in bytes (see memory/ram_budget.h presets).
    uint64_t ram_budget_bytes = 0;
};

/// Where a run placed the model in general SRAM, and how much it used (bytes).
struct MemoryUse {
    uint64_t ram_budget = 0;     ///< general RAM available to the model
    uint64_t model_body = 0;     ///< the kmodel loaded whole (RAM mode)
    uint64_t main_buffer = 0;    ///< main_mem_usage (+ the runtime's 8-byte overrun slack)
    uint64_t ram_used = 0;       ///< everything the run allocated in general RAM
    uint64_t ram_free = 0;       ///< ram_budget - ram_used
    uint64_t kpu_ram_used = 0;   ///< KPU RAM bytes the model's feature maps touch
    uint64_t body_address = 0;   ///< physical address of the body (0x8000_0000-based)
    uint64_t main_address = 0;   ///< physical address of the main buffer
};

struct RunResult {
    std::vector<OutputTensor> outputs;
    MemoryUse memory;
};

class Soc : public sc_core::sc_module {
public:
    memory::GeneralSram sram;
    memory::KpuRam kpu_ram;
    /// The CPU's ports to the two memories (used for loading: debug transport and DMI).
    tlm_utils::simple_initiator_socket<Soc> cpu_sram_port;
    tlm_utils::simple_initiator_socket<Soc> cpu_kpu_ram_port;

    explicit Soc(sc_core::sc_module_name name);

    /// Run `model` on `input` (model.input.bytes() bytes). Blocks until the simulated run
    /// ends. Throws CapacityError when the model does not fit ram_budget_bytes, InputError
    /// for a wrong input size, std::runtime_error for run-time faults; the SoC stays usable.
    RunResult run(const Model& model, const std::vector<uint8_t>& input, const RunConfig& config);

private:
    void cpu_process();
    void execute_job();
    uint8_t* dmi_pointer(tlm_utils::simple_initiator_socket<Soc>& port, uint64_t bytes);
    void debug_write(tlm_utils::simple_initiator_socket<Soc>& port, uint64_t address,
                     const uint8_t* data, uint64_t bytes);

    struct Job {
        const Model* model;
        const std::vector<uint8_t>* input;
        const RunConfig* config;
        RunResult result;
        std::exception_ptr error;
    };
    Job* job_ = nullptr;
    sc_core::sc_event start_;
};

/// The process-wide SoC, elaborated on first use.
Soc& soc();

}  // namespace kpusim
