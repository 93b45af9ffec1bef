// The learner's process tree, seen from /proc: every process the program
// started (pid, parent, command line, start, end, threads), orphans that the
// kernel handed to wirelab (it is a child subreaper), and the cap on live
// processes. A pids cgroup holds the tree where wirelab may create one
// (cgroup v1 or v2); otherwise the tree is found by walking parent links
// and a watchdog enforces the cap. All of it runs on the Session's thread.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "runtime/common.hpp"

namespace wirelab {

/// One process of the learner's tree as the journal's `processes` table
/// holds it.
struct ProcRecord {
    int pid = 0;
    int ppid = 0;
    std::string cmdline;
    micros started_us = 0;
    micros ended_us = -1;          // -1: still running when last seen
    int threads_max = 1;           // most threads seen at once
    bool root = false;             // the program wirelab started
    bool orphaned = false;         // its parent died first; the kernel gave it to wirelab
    bool reaped_by_wirelab = false;  // nobody in the tree waited for it
    bool left_running = false;     // still running when the program exited
    std::optional<int> exit_code, signal;  // known when wirelab reaped it
    unsigned long long start_ticks = 0;    // identity against pid reuse
};

/// A pids cgroup for one run. create() returns null where none can be made
/// (no controller, no permission): callers fall back to the watchdog.
class Cgroup {
public:
    static std::unique_ptr<Cgroup> create(const std::string& name, int pids_max);
    ~Cgroup();  // kills what is left inside and removes the group
    /// A descriptor a child writes "0" to before exec to join the group
    /// (it is not inherited past exec). With cgroup v1 it is the group's
    /// `tasks` file: a single-threaded process that moves only itself does
    /// not take the kernel's threadgroup lock, whose first taking in a
    /// while waits for an RCU grace period (5-20 ms here; 0.04 ms without).
    /// With cgroup v2 it is cgroup.procs.
    int join_fd() const { return join_fd_; }
    /// Whether joining takes the threadgroup lock (cgroup v2's cgroup.procs):
    /// then a CgroupWarmer keeps it fast.
    bool join_locks() const { return join_locks_; }
    std::vector<int> pids() const;
    /// How many forks the cap refused so far.
    long refused() const;
    const std::string& path() const { return path_; }
    void kill_all();

private:
    std::string path_;
    int join_fd_ = -1;
    bool join_locks_ = true;
};

/// Keeps moves into a pids cgroup fast while a Session runs programs, where
/// a move takes the kernel's threadgroup lock for writing (cgroup v2's
/// cgroup.procs; with v1 a child joins through `tasks` without it, and
/// start() returns null): the first move in a while waits for an RCU grace
/// period (5-20 ms), a move within ~15 ms of the last one does not. A child of ours
/// moves itself into a scratch group (wirelab-<pid>-0) and writes itself
/// there again every few milliseconds, so the learner's program moves into
/// its own group in microseconds. It stops kLinger after the last keep(),
/// when wirelab is gone, or when the warmer is destroyed (which reaps it
/// and removes the group).
class CgroupWarmer {
public:
    /// Null where no group can be made (or WIRELAB_NO_CGROUP is set), and
    /// where joining one takes no lock (cgroup v1).
    static std::unique_ptr<CgroupWarmer> start();
    /// A case starts or ended: stay warm for kLinger from now.
    void keep();
    ~CgroupWarmer();
    int pid() const { return pid_; }
    const std::string& path() const { return path_; }
    static constexpr int kLinger_ms = 5000, kPeriod_ms = 5;

private:
    CgroupWarmer() = default;
    int pid_ = -1;
    int keep_fd_ = -1;  // the child's pipe: a byte is a keep(), its closing the end
    std::string path_;
};

class ProcessTree {
public:
    /// `clock` gives the Session's time; `marker` is an environment entry
    /// every learner process inherits (NAME=value), used to recognise
    /// orphans handed to wirelab.
    ProcessTree(pid_t root, std::function<micros()> clock, std::string marker, Cgroup* cgroup);

    /// Re-reads /proc; reaps orphans that have exited. Returns the number of
    /// live processes.
    std::size_t sample();
    /// sample() for the watchdog (no cgroup): first a cheap look at the
    /// machine's task count; if it grew past the cap, the program's group is
    /// stopped (SIGSTOP: a fork bomb stops forking) and counted exactly. A
    /// count over `cap` is returned with the group still stopped, for the
    /// caller to kill; otherwise the group continues.
    std::size_t watch(int cap);
    /// The root's exit status (it is reaped by the Runner).
    void root_exited(std::optional<int> code, std::optional<int> sig);
    /// SIGKILLs every process of the tree until none is left (bounded);
    /// those still running are marked left_running when `left` is true.
    void kill_all(bool left);

    std::vector<int> live_pids() const;
    std::size_t live() const { return live_.size(); }
    std::size_t peak() const { return peak_; }
    std::vector<ProcRecord> records() const;

    /// The process of the tree that holds the socket with this inode open
    /// (the most recently started one if several do); refreshes the tree
    /// once when no known process holds it.
    std::optional<int> owner_of_socket(unsigned long inode);

private:
    bool read_stat(int pid, int& ppid, int& pgid, char& state, int& threads,
                   unsigned long long& start_ticks) const;
    bool is_member_orphan(int pid, int pgid) const;
    bool root_running() const;  // the program, now: not exited, not a zombie
    void add(int pid, int ppid, int threads, unsigned long long ticks);
    void end(int pid, micros t);
    std::optional<int> scan_fds(unsigned long inode) const;

    pid_t root_;
    pid_t self_;
    std::function<micros()> clock_;
    std::string marker_;
    Cgroup* cgroup_;
    std::map<int, ProcRecord> live_;            // by pid
    std::vector<ProcRecord> ended_;
    std::set<int> strangers_;                    // pids seen and known not ours
    std::set<std::pair<int, unsigned long long>> ended_keys_;  // (pid, start) already recorded
    std::size_t peak_ = 0;
    long baseline_tasks_ = -1;
    bool root_reaped_ = false;
    std::optional<int> root_code_, root_sig_;
};

/// Makes this process a child subreaper (orphans of the learner's programs
/// come to wirelab, which reaps them). Idempotent.
void become_subreaper();

}  // namespace wirelab
