// A lab as loaded from labs/<id>/lab.json, validated with errors that name
// file, line and JSON pointer. Service and check bodies are validated by
// their kinds (services/, checks/) from the same document.
#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/fault_profile.hpp"
#include "runtime/json_source.hpp"
#include "runtime/limits.hpp"
#include "runtime/params.hpp"

namespace wirelab {

/// Something done to one replica of a replicated service during a case.
struct ReplicaAction {
    std::string service;
    int replica = 1;      // 1-based
    double at_ms = 0;     // after the program starts, unless:
    std::optional<int> after_requests;  // once the replica has answered this many in the case
    std::string action;   // "kill", "pause", "resume", "restart"
};

/// One run of the learner's program: extra arguments, stdin, environment.
struct CaseSpec {
    std::string name;
    std::vector<std::string> args;
    std::optional<std::string> stdin_data;
    std::map<std::string, std::string> env;
    double timeout_s = 0;  // 0 = the lab's
    std::string pointer;
    /// Fault profiles for this case by service name (others keep their
    /// service's default profile).
    std::map<std::string, FaultProfile> faults;
    /// Server labs: the clients that run in this case, in order (default:
    /// every client of the lab).
    std::vector<std::string> clients;
    bool clients_at_once = false;  // run them all at the same time
    Limits limits;                 // the lab's, with this case's "limits" over them
    std::vector<ReplicaAction> replica_actions;  // "replicas": kill/pause/... one replica mid-run
};

/// A server lab: the learner's program is a server; wirelab waits for it to
/// listen, runs the clients, then stops it.
struct ServerSpec {
    std::string host = "127.0.0.1";
    unsigned short port = 0;        // 0: a free port, told in WIRELAB_LISTEN_PORT
    double ready_timeout_s = 5;     // to start listening
    double stop_grace_s = 2;        // after each stop signal
};

/// A simulated client entry: its name (the key under "clients") and kind.
struct ClientEntry {
    std::string name;
    std::string kind;
    std::string pointer;
};

/// A service entry: its name (the key under "services") and kind.
struct ServiceEntry {
    std::string name;
    std::string kind;
    std::string pointer;
    FaultProfile faults;  // the default profile ("faults" of the service)
    int replicas = 0;     // "replicas": N processes serving it (0: served in wirelab itself)
};

struct Lab {
    std::filesystem::path dir;
    std::string id;
    std::string title;
    std::string summary;
    double timeout_s = 20;
    Limits limits;  // top-level "limits"
    std::vector<ServiceEntry> services;
    std::vector<CaseSpec> cases;
    std::map<std::string, FaultProfile> fault_profiles;  // top-level "faults"
    std::optional<ServerSpec> server;    // set for server labs
    std::vector<ClientEntry> clients;
    std::shared_ptr<const JsonDoc> doc;  // params expanded
    /// The seed the lab was loaded with: the params' values and, unless a
    /// Session is given another, every random choice of the run.
    std::uint64_t seed = 0;
    Params params;

    /// Loads <dir>/lab.json. `kinds` are the service kinds known (for
    /// "unknown kind" errors). `seed`: the params' seed (default: from the
    /// lab id, the same for everyone). Throws LabError.
    static Lab load(const std::filesystem::path& dir, const std::vector<std::string>& kinds,
                    const std::vector<std::string>& client_kinds = {},
                    std::optional<std::uint64_t> seed = std::nullopt);
    std::filesystem::path readme() const { return dir / "README.md"; }
    /// The README with the params filled in ("" when there is none).
    std::string readme_text() const;
    /// A file of the lab folder with the params filled in; nullopt when it
    /// cannot be read.
    std::optional<std::string> read_file(const std::string& rel) const;
    /// The profile a service runs with in case `c`.
    const FaultProfile& faults_for(const CaseSpec& c, const std::string& service) const;
};

/// Environment variable stem for a service name: "api" -> "WIRELAB_API".
std::string service_env_stem(const std::string& name);

/// Folders searched for lab ids, in order: $WIRELAB_LABS (colon-separated),
/// ./labs, then the labs folder wirelab was built from.
std::vector<std::filesystem::path> lab_roots();

/// Resolves a LAB argument (an id or a path to a lab folder). Throws
/// LabError listing the labs found when nothing matches.
std::filesystem::path find_lab(const std::string& name);

/// Every lab folder under the roots (first wins for an id), sorted by id.
std::vector<std::filesystem::path> all_labs();

}  // namespace wirelab
