// `kpusim sweep`: re-time one model over a grid of flash-dual batch sizes x SPI speeds, with
// the RAM mode as the reference, and report the grid as a table, CSV, JSON and a plot.
//
// The functional result of a run does not depend on the batch size, the SPI speed or the
// RAM budget, so a sweep computes no outputs at all: every point is one timing-only run
// (RunSettings::compute_outputs = false) on the process-wide standalone K210 (run_standalone, sim/simulate.h).
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/layer_graph.h"
#include "sim/run_settings.h"

namespace kpusim {

/// JSON schema version of the sweep report (sweep_json()); bumped on any incompatible change.
inline constexpr int kSweepSchemaVersion = 1;

/// Most points a sweep range may hold.
inline constexpr uint64_t kMaxSweepPoints = 10'000;

/// The values first, first + step, ... up to and including last (when it falls on the grid).
struct SweepRange {
    uint64_t first = 0, last = 0, step = 1;
    /// The values in increasing order (at least one).
    std::vector<uint64_t> values() const;
};

/// Parse "FIRST:LAST:STEP" ("0x4000:0x20000:0x4000", "20M:80M:10M") or a single value
/// ("0xC000", "80M": one point; step 1). Each part is read by parse_quantity (decimal, 0x hex,
/// k/M/G and Ki/Mi suffixes, optional "Hz"). `what` names the option in errors.
/// @throws InputError naming `what`: an unreadable part, not 1 or 3 parts, step 0,
///         last < first, or more than kMaxSweepPoints points.
SweepRange parse_sweep_range(const std::string& text, const std::string& what);

/// One point of a sweep. Times in picoseconds, memory in bytes.
struct SweepPoint {
    uint64_t batch_size = 0;     ///< flash-dual batch size asked for, bytes
    uint64_t spi_speed_hz = 0;   ///< SCK asked for (kpu.load_flash's spi_speed), Hz
    bool valid = false;          ///< false: the settings are impossible; `error` says why
    std::string error;           ///< the run's error message (empty when valid)
    uint64_t forward_ps = 0;     ///< one forward, input upload included
    uint64_t load_ps = 0;        ///< kpu.load_flash
    uint64_t ram_used = 0;       ///< general RAM the run allocated
    uint64_t ram_free = 0;       ///< budget - ram_used, 0 when over the budget
    uint64_t spi_actual_hz = 0;  ///< the SCK the divider makes (0 for a PSRAM source)
    bool fits_budget = false;    ///< valid and ram_used <= the sweep's RAM budget
};

/// A whole sweep.
struct SweepResult {
    /// The settings every point shares; ram_budget_bytes is the sweep's budget (the points
    /// themselves run with the whole 6 MiB general SRAM, see run_sweep()).
    RunSettings base;
    std::string model_path;           ///< the model file, for titles and the JSON report (set by the caller)
    std::vector<uint64_t> batch_sizes;  ///< the swept values, in order
    std::vector<uint64_t> spi_speeds;   ///< the swept values (requested Hz), in order
    /// batch_sizes.size() x spi_speeds.size() points, batch-major: point
    /// (i, j) is points[i * spi_speeds.size() + j].
    std::vector<SweepPoint> points;
    uint64_t ram_forward_ps = 0;      ///< RAM mode (kpu.load) reference forward (0 if invalid)
    uint64_t ram_load_ps = 0;         ///< RAM mode load time
    uint64_t ram_mode_ram_used = 0;   ///< general RAM the RAM mode needs, bytes
    std::string ram_mode_error;       ///< why the RAM mode reference could not run (or empty)
    int fastest_fitting = -1;         ///< index into points, -1 when no valid point fits
};

/// What a sweep recommends: the RAM mode (kpu.load) or the fastest fitting flash point,
/// whichever fits the budget and has the lower forward time.
struct SweepRecommendation {
    enum class Kind { none, ram, flash } kind = Kind::none;
    int point = -1;            ///< flash: index into SweepResult::points; else -1
    uint64_t forward_ps = 0;   ///< the recommended setting's forward time
    /// One sentence saying which is faster and by how much, or why there is no choice, e.g.
    /// "RAM mode (kpu.load) fits the budget and is faster: forward 40.726 ms against 78.488 ms
    /// for the fastest flash setting".
    std::string reason;
};

/// The recommendation of a sweep: among the RAM-mode reference (when it ran and its RAM use
/// fits the sweep's budget) and result.points[result.fastest_fitting] (when there is one),
/// the lower forward time; a tie goes to the RAM mode (no flash runner to set up).
/// Kind::none when neither fits.
SweepRecommendation recommend(const SweepResult& result);

/// Index of the valid point with the lowest forward time among those with fits_budget; ties
/// go to the smaller ram_used, then the smaller batch_size, then the lower spi_speed_hz.
/// Returns -1 when no point is valid and fits.
int choose_fastest_fitting(const std::vector<SweepPoint>& points);

/// Re-time `model` at every (batch size, SPI speed) of batch x spi in base.mode from
/// base.source, plus one RAM-mode run for the reference line.
/// - No outputs are computed (compute_outputs = false); `input` (model.input.bytes() bytes)
///   is passed to the runs as is.
/// - Every run's budget is the whole general SRAM (6 MiB), so that a point whose buffers do
///   not fit `ram_budget` is still timed: fits_budget = ram_used <= ram_budget. A point
///   whose settings the SoC rejects (batch_size above the largest layer body, an SPI clock
///   the divider cannot make, buffers that do not fit even 6 MiB, ...) is recorded with
///   valid = false and the error's message; nothing is thrown for it.
/// - progress(done, total) is called before the first run and after each run (total =
///   points + 1); it may be empty.
/// @throws InputError if ram_budget is above 6 MiB, or base is invalid whatever the batch
///         size (RunSettings::validate(): a clock of 0 or too high, a lane count not 1/2/4/8).
SweepResult run_sweep(const Model& model, const std::vector<uint8_t>& input, const RunSettings& base,
                      const SweepRange& batch, const SweepRange& spi, uint64_t ram_budget,
                      std::function<void(size_t done, size_t total)> progress = {});

/// Write the points as CSV to `path`: a header row, then the RAM-mode reference (mode "ram";
/// batch_size, spi_speed_hz and spi_actual_hz empty: they do not apply to it), then one row
/// per point in the order of result.points; columns mode, source, batch_size (bytes),
/// spi_speed_hz, spi_actual_hz, forward_ms, load_ms, ram_used_bytes, ram_free_bytes,
/// fits_budget (true/false), valid (true/false), error (quoted as RFC 4180 when needed),
/// recommended (true on the one row recommend() chooses). An invalid row leaves the
/// measurement columns empty. Times in milliseconds rounded to the nanosecond.
/// @throws InputError when the file cannot be written.
void write_sweep_csv(const SweepResult& result, const std::string& path);

/// The sweep as JSON: "schema_version", "kind": "sweep", "model", "config" (mode, source,
/// clocks, lanes, DDR, model address, activation rule, ram_budget_bytes, the swept
/// batch_sizes and spi_speeds_hz), "ram_reference" (valid, forward_ms, load_ms, ram_used_bytes,
/// fits_budget; or valid false and error), "fastest_fitting" (null, or "index" followed by
/// the point's keys: the fastest FLASH setting that fits), "recommended" (null, or "mode":
/// "ram" or the flash mode, "index" (flash; null for ram), "forward_ms" and "reason": see
/// recommend()) and "points": per point batch_size, spi_speed_hz, valid, then either
/// spi_actual_hz, forward_ms, load_ms, ram_used_bytes, ram_free_bytes, fits_budget (valid)
/// or error (invalid). Times in ms rounded to the ns; keys in a fixed order.
nlohmann::ordered_json sweep_json(const SweepResult& result);

/// Write sweep_json() to `path` (2-space indent). @throws InputError when it cannot be written.
void write_sweep_json(const SweepResult& result, const std::string& path);

/// True when a `gnuplot` program is on the PATH.
bool gnuplot_available();

/// Plot forward time (ms) against batch_size (bytes, hex ticks) with one line per SPI speed
/// (labelled with the actual SCK in MHz), a dashed line at the RAM-mode forward time, filled
/// markers for points whose RAM use fits the budget and hollow ones for points over it, a
/// ring on the fastest point that fits, and the model, mode, source and clocks in the title.
/// A sweep of a single batch size is drawn against the actual SCK instead. Invalid points are
/// left out (a note counts them). The format follows the extension of `path`: ".svg" (SVG,
/// 1000x600) or ".png" (PNG, 1000x600, cairo). gnuplot runs on a data file and a script
/// written into a fresh temporary folder, removed afterwards.
/// @throws InputError for another extension, when gnuplot is not installed ("install
///         gnuplot-nox"), when it exits non-zero (with its message) or when there is no valid
///         point to draw.
void plot_sweep(const SweepResult& result, const std::string& path);

/// A one-line progress bar on stderr ("sweep [#####.....]  12/57"), rewritten in place with
/// '\r' and ended with a newline when done == total. Prints nothing unless stderr is a terminal.
void print_progress(size_t done, size_t total);

/// Options of `kpusim sweep` as typed (every number through parse_quantity).
struct SweepOptions {
    std::string model;               ///< kmodel file (required)
    std::string input;               ///< picture or raw file; empty: the test pattern
    std::string mode = "flash-dual"; ///< flash-dual or flash-single
    std::string source = "flash";    ///< flash, psram-qspi, psram-ospi
    std::string batch_range;         ///< FIRST:LAST:STEP or one value, bytes; empty: 0xC000
    std::string spi_range;           ///< FIRST:LAST:STEP or one value, Hz; empty: 80M
    std::string ram_budget = "bare-metal";  ///< preset name or bytes
    std::string cpu_freq = "400M", kpu_freq = "400M";
    std::string csv, json, plot;     ///< output files; empty: not written
    std::string flash_lanes = "4";
};

/// `kpusim sweep`: resolve the options, run the sweep (progress bar on a terminal), print to
/// `out` a table of forward ms per batch_size (rows) x SPI speed (columns) with '*' marking
/// points over the RAM budget and '-' invalid ones, the reasons for invalid points, the RAM
/// mode reference, the fastest flash setting that fits the budget (or that none does) and the
/// recommendation (recommend(): the RAM mode when it fits and is faster); then write the
/// CSV, JSON and plot files asked for ("-": standard output, sim/atomic_file.h). Returns 0.
/// @throws InputError for a bad option (unreadable number or range, unknown mode or source,
///         the RAM mode, more than one batch size with flash-single, more than one SPI speed
///         with a PSRAM source, a budget above 6 MiB), an unreadable model or input, or a
///         file that cannot be written; KmodelError for a malformed model.
int sweep_command(const SweepOptions& options, std::ostream& out);

}  // namespace kpusim
