// Persists a JsonStore's collections to SQLite so `state` checks query them
// with SQL: table _docs holds every document as JSON, and each collection is
// also a view named after it with one column per top-level key (plus `doc`,
// the whole document as JSON, for json_type() and friends).
#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "runtime/sqlite.hpp"
#include "services/http/json_store.hpp"

namespace wirelab::http {

class DocState {
public:
    explicit DocState(const std::filesystem::path& file);
    /// Rewrites the named collections (all when `names` is empty) in one
    /// transaction.
    void write(const ojson& db, const std::set<std::string>& names);
    /// Writes what changed: for a collection whose changes are positions
    /// (POSTs, PUTs), only those documents — a POST to a collection of
    /// thousands dumps one document, not thousands.
    void write(const ojson& db, const std::map<std::string, JsonStore::Changed>& changes);
    const std::filesystem::path& file() const { return db_.file(); }

private:
    /// The collection's view: a column per top-level key, and `doc`.
    void make_view(const std::string& name, const std::vector<std::string>& cols);

    sql::Db db_;
    std::map<std::string, std::vector<std::string>> columns_;
    std::map<std::string, std::vector<std::string>> written_;  // each collection's rows as last written
};

}  // namespace wirelab::http
