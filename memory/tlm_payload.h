// Checks and debug access shared by kpusim's byte-array TLM-2.0 targets (general SRAM,
// KPU RAM, SPI flash, PSRAM).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <tlm>

namespace kpusim::memory {

/// What is wrong with a payload addressed to a target of `size` bytes, or
/// TLM_OK_RESPONSE: an address range past the end (TLM_ADDRESS_ERROR_RESPONSE, overflow
/// safe), byte enables (TLM_BYTE_ENABLE_ERROR_RESPONSE: not supported), a streaming width
/// below the data length (TLM_BURST_ERROR_RESPONSE), a null data pointer with data
/// (TLM_GENERIC_ERROR_RESPONSE). The command is the caller's to check.
inline tlm::tlm_response_status payload_error(const tlm::tlm_generic_payload& trans, uint64_t size) {
    const uint64_t address = trans.get_address();
    const uint64_t length = trans.get_data_length();
    if (address >= size || length > size - address) return tlm::TLM_ADDRESS_ERROR_RESPONSE;
    if (trans.get_byte_enable_ptr() != nullptr) return tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE;
    if (trans.get_streaming_width() < length) return tlm::TLM_BURST_ERROR_RESPONSE;
    if (length > 0 && trans.get_data_ptr() == nullptr) return tlm::TLM_GENERIC_ERROR_RESPONSE;
    return tlm::TLM_OK_RESPONSE;
}

/// For read-only targets (flash, PSRAM): answers every payload that is not a valid read and
/// returns true when it did (the ignore command: TLM_OK_RESPONSE; writes:
/// TLM_COMMAND_ERROR_RESPONSE; then payload_error()); false leaves a valid read to the caller.
inline bool answered_unless_valid_read(tlm::tlm_generic_payload& trans, uint64_t size) {
    tlm::tlm_response_status status;
    if (trans.get_command() == tlm::TLM_IGNORE_COMMAND) status = tlm::TLM_OK_RESPONSE;
    else if (trans.get_command() != tlm::TLM_READ_COMMAND) status = tlm::TLM_COMMAND_ERROR_RESPONSE;
    else if ((status = payload_error(trans, size)) == tlm::TLM_OK_RESPONSE) return false;
    trans.set_response_status(status);
    return true;
}

/// transport_dbg on a byte array: reads or writes without time, stopping at the end of the
/// array; returns the bytes copied (0 for the ignore command, a null pointer or an address
/// past the end).
inline unsigned int debug_transport(tlm::tlm_generic_payload& trans, std::vector<uint8_t>& bytes) {
    const uint64_t address = trans.get_address();
    unsigned char* ptr = trans.get_data_ptr();
    if (address >= bytes.size() || ptr == nullptr) return 0;
    const uint64_t n = std::min<uint64_t>(trans.get_data_length(), bytes.size() - address);
    switch (trans.get_command()) {
        case tlm::TLM_READ_COMMAND: std::memcpy(ptr, bytes.data() + address, n); break;
        case tlm::TLM_WRITE_COMMAND: std::memcpy(bytes.data() + address, ptr, n); break;
        case tlm::TLM_IGNORE_COMMAND: return 0;
    }
    return static_cast<unsigned int>(n);  // n <= data length, an unsigned int
}

/// The read/write DMI pointer a memory grants for local addresses 0 .. bytes - 1 (the whole
/// array of kpusim's memory targets). Throws std::logic_error naming `who` when the target
/// refuses or grants less.
inline uint8_t* whole_array_dmi(tlm::tlm_fw_transport_if<>& target, uint64_t bytes, const std::string& who) {
    tlm::tlm_generic_payload trans;
    tlm::tlm_dmi dmi;
    trans.set_address(0);
    trans.set_command(tlm::TLM_READ_COMMAND);
    if (!target.get_direct_mem_ptr(trans, dmi) || !dmi.is_read_write_allowed() || dmi.get_start_address() != 0 ||
        dmi.get_end_address() + 1 < bytes)
        throw std::logic_error(who + ": a memory refused direct memory access");
    return dmi.get_dmi_ptr();
}

}  // namespace kpusim::memory
