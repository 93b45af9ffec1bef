// The `http` check kind: which requests a service received. A matcher
// selects requests; the check counts them (count/min/max/none) or requires
// that every selected request also matches a second matcher ("every").
// Failures show the closest request and what differed.
#include <algorithm>
#include <map>
#include <optional>

#include "checks/check.hpp"
#include "checks/kinds.hpp"
#include "checks/match.hpp"
#include "checks/request_matcher.hpp"

namespace wirelab::checks {

namespace {

std::string describe_row(const HttpRow& r) {
    std::string s = r.error.empty() ? r.line() : "(unparsable request: " + r.error + ")";
    s += " → " + std::to_string(r.status);
    return s;
}

std::string row_detail(const HttpRow& r) {
    std::string s = describe_row(r) + "  (connection " + std::to_string(r.connection_id) +
                    ", request " + std::to_string(r.seq) + ")";
    auto ct = r.header("Content-Type");
    if (!r.req_body.empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH") {
        s += "\n  Content-Type: " + (ct ? *ct : std::string("(none)"));
        s += "\n  body: " + (r.req_body.empty() ? std::string("(empty)") : printable(r.req_body, 160));
    }
    return s;
}

class HttpCheck : public Check {
public:
    HttpCheck(Spec& s, const CheckContext& ctx) {
        service_ = s.string("service");
        ctx.require_service(s, "service", service_);
        cases_ = ctx.cases(s);
        if (s.has("request")) select_ = RequestMatcher(s.object("request"));
        if (s.has("every")) every_ = RequestMatcher(s.object("every"));
        auto range = CountRange::read(s);
        min_ = range.min;
        max_ = range.max;
        if (auto d = s.opt_string("distinct")) {
            if (d->rfind("$", 0) != 0)
                s.fail("distinct", "\"distinct\" is a path into the request's JSON body, e.g. \"$.id\"");
            distinct_ = *d;
        }
    }

    Verdict evaluate(RunData& run) const override {
        std::vector<const HttpRow*> rows;
        for (const auto& r : run.journal().http())
            if (r.service == service_ && run.in_cases(cases_, r.case_id)) rows.push_back(&r);

        std::vector<const HttpRow*> selected;
        for (const HttpRow* r : rows)
            if (select_.matches(*r)) selected.push_back(r);
        std::string what = select_.empty() ? "requests" : select_.describe();

        if (rows.empty() && *min_ > 0)
            return Verdict::fail("no HTTP request reached service \"" + service_ + "\"",
                                 what, "does your script use the address in WIRELAB_" + env(service_) +
                                           "_URL (or the port the task names)?");

        auto n = static_cast<std::int64_t>(selected.size());
        if (n < *min_) {
            // The closest request: fewest mismatches, latest on ties.
            const HttpRow* best = nullptr;
            std::vector<std::string> best_why;
            for (const HttpRow* r : rows) {
                auto why = select_.mismatches(*r);
                if (!best || why.size() <= best_why.size()) best = r, best_why = why;
            }
            std::string obs;
            if (n > 0) obs = "only " + std::to_string(n) + " matched\n";
            obs += per_case(run, selected, cases_);
            if (best && !best_why.empty()) {
                obs += "closest: " + row_detail(*best) + "\n";
                if (best_why.size() > 1 || *min_ != 1) {
                    obs += "  but ";
                    for (std::size_t i = 0; i < best_why.size(); ++i)
                        obs += (i ? "; " : "") + best_why[i];
                    obs += "\n";
                }
            }
            obs += requests_seen(rows);
            std::string msg = *min_ == 1 ? "no request matched" :
                              "expected " + std::string(max_ && *max_ == *min_ ? "" : "at least ") + std::to_string(*min_) +
                                  " matching requests, saw " + std::to_string(n);
            if (*min_ == 1 && best && best_why.size() == 1) msg = "the closest request differs: " + best_why[0];
            return Verdict::fail(msg, exp_text(what), obs);
        }
        if (max_ && n > *max_) {
            std::string obs = "matching requests:\n";
            for (std::size_t i = 0; i < selected.size() && i < 8; ++i)
                obs += "  " + describe_row(*selected[i]) + "\n";
            if (selected.size() > 8) obs += "  …\n";
            std::string msg = *max_ == 0 ? "there should be no such request, saw " + std::to_string(n)
                                         : "expected at most " + std::to_string(*max_) + ", saw " + std::to_string(n);
            return Verdict::fail(msg, exp_text(what), obs);
        }
        if (distinct_) {
            // The same value twice in one case: a write that landed more
            // than once.
            std::map<std::pair<std::int64_t, std::string>, std::vector<const HttpRow*>> by;
            for (const HttpRow* r : selected) {
                auto body = nlohmann::json::parse(r->req_body, nullptr, false);
                const nlohmann::json* v = body.is_discarded() ? nullptr : json_path(body, *distinct_);
                by[{r->case_id, v ? v->dump() : std::string("(none)")}].push_back(r);
            }
            const auto& cases = run.journal().cases();
            std::map<std::int64_t, int> replica_of;
            for (const auto& c : run.journal().connections())
                if (c.replica) replica_of[c.id] = *c.replica;
            for (const auto& [key, same] : by) {
                if (same.size() < 2) continue;
                const std::string& value = key.second;
                std::string label;
                for (const auto& c : cases)
                    if (c.id == key.first) label = case_label(c, cases.size());
                std::string obs;
                for (std::size_t i = 0; i < same.size() && i < 6; ++i) {
                    obs += "  " + describe_row(*same[i]);
                    auto rep = replica_of.find(same[i]->connection_id);
                    if (rep != replica_of.end()) obs += "  on replica " + std::to_string(rep->second);
                    obs += "\n";
                }
                return Verdict::fail(label + std::to_string(same.size()) + " requests (" + what + ") carry " +
                                         *distinct_ + " = " + value + ": the same write landed " +
                                         std::to_string(same.size()) + " times",
                                     exp_text(what) + ", each with its own " + *distinct_, obs);
            }
        }
        if (every_) {
            std::vector<std::pair<const HttpRow*, std::vector<std::string>>> bad;
            for (const HttpRow* r : selected) {
                auto why = every_->mismatches(*r);
                if (!why.empty()) bad.emplace_back(r, why);
            }
            if (!bad.empty()) {
                std::string obs;
                for (std::size_t i = 0; i < bad.size() && i < 6; ++i) {
                    obs += describe_row(*bad[i].first) + ": " + bad[i].second[0] + "\n";
                }
                if (bad.size() > 6) obs += "… and " + std::to_string(bad.size() - 6) + " more\n";
                return Verdict::fail(std::to_string(bad.size()) + " of " + std::to_string(selected.size()) +
                                         " " + (select_.empty() ? "requests" : "matching requests") +
                                         " did not have " + every_->describe(),
                                     "every " + (select_.empty() ? std::string("request") : what) +
                                         ": " + every_->describe(),
                                     obs);
            }
        }
        return Verdict::pass();
    }

private:
    std::string exp_text(const std::string& what) const {
        std::string range;
        if (max_ && *max_ == *min_)
            range = *min_ == 1 ? "exactly one request: " : "exactly " + std::to_string(*min_) + " requests: ";
        else if (max_ && *max_ == 0)
            range = "no request: ";
        else if (*min_ > 1)
            range = "at least " + std::to_string(*min_) + " requests: ";
        return range + what;
    }
    static std::string env(const std::string& s) {
        std::string out;
        for (char c : s) out += c == '-' ? '_' : static_cast<char>(std::toupper(c));
        return out;
    }
    /// The requests, the same line repeated shown once with a count.
    static std::string requests_seen(const std::vector<const HttpRow*>& rows) {
        std::string s = "requests the service received (" + std::to_string(rows.size()) + "):\n";
        std::size_t shown = 0;
        for (std::size_t i = 0; i < rows.size() && shown < 10; ++shown) {
            std::string line = describe_row(*rows[i]);
            std::size_t j = i + 1;
            while (j < rows.size() && describe_row(*rows[j]) == line) ++j;
            s += "  " + line + (j - i > 1 ? "  ×" + std::to_string(j - i) : "") + "\n";
            i = j;
            if (shown == 9 && i < rows.size()) s += "  …\n";
        }
        return s;
    }

    /// "matched per case: a 12, b 11" when the check covers several cases.
    static std::string per_case(RunData& run, const std::vector<const HttpRow*>& selected,
                                const std::vector<std::string>& names) {
        std::vector<const CaseRow*> covered;
        for (const auto& c : run.journal().cases())
            if (run.in_cases(names, c.id)) covered.push_back(&c);
        if (covered.size() < 2) return {};
        std::string s = "matched per case:";
        for (std::size_t k = 0; k < covered.size(); ++k) {
            auto n = std::count_if(selected.begin(), selected.end(),
                                   [&](const HttpRow* r) { return r->case_id == covered[k]->id; });
            s += (k ? ", " : " ") + covered[k]->name + " " + std::to_string(n);
        }
        return s + "\n";
    }

    std::string service_;
    std::vector<std::string> cases_;
    RequestMatcher select_;
    std::optional<RequestMatcher> every_;
    std::optional<std::string> distinct_;
    std::optional<std::int64_t> min_, max_;
};

}  // namespace

std::unique_ptr<Check> make_http_check(Spec& s, const CheckContext& ctx) {
    return std::make_unique<HttpCheck>(s, ctx);
}

}  // namespace wirelab::checks
