// The check model: a check has an id, title, hint, points, depends_on,
// visibility and one kind-specific body; evaluated against a read-only view
// of a finished run, it returns a Verdict with evidence. Checks never include
// a service header: they read the journal and the services' state files.
#pragma once
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "runtime/journal_reader.hpp"
#include "runtime/json_source.hpp"
#include "runtime/lab.hpp"

namespace wirelab::checks {

enum class Status { pass, fail, skip, error };
const char* status_name(Status s);

/// The outcome of one check. On failure `expected` says what the check
/// looked for and `observed` the closest thing that happened.
struct Verdict {
    Status status = Status::pass;
    std::string message;   // one line
    std::string expected;  // may be empty
    std::string observed;  // may span lines
    nlohmann::json evidence = nlohmann::json::object();
    /// Share of the check's cases that passed (each_case sets it); a check
    /// with "partial": true scores points × fraction.
    std::optional<double> fraction;

    static Verdict pass(std::string msg = {}) { return {Status::pass, std::move(msg), {}, {}, {}, {}}; }
    static Verdict fail(std::string msg, std::string expected = {}, std::string observed = {}) {
        return {Status::fail, std::move(msg), std::move(expected), std::move(observed), {}, {}};
    }
    /// The lab is broken (bad SQL in a check, a missing state file).
    static Verdict error(std::string msg) { return {Status::error, std::move(msg), {}, {}, {}, {}}; }
};

/// A finished run as checks see it: the journal and each service's state.
class RunData {
public:
    RunData(const std::filesystem::path& journal, std::map<std::string, std::filesystem::path> states);
    JournalReader& journal() { return journal_; }
    const std::filesystem::path& journal_path() const { return journal_path_; }
    /// Every state file by name ("svc", "svc@case"), as the Session left them.
    const std::map<std::string, std::filesystem::path>& state_files() const { return state_files_; }
    /// The state database of `service`, opened read-only; nullptr if none.
    sql::Db* state(const std::string& service);
    /// Cases whose name is in `names` (all when empty), within the case
    /// the run is narrowed to, if any.
    std::vector<const CaseRow*> cases(const std::vector<std::string>& names);
    /// Narrows cases() and in_cases() to one case (nullopt: all again):
    /// how a check with "partial": true is scored case by case.
    void narrow_to(std::optional<std::int64_t> case_id) { only_case_ = case_id; }
    /// True when case `case_id` is one of `names` (or `names` is empty).
    bool in_cases(const std::vector<std::string>& names, std::int64_t case_id);

private:
    std::filesystem::path journal_path_;
    JournalReader journal_;
    std::map<std::string, std::filesystem::path> state_files_;
    std::map<std::string, std::unique_ptr<sql::Db>> states_;
    std::optional<std::int64_t> only_case_;
};

/// Adds the SQL functions int_le(blob, offset, size) and int_be(...) that
/// `state` queries may use to read integers out of a shared segment.
void add_byte_functions(sql::Db& db);

/// A compiled check body.
class Check {
public:
    virtual ~Check() = default;
    virtual Verdict evaluate(RunData& run) const = 0;
};

/// "case \"name\": " when a check covers several cases, else "".
std::string case_label(const CaseRow& c, std::size_t cases);

/// Evaluates `one` for each case named in `names` (all when empty) and
/// returns the first verdict that is not a pass, its message prefixed with
/// the case's label; fails when the program did not run. Every case is
/// evaluated, so the verdict's fraction says how many passed.
Verdict each_case(RunData& run, const std::vector<std::string>& names,
                  const std::function<Verdict(const CaseRow&)>& one);

/// What a check kind's factory may use to validate its body.
struct CheckContext {
    const Lab& lab;
    std::vector<std::string> services;  // service names in the lab
    /// Throws LabError unless `name` is a service of the lab.
    void require_service(Spec& spec, const std::string& key, const std::string& name) const;
    /// Reads the optional "case" key (a case name or a list), validated.
    std::vector<std::string> cases(Spec& spec) const;
};

/// How many matching records a check wants: "count", or "min"/"max", or
/// "none": true; at least one by default.
struct CountRange {
    std::int64_t min = 1;
    std::optional<std::int64_t> max;
    static CountRange read(Spec& spec);
    bool ok(std::int64_t n) const { return n >= min && (!max || n <= *max); }
};

using CheckFactory = std::function<std::unique_ptr<Check>(Spec& body, const CheckContext&)>;

struct CheckKind {
    std::string name;
    std::string summary;
    CheckFactory make;
};

/// The one list of check kinds (checks/registry.cpp).
const std::vector<CheckKind>& check_kinds();

/// Common fields of every check.
struct CheckInfo {
    std::string id, title, hint, kind;
    double points = 1;
    std::vector<std::string> depends_on;
    bool hidden = false;
    /// "level": "warning": advice — shown, worth no points, never fails a run.
    bool warning = false;
    /// "partial": true — points × the share of cases that passed.
    bool partial = false;
    std::string pointer;
};

struct CompiledCheck {
    CheckInfo info;
    std::unique_ptr<Check> body;
};

/// Validates and compiles the lab's "checks" array: unique ids, known kinds,
/// valid bodies, depends_on naming earlier-or-later checks without cycles.
/// Throws LabError.
std::vector<CompiledCheck> compile_checks(const Lab& lab);

struct Result {
    const CheckInfo* info;
    Verdict verdict;
    double score = 0;
};

/// Evaluates in dependency order; a check whose dependency did not pass is
/// skipped. A check that throws becomes an error verdict.
std::vector<Result> evaluate(const std::vector<CompiledCheck>& checks, RunData& run);

}  // namespace wirelab::checks
