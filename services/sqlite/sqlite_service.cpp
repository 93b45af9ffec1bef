#include "services/sqlite/sqlite_service.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "runtime/errors.hpp"
#include "runtime/journal.hpp"
#include "runtime/lab.hpp"
#include "runtime/listener.hpp"
#include "runtime/seeding.hpp"
#include "runtime/sqlite.hpp"

namespace wirelab::sqlite_file {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

bool exists_nonempty(const std::string& p) {
    struct stat st{};
    return ::stat(p.c_str(), &st) == 0 && st.st_size > 0;
}

/// The database header's file change counter (bytes 24-27), which every
/// commit in rollback-journal mode increments; nullopt if unreadable.
std::optional<std::uint32_t> change_counter(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    unsigned char h[28];
    if (!in.read(reinterpret_cast<char*>(h), sizeof h)) return std::nullopt;
    return (std::uint32_t{h[24]} << 24) | (std::uint32_t{h[25]} << 16) | (std::uint32_t{h[26]} << 8) | h[27];
}

class SqliteService final : public Service {
public:
    explicit SqliteService(ServiceContext& ctx)
        : name_(ctx.name), journal_(ctx.journal), watch_(ctx.io) {
        Spec& s = ctx.spec;
        path_ = run_dir_file(s, "file", s.string("file"), ctx, "todo.db");
        schema_ = read_schema(s, ctx.lab_dir, ctx.params);
        if (const json* cs = s.get("case_sql")) {
            if (!cs->is_object()) s.fail("case_sql", "\"case_sql\" maps a case name to SQL run after the schema");
            for (auto it = cs->begin(); it != cs->end(); ++it) {
                std::string sql;
                if (it.value().is_string())
                    sql = it.value().get<std::string>();
                else if (it.value().is_array())
                    for (const auto& x : it.value()) sql += (x.is_string() ? x.get<std::string>() : x.dump()) + ";\n";
                case_sql_[it.key()] = sql;
            }
        }
        reset_each_case_ = read_reset_each_case(s);
        // The schema runs now, on a scratch database, so a typo in it is the
        // lab's error with a place, not a failed run.
        try {
            sql::Db scratch(":memory:");
            scratch.exec(schema_);
        } catch (const std::exception& e) {
            s.fail(s.has("schema_file") ? "schema_file" : "schema", std::string("the schema does not run: ") + e.what());
        }
        for (const auto& [name, sql] : case_sql_) {
            try {
                sql::Db scratch(":memory:");
                scratch.exec(schema_);
                scratch.exec(sql);
            } catch (const std::exception& e) {
                s.fail("case_sql", "the SQL for case \"" + name + "\" does not run: " + e.what());
            }
        }
        s.finish();
        state_path_ = ctx.state_dir / (name_ + ".db");
    }

    void start() override { seed(); }

    void stop() override {
        if (stopped_) return;
        stopped_ = true;
        watching_ = false;
        watch_.cancel();
        if (!snapshots_) snapshot();
    }

    Endpoint endpoint() const override { return {"sqlite", "", 0, path_}; }
    std::filesystem::path state_file() const override { return state_path_; }
    std::map<std::string, std::filesystem::path> case_state_files() const override { return after_case_.files(); }

    void begin_case(const CaseSpec& c) override {
        if (reset_each_case_ && cases_++ > 0) seed();
        if (auto it = case_sql_.find(c.name); it != case_sql_.end()) {
            try {
                sql::Db db(path_);
                db.exec(it->second);
            } catch (const std::exception& e) {
                throw EnvError("service \"" + name_ + "\": the SQL for case \"" + c.name + "\" fails: " + e.what());
            }
        }
        counter_at_start_ = change_counter(path_);
        write_seen_us_ = -1;
        watching_ = true;
        watch();
    }

    void end_case(const CaseSpec& c) override {
        watching_ = false;
        watch_.cancel();
        if (exists_nonempty(path_ + "-journal")) {
            // A hot journal: the program died inside a write transaction.
            journal_.event("sqlite-hot-journal", name_,
                           {{"case", c.name}, {"file", path_},
                            {"why", "the program ended inside a write transaction; its changes are rolled back"}});
        } else if (write_seen_us_ >= 0 && change_counter(path_) == counter_at_start_) {
            journal_.event("sqlite-uncommitted", name_,
                           {{"case", c.name}, {"file", path_}, {"since_us", write_seen_us_},
                            {"why", "the program wrote in a transaction and never committed it (call "
                                    "connection.commit(), or use `with connection:`)"}});
        }
        snapshot();
        // The state after this case, kept beside the final one.
        try {
            after_case_.keep(state_path_, name_, c.name);
        } catch (const std::exception&) {
            // the snapshot above already said why it could not be read
        }
    }

private:
    void seed() {
        std::error_code ec;
        for (const char* suffix : {"", "-journal", "-wal", "-shm"}) fs::remove(path_ + suffix, ec);
        try {
            sql::Db db(path_);
            db.exec(schema_);
        } catch (const std::exception& e) {
            throw EnvError("service \"" + name_ + "\" cannot create " + path_ + ": " + e.what(),
                           "check that the run directory is writable");
        }
        journal_.event("seeded", name_, {{"path", path_}});
    }

    /// Every 10 ms while the program runs: is a write transaction open?
    void watch() {
        if (!watching_) return;
        if (write_seen_us_ < 0 && exists_nonempty(path_ + "-journal")) write_seen_us_ = journal_.now();
        watch_.expires_after(std::chrono::milliseconds(10));
        watch_.async_wait([this](error_code ec) {
            if (!ec) watch();
        });
    }

    /// Copies the database (through SQLite, so a half-written file is read
    /// as SQLite reads it) into the state file.
    void snapshot() {
        ++snapshots_;
        try {
            sql::backup(path_, state_path_);
        } catch (const std::exception& e) {
            journal_.event("sqlite-unreadable", name_,
                           {{"file", path_}, {"why", std::string("the database cannot be read: ") + e.what()}});
        }
    }

    std::string name_;
    Journal& journal_;
    std::string path_, schema_;
    std::map<std::string, std::string> case_sql_;  // extra SQL before a named case
    bool reset_each_case_ = true, stopped_ = false, watching_ = false;
    int cases_ = 0, snapshots_ = 0;
    std::optional<std::uint32_t> counter_at_start_;
    micros write_seen_us_ = -1;
    asio::steady_timer watch_;
    std::filesystem::path state_path_;
    CaseStates after_case_;
};

}  // namespace

std::unique_ptr<Service> make_sqlite_service(ServiceContext& ctx) { return std::make_unique<SqliteService>(ctx); }

}  // namespace wirelab::sqlite_file
