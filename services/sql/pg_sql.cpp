#include "services/sql/pg_sql.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <regex>
#include <stdexcept>

namespace wirelab::pg {

namespace {

std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

/// The dollar-quote tag starting at s[i] ("$$" or "$tag$"), or "".
std::string dollar_tag(std::string_view s, std::size_t i) {
    if (s[i] != '$') return {};
    std::size_t j = i + 1;
    while (j < s.size() && (word_char(s[j]) && !std::isdigit(static_cast<unsigned char>(s[i + 1])))) ++j;
    if (j < s.size() && s[j] == '$') return std::string(s.substr(i, j - i + 1));
    return {};
}

/// Calls `out(text, quoted)` for each run of `s`: code outside quotes and
/// comments (quoted = false), and quoted strings, identifiers, dollar
/// quotes and comments as they are (quoted = true).
template <class F>
void scan(std::string_view s, F&& out) {
    std::size_t i = 0, start = 0;
    auto flush = [&](std::size_t to) {
        if (to > start) out(s.substr(start, to - start), false);
    };
    while (i < s.size()) {
        char c = s[i];
        std::size_t end = std::string_view::npos;
        if (c == '\'' || c == '"') {
            std::size_t j = i + 1;
            while (j < s.size()) {
                if (s[j] == c && j + 1 < s.size() && s[j + 1] == c) j += 2;  // '' or ""
                else if (s[j] == c) break;
                else ++j;
            }
            end = std::min(j + 1, s.size());
        } else if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
            auto nl = s.find('\n', i);
            end = nl == std::string_view::npos ? s.size() : nl;
        } else if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
            auto close = s.find("*/", i + 2);
            end = close == std::string_view::npos ? s.size() : close + 2;
        } else if (c == '$') {
            std::string tag = dollar_tag(s, i);
            if (!tag.empty()) {
                auto close = s.find(tag, i + tag.size());
                end = close == std::string_view::npos ? s.size() : close + tag.size();
            }
        }
        if (end == std::string_view::npos) {
            ++i;
            continue;
        }
        flush(i);
        out(s.substr(i, end - i), true);
        i = start = end;
    }
    flush(s.size());
}

/// A PostgreSQL type name → its OID, from a column's declared type.
std::int32_t oid_of_decltype(const char* decl) {
    if (!decl) return 0;
    std::string d = upper(decl);
    auto has = [&](const char* w) { return d.find(w) != std::string::npos; };
    if (has("BOOL")) return 16;
    if (has("BIGINT") || has("INT8") || has("BIGSERIAL")) return 20;
    if (has("SMALLINT") || has("INT2")) return 21;
    if (has("INT")) return 23;
    if (has("NUMERIC") || has("DECIMAL")) return 1700;
    if (has("DOUBLE") || has("FLOAT8") || d == "FLOAT") return 701;
    if (has("REAL") || has("FLOAT4")) return 700;
    if (has("TIMESTAMP")) return has("TZ") || has("TIME ZONE") ? 1184 : 1114;
    if (has("DATE")) return 1082;
    if (has("TIME")) return 1083;
    if (has("BYTEA") || has("BLOB")) return 17;
    if (has("UUID")) return 2950;
    if (has("JSONB")) return 3802;
    if (has("JSON")) return 114;
    if (has("VARCHAR") || has("CHARACTER VARYING")) return 1043;
    if (has("CHAR")) return 1042;
    return 25;
}

std::int16_t size_of(std::int32_t oid) {
    switch (oid) {
        case 16: return 1;
        case 20: return 8;
        case 21: return 2;
        case 23: return 4;
        case 700: return 4;
        case 701: return 8;
        case 1082: return 4;
        case 1114: case 1184: return 8;
        default: return -1;
    }
}

std::string fmt_double(double d) {
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
    char b[40];
    for (int prec = 15; prec <= 17; ++prec) {
        std::snprintf(b, sizeof b, "%.*g", prec, d);
        if (std::strtod(b, nullptr) == d) break;
    }
    return b;
}

/// A value in PostgreSQL's text format for a column of type `oid`.
std::optional<std::string> text_value(sqlite3_stmt* s, int i, std::int32_t oid) {
    switch (sqlite3_column_type(s, i)) {
        case SQLITE_NULL: return std::nullopt;
        case SQLITE_INTEGER: {
            auto v = sqlite3_column_int64(s, i);
            if (oid == 16) return std::string(v ? "t" : "f");
            return std::to_string(v);
        }
        case SQLITE_FLOAT: return fmt_double(sqlite3_column_double(s, i));
        case SQLITE_BLOB: {
            const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(s, i));
            int n = sqlite3_column_bytes(s, i);
            if (oid != 17) return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
            std::string out = "\\x";
            char b[3];
            for (int k = 0; k < n; ++k) {
                std::snprintf(b, sizeof b, "%02x", p[k]);
                out += b;
            }
            return out;
        }
        default: {
            std::string v(reinterpret_cast<const char*>(sqlite3_column_text(s, i)),
                          static_cast<std::size_t>(sqlite3_column_bytes(s, i)));
            if (oid == 16) {
                std::string u = upper(v);
                if (u == "TRUE" || u == "T" || u == "1") return std::string("t");
                if (u == "FALSE" || u == "F" || u == "0") return std::string("f");
            }
            return v;
        }
    }
}

void fn_now(sqlite3_context* ctx, int, sqlite3_value**) {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char b[40];
    std::strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S+00", &tm);
    sqlite3_result_text(ctx, b, -1, SQLITE_TRANSIENT);
}
void fn_text(sqlite3_context* ctx, int, sqlite3_value**) {
    sqlite3_result_text(ctx, static_cast<const char*>(sqlite3_user_data(ctx)), -1, SQLITE_STATIC);
}
void fn_one(sqlite3_context* ctx, int, sqlite3_value**) { sqlite3_result_int(ctx, 1); }

/// The name PostgreSQL gives a result column: an expression without an
/// alias is named after its function ("count"), or "?column?".
std::string pg_name(sqlite3_stmt* s, int i) {
    std::string name = sqlite3_column_name(s, i);
    if (sqlite3_column_decltype(s, i)) return name;
    static const std::regex call(R"(^\s*(?:\w+\.)?(\w+)\s*\()"), ident(R"(^\w+$)");
    std::smatch m;
    if (std::regex_search(name, m, call) && name.back() == ')') {
        std::string f = m[1];
        for (auto& c : f) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return f;
    }
    if (std::regex_match(name, ident) && !std::isdigit(static_cast<unsigned char>(name[0]))) return name;
    return "?column?";
}

Column column(const std::string& name, std::int32_t oid) {
    Column c;
    c.name = name;
    c.type_oid = oid;
    c.type_size = size_of(oid);
    return c;
}

const char* kVersion = "PostgreSQL 15.0 (wirelab, over SQLite) on x86_64-pc-linux-gnu, compiled by g++, 64-bit";

}  // namespace

std::vector<std::string> split_statements(std::string_view sql) {
    std::vector<std::string> out;
    std::string cur;
    bool has_code = false;
    scan(sql, [&](std::string_view part, bool quoted) {
        if (quoted) {
            cur.append(part);
            if (part.substr(0, 2) != "--" && part.substr(0, 2) != "/*") has_code = true;
            return;
        }
        for (char c : part) {
            if (c == ';') {
                if (has_code) out.push_back(cur);
                cur.clear();
                has_code = false;
            } else {
                cur += c;
                if (!std::isspace(static_cast<unsigned char>(c))) has_code = true;
            }
        }
    });
    if (has_code) out.push_back(cur);
    return out;
}

std::string first_word(std::string_view stmt) {
    std::string w;
    bool started = false;
    scan(stmt, [&](std::string_view part, bool quoted) {
        if (started && !w.empty()) return;
        if (quoted) {
            if (part.substr(0, 2) == "--" || part.substr(0, 2) == "/*") return;
            started = true;
            return;
        }
        for (char c : part) {
            if (word_char(c)) {
                w += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                started = true;
            } else if (!w.empty() || (started && !std::isspace(static_cast<unsigned char>(c)))) {
                started = true;
                return;
            } else if (!std::isspace(static_cast<unsigned char>(c)) && c != '(') {
                started = true;
                return;
            }
        }
    });
    return w;
}

std::string translate(std::string_view stmt) {
    std::string out;
    scan(stmt, [&](std::string_view part, bool quoted) {
        if (quoted) {
            // "public"."t" → "t": SQLite would take public for a database.
            out.append(part);
            return;
        }
        std::size_t i = 0;
        while (i < part.size()) {
            char c = part[i];
            if (c == '$' && i + 1 < part.size() && std::isdigit(static_cast<unsigned char>(part[i + 1]))) {
                out += '?';
                ++i;
                while (i < part.size() && std::isdigit(static_cast<unsigned char>(part[i]))) out += part[i++];
                continue;
            }
            if (c == ':' && i + 1 < part.size() && part[i + 1] == ':') {
                // A cast: ::type, ::type(n), ::type[], ::double precision …
                i += 2;
                while (i < part.size() && part[i] == ' ') ++i;
                std::size_t j = i;
                while (j < part.size() && (word_char(part[j]) || part[j] == '.')) ++j;
                std::string t = upper(std::string(part.substr(i, j - i)));
                i = j;
                auto skip_word = [&](const char* w) {
                    std::size_t k = i;
                    while (k < part.size() && part[k] == ' ') ++k;
                    std::size_t n = std::strlen(w);
                    if (upper(std::string(part.substr(k, n))) == w && (k + n >= part.size() || !word_char(part[k + n])))
                        i = k + n;
                };
                if (t == "DOUBLE") skip_word("PRECISION");
                if (t == "CHARACTER") skip_word("VARYING");
                if (t == "TIMESTAMP" || t == "TIME") {
                    skip_word("WITH");
                    skip_word("WITHOUT");
                    skip_word("TIME");
                    skip_word("ZONE");
                }
                if (i < part.size() && part[i] == '(') {
                    auto close = part.find(')', i);
                    i = close == std::string_view::npos ? part.size() : close + 1;
                }
                while (i + 1 < part.size() && part[i] == '[' && part[i + 1] == ']') i += 2;
                continue;
            }
            if (word_char(c) && (i == 0 || !word_char(part[i - 1]))) {
                std::size_t j = i;
                while (j < part.size() && word_char(part[j])) ++j;
                std::string w = upper(std::string(part.substr(i, j - i)));
                bool dot = j < part.size() && part[j] == '.';
                if ((w == "PG_CATALOG" || w == "PUBLIC") && dot) {
                    i = j + 1;  // pg_catalog.version() → version()
                    continue;
                }
                if (w == "SERIAL" || w == "BIGSERIAL" || w == "SMALLSERIAL") out += "INTEGER";
                else if (w == "ILIKE") out += "LIKE";
                else if (w == "CURRENT_USER" || w == "SESSION_USER") out += "current_user()";
                else if (w == "CURRENT_SCHEMA" && !(j < part.size() && part[j] == '(')) out += "current_schema()";
                else out.append(part.substr(i, j - i));
                i = j;
                continue;
            }
            out += c;
            ++i;
        }
    });
    return out;
}

const std::map<std::string, std::string>& default_settings() {
    static const std::map<std::string, std::string> s = {
        {"server_version", "15.0"},
        {"server_encoding", "UTF8"},
        {"client_encoding", "UTF8"},
        {"DateStyle", "ISO, MDY"},
        {"IntervalStyle", "postgres"},
        {"TimeZone", "UTC"},
        {"integer_datetimes", "on"},
        {"standard_conforming_strings", "on"},
        {"is_superuser", "on"},
        {"application_name", ""},
        {"default_transaction_isolation", "read committed"},
        {"transaction_isolation", "read committed"},
        {"search_path", "\"$user\", public"},
        {"max_identifier_length", "63"},
    };
    return s;
}

Session::Session(const std::string& file) : settings_(default_settings()) {
    if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
        std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        db_ = nullptr;
        throw std::runtime_error("cannot open " + file + ": " + why);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, 0);
    // The lab's data is made anew by every run: no fsync per statement (see
    // sql::Db), which would make every autocommit INSERT wait for the disk.
    // The catalogue below is TEMP: in memory, not a temporary file per
    // connection.
    sqlite3_exec(db_, "PRAGMA foreign_keys = ON; PRAGMA synchronous = OFF; PRAGMA temp_store = MEMORY", nullptr,
                 nullptr, nullptr);
    int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
    sqlite3_create_function(db_, "now", 0, SQLITE_UTF8, nullptr, fn_now, nullptr, nullptr);
    sqlite3_create_function(db_, "version", 0, flags, const_cast<char*>(kVersion), fn_text, nullptr, nullptr);
    sqlite3_create_function(db_, "current_schema", 0, flags, const_cast<char*>("public"), fn_text, nullptr, nullptr);
    sqlite3_create_function(db_, "current_database", 0, flags, const_cast<char*>("wirelab"), fn_text, nullptr,
                            nullptr);
    sqlite3_create_function(db_, "current_user", 0, flags, const_cast<char*>("wirelab"), fn_text, nullptr, nullptr);
    sqlite3_create_function(db_, "pg_table_is_visible", 1, flags, nullptr, fn_one, nullptr, nullptr);
    // The catalogue drivers and ORMs look tables up in.
    sqlite3_exec(db_,
                 "CREATE TEMP VIEW pg_namespace AS SELECT 2200 AS oid, 'public' AS nspname "
                 "UNION ALL SELECT 11, 'pg_catalog';"
                 "CREATE TEMP VIEW pg_class AS SELECT rowid + 16384 AS oid, name AS relname, 2200 AS relnamespace, "
                 "CASE type WHEN 'table' THEN 'r' WHEN 'view' THEN 'v' WHEN 'index' THEN 'i' ELSE 'r' END AS relkind, "
                 "0 AS relpersistence FROM main.sqlite_master WHERE name NOT LIKE 'sqlite_%';"
                 "CREATE TEMP VIEW pg_tables AS SELECT 'public' AS schemaname, name AS tablename "
                 "FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%';"
                 "CREATE TEMP TABLE pg_type(oid INTEGER, typname TEXT, typnamespace INTEGER, typarray INTEGER);"
                 "INSERT INTO pg_type VALUES (16,'bool',11,1000),(17,'bytea',11,1001),(20,'int8',11,1016),"
                 "(21,'int2',11,1005),(23,'int4',11,1007),(25,'text',11,1009),(700,'float4',11,1021),"
                 "(701,'float8',11,1022),(1043,'varchar',11,1015),(1082,'date',11,1182),(1114,'timestamp',11,1115),"
                 "(1700,'numeric',11,1231);",
                 nullptr, nullptr, nullptr);
}

Session::~Session() {
    for (auto& [text, s] : prepared_) sqlite3_finalize(s);
    if (db_) sqlite3_close_v2(db_);
}

sqlite3_stmt* Session::take_prepared(const std::string& sql) {
    for (auto it = prepared_.begin(); it != prepared_.end(); ++it)
        if (it->first == sql) {
            sqlite3_stmt* s = it->second;
            prepared_.erase(it);
            return s;
        }
    return nullptr;
}

void Session::give_back(const std::string& sql, sqlite3_stmt* s) {
    // Reset: it holds no lock and no transaction open; SQLite prepares it
    // again itself if the schema changed meanwhile.
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    prepared_.insert(prepared_.begin(), {sql, s});
    if (prepared_.size() > kPrepared) {
        sqlite3_finalize(prepared_.back().second);
        prepared_.pop_back();
    }
}

char Session::status() const {
    if (failed_) return 'E';
    return sqlite3_get_autocommit(db_) ? 'I' : 'T';
}

void Session::fail(Result& r, int code, const std::string& msg) {
    static const std::regex table_re(R"(no such table: (\S+))"), column_re(R"(no such column: (\S+))"),
        unique_re(R"(UNIQUE constraint failed: ([\w.]+))"), notnull_re(R"(NOT NULL constraint failed: (\w+)\.(\w+))"),
        exists_re(R"(table (\S+) already exists)"), near_re(R"re(near "([^"]*)": syntax error)re"),
        func_re(R"(no such function: (\S+))");
    std::smatch m;
    r.detail = "SQLite said: " + msg;
    if (std::regex_search(msg, m, unique_re)) {
        std::string what = m[1];
        auto dot = what.find('.');
        std::string table = what.substr(0, dot), col = dot == std::string::npos ? what : what.substr(dot + 1);
        r.sqlstate = "23505";
        r.message = "duplicate key value violates unique constraint \"" + table + "_" + col + "_key\"";
    } else if (std::regex_search(msg, m, notnull_re)) {
        r.sqlstate = "23502";
        r.message = "null value in column \"" + m[2].str() + "\" of relation \"" + m[1].str() +
                    "\" violates not-null constraint";
    } else if ((code & 0xff) == SQLITE_CONSTRAINT && msg.find("FOREIGN KEY") != std::string::npos) {
        r.sqlstate = "23503";
        r.message = "insert or update violates foreign key constraint";
    } else if ((code & 0xff) == SQLITE_CONSTRAINT && msg.find("CHECK") != std::string::npos) {
        r.sqlstate = "23514";
        r.message = "new row violates check constraint";
    } else if (std::regex_search(msg, m, table_re)) {
        r.sqlstate = "42P01";
        r.message = "relation \"" + m[1].str() + "\" does not exist";
    } else if (std::regex_search(msg, m, column_re)) {
        r.sqlstate = "42703";
        r.message = "column \"" + m[1].str() + "\" does not exist";
    } else if (std::regex_search(msg, m, exists_re)) {
        r.sqlstate = "42P07";
        r.message = "relation \"" + m[1].str() + "\" already exists";
    } else if (std::regex_search(msg, m, func_re)) {
        r.sqlstate = "42883";
        r.message = "function " + m[1].str() + "() does not exist";
        r.hint = "wirelab's PostgreSQL runs on SQLite: its functions are SQLite's and a few of PostgreSQL's";
    } else if (std::regex_search(msg, m, near_re) || msg.find("syntax error") != std::string::npos) {
        r.sqlstate = "42601";
        r.message = m.size() > 1 ? "syntax error at or near \"" + m[1].str() + "\"" : "syntax error";
    } else if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED) {
        r.sqlstate = "55P03";
        r.message = "could not obtain lock: another connection holds a write transaction";
        r.hint = "commit or roll back the other connection's transaction first";
    } else if ((code & 0xff) == SQLITE_MISMATCH) {
        r.sqlstate = "42804";
        r.message = "datatype mismatch";
    } else if ((code & 0xff) == SQLITE_RANGE) {
        r.sqlstate = "08P01";
        r.message = "bind message supplies the wrong number of parameters";
    } else {
        r.sqlstate = "XX000";
        r.message = msg;
    }
    if (!sqlite3_get_autocommit(db_)) failed_ = true;
}

Result Session::special(const std::string& stmt, const std::string& verb, bool& handled) {
    Result r;
    // Most statements are none of these: they go to SQLite without the
    // statement upper-cased and its spaces folded first (a regex over the
    // text of every SELECT).
    static const char* const kVerbs[] = {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT",
                                         "SAVEPOINT", "RELEASE", "SET", "RESET", "SHOW", "DISCARD",
                                         "DEALLOCATE", "LISTEN", "UNLISTEN", "NOTIFY"};
    handled = std::any_of(std::begin(kVerbs), std::end(kVerbs), [&](const char* v) { return verb == v; });
    if (!handled) return r;  // run() answers 25P02 in a failed transaction, as below
    std::string u = upper(stmt);
    static const std::regex ws(R"(\s+)");
    u = std::regex_replace(u, ws, " ");
    while (!u.empty() && u.front() == ' ') u.erase(0, 1);
    while (!u.empty() && u.back() == ' ') u.pop_back();
    bool in_tx = !sqlite3_get_autocommit(db_);
    auto run_plain = [&](const char* sql, const char* tag) {
        char* err = nullptr;
        if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
            fail(r, sqlite3_extended_errcode(db_), err ? err : "error");
            sqlite3_free(err);
        } else {
            r.tag = tag;
        }
    };
    bool rollback_to = u.rfind("ROLLBACK TO", 0) == 0;
    if (failed_ && verb != "ROLLBACK" && verb != "ABORT" && verb != "COMMIT" && verb != "END") {
        r.sqlstate = "25P02";
        r.message = "current transaction is aborted, commands ignored until end of transaction block";
        r.hint = "roll back (connection.rollback()) after an error inside a transaction";
        return r;
    }
    if (verb == "BEGIN" || (verb == "START" && u.rfind("START TRANSACTION", 0) == 0)) {
        if (in_tx) {
            r.tag = "BEGIN";
            r.detail = "there is already a transaction in progress";
        } else {
            run_plain("BEGIN", "BEGIN");
        }
    } else if (verb == "COMMIT" || verb == "END") {
        if (failed_) {
            run_plain("ROLLBACK", "ROLLBACK");
            failed_ = false;
        } else if (!in_tx) {
            r.tag = "COMMIT";
            r.detail = "there is no transaction in progress";
        } else {
            run_plain("COMMIT", "COMMIT");
        }
    } else if ((verb == "ROLLBACK" || verb == "ABORT") && !rollback_to) {
        if (in_tx) run_plain("ROLLBACK", "ROLLBACK");
        else r.tag = "ROLLBACK";
        failed_ = false;
    } else if (rollback_to) {
        failed_ = false;
        std::string sql = stmt;
        run_plain(sql.c_str(), "ROLLBACK");
    } else if (verb == "SAVEPOINT" || verb == "RELEASE") {
        std::string sql = stmt;
        run_plain(sql.c_str(), verb == "SAVEPOINT" ? "SAVEPOINT" : "RELEASE");
    } else if (verb == "SET" || verb == "RESET") {
        static const std::regex set_re(R"(^\s*SET\s+(?:SESSION\s+|LOCAL\s+)?([\w.]+)\s*(?:=|\bTO\b)\s*(.*?)\s*$)",
                                       std::regex::icase);
        std::smatch m;
        if (std::regex_match(stmt, m, set_re)) {
            std::string v = m[2];
            if (v.size() >= 2 && (v.front() == '\'' || v.front() == '"') && v.back() == v.front())
                v = v.substr(1, v.size() - 2);
            settings_[m[1]] = v;
        }
        r.tag = verb;
    } else if (verb == "SHOW") {
        std::string name = std::regex_replace(stmt, std::regex(R"(^\s*SHOW\s+)", std::regex::icase), "");
        while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.pop_back();
        std::string key = upper(name) == "TRANSACTION ISOLATION LEVEL" ? "transaction_isolation" : name;
        std::optional<std::string> value;
        for (const auto& [k, v] : settings_)
            if (upper(k) == upper(key)) value = v;
        if (!value) {
            r.sqlstate = "42704";
            r.message = "unrecognized configuration parameter \"" + name + "\"";
            return r;
        }
        r.columns.push_back(column(key, 25));
        r.rows.push_back({*value});
        r.affected = 1;
        r.tag = "SHOW";
    } else if (verb == "DISCARD" || verb == "DEALLOCATE" || verb == "LISTEN" || verb == "UNLISTEN" ||
               verb == "NOTIFY") {
        r.tag = verb + (verb == "DISCARD" ? " ALL" : "");
    } else {
        handled = false;
    }
    return r;
}

Result Session::run(const std::string& stmt, const std::vector<std::optional<std::string>>& params) {
    std::string verb = first_word(stmt);
    bool handled = false;
    Result r = special(stmt, verb, handled);
    if (handled) return r;
    if (failed_) {
        r.sqlstate = "25P02";
        r.message = "current transaction is aborted, commands ignored until end of transaction block";
        r.hint = "roll back (connection.rollback()) after an error inside a transaction";
        return r;
    }
    return exec(translate(stmt), params, verb);
}

Result Session::exec(const std::string& sql, const std::vector<std::optional<std::string>>& params,
                     const std::string& verb) {
    Result r;
    sqlite3_stmt* s = take_prepared(sql);
    if (!s) {
        const char* tail = nullptr;
        if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &s, &tail) != SQLITE_OK) {
            fail(r, sqlite3_extended_errcode(db_), sqlite3_errmsg(db_));
            return r;
        }
    }
    if (!s) {
        r.tag = "";  // only a comment: EmptyQueryResponse
        return r;
    }
    // Kept for the next run of the same text, whichever way this one ends.
    struct GiveBack {
        Session& session;
        const std::string& sql;
        sqlite3_stmt* s;
        ~GiveBack() { session.give_back(sql, s); }
    } give_back_later{*this, sql, s};
    int want = sqlite3_bind_parameter_count(s);
    if (static_cast<std::size_t>(want) != params.size() && !(want == 0 && params.empty())) {
        r.sqlstate = "08P01";
        r.message = "bind message supplies " + std::to_string(params.size()) + " parameters, but prepared statement "
                    "requires " + std::to_string(want);
        return r;
    }
    for (int i = 0; i < want; ++i) {
        const auto& p = params[static_cast<std::size_t>(i)];
        if (!p) sqlite3_bind_null(s, i + 1);
        else sqlite3_bind_text(s, i + 1, p->data(), static_cast<int>(p->size()), SQLITE_TRANSIENT);
    }
    int ncol = sqlite3_column_count(s);
    std::vector<std::int32_t> oids(static_cast<std::size_t>(ncol));
    for (int i = 0; i < ncol; ++i) {
        oids[static_cast<std::size_t>(i)] = oid_of_decltype(sqlite3_column_decltype(s, i));
        r.columns.push_back(column(pg_name(s, i), oids[static_cast<std::size_t>(i)]));
    }
    int rc;
    bool first = true;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (first) {
            // An expression has no declared type: the first row's value says.
            for (int i = 0; i < ncol; ++i) {
                auto& oid = oids[static_cast<std::size_t>(i)];
                if (oid) continue;
                int t = sqlite3_column_type(s, i);
                oid = t == SQLITE_INTEGER ? 20 : t == SQLITE_FLOAT ? 701 : t == SQLITE_BLOB ? 17 : 25;
            }
            first = false;
        }
        std::vector<std::optional<std::string>> row;
        for (int i = 0; i < ncol; ++i) row.push_back(text_value(s, i, oids[static_cast<std::size_t>(i)]));
        r.rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) {
        fail(r, sqlite3_extended_errcode(db_), sqlite3_errmsg(db_));
        r.columns.clear();
        r.rows.clear();
        return r;
    }
    for (int i = 0; i < ncol; ++i) {
        auto& oid = oids[static_cast<std::size_t>(i)];
        if (!oid) oid = 25;
        r.columns[static_cast<std::size_t>(i)].type_oid = oid;
        r.columns[static_cast<std::size_t>(i)].type_size = size_of(oid);
    }
    bool readonly = sqlite3_stmt_readonly(s);
    std::int64_t changes = readonly ? 0 : sqlite3_changes64(db_);
    if (verb == "SELECT" || verb == "WITH" || verb == "VALUES" || verb == "TABLE" || verb == "PRAGMA" ||
        verb == "EXPLAIN") {
        r.affected = static_cast<std::int64_t>(r.rows.size());
        r.tag = "SELECT " + std::to_string(r.affected);
        if (verb == "WITH" && !readonly) r.tag = "SELECT " + std::to_string(r.rows.size());
    } else if (verb == "INSERT" || verb == "REPLACE") {
        r.affected = changes;
        r.tag = "INSERT 0 " + std::to_string(changes);
    } else if (verb == "UPDATE" || verb == "DELETE") {
        r.affected = changes;
        r.tag = verb + " " + std::to_string(changes);
    } else {
        // CREATE TABLE, DROP INDEX, ALTER TABLE …: the first two words.
        std::string u = upper(sql);
        static const std::regex two(R"(^\s*(\w+)\s+(?:(?:TEMP|TEMPORARY|UNIQUE|OR\s+REPLACE)\s+)?(\w+))");
        std::smatch m;
        r.tag = std::regex_search(u, m, two) ? m[1].str() + " " + m[2].str() : verb;
    }
    if (ncol == 0) r.columns.clear();
    return r;
}

Result Session::describe(const std::string& stmt, std::size_t* nparams) {
    Result r;
    std::string verb = first_word(stmt);
    if (verb == "SHOW") {
        r.columns.push_back(column(std::regex_replace(stmt, std::regex(R"(^\s*SHOW\s+)", std::regex::icase), ""), 25));
        if (nparams) *nparams = 0;
        return r;
    }
    std::string sql = translate(stmt);
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &s, nullptr) != SQLITE_OK || !s) {
        if (nparams) *nparams = 0;
        if (s) sqlite3_finalize(s);
        return r;  // special statements (BEGIN, SET, …) describe as NoData
    }
    if (nparams) *nparams = static_cast<std::size_t>(sqlite3_bind_parameter_count(s));
    int ncol = sqlite3_column_count(s);
    std::vector<std::int32_t> oids;
    for (int i = 0; i < ncol; ++i) oids.push_back(oid_of_decltype(sqlite3_column_decltype(s, i)));
    // An expression's type is its value's: a read-only statement runs once
    // with NULL parameters to see it (count(*) is a number whatever rows).
    if (sqlite3_stmt_readonly(s) && std::find(oids.begin(), oids.end(), 0) != oids.end() &&
        sqlite3_step(s) == SQLITE_ROW)
        for (int i = 0; i < ncol; ++i) {
            if (oids[static_cast<std::size_t>(i)]) continue;
            int t = sqlite3_column_type(s, i);
            oids[static_cast<std::size_t>(i)] = t == SQLITE_INTEGER ? 20 : t == SQLITE_FLOAT ? 701 : t == SQLITE_BLOB ? 17 : 0;
        }
    for (int i = 0; i < ncol; ++i) {
        std::int32_t oid = oids[static_cast<std::size_t>(i)];
        std::string name = sqlite3_column_name(s, i);
        if (!oid && upper(name).rfind("COUNT(", 0) == 0) oid = 20;
        r.columns.push_back(column(pg_name(s, i), oid ? oid : 25));
    }
    sqlite3_finalize(s);
    return r;
}

}  // namespace wirelab::pg
