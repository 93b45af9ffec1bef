// The Runner: starts the learner's program in its own process group with
// captured (capped) stdout/stderr, scripted stdin and a wall-clock timeout
// that kills the whole group. Everything is asynchronous on the Session's
// io_context, so services keep serving while the program runs.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/common.hpp"
#include "runtime/journal.hpp"
#include "runtime/limits.hpp"
#include "runtime/proctree.hpp"

namespace wirelab {

struct ProcessSpec {
    std::vector<std::string> argv;
    /// Complete environment as NAME=value strings.
    std::vector<std::string> env;
    std::optional<std::string> stdin_data;  // nullopt: /dev/null
    std::chrono::milliseconds timeout{20000};
    std::chrono::milliseconds kill_grace{1000};  // SIGTERM, then SIGKILL after this
    std::size_t output_cap = 1 << 20;            // per stream
    std::filesystem::path cwd;                   // empty: inherit
    Limits limits;
    /// An environment entry (NAME=value) unique to the run; it tells the
    /// program's orphans from other processes.
    std::string marker;
    std::string cgroup_name;  // empty: no cgroup (the watchdog caps processes)
    /// Files and directories the program must not see (the journal, the
    /// services' state): covered in a mount namespace of its own where the
    /// machine allows it (isolation::unavailable()).
    std::vector<std::filesystem::path> hidden;
    std::filesystem::path hidden_cover;  // an empty file inside one of the hidden directories
    std::function<micros()> clock;  // the Session's clock (default: since start)
};

/// One run of a program. Owns its pipes and pidfd; the completion handler
/// gets the outcome once the process has exited and its output is drained.
class Process : public std::enable_shared_from_this<Process> {
public:
    Process(asio::io_context& io, ProcessSpec spec);
    ~Process();
    /// Starts the program. A failure to start (no such file, not
    /// executable) is reported through the outcome's start_error.
    void start(std::function<void(CaseOutcome)> done);
    /// Terminates the whole process group now (SIGTERM, then SIGKILL).
    void terminate(const std::string& why);
    /// Sends `sig` to the whole process group (if it is still running).
    void signal(int sig);
    pid_t pid() const { return pid_; }
    bool running() const { return pid_ > 0 && !exited_; }
    /// True once the process has exited, even before its exit has been
    /// processed (it may still be a zombie waiting for us).
    bool has_exited() const;
    /// The program's process tree (null before start).
    ProcessTree* tree();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    pid_t pid_ = -1;
    bool exited_ = false;
    friend struct Impl;
};

/// Formats argv for a person ("python3 'my script.py'").
std::string shell_quote(const std::vector<std::string>& argv);

}  // namespace wirelab
