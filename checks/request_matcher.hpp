// A matcher over journaled HTTP requests (the "request" object of `http`
// checks, also used by `concurrency` and `timing` to pick requests): it
// says whether a request matches and, if not, every way it differs.
#pragma once
#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include "checks/check.hpp"
#include "checks/match.hpp"

namespace wirelab::checks {

inline std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

struct QueryRule {
    std::string key;
    std::optional<std::string> equals;  // nullopt: present with any value
    std::optional<Pattern> regex;
    bool absent = false;
};

/// Matches one journaled request and explains every mismatch.
class RequestMatcher {
public:
    RequestMatcher() = default;
    RequestMatcher(Spec s) {
        if (auto m = s.opt_string("method")) method_ = upper(*m);
        path_ = s.opt_string("path");
        if (auto r = s.opt_string("path_regex")) path_re_ = compile_pattern(s, "path_regex", *r);
        if (const json* q = s.get("query")) {
            Spec qs(s.doc(), *q, s.pointer("query"), "\"query\"");
            for (auto it = q->begin(); it != q->end(); ++it) {
                QueryRule r{it.key(), std::nullopt, std::nullopt, false};
                if (it->is_string())
                    r.equals = it->get<std::string>();
                else if (it->is_boolean())
                    r.absent = !it->get<bool>();
                else if (it->is_object() && it->contains("regex") && (*it)["regex"].is_string())
                    r.regex = compile_pattern(qs, it.key(), (*it)["regex"].get<std::string>());
                else
                    qs.fail(it.key(), "a query rule is a string (exact value), true (present), "
                                      "false (absent) or {\"regex\": \"...\"}");
                qs.get(it.key());
                query_.push_back(std::move(r));
            }
        }
        if (const json* h = s.get("headers")) {
            Spec hs(s.doc(), *h, s.pointer("headers"), "\"headers\"");
            for (auto it = h->begin(); it != h->end(); ++it) {
                if (it->is_boolean()) {
                    (it->get<bool>() ? header_present_ : header_absent_).push_back(it.key());
                } else if (it->is_string()) {
                    headers_.emplace_back(it.key(), compile_pattern(hs, it.key(), it->get<std::string>()));
                } else {
                    hs.fail(it.key(), "a header rule is a regex string, true (present) or false (absent)");
                }
                hs.get(it.key());
            }
        }
        if (const json* j = s.get("json")) json_ = *j;
        if (auto r = s.opt_string("body_regex")) body_re_ = compile_pattern(s, "body_regex", *r);
        if (auto st = s.opt_integer("status", 100, 599)) status_ = static_cast<int>(*st);
        s.finish();
    }

    bool empty() const { return describe().empty(); }

    /// Whether the request is one of those selected (stops at the first
    /// difference and words none: this runs for every request of a run).
    bool matches(const HttpRow& r) const {
        bool ok = true;
        visit(r, [&](auto&&) { return ok = false; });
        return ok;
    }

    /// How the request differs, in words, one entry per rule it breaks.
    std::vector<std::string> mismatches(const HttpRow& r) const {
        std::vector<std::string> out;
        visit(r, [&](auto&& why) {
            out.push_back(why());
            return true;
        });
        return out;
    }

    std::string describe() const {
        std::vector<std::string> parts;
        std::string head = method_.value_or("");
        if (path_) head += (head.empty() ? "" : " ") + *path_;
        if (path_re_) head += (head.empty() ? "" : " ") + ("/" + path_re_->source + "/");
        if (!head.empty()) parts.push_back(head);
        for (const auto& q : query_)
            parts.push_back(q.absent  ? "no " + q.key + " in the query"
                            : q.equals ? q.key + "=" + *q.equals
                            : q.regex  ? q.key + " matching /" + q.regex->source + "/"
                                       : q.key + " in the query");
        for (const auto& h : header_present_) parts.push_back("a " + h + " header");
        for (const auto& h : header_absent_) parts.push_back("no " + h + " header");
        for (const auto& [n, re] : headers_) parts.push_back(n + " matching /" + re.source + "/");
        if (json_) parts.push_back("a JSON body with " + one_line(*json_, 100));
        if (body_re_) parts.push_back("a body matching /" + body_re_->source + "/");
        if (status_) parts.push_back("answered " + std::to_string(*status_));
        std::string out;
        for (std::size_t i = 0; i < parts.size(); ++i)
            out += (i == 0 ? "" : i == 1 && !head.empty() ? " with " : ", ") + parts[i];
        return out;
    }

private:
    /// Calls `miss(why)` for each rule `r` breaks, `why()` giving the words;
    /// stops when miss returns false.
    template <class Miss>
    void visit(const HttpRow& r, Miss&& miss) const {
        if (method_ && r.method != *method_ && !miss([&] { return "the method is " + r.method + ", not " + *method_; }))
            return;
        if (path_ && r.path != *path_ && !miss([&] { return "the path is " + r.path + ", not " + *path_; })) return;
        if (path_re_ && !path_re_->search(r.path) &&
            !miss([&] { return "the path " + r.path + " does not match /" + path_re_->source + "/"; }))
            return;
        for (const auto& q : query_) {
            auto it = r.query.find(q.key);
            std::string value;
            if (it != r.query.end()) value = it->is_string() ? it->get<std::string>() : it->dump();
            bool go = true;
            if (q.absent) {
                if (it != r.query.end()) go = miss([&] { return "the query has " + q.key + "=" + value; });
            } else if (it == r.query.end()) {
                go = miss([&] { return "the query has no " + q.key; });
            } else if (q.equals && value != *q.equals) {
                go = miss([&] { return "the query has " + q.key + "=" + value + ", not " + q.key + "=" + *q.equals; });
            } else if (q.regex && !q.regex->search(value)) {
                go = miss([&] {
                    return "the query's " + q.key + "=" + value + " does not match /" + q.regex->source + "/";
                });
            }
            if (!go) return;
        }
        for (const auto& name : header_present_)
            if (!r.header(name) && !miss([&] { return "there is no " + name + " header"; })) return;
        for (const auto& name : header_absent_)
            if (auto v = r.header(name); v && !miss([&] { return "it has the header " + name + ": " + *v; })) return;
        for (const auto& [name, re] : headers_) {
            auto v = r.header(name);
            if (!v) {
                if (!miss([&, &name = name, &re = re] {
                        return "there is no " + name + " header (expected one matching /" + re.source + "/)";
                    }))
                    return;
            } else if (!re.search(*v)) {
                if (!miss([&, &name = name, &re = re] {
                        return name + " is \"" + *v + "\", which does not match /" + re.source + "/";
                    }))
                    return;
            }
        }
        if (json_) {
            auto body = nlohmann::json::parse(r.req_body, nullptr, false);
            std::string why;
            if (body.is_discarded()) {
                if (!miss([&] {
                        return r.req_body.empty() ? std::string("the body is empty")
                                                  : "the body is not JSON: " + printable(r.req_body, 80);
                    }))
                    return;
            } else if (!json_subset(*json_, body, why) && !miss([&] { return "in the JSON body, " + why; })) {
                return;
            }
        }
        if (body_re_ && !body_re_->search(r.req_body) &&
            !miss([&] { return "the body does not match /" + body_re_->source + "/"; }))
            return;
        if (status_ && r.status != *status_)
            miss([&] { return "the answer was " + std::to_string(r.status) + ", not " + std::to_string(*status_); });
    }

    std::optional<std::string> method_, path_;
    std::optional<Pattern> path_re_, body_re_;
    std::vector<QueryRule> query_;
    std::vector<std::string> header_present_, header_absent_;
    std::vector<std::pair<std::string, Pattern>> headers_;
    std::optional<nlohmann::json> json_;
    std::optional<int> status_;
};

}  // namespace wirelab::checks
