// Check kinds over what a run left behind: `state` (SQL over a service's
// state) and `connections` (how the learner used and closed connections).
#include <algorithm>
#include <map>
#include <unordered_map>

#include "checks/check.hpp"
#include "checks/kinds.hpp"
#include "checks/match.hpp"

namespace wirelab::checks {

namespace {

nlohmann::json cell(sql::Stmt& s, int c) {
    switch (s.type(c)) {
        case SQLITE_INTEGER: return s.integer(c);
        case SQLITE_FLOAT: return s.real(c);
        case SQLITE_NULL: return nullptr;
        default: return s.text(c);
    }
}

// SQLite has no booleans: an expected true/false matches 1/0.
bool cell_equal(const nlohmann::json& want, const nlohmann::json& got) {
    if (want.is_boolean() && got.is_number_integer()) return got.get<std::int64_t>() == (want.get<bool>() ? 1 : 0);
    if (want.is_number() && got.is_number()) return want.get<double>() == got.get<double>();
    return want == got;
}

bool row_matches(const nlohmann::json& want, const nlohmann::json& got_arr,
                 const std::vector<std::string>& cols) {
    if (want.is_array()) {
        if (want.size() != got_arr.size()) return false;
        for (std::size_t i = 0; i < want.size(); ++i)
            if (!cell_equal(want[i], got_arr[i])) return false;
        return true;
    }
    for (auto it = want.begin(); it != want.end(); ++it) {
        auto c = std::find(cols.begin(), cols.end(), it.key());
        if (c == cols.end()) return false;
        if (!cell_equal(it.value(), got_arr[static_cast<std::size_t>(c - cols.begin())])) return false;
    }
    return true;
}

// A cell for a person: JSON text (a stored document) shown as JSON.
std::string show_cell(const nlohmann::json& v) {
    if (v.is_string()) {
        const auto& t = v.get_ref<const std::string&>();
        if (!t.empty() && (t[0] == '{' || t[0] == '[')) {
            auto j = nlohmann::json::parse(t, nullptr, false);
            if (!j.is_discarded()) return one_line(j, 160);
        }
    }
    return one_line(v, 120);
}

std::string show_row(const std::vector<std::string>& cols, const nlohmann::json& row) {
    std::string s;
    for (std::size_t i = 0; i < cols.size() && i < row.size(); ++i)
        s += (i ? ", " : "") + cols[i] + "=" + show_cell(row[i]);
    return s;
}

// "brand is null, not "Volvo"" for each column where `got` differs.
std::string column_diff(const nlohmann::json& want, const nlohmann::json& got,
                        const std::vector<std::string>& cols) {
    std::string s;
    auto add = [&](const std::string& col, const nlohmann::json& w, const nlohmann::json& g) {
        if (cell_equal(w, g)) return;
        s += (s.empty() ? "" : "; ") + col + " is " + show_cell(g) + ", not " + one_line(w, 80);
    };
    if (want.is_array()) {
        for (std::size_t i = 0; i < want.size() && i < got.size(); ++i)
            add(i < cols.size() ? cols[i] : "column " + std::to_string(i + 1), want[i], got[i]);
    } else {
        for (auto it = want.begin(); it != want.end(); ++it) {
            auto c = std::find(cols.begin(), cols.end(), it.key());
            if (c == cols.end())
                s += (s.empty() ? "" : "; ") + std::string("the query has no column ") + it.key();
            else
                add(it.key(), it.value(), got[static_cast<std::size_t>(c - cols.begin())]);
        }
    }
    return s;
}

std::string show_rows(const std::vector<std::string>& cols, const std::vector<nlohmann::json>& rows) {
    if (rows.empty()) return " no rows";
    std::string s;
    for (std::size_t i = 0; i < rows.size() && i < 12; ++i) s += "\n  " + show_row(cols, rows[i]);
    if (rows.size() > 12) s += "\n  … " + std::to_string(rows.size() - 12) + " more";
    return s;
}

// `state` (SQL over a service's state) and `journal` (SQL over the run's
// journal, the escape hatch): the same query and expected rows.
class StateCheck : public Check {
public:
    StateCheck(Spec& s, const CheckContext& ctx, bool journal) : journal_(journal) {
        if (!journal_) {
            service_ = s.string("service");
            ctx.require_service(s, "service", service_);
        }
        query_ = s.string("query");
        std::string head = query_.substr(0, query_.find_first_of(" \n\t("));
        for (auto& c : head) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (head != "SELECT" && head != "WITH")
            s.fail("query", std::string("a ") + (journal_ ? "journal" : "state") +
                                " query must be a SELECT (or WITH … SELECT)");
        ordered_ = s.boolean("ordered", false);
        if (const json* r = s.get("rows")) {
            if (!r->is_array()) s.fail("rows", "\"rows\" must be an array of rows (arrays or objects)");
            for (std::size_t i = 0; i < r->size(); ++i)
                if (!(*r)[i].is_array() && !(*r)[i].is_object())
                    s.fail("rows", "row " + std::to_string(i) + " must be an array (by position) or an "
                                   "object (by column name)");
            rows_ = *r;
        }
        count_ = s.opt_integer("count", 0, 1000000000);
        if (!rows_ && !count_)
            s.fail("", std::string("a ") + (journal_ ? "journal" : "state") + " check needs \"rows\" or \"count\"");
        if (journal_) return;
        auto cases = ctx.cases(s);
        if (cases.size() > 1)
            s.fail("case", "a state check looks at the state after one case",
                   "write one check per case, or leave \"case\" out for the state at the end");
        if (!cases.empty()) case_ = cases[0];
    }

    Verdict evaluate(RunData& run) const override {
        sql::Db* db = journal_ ? &run.journal().db() : run.state(case_.empty() ? service_ : service_ + "@" + case_);
        if (!db && !case_.empty())
            return Verdict::error("service \"" + service_ + "\" keeps no state after each case (\"case\" is for "
                                  "sqlite and ipc file services)");
        if (!db) return Verdict::error("service \"" + service_ + "\" has no state to query");
        std::vector<std::string> cols;
        std::vector<nlohmann::json> got;
        try {
            auto st = db->prepare(query_);
            if (!sqlite3_stmt_readonly(st.raw()))
                return Verdict::error("the query would change the database; checks only read");
            for (int i = 0; i < st.columns(); ++i) cols.push_back(st.name(i));
            while (st.step()) {
                nlohmann::json row = nlohmann::json::array();
                for (int i = 0; i < st.columns(); ++i) row.push_back(cell(st, i));
                got.push_back(std::move(row));
            }
        } catch (const std::exception& e) {
            return Verdict::error(std::string("the ") + (journal_ ? "journal" : "state") +
                                  " query failed: " + std::string(e.what()));
        }
        Verdict v = Verdict::pass();
        v.evidence = {{"columns", cols}, {"rows", got}};
        if (count_ && static_cast<std::int64_t>(got.size()) != *count_) {
            v = Verdict::fail("the query returned " + std::to_string(got.size()) + " row(s), expected " +
                                  std::to_string(*count_),
                              query_, (journal_ ? "the query returned:" : "the state has:") + show_rows(cols, got));
            return v;
        }
        if (!rows_) return v;
        // Each expected row must match a distinct actual row (in order when
        // "ordered"); no actual row may be left over.
        std::vector<bool> used(got.size(), false);
        std::vector<nlohmann::json> missing;
        std::size_t next = 0;
        for (const auto& want : *rows_) {
            bool found = false;
            for (std::size_t i = ordered_ ? next : 0; i < got.size(); ++i) {
                if (used[i] || !row_matches(want, got[i], cols)) continue;
                used[i] = found = true;
                next = i + 1;
                break;
            }
            if (!found) missing.push_back(want);
        }
        std::vector<nlohmann::json> extra;
        for (std::size_t i = 0; i < got.size(); ++i)
            if (!used[i]) extra.push_back(got[i]);
        if (missing.empty() && extra.empty()) return v;
        std::string msg;
        if (missing.size() == 1 && extra.size() == 1 && rows_->size() == 1) {
            std::string d = column_diff(missing[0], extra[0], cols);
            if (!d.empty()) msg = d;
        }
        if (msg.empty() && !missing.empty()) msg = "no row with " + one_line(missing[0], 160);
        if (msg.rfind("no row with ", 0) == 0 && !extra.empty())
            msg += "; found " + std::to_string(extra.size()) + " other row(s)";
        if (msg.empty() && !extra.empty())
            msg = "unexpected row " + show_row(cols, extra[0]);
        std::string expected;
        for (const auto& r : *rows_) expected += one_line(r, 200) + "\n";
        if (!expected.empty()) expected.pop_back();
        v = Verdict::fail(msg, expected, (journal_ ? "the query returned:" : "the state has:") + show_rows(cols, got));
        v.evidence = {{"columns", cols}, {"rows", got}};
        return v;
    }

private:
    bool journal_ = false;
    std::string service_, query_;
    std::string case_;  // the state after this case ("" = at the end)
    bool ordered_ = false;
    std::optional<nlohmann::json> rows_;
    std::optional<std::int64_t> count_;
};

class ConnectionsCheck : public Check {
public:
    ConnectionsCheck(Spec& s, const CheckContext& ctx) {
        service_ = s.string("service");
        ctx.require_service(s, "service", service_);
        cases_ = ctx.cases(s);
        max_requests_ = s.opt_integer("max_requests_per_connection", 1, 1000000);
        closed_by_ = s.opt_string("closed_by");
        if (closed_by_ && *closed_by_ != "client" && *closed_by_ != "server")
            s.fail("closed_by", "\"closed_by\" must be \"client\" or \"server\"");
        min_ = s.opt_integer("min", 0, 1000000);
        max_ = s.opt_integer("max", 0, 1000000);
        close_kind_ = s.opt_string("close_kind");
        if (close_kind_ && *close_kind_ != "fin" && *close_kind_ != "reset")
            s.fail("close_kind", "\"close_kind\" must be \"fin\" (a clean close) or \"reset\"");
        if (s.has("leaked")) {
            if (s.boolean("leaked", false))
                s.fail("leaked", "only \"leaked\": false is meaningful: no connection left open");
            no_leaks_ = true;
        }
        if (auto ms = s.opt_integer("max_lifetime_ms", 0, 86400000)) max_lifetime_us_ = *ms * 1000;
        if (!max_requests_ && !closed_by_ && !min_ && !max_ && !close_kind_ && !no_leaks_ && !max_lifetime_us_)
            s.fail("", "a connections check needs one of \"max_requests_per_connection\", "
                       "\"closed_by\", \"close_kind\", \"leaked\", \"max_lifetime_ms\", \"min\", \"max\"");
    }

    Verdict evaluate(RunData& run) const override {
        std::vector<std::int64_t> case_ids;
        std::map<std::int64_t, const CaseRow*> case_rows;
        for (const CaseRow* c : run.cases(cases_)) case_ids.push_back(c->id), case_rows[c->id] = c;
        auto in_case = [&](std::int64_t id) {
            return cases_.empty() || std::count(case_ids.begin(), case_ids.end(), id) > 0;
        };
        std::vector<const ConnRow*> conns;
        for (const auto& c : run.journal().connections())
            if (c.service == service_ && c.role == "server" && in_case(c.case_id)) conns.push_back(&c);
        std::unordered_map<std::int64_t, std::vector<const HttpRow*>> reqs;
        for (const auto& h : run.journal().http())
            if (h.service == service_) reqs[h.connection_id].push_back(&h);

        auto n = static_cast<std::int64_t>(conns.size());
        if (min_ && n < *min_)
            return Verdict::fail("the program opened " + std::to_string(n) + " connection(s) to \"" +
                                 service_ + "\", expected at least " + std::to_string(*min_));
        if (max_ && n > *max_)
            return Verdict::fail("the program opened " + std::to_string(n) + " connections to \"" +
                                 service_ + "\", expected at most " + std::to_string(*max_));
        if (max_requests_) {
            for (const ConnRow* c : conns) {
                const auto& rs = reqs[c->id];
                if (static_cast<std::int64_t>(rs.size()) <= *max_requests_) continue;
                std::string obs = "connection " + std::to_string(c->id) + " from " + c->peer + " carried " +
                                  std::to_string(rs.size()) + " requests:\n";
                for (std::size_t i = 0; i < rs.size() && i < 8; ++i) {
                    auto conn_hdr = rs[i]->header("Connection");
                    obs += "  " + rs[i]->line() + "  (Connection: " + conn_hdr.value_or("(none)") + ")\n";
                }
                return Verdict::fail("a connection carried " + std::to_string(rs.size()) + " requests",
                                     "at most " + std::to_string(*max_requests_) + " request(s) per connection",
                                     obs);
            }
        }
        if (closed_by_) {
            for (const ConnRow* c : conns) {
                if (c->closed_by == *closed_by_) continue;
                std::string who = c->closed_by == "unknown" || c->closed_by.empty()
                                      ? "nobody (it was still open when the run ended)"
                                      : "the " + c->closed_by + (c->close_kind == "reset" ? " (with a reset)" : "");
                return Verdict::fail("connection " + std::to_string(c->id) + " from " + c->peer +
                                         " was closed by " + who,
                                     "every connection closed by the " + *closed_by_);
            }
        }
        if (close_kind_) {
            for (const ConnRow* c : conns) {
                if (c->close_kind == *close_kind_) continue;
                std::string how = c->close_kind == "reset" ? "reset (RST)"
                                  : c->close_kind == "fin" ? "closed cleanly (FIN)"
                                                           : "never closed";
                return Verdict::fail("connection " + std::to_string(c->id) + " from " + c->peer + " was " + how +
                                         (c->closed_by.empty() || c->closed_by == "unknown" ? "" : " by the " + c->closed_by),
                                     *close_kind_ == "fin" ? "every connection closed cleanly (FIN)"
                                                           : "every connection reset");
            }
        }
        if (no_leaks_) {
            for (const ConnRow* c : conns) {
                auto cr = case_rows.find(c->case_id);
                micros end = cr != case_rows.end() && cr->second->ended_us ? *cr->second->ended_us : 0;
                bool open = !c->closed_us || c->closed_by == "unknown" || (end && *c->closed_us > end);
                if (!open) continue;
                return Verdict::fail("connection " + std::to_string(c->id) + " from " + c->peer +
                                         " was still open when the program's case ended",
                                     "every connection closed before the program ends");
            }
        }
        if (max_lifetime_us_) {
            for (const ConnRow* c : conns) {
                if (!c->closed_us || *c->closed_us - c->opened_us <= *max_lifetime_us_) continue;
                return Verdict::fail("connection " + std::to_string(c->id) + " from " + c->peer + " stayed open " +
                                         std::to_string((*c->closed_us - c->opened_us) / 1000) + " ms",
                                     "at most " + std::to_string(*max_lifetime_us_ / 1000) + " ms per connection");
            }
        }
        return Verdict::pass();
    }

private:
    std::string service_;
    std::vector<std::string> cases_;
    std::optional<std::int64_t> max_requests_, min_, max_;
    std::optional<std::string> closed_by_, close_kind_;
    bool no_leaks_ = false;
    std::optional<micros> max_lifetime_us_;
};

}  // namespace

std::unique_ptr<Check> make_state_check(Spec& s, const CheckContext& ctx) {
    return std::make_unique<StateCheck>(s, ctx, false);
}

std::unique_ptr<Check> make_journal_check(Spec& s, const CheckContext& ctx) {
    return std::make_unique<StateCheck>(s, ctx, true);
}
std::unique_ptr<Check> make_connections_check(Spec& s, const CheckContext& ctx) {
    return std::make_unique<ConnectionsCheck>(s, ctx);
}

}  // namespace wirelab::checks
