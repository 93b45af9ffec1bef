#include "services/sql/sql_service.hpp"

#include <unistd.h>

#include <boost/asio/write.hpp>
#include <cstring>
#include <chrono>
#include <fstream>
#include <random>
#include <sstream>

#include "runtime/errors.hpp"
#include "runtime/journal.hpp"
#include "runtime/lab.hpp"
#include "runtime/listener.hpp"
#include "runtime/seeding.hpp"
#include "runtime/sqlite.hpp"
#include "services/sql/pg_sql.hpp"
#include "services/sql/pg_wire.hpp"

namespace wirelab::pg {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

/// A parameter sent in binary: by its type OID, as text SQLite can bind.
std::optional<std::string> from_binary(const std::optional<std::string>& v, std::int32_t oid) {
    if (!v) return v;
    const std::string& b = *v;
    auto be = [&](std::size_t n) {
        std::uint64_t x = 0;
        for (std::size_t i = 0; i < n; ++i) x = (x << 8) | static_cast<unsigned char>(b[i]);
        return x;
    };
    switch (oid) {
        case 16: return b.size() == 1 ? std::string(b[0] ? "1" : "0") : b;
        case 21: return b.size() == 2 ? std::to_string(static_cast<std::int16_t>(be(2))) : b;
        case 23: return b.size() == 4 ? std::to_string(static_cast<std::int32_t>(be(4))) : b;
        case 20: return b.size() == 8 ? std::to_string(static_cast<std::int64_t>(be(8))) : b;
        case 701: {
            if (b.size() != 8) return b;
            std::uint64_t x = be(8);
            double d;
            std::memcpy(&d, &x, 8);
            std::ostringstream o;
            o.precision(17);
            o << d;
            return o.str();
        }
        default: return b;
    }
}

std::string tx_name(char s) { return std::string(1, s); }

/// A text-format value in binary format for `oid`, where the client asked
/// for binary (pg8000 does for the types it knows); nullopt: no binary
/// form here, so the column stays text.
std::optional<std::string> to_binary(const std::string& v, std::int32_t oid) {
    auto be = [](std::uint64_t x, int n) {
        std::string out;
        for (int i = n - 1; i >= 0; --i) out += static_cast<char>((x >> (8 * i)) & 0xff);
        return out;
    };
    try {
        switch (oid) {
            case 16: return std::string(1, v == "t" ? '\1' : '\0');
            case 21: return be(static_cast<std::uint64_t>(std::stoll(v)), 2);
            case 23: return be(static_cast<std::uint64_t>(std::stoll(v)), 4);
            case 20: return be(static_cast<std::uint64_t>(std::stoll(v)), 8);
            case 700: {
                float f = std::stof(v);
                std::uint32_t x;
                std::memcpy(&x, &f, 4);
                return be(x, 4);
            }
            case 701: {
                double d = std::stod(v);
                std::uint64_t x;
                std::memcpy(&x, &d, 8);
                return be(x, 8);
            }
            case 25: case 1043: case 1042: case 114: return v;
            case 17: {
                if (v.rfind("\\x", 0) != 0) return v;
                std::string out;
                for (std::size_t i = 2; i + 1 < v.size(); i += 2) out += static_cast<char>(std::stoi(v.substr(i, 2), nullptr, 16));
                return out;
            }
            default: return std::nullopt;
        }
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

/// Applies the result formats a Bind asked for (none: all text; one: all
/// columns; else one per column) to a result's columns and rows.
void apply_formats(Result& r, const std::vector<std::int16_t>& formats) {
    if (formats.empty() || !r.ok()) return;
    for (std::size_t i = 0; i < r.columns.size(); ++i) {
        std::int16_t want = formats.size() == 1 ? formats[0] : i < formats.size() ? formats[i] : 0;
        if (want != 1) continue;
        std::vector<std::optional<std::string>> converted;
        bool all = true;
        for (const auto& row : r.rows) {
            if (!row[i]) {
                converted.push_back(std::nullopt);
                continue;
            }
            auto b = to_binary(*row[i], r.columns[i].type_oid);
            if (!b) {
                all = false;
                break;
            }
            converted.push_back(std::move(b));
        }
        if (!all) continue;
        r.columns[i].format = 1;
        for (std::size_t k = 0; k < r.rows.size(); ++k) r.rows[k][i] = converted[k];
    }
}

class SqlService final : public Service {
public:
    explicit SqlService(ServiceContext& ctx) : name_(ctx.name), journal_(ctx.journal) {
        Spec& s = ctx.spec;
        ListenSpec listen = read_listen_spec(s, ctx);
        if (!listen.tls.empty())
            s.fail("tls", "PostgreSQL clients ask for TLS inside the protocol (sslmode), which this service does not "
                          "offer yet: leave \"tls\" out");
        auth_ = s.string("auth", "trust");
        if (auth_ != "trust" && auth_ != "password" && auth_ != "md5")
            s.fail("auth", "\"auth\" is \"trust\", \"password\" (cleartext) or \"md5\"");
        if (const json* u = s.get("users")) {
            if (!u->is_object()) s.fail("users", "\"users\" maps a user name to its password");
            for (auto it = u->begin(); it != u->end(); ++it) {
                if (!it.value().is_string()) s.fail("users", "the password of \"" + it.key() + "\" must be a string");
                users_[it.key()] = it.value().get<std::string>();
            }
        }
        if (auth_ != "trust" && users_.empty())
            s.fail("users", "password authentication needs \"users\"", "e.g. \"users\": {\"learner\": \"secret\"}");
        schema_ = read_schema(s, ctx.lab_dir, ctx.params);
        reset_each_case_ = read_reset_each_case(s);
        idle_s_ = s.integer("idle_timeout", 300, 1, 3600);
        try {
            Session scratch(":memory:");
            for (const auto& st : split_statements(schema_)) {
                Result r = scratch.run(st);
                if (!r.ok()) throw std::runtime_error(r.message + " (" + r.detail + ") in: " + st);
            }
        } catch (const std::exception& e) {
            s.fail(s.has("schema_file") ? "schema_file" : "schema", std::string("the schema does not run: ") + e.what());
        }
        s.finish();
        db_path_ = (ctx.state_dir / (name_ + ".db")).string();
        listener_ = std::make_unique<StreamListener>(ctx, "sql", listen, [this](Conn& c) { return serve(c); });
    }

    void start() override {
        seed();
        listener_->start();
    }
    void stop() override {
        stopping_ = true;
        listener_->stop();
    }
    Endpoint endpoint() const override { return listener_->endpoint("postgresql"); }
    void set_faults(const FaultProfile& p, std::uint64_t seed) override { listener_->set_faults(p, seed); }
    std::filesystem::path state_file() const override { return db_path_; }
    std::map<std::string, std::filesystem::path> case_state_files() const override { return after_case_.files(); }

    void add_environment(std::map<std::string, std::string>& env) const override {
        // A libpq connection string and URL the drivers take as they are.
        std::string stem = service_env_stem(name_);
        auto ep = endpoint();
        std::string user = users_.empty() ? "learner" : users_.begin()->first;
        std::string pw = users_.empty() ? "" : users_.begin()->second;
        env[stem + "_URL"] = "postgresql://" + user + (pw.empty() ? "" : ":" + pw) + "@" + ep.host + ":" +
                             std::to_string(ep.port) + "/wirelab";
        env[stem + "_DSN"] = "host=" + ep.host + " port=" + std::to_string(ep.port) + " dbname=wirelab user=" + user +
                             (pw.empty() ? "" : " password=" + pw);
        env[stem + "_USER"] = user;
        env[stem + "_PASSWORD"] = pw;
        env[stem + "_DB"] = "wirelab";
    }

    void begin_case(const CaseSpec&) override {
        if (reset_each_case_ && cases_++ > 0) seed();
    }

    void end_case(const CaseSpec& c) override {
        try {
            after_case_.keep(db_path_, name_, c.name);
        } catch (const std::exception& e) {
            journal_.event("internal-error", name_, {{"what", std::string("copying the database: ") + e.what()}});
        }
    }

private:
    void seed() {
        std::error_code ec;
        for (const char* suffix : {"", "-journal", "-wal", "-shm"}) fs::remove(db_path_ + suffix, ec);
        Session admin(db_path_);
        // WAL (kept in the file, so every connection's): a commit appends
        // to one file instead of making and deleting a rollback journal
        // (pgbench UPDATE at 10 clients: a third of the CPU was ext4
        // allocating that file's inode again), and, as in PostgreSQL, a
        // reader's open transaction does not hold up another's COMMIT.
        sqlite3_exec(admin.db(), "PRAGMA journal_mode = WAL", nullptr, nullptr, nullptr);
        for (const auto& st : split_statements(schema_)) {
            Result r = admin.run(st);
            if (!r.ok()) throw EnvError("service \"" + name_ + "\": the schema fails: " + r.message + " in: " + st);
        }
    }

    struct Prepared {
        std::string text;
        std::vector<std::int32_t> oids;
        std::vector<std::int32_t> described;  // result types a Describe told the client
    };
    struct Portal {
        std::string stmt, text;
        std::vector<std::optional<std::string>> params;
        std::vector<std::int16_t> result_formats;
        std::optional<Result> result;
        std::size_t sent = 0;  // rows sent so far (Execute with a row limit)
        bool described = false;
    };

    struct Conversation {
        Reader reader;
        std::unique_ptr<Session> db;
        std::map<std::string, std::string> startup;
        std::string user, salt;
        enum class Phase { startup, auth, ready } phase = Phase::startup;
        std::map<std::string, Prepared> prepared;
        std::map<std::string, Portal> portals;
        bool skip_to_sync = false;
        int seq = 0;
        bool close = false;
    };

    void journal_statement(Conn& c, Conversation& cv, const std::string& text, const Result& r,
                           const std::vector<std::optional<std::string>>* params, const char* protocol, char before,
                           micros started) {
        StatementEntry row;  // without a JSON tree: one row per statement
        row.service = name_;
        row.connection_id = c.id();
        row.seq = ++cv.seq;
        row.duration_us = journal_.now() - started;
        row.text = text;
        row.protocol = protocol;
        row.verb = first_word(text);
        row.tx_before = tx_name(before);
        row.tx_after = tx_name(cv.db ? cv.db->status() : 'I');
        if (params) {
            std::string p = "[";
            for (const auto& v : *params) {
                if (p.size() > 1) p += ',';
                if (v) append_json_string(p, *v);
                else p += "null";
            }
            row.params = p + "]";
            row.parameterised = !params->empty();
        }
        row.ok = r.ok();
        if (r.ok()) {
            row.tag = r.tag;
            row.rows = r.affected;
        } else {
            row.sqlstate = r.sqlstate;
            row.error = r.message;
        }
        journal_.statement(std::move(row));
    }

    static std::string result_messages(const Result& r, bool with_description, std::size_t from = 0,
                                       std::size_t max = 0, bool* suspended = nullptr) {
        std::string out;
        if (!r.ok()) return error(r.sqlstate, r.message, r.detail, r.hint);
        if (r.tag.empty()) return empty_query();
        if (!r.detail.empty()) out += error("25001", r.detail, {}, {}, true);  // a WARNING-like notice
        if (with_description && !r.columns.empty()) out += row_description(r.columns);
        std::size_t end = r.rows.size();
        if (max && from + max < end) end = from + max;
        for (std::size_t i = from; i < end; ++i) out += data_row(r.rows[i]);
        if (suspended) *suspended = end < r.rows.size();
        if (suspended && *suspended) return out + portal_suspended();
        return out + command_complete(r.tag);
    }

    std::string greet(Conversation& cv) {
        std::string out = auth_ok();
        cv.db = std::make_unique<Session>(db_path_);
        for (const auto& [k, v] : cv.db->settings())
            if (k == "server_version" || k == "server_encoding" || k == "client_encoding" || k == "DateStyle" ||
                k == "integer_datetimes" || k == "standard_conforming_strings" || k == "TimeZone" ||
                k == "IntervalStyle" || k == "is_superuser")
                out += parameter_status(k, v);
        out += parameter_status("application_name", cv.startup["application_name"]);
        out += parameter_status("session_authorization", cv.user);
        out += backend_key(static_cast<std::int32_t>(::getpid()), static_cast<std::int32_t>(rng_() & 0x7fffffff));
        cv.phase = Conversation::Phase::ready;
        journal_.event("sql-session", name_,
                       {{"user", cv.user}, {"database", cv.startup["database"]},
                        {"application_name", cv.startup["application_name"]}, {"auth", auth_}},
                       0);
        return out + ready('I');
    }

    std::string on_startup(Conversation& cv, const Message& m) {
        if (m.code == kSslRequest || m.code == kGssRequest) return "N";  // no TLS (yet): the client goes on in plain
        if (m.code == kCancelRequest) {
            journal_.event("sql-cancel", name_, {{"why", "a cancel request (nothing runs long enough to cancel)"}});
            cv.close = true;
            return {};
        }
        if (m.code != kProtocol3) {
            cv.close = true;
            return error("0A000", "unsupported frontend protocol " + std::to_string(m.code >> 16) + "." +
                                      std::to_string(m.code & 0xffff) + ": the server supports 3.0");
        }
        cv.startup = startup_params(m.body);
        cv.user = cv.startup["user"];
        if (cv.user.empty()) {
            cv.close = true;
            return error("28000", "no PostgreSQL user name specified in startup packet");
        }
        if (auth_ == "trust") return greet(cv);
        if (!users_.count(cv.user)) {
            cv.close = true;
            return error("28000", "role \"" + cv.user + "\" does not exist", {},
                         "the lab's users are in WIRELAB_" + service_env_stem(name_).substr(8) + "_USER");
        }
        cv.phase = Conversation::Phase::auth;
        if (auth_ == "password") return auth_cleartext();
        cv.salt.clear();
        for (int i = 0; i < 4; ++i) cv.salt += static_cast<char>(rng_() & 0xff);
        return auth_md5(cv.salt);
    }

    std::string on_password(Conversation& cv, const Message& m) {
        if (m.type != 'p') {
            cv.close = true;
            return error("08P01", "expected a password message");
        }
        Fields f(m.body);
        std::string got = f.cstr();
        const std::string& pw = users_[cv.user];
        bool ok = auth_ == "password" ? got == pw : got == md5_password(cv.user, pw, cv.salt);
        if (!ok) {
            cv.close = true;
            journal_.event("sql-auth-failed", name_, {{"user", cv.user}, {"method", auth_}});
            return error("28P01", "password authentication failed for user \"" + cv.user + "\"");
        }
        return greet(cv);
    }

    std::string on_simple(Conn& c, Conversation& cv, const Message& m) {
        Fields f(m.body);
        std::string sql = f.cstr();
        std::string out;
        auto stmts = split_statements(sql);
        if (stmts.empty()) out += empty_query();
        for (const auto& st : stmts) {
            char before = cv.db->status();
            micros t0 = journal_.now();
            Result r = cv.db->run(st);
            journal_statement(c, cv, st, r, nullptr, "simple", before, t0);
            out += result_messages(r, true);
            if (!r.ok()) break;
        }
        return out + ready(cv.db->status());
    }

    std::string on_extended(Conn& c, Conversation& cv, const Message& m) {
        if (m.type == 'S') {
            cv.skip_to_sync = false;
            return ready(cv.db->status());
        }
        if (cv.skip_to_sync) return {};
        Fields f(m.body);
        auto protocol_error = [&](const std::string& what) {
            cv.skip_to_sync = true;
            return error("08P01", what);
        };
        switch (m.type) {
            case 'P': {
                std::string name = f.cstr(), text = f.cstr();
                std::int16_t n = f.i16();
                Prepared p{text, {}, {}};
                for (int i = 0; i < n && !f.bad(); ++i) p.oids.push_back(f.i32());
                if (f.bad()) return protocol_error("malformed Parse message");
                cv.prepared[name] = std::move(p);
                return parse_complete();
            }
            case 'B': {
                std::string portal = f.cstr(), stmt = f.cstr();
                auto it = cv.prepared.find(stmt);
                if (it == cv.prepared.end()) {
                    cv.skip_to_sync = true;
                    return error("26000", "prepared statement \"" + stmt + "\" does not exist");
                }
                std::vector<std::int16_t> formats;
                for (int i = f.i16(); i > 0 && !f.bad(); --i) formats.push_back(f.i16());
                std::vector<std::optional<std::string>> params;
                int np = f.i16();
                for (int i = 0; i < np && !f.bad(); ++i) {
                    auto v = f.bytes(f.i32());
                    std::int16_t fmt = formats.empty() ? 0 : formats[formats.size() == 1 ? 0 : static_cast<std::size_t>(i)];
                    std::int32_t oid = static_cast<std::size_t>(i) < it->second.oids.size() ? it->second.oids[static_cast<std::size_t>(i)] : 0;
                    params.push_back(fmt == 1 ? from_binary(v, oid) : v);
                }
                std::vector<std::int16_t> result_formats;
                for (int i = f.i16(); i > 0 && !f.bad(); --i) result_formats.push_back(f.i16());
                if (f.bad()) return protocol_error("malformed Bind message");
                cv.portals[portal] =
                    Portal{stmt, it->second.text, std::move(params), std::move(result_formats), std::nullopt, 0, false};
                return bind_complete();
            }
            case 'D': {
                char what = f.byte();
                std::string name = f.cstr();
                if (what == 'S') {
                    auto it = cv.prepared.find(name);
                    if (it == cv.prepared.end()) {
                        cv.skip_to_sync = true;
                        return error("26000", "prepared statement \"" + name + "\" does not exist");
                    }
                    std::size_t n = 0;
                    Result d = cv.db->describe(it->second.text, &n);
                    std::vector<std::int32_t> oids = it->second.oids;
                    oids.resize(n, 25);
                    for (auto& o : oids)
                        if (!o) o = 25;
                    it->second.described.clear();
                    for (const auto& col : d.columns) it->second.described.push_back(col.type_oid);
                    return parameter_description(oids) + (d.columns.empty() ? no_data() : row_description(d.columns));
                }
                auto it = cv.portals.find(name);
                if (it == cv.portals.end()) {
                    cv.skip_to_sync = true;
                    return error("34000", "portal \"" + name + "\" does not exist");
                }
                // The portal runs now, so its columns' types are the real ones.
                run_portal(c, cv, it->second);
                it->second.described = true;
                const Result& r = *it->second.result;
                if (!r.ok()) {
                    cv.skip_to_sync = true;
                    return result_messages(r, false);
                }
                return r.columns.empty() ? no_data() : row_description(r.columns);
            }
            case 'E': {
                std::string name = f.cstr();
                std::int32_t max = f.i32();
                auto it = cv.portals.find(name);
                if (it == cv.portals.end()) {
                    cv.skip_to_sync = true;
                    return error("34000", "portal \"" + name + "\" does not exist");
                }
                Portal& p = it->second;
                run_portal(c, cv, p);
                const Result& r = *p.result;
                if (!r.ok()) {
                    cv.skip_to_sync = true;
                    return result_messages(r, false);
                }
                bool suspended = false;
                std::string out = result_messages(r, false, p.sent, max > 0 ? static_cast<std::size_t>(max) : 0,
                                                  &suspended);
                p.sent = suspended ? p.sent + static_cast<std::size_t>(max) : r.rows.size();
                return out;
            }
            case 'C': {
                char what = f.byte();
                std::string name = f.cstr();
                if (what == 'S') cv.prepared.erase(name);
                else cv.portals.erase(name);
                return close_complete();
            }
            case 'H': return {};
            default:
                cv.close = true;
                return error("08P01", std::string("invalid frontend message type ") +
                                          (std::isprint(static_cast<unsigned char>(m.type)) ? std::string(1, m.type)
                                                                                            : std::to_string(static_cast<int>(m.type))));
        }
    }

    void run_portal(Conn& c, Conversation& cv, Portal& p) {
        if (p.result) return;
        char before = cv.db->status();
        micros t0 = journal_.now();
        p.result = cv.db->run(p.text, p.params);
        journal_statement(c, cv, p.text, *p.result, &p.params, "extended", before, t0);
        // The types the client was told when it described the statement
        // are the ones it decodes with.
        if (auto it = cv.prepared.find(p.stmt);
            it != cv.prepared.end() && it->second.described.size() == p.result->columns.size())
            for (std::size_t i = 0; i < p.result->columns.size(); ++i) {
                auto& col = p.result->columns[i];
                if (col.type_oid != it->second.described[i] && it->second.described[i] == 25) col.type_oid = 25;
                else if (col.type_oid != it->second.described[i]) col.type_oid = it->second.described[i];
            }
        apply_formats(*p.result, p.result_formats);
    }

    awaitable<void> serve(Conn& c) {
        Conversation cv;
        char buf[16384];
        while (!stopping_) {
            std::size_t n = co_await c.read_some(asio::buffer(buf), std::chrono::seconds(idle_s_));
            if (n == 0) co_return;
            std::string out;
            for (const auto& m : cv.reader.feed(std::string_view(buf, n))) {
                try {
                    if (cv.phase == Conversation::Phase::startup) out += on_startup(cv, m);
                    else if (cv.phase == Conversation::Phase::auth) out += on_password(cv, m);
                    else if (m.type == 'X') cv.close = true;
                    else if (m.type == 'Q') out += on_simple(c, cv, m);
                    else out += on_extended(c, cv, m);
                } catch (const std::exception& e) {
                    out += error("XX000", std::string("internal error: ") + e.what());
                    journal_.event("internal-error", name_, {{"what", e.what()}}, c.id());
                    cv.close = true;
                }
                if (cv.close) break;
            }
            if (cv.reader.fatal()) {
                out += error("08P01", "invalid message: " + cv.reader.error());
                journal_.event("protocol-error", name_, {{"error", cv.reader.error()}}, c.id());
                cv.close = true;
            }
            if (!out.empty() && !co_await c.write_all(out)) co_return;
            if (cv.close) {
                co_await c.close_send("the session ended");
                co_return;
            }
        }
    }

    std::string name_;
    Journal& journal_;
    std::string auth_ = "trust", schema_, db_path_;
    std::map<std::string, std::string> users_;
    bool reset_each_case_ = true, stopping_ = false;
    long long idle_s_ = 300;
    int cases_ = 0;
    std::mt19937 rng_{std::random_device{}()};
    CaseStates after_case_;
    std::unique_ptr<StreamListener> listener_;
};

}  // namespace

std::unique_ptr<Service> make_sql_service(ServiceContext& ctx) { return std::make_unique<SqlService>(ctx); }

}  // namespace wirelab::pg
