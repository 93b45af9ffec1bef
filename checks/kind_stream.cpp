// The `stream` check: the raw bytes of a service's connections, per
// direction — for labs where the learner speaks a protocol by hand over a
// socket ("the request line ends with CRLF", "a Host header was sent",
// "no GET was sent").
#include <algorithm>

#include "checks/check.hpp"
#include "checks/kinds.hpp"
#include "checks/match.hpp"

namespace wirelab::checks {

namespace {

class StreamCheck : public Check {
public:
    enum class Mode { contains, not_contains, regex, not_regex, starts_with };

    StreamCheck(Spec& s, const CheckContext& ctx) {
        service_ = s.string("service");
        ctx.require_service(s, "service", service_);
        cases_ = ctx.cases(s);
        from_ = s.string("from", "client");
        if (from_ != "client" && from_ != "server")
            s.fail("from", "\"from\" must be \"client\" (the bytes your program sent) or \"server\" "
                           "(the bytes the service sent), got \"" + from_ + "\"");
        int modes = 0;
        auto text = [&](const char* key, Mode m) {
            if (auto v = s.opt_string(key)) mode_ = m, text_ = *v, ++modes;
        };
        text("contains", Mode::contains);
        text("not_contains", Mode::not_contains);
        text("starts_with", Mode::starts_with);
        if (auto v = s.opt_string("regex")) mode_ = Mode::regex, re_ = compile_pattern(s, "regex", *v), ++modes;
        if (auto v = s.opt_string("not_regex"))
            mode_ = Mode::not_regex, re_ = compile_pattern(s, "not_regex", *v), ++modes;
        if (modes != 1)
            s.fail("", "a stream check needs exactly one of \"contains\", \"not_contains\", "
                       "\"starts_with\", \"regex\", \"not_regex\" (found " + std::to_string(modes) + ")");
        std::string which = s.string("connections", "any");
        if (which != "any" && which != "every")
            s.fail("connections", "\"connections\" must be \"any\" (one connection is enough) or "
                                  "\"every\", got \"" + which + "\"");
        every_ = which == "every";
    }

    Verdict evaluate(RunData& run) const override {
        std::vector<const ConnRow*> conns;
        for (const auto& c : run.journal().connections())
            if (c.service == service_ && run.in_cases(cases_, c.case_id)) conns.push_back(&c);
        if (conns.empty())
            return Verdict::fail("the program never connected to \"" + service_ + "\"" + in_cases(),
                                 "a connection to \"" + service_ + "\"", "no connection");
        // Bytes wirelab received are "in" when it serves, "out" when it is the client.
        bool negative = mode_ == Mode::not_contains || mode_ == Mode::not_regex;
        const ConnRow* first_bad = nullptr;
        std::string first_bytes, bad_bytes;
        int good = 0;
        for (const ConnRow* c : conns) {
            bool from_peer = from_ == "client" ? c->role == "server" : c->role == "client";
            std::string bytes = run.journal().bytes(c->id, from_peer ? "in" : "out");
            if (first_bytes.empty()) first_bytes = bytes;
            bool ok = matches(bytes);
            if (ok) ++good;
            if (!ok && !first_bad) first_bad = c, bad_bytes = bytes;
        }
        bool pass = negative || every_ ? first_bad == nullptr : good > 0;
        if (pass) return Verdict::pass();
        const std::string& shown = negative || every_ ? bad_bytes : first_bytes;
        std::string who = from_ == "client" ? "your program sent" : "the service sent";
        std::string where = conns.size() > 1 ? (negative || every_ ? " on connection " + std::to_string(first_bad->id)
                                                                    : " on any of " + std::to_string(conns.size()) + " connections")
                                             : "";
        Verdict v = Verdict::fail(what_failed() + where, expectation(),
                                  who + (conns.size() > 1 && !(negative || every_) ? " (first connection)" : "") +
                                      ":\n" + (shown.empty() ? "(nothing)" : printable(shown, 400)));
        v.evidence = {{"bytes", printable(shown, 2000)}};
        return v;
    }

private:
    bool matches(const std::string& bytes) const {
        switch (mode_) {
            case Mode::contains: return bytes.find(text_) != std::string::npos;
            case Mode::not_contains: return bytes.find(text_) == std::string::npos;
            case Mode::starts_with: return bytes.rfind(text_, 0) == 0;
            case Mode::regex: return re_.search(bytes);
            case Mode::not_regex: return !re_.search(bytes);
        }
        return false;
    }

    std::string in_cases() const {
        if (cases_.empty()) return "";
        std::string s;
        for (const auto& c : cases_) s += (s.empty() ? "" : ", ") + c;
        return " (case " + s + ")";
    }

    std::string expectation() const {
        std::string dir = from_ == "client" ? "bytes sent by the program " : "bytes sent by the service ";
        switch (mode_) {
            case Mode::contains: return dir + "containing " + printable(text_, 120);
            case Mode::not_contains: return dir + "without " + printable(text_, 120);
            case Mode::starts_with: return dir + "starting with " + printable(text_, 120);
            case Mode::regex: return dir + "matching /" + re_.source + "/";
            case Mode::not_regex: return dir + "not matching /" + re_.source + "/";
        }
        return {};
    }

    std::string what_failed() const {
        std::string who = from_ == "client" ? "the program" : "the service";
        switch (mode_) {
            case Mode::contains: return who + " never sent " + printable(text_, 80);
            case Mode::not_contains: return who + " sent " + printable(text_, 80);
            case Mode::starts_with: return "what " + who + " sent does not start with " + printable(text_, 80);
            case Mode::regex: return "what " + who + " sent does not match /" + re_.source + "/";
            case Mode::not_regex: return "what " + who + " sent matches /" + re_.source + "/";
        }
        return {};
    }

    std::string service_, from_, text_;
    std::vector<std::string> cases_;
    Mode mode_ = Mode::contains;
    Pattern re_;
    bool every_ = false;
};

}  // namespace

std::unique_ptr<Check> make_stream_check(Spec& s, const CheckContext& ctx) {
    return std::make_unique<StreamCheck>(s, ctx);
}

}  // namespace wirelab::checks
