#include "sim/k210.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "cpu_layers/cpu_timing.h"
#include "kpu_core/kpu_batches.h"
#include "kpu_core/kpu_ram_layout.h"
#include "kpu_core/kpu_timing.h"
#include "models/kmodel_v4_cpu_ops.h"
#include "memory/ram_budget.h"
#include "models/kmodel_error.h"
#include "sim/calibration.h"
#include "memory/tlm_payload.h"
#include "sim/flash_batches.h"
#include "common/log.h"

namespace kpusim {

namespace {

/// Bytes of the flash runner's header copy: the first 4 KiB of the model plus 256 bytes of
/// alignment slack (timing.md A.4).
constexpr uint64_t kRunnerHeaderBytes = 4096;
constexpr uint64_t kRunnerSlackBytes = 256;
/// The flash runner's largest SPI command (timing.md A.5).
constexpr uint64_t kRunnerCommandBytes = 256 * 1024;
/// Granularity at which the model simulates the DMA's writes of source bytes into general
/// SRAM (a modelling choice, not a chip fact: the DMAC moves far smaller bursts; 4 KiB keeps
/// the number of bookings per forward small while a concurrent access waits at most one
/// such burst, 512 SRAM cycles at the placeholder 8 bytes per cycle).
constexpr uint64_t kDmaSramBurstBytes = 4096;
/// MaixPy's V4 flash runner's interpreter context, allocated beside its header buffer
/// (timing.md A.5b, decoded from libnncase.a).
constexpr uint64_t kV4RunnerContextBytes = 288;

}  // namespace

struct K210::Job {
    const Model* model = nullptr;
    const std::vector<uint8_t>* input = nullptr;
    const RunSettings* settings = nullptr;
    RunResult result;
    std::exception_ptr error;

    uint8_t* sram = nullptr;
    uint8_t* kpu = nullptr;
    uint64_t body_at = 0, main_at = 0, header_at = 0, buffer_at[2] = {0, 0};
    uint64_t forward_start_ps = 0;
    bool loading = false;  ///< the reads in flight belong to the load phase
    LocalTime cpu;         ///< the firmware's exact time
};

K210::K210(sc_core::sc_module_name name)
    : sc_core::sc_module(name),
      sram("general_sram"),
      kpu_ram("kpu_ram"),
      kpu("kpu"),
      flash("spi_flash"),
      psram("psram"),
      cpu_sram_port("cpu_sram_port"),
      cpu_kpu_ram_port("cpu_kpu_ram_port"),
      kpu_config_port("kpu_config_port"),
      dma_flash_port("dma_flash_port"),
      dma_psram_port("dma_psram_port"),
      dma_sram_port("dma_sram_port"),
      sram_port_("sram_port", 3),
      kpu_ram_port_("kpu_ram_port", 2),
      kpu_irq_("kpu_irq"),
      log_(logger("k210")),
      dma_log_(logger("dma")) {
    sram_port_.output.bind(sram.socket);
    kpu_ram_port_.output.bind(kpu_ram.socket);
    cpu_sram_port.bind(sram_port_.input(0));
    dma_sram_port.bind(sram_port_.input(1));
    kpu.sram_port.bind(sram_port_.input(2));
    cpu_kpu_ram_port.bind(kpu_ram_port_.input(0));
    kpu.kpu_ram_port.bind(kpu_ram_port_.input(1));
    kpu_config_port.bind(kpu.config_socket);
    kpu.irq.bind(kpu_irq_);
    dma_flash_port.bind(flash.socket);
    dma_psram_port.bind(psram.socket);
    SC_HAS_PROCESS(K210);
    SC_THREAD(dma_process);
}

void K210::wait_cycles(Job& job, uint64_t cycles, uint64_t hz) {
    if (cycles == 0) return;
    job.cpu.advance(cycles_to_ps(cycles, hz));
}

uint64_t K210::charge(Job& job, tlm_utils::simple_initiator_socket<K210>& port, tlm::tlm_command command,
                      uint64_t address, uint64_t bytes) {
    if (bytes == 0) return 0;
    job.cpu.sync();
    const memory::TimedResult r = memory::timed_transport(*port.operator->(), command, address, bytes, job.cpu.now());
    return r.ok ? r.wait_ps : 0;
}

void K210::write_register(Job& job, uint64_t offset, uint64_t value) {
    tlm::tlm_generic_payload trans;
    memory::TimedAccess timed;
    timed.request_ps = job.cpu.now();
    trans.set_command(tlm::TLM_WRITE_COMMAND);
    trans.set_address(offset);
    trans.set_data_ptr(reinterpret_cast<unsigned char*>(&value));
    trans.set_data_length(8);
    trans.set_streaming_width(8);
    trans.set_extension(&timed);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    kpu_config_port->b_transport(trans, delay);
    trans.clear_extension(&timed);
    if (!trans.is_response_ok())
        throw std::logic_error("the KPU refused a write of register " + std::to_string(offset));
}

uint64_t K210::read_register(uint64_t offset) {
    uint64_t value = 0;
    tlm::tlm_generic_payload trans;
    trans.set_command(tlm::TLM_READ_COMMAND);
    trans.set_address(offset);
    trans.set_data_ptr(reinterpret_cast<unsigned char*>(&value));
    trans.set_data_length(8);
    trans.set_streaming_width(8);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    kpu_config_port->b_transport(trans, delay);
    if (!trans.is_response_ok())
        throw std::logic_error("the KPU refused a read of register " + std::to_string(offset));
    return value;
}

void K210::dma_process() {
    LocalTime local;
    for (;;) {
        sc_core::wait(dma_go_);
        local.catch_up(dma_issue_ps_);  // exact: the command's issue time (the DMA was idle)
      next_chunk:
        const uint64_t start = local.now();
        auto& port = dma_source_ == ModelSource::flash ? dma_flash_port : dma_psram_port;
        // A timing-only run (sweeps) needs the time of the read, not its bytes.
        const memory::TimedResult read = memory::timed_transport(
            *port.operator->(), tlm::TLM_READ_COMMAND, dma_chunk_.source_address, dma_chunk_.bytes, start,
            dma_chunk_.destination, job_ && !job_->settings->compute_outputs);
        uint64_t duration = read.wait_ps + read.access_ps;
        if (!read.ok) {
            // Handed to the firmware (wait_dma), which raises it: an exception escaping a
            // SystemC thread would leave the kernel unusable for later runs.
            dma_error_ = "the model source refused a read of " + std::to_string(dma_chunk_.bytes) +
                         " bytes at address " + std::to_string(dma_chunk_.source_address) + ": " + read.error;
            duration = 0;
        }
        dma_end_ps_ = start + duration;
        dma_started_ = true;
        dma_log_->trace("read {} bytes at source address {:#x}: {} ns", dma_chunk_.bytes,
                             dma_chunk_.source_address, duration / 1000);
        // The bytes land in general SRAM as they arrive: the DMA writes them in bursts of
        // kDmaSramBurstBytes, each booked on the SRAM port when its last byte has been read,
        // so a KPU weight fetch meanwhile queues behind at most one burst.
        const uint64_t bytes = duration > 0 && job_ && job_->sram ? dma_chunk_.bytes : 0;
        const uint64_t offset = bytes ? static_cast<uint64_t>(dma_chunk_.destination - job_->sram) : 0;
        for (uint64_t done = 0; done < bytes;) {
            const uint64_t n = std::min(kDmaSramBurstBytes, bytes - done);
            done += n;
            local.advance(start + static_cast<uint64_t>(static_cast<unsigned __int128>(duration) * done / bytes) -
                          local.now());
            memory::timed_transport(*dma_sram_port.operator->(), tlm::TLM_WRITE_COMMAND, offset + done - n, n,
                                    local.now());
        }
        local.advance(dma_end_ps_ - local.now());
        if (job_ && !job_->loading) {
            TimingResult& t = job_->result.timing;
            t.reads.push_back({start - job_->forward_start_ps, local.now() - job_->forward_start_ps,
                               dma_chunk_.bytes, dma_chunk_.source_address, dma_chunk_.buffer,
                               dma_chunk_.batch});
        }
        if (dma_chain_next_ < dma_chain_.size() && dma_error_.empty()) {
            // The DMA-done interrupt starts the next command of a chained read.
            dma_chunk_ = dma_chain_[dma_chain_next_++];
            local.advance(dma_chain_latency_ps_);
            goto next_chunk;
        }
        dma_chain_.clear();
        dma_chain_next_ = 0;
        dma_busy_ = false;
        dma_done_.notify();
    }
}

uint64_t K210::max_command_bytes(const Job& job) const {
    if (job.settings->source == ModelSource::flash) return flash.config().max_bytes_per_command;
    return kRunnerCommandBytes;
}

void K210::issue(Job& job, const Chunk& chunk) {
    // The CPU programs the SSI and the DMA channels, then the transfer runs on its own.
    wait_cycles(job, job.settings->parameters.runner.command_cycles, job.settings->cpu_hz);
    dma_chunk_ = chunk;
    dma_source_ = job.settings->source;
    dma_busy_ = true;
    dma_started_ = false;
    dma_issue_ps_ = job.cpu.now();
    issued_bytes_ += chunk.bytes;
    dma_go_.notify();
}

void K210::issue_chained(Job& job, uint64_t source_address, uint8_t* destination, uint64_t bytes, int buffer,
                         int batch) {
    const uint64_t max = max_command_bytes(job);
    dma_chain_.clear();
    dma_chain_next_ = 0;
    for (uint64_t done = std::min(max, bytes); done < bytes;) {
        const uint64_t n = std::min(max, bytes - done);
        dma_chain_.push_back({source_address + done, destination + done, n, buffer, batch});
        done += n;
    }
    // The interrupt handler programs the next command as the firmware's loop would.
    dma_chain_latency_ps_ = cycles_to_ps(job.settings->parameters.runner.command_cycles, job.settings->cpu_hz);
    for (const Chunk& c : dma_chain_) issued_bytes_ += c.bytes;
    issue(job, {source_address, destination, std::min(max, bytes), buffer, batch});
}

void K210::wait_dma(Job& job) {
    if (dma_busy_) sc_core::wait(dma_done_);
    job.cpu.catch_up(dma_end_ps_);
    if (!dma_error_.empty()) {
        const std::string error = std::move(dma_error_);
        dma_error_.clear();
        throw std::runtime_error(error);
    }
}

bool K210::dma_idle(Job& job) {
    // Let the DMA process take up a command issued in this delta, then compare exact times:
    // a transfer that ends now counts as finished, whichever process SystemC runs first.
    if (dma_busy_ && !dma_started_) sc_core::wait(sc_core::SC_ZERO_TIME);
    if (dma_busy_ && dma_chain_.empty() && dma_end_ps_ <= job.cpu.now()) wait_dma(job);
    return !dma_busy_;
}

void K210::read_blocking(Job& job, uint64_t source_address, uint8_t* destination, uint64_t bytes,
                         int buffer, int batch) {
    const uint64_t max = max_command_bytes(job);
    for (uint64_t done = 0; done < bytes;) {
        const uint64_t n = std::min(max, bytes - done);
        issue(job, {source_address + done, destination + done, n, buffer, batch});
        wait_dma(job);
        done += n;
    }
}

void K210::configure_source(Job& job, bool loading) {
    const RunSettings& s = *job.settings;
    TimingResult& t = job.result.timing;
    if (s.source == ModelSource::flash) {
        flash_spi::SpiFlashConfig c = loading && s.mode == RunMode::ram
                                          ? flash_spi::kpu_load_config(s.cpu_hz)
                                          : flash_spi::flash_runner_config(s.cpu_hz, s.spi_speed_hz);
        if (!loading || s.mode != RunMode::ram) {
            c.lanes = s.flash_lanes;
            c.ddr = s.flash_ddr;
        }
        c.software_cycles_per_command = 0;  // the firmware pays it (issue(), runner.command_cycles)
        flash.reconfigure(c);
        if (!loading) {
            t.spi_actual_hz = flash.clock().actual_hz;
            t.spi_divider = flash.clock().divider;
            t.source_clock_hz = flash.clock().actual_hz_exact();
            t.projection = flash_spi::is_projection(c);
        }
    } else {
        psram::PsramConfig c = s.source == ModelSource::psram_qspi ? psram::qspi_psram_preset(s.cpu_hz)
                                                                   : psram::ospi_psram_preset(s.cpu_hz);
        c.software_cycles_per_burst = 0;  // page bursts chained by the controller; the firmware pays per command
        psram.reconfigure(c);
        t.projection = true;  // no public K210 measurement of a PSRAM, load or forward
        if (!loading) t.source_clock_hz = static_cast<double>(c.clock_hz);
    }
}

void K210::execute_job(Job& job) {
    const Model& model = *job.model;
    const RunSettings& s = *job.settings;
    s.validate();
    sram.set_timing(s.parameters.sram);
    kpu_ram.set_timing(s.parameters.kpu_ram);
    kpu::KpuSetup setup;
    setup.clock_hz = s.kpu_hz;
    setup.timing = s.parameters.kpu;
    setup.options = s.kpu;
    setup.compute = s.compute_outputs;
    kpu.configure(setup);
    kpu.reset();
    kpu.clear_records();
    // Each run starts with idle memories and sources.
    sram.reset_contention();
    kpu_ram.reset_contention();
    flash.reset_counters();
    psram.reset_counters();

    MemoryUse& use = job.result.memory;
    const bool is_v4 = model.version == 4;
    const uint64_t largest = model.largest_body();
    if (!is_v4 && s.mode == RunMode::flash_dual && s.batch_size > largest)
        throw InputError("batch_size " + std::to_string(s.batch_size) +
                         " is larger than the largest layer body (" + std::to_string(largest) +
                         " bytes, the size of each buffer): the runner would build a batch that "
                         "overruns its buffer");

    // kpu.load_flash keeps only the first 4 KiB of the model: the header, the output and layer
    // tables and layer 0's argument must lie there (timing.md A.5 limits). MaixPy's V4 runner
    // needs the header, the I/O tables, the constant blob and the node headers there (A.5b).
    if (is_v4 && s.mode != RunMode::ram && model.bodies_offset > kRunnerHeaderBytes)
        throw InputError("kmodel V4 in flash mode: MaixPy's kpu.load_flash keeps only the first " +
                         std::to_string(kRunnerHeaderBytes) + " bytes of a V4 model, which must hold the header, " +
                         "the I/O tables, the constant blob and the node headers; in this model they end at byte " +
                         std::to_string(model.bodies_offset) + " (constants: " + std::to_string(model.constants.size) +
                         " bytes). Run it with kpu.load (--mode ram)");
    if (!is_v4 && s.mode != RunMode::ram) {
        uint64_t resident = model.layers.front().body.offset;  // end of the tables
        if (const auto* conv = std::get_if<KpuConvOp>(&model.layers.front().op))
            resident = std::max<uint64_t>(resident, conv->layer_argument.offset + conv->layer_argument.size);
        if (resident > kRunnerHeaderBytes)
            throw InputError("kpu.load_flash keeps only the first " + std::to_string(kRunnerHeaderBytes) +
                             " bytes of a model, but this model's header, tables and first layer argument "
                             "end at byte " + std::to_string(resident));
    }
    // The model, with a last body that may run a few bytes past the file (padding), must lie
    // inside the source.
    uint64_t extent = (model.file_size() + 3) / 4 * 4;
    for (const Layer& l : model.layers) extent = std::max<uint64_t>(extent, uint64_t{l.body.offset} + l.body.size);
    const uint64_t capacity = s.source == ModelSource::flash ? flash.size() : psram.size();
    if (s.model_address > capacity || extent > capacity - s.model_address)
        throw InputError("the model needs " + std::to_string(extent) + " bytes from address " +
                         std::to_string(s.model_address) + ", past the end of the " + std::to_string(capacity) +
                         "-byte " + to_string(s.source));

    // What each mode keeps in general RAM (timing.md A.4, A.5 limits).
    memory::MainMemoryAllocator alloc(s.ram_budget_bytes);
    if (s.mode == RunMode::ram) {
        use.model_body = model.file_size();
        job.body_at = alloc.allocate(use.model_body, "model body", 128);
    } else {
        // V4: the interpreter's context too (A.5b: 288 bytes).
        use.header_buffer = kRunnerHeaderBytes + kRunnerSlackBytes + (is_v4 ? kV4RunnerContextBytes : 0);
        job.header_at = alloc.allocate(use.header_buffer, "kmodel header buffer", 8);
    }
    use.main_buffer = uint64_t{model.main_mem_usage} + kMainMemorySlack;
    job.main_at = alloc.allocate(use.main_buffer, "main memory (main_mem_usage)", 8);
    if (s.mode != RunMode::ram) {
        const int buffers = s.mode == RunMode::flash_dual ? 2 : 1;
        for (int b = 0; b < buffers; ++b) {
            job.buffer_at[b] = alloc.allocate(largest + kRunnerSlackBytes, "layer buffer", 256);
            use.layer_buffers += largest + kRunnerSlackBytes;
        }
    }
    use.ram_budget = alloc.budget();
    use.ram_used = alloc.in_use();
    use.ram_free = alloc.free_bytes();
    use.kpu_ram_peak = uint64_t{model.kpu_ram_rows_used()} * kpu::kKpuRamRowBytes;

    job.sram = memory::whole_array_dmi(*cpu_sram_port.operator->(), sram.size(), name());
    job.kpu = memory::whole_array_dmi(*cpu_kpu_ram_port.operator->(), kpu_ram.size(), name());
    if (s.compute_outputs) {
        std::memset(job.sram, 0, sram.size());
        std::memset(job.kpu, 0, kpu_ram.size());
    }

    // The model as the source holds it: kpu.load reads the file as written (8-bit frames);
    // kpu.load_flash reads 32-bit frames and needs every word byte-reversed beforehand
    // (model_le2be.py, timing.md A.5); PSRAM holds the file as is. Re-timing runs of one
    // model (sweeps) find it already there.
    const bool reversed = s.source == ModelSource::flash && s.mode != RunMode::ram;
    const Programmed wanted{model.file, s.source, s.model_address, reversed};
    if (!(programmed_ == wanted)) {
        programmed_ = {};
        if (s.source == ModelSource::flash)
            flash.program(s.model_address, reversed ? flash_spi::reverse_32bit_words(*model.file) : *model.file);
        else
            psram.program(s.model_address, *model.file);
        programmed_ = wanted;
    }

    const uint64_t t0 = job.cpu.now();
    job.loading = true;
    configure_source(job, true);
    if (s.mode == RunMode::ram) {
        load_ram_mode(job);
    } else {
        // kpu.load_flash reads the first 4 KiB and keeps it resident (A.4).
        const uint64_t header = std::min<uint64_t>(kRunnerHeaderBytes, model.file_size());
        read_blocking(job, s.model_address, job.sram + job.header_at, header);
        wait_cycles(job, s.parameters.load.load_flash_overhead_cycles, s.cpu_hz);
    }
    job.loading = false;
    job.result.timing.load_ps = job.cpu.now() - t0;
    forward(job);
}

void K210::load_ram_mode(Job& job) {
    const Model& model = *job.model;
    const RunSettings& s = *job.settings;
    uint8_t* body = job.sram + job.body_at;
    read_blocking(job, s.model_address, body, model.file_size());
    // Copy to the uncached alias and compare with the cached copy (A.4).
    wait_cycles(job, static_cast<uint64_t>(s.parameters.load.copy_verify_cycles_per_byte *
                                           static_cast<double>(model.file_size())),
                s.cpu_hz);
    if (s.compute_outputs && std::memcmp(body, model.file->data(), model.file_size()) != 0)
        throw std::logic_error("the model read back from the source differs from the file");
}

void K210::forward(Job& job) {
    const Model& model = *job.model;
    const RunSettings& s = *job.settings;
    if (s.mode != RunMode::ram) configure_source(job, false);  // RAM mode reads nothing now
    job.forward_start_ps = job.cpu.now();
    // Busy times so far (the load's), to report the forward's own.
    auto source_busy = [&] { return s.source == ModelSource::flash ? flash.busy_ps() : psram.busy_ps(); };
    const uint64_t sram_busy_before = sram.busy_ps(), kpu_ram_busy_before = kpu_ram.busy_ps();
    const uint64_t source_busy_before = source_busy();
    const ExecutionMemory base{nullptr, job.sram + job.main_at, job.kpu, 0};
    if (s.compute_outputs) write_input(model, *job.input, base);
    // The input lands in KPU RAM (DMA or CPU conversion) or in main memory.
    if (model.input.to_kpu_ram)
        charge(job, cpu_kpu_ram_port, tlm::TLM_WRITE_COMMAND, uint64_t{model.input.kpu_row} * kpu::kKpuRamRowBytes,
               std::min<uint64_t>(model.input.bytes(), kpu_ram.size() - uint64_t{model.input.kpu_row} * kpu::kKpuRamRowBytes));
    else
        charge(job, cpu_sram_port, tlm::TLM_WRITE_COMMAND, job.main_at + model.input.main_offset, model.input.bytes());
    wait_cycles(job, cpu::input_upload_cycles(model.input, s.parameters.cpu), s.cpu_hz);
    job.result.timing.input_upload_ps = job.cpu.now() - job.forward_start_ps;

    // The V3 runtime sets the weight width once per model (spec §1.1).
    write_register(job, kpu::reg::eight_bit_mode, model.eight_bit ? 1 : 0);
    write_register(job, kpu::reg::interrupt_clear, 7);
    write_register(job, kpu::reg::interrupt_mask, 7 & ~kpu::kCalcDoneInterrupt);
    if (s.mode == RunMode::ram) {
        const ExecutionMemory mem = memory_for(job, job.sram + job.body_at, 0);
        for (const Layer& layer : model.layers) dispatch(job, layer, mem, job.cpu.now(), 0);
    } else if (s.mode == RunMode::flash_single) {
        forward_flash_single(job);
    } else if (model.version == 4) {
        forward_v4_flash_dual(job);
    } else {
        forward_flash_dual(job);
    }
    if (model.version == 4 && s.mode != RunMode::ram) {
        job.result.timing.notes.push_back(
            "kmodel V4 flash figures rest on MaixPy's V4 flash runner as decoded from its prebuilt libnncase.a "
            "(timing.md A.5b; no source is public): every node body read per forward, one read per node" +
            std::string(s.mode == RunMode::flash_dual ? ", one node of look-ahead" : "") + ", 256 KiB commands "
            "chained by the DMA-done interrupt");
        if (s.mode == RunMode::flash_dual)
            job.result.timing.notes.push_back("batch_size is ignored: MaixPy's V4 flash runner never reads it");
    }
    TimingResult& t = job.result.timing;
    t.forward_ps = job.cpu.now() - job.forward_start_ps;
    t.busy.general_sram_ps = sram.busy_ps() - sram_busy_before;
    t.busy.kpu_ram_ps = kpu_ram.busy_ps() - kpu_ram_busy_before;
    t.busy.source_ps = source_busy() - source_busy_before;
    t.source_busy_ps = s.mode == RunMode::ram ? 0 : t.busy.source_ps;
    if (s.compute_outputs) job.result.outputs = read_outputs(model, base);
}

ExecutionMemory K210::memory_for(const Job& job, const uint8_t* body, uint64_t body_origin) const {
    ExecutionMemory mem{body, job.sram + job.main_at, job.kpu, body_origin};
    if (job.model->version == 4) {
        // The constant blob: in the model body (kpu.load) or in the resident header copy (flash).
        const uint8_t* holder = job.settings->mode == RunMode::ram ? job.sram + job.body_at : job.sram + job.header_at;
        mem.constants = holder + job.model->constants.offset;
    }
    return mem;
}

void K210::run_kpu_layer(Job& job, const Layer& layer, const KpuConvOp& conv, const ExecutionMemory& mem,
                         LayerTiming& t) {
    // V4 (spec §9.4, §16): the runtime runs the argument once per batch, the feature-map rows
    // advanced by whole maps, then copies the outputs to main memory with the CPU.
    for (uint32_t n = 0; n < conv.batches; ++n)
        run_kpu_batch(job, layer, conv, n == 0 ? conv.arg : kpu::batch_argument(conv.arg, n), mem, t);
    if (!conv.download) return;
    const RunSettings& s = *job.settings;
    const kpu::LayerArgument& a = conv.arg;
    const uint64_t bytes = uint64_t{conv.batches} * a.out_channels() * a.out_height() * a.out_width();
    if (s.compute_outputs) download_outputs(conv, mem.kpu_ram, mem.main);
    // kpu_download: the CPU reads the KPU RAM layout and stores dense bytes into main memory.
    const uint64_t cycles = cpu::download_cycles(bytes, s.parameters.v4_cpu);
    t.cpu_cycles += cycles;
    job.cpu.advance(cycles_to_ps(cycles, s.cpu_hz));
    uint64_t wait = charge(job, cpu_kpu_ram_port, tlm::TLM_READ_COMMAND,
                           uint64_t{a.image_dst_addr} * kpu::kKpuRamRowBytes,
                           std::min<uint64_t>(bytes, kpu_ram.size() - uint64_t{a.image_dst_addr} * kpu::kKpuRamRowBytes));
    job.cpu.advance(wait);
    t.memory_wait_ps += wait;
    wait = charge(job, cpu_sram_port, tlm::TLM_WRITE_COMMAND, job.main_at + conv.download_address, bytes);
    job.cpu.advance(wait);
    t.memory_wait_ps += wait;
}

void K210::run_kpu_batch(Job& job, const Layer& layer, const KpuConvOp& conv, const kpu::LayerArgument& arg,
                         const ExecutionMemory& mem, LayerTiming& t) {
    // The runtime's kpu_conv (spec §7.4): patch the blob addresses into the argument (general
    // SRAM, uncached view), point the output DMA at main memory, push the 12 words, wait for
    // calc_done, clear it.
    auto physical = [&](uint32_t file_offset) {
        const uint64_t offset = static_cast<uint64_t>(mem.blob(file_offset) - job.sram);
        return static_cast<uint32_t>(memory::kGeneralSramUncachedBase + offset);
    };
    const std::array<uint64_t, 12> words = kpu::patch_layer_argument(
        arg.words, physical(conv.weights.offset), physical(conv.batchnorm.offset),
        physical(conv.activation.offset), conv.main_mem_out);
    if (conv.main_mem_out)
        write_register(job, kpu::reg::data_out_address,
                       memory::kGeneralSramUncachedBase + job.main_at + conv.main_mem_out_address);
    const size_t before = kpu.records().size();
    for (uint64_t w : words) write_register(job, kpu::reg::layer_argument_fifo, w);
    while (!(read_register(kpu::reg::interrupt_status) & kpu::kCalcDoneInterrupt))
        sc_core::wait(kpu_irq_.posedge_event());
    job.cpu.catch_up(kpu.calc_done_ps());
    write_register(job, kpu::reg::interrupt_clear, 7);
    if (!kpu.fault().empty()) {
        const std::string fault = kpu.fault();
        kpu.clear_fault();
        throw std::runtime_error("layer " + std::to_string(layer.index) + ": " + fault);
    }
    if (kpu.records().size() != before + 1) throw std::logic_error("the KPU ran no layer for layer " + std::to_string(layer.index));
    const kpu::KpuLayerRecord& r = kpu.records().back();
    t.kpu_cycles += r.cycles.total;
    t.memory_wait_ps += r.memory_wait_ps;
    for (kpu::KpuStage st : r.stages) {
        st.start_ps -= job.forward_start_ps;
        st.end_ps -= job.forward_start_ps;
        t.stages.push_back(st);
    }
}

void K210::dispatch(Job& job, const Layer& layer, const ExecutionMemory& mem, uint64_t boundary_ps,
                    uint64_t bytes_read) {
    LayerTiming t;
    t.index = layer.index;
    t.type = layer.type_name;
    t.out_shape = layer.out_shape;
    t.body_bytes = layer.body.size;
    t.bytes_read = bytes_read;
    t.start_ps = job.cpu.now() - job.forward_start_ps;
    t.wait_ps = job.cpu.now() - boundary_ps;
    uint64_t duration_ps;
    if (const auto* conv = std::get_if<KpuConvOp>(&layer.op)) {
        t.macs = conv->arg.macs() * conv->batches;
        job.cpu.sync();  // the KPU starts from the firmware's time
        run_kpu_layer(job, layer, *conv, mem, t);
        duration_ps = job.cpu.now() - (t.start_ps + job.forward_start_ps);
    } else {
        duration_ps = run_cpu_layer(job, layer, mem, t);
    }
    t.end_ps = job.cpu.now() - job.forward_start_ps;
    t.bound = t.wait_ps > duration_ps ? "memory" : layer.engine() == Engine::kpu ? "kpu" : "cpu";
    log_->debug("layer {} {}: {} ns (waited {} ns at the boundary, {} ns at memories)", t.index, t.type,
                          (t.end_ps - t.start_ps) / 1000, t.wait_ps / 1000, t.memory_wait_ps / 1000);
    job.result.timing.layers.push_back(std::move(t));
}

uint64_t K210::run_cpu_layer(Job& job, const Layer& layer, const ExecutionMemory& mem, LayerTiming& t) {
    const RunSettings& s = *job.settings;
    t.cpu_cycles = cpu::cpu_layer_cycles(layer, s.parameters.cpu, s.parameters.v4_cpu);
    if (s.compute_outputs) execute_layer(*job.model, layer, mem, s.kpu);
    // The layer computes, then its output is written back into its memory (the store stream
    // leaving the CPU's cache): main memory, or KPU RAM for uploads.
    job.cpu.advance(cycles_to_ps(t.cpu_cycles, s.cpu_hz));
    struct Write {
        bool kpu;
        uint64_t address, bytes;
    };
    std::vector<Write> writes;
    if (const auto* node = std::get_if<V4CpuOp>(&layer.op)) {
        for (const v4::MemoryRange& r : v4::node_outputs(*node->node))
            if (r.memory != v4::MemoryType::constant) writes.push_back({r.memory == v4::MemoryType::kpu, r.start, r.size});
    } else if (const auto* up = std::get_if<V4UploadOp>(&layer.op)) {
        writes.push_back({true, up->kpu_offset, up->shape.elements()});
    } else {
        const bool upload = std::holds_alternative<UploadOp>(layer.op);
        writes.push_back({upload, 0, layer.out_shape.elements() * element_size(layer.out_type)});
    }
    uint64_t wait = 0;
    for (const Write& w : writes) {
        const uint64_t size = w.kpu ? kpu_ram.size() : job.result.memory.main_buffer;
        if (w.address >= size) continue;
        const uint64_t waited = charge(job, w.kpu ? cpu_kpu_ram_port : cpu_sram_port, tlm::TLM_WRITE_COMMAND,
                                       (w.kpu ? 0 : job.main_at) + w.address, std::min(w.bytes, size - w.address));
        job.cpu.advance(waited);
        wait += waited;
    }
    t.memory_wait_ps = wait;
    return wait + cycles_to_ps(t.cpu_cycles, s.cpu_hz);
}

void K210::forward_flash_single(Job& job) {
    const Model& model = *job.model;
    const RunSettings& s = *job.settings;
    uint8_t* buffer = job.sram + job.buffer_at[0];
    TimingResult& timing = job.result.timing;
    for (const Layer& layer : model.layers) {
        const uint64_t boundary = job.cpu.now();
        // The body keeps its 256-byte alignment inside the buffer (A.5 "where a layer lands");
        // the V4 runner reads each body to the start of its buffer (A.5b).
        uint8_t* landing = model.version == 4 ? buffer : buffer + layer.body.offset % kRunnerSlackBytes;
        wait_cycles(job, s.parameters.runner.layer_boundary_cycles, s.cpu_hz);
        const uint64_t issued_before = issued_bytes_;
        if (model.version == 4) {
            issue_chained(job, s.model_address + layer.body.offset, landing, layer.body.size, 0,
                          static_cast<int>(layer.index));
            wait_dma(job);
        } else {
            read_blocking(job, s.model_address + layer.body.offset, landing, layer.body.size, 0,
                          static_cast<int>(layer.index));
        }
        timing.bytes_read += layer.body.size;
        ++timing.batches;
        const ExecutionMemory mem = memory_for(job, landing, layer.body.offset);
        dispatch(job, layer, mem, boundary, issued_bytes_ - issued_before);
    }
}

void K210::forward_flash_dual(Job& job) {
    const Model& model = *job.model;
    const RunSettings& s = *job.settings;
    TimingResult& timing = job.result.timing;
    const std::vector<FlashBatch> batches = make_flash_batches(model, s.batch_size);
    timing.batches = static_cast<uint32_t>(batches.size());

    enum class State { idle, loading, loaded };
    struct Buffer {
        int batch = -1;
        State state = State::idle;
        uint8_t* data = nullptr;
        uint8_t* landing = nullptr;
    };
    Buffer buf[2];
    buf[0].data = job.sram + job.buffer_at[0];
    buf[1].data = job.sram + job.buffer_at[1];
    // The read in progress: the buffer it fills and how far it got (one command per poll).
    struct Pending {
        int buffer = -1;
        uint64_t next = 0, end = 0;  // byte offsets inside the batch
    } pending;

    auto place = [&](int b, int k) {
        buf[b].batch = k;
        buf[b].landing = buf[b].data + batches[k].offset % kRunnerSlackBytes;
    };
    auto start_chunk = [&](int b) {
        const FlashBatch& batch = batches[buf[b].batch];
        const uint64_t n = std::min(max_command_bytes(job), pending.end - pending.next);
        issue(job, {s.model_address + batch.offset + pending.next, buf[b].landing + pending.next, n, b,
                    buf[b].batch});
        pending.next += n;
        return n;
    };
    auto start_async = [&](int b, int k) {
        place(b, k);
        buf[b].state = State::loading;
        pending = {b, 0, batches[k].bytes};
        timing.bytes_read += batches[k].bytes;
        return start_chunk(b);
    };
    // At a layer boundary: if the DMA is idle, finish the pending read or start its next chunk.
    auto poll = [&]() -> uint64_t {
        if (pending.buffer < 0 || !dma_idle(job)) return 0;
        if (pending.next < pending.end) return start_chunk(pending.buffer);
        buf[pending.buffer].state = State::loaded;
        pending.buffer = -1;
        return 0;
    };
    // Block until buffer b holds its batch: wait for the chunk in flight, then read the rest.
    auto complete = [&](int b) {
        if (buf[b].state == State::loaded) return;
        wait_dma(job);
        while (pending.next < pending.end) {
            start_chunk(b);
            wait_dma(job);
        }
        buf[b].state = State::loaded;
        pending.buffer = -1;
    };

    int current = 0;
    for (const Layer& layer : model.layers) {
        const uint64_t boundary = job.cpu.now();
        const uint64_t issued_before = issued_bytes_;
        const int k = batches_index_of(batches, layer.index);
        if (layer.index == 0) {
            // First layer: batch 0 synchronously into buffer 0, then batch 1 asynchronously.
            place(0, 0);
            buf[0].state = State::loading;
            pending = {0, 0, batches[0].bytes};
            timing.bytes_read += batches[0].bytes;
            complete(0);
            if (batches.size() > 1) start_async(1, 1);
        } else {
            wait_cycles(job, s.parameters.runner.layer_boundary_cycles, s.cpu_hz);
            if (buf[current].batch == k) {
                poll();
            } else {
                current = 1 - current;
                if (buf[current].batch != k)
                    throw std::logic_error("flash-dual: layer " + std::to_string(layer.index) +
                                           " is in neither buffer");
                complete(current);
                if (static_cast<size_t>(k) + 1 < batches.size()) start_async(1 - current, k + 1);
            }
        }
        const ExecutionMemory mem = memory_for(job, buf[current].landing, batches[k].offset);
        dispatch(job, layer, mem, boundary, issued_bytes_ - issued_before);
    }
    // Leave the DMA idle: a read still in flight would be the next forward's (none here).
    wait_dma(job);
}

void K210::forward_v4_flash_dual(Job& job) {
    // MaixPy's V4 runner (timing.md A.5b): node 0 is read exposed; while node i runs, node i + 1
    // is read into the other buffer, never further ahead; each body lands at its buffer's start.
    const Model& model = *job.model;
    const RunSettings& s = *job.settings;
    TimingResult& timing = job.result.timing;
    uint8_t* buffer[2] = {job.sram + job.buffer_at[0], job.sram + job.buffer_at[1]};
    auto read = [&](size_t i) {
        const Layer& l = model.layers[i];
        const int b = static_cast<int>(i % 2);
        issue_chained(job, s.model_address + l.body.offset, buffer[b], l.body.size, b, static_cast<int>(i));
        timing.bytes_read += l.body.size;
        ++timing.batches;
    };
    for (size_t i = 0; i < model.layers.size(); ++i) {
        const Layer& layer = model.layers[i];
        const uint64_t boundary = job.cpu.now();
        const uint64_t issued_before = issued_bytes_;
        if (i == 0) read(0);
        else wait_cycles(job, s.parameters.runner.layer_boundary_cycles, s.cpu_hz);
        wait_dma(job);  // node i's body is in its buffer
        if (i + 1 < model.layers.size()) read(i + 1);
        const ExecutionMemory mem = memory_for(job, buffer[i % 2], layer.body.offset);
        dispatch(job, layer, mem, boundary, issued_bytes_ - issued_before);
    }
    wait_dma(job);
}

RunResult K210::run(const Model& model, const std::vector<uint8_t>& input, const RunSettings& settings) {
    if (job_) throw std::logic_error("K210::run: a run is already in progress on this platform");
    const sc_core::sc_process_handle caller = sc_core::sc_get_current_process_handle();
    if (!caller.valid() || caller.proc_kind() != sc_core::SC_THREAD_PROC_)
        throw std::logic_error("K210::run must be called from an SC_THREAD (it waits for simulated time)");
    Job job;
    job.model = &model;
    job.input = &input;
    job.settings = &settings;
    job.cpu.start_from_kernel();
    job_ = &job;
    try {
        execute_job(job);
    } catch (...) {
        job.error = std::current_exception();
        if (dma_busy_) sc_core::wait(dma_done_);  // leave the DMA idle for the next run
        dma_error_.clear();
        kpu.reset();
    }
    job.cpu.sync();
    job_ = nullptr;
    auto& log = log_;
    if (job.error) {
        try {
            std::rethrow_exception(job.error);
        } catch (const std::exception& e) {
            log->info("run failed: {}", e.what());
        }
        std::rethrow_exception(job.error);
    }
    log->info("run: {} from {}, load {:.6f} ms, forward {:.6f} ms", to_string(settings.mode),
              to_string(settings.source), job.result.timing.load_ps / 1e9, job.result.timing.forward_ps / 1e9);
    job.result.load_ms = static_cast<double>(job.result.timing.load_ps) / 1e9;
    job.result.forward_ms = static_cast<double>(job.result.timing.forward_ps) / 1e9;
    return std::move(job.result);
}

}  // namespace kpusim
