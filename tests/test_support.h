// Helpers shared by the tests: where ../shared is, reading files.
#pragma once

#include <sys/wait.h>

#include <cstdint>
#include <cstdio>
#include <sstream>
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

/// What the kpusim program printed (stdout and stderr together) and its exit status.
struct CliResult {
    int status;
    std::string out;
};

/// Run the kpusim program with `args` (a shell word list).
inline CliResult kpusim_cli(const std::string& args) {
    const std::string cmd = kpusim_binary() + " " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    if (!p) return {-1, out};
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

/// The text of a file (empty when it cannot be read).
inline std::string read_text(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

}  // namespace kpusim::test
