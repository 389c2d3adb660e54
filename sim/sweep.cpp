#include "sim/sweep.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <tuple>

#include <spdlog/fmt/fmt.h>

#include "memory/general_sram.h"
#include "memory/ram_budget.h"
#include "models/kmodel_error.h"
#include "models/kmodel_loader.h"
#include "sim/model_input.h"
#include "sim/soc.h"
#include "sim/units.h"

namespace kpusim {

namespace {

// Milliseconds rounded to the nanosecond (as the run report writes them).
double ms(uint64_t ps) { return static_cast<double>((ps + 500) / 1000) / 1e6; }

std::string hex(uint64_t v) { return fmt::format("0x{:X}", v); }

// "20M", "20500K", "133333333" for requested speeds.
std::string short_hz(uint64_t hz) {
    if (hz != 0 && hz % 1'000'000 == 0) return fmt::format("{}M", hz / 1'000'000);
    if (hz != 0 && hz % 1'000 == 0) return fmt::format("{}K", hz / 1'000);
    return std::to_string(hz);
}

std::string mhz(double hz) { return fmt::format("{:.1f}", hz / 1e6); }

// Clocks for titles: "400", "66.67".
std::string clock_mhz(uint64_t hz) {
    if (hz % 1'000'000 == 0) return std::to_string(hz / 1'000'000);
    return fmt::format("{:.2f}", static_cast<double>(hz) / 1e6);
}

std::string kib(uint64_t bytes) { return fmt::format("{:.0f} KiB", static_cast<double>(bytes) / 1024.0); }

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) {
        if (c == '"') q += '"';
        q += c;
    }
    return q + "\"";
}

// A double-quoted gnuplot string (backslash escapes are processed inside "...").
std::string gp_string(const std::string& s) {
    std::string q = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') q += '\\';
        if (c == '\n') {
            q += "\\n";
            continue;
        }
        q += c;
    }
    return q + "\"";
}

// A single-quoted gnuplot string (no escapes; a quote is doubled): for paths.
std::string gp_path(const std::string& s) {
    std::string q = "'";
    for (char c : s) {
        if (c == '\'') q += '\'';
        q += c;
    }
    return q + "'";
}

uint64_t resolve_ram_budget(const std::string& text) {
    try {
        return memory::preset_bytes(memory::parse_ram_preset(text));
    } catch (const std::invalid_argument&) {
        return parse_quantity(text, "--ram-budget");
    }
}

std::string mode_title(const RunSettings& s) {
    return fmt::format("{} from {}", to_string(s.mode), to_string(s.source));
}

std::string clocks_title(const RunSettings& s) {
    std::string t = fmt::format("CPU {} MHz, KPU {} MHz", clock_mhz(s.cpu_hz), clock_mhz(s.kpu_hz));
    if (s.source == ModelSource::flash)
        t += fmt::format(", {} lane{}{}", s.flash_lanes, s.flash_lanes == 1 ? "" : "s", s.flash_ddr ? " DDR" : "");
    return t;
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

// ---- ranges ------------------------------------------------------------------------------

std::vector<uint64_t> SweepRange::values() const {
    std::vector<uint64_t> v;
    for (uint64_t x = first;; x += step) {
        v.push_back(x);
        if (step == 0 || last - x < step) break;  // the next value would pass `last` (or overflow)
    }
    return v;
}

SweepRange parse_sweep_range(const std::string& text, const std::string& what) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (;;) {
        const size_t colon = text.find(':', start);
        parts.push_back(text.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
        if (colon == std::string::npos) break;
        start = colon + 1;
    }
    const std::string form = " (expected FIRST:LAST:STEP, e.g. 0x4000:0x20000:0x4000 or 20M:80M:10M, or one value)";
    if (parts.size() == 1) {
        const uint64_t v = parse_quantity(parts[0], what);
        return {v, v, 1};
    }
    if (parts.size() != 3)
        throw InputError(what + ": '" + text + "' has " + std::to_string(parts.size()) + " parts" + form);
    SweepRange r{parse_quantity(parts[0], what), parse_quantity(parts[1], what), parse_quantity(parts[2], what)};
    if (r.step == 0) throw InputError(what + ": '" + text + "' has a step of 0" + form);
    if (r.last < r.first)
        throw InputError(what + ": '" + text + "' ends (" + std::to_string(r.last) + ") before it starts (" +
                         std::to_string(r.first) + ")" + form);
    const uint64_t points = (r.last - r.first) / r.step + 1;
    if (points > kMaxSweepPoints)
        throw InputError(what + ": '" + text + "' holds " + std::to_string(points) + " points, more than the " +
                         std::to_string(kMaxSweepPoints) + " a sweep allows");
    return r;
}

// ---- running -----------------------------------------------------------------------------

int choose_fastest_fitting(const std::vector<SweepPoint>& points) {
    int best = -1;
    for (size_t i = 0; i < points.size(); ++i) {
        const SweepPoint& p = points[i];
        if (!p.valid || !p.fits_budget) continue;
        if (best < 0) {
            best = static_cast<int>(i);
            continue;
        }
        const SweepPoint& b = points[static_cast<size_t>(best)];
        const auto key = [](const SweepPoint& x) {
            return std::make_tuple(x.forward_ps, x.ram_used, x.batch_size, x.spi_speed_hz);
        };
        if (key(p) < key(b)) best = static_cast<int>(i);
    }
    return best;
}

SweepResult run_sweep(const Model& model, const std::vector<uint8_t>& input, const RunSettings& base,
                      const SweepRange& batch, const SweepRange& spi, uint64_t ram_budget,
                      std::function<void(size_t, size_t)> progress) {
    if (ram_budget > memory::kGeneralSramSize)
        throw InputError("RAM budget of " + std::to_string(ram_budget) + " bytes is more than the " +
                         std::to_string(memory::kGeneralSramSize) + " bytes of general SRAM");
    RunSettings probe = base;
    probe.batch_size = 1;
    probe.validate();

    SweepResult r;
    r.base = base;
    r.base.ram_budget_bytes = ram_budget;
    r.base.compute_outputs = false;
    r.batch_sizes = batch.values();
    r.spi_speeds = spi.values();
    const size_t total = r.batch_sizes.size() * r.spi_speeds.size() + 1;
    size_t done = 0;
    if (progress) progress(done, total);

    RunSettings s = r.base;
    s.ram_budget_bytes = memory::kGeneralSramSize;  // time points over the budget too

    // The RAM-mode reference (batch size and SPI speed do not apply to it).
    {
        RunSettings ram = s;
        ram.mode = RunMode::ram;
        try {
            const RunResult rr = soc().run(model, input, ram);
            r.ram_forward_ps = rr.timing.forward_ps;
            r.ram_load_ps = rr.timing.load_ps;
            r.ram_mode_ram_used = rr.memory.ram_used;
        } catch (const InputError& e) {
            r.ram_mode_error = e.what();
        } catch (const CapacityError& e) {
            r.ram_mode_error = e.what();
        }
        if (progress) progress(++done, total);
    }

    r.points.reserve(total - 1);
    for (uint64_t b : r.batch_sizes) {
        for (uint64_t hz : r.spi_speeds) {
            SweepPoint p;
            p.batch_size = b;
            p.spi_speed_hz = hz;
            s.batch_size = b;
            s.spi_speed_hz = hz;
            try {
                const RunResult rr = soc().run(model, input, s);
                p.valid = true;
                p.forward_ps = rr.timing.forward_ps;
                p.load_ps = rr.timing.load_ps;
                p.ram_used = rr.memory.ram_used;
                p.ram_free = p.ram_used <= ram_budget ? ram_budget - p.ram_used : 0;
                p.spi_actual_hz = rr.timing.spi_actual_hz;
                p.fits_budget = p.ram_used <= ram_budget;
            } catch (const InputError& e) {
                p.error = e.what();
            } catch (const CapacityError& e) {
                p.error = e.what();
            }
            r.points.push_back(std::move(p));
            if (progress) progress(++done, total);
        }
    }
    r.fastest_fitting = choose_fastest_fitting(r.points);
    return r;
}

// ---- CSV and JSON ------------------------------------------------------------------------

void write_sweep_csv(const SweepResult& r, const std::string& path) {
    std::ofstream f(path);
    if (!f) throw InputError("cannot write CSV file '" + path + "'");
    f << "mode,source,batch_size,spi_speed_hz,spi_actual_hz,forward_ms,load_ms,ram_used_bytes,"
         "ram_free_bytes,fits_budget,valid,error\n";
    const std::string mode = to_string(r.base.mode), source = to_string(r.base.source);
    for (const SweepPoint& p : r.points) {
        f << mode << ',' << source << ',' << p.batch_size << ',' << p.spi_speed_hz << ',';
        if (p.valid)
            f << p.spi_actual_hz << ',' << fmt::format("{:.6f}", ms(p.forward_ps)) << ','
              << fmt::format("{:.6f}", ms(p.load_ps)) << ',' << p.ram_used << ',' << p.ram_free << ','
              << (p.fits_budget ? "true" : "false") << ",true,";
        else
            f << ",,,,,false,false,";
        f << csv_field(p.error) << '\n';
    }
    f.flush();
    if (!f) throw InputError("cannot write CSV file '" + path + "'");
}

namespace {

nlohmann::ordered_json point_json(const SweepPoint& p) {
    nlohmann::ordered_json j;
    j["batch_size"] = p.batch_size;
    j["spi_speed_hz"] = p.spi_speed_hz;
    j["valid"] = p.valid;
    if (p.valid) {
        j["spi_actual_hz"] = p.spi_actual_hz;
        j["forward_ms"] = ms(p.forward_ps);
        j["load_ms"] = ms(p.load_ps);
        j["ram_used_bytes"] = p.ram_used;
        j["ram_free_bytes"] = p.ram_free;
        j["fits_budget"] = p.fits_budget;
    } else {
        j["error"] = p.error;
    }
    return j;
}

}  // namespace

nlohmann::ordered_json sweep_json(const SweepResult& r) {
    const RunSettings& s = r.base;
    nlohmann::ordered_json j;
    j["schema_version"] = kSweepSchemaVersion;
    j["kind"] = "sweep";
    j["model"] = r.model_path;
    j["config"] = {
        {"mode", to_string(s.mode)},
        {"source", to_string(s.source)},
        {"cpu_hz", s.cpu_hz},
        {"kpu_hz", s.kpu_hz},
        {"flash_lanes", s.flash_lanes},
        {"flash_ddr", s.flash_ddr},
        {"model_address", s.model_address},
        {"ram_budget_bytes", s.ram_budget_bytes},
        {"activation_rule", kpu::to_string(s.kpu.activation_rule)},
        {"batch_sizes", r.batch_sizes},
        {"spi_speeds_hz", r.spi_speeds},
    };
    nlohmann::ordered_json ram;
    ram["valid"] = r.ram_mode_error.empty();
    if (r.ram_mode_error.empty()) {
        ram["forward_ms"] = ms(r.ram_forward_ps);
        ram["load_ms"] = ms(r.ram_load_ps);
        ram["ram_used_bytes"] = r.ram_mode_ram_used;
        ram["fits_budget"] = r.ram_mode_ram_used <= s.ram_budget_bytes;
    } else {
        ram["error"] = r.ram_mode_error;
    }
    j["ram_reference"] = ram;
    if (r.fastest_fitting >= 0) {
        nlohmann::ordered_json f;
        f["index"] = r.fastest_fitting;
        const nlohmann::ordered_json point = point_json(r.points[static_cast<size_t>(r.fastest_fitting)]);
        for (const auto& [k, v] : point.items()) f[k] = v;
        j["fastest_fitting"] = f;
    } else {
        j["fastest_fitting"] = nullptr;
    }
    nlohmann::ordered_json points = nlohmann::ordered_json::array();
    for (const SweepPoint& p : r.points) points.push_back(point_json(p));
    j["points"] = points;
    return j;
}

void write_sweep_json(const SweepResult& r, const std::string& path) {
    std::ofstream f(path);
    f << sweep_json(r).dump(2) << "\n";
    f.flush();
    if (!f) throw InputError("cannot write JSON file '" + path + "'");
}

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
    g << "set output " << gp_path(path) << "\n";
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
    const std::string cmd = "gnuplot " + gp_path(script_path.string()) + " 2> " + gp_path(err_path.string());
    const int status = std::system(cmd.c_str());
    if (status != 0) {
        std::ifstream ef(err_path);
        std::stringstream msg;
        msg << ef.rdbuf();
        const int code = status > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : status;
        throw InputError("plot: gnuplot failed (exit status " + std::to_string(code) + ") writing '" + path +
                         "': " + msg.str());
    }
    std::error_code ec;
    if (!std::filesystem::exists(path, ec) || std::filesystem::file_size(path, ec) == 0)
        throw InputError("plot: gnuplot wrote no '" + path + "'");
}

// ---- the command -------------------------------------------------------------------------

void print_progress(size_t done, size_t total) {
    if (!isatty(STDERR_FILENO) || total == 0) return;
    constexpr size_t kWidth = 40;
    const size_t filled = std::min(kWidth, done * kWidth / total);
    std::string bar(filled, '#');
    bar.append(kWidth - filled, '.');
    std::fprintf(stderr, "\rsweep [%s] %zu/%zu", bar.c_str(), done, total);
    if (done >= total) std::fputc('\n', stderr);
    std::fflush(stderr);
}

int sweep_command(const SweepOptions& o, std::ostream& out) {
    if (o.model.empty()) throw InputError("sweep: no model given");
    if (o.mode == "ram" || o.mode == "all")
        throw InputError("--mode " + o.mode + ": a sweep varies the flash runner's batch size and SPI speed; use "
                         "flash-dual or flash-single (the RAM mode is always run as the reference)");
    RunSettings base;
    base.mode = parse_run_mode(o.mode);
    base.source = parse_model_source(o.source);
    base.cpu_hz = parse_quantity(o.cpu_freq, "--cpu-freq");
    base.kpu_hz = parse_quantity(o.kpu_freq, "--kpu-freq");
    const uint64_t lanes = parse_quantity(o.flash_lanes, "--flash-lanes");
    if (lanes > 8) throw InputError("--flash-lanes " + o.flash_lanes + " is not 1, 2, 4 or 8");
    base.flash_lanes = static_cast<uint32_t>(lanes);
    base.compute_outputs = false;
    const uint64_t budget = resolve_ram_budget(o.ram_budget);
    if (budget > memory::kGeneralSramSize)
        throw InputError("--ram-budget " + o.ram_budget + " is more than the " +
                         std::to_string(memory::kGeneralSramSize) + " bytes of general SRAM");
    const SweepRange batch = parse_sweep_range(o.batch_range.empty() ? "0xC000" : o.batch_range, "--batch-size");
    const SweepRange spi = parse_sweep_range(o.spi_range.empty() ? "80M" : o.spi_range, "--spi-speed");
    const uint64_t batch_points = batch.values().size(), spi_points = spi.values().size();
    if (base.mode == RunMode::flash_single && batch_points > 1)
        throw InputError("--batch-size: flash-single reads one layer at a time and has no batch size; give one "
                         "value or use flash-dual");
    if (base.source != ModelSource::flash && spi_points > 1)
        throw InputError(std::string("--spi-speed: the SPI speed does not apply to the ") + to_string(base.source) +
                         " source; give one value or use --source flash");
    for (const std::string* f : {&o.plot}) {
        if (f->empty()) continue;
        const std::string ext = lower(std::filesystem::path(*f).extension().string());
        if (ext != ".svg" && ext != ".png") throw InputError("--plot " + *f + ": the extension must be .svg or .png");
    }

    const Model model = load_kmodel(o.model);
    const std::vector<uint8_t> input = o.input.empty() ? test_pattern(model.input)
                                                       : load_model_input(o.input, model.input);
    SweepResult r = run_sweep(model, input, base, batch, spi, budget, print_progress);
    r.model_path = o.model;

    // Table: forward ms, batch_size rows x SPI speed columns.
    const RunSettings& b = r.base;
    out << fmt::format("model    {}\n", o.model);
    out << fmt::format("sweep    {}; {}; RAM budget {} bytes ({})\n", mode_title(b), clocks_title(b),
                       b.ram_budget_bytes, o.ram_budget);
    if (r.ram_mode_error.empty())
        out << fmt::format("RAM mode forward {:.3f} ms, load {:.3f} ms, RAM used {} bytes{}\n", ms(r.ram_forward_ps),
                           ms(r.ram_load_ps), r.ram_mode_ram_used,
                           r.ram_mode_ram_used <= b.ram_budget_bytes ? "" : " (over the budget)");
    else
        out << "RAM mode: cannot run: " << r.ram_mode_error << "\n";
    const size_t ns = r.spi_speeds.size();
    out << "\nforward ms  (columns: SPI speed asked, actual SCK MHz)\n";
    out << fmt::format("{:<12}", "batch_size");
    for (size_t j = 0; j < ns; ++j) {
        uint64_t actual = 0;
        for (size_t i = 0; i < r.batch_sizes.size() && !actual; ++i) actual = r.points[i * ns + j].spi_actual_hz;
        const std::string head = b.source != ModelSource::flash ? std::string(to_string(b.source))
                                 : actual ? fmt::format("{} ({})", short_hz(r.spi_speeds[j]), mhz(static_cast<double>(actual)))
                                          : short_hz(r.spi_speeds[j]);
        out << fmt::format(" {:>13}", head);
    }
    out << "\n";
    bool any_over = false, any_invalid = false;
    for (size_t i = 0; i < r.batch_sizes.size(); ++i) {
        out << fmt::format("{:<12}", b.mode == RunMode::flash_single ? std::string("-") : hex(r.batch_sizes[i]));
        for (size_t j = 0; j < ns; ++j) {
            const SweepPoint& p = r.points[i * ns + j];
            std::string cell = "-";
            if (p.valid) cell = fmt::format("{:.3f}{}", ms(p.forward_ps), p.fits_budget ? " " : "*");
            else any_invalid = true;
            any_over |= p.valid && !p.fits_budget;
            out << fmt::format(" {:>13}", cell);
        }
        out << "\n";
    }
    if (any_over) out << "* over the RAM budget\n";
    if (any_invalid) {
        out << "- invalid:\n";
        std::vector<std::pair<std::string, std::vector<size_t>>> reasons;
        for (size_t k = 0; k < r.points.size(); ++k) {
            if (r.points[k].valid) continue;
            auto it = std::find_if(reasons.begin(), reasons.end(),
                                   [&](const auto& x) { return x.first == r.points[k].error; });
            if (it == reasons.end()) reasons.push_back({r.points[k].error, {k}});
            else it->second.push_back(k);
        }
        for (const auto& [why, ks] : reasons) {
            const SweepPoint& p = r.points[ks.front()];
            out << fmt::format("  batch_size {}, SPI {}{}: {}\n", hex(p.batch_size), short_hz(p.spi_speed_hz),
                               ks.size() > 1 ? fmt::format(" (and {} more)", ks.size() - 1) : "", why);
        }
    }
    if (r.fastest_fitting >= 0) {
        const SweepPoint& f = r.points[static_cast<size_t>(r.fastest_fitting)];
        std::string setting;
        if (b.mode == RunMode::flash_dual)
            setting = fmt::format("batch_size {} ({} bytes)", hex(f.batch_size), f.batch_size);
        if (b.source == ModelSource::flash)
            setting += fmt::format("{}SPI {} (SCK {} MHz)", setting.empty() ? "" : ", ", short_hz(f.spi_speed_hz),
                                   mhz(static_cast<double>(f.spi_actual_hz)));
        if (setting.empty()) setting = to_string(b.source);
        out << fmt::format("\nfastest that fits the budget: {}: forward {:.3f} ms, load {:.3f} ms, RAM used {} of {} "
                           "bytes\n",
                           setting, ms(f.forward_ps), ms(f.load_ps), f.ram_used, b.ram_budget_bytes);
    } else {
        out << fmt::format("\nno setting fits the RAM budget of {} bytes\n", b.ram_budget_bytes);
    }

    if (!o.csv.empty()) {
        write_sweep_csv(r, o.csv);
        out << "wrote " << o.csv << "\n";
    }
    if (!o.json.empty()) {
        write_sweep_json(r, o.json);
        out << "wrote " << o.json << "\n";
    }
    if (!o.plot.empty()) {
        plot_sweep(r, o.plot);
        out << "wrote " << o.plot << "\n";
    }
    return 0;
}

}  // namespace kpusim
