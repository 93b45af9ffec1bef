// A Session: one run of one lab for one learner. Owns the io_context (first,
// so it is destroyed last), the run directory, the journal and the services;
// runs the learner's program per case while the services serve.
#pragma once
#include <boost/asio/signal_set.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/common.hpp"
#include "runtime/driver.hpp"
#include "runtime/journal.hpp"
#include "runtime/lab.hpp"
#include "runtime/replicas.hpp"
#include "runtime/runner.hpp"
#include "runtime/service.hpp"

namespace wirelab {

namespace tls {
class Authority;
}

struct SessionOptions {
    std::filesystem::path run_dir;  // empty: .wirelab/runs/<lab>-<time>
    bool ephemeral = false;         // every service on port 0
    bool handle_signals = true;     // SIGINT/SIGTERM stop the Session
    bool signal_is_normal_stop = false;  // `up`: Ctrl-C ends a run as "finished"
    std::optional<std::uint64_t> seed;   // default: the lab's (Lab::seed)
    std::string learner;                 // recorded in the journal (--learner)
    bool traffic_journal = true;         // false: benchmarks only (Journal::set_traffic)
    std::string listen;                  // --listen ADDR: every service binds ADDR (default: the lab's, loopback)
    /// A replica process: serve only this service (its "replicas" ignored),
    /// on `port` when set, with times counted from `clock_origin`.
    std::string replica_of;
    std::optional<unsigned short> port;
    std::optional<std::chrono::steady_clock::time_point> clock_origin;
    /// Ports chosen per service, over the lab's and --ephemeral (a hosted
    /// classroom session restarted on the ports its learner already uses).
    std::map<std::string, unsigned short> ports;
    /// The Session will run the learner's program (run_case): the moves
    /// into its cgroup are kept fast from the start (CgroupWarmer).
    bool programs = false;
};

/// A started service as the learner sees it.
struct ServiceEndpoint {
    std::string name;
    std::string kind;
    Endpoint endpoint;
};

class Session {
public:
    /// Creates the run directory and journal and constructs (validates) every
    /// service. Throws LabError or EnvError.
    Session(const Lab& lab, const ServiceKinds& kinds, SessionOptions options,
            const DriverKinds& drivers = {});
    ~Session();

    /// Binds every service. Throws EnvError naming port and service.
    void start();

    /// WIRELAB_<NAME>_URL/_HOST/_PORT for each service, plus WIRELAB_RUN_DIR.
    std::map<std::string, std::string> environment() const;
    std::vector<ServiceEndpoint> endpoints() const;

    /// Runs `argv` once for `c` while the services serve; returns when it has
    /// exited (or timed out) and the connections it left have closed.
    CaseOutcome run_case(const CaseSpec& c, const std::vector<std::string>& argv);

    /// Serves until SIGINT/SIGTERM (or stop()); `ready` runs once started.
    void serve(const std::function<void()>& ready);

    /// Stops services, commits state and journal. Idempotent.
    void stop();

    bool interrupted() const { return interrupted_; }
    std::uint64_t seed() const { return seed_; }
    const Lab& lab() const { return lab_; }
    const std::filesystem::path& run_dir() const { return run_dir_; }
    Journal& journal() { return *journal_; }
    asio::io_context& io() { return io_; }
    /// The state file of service `name` ("" if it has none or is unknown).
    std::filesystem::path state_file(const std::string& name) const;
    /// Every service's state file by name, and "name@case" for the state a
    /// service kept after a case.
    std::map<std::string, std::filesystem::path> state_files() const;
    /// Commits journal and service state so checks can read them.
    void flush();

    /// Server labs: where the learner's server must listen.
    const ServerAddress& server_address() const { return server_addr_; }

private:
    void tick();
    void record_state_files();
    void end_services(const CaseSpec& c);
    CaseOutcome run_server_case(const CaseSpec& c, ProcessSpec ps, std::int64_t case_id);
    /// The end of a case once its program is gone: open connections get up
    /// to `linger` to close, the services and the journal end the case.
    CaseOutcome close_case(const CaseSpec& c, std::int64_t case_id, CaseOutcome result,
                           std::chrono::milliseconds linger);
    awaitable<void> orchestrate(const CaseSpec& c, std::shared_ptr<Process> proc, std::uint64_t seed,
                                bool& done);
    awaitable<bool> wait_listening(std::shared_ptr<Process> proc);
    awaitable<void> run_client(std::string name, Driver& driver, std::uint64_t seed);
    asio::io_context io_;
    Lab lab_;
    SessionOptions opt_;
    std::filesystem::path run_dir_;
    std::unique_ptr<CgroupWarmer> warmer_;  // while programs run (SessionOptions::programs)
    std::unique_ptr<Journal> journal_;
    std::unique_ptr<tls::Authority> tls_;  // the run's CA, made when a service listens with TLS
    std::vector<std::pair<ServiceEntry, std::unique_ptr<Service>>> services_;
    asio::steady_timer tick_timer_;
    std::unique_ptr<asio::signal_set> signals_;
    std::shared_ptr<Process> current_;
    bool interrupted_ = false;
    bool stopped_ = false;
    bool journal_failed_ = false;
    void say_whether_hidden();
    bool hidden_said_ = false;  // the journal's meta says whether the evidence is hidden
    std::uint64_t seed_ = 0;
    std::vector<std::pair<ClientEntry, std::unique_ptr<Driver>>> drivers_;
    ServerAddress server_addr_;
    std::unique_ptr<ReplicaAgent> agent_;  // a replica process: talks to its parent
};

}  // namespace wirelab
