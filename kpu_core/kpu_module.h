// The KPU as a SystemC module (loosely-timed TLM-2.0), driven like the chip's KPU:
//
//                 config_socket (target)            sram_port (initiator)
//   firmware  --> [ register file: kpu_config_t ]   --> general SRAM: weights, batch-norm and
//                 [ layer-argument FIFO          ]       activation tables (read), the
//                 [ pipeline:                    ]       data-out stream (write)
//                 [  conv -> batch-norm ->       ]   kpu_ram_port (initiator)
//                 [  activation -> pool ->       ]   --> KPU RAM: input and output feature maps
//                 [  write-back -> data out      ]
//   irq (sc_out<bool>) <-- calc_done interrupt (IRQN_AI_INTERRUPT), level, unless masked
//
// A layer starts when its 12th argument word reaches the FIFO (spec §1.1: one layer in flight;
// further layers queue). The addresses inside the argument (para_start_addr, bwsx_base_addr,
// active_addr) are physical general-SRAM addresses, in either view (spec §1); feature maps are
// KPU RAM rows. The result bytes come from the bit-exact functional core (kpu_layer.h), which
// works on the memories' arrays through DMI; every byte it moves is also charged to the
// memory it belongs to (an account-only TLM access, memory/timed_access.h), so the memories
// see the traffic, keep their busy-until times and slow concurrent users.
//
// Time: each pipeline stage takes the cycles the timing model gives it (kpu_timing.h, the
// calibrated constants of the parameter set) at this module's clock, plus any time it queued
// behind other traffic at a memory. The stages run in the order overhead (dispatch and fills),
// weight_fetch, conv, bn_act_pool_write_back, data_out; the calibrated model gives their sum,
// its split between stages is the formula's terms (kpu_timing.h).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "common/clock_domain.h"
#include "common/log.h"
#include "kpu_core/kpu_layer.h"
#include "kpu_core/kpu_registers.h"
#include "kpu_core/kpu_timing.h"

namespace kpusim::kpu {

/// One stage of a layer in the KPU pipeline (exact picoseconds of the simulation).
struct KpuStage {
    const char* name = "";   ///< overhead, weight_fetch, conv, bn_act_pool_write_back, data_out
    uint64_t cycles = 0;     ///< KPU cycles the timing model gives the stage
    uint64_t wait_ps = 0;    ///< time queued at a memory before the stage's access
    uint64_t start_ps = 0, end_ps = 0;
};

/// What the KPU did for one layer.
struct KpuLayerRecord {
    uint64_t submit_ps = 0;  ///< the 12th argument word arrived
    uint64_t start_ps = 0, end_ps = 0;  ///< end: calc_done raised
    KpuLayerCycles cycles;   ///< the timing model's terms (KPU cycles)
    uint64_t memory_wait_ps = 0;  ///< sum of the stages' queueing at the memories
    std::vector<KpuStage> stages;
};

/// Settings the platform gives the KPU for a run.
struct KpuSetup {
    uint64_t clock_hz = 400'000'000;  ///< KPU clock (Hz)
    KpuTimingParameters timing{};     ///< the timing constants (sim/parameters.h)
    KpuOptions options;               ///< functional options (activation rule)
    bool compute = true;              ///< false: timing only, the feature maps are not computed
};

class Kpu : public sc_core::sc_module {
public:
    /// The register file (kpu_register.h offsets, 64-bit accesses of 8 bytes). Reads and
    /// writes take no time.
    tlm_utils::simple_target_socket<Kpu> config_socket;
    /// To general SRAM, module-local offsets 0 .. 6 MiB - 1 (the platform binds it).
    tlm_utils::simple_initiator_socket<Kpu> sram_port;
    /// To KPU RAM, byte offsets row x 64 + byte (the platform binds it).
    tlm_utils::simple_initiator_socket<Kpu> kpu_ram_port;
    /// The calc_done interrupt line: high while (interrupt_raw & ~interrupt_mask) != 0.
    sc_core::sc_out<bool> irq;

    explicit Kpu(sc_core::sc_module_name name);

    /// Clock, timing constants and functional options for the next layers.
    /// @throws InputError for a clock of 0 Hz.
    void configure(const KpuSetup& setup);

    /// The layers run since clear_records(), in order.
    const std::vector<KpuLayerRecord>& records() const noexcept { return records_; }
    void clear_records() { records_.clear(); }
    /// Exact time (ps) of the last calc_done: a firmware model that waited on irq continues
    /// from here, whatever the kernel's time resolution.
    uint64_t calc_done_ps() const noexcept { return calc_done_ps_; }
    /// Non-empty when the last layer could not run (an address outside general SRAM, a
    /// malformed argument, an activation table with no segment for a value): the layer
    /// still raises calc_done so that the firmware does not hang, and the firmware reports
    /// the fault. clear_fault() empties it.
    const std::string& fault() const noexcept { return fault_; }
    void clear_fault() { fault_.clear(); }
    /// Forget queued words and layers, interrupts and the fault (a reset of the KPU).
    void reset();

    const char* kind() const override { return "kpusim::kpu::Kpu"; }

private:
    struct PendingLayer {
        std::array<uint64_t, 12> words{};
        uint64_t submit_ps = 0;
        bool eight_bit = true;
        uint64_t data_out_address = 0;
    };

    void register_access(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
    unsigned int register_debug(tlm::tlm_generic_payload& trans);
    void update_irq();
    void drive_irq();
    void layer_thread();
    void run(const PendingLayer& layer, KpuLayerRecord& record);
    uint64_t charge(tlm_utils::simple_initiator_socket<Kpu>& port, tlm::tlm_command command,
                    uint64_t address, uint64_t bytes, uint64_t* request_ps = nullptr);

    KpuSetup setup_;
    ClockDomain clock_{400'000'000, "KPU clock"};
    LocalTime local_;
    std::vector<uint64_t> fifo_words_;
    std::deque<PendingLayer> layers_;
    sc_core::sc_event layer_pushed_;
    uint64_t interrupt_raw_ = 0, interrupt_mask_ = 0, fifo_threshold_ = 0, fifo_ctrl_ = 0;
    uint64_t eight_bit_mode_ = 1, data_out_address_ = 0;
    uint64_t calc_done_ps_ = 0;
    bool irq_level_ = false;
    sc_core::sc_event irq_changed_;
    std::string fault_;
    std::vector<KpuLayerRecord> records_;
    std::shared_ptr<spdlog::logger> log_;  ///< common/log.h
};

}  // namespace kpusim::kpu
