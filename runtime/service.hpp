// The Service interface the runtime knows. Kinds (http, tcp, ...) live in
// services/ and are handed to the Session as a list; the runtime never
// includes a protocol.
#pragma once
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/common.hpp"
#include "runtime/json_source.hpp"
#include "runtime/params.hpp"

namespace wirelab {

class Journal;
struct FaultProfile;
struct CaseSpec;

/// Where a started service listens, as the learner's program is told.
struct Endpoint {
    std::string scheme;  // "http", "tcp", "unix", ...
    std::string host;
    unsigned short port = 0;
    std::string path = {};  // a unix socket's path (host and port unused)
    /// "http://127.0.0.1:3000"; a path-based service: "unix:/…/hub.sock",
    /// "fifo:/…/ctl.in", "file:/…/counter.txt", "shm:/dev/shm/…".
    std::string url() const {
        if (path.empty()) return scheme + "://" + host + ":" + std::to_string(port);
        return (scheme.empty() ? std::string("unix") : scheme) + ":" + path;
    }
};

/// Everything a service factory may use. `spec` reads the service's object
/// in lab.json ("kind" already read); the factory must call spec.finish().
namespace tls {
class Authority;
}

struct ServiceContext {
    std::string name;
    Spec& spec;
    asio::io_context& io;
    Journal& journal;
    std::filesystem::path lab_dir;
    std::filesystem::path state_dir;
    bool ephemeral = false;
    std::optional<unsigned short> port = std::nullopt;  // a replica's port, over the spec's
    const Params* params = nullptr;  // the lab's params, for the data files it reads
    std::string listen_host;         // --listen: the address every service binds ("" = the lab's)
    tls::Authority* tls = nullptr;   // the run's CA, for services that listen with TLS
};

/// One running mock service. Constructed from its spec (validating it, no
/// I/O), then start() binds and starts accepting.
class Service {
public:
    virtual ~Service() = default;
    /// Binds and starts serving; throws EnvError naming port and service.
    virtual void start() = 0;
    /// Closes the listener and every connection; returns at once.
    virtual void stop() = 0;
    virtual Endpoint endpoint() const = 0;
    /// Adds what the learner's program needs beyond the URL/HOST/PORT/PATH
    /// variables (a tool's directory in front of PATH, say).
    virtual void add_environment(std::map<std::string, std::string>& env) const { (void)env; }
    /// SQLite file with the service's state, for `state` checks ("" if none).
    virtual std::filesystem::path state_file() const { return {}; }
    /// The state as it was after each case, by case name, where the service
    /// keeps it (a `state` check with "case" reads it).
    virtual std::map<std::string, std::filesystem::path> case_state_files() const { return {}; }
    /// Commits pending state writes (before checks, and by tick()).
    virtual void flush() {}
    /// Called every tick (20 ms): flush() unless the service writes its
    /// state less often while it serves (flush() still writes all of it).
    virtual void tick() { flush(); }
    /// The fault profile for what happens from now on (before start() and
    /// before each case), and the seed its random choices derive from.
    virtual void set_faults(const FaultProfile& profile, std::uint64_t seed) {
        (void)profile, (void)seed;
    }
    /// A case is about to start its program (after set_faults).
    virtual void begin_case(const CaseSpec& c) { (void)c; }
    /// The case's program has exited and its connections have settled.
    virtual void end_case(const CaseSpec& c) { (void)c; }
};

using ServiceFactory = std::function<std::unique_ptr<Service>(ServiceContext&)>;

/// A kind of service: its name in lab.json and its factory.
struct ServiceKind {
    std::string name;
    std::string summary;
    ServiceFactory make;
};
using ServiceKinds = std::vector<ServiceKind>;

}  // namespace wirelab
