// Reading a whole input file with an error that names it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kpusim {

/// The bytes of the regular file at `path`. `what` names the file's role in errors
/// ("kmodel file", "input file", ...). Throws InputError "cannot open <what> '<path>': no such
/// file" / "not a regular file" (a folder, a device) / a read error.
std::vector<uint8_t> read_whole_file(const std::string& path, const std::string& what);

}  // namespace kpusim
