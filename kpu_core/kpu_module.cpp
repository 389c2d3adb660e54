#include "kpu_core/kpu_module.h"

#include <cstring>
#include <stdexcept>

#include "common/errors.h"
#include "common/log.h"
#include "kpu_core/kpu_ram_layout.h"
#include "memory/general_sram.h"
#include "memory/timed_access.h"
#include "memory/tlm_payload.h"

namespace kpusim::kpu {

Kpu::Kpu(sc_core::sc_module_name name)
    : sc_core::sc_module(name),
      config_socket("config_socket"),
      sram_port("sram_port"),
      kpu_ram_port("kpu_ram_port"),
      irq("irq"),
      log_(logger("kpu")) {
    config_socket.register_b_transport(this, &Kpu::register_access);
    config_socket.register_transport_dbg(this, &Kpu::register_debug);
    SC_HAS_PROCESS(Kpu);
    SC_THREAD(layer_thread);
    SC_METHOD(drive_irq);
    sensitive << irq_changed_;
    dont_initialize();
}

void Kpu::configure(const KpuSetup& setup) {
    clock_ = ClockDomain(setup.clock_hz, "KPU clock");
    setup_ = setup;
}

void Kpu::reset() {
    fifo_words_.clear();
    layers_.clear();
    interrupt_raw_ = 0;
    interrupt_mask_ = 0;
    fault_.clear();
    update_irq();
}

void Kpu::update_irq() {
    const bool level = (interrupt_raw_ & ~interrupt_mask_) != 0;
    if (level != irq_level_) {
        irq_level_ = level;
        irq_changed_.notify(sc_core::SC_ZERO_TIME);
    }
}

void Kpu::drive_irq() { irq.write(irq_level_); }

void Kpu::register_access(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
    const uint64_t address = trans.get_address();
    if (trans.get_command() == tlm::TLM_IGNORE_COMMAND) {
        trans.set_response_status(tlm::TLM_OK_RESPONSE);
        return;
    }
    if (trans.get_data_length() != 8 || address % 8 != 0 || address >= kKpuRegisterBytes ||
        trans.get_data_ptr() == nullptr || trans.get_byte_enable_ptr() != nullptr) {
        trans.set_response_status(address >= kKpuRegisterBytes ? tlm::TLM_ADDRESS_ERROR_RESPONSE
                                                                 : tlm::TLM_BURST_ERROR_RESPONSE);
        return;
    }
    uint64_t value = 0;
    if (trans.is_write()) {
        std::memcpy(&value, trans.get_data_ptr(), 8);
        switch (address) {
            case reg::layer_argument_fifo: {
                fifo_words_.push_back(value);
                if (fifo_words_.size() == 12) {
                    PendingLayer layer;
                    std::copy(fifo_words_.begin(), fifo_words_.end(), layer.words.begin());
                    const auto* timed = trans.get_extension<memory::TimedAccess>();
                    layer.submit_ps = timed ? timed->request_ps : to_ps(sc_core::sc_time_stamp() + delay);
                    layer.eight_bit = eight_bit_mode_ & 1;
                    layer.data_out_address = data_out_address_;
                    layers_.push_back(layer);
                    fifo_words_.clear();
                    layer_pushed_.notify(sc_core::SC_ZERO_TIME);
                }
                break;
            }
            case reg::interrupt_mask: interrupt_mask_ = value & 7; update_irq(); break;
            case reg::interrupt_clear: interrupt_raw_ &= ~value; update_irq(); break;
            case reg::fifo_threshold: fifo_threshold_ = value & 0xFF; break;
            case reg::fifo_ctrl:
                fifo_ctrl_ = value & 0x1F;
                if (!(value & 4)) fifo_words_.clear();  // cfg_fifo_flush_n low: flush the argument FIFO
                break;
            case reg::eight_bit_mode: eight_bit_mode_ = value & 1; break;
            case reg::data_out_address: data_out_address_ = value; break;
            default:  // interrupt_status, interrupt_raw, fifo_data_out are read-only
                trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
                return;
        }
    } else {
        switch (address) {
            case reg::interrupt_status: value = interrupt_raw_ & ~interrupt_mask_; break;
            case reg::interrupt_raw: value = interrupt_raw_; break;
            case reg::interrupt_mask: value = interrupt_mask_; break;
            case reg::fifo_threshold: value = fifo_threshold_; break;
            case reg::fifo_ctrl: value = fifo_ctrl_; break;
            case reg::eight_bit_mode: value = eight_bit_mode_; break;
            case reg::data_out_address: value = data_out_address_; break;
            case reg::fifo_data_out: value = 0; break;  // the DMA channel is folded into the module
            default:  // layer_argument_fifo, interrupt_clear are write-only
                trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
                return;
        }
        std::memcpy(trans.get_data_ptr(), &value, 8);
    }
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned int Kpu::register_debug(tlm::tlm_generic_payload& trans) {
    // Reads only, without side effects.
    if (!trans.is_read() || trans.get_data_length() != 8 || trans.get_data_ptr() == nullptr) return 0;
    uint64_t value = 0;
    switch (trans.get_address()) {
        case reg::interrupt_status: value = interrupt_raw_ & ~interrupt_mask_; break;
        case reg::interrupt_raw: value = interrupt_raw_; break;
        case reg::interrupt_mask: value = interrupt_mask_; break;
        case reg::eight_bit_mode: value = eight_bit_mode_; break;
        case reg::data_out_address: value = data_out_address_; break;
        default: return 0;
    }
    std::memcpy(trans.get_data_ptr(), &value, 8);
    return 8;
}

uint64_t Kpu::charge(tlm_utils::simple_initiator_socket<Kpu>& port, tlm::tlm_command command,
                     uint64_t address, uint64_t bytes, uint64_t* request_ps) {
    if (bytes == 0) return 0;
    local_.sync();  // book in time order with the other initiators
    const memory::TimedResult r =
        memory::timed_transport(*port.operator->(), command, address, bytes, request_ps ? *request_ps : local_.now());
    if (!r.ok) return 0;
    // The next access of the same stage follows this one.
    if (request_ps) *request_ps += r.wait_ps + r.access_ps;
    return r.wait_ps;
}

void Kpu::layer_thread() {
    for (;;) {
        while (layers_.empty()) sc_core::wait(layer_pushed_);
        const PendingLayer layer = layers_.front();
        layers_.pop_front();
        // Exact times: the layer starts when it was submitted or when the previous one ended.
        local_.catch_up(layer.submit_ps);
        KpuLayerRecord record;
        record.submit_ps = layer.submit_ps;
        try {
            run(layer, record);
        } catch (const std::exception& e) {
            fault_ = std::string(name()) + ": " + e.what();
            log_->warn("layer fault: {}", fault_);
        }
        log_->debug("layer done: {} KPU cycles, {} ps queued at memories", record.cycles.total,
                             record.memory_wait_ps);
        record.end_ps = local_.now();
        records_.push_back(std::move(record));
        calc_done_ps_ = local_.now();
        interrupt_raw_ |= kCalcDoneInterrupt;
        update_irq();
    }
}

void Kpu::run(const PendingLayer& layer, KpuLayerRecord& record) {
    uint8_t bytes96[kLayerArgumentBytes];
    for (int i = 0; i < 12; ++i)
        for (int k = 0; k < 8; ++k) bytes96[i * 8 + k] = static_cast<uint8_t>(layer.words[i] >> (8 * k));
    const LayerArgument arg = LayerArgument::decode(bytes96);
    const uint32_t index = static_cast<uint32_t>(records_.size());
    validate(arg, index);

    // Where the blobs are in general SRAM (either view), checked against the array.
    auto sram_at = [&](uint64_t physical, uint64_t bytes, const char* what) {
        const auto offset = memory::general_sram_offset(physical);
        if (!offset || bytes > memory::kGeneralSramSize - *offset)
            throw InputError(std::string(what) + " at address " + std::to_string(physical) + " (" +
                             std::to_string(bytes) + " bytes) is not inside general SRAM");
        return *offset;
    };
    const uint64_t weight_bytes = arg.weight_bytes(layer.eight_bit);
    const uint64_t bn_bytes = uint64_t{8} * arg.out_channels();
    constexpr uint64_t kActivationBytes = 144;
    const uint64_t weights_at = sram_at(arg.para_start_addr, weight_bytes, "para_start_addr (weights)");
    const uint64_t bn_at = sram_at(arg.bwsx_base_addr, bn_bytes, "bwsx_base_addr (batch-norm table)");
    const uint64_t act_at = sram_at(arg.active_addr, kActivationBytes, "active_addr (activation table)");
    const uint64_t out_bytes = arg.send_data_out ? uint64_t{arg.dma_total_byte} + 1 : 0;
    const uint64_t out_at = arg.send_data_out ? sram_at(layer.data_out_address, out_bytes, "data-out DMA destination") : 0;

    // The bit-exact result, on the memories' arrays.
    if (setup_.compute) {
        uint8_t* sram = memory::whole_array_dmi(*sram_port.operator->(), memory::kGeneralSramSize, name());
        uint8_t* kpu_ram = memory::whole_array_dmi(*kpu_ram_port.operator->(), kKpuRamBytes, name());
        KpuLayerInputs in;
        in.arg = &arg;
        in.weights = sram + weights_at;
        in.eight_bit = layer.eight_bit;
        in.batchnorm = sram + bn_at;
        in.activation = sram + act_at;
        run_layer(in, kpu_ram, arg.send_data_out ? sram + out_at : nullptr, setup_.options, index);
    }

    // The pipeline's time, stage by stage.
    const KpuLayerCycles c = kpu_layer_cycles(arg, layer.eight_bit, arg.send_data_out, setup_.timing);
    record.cycles = c;
    record.start_ps = local_.now();
    auto stage = [&](const char* name, uint64_t cycles, uint64_t wait_ps) {
        KpuStage s;
        s.name = name;
        s.cycles = cycles;
        s.wait_ps = wait_ps;
        s.start_ps = local_.now();
        local_.advance(wait_ps + clock_.ps(cycles));
        s.end_ps = local_.now();
        record.memory_wait_ps += wait_ps;
        record.stages.push_back(s);
    };
    stage("overhead", c.overhead, 0);
    // The three tables are fetched one after the other: only other initiators' traffic makes
    // the fetch wait.
    uint64_t fetch_at = local_.now();
    uint64_t fetch_wait = charge(sram_port, tlm::TLM_READ_COMMAND, weights_at, weight_bytes, &fetch_at);
    fetch_wait += charge(sram_port, tlm::TLM_READ_COMMAND, bn_at, bn_bytes, &fetch_at);
    fetch_wait += charge(sram_port, tlm::TLM_READ_COMMAND, act_at, kActivationBytes, &fetch_at);
    stage("weight_fetch", c.weight_fetch, fetch_wait);
    const uint64_t in_rows = feature_map_rows(arg.in_width(), arg.in_height(), arg.in_channels());
    stage("conv", c.compute,
          charge(kpu_ram_port, tlm::TLM_READ_COMMAND, uint64_t{arg.image_src_addr} * kKpuRamRowBytes,
                 std::min<uint64_t>(in_rows * kKpuRamRowBytes, kKpuRamBytes - uint64_t{arg.image_src_addr} * kKpuRamRowBytes)));
    stage("bn_act_pool_write_back", c.write_back,
          charge(kpu_ram_port, tlm::TLM_WRITE_COMMAND, uint64_t{arg.image_dst_addr} * kKpuRamRowBytes,
                 std::min<uint64_t>(c.output_rows * kKpuRamRowBytes, kKpuRamBytes - uint64_t{arg.image_dst_addr} * kKpuRamRowBytes)));
    if (arg.send_data_out)
        stage("data_out", c.main_out, charge(sram_port, tlm::TLM_WRITE_COMMAND, out_at, out_bytes));
}

}  // namespace kpusim::kpu
