// The process tree against real processes (fork, /proc, the kernel's
// subreaper hand-over): an integration test, as it starts processes.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "runtime/proctree.hpp"

using namespace wirelab;

namespace {

micros now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

/// The state letter and parent of a process, from /proc/PID/stat.
bool stat_of(pid_t pid, char& state, pid_t& ppid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = s.rfind(')');
    if (close == std::string::npos || close + 4 >= s.size()) return false;
    state = s[close + 2];
    ppid = std::atoi(s.c_str() + close + 4);
    return true;
}

/// Asks the kernel to hand out low pids next (the pid after `last` that is
/// free). Needs CAP_SYS_ADMIN in the pid namespace.
bool next_pids_low(int last) {
    int fd = ::open("/proc/sys/kernel/ns_last_pid", O_WRONLY);
    if (fd < 0) return false;
    std::string v = std::to_string(last);
    bool ok = ::write(fd, v.data(), v.size()) == static_cast<ssize_t>(v.size());
    ::close(fd);
    return ok;
}

}  // namespace

TEST_CASE("a helper handed to wirelab as the program exits is not an orphan, whatever its pid") {
    // A resource tracker lives until its parent, the program, exits; the
    // kernel then hands it to wirelab. When pids have wrapped, its pid is
    // lower than the program's, and a walk of the tree in pid order meets
    // it while the program's zombie is still listed as running.
    become_subreaper();
    int go[2], back[2];
    REQUIRE(::pipe(go) == 0);
    REQUIRE(::pipe(back) == 0);
    pid_t root = ::fork();
    REQUIRE(root >= 0);
    if (root == 0) {
        ::setpgid(0, 0);  // the program's own group, as the Runner makes it
        char c;
        if (::read(go[0], &c, 1) != 1) ::_exit(2);
        pid_t helper = ::fork();
        if (helper == 0) {
            ::usleep(1500 * 1000);  // outlives the program, as a tracker does
            ::_exit(0);
        }
        if (::write(back[1], &helper, sizeof helper) != sizeof helper) ::_exit(2);
        if (::read(go[0], &c, 1) != 1) ::_exit(2);
        ::_exit(0);
    }
    ProcessTree tree(root, now_us, "", nullptr);
    tree.sample();

    bool low = next_pids_low(299);
    REQUIRE(::write(go[1], "x", 1) == 1);
    pid_t helper = 0;
    REQUIRE(::read(back[0], &helper, sizeof helper) == sizeof helper);
    tree.sample();  // the helper, a child of the program
    REQUIRE(::write(go[1], "x", 1) == 1);

    // The program has exited and is a zombie (not reaped yet); its helper
    // now has this process as its parent.
    char state = 0;
    pid_t ppid = 0;
    for (int i = 0; i < 400; ++i) {
        char hs;
        pid_t hp;
        if (stat_of(root, state, ppid) && state == 'Z' && stat_of(helper, hs, hp) && hp == ::getpid()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    REQUIRE(state == 'Z');
    tree.sample();

    int status = 0;
    REQUIRE(::waitpid(root, &status, 0) == root);
    tree.root_exited(WEXITSTATUS(status), std::nullopt);
    tree.kill_all(true);

    bool seen = false;
    for (const ProcRecord& r : tree.records())
        if (r.pid == helper) {
            seen = true;
            CHECK_FALSE(r.orphaned);
            CHECK(r.left_running);
        }
    CHECK(seen);
    if (!low || helper > root)
        WARN("the helper's pid (" << helper << ") did not come before the program's (" << root
                                  << "): this run tested the usual order only");
    else
        INFO("helper pid " << helper << " < program pid " << root);
    for (int fd : {go[0], go[1], back[0], back[1]}) ::close(fd);
}

namespace {
bool in_group(const std::string& group, int pid) {
    std::ifstream in(group + "/cgroup.procs");
    for (int p; in >> p;)
        if (p == pid) return true;
    return false;
}
}  // namespace

TEST_CASE("a program joins its cgroup with one write; the warmer runs only where joining takes the kernel's lock") {
    auto probe = Cgroup::create("wirelab-" + std::to_string(::getpid()) + "-99", 64);
    if (!probe) {
        WARN("no pids cgroup can be made here: the warmer has nothing to do");
        CHECK(CgroupWarmer::start() == nullptr);
        return;
    }
    // A child joins as the runner's
    // children do ("0": itself), and the whole process is in the group.
    int hold[2];
    REQUIRE(::pipe(hold) == 0);
    pid_t joined = ::fork();
    if (joined == 0) {
        ::close(hold[1]);
        if (::write(probe->join_fd(), "0", 1) != 1) ::_exit(3);
        char c;
        (void)!::read(hold[0], &c, 1);
        ::_exit(0);
    }
    ::close(hold[0]);
    for (int tries = 0; tries < 2000 && !in_group(probe->path(), joined); ++tries) ::usleep(1000);
    CHECK(in_group(probe->path(), joined));
    ::close(hold[1]);
    int joined_status = 0;
    REQUIRE(::waitpid(joined, &joined_status, 0) == joined);
    CHECK(WIFEXITED(joined_status));
    CHECK(WEXITSTATUS(joined_status) == 0);
    bool locks = probe->join_locks();
    std::string parent = probe->path().substr(0, probe->path().rfind('/'));
    probe.reset();
    if (!locks) {
        INFO("cgroup v1: the program joins through tasks, without the lock the warmer is for");
        CHECK(CgroupWarmer::start() == nullptr);
        return;
    }
    std::string scratch = parent + "/wirelab-" + std::to_string(::getpid()) + "-0";
    for (int i = 0; i < 2; ++i) {
        auto w = CgroupWarmer::start();
        REQUIRE(w);
        CHECK(w->path() == scratch);
        int pid = w->pid();
        // It moves itself in as its first act.
        for (int tries = 0; tries < 2000 && !in_group(scratch, pid); ++tries) ::usleep(1000);
        CHECK(in_group(scratch, pid));
        w->keep();
        // Still there after a few of its periods: it waits for keep()s.
        ::usleep(4 * CgroupWarmer::kPeriod_ms * 1000);
        CHECK(::kill(pid, 0) == 0);
        CHECK(in_group(scratch, pid));
        // The case groups made meanwhile work as before.
        auto g = Cgroup::create("wirelab-" + std::to_string(::getpid()) + "-" + std::to_string(i + 1), 64);
        REQUIRE(g);
        pid_t child = ::fork();
        if (child == 0) {
            (void)!::write(g->join_fd(), "0", 1);
            ::_exit(0);
        }
        int status = 0;
        REQUIRE(::waitpid(child, &status, 0) == child);
        CHECK(WIFEXITED(status));
        w.reset();  // reaped, and the group removed
        CHECK(::kill(pid, 0) != 0);
        CHECK(::access(scratch.c_str(), F_OK) != 0);
    }
    // Switched off, there is none.
    ::setenv("WIRELAB_NO_CGROUP", "1", 1);
    CHECK(CgroupWarmer::start() == nullptr);
    ::unsetenv("WIRELAB_NO_CGROUP");
}
