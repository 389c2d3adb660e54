#include "models/read_file.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include "models/kmodel_error.h"

namespace kpusim {

std::vector<uint8_t> read_whole_file(const std::string& path, const std::string& what) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        throw InputError("cannot open " + what + " '" + path + "': " +
                         (std::filesystem::exists(path, ec) ? "not a regular file" : "no such file"));
    std::ifstream f(path, std::ios::binary);
    if (!f) throw InputError("cannot open " + what + " '" + path + "'");
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (f.bad()) throw InputError("error reading " + what + " '" + path + "'");
    return bytes;
}

}  // namespace kpusim
