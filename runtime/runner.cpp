#include "runtime/runner.hpp"

#include "runtime/errors.hpp"
#include "runtime/isolation.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace wirelab {

namespace {

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

struct Pipe {
    int r = -1, w = -1;
    void open() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0)
            throw EnvError(std::string("cannot create a pipe: ") + std::strerror(errno),
                           "too many open files? raise `ulimit -n`");
        r = fds[0], w = fds[1];
    }
    void close_r() { if (r >= 0) ::close(r), r = -1; }
    void close_w() { if (w >= 0) ::close(w), w = -1; }
    ~Pipe() { close_r(), close_w(); }
};

}  // namespace

std::string shell_quote(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& a : argv) {
        if (!out.empty()) out += ' ';
        bool plain = !a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
                                                       "OPQRSTUVWXYZ0123456789-_./=:,+@%") ==
                                       std::string::npos;
        if (plain) {
            out += a;
        } else {
            out += '\'';
            for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
            out += '\'';
        }
    }
    return out;
}

struct Process::Impl {
    Process& self;
    asio::io_context& io;
    ProcessSpec spec;
    std::function<void(CaseOutcome)> done;
    CaseOutcome outcome;
    asio::posix::stream_descriptor out_pipe, err_pipe, in_pipe, pidfd;
    asio::steady_timer deadline, kill_timer, drain_timer, sample_timer;
    std::unique_ptr<Cgroup> cgroup;
    std::unique_ptr<ProcessTree> tree;
    int open_streams = 0;
    bool finished = false;
    char out_buf[16384], err_buf[16384];

    Impl(Process& p, asio::io_context& io_, ProcessSpec s)
        : self(p), io(io_), spec(std::move(s)), out_pipe(io), err_pipe(io), in_pipe(io),
          pidfd(io), deadline(io), kill_timer(io), drain_timer(io), sample_timer(io) {
        if (!spec.clock) {
            auto t0 = std::chrono::steady_clock::now();
            spec.clock = [t0] {
                return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
                    .count();
            };
        }
    }

    /// Stops the whole tree because a limit was hit; the first limit wins.
    void hit_limit(const std::string& kind, const std::string& words) {
        if (!outcome.limit.empty() || self.exited_) return;
        outcome.limit = kind;
        outcome.limit_detail = words;
        if (tree) tree->kill_all(false);
        signal_group(SIGKILL);
    }

    void watch() {
        sample_timer.expires_after(std::chrono::milliseconds(10));
        sample_timer.async_wait([this, keep = self.shared_from_this()](error_code ec) {
            if (ec || self.exited_ || !tree) return;
            int cap = spec.limits.processes;
            std::size_t n = tree->watch(cap);
            long refused = cgroup ? cgroup->refused() : 0;
            if (refused > 0)
                hit_limit("processes", "your program tried to run more than " + std::to_string(cap) +
                                           " processes at once (" + std::to_string(refused) +
                                           " forks were refused); the lab allows " + std::to_string(cap));
            else if (cap > 0 && n > static_cast<std::size_t>(cap))
                hit_limit("processes", "your program started " + std::to_string(n) +
                                           " processes at once; the lab allows " + std::to_string(cap));
            watch();
        });
    }

    /// After the exit: limits the kernel enforced, told by the signal or
    /// by the error Python printed.
    void explain_exit() {
        if (!outcome.limit.empty() || outcome.timed_out) return;
        const Limits& l = spec.limits;
        std::int64_t cpu_us = outcome.cpu_user_us + outcome.cpu_sys_us;
        // Words Python prints count only when the program failed with them.
        bool failed = (outcome.exit_code && *outcome.exit_code != 0) || outcome.signal;
        auto says = [&](const char* text) { return failed && outcome.err.find(text) != std::string::npos; };
        if (l.cpu_s && (outcome.signal == SIGXCPU ||
                        (outcome.signal == SIGKILL && cpu_us >= static_cast<std::int64_t>(*l.cpu_s * 1e6)))) {
            outcome.limit = "cpu";
            outcome.limit_detail = "your program used more than " + number(*l.cpu_s) +
                                   " s of CPU time; the lab allows " + number(*l.cpu_s) + " s";
        } else if (l.file_size_mb && (outcome.signal == SIGXFSZ || says("File too large"))) {
            outcome.limit = "file_size";
            outcome.limit_detail = "your program wrote a file larger than " + std::to_string(*l.file_size_mb) +
                                   " MB; the lab allows " + std::to_string(*l.file_size_mb) + " MB";
        } else if (l.memory_mb && (says("MemoryError") || says("Cannot allocate memory"))) {
            outcome.limit = "memory";
            outcome.limit_detail = "your program ran out of memory: the lab allows " +
                                   std::to_string(*l.memory_mb) + " MB per process";
        } else if (l.open_files && says("Too many open files")) {
            outcome.limit = "open_files";
            outcome.limit_detail = "your program opened more than " + std::to_string(*l.open_files) +
                                   " files or sockets at once (are they closed?); the lab allows " +
                                   std::to_string(*l.open_files);
        }
    }

    static std::string number(double v) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", v);
        return buf;
    }

    void read(asio::posix::stream_descriptor& d, char* buf, std::string& into,
              std::int64_t& count, bool& truncated, std::shared_ptr<Process> keep) {
        d.async_read_some(asio::buffer(buf, sizeof out_buf),
                          [this, &d, buf, &into, &count, &truncated, keep](error_code ec,
                                                                           std::size_t n) {
                              if (n) {
                                  count += static_cast<std::int64_t>(n);
                                  std::size_t room =
                                      into.size() < spec.output_cap ? spec.output_cap - into.size() : 0;
                                  into.append(buf, std::min(n, room));
                                  if (n > room) truncated = true;
                                  std::uint64_t total =
                                      static_cast<std::uint64_t>(outcome.out_bytes + outcome.err_bytes);
                                  if (spec.limits.output_mb && total > spec.limits.output_mb << 20)
                                      hit_limit("output", "your program wrote more than " +
                                                              std::to_string(spec.limits.output_mb) +
                                                              " MB of output; the lab allows " +
                                                              std::to_string(spec.limits.output_mb) + " MB");
                              }
                              if (ec) {
                                  error_code ignored;
                                  d.close(ignored);
                                  --open_streams;
                                  maybe_finish();
                                  return;
                              }
                              read(d, buf, into, count, truncated, keep);
                          });
    }

    void signal_group(int sig) {
        if (self.pid_ > 0) ::kill(-self.pid_, sig);
    }

    void on_exit() {
        int status = 0;
        pid_t r;
        struct rusage ru {};
        do r = ::wait4(self.pid_, &status, WNOHANG, &ru);
        while (r < 0 && errno == EINTR);
        if (r == 0) {  // spurious wake-up: wait again
            wait_exit();
            return;
        }
        self.exited_ = true;
        if (r > 0) {
            if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
            if (WIFSIGNALED(status)) outcome.signal = WTERMSIG(status);
            outcome.cpu_user_us = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec;
            outcome.cpu_sys_us = ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
        }
        deadline.cancel();
        kill_timer.cancel();
        sample_timer.cancel();
        // Whatever the program left running goes now: its group, and what
        // escaped it (setsid) but is still in its tree.
        if (!tree) signal_group(SIGKILL);
        if (tree) {
            tree->root_exited(outcome.exit_code, outcome.signal);
            tree->kill_all(true);
            outcome.processes = tree->records();
            outcome.processes_peak = tree->peak();
        }
        cgroup.reset();
        explain_exit();
        error_code ignored;
        pidfd.close(ignored);
        // Output still in the pipes is drained; a grandchild holding them
        // open (escaped with setsid) does not keep us waiting.
        drain_timer.expires_after(std::chrono::milliseconds(300));
        drain_timer.async_wait([this, keep = self.shared_from_this()](error_code ec) {
            if (ec) return;
            error_code ig;
            out_pipe.close(ig);
            err_pipe.close(ig);
        });
        maybe_finish();
    }

    void wait_exit() {
        pidfd.async_wait(asio::posix::stream_descriptor::wait_read,
                         [this, keep = self.shared_from_this()](error_code ec) {
                             if (ec == asio::error::operation_aborted && !pidfd.is_open()) return;
                             on_exit();
                         });
    }

    void maybe_finish() {
        if (finished || !self.exited_ || open_streams > 0) return;
        finished = true;
        drain_timer.cancel();
        error_code ignored;
        in_pipe.close(ignored);
        if (done) {
            auto d = std::move(done);
            d(std::move(outcome));
        }
    }
};

Process::Process(asio::io_context& io, ProcessSpec spec)
    : impl_(std::make_unique<Impl>(*this, io, std::move(spec))) {}

Process::~Process() {
    if (pid_ > 0 && !exited_) {
        ::kill(-pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
}

void Process::start(std::function<void(CaseOutcome)> done) {
    Impl& m = *impl_;
    m.done = std::move(done);
    if (m.spec.argv.empty()) throw EnvError("no program to run");

    Pipe in, out, err, status;
    in.open(), out.open(), err.open(), status.open();

    std::vector<char*> argv, envp;
    for (auto& a : m.spec.argv) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : m.spec.env) envp.push_back(e.data());
    envp.push_back(nullptr);
    int devnull = -1;
    if (!m.spec.stdin_data) devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    std::string cwd = m.spec.cwd.string();
    become_subreaper();
    if (!m.spec.cgroup_name.empty()) m.cgroup = Cgroup::create(m.spec.cgroup_name, m.spec.limits.processes);
    const int cg_fd = m.cgroup ? m.cgroup->join_fd() : -1;
    struct Rl {
        int resource;
        rlim_t soft, hard;
    };
    std::vector<Rl> rls;
    const Limits& lim = m.spec.limits;
    if (lim.cpu_s) {
        auto s = static_cast<rlim_t>(std::ceil(*lim.cpu_s));
        rls.push_back({RLIMIT_CPU, s, s + 1});
    }
#if !defined(__SANITIZE_ADDRESS__)
    if (lim.memory_mb) rls.push_back({RLIMIT_AS, *lim.memory_mb << 20, *lim.memory_mb << 20});
#else
    // AddressSanitizer reserves terabytes of address space at start, so
    // under it a limited program could not run wirelab (a tool's shim is
    // wirelab itself): the asan build leaves the address space alone.
#endif
    if (lim.open_files) rls.push_back({RLIMIT_NOFILE, *lim.open_files, *lim.open_files});
    if (lim.file_size_mb) rls.push_back({RLIMIT_FSIZE, *lim.file_size_mb << 20, *lim.file_size_mb << 20});

    // The covers are tried in the program's own child, before its exec: a
    // machine that refuses them is known from the first program's attempt
    // (which exits, and the program is started again without them), not
    // from a probe of its own before every run (a fork, ~1.3 ms).
    isolation::Plan hide;
    if (!m.spec.hidden.empty() && isolation::worth_trying()) hide = isolation::Plan(m.spec.hidden, m.spec.hidden_cover);

spawn:
    if (!hide.empty()) isolation::before_apply();
    pid_t pid = ::fork();
    if (pid < 0) {
        if (devnull >= 0) ::close(devnull);
        throw EnvError(std::string("cannot start a process: ") + std::strerror(errno),
                       "the machine may be out of processes or memory");
    }
    if (pid == 0) {
        // Child: only async-signal-safe calls from here to exec.
        ::setpgid(0, 0);
        if (cg_fd >= 0) {
            // Into the run's cgroup before anything else can fork: "0" is
            // the writer itself, the only thread of this process.
            (void)!::write(cg_fd, "0", 1);
        }
        for (const Rl& r : rls) {
            rlimit cur{};
            ::getrlimit(r.resource, &cur);
            rlimit want{std::min(r.soft, cur.rlim_max), std::min(r.hard, cur.rlim_max)};
            ::setrlimit(r.resource, &want);
        }
        sigset_t all;
        sigemptyset(&all);
        ::sigprocmask(SIG_SETMASK, &all, nullptr);
        for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGCHLD, SIGHUP, SIGQUIT, SIGXFSZ}) ::signal(s, SIG_DFL);
        if (int step = hide.apply()) {
            int msg[2] = {step, errno};
            (void)!::write(status.w, msg, sizeof msg);
            ::_exit(127);
        }
        ::dup2(devnull >= 0 ? devnull : in.r, 0);
        ::dup2(out.w, 1);
        ::dup2(err.w, 2);
        if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
            int msg[2] = {0, errno};
            (void)!::write(status.w, msg, sizeof msg);
            ::_exit(127);
        }
        ::execvpe(argv[0], argv.data(), envp.data());
        int msg[2] = {0, errno};
        (void)!::write(status.w, msg, sizeof msg);
        ::_exit(127);
    }
    ::setpgid(pid, pid);  // also in the parent, so the group exists before any kill
    status.close_w();
    // Nothing to read: the exec happened. Else {0, errno}: the program could
    // not be run; {step, errno}: the covers could not be made.
    int child[2] = {0, 0};
    ssize_t n;
    do n = ::read(status.r, child, sizeof child);
    while (n < 0 && errno == EINTR);
    if (!hide.empty()) {
        bool refused = n == static_cast<ssize_t>(sizeof child) && child[0] > 0;
        isolation::learned(refused ? child[0] : 0, child[1]);
        if (refused) {
            ::waitpid(pid, nullptr, 0);
            hide = isolation::Plan();
            status.close_r();
            status.open();
            goto spawn;
        }
    }
    pid_ = pid;
    if (devnull >= 0) ::close(devnull);
    if (n == static_cast<ssize_t>(sizeof child)) {
        ::waitpid(pid, nullptr, 0);
        exited_ = true;
        m.outcome.start_error = "cannot run `" + m.spec.argv[0] + "`: " + std::strerror(child[1]);
        m.finished = true;
        auto d = std::move(m.done);
        d(std::move(m.outcome));
        return;
    }
    m.outcome.pid = pid;

    int pfd = pidfd_open(pid);
    if (pfd < 0) {
        ::kill(-pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        exited_ = true;
        throw EnvError(std::string("pidfd_open failed: ") + std::strerror(errno),
                       "wirelab needs Linux 5.3 or newer");
    }
    m.pidfd.assign(pfd);
    m.out_pipe.assign(out.r), out.r = -1;
    m.err_pipe.assign(err.r), err.r = -1;
    auto keep = shared_from_this();
    m.open_streams = 2;
    m.read(m.out_pipe, m.out_buf, m.outcome.out, m.outcome.out_bytes, m.outcome.out_truncated, keep);
    m.read(m.err_pipe, m.err_buf, m.outcome.err, m.outcome.err_bytes, m.outcome.err_truncated, keep);
    if (m.spec.stdin_data) {
        ::fcntl(in.w, F_SETFL, ::fcntl(in.w, F_GETFL) | O_NONBLOCK);
        m.in_pipe.assign(in.w), in.w = -1;
        asio::async_write(m.in_pipe, asio::buffer(*m.spec.stdin_data),
                          [this, keep](error_code, std::size_t) {
                              error_code ig;
                              impl_->in_pipe.close(ig);
                          });
    }
    m.tree = std::make_unique<ProcessTree>(pid, m.spec.clock, m.spec.marker, m.cgroup.get());
    m.watch();
    m.wait_exit();
    m.deadline.expires_after(m.spec.timeout);
    m.deadline.async_wait([this, keep](error_code ec) {
        if (ec || exited_) return;
        impl_->outcome.timed_out = true;
        terminate("timeout");
    });
}

ProcessTree* Process::tree() { return impl_->tree.get(); }

bool Process::has_exited() const {
    if (pid_ <= 0 || exited_) return true;
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
    return info.si_pid != 0;
}

void Process::signal(int sig) {
    if (pid_ > 0 && !exited_) impl_->signal_group(sig);
}

void Process::terminate(const std::string&) {
    if (pid_ <= 0 || exited_) return;
    impl_->signal_group(SIGTERM);
    impl_->kill_timer.expires_after(impl_->spec.kill_grace);
    impl_->kill_timer.async_wait([this, keep = shared_from_this()](error_code ec) {
        if (ec || exited_) return;
        impl_->signal_group(SIGKILL);
    });
}

}  // namespace wirelab
