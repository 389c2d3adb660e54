#include "sim/units.h"

#include <cctype>
#include <limits>

#include "models/kmodel_error.h"

namespace kpusim {

uint64_t parse_quantity(const std::string& text, const std::string& what) {
    auto fail = [&](const std::string& why) -> uint64_t {
        throw InputError(what + ": cannot read '" + text + "' as a number (" + why +
                         "; examples: 48000, 0xC000, 48K, 80M, 400MHz, 64Ki)");
    };
    if (text.empty()) return fail("empty");
    size_t i = 0;
    uint64_t value = 0;
    const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    const unsigned base = hex ? 16 : 10;
    i = hex ? 2 : 0;
    const size_t digits_start = i;
    for (; i < text.size(); ++i) {
        const char c = text[i];
        int d;
        if (std::isdigit(static_cast<unsigned char>(c))) d = c - '0';
        else if (hex && std::isxdigit(static_cast<unsigned char>(c))) d = std::tolower(c) - 'a' + 10;
        else break;
        if (value > (std::numeric_limits<uint64_t>::max() - d) / base) return fail("too large");
        value = value * base + d;
    }
    if (i == digits_start) return fail("no digits");
    std::string suffix = text.substr(i);
    if (suffix.size() >= 2 && (suffix.substr(suffix.size() - 2) == "Hz" || suffix.substr(suffix.size() - 2) == "hz"))
        suffix.resize(suffix.size() - 2);
    uint64_t mul = 1;
    if (suffix.empty()) mul = 1;
    else if (suffix == "k" || suffix == "K") mul = 1000;
    else if (suffix == "m" || suffix == "M") mul = 1000000;
    else if (suffix == "g" || suffix == "G") mul = 1000000000;
    else if (suffix == "Ki") mul = 1024;
    else if (suffix == "Mi") mul = 1024 * 1024;
    else return fail("unknown suffix '" + suffix + "'");
    if (hex && mul != 1) return fail("a hex number takes no suffix");
    if (value > std::numeric_limits<uint64_t>::max() / mul) return fail("too large");
    return value * mul;
}

}  // namespace kpusim
