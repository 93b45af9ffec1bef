// The `http` check kind: which requests a service received. A matcher
// selects requests; the check counts them (count/min/max/none) or requires
// that every selected request also matches a second matcher ("every").
// Failures show the closest request and what differed.
#include <algorithm>
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
    }

    Verdict evaluate(RunData& run) const override {
        std::vector<const HttpRow*> rows;
        for (const auto& r : run.journal().http())
            if (r.service == service_ && run.in_cases(cases_, r.case_id)) rows.push_back(&r);

        std::vector<const HttpRow*> selected;
        for (const HttpRow* r : rows)
            if (select_.mismatches(*r).empty()) selected.push_back(r);
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
                              "expected at least " + std::to_string(*min_) + " matching requests, saw " + std::to_string(n);
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
    static std::string requests_seen(const std::vector<const HttpRow*>& rows) {
        std::string s = "requests the service received (" + std::to_string(rows.size()) + "):\n";
        for (std::size_t i = 0; i < rows.size() && i < 10; ++i) s += "  " + describe_row(*rows[i]) + "\n";
        if (rows.size() > 10) s += "  …\n";
        return s;
    }

    std::string service_;
    std::vector<std::string> cases_;
    RequestMatcher select_;
    std::optional<RequestMatcher> every_;
    std::optional<std::int64_t> min_, max_;
};

}  // namespace

std::unique_ptr<Check> make_http_check(Spec& s, const CheckContext& ctx) {
    return std::make_unique<HttpCheck>(s, ctx);
}

}  // namespace wirelab::checks
