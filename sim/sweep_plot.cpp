// The sweep plot, drawn by gnuplot.
#include "sim/sweep.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

#include <spdlog/fmt/fmt.h>

#include "models/kmodel_error.h"
#include "sim/atomic_file.h"
#include "sim/sweep_text.h"

namespace kpusim {

using namespace sweep_text;

namespace {

// `s` as a gnuplot string expression that evaluates to exactly `s` and that gnuplot never
// executes or expands: single-quoted pieces (in which gnuplot does no backquote command
// substitution, no macro expansion and no escapes; a quote is written twice), joined with
// '.' to double-quoted octal escapes ("\012") for the control characters a single-quoted
// string cannot hold (newline, carriage return, ...). Double-quoted text would run
// `backquoted` commands, and a raw newline would end the command.
std::string gp_string(const std::string& s) {
    std::string out;
    std::string piece;
    bool open = false;
    auto close_piece = [&] {
        if (!open) return;
        out += (out.empty() ? "'" : ".'") + piece + "'";
        piece.clear();
        open = false;
    };
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f) {
            close_piece();
            out += fmt::format("{}\"\\{:03o}\"", out.empty() ? "" : ".", c);
            continue;
        }
        open = true;
        if (c == '\'') piece += '\'';
        piece += static_cast<char>(c);
    }
    close_piece();
    return out.empty() ? "''" : out;
}
// Paths too: gnuplot accepts a string expression for `set output` and a plot's data file.
std::string gp_path(const std::string& s) { return gp_string(s); }

// Runs gnuplot with `script` as its standard input, its standard error to `errors` and its
// standard output to /dev/null: no shell, and no argument but the program name (found on
// the PATH). Returns the wait status.
int run_gnuplot(const std::filesystem::path& script, const std::filesystem::path& errors) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, script.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, errors.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char program[] = "gnuplot";
    char* argv[] = {program, nullptr};
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw InputError(std::string("plot: cannot start gnuplot: ") + std::strerror(rc));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) throw InputError(std::string("plot: waiting for gnuplot: ") + std::strerror(errno));
    return status;
}

// Temporary folder removed on scope exit.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "kpusim-plot-XXXXXX").string();
        std::vector<char> buf(pattern.begin(), pattern.end());
        buf.push_back('\0');
        if (!mkdtemp(buf.data())) throw InputError("plot: cannot create a temporary folder in " +
                                                   std::filesystem::temp_directory_path().string());
        path = buf.data();
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

}  // namespace

// ---- plot --------------------------------------------------------------------------------

bool gnuplot_available() {
    const char* path = std::getenv("PATH");
    if (!path) return false;
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        if (dir.empty()) dir = ".";
        const std::filesystem::path p = std::filesystem::path(dir) / "gnuplot";
        if (access(p.c_str(), X_OK) == 0) return true;
    }
    return false;
}

void plot_sweep(const SweepResult& r, const std::string& path) {
    const std::string ext = lower(std::filesystem::path(path).extension().string());
    std::string terminal;
    if (ext == ".svg") terminal = "svg size 1000,600 dynamic enhanced font 'Sans,12' background rgb 'white'";
    else if (ext == ".png") terminal = "pngcairo size 1000,600 enhanced font 'Sans,10' background rgb 'white'";
    else throw InputError("plot file '" + path + "': the extension must be .svg or .png");
    if (!gnuplot_available())
        throw InputError("plot: gnuplot is not installed (install gnuplot-nox, e.g. apt-get install gnuplot-nox)");

    const size_t nb = r.batch_sizes.size(), ns = r.spi_speeds.size();
    size_t invalid = 0;
    for (const SweepPoint& p : r.points) invalid += !p.valid;
    if (invalid == r.points.size()) throw InputError("plot: no valid point to draw (every setting was rejected)");

    // One series per distinct SPI behaviour: requested speeds that the divider turns into the
    // same SCK (and so the same times) share a line.
    struct Series {
        uint64_t actual_hz = 0;
        std::vector<uint64_t> asked;
        std::vector<size_t> points;  // indices of valid points, by batch size
    };
    std::vector<Series> series;
    for (size_t j = 0; j < ns; ++j) {
        Series s;
        s.asked = {r.spi_speeds[j]};
        for (size_t i = 0; i < nb; ++i) {
            const size_t k = i * ns + j;
            if (!r.points[k].valid) continue;
            s.actual_hz = r.points[k].spi_actual_hz;
            s.points.push_back(k);
        }
        if (s.points.empty()) continue;
        bool merged = false;
        for (Series& o : series) {
            if (o.actual_hz != s.actual_hz || o.points.size() != s.points.size()) continue;
            bool same = true;
            for (size_t m = 0; m < s.points.size() && same; ++m) {
                const SweepPoint &a = r.points[o.points[m]], &b = r.points[s.points[m]];
                same = a.batch_size == b.batch_size && a.forward_ps == b.forward_ps && a.fits_budget == b.fits_budget;
            }
            if (same) {
                o.asked.push_back(s.asked.front());
                merged = true;
                break;
            }
        }
        if (!merged) series.push_back(std::move(s));
    }
    // One batch size: draw against the SCK instead (a single line).
    const bool against_sck = nb == 1 && ns > 1 && r.base.source == ModelSource::flash;

    TempDir tmp;
    const std::filesystem::path data_path = tmp.path / "sweep.dat";
    const std::filesystem::path script_path = tmp.path / "sweep.gp";
    const std::filesystem::path err_path = tmp.path / "gnuplot.err";
    {
        std::ofstream d(data_path);
        if (against_sck) {
            d << "# sck_mhz forward_ms fits_budget\n";
            for (const SweepPoint& p : r.points)
                if (p.valid)
                    d << fmt::format("{:.6f} {:.6f} {}\n", p.spi_actual_hz / 1e6, ms(p.forward_ps), p.fits_budget ? 1 : 0);
            d << "\n\n";
        } else {
            for (const Series& s : series) {
                d << "# SCK " << s.actual_hz << " Hz: batch_size forward_ms fits_budget\n";
                for (size_t k : s.points)
                    d << fmt::format("{} {:.6f} {}\n", r.points[k].batch_size, ms(r.points[k].forward_ps),
                                     r.points[k].fits_budget ? 1 : 0);
                d << "\n\n";
            }
        }
        if (r.fastest_fitting >= 0) {
            const SweepPoint& f = r.points[static_cast<size_t>(r.fastest_fitting)];
            d << "# fastest that fits\n";
            d << fmt::format("{} {:.6f}\n\n\n", against_sck ? fmt::format("{:.6f}", f.spi_actual_hz / 1e6)
                                                           : std::to_string(f.batch_size),
                             ms(f.forward_ps));
        }
        if (!d) throw InputError("plot: cannot write " + data_path.string());
    }

    static const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};
    const RunSettings& b = r.base;
    double xmin = 0, xmax = 0;
    {
        bool first = true;
        for (const SweepPoint& p : r.points) {
            if (!p.valid) continue;
            const double x = against_sck ? p.spi_actual_hz / 1e6 : static_cast<double>(p.batch_size);
            xmin = first ? x : std::min(xmin, x);
            xmax = first ? x : std::max(xmax, x);
            first = false;
        }
        const double pad = xmax > xmin ? (xmax - xmin) * 0.04 : std::max(1.0, xmin * 0.1);
        xmin -= pad;
        xmax += pad;
    }

    std::ostringstream g;
    g << "set terminal " << terminal << "\n";
    // gnuplot writes a temporary file beside `path`, renamed to it once complete.
    AtomicFile out(path, "plot");
    g << "set output " << gp_path(out.temp_path()) << "\n";
    g << "set encoding utf8\n";
    const std::string model = std::filesystem::path(r.model_path).filename().string();
    const bool projection = b.source != ModelSource::flash || b.flash_lanes == 8 || b.flash_ddr;
    g << "set title " << gp_string(fmt::format("{}: forward time, {}{}\n{}, RAM budget {}",
                                                model.empty() ? "model" : model, mode_title(b),
                                                projection ? " (projection)" : "", clocks_title(b),
                                                kib(b.ram_budget_bytes)))
      << " noenhanced font ',13'\n";
    g << "set ylabel 'forward time (ms)'\n";
    g << "set grid xtics ytics lc rgb '#d8d8d8' lw 1 dt 1\n";
    g << "set border 3\nset tics nomirror\n";
    g << "set key outside right top vertical Left reverse noenhanced spacing 1.25 samplen 2 width -2 "
         "box lc rgb '#bbbbbb'";
    if (!against_sck && b.source == ModelSource::flash) g << " title 'SPI SCK (asked)' left";
    g << "\n";
    g << "set datafile missing 'NaN'\n";
    g << fmt::format("set xrange [{}:{}]\n", xmin, xmax);
    if (against_sck) {
        g << "set xlabel 'SCK (MHz)' noenhanced\n";
    } else {
        g << "set xlabel 'batch_size (bytes)' noenhanced\n";
        // Hex ticks at the swept batch sizes (at most ~10 labels).
        std::vector<uint64_t> xs;
        for (size_t i = 0; i < nb; ++i) {
            bool any = false;
            for (size_t j = 0; j < ns; ++j) any |= r.points[i * ns + j].valid;
            if (any) xs.push_back(r.batch_sizes[i]);
        }
        const size_t every = (xs.size() + 9) / 10;
        g << "set xtics (";
        for (size_t i = 0; i < xs.size(); i += std::max<size_t>(every, 1))
            g << (i ? ", " : "") << gp_string(hex(xs[i])) << " " << xs[i];
        g << ")\n";
    }
    // y from 0 so that the RAM-mode line and the flash lines compare by eye.
    double ymax = r.ram_mode_error.empty() ? ms(r.ram_forward_ps) : 0;
    for (const SweepPoint& p : r.points)
        if (p.valid) ymax = std::max(ymax, ms(p.forward_ps));
    g << fmt::format("set yrange [0:{}]\n", ymax * 1.08);
    g << "set ytics format '%g'\n";
    bool any_over = false;
    for (const SweepPoint& p : r.points) any_over |= p.valid && !p.fits_budget;
    if (invalid > 0)
        g << "set label 1 " << gp_string(fmt::format("{} invalid setting{} not drawn (see the CSV or JSON)", invalid,
                                                    invalid == 1 ? "" : "s"))
          << " at screen 0.01, screen 0.025 left noenhanced tc rgb '#666666'\n";
    g << "set bmargin 4.5\n";

    std::vector<std::string> plots;
    const std::string data = gp_path(data_path.string());
    auto marker_plots = [&](const std::string& idx, const std::string& color) {
        plots.push_back(data + idx + " using 1:($3>0?$2:NaN) with points pt 7 ps 1.1 lc rgb '" + color + "' notitle");
        plots.push_back(data + idx + " using 1:($3>0?NaN:$2) with points pt 6 ps 1.3 lw 1.5 lc rgb '" + color +
                        "' notitle");
    };
    size_t next_index = 0;
    if (against_sck) {
        plots.push_back(data + " index 0 using 1:2 with lines lw 2 lc rgb '" + kColors[0] + "' title " +
                        gp_string(b.mode == RunMode::flash_dual
                                      ? fmt::format("{}, batch_size {}", to_string(b.mode), hex(r.batch_sizes.front()))
                                      : std::string(to_string(b.mode))));
        marker_plots(" index 0", kColors[0]);
        next_index = 1;
    } else {
        for (size_t i = 0; i < series.size(); ++i) {
            const Series& s = series[i];
            std::string asked;
            for (uint64_t a : s.asked) asked += (asked.empty() ? "" : ", ") + short_hz(a);
            std::string label = s.actual_hz ? fmt::format("{} MHz ({})", mhz(static_cast<double>(s.actual_hz)), asked)
                                            : std::string(to_string(b.source));
            const std::string color = kColors[i % (sizeof kColors / sizeof kColors[0])];
            const std::string idx = fmt::format(" index {}", i);
            plots.push_back(data + idx + " using 1:2 with lines lw 2 lc rgb '" + color + "' title " + gp_string(label));
            marker_plots(idx, color);
        }
        next_index = series.size();
    }
    if (r.ram_mode_error.empty()) {
        const bool fits = r.ram_mode_ram_used <= b.ram_budget_bytes;
        plots.push_back(fmt::format("{:.6f} with lines dt 2 lw 2 lc rgb '#000000' title {}", ms(r.ram_forward_ps),
                                    gp_string(fmt::format("RAM mode: {:.2f} ms, {}{}", ms(r.ram_forward_ps),
                                                          kib(r.ram_mode_ram_used), fits ? "" : " (over budget)"))));
    }
    if (r.fastest_fitting >= 0) {
        const SweepPoint& f = r.points[static_cast<size_t>(r.fastest_fitting)];
        plots.push_back(data + fmt::format(" index {}", next_index) +
                        " using 1:2 with points pt 6 ps 3 lw 2 lc rgb '#000000' title " +
                        gp_string(fmt::format("fastest that fits: {:.2f} ms", ms(f.forward_ps))));
    }
    // Key entries that explain the markers.
    uint64_t used_min = UINT64_MAX, used_max = 0;
    for (const SweepPoint& p : r.points)
        if (p.valid) used_min = std::min(used_min, p.ram_used), used_max = std::max(used_max, p.ram_used);
    const std::string used = used_min == used_max ? kib(used_min) : kib(used_min) + " to " + kib(used_max);
    // A valid point fits the budget exactly when there is a fastest fitting one.
    if (r.fastest_fitting >= 0)
        plots.push_back("NaN with points pt 7 ps 1.1 lc rgb '#555555' title " +
                        gp_string(fmt::format("fits the RAM budget ({})", kib(b.ram_budget_bytes))));
    if (any_over)
        plots.push_back("NaN with points pt 6 ps 1.3 lw 1.5 lc rgb '#555555' title " +
                        gp_string(r.fastest_fitting >= 0
                                      ? std::string("over the RAM budget")
                                      : fmt::format("over the RAM budget ({}): none fits", kib(b.ram_budget_bytes))));
    plots.push_back("NaN with lines lc rgb '#ffffff' title " +
                    gp_string(fmt::format("{} RAM use: {}", to_string(b.mode), used)));
    g << "plot ";
    for (size_t i = 0; i < plots.size(); ++i) g << (i ? ", \\\n     " : "") << plots[i];
    g << "\n";
    {
        std::ofstream sf(script_path);
        sf << g.str();
        if (!sf) throw InputError("plot: cannot write " + script_path.string());
    }
    const int status = run_gnuplot(script_path, err_path);
    if (status != 0) {
        std::ifstream ef(err_path);
        std::stringstream msg;
        msg << ef.rdbuf();
        const int code = status > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : status;
        throw InputError("plot: gnuplot failed (exit status " + std::to_string(code) + ") writing '" + path +
                         "': " + msg.str());
    }
    std::error_code ec;
    if (!std::filesystem::exists(out.temp_path(), ec) || std::filesystem::file_size(out.temp_path(), ec) == 0)
        throw InputError("plot: gnuplot wrote no '" + path + "'");
    out.commit();
}

}  // namespace kpusim
