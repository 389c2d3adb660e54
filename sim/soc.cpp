#include "sim/soc.h"

#include <cstring>
#include <stdexcept>

#include "memory/ram_budget.h"
#include "models/kmodel_error.h"

namespace kpusim {

Soc::Soc(sc_core::sc_module_name name)
    : sc_core::sc_module(name),
      sram("general_sram"),
      kpu_ram("kpu_ram"),
      cpu_sram_port("cpu_sram_port"),
      cpu_kpu_ram_port("cpu_kpu_ram_port") {
    cpu_sram_port.bind(sram.socket);
    cpu_kpu_ram_port.bind(kpu_ram.socket);
    SC_HAS_PROCESS(Soc);
    SC_THREAD(cpu_process);
}

uint8_t* Soc::dmi_pointer(tlm_utils::simple_initiator_socket<Soc>& port, uint64_t bytes) {
    tlm::tlm_generic_payload trans;
    tlm::tlm_dmi dmi;
    trans.set_address(0);
    trans.set_command(tlm::TLM_READ_COMMAND);
    if (!port->get_direct_mem_ptr(trans, dmi) || !dmi.is_read_write_allowed() ||
        dmi.get_start_address() != 0 || dmi.get_end_address() + 1 < bytes)
        throw std::logic_error("memory refused direct memory access");
    return dmi.get_dmi_ptr();
}

void Soc::debug_write(tlm_utils::simple_initiator_socket<Soc>& port, uint64_t address,
                      const uint8_t* data, uint64_t bytes) {
    tlm::tlm_generic_payload trans;
    trans.set_command(tlm::TLM_WRITE_COMMAND);
    trans.set_address(address);
    trans.set_data_ptr(const_cast<uint8_t*>(data));
    trans.set_data_length(static_cast<unsigned>(bytes));
    if (port->transport_dbg(trans) != bytes)
        throw std::logic_error("debug write to memory was cut short");
}

void Soc::cpu_process() {
    for (;;) {
        sc_core::wait(start_);
        try {
            execute_job();
        } catch (...) {
            job_->error = std::current_exception();
        }
    }
}

void Soc::execute_job() {
    const Model& model = *job_->model;
    const RunConfig& cfg = *job_->config;
    MemoryUse& use = job_->result.memory;

    // kpu.load: the body and the main buffer are malloc'ed from the RAM left to models.
    memory::MainMemoryAllocator alloc(cfg.ram_budget_bytes);
    const uint64_t body_bytes = model.file_size();
    const uint64_t main_bytes = uint64_t{model.main_mem_usage} + kMainMemorySlack;
    const uint64_t body_at = alloc.allocate(body_bytes, "model body", 128);
    const uint64_t main_at = alloc.allocate(main_bytes, "main memory (main_mem_usage)", 8);
    use.ram_budget = alloc.budget();
    use.model_body = body_bytes;
    use.main_buffer = main_bytes;
    use.ram_used = alloc.in_use();
    use.ram_free = alloc.free_bytes();
    use.kpu_ram_used = uint64_t{model.kpu_ram_rows_used()} * kpu::kKpuRamRowBytes;
    use.body_address = memory::kGeneralSramBase + body_at;
    use.main_address = memory::kGeneralSramBase + main_at;

    uint8_t* sram_bytes = dmi_pointer(cpu_sram_port, sram.size());
    uint8_t* kpu_bytes = dmi_pointer(cpu_kpu_ram_port, kpu_ram.size());
    std::memset(sram_bytes, 0, sram.size());
    std::memset(kpu_bytes, 0, kpu_ram.size());
    debug_write(cpu_sram_port, body_at, model.file->data(), body_bytes);

    const ExecutionMemory mem{sram_bytes + body_at, sram_bytes + main_at, kpu_bytes};
    write_input(model, *job_->input, mem);
    for (const Layer& layer : model.layers) execute_layer(model, layer, mem, cfg.kpu);
    job_->result.outputs = read_outputs(model, mem);
}

RunResult Soc::run(const Model& model, const std::vector<uint8_t>& input, const RunConfig& config) {
    Job job{&model, &input, &config, {}, nullptr};
    job_ = &job;
    start_.notify(sc_core::SC_ZERO_TIME);
    sc_core::sc_start();
    job_ = nullptr;
    if (job.error) std::rethrow_exception(job.error);
    return std::move(job.result);
}

Soc& soc() {
    static Soc* instance = [] {
        auto* s = new Soc("k210");
        sc_core::sc_start(sc_core::SC_ZERO_TIME);  // elaborate and park the CPU process
        return s;
    }();
    return *instance;
}

}  // namespace kpusim
