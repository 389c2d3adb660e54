// The exit codes of the kpusim program (README "Exit codes"), and the handling of command-line
// errors found by CLI11, so that every command ends with one of them.
#pragma once

#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

namespace kpusim::cli {

/// Every code the kpusim program exits with.
enum ExitCode : int {
    /// The command did its job (run: every mode ran; check/compare: within the tolerance).
    kExitOk = 0,
    /// check or compare ran and found a difference beyond the tolerance (a result, not an
    /// error: the outputs asked for, e.g. --junit / --json, are written).
    kExitBeyondTolerance = 1,
    /// An error stopped the command: an unreadable or malformed file (model, picture, report),
    /// an impossible setting (a clock, a batch size, a RAM budget the model does not fit), an
    /// output that cannot be written. Printed as "kpusim: error: ..." on stderr.
    kExitError = 2,
    /// run --mode all: at least one mode could not run while another did; the report (text
    /// and --json) is complete and names each failed mode's reason.
    kExitModeFailed = 3,
    /// The command line itself is wrong (unknown subcommand or option, missing or extra
    /// argument, a value of the wrong type or out of its range, as CLI11 checks them).
    /// Printed as "kpusim: error: ..." with a hint to --help.
    kExitUsage = 4,
};

/// Turn a CLI11 parse exception into our exit code: --help and --version print what they
/// print and give kExitOk; every other parse error prints "kpusim: error: <what>" and a hint
/// to run with --help on stderr and gives kExitUsage (CLI11 itself would exit 105-109
/// without our prefix).
inline int handle_parse_error(const CLI::App& app, const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::cerr << "kpusim: error: " << e.what() << "\n"
              << "run 'kpusim --help' (or 'kpusim COMMAND --help') for the usage\n";
    return kExitUsage;
}

/// Print "kpusim: error: <message>" on stderr and return kExitError.
inline int report_error(const std::string& message) {
    std::cerr << "kpusim: error: " << message << "\n";
    return kExitError;
}

}  // namespace kpusim::cli
