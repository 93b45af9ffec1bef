#include "services/http/doc_state.hpp"

#include <map>
#include <vector>

namespace wirelab::http {

namespace {
std::string quote_ident(const std::string& s) {
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}
std::string quote_literal(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
}
}  // namespace

DocState::DocState(const std::filesystem::path& file) : db_(file) {
    db_.exec("PRAGMA journal_mode=WAL;"  // synchronous=OFF: see sql::Db
             "CREATE TABLE IF NOT EXISTS _docs(collection TEXT NOT NULL, pos INTEGER NOT NULL, "
             "id TEXT, doc TEXT NOT NULL, PRIMARY KEY (collection, pos));");
}

void DocState::make_view(const std::string& name, const std::vector<std::string>& cols) {
    if (name.empty() || name[0] == '_') return;
    std::string view = "CREATE VIEW " + quote_ident(name) + " AS SELECT ";
    for (const auto& c : cols)
        view += "json_extract(doc, " + quote_literal("$." + quote_ident(c)) + ") AS " + quote_ident(c) + ", ";
    view += "doc FROM _docs WHERE collection = " + quote_literal(name) + " ORDER BY pos";
    db_.exec("DROP VIEW IF EXISTS " + quote_ident(name));
    db_.exec(view);
}

void DocState::write(const ojson& db, const std::set<std::string>& names) {
    db_.exec("BEGIN");
    try {
        // Only the documents that changed since the last write: a POST to a
        // collection of thousands writes one row, not thousands.
        auto del = db_.prepare("DELETE FROM _docs WHERE collection = ? AND pos >= ?");
        auto ins = db_.prepare("INSERT OR REPLACE INTO _docs(collection, pos, id, doc) VALUES (?,?,?,?)");
        for (auto it = db.begin(); it != db.end(); ++it) {
            const std::string& name = it.key();
            if (!names.empty() && !names.count(name)) continue;
            std::vector<std::string>& before = written_[name];
            std::vector<std::string> now;
            auto put = [&](std::int64_t pos, const ojson& d, bool with_id) {
                std::string text = d.dump(-1, ' ', false, ojson::error_handler_t::replace);
                if (static_cast<std::size_t>(pos) >= before.size() || before[static_cast<std::size_t>(pos)] != text) {
                    ins.bind(1, name).bind(2, pos);
                    if (with_id && d.is_object() && d.contains("id"))
                        ins.bind(3, js_string(d["id"]));
                    else
                        ins.bind_null(3);
                    ins.bind(4, text).exec();
                }
                now.push_back(std::move(text));
            };
            std::vector<std::string>& cols = columns_[name];
            bool new_cols = cols.empty();
            auto add_cols = [&](const ojson& d) {
                if (!d.is_object()) return;
                for (auto f = d.begin(); f != d.end(); ++f)
                    if (f.key() != "doc" && std::find(cols.begin(), cols.end(), f.key()) == cols.end()) {
                        cols.push_back(f.key());
                        new_cols = true;
                    }
            };
            if (it->is_array()) {
                std::int64_t pos = 0;
                for (const auto& d : *it) {
                    add_cols(d);
                    put(pos++, d, true);
                }
            } else {
                add_cols(*it);
                put(0, *it, false);  // a singular resource: one row, no id
            }
            if (now.size() < before.size())
                del.bind(1, name).bind(2, static_cast<std::int64_t>(now.size())).exec();
            before = std::move(now);
            if (new_cols) make_view(name, cols);
        }
        db_.exec("COMMIT");
    } catch (...) {
        written_.clear();  // the next write writes everything again
        db_.exec("ROLLBACK");
        throw;
    }
}

void DocState::write(const ojson& db, const std::map<std::string, JsonStore::Changed>& changes) {
    std::set<std::string> whole;
    std::map<std::string, const JsonStore::Changed*> partial;
    for (const auto& [name, c] : changes) {
        auto it = db.find(name);
        bool positional = !c.all && it != db.end() && it->is_array() && written_.count(name) && !columns_[name].empty();
        if (positional)
            for (std::size_t pos : c.at) positional = positional && pos <= std::max(written_[name].size(), it->size());
        if (positional)
            partial[name] = &c;
        else
            whole.insert(name);
    }
    if (!whole.empty()) write(db, whole);
    if (partial.empty()) return;
    db_.exec("BEGIN");
    try {
        auto ins = db_.prepare("INSERT OR REPLACE INTO _docs(collection, pos, id, doc) VALUES (?,?,?,?)");
        for (const auto& [name, c] : partial) {
            const ojson& coll = db.at(name);
            std::vector<std::string>& before = written_[name];
            std::vector<std::string>& cols = columns_[name];
            bool new_cols = false;
            for (std::size_t pos : c->at) {  // ascending: appended positions extend `before` in order
                if (pos >= coll.size()) continue;
                const ojson& d = coll[pos];
                std::string text = d.dump(-1, ' ', false, ojson::error_handler_t::replace);
                if (d.is_object())
                    for (auto f = d.begin(); f != d.end(); ++f)
                        if (f.key() != "doc" && std::find(cols.begin(), cols.end(), f.key()) == cols.end()) {
                            cols.push_back(f.key());
                            new_cols = true;
                        }
                if (pos < before.size() && before[pos] == text) continue;
                ins.bind(1, name).bind(2, static_cast<std::int64_t>(pos));
                if (d.is_object() && d.contains("id"))
                    ins.bind(3, js_string(d["id"]));
                else
                    ins.bind_null(3);
                ins.bind(4, text).exec();
                if (pos < before.size())
                    before[pos] = std::move(text);
                else
                    before.push_back(std::move(text));
            }
            if (new_cols) make_view(name, cols);
        }
        db_.exec("COMMIT");
    } catch (...) {
        written_.clear();
        db_.exec("ROLLBACK");
        throw;
    }
}

}  // namespace wirelab::http
