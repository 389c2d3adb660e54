// The K210 platform, an ordinary SystemC module: general SRAM and KPU RAM (TLM-2.0 targets
// with busy-until contention), the KPU module (kpu_core/kpu_module.h: register file, pipeline,
// interrupt), the board's SPI flash and a PSRAM as model sources, a DMA process that moves
// model bytes from the source into SRAM, and the firmware: the SDK's kpu.load runner and
// MaixPy's flash runner (single and dual buffer), which program the KPU through its registers
// and wait on its interrupt, and run the CPU layers.
//
//   caller's SC_THREAD --run()--> firmware (CPU) --cpu_sram_port----> general SRAM <--+
//                                    |   |        --cpu_kpu_ram_port-> KPU RAM <--+   |
//                                    |   +--kpu_config_port--> KPU --kpu_ram_port-+   |
//                                    |          irq <---------'   --sram_port---------+
//                                    +--> DMA process --dma_flash_port--> SPI flash   |
//                                                     --dma_psram_port--> PSRAM       |
//                                                     --dma_sram_port-----------------+
//
// run() executes in the SystemC thread that calls it (the caller's SC_THREAD, or the
// standalone driver of sim/simulate.h) and consumes simulated time; it may be called any
// number of times. In the flash-dual mode the DMA process reads the next batch while the
// firmware and the KPU compute the current one: the overlap comes from the concurrent
// processes and the events between them, not from a formula. Every run starts from zeroed
// memories and idle resources, so equal jobs give equal results whatever ran before. All
// figures are exact picoseconds (common/clock_domain.h): equal at every time resolution.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "common/clock_domain.h"
#include "common/log.h"
#include "flash_spi/spi_flash.h"
#include "kpu_core/kpu_module.h"
#include "memory/general_sram.h"
#include "memory/kpu_ram.h"
#include "memory/shared_port.h"
#include "models/layer_graph.h"
#include "psram/psram.h"
#include "sim/functional_executor.h"
#include "sim/run_settings.h"

namespace kpusim {

/// Where a run placed the model in general SRAM, and how much it used (bytes).
struct MemoryUse {
    uint64_t ram_budget = 0;     ///< general RAM available to the model
    uint64_t model_body = 0;     ///< RAM mode: the kmodel loaded whole; flash modes: 0
    uint64_t header_buffer = 0;  ///< flash modes: the 4 KiB + 256 B header copy
    uint64_t layer_buffers = 0;  ///< flash modes: 1 or 2 x (largest body + 256)
    uint64_t main_buffer = 0;    ///< main_mem_usage (+ the runtime's 8-byte overrun slack)
    uint64_t ram_used = 0;       ///< everything the run allocated in general RAM
    uint64_t ram_free = 0;       ///< ram_budget - ram_used
    uint64_t kpu_ram_peak = 0;   ///< KPU RAM bytes between the lowest and highest row the feature maps use
};

/// Time of one layer in a run. Times are integer picoseconds from the start of the forward.
struct LayerTiming {
    uint32_t index = 0;
    std::string type;
    Shape out_shape;
    uint64_t macs = 0;          ///< KPU multiply-accumulates (0 for CPU layers)
    uint32_t body_bytes = 0;
    uint64_t kpu_cycles = 0;    ///< KPU clock cycles (0 for CPU layers)
    uint64_t cpu_cycles = 0;    ///< CPU clock cycles of the layer itself (0 for KPU layers)
    uint64_t bytes_read = 0;    ///< model bytes of the read commands issued at this layer's boundary
    uint64_t wait_ps = 0;       ///< time at the boundary before dispatch (memory + runner)
    uint64_t start_ps = 0;      ///< dispatch
    uint64_t end_ps = 0;        ///< completion
    std::string bound;          ///< "kpu", "cpu" or "memory": what took the longer share
    uint64_t memory_wait_ps = 0;        ///< time queued at shared memories (contention)
    std::vector<kpu::KpuStage> stages;  ///< KPU layers: the pipeline stages (times from the forward's start)
};

/// Time each shared resource was busy during the forward (ps), and the DMA's queueing.
struct ResourceBusy {
    uint64_t general_sram_ps = 0;
    uint64_t kpu_ram_ps = 0;
    uint64_t source_ps = 0;  ///< the SPI flash or PSRAM controller
};

/// One read of model bytes by the DMA channel during a forward (one source command).
struct ReadRecord {
    uint64_t start_ps = 0, end_ps = 0;  ///< from the start of the forward
    uint64_t bytes = 0;
    uint64_t source_address = 0;
    int buffer = -1;  ///< flash buffer 0 or 1
    int batch = -1;   ///< batch (flash-dual) or layer (flash-single) it belongs to
};

struct TimingResult {
    uint64_t load_ps = 0;          ///< kpu.load or kpu.load_flash
    uint64_t forward_ps = 0;       ///< one forward, input upload included
    uint64_t input_upload_ps = 0;
    uint64_t bytes_read = 0;       ///< model bytes read from the source during the forward
    uint64_t source_busy_ps = 0;   ///< time the source spent transferring during the forward
    uint32_t batches = 0;          ///< flash-dual batches (flash-single: one per layer)
    uint64_t spi_actual_hz = 0;    ///< flash: the SCK the divider makes (0 for PSRAM)
    uint32_t spi_divider = 0;
    double source_clock_hz = 0;    ///< exact SCK (flash) or PSRAM clock
    bool projection = false;       ///< a setting no public K210 measurement covers (PSRAM, 8 lanes, DDR)
    ResourceBusy busy;             ///< per shared resource, during the forward
    std::vector<LayerTiming> layers;
    std::vector<ReadRecord> reads;  ///< flash modes: every command of the forward, in order
    /// How the run was modelled where a reader of the figures should know (e.g. kmodel V4's
    /// flash runner, decoded from a prebuilt library, ignores batch_size).
    std::vector<std::string> notes;
};

struct RunResult {
    double load_ms = 0;     ///< kpu.load or kpu.load_flash, milliseconds (timing.load_ps)
    double forward_ms = 0;  ///< one forward, input upload included, milliseconds (timing.forward_ps)
    std::vector<OutputTensor> outputs;  ///< empty when settings.compute_outputs is false
    MemoryUse memory;
    TimingResult timing;
};

class K210 : public sc_core::sc_module {
public:
    memory::GeneralSram sram;
    memory::KpuRam kpu_ram;
    kpu::Kpu kpu;
    flash_spi::SpiFlash flash;
    psram::Psram psram;
    /// The CPU's ports to the two memories and to the KPU's register file.
    tlm_utils::simple_initiator_socket<K210> cpu_sram_port;
    tlm_utils::simple_initiator_socket<K210> cpu_kpu_ram_port;
    tlm_utils::simple_initiator_socket<K210> kpu_config_port;
    /// The DMA channel's ports to the model sources and to general SRAM.
    tlm_utils::simple_initiator_socket<K210> dma_flash_port;
    tlm_utils::simple_initiator_socket<K210> dma_psram_port;
    tlm_utils::simple_initiator_socket<K210> dma_sram_port;

    explicit K210(sc_core::sc_module_name name);

    /// Run `model` on `input` (model.input.bytes() bytes) with `settings`, as the firmware
    /// would: load, then one forward. Call it from an SC_THREAD (it waits: the run takes
    /// simulated time, load and forward, from the moment of the call); one run at a time.
    /// Times in the result are from the start of the run (load) and of the forward.
    /// Throws InputError for an invalid setting or input, CapacityError when the mode's
    /// buffers do not fit the RAM budget, std::runtime_error for run-time faults (a refused
    /// read, a KPU fault); the platform stays usable after any of them.
    RunResult run(const Model& model, const std::vector<uint8_t>& input, const RunSettings& settings);

    const char* kind() const override { return "kpusim::K210"; }

private:
    struct Job;
    struct Chunk {
        uint64_t source_address = 0;
        uint8_t* destination = nullptr;
        uint64_t bytes = 0;
        int buffer = -1;
        int batch = -1;
    };

    void dma_process();
    void execute_job(Job& job);
    void load_ram_mode(Job& job);
    void forward(Job& job);
    void forward_flash_single(Job& job);
    void forward_flash_dual(Job& job);
    void dispatch(Job& job, const Layer& layer, const ExecutionMemory& mem, uint64_t boundary_ps,
                  uint64_t bytes_read);
    void run_kpu_layer(Job& job, const Layer& layer, const KpuConvOp& conv, const ExecutionMemory& mem,
                       LayerTiming& t);
    void run_kpu_batch(Job& job, const Layer& layer, const KpuConvOp& conv, const kpu::LayerArgument& arg,
                       const ExecutionMemory& mem, LayerTiming& t);
    uint64_t run_cpu_layer(Job& job, const Layer& layer, const ExecutionMemory& mem, LayerTiming& t);
    void forward_v4_flash_dual(Job& job);
    ExecutionMemory memory_for(const Job& job, const uint8_t* body, uint64_t body_origin) const;

    // DMA: one source command per chunk; the CPU pays the command set-up.
    void issue(Job& job, const Chunk& chunk);
    /// V4 runner: one read of `bytes` as commands of at most max_command_bytes, the next one
    /// started by the DMA-done interrupt (timing.md A.5b), not by the firmware's loop.
    void issue_chained(Job& job, uint64_t source_address, uint8_t* destination, uint64_t bytes, int buffer,
                       int batch);
    void wait_dma(Job& job);
    bool dma_idle(Job& job);
    void read_blocking(Job& job, uint64_t source_address, uint8_t* destination, uint64_t bytes,
                       int buffer = -1, int batch = -1);
    uint64_t max_command_bytes(const Job& job) const;
    void configure_source(Job& job, bool loading);

    // The firmware's accesses.
    void write_register(Job& job, uint64_t offset, uint64_t value);
    uint64_t read_register(uint64_t offset);
    uint64_t charge(Job& job, tlm_utils::simple_initiator_socket<K210>& port, tlm::tlm_command command,
                    uint64_t address, uint64_t bytes);
    void wait_cycles(Job& job, uint64_t cycles, uint64_t hz);

    /// What the model source holds, so that re-timing runs of one model skip re-programming.
    struct Programmed {
        std::shared_ptr<const std::vector<uint8_t>> file;  ///< held, so its address is not reused
        ModelSource source = ModelSource::flash;
        uint64_t address = 0;
        bool reversed = false;
        bool operator==(const Programmed& o) const {
            return file == o.file && source == o.source && address == o.address && reversed == o.reversed;
        }
    };
    memory::SharedPort sram_port_;     ///< CPU, DMA and KPU share general SRAM
    memory::SharedPort kpu_ram_port_;  ///< CPU and KPU share KPU RAM
    Programmed programmed_;
    Job* job_ = nullptr;
    sc_core::sc_signal<bool> kpu_irq_;
    sc_core::sc_event dma_go_, dma_done_;
    Chunk dma_chunk_;
    ModelSource dma_source_ = ModelSource::flash;
    bool dma_busy_ = false;
    uint64_t dma_issue_ps_ = 0;     ///< when the transfer in flight was issued
    uint64_t dma_end_ps_ = 0;       ///< when the transfer in flight ends (valid once started)
    bool dma_started_ = false;
    std::string dma_error_;         ///< a refused read, raised by the firmware
    uint64_t issued_bytes_ = 0;     ///< bytes of every command issued so far
    std::vector<Chunk> dma_chain_;  ///< the commands of a chained read after the one in flight
    size_t dma_chain_next_ = 0;
    uint64_t dma_chain_latency_ps_ = 0;  ///< DMA-done interrupt to the next command
    std::shared_ptr<spdlog::logger> log_, dma_log_;  ///< common/log.h
};

}  // namespace kpusim
