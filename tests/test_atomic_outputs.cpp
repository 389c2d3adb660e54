// Outputs are written atomically (sim/atomic_file.h): a write that fails part-way leaves
// no file (and no temporary), an existing file stays as it was; and the sweep plot hands
// gnuplot no string it could execute (sim/sweep_plot.cpp).
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "models/kmodel_error.h"
#include "sim/atomic_file.h"
#include "sim/sweep.h"
#include "tests/test_support.h"

using namespace kpusim;
namespace fs = std::filesystem;

namespace {

// A fresh empty folder for one test.
fs::path fresh_dir(const std::string& name) {
    const fs::path d = fs::temp_directory_path() / ("kpusim_atomic_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

size_t entries(const fs::path& d) {
    size_t n = 0;
    for (auto it = fs::directory_iterator(d); it != fs::directory_iterator(); ++it) ++n;
    return n;
}

std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// Runs `body` in a child process whose files may not grow past `limit` bytes (as a full
// disk: write() fails with EFBIG part-way); returns the child's exit code.
template <typename F>
int with_file_size_limit(rlim_t limit, F body) {
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        rlimit r{limit, limit};
        setrlimit(RLIMIT_FSIZE, &r);
        _exit(body());
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int run_shell(const std::string& command, std::string* out) {
    FILE* p = popen((command + " 2>&1").c_str(), "r");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
    const int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST(AtomicOutputs, CompleteWriteReplacesTheFile) {
    const fs::path d = fresh_dir("complete");
    const std::string path = (d / "out.txt").string();
    write_file_atomically(path, std::string("first"), "test file");
    write_file_atomically(path, std::string("second, longer"), "test file");
    EXPECT_EQ(slurp(path), "second, longer");
    EXPECT_EQ(entries(d), 1u);  // no temporary left
    fs::remove_all(d);
}

TEST(AtomicOutputs, MissingFolderIsAnErrorNamingTheFile) {
    try {
        write_file_atomically("/nonexistent-kpusim-folder/out.json", std::string("{}"), "JSON report");
        ADD_FAILURE() << "written";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("JSON report '/nonexistent-kpusim-folder/out.json'"), std::string::npos)
            << e.what();
    }
    EXPECT_FALSE(fs::exists("/nonexistent-kpusim-folder"));
}

TEST(AtomicOutputs, WriteFailingPartWayLeavesNothingAndKeepsTheOldFile) {
    const fs::path d = fresh_dir("partway");
    const std::string fresh = (d / "fresh.bin").string(), old = (d / "old.bin").string();
    write_file_atomically(old, std::string("old contents"), "test file");
    const std::string big(100000, 'x');
    const int code = with_file_size_limit(4096, [&] {
        int failures = 0;
        for (const std::string& p : {fresh, old}) {
            try {
                write_file_atomically(p, big, "test file");
            } catch (const InputError& e) {
                failures += std::string(e.what()).find("(write)") != std::string::npos;
            }
        }
        return failures;
    });
    EXPECT_EQ(code, 2);  // both writes failed, in write()
    EXPECT_FALSE(fs::exists(fresh));
    EXPECT_EQ(slurp(old), "old contents");
    EXPECT_EQ(entries(d), 1u);  // only old.bin: no temporary left
    fs::remove_all(d);
}

TEST(AtomicOutputs, AbandonedFileRemovesItsTemporary) {
    const fs::path d = fresh_dir("abandoned");
    {
        AtomicFile f((d / "x.txt").string(), "test file");
        f.write(std::string("partial"));
        EXPECT_TRUE(fs::exists(f.temp_path()));
        EXPECT_EQ(fs::path(f.temp_path()).parent_path(), d);
    }
    EXPECT_EQ(entries(d), 0u);
    fs::remove_all(d);
}

// The command line: with files limited to 2 KiB, --json, --trace and --dump-outputs fail;
// nothing half-written remains and the exit code is 2.
TEST(AtomicOutputs, RunOutputsFailingPartWayLeaveNoFile) {
    const fs::path d = fresh_dir("cli");
    const std::string model = test::shared_path("models/mnist_maixpy_v3/mnist.kmodel");
    const std::string bin = test::kpusim_binary();
    for (const std::string& option : {"--json " + (d / "r.json").string(), "--trace " + (d / "t.json").string(),
                                      "--dump-outputs " + (d / "dump").string()}) {
        std::string out;
        const int code = run_shell("sh -c 'trap \"\" XFSZ; ulimit -f 4; exec \"$0\" \"$@\"' " + bin + " run " +
                                       model + " " + option,
                                   &out);
        if (option.rfind("--dump-outputs", 0) == 0) {
            // The tensors are small (one 10-float output): they fit, and are complete.
            EXPECT_EQ(code, 0) << option << "\n" << out;
            continue;
        }
        EXPECT_EQ(code, 2) << option << "\n" << out;
        EXPECT_NE(out.find("cannot write"), std::string::npos) << out;
    }
    std::string out;
    EXPECT_EQ(run_shell("sh -c 'trap \"\" XFSZ; ulimit -f 4; exec \"$0\" \"$@\"' " + bin + " flash-image " + model +
                            " -o " + (d / "f.img").string(),
                        &out),
              2)
        << out;
    EXPECT_FALSE(fs::exists(d / "f.img"));
    EXPECT_FALSE(fs::exists(d / "r.json"));
    EXPECT_FALSE(fs::exists(d / "t.json"));
    for (const auto& e : fs::recursive_directory_iterator(d))
        EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
    fs::remove_all(d);
}

// A model file name and a plot path with quotes, backquotes and newlines: the plot is drawn
// with the name in its title, and the backquoted commands are not run.
TEST(AtomicOutputs, PlotWithHostileNamesExecutesNothing) {
    if (!gnuplot_available()) GTEST_SKIP() << "gnuplot is not installed";
    const fs::path d = fresh_dir("plot");
    // A file name cannot hold '/': the commands make a marker in the current folder.
    const std::string marker = "kpusim_MARKER_" + std::to_string(::getpid());
    const std::string touch = "`touch " + marker + "`";
    SweepResult r;
    r.base.mode = RunMode::flash_dual;
    r.base.source = ModelSource::flash;
    r.model_path = "/models/it's \"a\" " + touch + "\nname.kmodel";
    r.batch_sizes = {0x4000, 0x8000};
    r.spi_speeds = {40'000'000};
    for (uint64_t b : r.batch_sizes) {
        SweepPoint p;
        p.batch_size = b;
        p.spi_speed_hz = 40'000'000;
        p.spi_actual_hz = 40'000'000;
        p.forward_ps = 1'000'000'000 + b * 1000;
        p.ram_used = b;
        p.fits_budget = true;
        p.valid = true;
        r.points.push_back(p);
    }
    r.ram_forward_ps = 900'000'000;
    r.fastest_fitting = 0;
    const fs::path plot = d / ("plot '\"" + touch + "\nx.svg");
    plot_sweep(r, plot.string());
    EXPECT_FALSE(fs::exists(marker));
    const std::string svg = slurp(plot);
    EXPECT_NE(svg.find("<svg"), std::string::npos);
    // The title holds the name, quotes and backquotes as text (XML-escaped by gnuplot).
    EXPECT_NE(svg.find(touch), std::string::npos);
    EXPECT_NE(svg.find("name.kmodel"), std::string::npos);
    EXPECT_EQ(entries(d), 1u);  // the plot, no temporary, no marker
    fs::remove_all(d);
}
