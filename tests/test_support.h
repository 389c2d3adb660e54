// Helpers shared by the tests: where ../shared is, reading files.
#pragma once

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace kpusim::test {

/// Path of a file under the team's shared/ folder (beside the project root).
inline std::string shared_path(const std::string& relative) {
    return std::string(KPUSIM_SHARED_DIR) + "/" + relative;
}

/// Path of the kpusim command-line program built beside the tests.
inline std::string kpusim_binary() { return KPUSIM_BINARY; }

inline std::vector<uint8_t> read_file_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

}  // namespace kpusim::test
