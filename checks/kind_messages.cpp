// The `messages` check: protocol messages (lines, frames) a service
// received or sent, matched by JSON subset or regex, counted.
#include "checks/check.hpp"
#include "checks/kinds.hpp"
#include "checks/match.hpp"

namespace wirelab::checks {

namespace {

std::string shown(const MessageRow& m) {
    std::string s = m.json ? one_line(*m.json, 140) : printable(m.data, 140);
    if (!m.error.empty()) s += "  ✗ " + m.error;
    return s + "  (connection " + std::to_string(m.connection_id) + ", message " + std::to_string(m.seq) + ")";
}

class MessagesCheck : public Check {
public:
    MessagesCheck(Spec& s, const CheckContext& ctx) {
        service_ = s.string("service");
        ctx.require_service(s, "service", service_);
        cases_ = ctx.cases(s);
        from_ = s.string("from", "client");
        if (from_ != "client" && from_ != "server")
            s.fail("from", "\"from\" must be \"client\" (what the program sent) or \"server\"");
        if (const json* j = s.get("json")) json_ = *j;
        if (auto r = s.opt_string("regex")) re_ = compile_pattern(s, "regex", *r);
        if (s.has("with_error")) with_error_ = s.boolean("with_error", false);
        range_ = CountRange::read(s);
    }

    Verdict evaluate(RunData& run) const override {
        // Services journal what they received as "in".
        const std::string dir = from_ == "client" ? "in" : "out";
        std::vector<const MessageRow*> all, selected;
        for (const auto& m : run.journal().messages())
            if (m.service == service_ && m.dir == dir && run.in_cases(cases_, m.case_id)) all.push_back(&m);
        std::string closest_why;
        const MessageRow* closest = nullptr;
        for (const MessageRow* m : all) {
            std::string why = mismatch(*m);
            if (why.empty())
                selected.push_back(m);
            else if (!closest || m->error.empty())
                closest = m, closest_why = why;
        }
        auto n = static_cast<std::int64_t>(selected.size());
        if (range_.ok(n)) return Verdict::pass();

        std::string what = describe();
        if (n < range_.min) {
            if (all.empty())
                return Verdict::fail("no message " + std::string(from_ == "client" ? "from the program" : "from the service") +
                                         " reached \"" + service_ + "\"",
                                     what, "did the program connect and send a complete message?");
            std::string obs;
            if (closest && range_.min == 1) obs += "closest: " + shown(*closest) + "\n  but " + closest_why + "\n";
            obs += list(all, "messages " + std::string(from_ == "client" ? "the program sent" : "the service sent"));
            std::string msg = range_.min == 1 ? (closest && !closest_why.empty() ? "no message matched: " + closest_why
                                                                                 : "no message matched")
                                              : "expected at least " + std::to_string(range_.min) +
                                                    " matching messages, saw " + std::to_string(n);
            return Verdict::fail(msg, what, obs);
        }
        std::string msg = *range_.max == 0 ? "there should be no such message, saw " + std::to_string(n)
                                           : "expected at most " + std::to_string(*range_.max) +
                                                 " matching messages, saw " + std::to_string(n);
        return Verdict::fail(msg, what, list(selected, "matching messages"));
    }

private:
    std::string mismatch(const MessageRow& m) const {
        if (with_error_) {
            if (*with_error_ && m.error.empty()) return "it was read without error";
            if (!*with_error_ && !m.error.empty()) return m.error;
        }
        if (json_) {
            if (!m.json) return m.error.empty() ? "it is not JSON" : m.error;
            std::string why;
            if (!json_subset(*json_, *m.json, why)) return why;
        }
        if (re_ && !re_->search(m.data)) return "it does not match /" + re_->source + "/";
        return {};
    }

    std::string describe() const {
        std::string s = from_ == "client" ? "messages from the program" : "messages from the service";
        if (json_) s += " containing " + one_line(*json_, 120);
        if (re_) s += " matching /" + re_->source + "/";
        if (with_error_) s += *with_error_ ? " that could not be read" : " read without error";
        if (range_.max && *range_.max == 0) return "no " + s;
        if (range_.max && *range_.max == range_.min) return "exactly " + std::to_string(range_.min) + " " + s;
        return s;
    }

    static std::string list(const std::vector<const MessageRow*>& rows, const std::string& title) {
        std::string s = title + " (" + std::to_string(rows.size()) + "):";
        for (std::size_t i = 0; i < rows.size() && i < 8; ++i) s += "\n  " + shown(*rows[i]);
        if (rows.size() > 8) s += "\n  …";
        return s;
    }

    std::string service_, from_;
    std::vector<std::string> cases_;
    std::optional<nlohmann::json> json_;
    std::optional<Pattern> re_;
    std::optional<bool> with_error_;
    CountRange range_;
};

}  // namespace

std::unique_ptr<Check> make_messages_check(Spec& s, const CheckContext& ctx) {
    return std::make_unique<MessagesCheck>(s, ctx);
}

}  // namespace wirelab::checks
