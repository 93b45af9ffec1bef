// A service served by N replica processes: each replica is a child
// `wirelab up LAB --replica NAME` serving that one service on its own
// endpoint, supervised here. A case can kill (SIGKILL), pause (SIGSTOP),
// resume or restart one replica mid-run, at a time or after the replica has
// answered so many requests; every case starts with all of them healthy.
//
// Parent and replica talk in JSON lines: the replica's first stdout line is
// its endpoints (as `up --format json` prints them), then it tells of each
// connection it accepts and waits for the parent, which sees the learner's
// process tree, to say whose it is; it tells of each action it takes on
// itself; the parent
// writes each case's request-counted actions to the replica's stdin. Each
// replica writes its own journal on the Session's clock; stop() merges them
// into the Session's journal, so there is still one journal
// (connections.replica says which replica served).
#pragma once
#include <sys/types.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/common.hpp"
#include "runtime/lab.hpp"
#include "runtime/service.hpp"

namespace wirelab {

class Journal;

struct ReplicaSetOptions {
    std::string service;
    int count = 2;
    std::filesystem::path lab_dir;
    std::filesystem::path run_dir;  // the Session's; replicas live under replicas/
    std::uint64_t seed = 0;
    bool ephemeral = false;
    unsigned short base_port = 0;   // replica i listens on base_port + i - 1 (0: free ports)
};

class ReplicaSet final : public Service {
public:
    ReplicaSet(asio::io_context& io, Journal& journal, ReplicaSetOptions opt);
    ~ReplicaSet() override;

    /// Starts every replica and waits for each to say where it listens;
    /// throws EnvError with the replica's log when one does not start.
    void start() override;
    /// Stops the replicas (SIGTERM, a paused one SIGKILL) and merges their
    /// journals into the Session's.
    void stop() override;
    Endpoint endpoint() const override;
    /// WIRELAB_<NAME>_URLS (comma-separated) and WIRELAB_<NAME>_<i>_URL,
    /// _HOST, _PORT (or _PATH) for each replica; _URL/_HOST/_PORT name
    /// replica 1.
    void add_environment(std::map<std::string, std::string>& env) const override;
    /// Notices replicas that died on their own (reported once each).
    void flush() override;

    /// Restarts every replica (from the lab's data: each case starts
    /// afresh; the first case's were just started), then gives each its
    /// request-counted actions and schedules the timed ones from now.
    void begin_case(const CaseSpec& c) override;
    /// Cancels what has not happened yet.
    void end_case(const CaseSpec& c) override;

    const std::vector<Endpoint>& endpoints() const { return endpoints_; }

private:
    struct Replica {
        pid_t pid = -1;
        int in_fd = -1;  // its stdin
        std::shared_ptr<asio::posix::stream_descriptor> out;
        std::string pending;  // a partial line from its stdout
        int generation = 0;
        int acks = 0;
        bool paused = false, expected_exit = false;
        int starts = 0;
        std::filesystem::path dir;  // of the current start
        std::vector<std::filesystem::path> journals;  // one per start
    };
    void spawn(int i);
    void act(const ReplicaAction& a);
    void reap(int i, bool wait);
    void terminate(int i);
    void read_more(int i);
    void cancel_timers();
    void on_line(int i, const std::string& line);
    void tell(int i, const std::string& line);

    asio::io_context& io_;
    Journal& journal_;
    ReplicaSetOptions opt_;
    std::vector<Replica> replicas_;
    std::vector<Endpoint> endpoints_;
    std::vector<std::unique_ptr<asio::steady_timer>> timers_;
    bool stopped_ = false;
    int cases_ = 0;
};

/// The replica's side: counts the requests it answers, takes the actions
/// its parent gave for the case (stopping itself with SIGSTOP so the parent
/// can kill, restart or leave it paused), and has the parent attribute
/// every TCP connection it accepts. Reads commands from stdin, writes to
/// stdout.
class ReplicaAgent {
public:
    ReplicaAgent(asio::io_context& io, Journal& journal);
    void start();

private:
    void read_more();
    void command(const std::string& line);
    void counted();
    /// Waits (briefly) for the parent's answer to an attribution request.
    std::optional<int> await_pid();
    static void say(const std::string& line);

    Journal& journal_;
    asio::posix::stream_descriptor in_;
    std::string pending_;
    char buf_[4096];
    int answered_ = 0;
    std::vector<std::pair<int, std::string>> actions_;  // after_requests, action
};

}  // namespace wirelab
