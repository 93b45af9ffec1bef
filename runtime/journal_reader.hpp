// Read-only access to a finished (or interrupted) run's journal, as typed
// rows. Checks and `wirelab` commands read journals through this; trainers'
// own tools can use plain SQL (docs/journal.md).
#pragma once
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/common.hpp"
#include "runtime/sqlite.hpp"

namespace wirelab {

struct CaseRow {
    std::int64_t id = 0;
    std::string name, command;
    micros started_us = 0;
    std::optional<micros> ended_us;
    std::optional<int> pid, exit_code, signal;
    bool timed_out = false;
    std::string start_error;
    std::string out, err;
    std::int64_t out_bytes = 0, err_bytes = 0;
    bool out_truncated = false, err_truncated = false;
    std::int64_t cpu_user_us = 0, cpu_sys_us = 0;
    std::string limit, limit_detail;  // a limit that stopped the program
    std::int64_t processes_peak = 0;
    /// The fault profiles the services ran with in this case, by service
    /// (as FaultProfile::describe() journals them); empty when none.
    nlohmann::json faults = nlohmann::json::object();
};

/// One process of the learner's tree (docs/journal.md, `processes`).
struct ProcessRow {
    std::int64_t case_id = 0;
    int pid = 0, ppid = 0;
    std::string cmdline;
    micros started_us = 0;
    std::optional<micros> ended_us;
    std::optional<int> exit_code, signal;
    int threads_max = 1;
    bool root = false, orphaned = false, reaped_by_wirelab = false, left_running = false;
};

/// One run of a simulated command-line tool (docs/journal.md, `invocations`).
struct InvocationRow {
    std::int64_t id = 0, case_id = 0;
    std::string service, tool, cwd;
    std::vector<std::string> argv, parent_cmdline;
    int pid = 0, ppid = 0;
    micros started_us = 0;
    std::optional<micros> ended_us;
    std::string outcome;  // "exited", "killed" (ended without saying so), "running"
    std::optional<int> exit_code;
    bool hang = false;
    std::int64_t stdout_bytes = 0, stderr_bytes = 0, stdout_written = 0, stderr_written = 0;
    /// "devctl show r1" for a person (arguments quoted as a shell would need).
    std::string line() const;
    /// Started by a shell (`sh -c …`) rather than directly.
    bool via_shell() const;
};

/// Header fields in the order sent: (name, value).
using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// The journal's `[[name, value], …]` header column, without building a
/// JSON tree (the column is read for every exchange of a run). Entries that
/// are not pairs of strings are skipped.
HeaderList parse_header_list(std::string_view text);
/// Calls `pair(name, value)` for each field of a list in the shape wirelab
/// writes (`[["Name","value"],...]`) until it returns false, without making
/// the list; false where the text is not of that shape (parse_header_list
/// reads it then).
bool walk_header_fields(std::string_view text, const std::function<bool(std::string& name, std::string& value)>& pair);

/// The fields of a journal's header lists (schema 3), by id.
using HeaderFields = std::unordered_map<std::int64_t, std::pair<std::string, std::string>>;

/// A header column as read from the journal, parsed the first time it is
/// looked at: most checks look at the headers of few of a run's requests.
/// Not for use from two threads at once.
class LazyHeaders {
public:
    LazyHeaders() = default;
    /// The column's JSON text (schema 1 and 2).
    explicit LazyHeaders(std::string text)
        : s_(std::make_shared<State>(State{std::move(text), {}, false, nullptr, {}})) {}
    /// A stored list (schema 3): the JSON array of its fields' ids.
    LazyHeaders(std::shared_ptr<const HeaderFields> fields, std::string ids)
        : s_(std::make_shared<State>(State{std::move(ids), {}, false, std::move(fields), {}})) {}
    LazyHeaders(HeaderList list) : s_(std::make_shared<State>(State{{}, std::move(list), true, nullptr, {}})) {}
    /// A row's own copy of a stored list, with the values the row keeps
    /// (schema 4: the JSON object of them by place, `{"7": "..."}`).
    LazyHeaders with_values(std::string values) const {
        LazyHeaders out;
        if (s_) out.s_ = std::make_shared<State>(State{s_->text, s_->list, s_->parsed, s_->fields, std::move(values)});
        return out;
    }
    const HeaderList& list() const {
        static const HeaderList none;
        if (!s_) return none;
        if (!s_->parsed) {
            s_->list = s_->fields ? fields_of(*s_->fields, s_->text) : parse_header_list(s_->text);
            s_->parsed = true;
            std::string().swap(s_->text);
        }
        if (!s_->values.empty()) {
            fill_values(s_->list, s_->values);
            std::string().swap(s_->values);
        }
        return s_->list;
    }
    operator const HeaderList&() const { return list(); }
    /// The first field named `name` (case-insensitive), found in the text
    /// without parsing the whole list when it has not been parsed yet.
    std::optional<std::string> find(const std::string& name) const;

private:
    static HeaderList fields_of(const HeaderFields& fields, std::string_view ids);
    static void fill_values(HeaderList& list, std::string_view values);
    // Shared by the copies: the rows of one stored list (journal schema 2
    // and 3) hold one text, parsed at most once.
    struct State {
        std::string text;
        HeaderList list;
        bool parsed = false;
        std::shared_ptr<const HeaderFields> fields;  // schema 3: `text` holds ids into these
        std::string values;  // schema 4: the row's own values, not yet in `list`
    };
    std::shared_ptr<State> s_;
};

struct HttpRow {
    std::int64_t id = 0, case_id = 0, connection_id = 0;
    std::string service;
    int seq = 0;
    micros started_us = 0, ended_us = 0;
    std::string method, target, path, version;
    nlohmann::json query = nlohmann::json::object();
    LazyHeaders req_headers;
    std::string req_body;
    int status = 0;
    std::string reason;
    LazyHeaders resp_headers;
    std::string resp_body;
    std::string error;  // set when the request could not be parsed or answered

    /// The first request header named `name` (case-insensitive).
    std::optional<std::string> header(const std::string& name) const;
    std::optional<std::string> response_header(const std::string& name) const;
    /// "POST /cars" for a person.
    std::string line() const { return method + " " + target; }
};

struct ConnRow {
    std::int64_t id = 0, case_id = 0;
    std::string service, transport, role, local, peer;
    std::optional<int> pid;
    std::optional<int> replica;  // which replica of a replicated service served it
    micros opened_us = 0;
    std::optional<micros> closed_us;
    std::string closed_by, close_kind;
    std::int64_t bytes_in = 0, bytes_out = 0;
};

struct MessageRow {
    std::int64_t id = 0, case_id = 0, connection_id = 0;
    std::string service, dir, protocol, data, error;
    std::string peer;   // datagrams: the other end's address
    std::string fault;  // datagrams: what the fault layer did to it ("dropped", ...)
    std::optional<int> pid;  // unix datagrams: the sending process, from the kernel
    int seq = 0;
    micros t_us = 0;
    std::optional<nlohmann::json> json;  // the message parsed, when it is JSON
};

struct SqlRow {
    std::int64_t id = 0, case_id = 0, connection_id = 0;
    std::string service, text, protocol, verb, tag, sqlstate, error, tx_before, tx_after;
    std::optional<nlohmann::json> params;  // a JSON array when sent apart from the text
    bool parameterised = false;
    std::int64_t rows = 0;
    int seq = 0;
    micros t_us = 0;
};

struct CommandRow {
    std::int64_t id = 0, case_id = 0, connection_id = 0;
    std::string service, name, reply, error;
    std::vector<std::string> args;  // after the name
    int seq = 0, db = 0;
    bool in_multi = false;
    micros t_us = 0;
};

struct StepRow {
    std::int64_t id = 0, case_id = 0, connection_id = 0;
    std::string client, action, expected, got;
    int idx = 0;
    bool ok = false;
    micros started_us = 0, ended_us = 0;
};

struct EventRow {
    std::int64_t id = 0, case_id = 0, connection_id = 0;
    micros t_us = 0;
    std::string service, kind;
    nlohmann::json detail;
};

class JournalReader {
public:
    /// Opens `file` read-only. Throws std::runtime_error if it is not a
    /// wirelab journal.
    explicit JournalReader(const std::filesystem::path& file);

    std::string meta(const std::string& key) const;
    const std::vector<CaseRow>& cases();
    const std::vector<HttpRow>& http();
    const std::vector<ConnRow>& connections();
    const std::vector<MessageRow>& messages();
    const std::vector<StepRow>& steps();
    const std::vector<CommandRow>& commands();
    const std::vector<SqlRow>& statements();
    const std::vector<EventRow>& events();
    const std::vector<ProcessRow>& processes();
    const std::vector<InvocationRow>& invocations();
    /// The bytes of connection `conn` in direction `dir` ("in" = received by
    /// wirelab, "out" = sent), as recorded (up to the journal's cap).
    std::string bytes(std::int64_t conn, const std::string& dir);
    /// Sizes of the chunks of `conn` in direction `dir`, in order.
    std::vector<std::int64_t> chunk_sizes(std::int64_t conn, const std::string& dir);
    sql::Db& db() { return *db_; }

private:
    std::unique_ptr<sql::Db> db_;
    std::optional<std::vector<CaseRow>> cases_;
    std::optional<std::vector<HttpRow>> http_;
    std::optional<std::vector<ConnRow>> conns_;
    std::optional<std::vector<MessageRow>> messages_;
    std::optional<std::vector<StepRow>> steps_;
    std::optional<std::vector<CommandRow>> commands_;
    std::optional<std::vector<SqlRow>> statements_;
    std::optional<std::vector<EventRow>> events_;
    std::optional<std::vector<ProcessRow>> processes_;
    std::optional<std::vector<InvocationRow>> invocations_;
    bool has_column(const std::string& table, const std::string& column);
};

}  // namespace wirelab
