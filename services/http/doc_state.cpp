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
    db_.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
             "CREATE TABLE IF NOT EXISTS _docs(collection TEXT NOT NULL, pos INTEGER NOT NULL, "
             "id TEXT, doc TEXT NOT NULL, PRIMARY KEY (collection, pos));");
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
            if (new_cols && !name.empty() && name[0] != '_') {
                std::string view = "CREATE VIEW " + quote_ident(name) + " AS SELECT ";
                for (const auto& c : cols)
                    view += "json_extract(doc, " + quote_literal("$." + quote_ident(c)) + ") AS " +
                            quote_ident(c) + ", ";
                view += "doc FROM _docs WHERE collection = " + quote_literal(name) + " ORDER BY pos";
                db_.exec("DROP VIEW IF EXISTS " + quote_ident(name));
                db_.exec(view);
            }
        }
        db_.exec("COMMIT");
    } catch (...) {
        written_.clear();  // the next write writes everything again
        db_.exec("ROLLBACK");
        throw;
    }
}

}  // namespace wirelab::http
