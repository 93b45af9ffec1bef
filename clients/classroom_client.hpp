// The learner's side of a classroom: `wirelab check --classroom URL --token
// T` asks the classroom for the lab's settings (open, the learner's seed,
// the class-wide faults) before the run and submits the run after it, with
// libcurl, retrying with back-off; a run the classroom cannot take now is
// kept in the outbox and sent with the next check or `wirelab submit`.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wirelab {
struct Lab;
}

namespace wirelab::clients {

using json = nlohmann::json;

struct ClassroomTarget {
    std::string url;    // http://host:port (no trailing slash needed)
    std::string token;  // the learner's token
};

/// The lab's settings, or why the classroom could not be asked. Throws
/// EnvError when the classroom answered no (a wrong token, a lab not in
/// this classroom): running then would be wasted.
struct LabConfig {
    std::optional<json> config;
    std::string unreachable;  // set when config is not
};
LabConfig fetch_lab_config(const ClassroomTarget& to, const std::string& lab);

struct SubmitOutcome {
    bool sent = false;       // the classroom took it (answer holds its grading)
    bool refused = false;    // it answered no (error says why): not kept
    json answer;
    std::string error;
    std::filesystem::path kept;  // in the outbox, to send later
};

/// Packs and sends a finished run. Retries (back-off 0.5, 1, 2 s) while
/// the classroom cannot be reached or answers 5xx/429; then keeps it.
SubmitOutcome submit_run(const ClassroomTarget& to, const std::string& lab, const std::filesystem::path& run_dir);

/// Sends what the outbox holds (only those for `to` when given), each
/// tried once. Returns one outcome per run tried.
std::vector<std::pair<std::string, SubmitOutcome>> send_outbox(const std::optional<ClassroomTarget>& to);

/// Hosted mode: the learner's own services of `lab` in the classroom,
/// started afresh (same ports when they ran before): {"services", "env"}.
/// Throws EnvError with the classroom's words when it cannot.
json hosted_fresh(const ClassroomTarget& to, const std::string& lab);
/// Hosted mode: the classroom grades the traffic its services saw.
json hosted_check(const ClassroomTarget& to, const std::string& lab);

/// $WIRELAB_HOME/outbox, or ~/.wirelab/outbox.
std::filesystem::path outbox_dir();

/// The classroom's fault profiles ({service: {"name", "description",
/// "profile"}}) over the lab's own service defaults. Returns the services
/// the lab does not have (ignored).
std::vector<std::string> apply_class_faults(Lab& lab, const json& faults);

}  // namespace wirelab::clients
