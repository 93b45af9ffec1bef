#include "runtime/sqlite.hpp"

#include <stdexcept>

namespace wirelab::sql {

namespace {
// Before SQLite's first use (a static initialiser: no connection exists
// yet). Without the memory statistics, an allocation by SQLite takes no
// global mutex: the journal's writer, the Session's thread (its services'
// own databases) and the checks allocate without waiting on each other.
const bool kConfigured = [] { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK; }();
}  // namespace

Db::Db(const std::filesystem::path& file, Mode mode) : file_(file) {
    int flags = mode == Mode::read_only ? SQLITE_OPEN_READONLY
                                        : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(file.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
        sqlite3_close(db_);
        db_ = nullptr;
        throw std::runtime_error("cannot open " + file.string() + ": " + msg);
    }
    sqlite3_busy_timeout(db_, 2000);
    // A run's files are made anew by every run: what they must survive is
    // wirelab or the learner's program being killed, which SQLite with
    // synchronous=OFF does; an fsync per commit would guard against a power
    // cut (and cost a lab start ~1 ms per file). The journal and the
    // classroom's database choose their own level after opening.
    if (mode != Mode::read_only) exec("PRAGMA synchronous=OFF");
}

Db::~Db() { sqlite3_close_v2(db_); }

void Db::fail(std::string_view what) const {
    throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(db_) + " (" +
                             file_.string() + ")");
}

void Db::exec(std::string_view text) {
    std::string s(text);
    char* err = nullptr;
    if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "unknown error";
        sqlite3_free(err);
        throw std::runtime_error("SQL error: " + msg + " in: " + s.substr(0, 200));
    }
}

std::int64_t Db::last_rowid() const { return sqlite3_last_insert_rowid(db_); }
int Db::changes() const { return sqlite3_changes(db_); }

Stmt::Stmt(Db& db, std::string_view text) : db_(db) {
    if (sqlite3_prepare_v2(db.raw(), text.data(), static_cast<int>(text.size()), &s_, nullptr) !=
        SQLITE_OK)
        db.fail("cannot prepare `" + std::string(text.substr(0, 200)) + "`");
}

Stmt::~Stmt() { sqlite3_finalize(s_); }

#define WIRELAB_CHECK_BIND(expr) \
    if ((expr) != SQLITE_OK) db_.fail("cannot bind parameter")

Stmt& Stmt::bind(int i, std::int64_t v) {
    WIRELAB_CHECK_BIND(sqlite3_bind_int64(s_, i, v));
    return *this;
}
Stmt& Stmt::bind(int i, double v) {
    WIRELAB_CHECK_BIND(sqlite3_bind_double(s_, i, v));
    return *this;
}
Stmt& Stmt::bind(int i, std::string_view t) {
    WIRELAB_CHECK_BIND(
        sqlite3_bind_text64(s_, i, t.data(), t.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
    return *this;
}
Stmt& Stmt::bind_blob(int i, std::string_view b) {
    WIRELAB_CHECK_BIND(sqlite3_bind_blob64(s_, i, b.data(), b.size(), SQLITE_TRANSIENT));
    return *this;
}
Stmt& Stmt::bind_borrowed(int i, std::string_view t) {
    WIRELAB_CHECK_BIND(sqlite3_bind_text64(s_, i, t.data(), t.size(), SQLITE_STATIC, SQLITE_UTF8));
    return *this;
}
Stmt& Stmt::bind_blob_borrowed(int i, std::string_view b) {
    WIRELAB_CHECK_BIND(sqlite3_bind_blob64(s_, i, b.data(), b.size(), SQLITE_STATIC));
    return *this;
}
Stmt& Stmt::bind_null(int i) {
    WIRELAB_CHECK_BIND(sqlite3_bind_null(s_, i));
    return *this;
}
#undef WIRELAB_CHECK_BIND

bool Stmt::step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    std::string msg = sqlite3_errmsg(db_.raw());
    sqlite3_reset(s_);
    throw std::runtime_error("SQL error: " + msg + " in: " +
                             std::string(sqlite3_sql(s_)).substr(0, 200));
}

void Stmt::exec_rebound() {
    step();
    sqlite3_reset(s_);
}

void Stmt::reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
}

int Stmt::columns() const { return sqlite3_column_count(s_); }
int Stmt::type(int c) const { return sqlite3_column_type(s_, c); }
std::int64_t Stmt::integer(int c) const { return sqlite3_column_int64(s_, c); }
double Stmt::real(int c) const { return sqlite3_column_double(s_, c); }
std::string Stmt::text(int c) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_blob(s_, c));
    int n = sqlite3_column_bytes(s_, c);
    return p ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}
std::string Stmt::name(int c) const { return sqlite3_column_name(s_, c); }

void backup(const std::filesystem::path& from, const std::filesystem::path& to) {
    std::error_code ec;
    std::filesystem::remove(to, ec);
    Db src(from);
    Db dst(to);
    sqlite3_backup* b = sqlite3_backup_init(dst.raw(), "main", src.raw(), "main");
    if (!b) dst.fail("backup");
    int rc = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) dst.fail("backup");
}

void replace_db(const std::filesystem::path& file, const std::function<void(Db&)>& fill) {
    std::filesystem::path tmp = file.string() + ".tmp";
    std::filesystem::remove(tmp);
    {
        Db db(tmp);
        fill(db);
    }
    std::filesystem::rename(tmp, file);
}

}  // namespace wirelab::sql
