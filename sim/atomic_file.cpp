#include "sim/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "models/kmodel_error.h"

namespace kpusim {

namespace {

std::atomic<unsigned> g_counter{0};

// Standard output, for write_file_atomically(kStandardOutput, ...).
void write_standard_output(const void* data, size_t size, const std::string& what) {
    if (size != 0 && std::fwrite(data, 1, size, stdout) != size)
        throw InputError("cannot write " + what + " to standard output: " + std::strerror(errno));
    if (std::fflush(stdout) != 0)
        throw InputError("cannot write " + what + " to standard output: " + std::strerror(errno));
}

}  // namespace

bool is_standard_output(const std::string& path) { return path == kStandardOutput; }

AtomicFile::AtomicFile(std::string path, std::string what) : path_(std::move(path)), what_(std::move(what)) {
    if (is_standard_output(path_))
        throw InputError("cannot write " + what_ + " to standard output ('-'): give a file name");
    const std::filesystem::path p(path_);
    if (p.filename().empty()) throw InputError("cannot write " + what_ + " '" + path_ + "': not a file name");
    const std::filesystem::path folder = p.parent_path();
    for (int attempt = 0; attempt < 100; ++attempt) {
        const std::string name = "." + p.filename().string() + ".tmp-" + std::to_string(getpid()) + "-" +
                                 std::to_string(g_counter++);
        temp_ = (folder.empty() ? std::filesystem::path(name) : folder / name).string();
        fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd_ >= 0) return;
        if (errno != EEXIST) break;
    }
    const int error = errno;
    temp_.clear();
    throw InputError("cannot write " + what_ + " '" + path_ + "': " + std::strerror(error));
}

AtomicFile::~AtomicFile() {
    if (done_) return;
    if (fd_ >= 0) ::close(fd_);
    if (!temp_.empty()) ::unlink(temp_.c_str());
}

void AtomicFile::fail(const std::string& step, int error) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    ::unlink(temp_.c_str());
    done_ = true;
    throw InputError("cannot write " + what_ + " '" + path_ + "' (" + step + "): " + std::strerror(error));
}

void AtomicFile::write(const void* data, size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd_, p, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("write", errno);
        }
        p += n;
        size -= static_cast<size_t>(n);
    }
}

void AtomicFile::commit() {
    if (::fsync(fd_) != 0) fail("fsync", errno);
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
        const int error = errno;
        fd_ = -1;
        fail("close", error);
    }
    if (::rename(temp_.c_str(), path_.c_str()) != 0) fail("rename", errno);
    done_ = true;
}

void write_file_atomically(const std::string& path, std::string_view contents, const std::string& what) {
    if (is_standard_output(path)) return write_standard_output(contents.data(), contents.size(), what);
    AtomicFile f(path, what);
    f.write(contents);
    f.commit();
}

void write_file_atomically(const std::string& path, const std::vector<uint8_t>& contents,
                           const std::string& what) {
    if (is_standard_output(path)) return write_standard_output(contents.data(), contents.size(), what);
    AtomicFile f(path, what);
    f.write(contents.data(), contents.size());
    f.commit();
}

}  // namespace kpusim
