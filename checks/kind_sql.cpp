// The `sql` check: statements a PostgreSQL (`sql`) service ran, matched by
// text, verb, parameters and transaction, counted; or `every` selected
// statement must also match a second matcher (every INSERT sent its values
// as parameters, say), or `order` (these statements came in this order).
#include <cctype>

#include "checks/check.hpp"
#include "checks/kinds.hpp"
#include "checks/match.hpp"
#include "checks/record_check.hpp"
#include "checks/request_matcher.hpp"

namespace wirelab::checks {

namespace {

std::string shown(const SqlRow& r) {
    std::string s = printable(r.text, 120);
    if (r.params && !r.params->empty()) s += "  with " + one_line(*r.params, 60);
    s += "  → " + (r.sqlstate.empty() ? r.tag : "ERROR " + r.sqlstate + ": " + r.error);
    return s + "  (connection " + std::to_string(r.connection_id) + ", statement " + std::to_string(r.seq) + ")";
}

/// Selects statements: "verb" (SELECT, INSERT, … one or several), "regex"
/// (on the text), "parameterised" (the values came apart from the text, as
/// $1 … with the extended protocol), "in_transaction" (it ran inside
/// BEGIN … COMMIT), "error" (true: it failed; a SQLSTATE: it failed so).
struct SqlMatcher {
    std::vector<std::string> verbs;
    std::optional<Pattern> re;
    std::optional<bool> parameterised, in_tx, failed;
    std::string sqlstate;

    SqlMatcher() = default;
    explicit SqlMatcher(Spec& s) {
        for (auto& v : s.strings("verb")) verbs.push_back(upper(v));
        if (auto r = s.opt_string("regex")) re = compile_pattern(s, "regex", *r);
        if (s.has("parameterised")) parameterised = s.boolean("parameterised", true);
        if (s.has("in_transaction")) in_tx = s.boolean("in_transaction", true);
        if (const json* e = s.get("error")) {
            if (e->is_boolean()) failed = e->get<bool>();
            else if (e->is_string()) failed = true, sqlstate = e->get<std::string>();
            else s.fail("error", "\"error\" is true, false or a SQLSTATE code such as \"23505\"");
        }
        s.finish();
    }

    std::string mismatch(const SqlRow& r) const {
        if (!verbs.empty() && std::find(verbs.begin(), verbs.end(), r.verb) == verbs.end())
            return "it is a " + (r.verb.empty() ? std::string("statement") : r.verb);
        if (re && !re->search(r.text)) return "its text does not match /" + re->source + "/";
        if (parameterised && *parameterised != r.parameterised)
            return *parameterised ? "its values are written into the SQL text, not sent as parameters"
                                  : "it sends parameters";
        if (in_tx && *in_tx != (r.tx_before == "T"))
            return *in_tx ? "it ran outside a transaction (autocommit)" : "it ran inside a transaction";
        if (failed && *failed != !r.sqlstate.empty()) return *failed ? "it succeeded" : "it failed: " + r.error;
        if (!sqlstate.empty() && r.sqlstate != sqlstate)
            return "it failed with " + (r.sqlstate.empty() ? std::string("nothing") : r.sqlstate) + ", not " + sqlstate;
        return {};
    }

    std::string describe() const {
        std::string s = verbs.empty() ? "statements" : "";
        for (std::size_t i = 0; i < verbs.size(); ++i) s += (i ? " or " : "") + verbs[i];
        if (re) s += " matching /" + re->source + "/";
        if (parameterised) s += *parameterised ? " with parameters" : " without parameters";
        if (in_tx) s += *in_tx ? " inside a transaction" : " outside a transaction";
        if (failed) s += *failed ? " that failed" + (sqlstate.empty() ? "" : " with " + sqlstate) : " that succeeded";
        return s;
    }
};

}  // namespace

std::unique_ptr<Check> make_sql_check(Spec& s, const CheckContext& ctx) {
    RecordKind<SqlRow> kind{"statement", "SQL statement", "statements the service ran",
                            [](RunData& run) -> const std::vector<SqlRow>& { return run.journal().statements(); },
                            shown};
    return std::make_unique<RecordCheck<SqlRow, SqlMatcher>>(s, ctx, std::move(kind));
}

}  // namespace wirelab::checks
