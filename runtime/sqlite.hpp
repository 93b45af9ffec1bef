// A thin RAII layer over the SQLite C API: a database handle and prepared
// statements with typed binds. Errors throw std::runtime_error with SQLite's
// message and the statement text.
#pragma once
#include <filesystem>
#include <functional>
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace wirelab::sql {

class Db;

/// A prepared statement. step() returns true while a row is available.
class Stmt {
public:
    Stmt(Db& db, std::string_view text);
    Stmt(Stmt&& o) noexcept : db_(o.db_), s_(std::exchange(o.s_, nullptr)) {}
    Stmt(const Stmt&) = delete;
    ~Stmt();

    Stmt& bind(int i, std::int64_t v);
    Stmt& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
    Stmt& bind(int i, double v);
    Stmt& bind(int i, std::string_view text);
    Stmt& bind(int i, const char* text) { return bind(i, std::string_view(text)); }
    Stmt& bind(int i, const std::string& text) { return bind(i, std::string_view(text)); }
    Stmt& bind_blob(int i, std::string_view bytes);
    Stmt& bind_null(int i);
    /// Bind without copying: the bytes must stay as they are until the
    /// next exec() or reset() (the journal's writer binds a row it holds).
    Stmt& bind_borrowed(int i, std::string_view text);
    Stmt& bind_blob_borrowed(int i, std::string_view bytes);
    template <class T>
    Stmt& bind(int i, const std::optional<T>& v) {
        return v ? bind(i, *v) : bind_null(i);
    }

    bool step();
    void exec() { step(); reset(); }
    /// exec() leaving the bindings as they are, for a statement whose every
    /// parameter is bound again before each run (the journal's inserts):
    /// clearing twenty of them per row was 6% of the journal's writer.
    void exec_rebound();
    void reset();

    int columns() const;
    int type(int col) const;  // SQLITE_INTEGER, SQLITE_TEXT, ...
    bool is_null(int col) const { return type(col) == SQLITE_NULL; }
    std::int64_t integer(int col) const;
    double real(int col) const;
    std::string text(int col) const;
    std::string name(int col) const;
    sqlite3_stmt* raw() { return s_; }

private:
    Db& db_;
    sqlite3_stmt* s_ = nullptr;
};

/// An open database. Read-only opens never create the file.
class Db {
public:
    enum class Mode { read_write_create, read_only };
    explicit Db(const std::filesystem::path& file, Mode mode = Mode::read_write_create);
    Db(const Db&) = delete;
    ~Db();

    void exec(std::string_view sql);
    Stmt prepare(std::string_view sql) { return Stmt(*this, sql); }
    std::int64_t last_rowid() const;
    int changes() const;
    sqlite3* raw() { return db_; }
    const std::filesystem::path& file() const { return file_; }
    [[noreturn]] void fail(std::string_view what) const;

private:
    sqlite3* db_ = nullptr;
    std::filesystem::path file_;
};

/// Copies database `from` into `to` (replaced) through SQLite's backup
/// API, so a file another connection is writing is copied consistently; a
/// transaction a dead program left in `from` is rolled back first. Throws
/// std::runtime_error.
void backup(const std::filesystem::path& from, const std::filesystem::path& to);

/// Writes a new database at `file` in one go: `fill` builds it in a
/// temporary file, which then replaces `file`, so a reader never sees it
/// half-written. Throws what `fill` or SQLite throws (`file` is unchanged).
void replace_db(const std::filesystem::path& file, const std::function<void(Db&)>& fill);

}  // namespace wirelab::sql
