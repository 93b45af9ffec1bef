#include "runtime/runner.hpp"

#include "runtime/errors.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
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
    asio::steady_timer deadline, kill_timer, drain_timer;
    int open_streams = 0;
    bool finished = false;
    char out_buf[16384], err_buf[16384];

    Impl(Process& p, asio::io_context& io_, ProcessSpec s)
        : self(p), io(io_), spec(std::move(s)), out_pipe(io), err_pipe(io), in_pipe(io),
          pidfd(io), deadline(io), kill_timer(io), drain_timer(io) {}

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
        // Whatever the program left running in its group goes now.
        signal_group(SIGKILL);
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

    pid_t pid = ::fork();
    if (pid < 0) {
        if (devnull >= 0) ::close(devnull);
        throw EnvError(std::string("cannot start a process: ") + std::strerror(errno),
                       "the machine may be out of processes or memory");
    }
    if (pid == 0) {
        // Child: only async-signal-safe calls from here to exec.
        ::setpgid(0, 0);
        sigset_t all;
        sigemptyset(&all);
        ::sigprocmask(SIG_SETMASK, &all, nullptr);
        for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGCHLD, SIGHUP, SIGQUIT}) ::signal(s, SIG_DFL);
        ::dup2(devnull >= 0 ? devnull : in.r, 0);
        ::dup2(out.w, 1);
        ::dup2(err.w, 2);
        if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
            int e = errno;
            (void)!::write(status.w, &e, sizeof e);
            ::_exit(127);
        }
        ::execvpe(argv[0], argv.data(), envp.data());
        int e = errno;
        (void)!::write(status.w, &e, sizeof e);
        ::_exit(127);
    }
    pid_ = pid;
    ::setpgid(pid, pid);  // also in the parent, so the group exists before any kill
    if (devnull >= 0) ::close(devnull);
    status.close_w();
    int child_errno = 0;
    ssize_t n;
    do n = ::read(status.r, &child_errno, sizeof child_errno);
    while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof child_errno)) {
        ::waitpid(pid, nullptr, 0);
        exited_ = true;
        m.outcome.start_error = "cannot run `" + m.spec.argv[0] + "`: " + std::strerror(child_errno);
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
    m.wait_exit();
    m.deadline.expires_after(m.spec.timeout);
    m.deadline.async_wait([this, keep](error_code ec) {
        if (ec || exited_) return;
        impl_->outcome.timed_out = true;
        terminate("timeout");
    });
}

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
