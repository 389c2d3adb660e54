// "-" as an output file name: the output goes to standard output (sim/atomic_file.h,
// kStandardOutput), and the command's human-readable text then goes to standard error, so
// that stdout holds that one output only (e.g. `kpusim run m.kmodel --json - | jq .`).
#pragma once

#include <initializer_list>
#include <iostream>
#include <string>
#include <utility>

#include "models/kmodel_error.h"
#include "sim/atomic_file.h"

namespace kpusim::cli {

/// Where a command's text goes given its outputs (pairs of option name and value, e.g.
/// {"--json", o.json}): std::cerr when one of them is "-", else std::cout.
/// @throws InputError when more than one output is "-" (naming them).
inline std::ostream& text_stream(std::initializer_list<std::pair<const char*, std::string>> outputs) {
    std::string to_stdout;
    for (const auto& [option, value] : outputs) {
        if (!is_standard_output(value)) continue;
        if (!to_stdout.empty())
            throw InputError(to_stdout + " and " + option +
                             " both ask for standard output ('-'): only one output can go there");
        to_stdout = option;
    }
    return to_stdout.empty() ? std::cout : std::cerr;
}

}  // namespace kpusim::cli
