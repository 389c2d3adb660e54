// `kpusim compare`: a run's outputs against a capture taken on a real board.
//
// A capture is read in one of three forms:
//   - raw:  little-endian float32 values back to back (e.g. a MaixPy script writing the output
//           list to SD with struct.pack), all outputs in order;
//   - text: the printed list of a MaixPy / SDK print: numbers separated by any mix of
//           whitespace, commas, semicolons and brackets ([ ] ( ) { }); lines starting with '#'
//           are comments. All outputs in order;
//   - dump: a folder written by `kpusim run --dump-outputs` (outputs.json + output_N.bin).
// A capture holding all outputs back to back is split by the run's output sizes.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/functional_executor.h"

namespace kpusim {

enum class CaptureFormat { automatic, raw, text, dump };
/// "auto", "raw", "text", "dump"; throws InputError otherwise.
CaptureFormat parse_capture_format(const std::string& name);
const char* to_string(CaptureFormat f);

/// Values read from a capture: one vector per output when the form says where outputs
/// start (dump), else one vector holding everything (raw, text).
struct Capture {
    CaptureFormat format = CaptureFormat::raw;  ///< the form actually read
    std::vector<std::vector<float>> outputs;
};

/// Read a capture. automatic: a folder is a dump; a file whose bytes are all printable text
/// (digits, signs, '.', 'e', nan/inf letters, separators, '#' comments) and that parses as
/// numbers is text; anything else is raw. Throws InputError naming the file and the problem:
/// missing, empty, a raw size not a multiple of 4, an unparsable token (with its line),
/// a dump folder without outputs.json or with a file of the wrong size.
Capture read_capture(const std::string& path, CaptureFormat format = CaptureFormat::automatic);

/// Outputs written by `kpusim run --dump-outputs DIR` (outputs.json + output_N.bin), in
/// their own dtypes. Throws InputError on a missing or inconsistent folder.
std::vector<OutputTensor> read_dumped_outputs(const std::string& dir);

/// How one output compares.
struct OutputComparison {
    uint32_t index = 0;
    uint64_t elements = 0;
    uint64_t bit_equal = 0;       ///< elements whose float32 bits are equal
    uint64_t nan_mismatches = 0;  ///< elements where exactly one side is NaN
    double max_abs_diff = 0;      ///< max |run - capture| over non-NaN pairs
    uint64_t max_abs_at = 0;      ///< element index of that maximum
    /// max |run - capture| / max(|run|, |capture|) over pairs not both 0 (0..2; 0 when equal)
    double max_rel_diff = 0;
    /// Top-K agreement (outputs with at least 2 elements): index of the largest value in each,
    /// and how many of the 5 (or fewer) largest indices the two share.
    uint64_t top1_run = 0, top1_capture = 0;
    uint32_t top5_overlap = 0, top5_size = 0;
    bool within = true;  ///< max_abs_diff <= tolerance and no NaN mismatch
};

struct CompareResult {
    double tolerance = 0;
    std::vector<OutputComparison> outputs;
    bool within() const;
};

/// Compare `run` with `capture`. With one capture vector and several run outputs (or a single
/// output selected by `only_output`), the capture is split by the run's element counts.
/// Throws InputError when the element counts do not match (naming both) or `only_output`
/// is out of range.
CompareResult compare_outputs(const std::vector<OutputTensor>& run, const Capture& capture,
                              double tolerance, std::optional<uint32_t> only_output = std::nullopt);

std::string to_text(const CompareResult& r);
nlohmann::ordered_json to_json(const CompareResult& r);

/// What `kpusim compare` was asked.
struct CompareOptions {
    std::string model;     ///< run this model on `input` ... (empty: use `outputs_dir`)
    std::string input;
    std::string outputs_dir;  ///< ... or take these dumped outputs
    std::string capture;
    std::string capture_format = "auto";
    double tolerance = 1e-5;  ///< absolute
    std::string json;         ///< also write the result as JSON here
    std::optional<uint32_t> output;  ///< compare only this output
    std::string activation_rule = "reference";
    std::string arg_x_rule = "board";
    bool strict_sdk = false;
};

/// Run the comparison and print it. Returns 0 within the tolerance, 1 beyond it; throws
/// InputError (the CLI exits 2) for bad input: missing or unreadable files, both or neither
/// of model/outputs_dir, a model without input, element counts that differ.
int compare_command(const CompareOptions& o, std::ostream& out);

}  // namespace kpusim
