// Dataset runs: the functional path of one model over many pictures, on every core.
//
// The functional core (run_functional) is plain C++ with no SystemC, so pictures run in
// parallel on a std::thread pool; the timing of a model does not depend on the picture and is
// simulated once by the caller. Records come back in input order whatever the thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kpu_core/kpu_layer.h"
#include "models/layer_graph.h"
#include "sim/classification.h"
#include "sim/functional_executor.h"
#include "sim/run_options.h"
#include "sim/run_settings.h"

namespace kpusim {

/// The pictures named by `args`: a folder stands for every .jpg/.jpeg/.png/.bmp file below
/// it (recursively, any letter case), sorted by path; a file stands for itself. Order: the
/// arguments' order. Throws InputError for a path that does not exist or a folder without
/// pictures.
std::vector<std::string> list_dataset_inputs(const std::vector<std::string>& args);

struct DatasetOptions {
    unsigned threads = 0;        ///< worker threads; 0 = std::thread::hardware_concurrency()
    uint32_t top = 5;            ///< classes kept per picture for classifier outputs
    bool keep_outputs = false;   ///< keep every raw output in the records (else classifiers keep top-K only)
    kpu::KpuOptions kpu;         ///< functional KPU options (activation rule, kernels)
    /// Decode every picture's outputs as a single `kpusim run` does (decode_into_report(): the
    /// same guess, detectors' boxes in the picture's pixels, warnings), the model hashed once.
    /// Null: classifier outputs (by their shape) give top-K, the others keep their raw outputs.
    const DecodeText* decode = nullptr;
    std::vector<std::string> labels;  ///< class labels for the decoders (may be empty)
    /// Called after each picture with (pictures done, total), from a worker thread, never
    /// concurrently. May be empty.
    std::function<void(size_t, size_t)> progress;
};

/// The result of one picture.
struct PictureRecord {
    std::string file;
    std::string error;                 ///< not empty: the picture could not be run (why)
    bool classifier = false;           ///< the first output looks like class scores
    std::vector<RankedClass> top;      ///< classifier: the `top` best classes, best first
    std::vector<OutputTensor> outputs; ///< every output when kept (see DatasetOptions)
    /// With DatasetOptions::decode, for a decoder other than classify: decoded_json() of the
    /// picture's report ("decode", "detections", "warnings", ...). Else empty.
    nlohmann::ordered_json decoded;
};

/// Run `model` functionally on every file (load_model_input: pictures are resized to the
/// model input). A picture that fails (unreadable, wrong size, run-time fault) gets a record
/// with `error` set; the others still run. Records are in `files` order, and the same for
/// any thread count. Each worker keeps its own memories (FunctionalMemories) and work
/// buffers; nothing is shared between pictures but the read-only model.
std::vector<PictureRecord> run_dataset(const Model& model, const std::vector<std::string>& files,
                                       const DatasetOptions& options);

/// One JSON Lines record: {"file", "error"?, "top": [{"class", "label"?, "score"}...]?,
/// the decoded keys of PictureRecord::decoded?, "outputs": [{"shape": [n,c,h,w], "values":
/// [...]}]?}. `labels` may be empty.
nlohmann::ordered_json record_json(const PictureRecord& record, const std::vector<std::string>& labels);

/// Accuracy of a classifier over a CLASS_NAME/picture folder layout: the true class of a
/// picture is its parent folder's name, matched against a label (the whole label line or
/// its first comma-separated name, ignoring case) or taken as a class id when it is a number.
struct AccuracySummary {
    size_t pictures = 0;   ///< classifier records whose folder names a known class
    size_t unmatched = 0;  ///< records skipped: error, not a classifier, or folder not a class
    size_t top1 = 0, top5 = 0;
    /// true folder name -> predicted top-1 label -> count
    std::map<std::string, std::map<std::string, size_t>> confusion;
};
AccuracySummary accuracy(const std::vector<PictureRecord>& records, const std::vector<std::string>& labels);

/// Print top-1 / top-5 accuracy and, per true class, its pictures, top-1 hits and its most
/// frequent wrong prediction.
void print_accuracy(const AccuracySummary& summary, std::ostream& out);

/// The CLI's dataset run (`kpusim run MODEL --input DIR ...`).
struct DatasetCommand {
    std::vector<std::string> inputs;  ///< folders and files (list_dataset_inputs)
    std::string records;              ///< JSON Lines file; empty: standard output
    std::string labels;               ///< labels file; enables label names and accuracy
    std::string dump_dir;             ///< raw outputs in one subfolder per picture
    uint32_t top = 5;
    unsigned threads = 0;
    DecodeText decode;                ///< --decode, --anchors, --threshold, --nms (as `kpusim run`)
};

/// Runs the pictures of `cmd` (functional path, all cores), writes the records, prints the
/// model's timing for `settings` (simulated once, on the SystemC SoC, with the test pattern)
/// and, with labels, the accuracy summary to `out` (or to standard error when the records go
/// to standard output). Shows a progress bar on standard error when it is a terminal.
/// Returns the exit code: 0, or 1 when a picture failed.
int dataset_command(const Model& model, const RunSettings& settings, const DatasetCommand& cmd,
                    std::ostream& out);

}  // namespace kpusim
