#include "runtime/isolation.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace wirelab::isolation {

namespace {
bool write_file(const char* path, const std::string& text) {
    int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    return ok;
}

/// A user namespace in which we keep our own uid and gid (and, with it, a
/// mount namespace), as an unprivileged process may.
bool enter_user_namespace(const std::string& uid_map, const std::string& gid_map) {
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return false;
    return write_file("/proc/self/setgroups", "deny") && write_file("/proc/self/uid_map", uid_map) &&
           write_file("/proc/self/gid_map", gid_map);
}

const char* kSteps[] = {"", "a user namespace", "private mounts", "covering a directory", "covering a file",
                        "making a cover read-only", "locking the covers (a second user namespace)"};
}  // namespace

Plan::Plan(const std::vector<std::filesystem::path>& paths, const std::filesystem::path& cover) {
    // A regular file, not /dev/null: a write to a device is allowed on a
    // read-only mount (and vanishes); to a file it fails, as it should.
    {
        std::error_code ec;
        cover_ = std::filesystem::absolute(cover, ec).string();
        int fd = ::open(cover_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0444);
        if (fd >= 0) ::close(fd);
    }
    for (const auto& p : paths) {
        std::error_code ec;
        auto st = std::filesystem::status(p, ec);
        if (ec) continue;
        std::string abs = std::filesystem::absolute(p, ec).string();
        if (std::filesystem::is_directory(st))
            dirs_.push_back(abs);
        else if (std::filesystem::exists(st))
            files_.push_back(abs);
    }
    uid_map_ = std::to_string(::geteuid()) + " " + std::to_string(::geteuid()) + " 1\n";
    gid_map_ = std::to_string(::getegid()) + " " + std::to_string(::getegid()) + " 1\n";
}

int Plan::apply() const {
    if (empty()) return 0;
    // The uid map is written through /proc/self, which a non-dumpable
    // process (wirelab is one, see before_apply()) does not own.
    ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    if (!enter_user_namespace(uid_map_, gid_map_)) return 1;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 2;
    // Files first: one may be inside a directory about to be covered.
    for (const auto& f : files_) {
        if (::mount(cover_.c_str(), f.c_str(), nullptr, MS_BIND, nullptr) != 0) return 4;
        if (::mount(nullptr, f.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0) return 5;
    }
    for (const auto& d : dirs_)
        if (::mount("wirelab", d.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555") != 0)
            return 3;
    // Mounts handed down to a less privileged namespace are locked: from
    // there they cannot be unmounted to uncover what is under them.
    if (!enter_user_namespace(uid_map_, gid_map_)) return 6;
    return 0;
}

namespace {
std::mutex mu;
std::optional<std::string> verdict;  // guarded by mu
bool closed = false;                 // wirelab not dumpable; guarded by mu
}  // namespace

bool worth_trying() {
    std::lock_guard lock(mu);
    return !verdict || verdict->empty();
}

void before_apply() {
    std::lock_guard lock(mu);
    if (closed) return;
    // Before the fork, not after the exec: our own /proc/PID/fd would be a
    // way around the covers from the program's first instruction.
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    closed = true;
#if defined(__SANITIZE_ADDRESS__)
    // LeakSanitizer's check at exit ptraces our own threads, which a
    // non-dumpable process refuses; by then the programs are gone.
    static const bool once = [] { return std::atexit([] { ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0); }) == 0; }();
    (void)once;
#endif
}

void learned(int step, int err) {
    std::lock_guard lock(mu);
    if (step == 0) {
        verdict = std::string();
        return;
    }
    verdict = std::string(kSteps[step < 7 ? step : 0]) + ": " + std::strerror(err);
    ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    closed = false;
}

std::optional<std::string> known() {
    std::lock_guard lock(mu);
    return verdict;
}

}  // namespace wirelab::isolation
