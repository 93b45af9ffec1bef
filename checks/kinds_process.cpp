// Check kinds about the learner's program itself: `exit` and `output`.
#include <csignal>
#include <cstring>
#include <sstream>

#include "checks/check.hpp"
#include "checks/kinds.hpp"
#include "checks/match.hpp"

namespace wirelab::checks {

namespace {

std::string seconds(micros us) {
    std::ostringstream o;
    o.precision(us < 10'000'000 ? 2 : 3);
    o << static_cast<double>(us) / 1e6 << " s";
    return o.str();
}

std::string signal_name(int sig) {
    const char* d = ::strsignal(sig);
    static const std::map<int, const char*> names = {
        {SIGKILL, "SIGKILL"}, {SIGTERM, "SIGTERM"}, {SIGSEGV, "SIGSEGV"}, {SIGABRT, "SIGABRT"},
        {SIGINT, "SIGINT"},   {SIGPIPE, "SIGPIPE"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"}};
    auto it = names.find(sig);
    return (it != names.end() ? std::string(it->second) : "signal " + std::to_string(sig)) +
           (d ? std::string(" (") + d + ")" : "");
}

/// What a person needs to see of a run that went wrong: the end of stderr
/// (a traceback) and of stdout.
std::string output_tail(const CaseRow& c) {
    std::string o;
    if (!c.err.empty()) o += "stderr (last lines):\n" + tail_lines(c.err, 12);
    if (!c.out.empty()) {
        if (!o.empty()) o += "\n";
        o += "stdout (last lines):\n" + tail_lines(c.out, 8);
    }
    return o.empty() ? "(the program printed nothing)" : o;
}

class ExitCheck : public Check {
public:
    ExitCheck(Spec& s, const CheckContext& ctx) {
        // With only "max_cpu_ms", the status is not checked (a server
        // stopped with Ctrl-C dies of SIGINT).
        check_code_ = s.has("code") || !s.has("max_cpu_ms");
        code_ = static_cast<int>(s.integer("code", 0, 0, 255));
        if (auto ms = s.opt_integer("max_cpu_ms", 0, 3600000)) max_cpu_us_ = *ms * 1000;
        cases_ = ctx.cases(s);
    }
    Verdict evaluate(RunData& run) const override {
        auto cases = run.cases(cases_);
        if (cases.empty()) return Verdict::fail("the program did not run");
        for (const CaseRow* c : cases) {
            std::string p = case_label(*c, cases.size());
            micros took = c->ended_us.value_or(c->started_us) - c->started_us;
            if (!c->start_error.empty())
                return Verdict::fail(p + "the program could not start: " + c->start_error);
            if (max_cpu_us_ && c->cpu_user_us + c->cpu_sys_us > *max_cpu_us_)
                return Verdict::fail(p + "the program used " + std::to_string((c->cpu_user_us + c->cpu_sys_us) / 1000) +
                                         " ms of CPU time in " + seconds(took) + " — a loop that never waits?",
                                     "at most " + std::to_string(*max_cpu_us_ / 1000) + " ms of CPU time",
                                     "user " + std::to_string(c->cpu_user_us / 1000) + " ms, system " +
                                         std::to_string(c->cpu_sys_us / 1000) + " ms");
            if (!c->limit.empty())
                return Verdict::fail(p + c->limit_detail + " — it was stopped",
                                     check_code_ ? "exit status " + std::to_string(code_) : "within the lab's limits",
                                     output_tail(*c));
            if (!check_code_) continue;
            if (c->timed_out)
                return Verdict::fail(p + "the program did not finish within " + seconds(took) +
                                         " and was stopped",
                                     "exit status " + std::to_string(code_), output_tail(*c));
            if (c->signal)
                return Verdict::fail(p + "the program was killed by " + signal_name(*c->signal),
                                     "exit status " + std::to_string(code_), output_tail(*c));
            if (!c->exit_code)
                return Verdict::fail(p + "the run was interrupted before the program exited");
            if (*c->exit_code != code_)
                return Verdict::fail(p + "the program exited with status " +
                                         std::to_string(*c->exit_code) + " after " + seconds(took),
                                     "exit status " + std::to_string(code_), output_tail(*c));
        }
        return Verdict::pass();
    }

private:
    int code_ = 0;
    bool check_code_ = true;
    std::optional<micros> max_cpu_us_;
    std::vector<std::string> cases_;
};

class OutputCheck : public Check {
public:
    enum class Mode { equals, contains, not_contains, regex, in_order, json };

    OutputCheck(Spec& s, const CheckContext& ctx) {
        stream_ = s.string("stream", "stdout");
        if (stream_ != "stdout" && stream_ != "stderr")
            s.fail("stream", "\"stream\" must be \"stdout\" or \"stderr\", got \"" + stream_ + "\"");
        cases_ = ctx.cases(s);
        int modes = 0;
        if (auto v = s.opt_string("equals")) mode_ = Mode::equals, texts_ = {*v}, ++modes;
        if (s.has("contains")) mode_ = Mode::contains, texts_ = s.strings("contains"), ++modes;
        if (s.has("not_contains"))
            mode_ = Mode::not_contains, texts_ = s.strings("not_contains"), ++modes;
        if (auto v = s.opt_string("regex")) {
            mode_ = Mode::regex, ++modes;
            re_ = compile_pattern(s, "regex", *v);
        }
        if (s.has("in_order")) mode_ = Mode::in_order, texts_ = s.strings("in_order"), ++modes;
        if (const json* j = s.get("json")) mode_ = Mode::json, json_ = *j, ++modes;
        if (modes != 1)
            s.fail("", "an output check needs exactly one of \"equals\", \"contains\", "
                       "\"not_contains\", \"regex\", \"in_order\", \"json\" (found " +
                           std::to_string(modes) + ")");
        if ((mode_ == Mode::contains || mode_ == Mode::in_order || mode_ == Mode::not_contains) &&
            texts_.empty())
            s.fail("", "the list of texts is empty");
    }

    Verdict evaluate(RunData& run) const override {
        return each_case(run, cases_, [this](const CaseRow& c) { return one(c); });
    }

private:
    static std::string normalise(const std::string& s) {
        // Trailing spaces on each line and trailing blank lines do not count.
        std::string out, line;
        std::istringstream in(s);
        while (std::getline(in, line)) {
            while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\t'))
                line.pop_back();
            out += line + "\n";
        }
        while (out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n')
            out.pop_back();
        return out;
    }

    std::string shown(const std::string& text) const {
        if (text.empty()) return "(no output on " + stream_ + ")";
        std::istringstream in(text);
        std::string line, out;
        int n = 0;
        while (std::getline(in, line)) {
            if (++n > 15) {
                out += "…\n";
                break;
            }
            out += printable(line, 160) + "\n";
        }
        if (!out.empty()) out.pop_back();
        return stream_ + ":\n" + out;
    }

    /// For a multi-line expectation: the first line that differs, with the
    /// lines around it, rather than two walls of text.
    Verdict first_difference(const std::string& want, const std::string& got) const {
        auto lines = [](const std::string& t) {
            std::vector<std::string> v;
            std::istringstream in(t);
            for (std::string l; std::getline(in, l);) v.push_back(l);
            return v;
        };
        auto w = lines(want), g = lines(got);
        std::size_t i = 0;
        while (i < w.size() && i < g.size() && w[i] == g[i]) ++i;
        std::string where = "line " + std::to_string(i + 1);
        std::string msg = i >= g.size() ? stream_ + " stops after " + std::to_string(g.size()) + " of " +
                                              std::to_string(w.size()) + " lines"
                          : i >= w.size() ? stream_ + " has " + std::to_string(g.size() - w.size()) +
                                                " line(s) more than expected, from " + where
                                          : stream_ + " differs from " + where;
        std::string expected = i < w.size() ? where + ": " + printable(w[i], 160) : "nothing after line " + std::to_string(i);
        std::string observed;
        std::size_t from = i >= 2 ? i - 2 : 0;
        for (std::size_t k = from; k < g.size() && k < i + 3; ++k)
            observed += (k == i ? "→ " : "  ") + std::to_string(k + 1) + ": " + printable(g[k], 160) + "\n";
        if (observed.empty()) observed = "(no output on " + stream_ + ")";
        else observed = stream_ + " around " + where + ":\n" + observed.substr(0, observed.size() - 1);
        Verdict v = Verdict::fail(msg, expected, observed);
        v.evidence = {{"line", i + 1}, {"expected_lines", w.size()}, {"got_lines", g.size()}};
        return v;
    }

    Verdict one(const CaseRow& c) const {
        const std::string& text = stream_ == "stdout" ? c.out : c.err;
        switch (mode_) {
            case Mode::equals: {
                std::string want = normalise(texts_[0]), got = normalise(text);
                if (got == want) return Verdict::pass();
                if (want.find('\n') == want.size() - 1)  // one line: show it whole
                    return Verdict::fail(stream_ + " is not what was expected", shorten(texts_[0], 400), shown(text));
                return first_difference(want, got);
            }
            case Mode::contains:
                for (const auto& t : texts_)
                    if (text.find(t) == std::string::npos)
                        return Verdict::fail(stream_ + " does not contain \"" + printable(t) + "\"",
                                             "\"" + printable(t) + "\" in " + stream_, shown(text));
                return Verdict::pass();
            case Mode::not_contains:
                for (const auto& t : texts_)
                    if (text.find(t) != std::string::npos)
                        return Verdict::fail(stream_ + " contains \"" + printable(t) + "\"",
                                             "no \"" + printable(t) + "\" in " + stream_, shown(text));
                return Verdict::pass();
            case Mode::regex:
                if (re_.search(text)) return Verdict::pass();
                return Verdict::fail(stream_ + " does not match /" + re_.source + "/",
                                     "a match for /" + re_.source + "/", shown(text));
            case Mode::in_order: {
                std::size_t pos = 0;
                std::string found;
                for (std::size_t i = 0; i < texts_.size(); ++i) {
                    auto at = text.find(texts_[i], pos);
                    if (at == std::string::npos) {
                        std::string why;
                        if (text.find(texts_[i]) == std::string::npos)
                            why = "\"" + texts_[i] + "\" is not in " + stream_;
                        else
                            why = "\"" + texts_[i] + "\" is printed, but before \"" + texts_[i - 1] + "\"";
                        std::string want;
                        for (const auto& t : texts_) want += (want.empty() ? "" : ", ") + t;
                        return Verdict::fail(why, "in this order: " + want, shown(text));
                    }
                    pos = at + texts_[i].size();
                }
                return Verdict::pass();
            }
            case Mode::json: {
                auto parsed = nlohmann::json::parse(text, nullptr, false);
                if (parsed.is_discarded())
                    return Verdict::fail(stream_ + " is not valid JSON", one_line(json_), shown(text));
                std::string why;
                if (json_subset(json_, parsed, why)) return Verdict::pass();
                return Verdict::fail(stream_ + " JSON differs: " + why, one_line(json_, 400), shown(text));
            }
        }
        return Verdict::error("unknown mode");
    }

    std::string stream_;
    std::vector<std::string> cases_;
    Mode mode_ = Mode::contains;
    std::vector<std::string> texts_;
    Pattern re_;
    nlohmann::json json_;
};

}  // namespace

std::unique_ptr<Check> make_exit_check(Spec& s, const CheckContext& ctx) {
    return std::make_unique<ExitCheck>(s, ctx);
}
std::unique_ptr<Check> make_output_check(Spec& s, const CheckContext& ctx) {
    return std::make_unique<OutputCheck>(s, ctx);
}

}  // namespace wirelab::checks
