// Parsing the numbers users type: decimal, 0x.. hex, and suffixes (48K, 80M, 400MHz).
#pragma once

#include <cstdint>
#include <string>

namespace kpusim {

/// Parse a non-negative integer quantity: "123", "0xC000", "48K" = 48000, "80M" = 80000000,
/// "400MHz" = 400000000, "1G", "64Ki" = 65536. Suffixes are
/// k/K (10^3), m/M (10^6), g/G (10^9), optionally followed by "Hz"/"hz"; "Ki", "Mi" are
/// binary (1024, 1048576). `what` names the setting in the error.
/// Throws InputError naming `what` and the text on anything else or on overflow.
uint64_t parse_quantity(const std::string& text, const std::string& what);

}  // namespace kpusim
