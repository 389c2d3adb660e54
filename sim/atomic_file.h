// Output files written atomically: the whole file appears under its name, or nothing does.
//
// Every output kpusim writes (--json, --trace, --dump-outputs, --annotate, flash-image -o,
// sweep --csv/--json/--plot) goes through here: the bytes go to a temporary file in the
// destination's folder (so that the final rename stays on one file system), which is
// fsync'ed and closed (each step checked) and then renamed over the destination. On any
// error the temporary file is removed and the destination is left as it was (absent, or
// the previous complete version).
//
// Rule for commands with several outputs: each output is complete or absent. Outputs are
// written in the order the command lists them (run: --annotate, --json, --dump-outputs,
// --trace; sweep: --csv, --json, --plot); when one fails, the command stops with an error
// and the outputs written before it stay, complete (they are correct results of the run).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kpusim {

/// The output name that means standard output ("-", as in most Unix tools):
/// write_file_atomically() writes the bytes to stdout instead of a file (a file named "-"
/// is still reachable as "./-"). Commands that print text send it to stderr when one of
/// their outputs is "-" (cli/stdout_outputs.h), so stdout holds only that output.
inline constexpr const char* kStandardOutput = "-";

/// True when `path` is kStandardOutput.
bool is_standard_output(const std::string& path);

/// A file being written to a temporary name beside `path`, renamed to `path` by commit().
/// Destroyed without commit() (an exception, an early return), it removes the temporary file.
class AtomicFile {
public:
    /// Creates the temporary file "<folder of path>/.<name>.tmp-<pid>-<n>" (mode 0666 minus
    /// the umask, as a plain open would). `what` names the file's role in errors ("JSON
    /// report", "trace file", ...).
    /// @throws InputError naming `path` and the system's reason (e.g. a folder that does not
    ///         exist or is not writable), or when `path` is kStandardOutput (outputs that
    ///         need a real file, e.g. a plot gnuplot writes).
    AtomicFile(std::string path, std::string what);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    /// Appends `size` bytes. @throws InputError (e.g. "No space left on device"); the
    /// temporary file is removed.
    void write(const void* data, size_t size);
    void write(std::string_view text) { write(text.data(), text.size()); }

    /// Path of the temporary file, for a program that writes the file itself (gnuplot).
    const std::string& temp_path() const { return temp_; }

    /// fsync, close and rename to the destination. @throws InputError when any step fails;
    /// the temporary file is removed and the destination untouched.
    void commit();

private:
    void fail(const std::string& step, int error);
    std::string path_, what_, temp_;
    int fd_ = -1;
    bool done_ = false;
};

/// Writes `contents` to `path` atomically (AtomicFile: write, commit); to standard output
/// (written and flushed) when `path` is kStandardOutput.
/// @throws InputError naming `what` and `path` with the system's reason.
void write_file_atomically(const std::string& path, std::string_view contents, const std::string& what);
void write_file_atomically(const std::string& path, const std::vector<uint8_t>& contents,
                           const std::string& what);

}  // namespace kpusim
