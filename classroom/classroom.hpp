// The classroom: a scenario's labs, the roster, every submission and what
// the trainer did, in one SQLite file (a restart loses nothing submitted).
// No sockets here: the HTTP layer (server.hpp) authenticates a request,
// calls one of these and writes the answer; tests call them directly.
#pragma once
#include "runtime/text.hpp"
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "classroom/scenario.hpp"

namespace wirelab::sql {
class Db;
}

namespace wirelab::classroom {

using json = nlohmann::json;

/// A refusal the HTTP layer turns into a status and a JSON body
/// {"error": what, "fix": fix}.
class ApiError : public std::runtime_error {
public:
    ApiError(int status, std::string what, std::string fix = {})
        : std::runtime_error(std::move(what)), status_(status), fix_(std::move(fix)) {}
    int status() const { return status_; }
    const std::string& fix() const { return fix_; }

private:
    int status_;
    std::string fix_;
};

/// Who a token belongs to.
struct Principal {
    enum class Role { none, learner, trainer } role = Role::none;
    std::int64_t learner = 0;
    bool trainer() const { return role == Role::trainer; }
    bool learner_or_trainer() const { return role != Role::none; }
};

/// One row of a roster file.
struct RosterRow {
    std::string name, email;
    int line = 0;
};

/// Parses a roster CSV (a header naming "name" and "email" columns in any
/// order, or rows of name,email; quotes, a BOM and CRLF allowed). Throws
/// LabError naming `file` and the line.
std::vector<RosterRow> parse_roster(const std::string& text, const std::string& file);

using wirelab::constant_time_equal;  // (runtime/text.hpp)

struct ClassroomOptions {
    std::filesystem::path state_dir;  // classroom.db, submissions/, tokens.csv
    std::size_t max_upload = 16u << 20;  // bytes of one submission
};

/// The audience of an event only the trainer hears (a learner joined).
constexpr std::int64_t kTrainerOnly = 0;

class Classroom {
public:
    /// Opens (or creates) the classroom's state in `opt.state_dir`. The
    /// trainer token and the join code are made on the first start and kept.
    Classroom(Scenario scenario, ClassroomOptions opt);
    ~Classroom();
    Classroom(const Classroom&) = delete;

    const Scenario& scenario() const { return sc_; }
    const ClassroomOptions& options() const { return opt_; }
    std::string trainer_token() const;
    std::string join_code() const;

    /// Adds the roster's learners (matched by e-mail, else by name: a
    /// learner already known keeps their token); writes tokens.csv (0600).
    /// Returns how many were new.
    int import_roster(const std::vector<RosterRow>& rows);
    /// The roster as the trainer sees it: id, name, email, token.
    json learners() const;

    Principal authenticate(std::string_view token) const;
    /// A learner without a roster entry joins with the join code.
    json join(const std::string& code, const std::string& name, const std::string& email);

    /// What `wirelab check --classroom` needs before it runs a lab: open or
    /// not, the learner's seed and name, the class-wide fault profiles.
    json lab_config(const Principal& who, const std::string& lab) const;
    /// Grades an uploaded run (the bundle of runtime/run_bundle.hpp) with
    /// the server's own copy of the lab and stores it. Throws ApiError.
    json submit(const Principal& who, const std::string& lab, const std::string& bundle, const std::string& mode = "local");

    json grid() const;
    json me(const Principal& who) const;
    json submission(const Principal& who, std::int64_t id) const;
    std::string submission_html(const Principal& who, std::int64_t id) const;

    /// A trainer action: {"event": id} fires a schedule event now;
    /// {"action": "open"|"close", "lab"}, {"action": "fault", "fault"},
    /// {"action": "clear-fault", "lab", "service"}, {"action": "reset",
    /// "lab"?, "learner"?}. Returns the action as logged.
    json act(const json& action, const std::string& by = "trainer");
    /// Fires the schedule's events that are due at `now` and not fired yet.
    std::vector<json> tick(std::chrono::system_clock::time_point now);

    /// name,email,lab,score,max_score,passed,submissions,submitted_at, then
    /// one column per check ("lab/check"); the best run of each learner and lab.
    std::string export_csv() const;
    json export_gradescope() const { return export_results("gradescope"); }
    json export_prairielearn() const { return export_results("prairielearn"); }

    /// Called after every change: the event, and who hears it: a learner's
    /// id (that learner and the trainer), kTrainerOnly, or nullopt
    /// (everyone — a lab opened, a fault switched).
    std::function<void(const json& event, std::optional<std::int64_t> learner)> notify;
    /// Called for a reset (hosted sessions restart their services).
    std::function<void(const std::string& lab, std::optional<std::int64_t> learner)> on_reset;

private:
    json apply(const json& action, const std::string& by, const std::string& event_id);
    json best_rows() const;
    /// Each learner's best run of each lab, its results in `format`.
    json export_results(const char* format) const;
    std::string learner_token(std::int64_t id) const;
    std::string meta(const std::string& key) const;
    void set_meta(const std::string& key, const std::string& value);
    void write_tokens() const;

    Scenario sc_;
    ClassroomOptions opt_;
    std::unique_ptr<sql::Db> db_;
    std::map<std::string, json> checks_;  // lab id -> [{id, title, warning, points}]
};

}  // namespace wirelab::classroom
