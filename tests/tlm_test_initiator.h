// A bare TLM-2.0 initiator for the memory, flash and PSRAM tests, and one-call transactions.
#pragma once

#include <cstdint>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

namespace kpusim::test {

// An initiator that only owns a socket; tests drive it from the test body after
// elaboration (sc_start(SC_ZERO_TIME)), or from an SC_THREAD.
struct Initiator : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<Initiator> socket;
    explicit Initiator(sc_core::sc_module_name name) : sc_core::sc_module(name), socket("socket") {}
};

struct Result {
    tlm::tlm_response_status status;
    sc_core::sc_time delay;  ///< the annotated delay after the call
    bool dmi_hint;
};

// One b_transport with a fresh payload starting from `delay`; streaming width = length
// unless given.
inline Result transact(tlm_utils::simple_initiator_socket<Initiator>& socket, tlm::tlm_command cmd,
                       uint64_t address, uint8_t* data, unsigned int length,
                       sc_core::sc_time delay = sc_core::SC_ZERO_TIME, unsigned char* byte_enable = nullptr,
                       unsigned int streaming_width = 0) {
    tlm::tlm_generic_payload tx;
    tx.set_command(cmd);
    tx.set_address(address);
    tx.set_data_ptr(data);
    tx.set_data_length(length);
    tx.set_streaming_width(streaming_width ? streaming_width : length);
    tx.set_byte_enable_ptr(byte_enable);
    tx.set_byte_enable_length(byte_enable ? length : 0);
    tx.set_dmi_allowed(false);
    tx.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    socket->b_transport(tx, delay);
    return {tx.get_response_status(), delay, tx.is_dmi_allowed()};
}

// One transport_dbg; returns the bytes it moved.
inline unsigned int debug(tlm_utils::simple_initiator_socket<Initiator>& socket, tlm::tlm_command cmd,
                          uint64_t address, uint8_t* data, unsigned int length) {
    tlm::tlm_generic_payload tx;
    tx.set_command(cmd);
    tx.set_address(address);
    tx.set_data_ptr(data);
    tx.set_data_length(length);
    return socket->transport_dbg(tx);
}

}  // namespace kpusim::test
