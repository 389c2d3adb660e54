// A memory port shared by several initiators (the CPU, the DMA and the KPU all reach general
// SRAM): N target sockets in, one initiator socket out to the memory. It forwards b_transport,
// transport_dbg and get_direct_mem_ptr unchanged and adds no time; the contention between the
// initiators is the memory's (busy-until, memory/timed_access.h), so it is the same whether
// they come through this port or not.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

namespace kpusim::memory {

class SharedPort : public sc_core::sc_module {
public:
    using Input = tlm_utils::simple_target_socket_tagged<SharedPort>;

    /// @param inputs how many initiators share the port (> 0).
    SharedPort(sc_core::sc_module_name name, unsigned inputs) : sc_core::sc_module(name), output("output") {
        for (unsigned i = 0; i < inputs; ++i) {
            inputs_.push_back(std::make_unique<Input>(("input_" + std::to_string(i)).c_str()));
            inputs_.back()->register_b_transport(this, &SharedPort::b_transport, static_cast<int>(i));
            inputs_.back()->register_transport_dbg(this, &SharedPort::transport_dbg, static_cast<int>(i));
            inputs_.back()->register_get_direct_mem_ptr(this, &SharedPort::get_direct_mem_ptr, static_cast<int>(i));
        }
    }

    /// Target socket `i` (0 .. inputs - 1), for one initiator.
    Input& input(unsigned i) { return *inputs_.at(i); }
    /// To the memory.
    tlm_utils::simple_initiator_socket<SharedPort> output;

    const char* kind() const override { return "kpusim::memory::SharedPort"; }

private:
    void b_transport(int, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
        output->b_transport(trans, delay);
    }
    unsigned int transport_dbg(int, tlm::tlm_generic_payload& trans) { return output->transport_dbg(trans); }
    bool get_direct_mem_ptr(int, tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) {
        return output->get_direct_mem_ptr(trans, dmi);
    }

    std::vector<std::unique_ptr<Input>> inputs_;
};

}  // namespace kpusim::memory
