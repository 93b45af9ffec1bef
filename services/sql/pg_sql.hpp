// The `sql` service's SQL side, I/O-free: splitting a simple query into
// statements, translating the PostgreSQL a driver or learner sends into the
// SQLite that runs it (placeholders, casts, SERIAL, SHOW/SET, pg_catalog),
// and running a statement on one SQLite connection with PostgreSQL's type
// OIDs, command tags, transaction states and SQLSTATE codes.
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "services/sql/pg_wire.hpp"

namespace wirelab::pg {

/// The statements of a simple query, split at top-level semicolons (not in
/// quotes, identifiers, dollar quotes or comments); blank ones dropped.
std::vector<std::string> split_statements(std::string_view sql);

/// The first keyword, upper case ("SELECT", "WITH", "BEGIN", …).
std::string first_word(std::string_view stmt);

/// PostgreSQL → SQLite: `$n` → `?n`, `::type` casts dropped, SERIAL →
/// INTEGER, `pg_catalog.` dropped, ILIKE → LIKE, a few spellings.
std::string translate(std::string_view stmt);

/// What a statement did, as the protocol reports it.
struct Result {
    std::vector<Column> columns;  // empty: no rows (CommandComplete only)
    std::vector<std::vector<std::optional<std::string>>> rows;  // text format
    std::string tag;              // "SELECT 2", "INSERT 0 1", …
    std::int64_t affected = 0;    // rows returned or changed
    std::string sqlstate, message, detail, hint;  // set: it failed
    bool ok() const { return sqlstate.empty(); }
};

/// One client's database session: a SQLite connection to the service's
/// file, the transaction state PostgreSQL reports (idle, in a transaction,
/// failed), and the server parameters SHOW reads.
class Session {
public:
    /// Opens `file` (created if missing); throws std::runtime_error.
    explicit Session(const std::string& file);
    ~Session();
    Session(const Session&) = delete;

    /// Runs one statement with text parameters ($1 … in order). Rows past
    /// `max_rows` (0: all) stay unread in this simple model: all are kept.
    Result run(const std::string& stmt, const std::vector<std::optional<std::string>>& params = {});
    /// Describes a statement without running it: its result columns and the
    /// number of parameters.
    Result describe(const std::string& stmt, std::size_t* nparams);

    /// 'I', 'T' or 'E'.
    char status() const;
    std::map<std::string, std::string>& settings() { return settings_; }
    sqlite3* db() { return db_; }

private:
    Result exec(const std::string& sql, const std::vector<std::optional<std::string>>& params,
                const std::string& verb);
    Result special(const std::string& stmt, const std::string& verb, bool& handled);
    void fail(Result& r, int code, const std::string& msg);
    /// SQLite's statements of the last texts run, the latest first: a
    /// driver runs the same few again and again, and preparing one was a
    /// sixth of a pgbench SELECT's CPU.
    sqlite3_stmt* take_prepared(const std::string& sql);  // nullptr: not kept
    void give_back(const std::string& sql, sqlite3_stmt* s);
    static constexpr std::size_t kPrepared = 16;
    std::vector<std::pair<std::string, sqlite3_stmt*>> prepared_;
    sqlite3* db_ = nullptr;
    bool failed_ = false;
    std::map<std::string, std::string> settings_;
};

/// The server parameters every session starts with and ParameterStatus
/// sends: server_version, client_encoding, DateStyle, …
const std::map<std::string, std::string>& default_settings();

}  // namespace wirelab::pg
