#include "runtime/replicas.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include <boost/asio/read.hpp>

#include "runtime/errors.hpp"
#include "runtime/journal.hpp"

namespace wirelab {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string self_exe() {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) throw EnvError("cannot find the wirelab executable (/proc/self/exe) to start replicas");
    buf[n] = 0;
    return buf;
}

std::string log_tail(const fs::path& file) {
    std::ifstream in(file);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    if (s.size() > 2000) s = "…" + s.substr(s.size() - 2000);
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s.empty() ? "(nothing on its stderr)" : s;
}

std::string status_words(int status) {
    if (WIFSIGNALED(status)) return std::string("killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
                                    ::strsignal(WTERMSIG(status)) + ")";
    return "exited with status " + std::to_string(WEXITSTATUS(status));
}

}  // namespace

ReplicaSet::ReplicaSet(asio::io_context& io, Journal& journal, ReplicaSetOptions opt)
    : io_(io), journal_(journal), opt_(std::move(opt)) {
    replicas_.resize(static_cast<std::size_t>(opt_.count));
    endpoints_.resize(static_cast<std::size_t>(opt_.count));
}

ReplicaSet::~ReplicaSet() {
    for (auto& r : replicas_) {
        if (r.pid > 0) {
            ::kill(r.pid, SIGKILL);
            ::waitpid(r.pid, nullptr, 0);
        }
        if (r.in_fd >= 0) ::close(r.in_fd);
    }
}

void ReplicaSet::start() {
    for (int i = 0; i < opt_.count; ++i) spawn(i);
}

void ReplicaSet::spawn(int i) {
    Replica& r = replicas_[static_cast<std::size_t>(i)];
    std::string id = opt_.service + "-" + std::to_string(i + 1);
    r.dir = opt_.run_dir / "replicas" / (r.starts ? id + "." + std::to_string(r.starts) : id);
    ++r.starts;
    std::error_code ec;
    fs::create_directories(r.dir, ec);
    std::vector<std::string> args = {self_exe(), "up", opt_.lab_dir.string(), "--replica", opt_.service,
                                     "--run-dir", r.dir.string(), "--format", "json",
                                     "--clock-origin",
                                     std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                        journal_.start().time_since_epoch())
                                                        .count()),
                                     "--seed", std::to_string(opt_.seed)};
    const Endpoint& was = endpoints_[static_cast<std::size_t>(i)];
    unsigned short port = was.path.empty() ? was.port : 0;
    if (!port && opt_.base_port && !opt_.ephemeral) port = static_cast<unsigned short>(opt_.base_port + i);
    if (port) {
        // A restarted replica comes back where it was.
        args.push_back("--port");
        args.push_back(std::to_string(port));
    } else {
        args.push_back("--ephemeral");
    }
    std::vector<char*> cargv;
    for (auto& a : args) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    fs::path log = r.dir / "stderr.log";

    int out[2], in[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw EnvError(std::string("cannot start a replica: ") + std::strerror(errno));
    if (::pipe2(in, O_CLOEXEC) != 0) {
        ::close(out[0]), ::close(out[1]);
        throw EnvError(std::string("cannot start a replica: ") + std::strerror(errno));
    }
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) throw EnvError(std::string("cannot start a replica: ") + std::strerror(errno));
    if (pid == 0) {
        // A replica dies with wirelab, and Ctrl-C on the terminal is
        // wirelab's to handle, not the replica's.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        ::setpgid(0, 0);
        int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(in[0], 0);
        ::dup2(out[1], 1);
        if (err >= 0) ::dup2(err, 2);
        ::signal(SIGPIPE, SIG_DFL);
        ::execv(cargv[0], cargv.data());
        ::_exit(127);
    }
    ::close(out[1]);
    ::close(in[0]);
    r.pid = pid;
    r.in_fd = in[1];
    r.paused = false;
    r.expected_exit = false;
    r.pending.clear();
    ++r.generation;
    r.journals.push_back(r.dir / "journal.db");

    // The replica's first line of stdout says where it listens.
    std::string got;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (got.find('\n') == std::string::npos) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{out[0], POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        char buf[4096];
        ssize_t n = ::read(out[0], buf, sizeof buf);
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
    }
    std::size_t eol = got.find('\n');
    json info = json::parse(got.substr(0, eol), nullptr, false);
    const json* svc = nullptr;
    if (info.is_object() && info.contains("services") && info["services"].contains(opt_.service))
        svc = &info["services"][opt_.service];
    if (!svc) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        ::close(out[0]);
        ::close(r.in_fd);
        r.in_fd = -1;
        r.pid = -1;
        throw EnvError("replica " + std::to_string(i + 1) + " of service \"" + opt_.service + "\" did not start:\n" +
                           log_tail(log),
                       "its log is " + log.string());
    }
    if (eol != std::string::npos) r.pending = got.substr(eol + 1);
    r.out = std::make_shared<asio::posix::stream_descriptor>(io_, out[0]);
    Endpoint e;
    std::string url = svc->value("url", "");
    e.scheme = url.substr(0, url.find(':'));
    e.host = svc->value("host", "127.0.0.1");
    e.port = svc->value("port", 0);
    e.path = svc->value("path", "");
    endpoints_[static_cast<std::size_t>(i)] = e;
    journal_.event("replica", opt_.service,
                   {{"replica", i + 1}, {"action", r.starts == 1 ? "start" : "restart"}, {"pid", pid}, {"url", url}});
    read_more(i);
}

void ReplicaSet::read_more(int i) {
    Replica& r = replicas_[static_cast<std::size_t>(i)];
    int gen = r.generation;
    // Lines already read (with the first) go first. A line may end this
    // replica (kill, restart): what follows is then the next one's.
    for (std::size_t eol; (eol = r.pending.find('\n')) != std::string::npos;) {
        std::string line = r.pending.substr(0, eol);
        r.pending.erase(0, eol + 1);
        on_line(i, line);
        if (r.generation != gen) return;
    }
    if (!r.out || !r.out->is_open()) return;
    auto buf = std::make_shared<std::array<char, 4096>>();
    r.out->async_read_some(asio::buffer(*buf), [this, i, gen, buf, keep = r.out](error_code ec, std::size_t n) {
        Replica& r = replicas_[static_cast<std::size_t>(i)];
        if (ec || r.generation != gen) return;
        r.pending.append(buf->data(), n);
        read_more(i);
    });
}

void ReplicaSet::on_line(int i, const std::string& line) {
    json m = json::parse(line, nullptr, false);
    if (!m.is_object()) return;
    Replica& r = replicas_[static_cast<std::size_t>(i)];
    if (m.contains("ack")) {
        ++r.acks;
    } else if (m.contains("attribute")) {
        // The replica waits for the answer before it serves the connection.
        auto pid = journal_.attribute_peer(m.value("local", ""), m.value("peer", ""));
        tell(i, json{{"pid", pid ? json(*pid) : json()}}.dump());
    } else if (m.contains("acting") && m["acting"].is_string()) {
        // The replica has stopped itself (SIGSTOP) after its requests.
        ReplicaAction a;
        a.service = opt_.service;
        a.replica = i + 1;
        a.action = m["acting"].get<std::string>();
        a.after_requests = m.value("after_requests", 0);
        r.paused = true;
        act(a);
    }
}

void ReplicaSet::tell(int i, const std::string& line) {
    Replica& r = replicas_[static_cast<std::size_t>(i)];
    if (r.in_fd < 0) return;
    std::string l = line + "\n";
    for (std::size_t off = 0; off < l.size();) {
        ssize_t n = ::write(r.in_fd, l.data() + off, l.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        off += static_cast<std::size_t>(n);
    }
}

void ReplicaSet::reap(int i, bool wait) {
    Replica& r = replicas_[static_cast<std::size_t>(i)];
    if (r.pid <= 0) return;
    int status = 0;
    pid_t got = ::waitpid(r.pid, &status, wait ? 0 : WNOHANG);
    if (got != r.pid) return;
    if (!r.expected_exit && !stopped_) {
        std::string words = status_words(status);
        fs::path log = r.dir / "stderr.log";
        journal_.event("replica-crashed", opt_.service,
                       {{"replica", i + 1}, {"pid", r.pid}, {"status", words}, {"log", log.string()}});
        std::cerr << "wirelab: replica " << i + 1 << " of service \"" << opt_.service << "\" " << words
                  << " on its own; its log: " << log.string() << "\n";
    }
    if (r.out) {
        error_code ig;
        r.out->close(ig);
        r.out.reset();
    }
    if (r.in_fd >= 0) ::close(r.in_fd);
    r.in_fd = -1;
    ++r.generation;
    r.pid = -1;
    r.paused = false;
}

void ReplicaSet::terminate(int i) {
    Replica& r = replicas_[static_cast<std::size_t>(i)];
    if (r.pid <= 0) return;
    r.expected_exit = true;
    ::kill(r.pid, SIGKILL);
    reap(i, true);
}

void ReplicaSet::flush() {
    for (int i = 0; i < opt_.count; ++i) reap(i, false);
}

void ReplicaSet::act(const ReplicaAction& a) {
    int i = a.replica - 1;
    Replica& r = replicas_[static_cast<std::size_t>(i)];
    json d = {{"replica", a.replica}, {"action", a.action}, {"pid", r.pid}};
    if (a.after_requests) d["after_requests"] = *a.after_requests;
    else d["at_ms"] = a.at_ms;
    if (a.action == "kill") {
        terminate(i);
    } else if (a.action == "pause" && r.pid > 0) {
        ::kill(r.pid, SIGSTOP);
        r.paused = true;
    } else if (a.action == "resume" && r.pid > 0) {
        ::kill(r.pid, SIGCONT);
        r.paused = false;
    } else if (a.action == "restart") {
        terminate(i);
        journal_.event("replica", opt_.service, d);
        spawn(i);
        tell(i, json{{"actions", json::array()}}.dump());
        return;
    }
    journal_.event("replica", opt_.service, d);
}

void ReplicaSet::begin_case(const CaseSpec& c) {
    const auto& actions = c.replica_actions;
    // Every case starts afresh: the replicas of the last case restart, from
    // the lab's data (and a paused one would answer, once resumed, what the
    // last case's program sent it).
    cancel_timers();
    bool fresh = cases_++ == 0;
    for (int i = 0; i < opt_.count; ++i) {
        Replica& r = replicas_[static_cast<std::size_t>(i)];
        reap(i, false);
        if (fresh && r.pid > 0 && !r.paused) continue;
        terminate(i);
        spawn(i);
    }
    // Each replica hears of its request-counted actions, and says it has,
    // before the program starts.
    for (int i = 0; i < opt_.count; ++i) {
        json list = json::array();
        for (const auto& a : actions)
            if (a.service == opt_.service && a.replica == i + 1 && a.after_requests)
                list.push_back({{"after_requests", *a.after_requests}, {"action", a.action}});
        Replica& r = replicas_[static_cast<std::size_t>(i)];
        int want = r.acks + 1;
        tell(i, json{{"actions", list}}.dump());
        auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (r.acks < want && r.pid > 0 && std::chrono::steady_clock::now() < until && !io_.stopped())
            io_.run_one_for(std::chrono::milliseconds(10));
    }
    for (const auto& a : actions) {
        if (a.service != opt_.service || a.after_requests) continue;
        auto t = std::make_unique<asio::steady_timer>(io_);
        t->expires_after(std::chrono::microseconds(static_cast<long long>(a.at_ms * 1000)));
        t->async_wait([this, a](error_code ec) {
            if (!ec && !stopped_) act(a);
        });
        timers_.push_back(std::move(t));
    }
}

void ReplicaSet::end_case(const CaseSpec&) { cancel_timers(); }

void ReplicaSet::cancel_timers() {
    for (auto& t : timers_) t->cancel();
    timers_.clear();
}

void ReplicaSet::stop() {
    if (stopped_) return;
    cancel_timers();
    // SIGTERM lets a replica commit its journal; a paused one is killed
    // (resumed, it would serve what a gone program sent it).
    for (int i = 0; i < opt_.count; ++i) {
        Replica& r = replicas_[static_cast<std::size_t>(i)];
        reap(i, false);
        if (r.pid <= 0) continue;
        r.expected_exit = true;
        ::kill(r.pid, r.paused ? SIGKILL : SIGTERM);
    }
    stopped_ = true;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    for (int i = 0; i < opt_.count; ++i) {
        Replica& r = replicas_[static_cast<std::size_t>(i)];
        while (r.pid > 0 && std::chrono::steady_clock::now() < deadline) {
            reap(i, false);
            if (r.pid > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        if (r.pid > 0) {
            ::kill(r.pid, SIGKILL);
            reap(i, true);
        }
    }
    for (int i = 0; i < opt_.count; ++i)
        for (const auto& j : replicas_[static_cast<std::size_t>(i)].journals)
            if (fs::exists(j)) journal_.merge_replica(j, i + 1);
}

Endpoint ReplicaSet::endpoint() const { return endpoints_.empty() ? Endpoint{} : endpoints_[0]; }

void ReplicaSet::add_environment(std::map<std::string, std::string>& env) const {
    std::string stem = service_env_stem(opt_.service), urls;
    for (std::size_t i = 0; i < endpoints_.size(); ++i) {
        const Endpoint& e = endpoints_[i];
        std::string s = stem + "_" + std::to_string(i + 1);
        env[s + "_URL"] = e.url();
        if (!e.path.empty()) {
            env[s + "_PATH"] = e.path;
        } else {
            env[s + "_HOST"] = e.host;
            env[s + "_PORT"] = std::to_string(e.port);
        }
        if (!urls.empty()) urls += ',';  // not `(empty ? "" : ",") + url`: g++ 12 warns (-Wrestrict) of that
        urls += e.url();
    }
    env[stem + "_URLS"] = urls;
}

// --- the replica's side ---

ReplicaAgent::ReplicaAgent(asio::io_context& io, Journal& journal) : journal_(journal), in_(io, ::dup(0)) {
    journal_.set_row_hook([this](std::string_view table, std::int64_t, const json& row) {
        if (table == "http" || table == "commands" || table == "sql" || (table == "messages" && row.value("dir", "") == "in"))
            counted();
    });
    // Only the parent sees the learner's process tree: it attributes our
    // connections, while the learner's socket is sure to be open.
    journal_.set_attributor([this](const std::string& local, const std::string& peer) -> std::optional<int> {
        say(json{{"attribute", true}, {"local", local}, {"peer", peer}}.dump());
        return await_pid();
    });
}

std::optional<int> ReplicaAgent::await_pid() {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    for (;;) {
        for (std::size_t eol; (eol = pending_.find('\n')) != std::string::npos;) {
            std::string line = pending_.substr(0, eol);
            pending_.erase(0, eol + 1);
            json m = json::parse(line, nullptr, false);
            if (m.is_object() && m.contains("pid"))
                return m["pid"].is_number_integer() ? std::optional<int>(m["pid"].get<int>()) : std::nullopt;
            command(line);
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        pollfd p{in_.native_handle(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        ssize_t n = ::read(in_.native_handle(), buf_, sizeof buf_);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return std::nullopt;
        if (n > 0) pending_.append(buf_, static_cast<std::size_t>(n));
    }
}

void ReplicaAgent::start() { read_more(); }

void ReplicaAgent::say(const std::string& line) {
    std::string l = line + "\n";
    for (std::size_t off = 0; off < l.size();) {
        ssize_t n = ::write(1, l.data() + off, l.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        off += static_cast<std::size_t>(n);
    }
}

void ReplicaAgent::read_more() {
    in_.async_read_some(asio::buffer(buf_), [this](error_code ec, std::size_t n) {
        if (ec) return;  // the parent is gone; PR_SET_PDEATHSIG ends us
        pending_.append(buf_, n);
        for (std::size_t eol; (eol = pending_.find('\n')) != std::string::npos;) {
            std::string line = pending_.substr(0, eol);
            pending_.erase(0, eol + 1);
            command(line);
        }
        read_more();
    });
}

void ReplicaAgent::command(const std::string& line) {
    json m = json::parse(line, nullptr, false);
    if (!m.is_object() || !m.contains("actions") || !m["actions"].is_array()) return;
    answered_ = 0;
    actions_.clear();
    for (const auto& a : m["actions"])
        actions_.emplace_back(a.value("after_requests", 0), a.value("action", ""));
    say(json{{"ack", true}}.dump());
}

void ReplicaAgent::counted() {
    ++answered_;
    for (const auto& [n, action] : actions_) {
        if (n != answered_) continue;
        // What happened so far is kept; then we stop where we are, and the
        // parent kills, restarts or leaves us paused.
        journal_.flush();
        say(json{{"acting", action}, {"after_requests", n}}.dump());
        ::raise(SIGSTOP);
    }
}

}  // namespace wirelab
