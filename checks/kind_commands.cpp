// The `commands` check: commands a RESP (nosql) service received, matched by
// name, key and arguments, counted; or `every` selected command must also
// match a second matcher (every SET has an expiry, say).
#include <cctype>

#include "checks/check.hpp"
#include "checks/kinds.hpp"
#include "checks/match.hpp"

namespace wirelab::checks {

namespace {

std::string shown(const CommandRow& c) {
    std::string s = c.name;
    for (const auto& a : c.args) s += " " + printable(a, 40);
    if (s.size() > 140) s = s.substr(0, 140) + "…";
    s += "  → " + (c.error.empty() ? c.reply : "(error) " + c.error);
    return s + "  (connection " + std::to_string(c.connection_id) + ", command " + std::to_string(c.seq) + ")";
}

std::string upper(std::string s) {
    for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return s;
}

/// Selects commands: "name" (one or several), "key" (a regex on the first
/// argument), "args_regex" (a regex on the arguments joined by spaces),
/// "error" (true: answered with an error; false: not).
struct CommandMatcher {
    std::vector<std::string> names;
    std::optional<Pattern> key, args;
    std::optional<bool> error;

    CommandMatcher() = default;
    explicit CommandMatcher(Spec& s) {
        for (auto& n : s.strings("name")) names.push_back(upper(n));
        if (auto k = s.opt_string("key")) key = compile_pattern(s, "key", *k);
        if (auto a = s.opt_string("args_regex")) args = compile_pattern(s, "args_regex", *a);
        if (s.has("error")) error = s.boolean("error", false);
        s.finish();
    }
    bool empty() const { return names.empty() && !key && !args && !error; }

    std::string mismatch(const CommandRow& c) const {
        if (!names.empty() && std::find(names.begin(), names.end(), c.name) == names.end())
            return "it is " + c.name + ", not " + join(names);
        if (key && (c.args.empty() || !key->search(c.args[0])))
            return "its key " + (c.args.empty() ? std::string("(none)") : "\"" + c.args[0] + "\"") +
                   " does not match /" + key->source + "/";
        if (args) {
            std::string all;
            for (const auto& a : c.args) all += (all.empty() ? "" : " ") + a;
            if (!args->search(all)) return "its arguments do not match /" + args->source + "/";
        }
        if (error && *error != !c.error.empty()) return *error ? "it succeeded" : "it failed: " + c.error;
        return {};
    }

    std::string describe() const {
        std::string s = names.empty() ? "commands" : join(names);
        if (key) s += " on keys matching /" + key->source + "/";
        if (args) s += " with arguments matching /" + args->source + "/";
        if (error) s += *error ? " that failed" : " that succeeded";
        return s;
    }

    static std::string join(const std::vector<std::string>& v) {
        std::string s;
        for (std::size_t i = 0; i < v.size(); ++i) s += (i ? (i + 1 == v.size() ? " or " : ", ") : "") + v[i];
        return s;
    }
};

class CommandsCheck : public Check {
public:
    CommandsCheck(Spec& s, const CheckContext& ctx) {
        service_ = s.string("service");
        ctx.require_service(s, "service", service_);
        cases_ = ctx.cases(s);
        if (s.has("command")) {
            Spec m = s.object("command");
            select_ = CommandMatcher(m);
        }
        if (s.has("every")) {
            Spec m = s.object("every");
            every_ = CommandMatcher(m);
        }
        range_ = CountRange::read(s);
    }

    Verdict evaluate(RunData& run) const override {
        std::vector<const CommandRow*> all, selected;
        for (const auto& c : run.journal().commands())
            if (c.service == service_ && run.in_cases(cases_, c.case_id)) all.push_back(&c);
        for (const CommandRow* c : all)
            if (select_.mismatch(*c).empty()) selected.push_back(c);
        std::string what = select_.describe();
        if (all.empty() && range_.min > 0)
            return Verdict::fail("no command reached \"" + service_ + "\"", what,
                                 "does the program connect to WIRELAB_" + env_stem() + "_URL?");
        auto n = static_cast<std::int64_t>(selected.size());
        if (n < range_.min) {
            const CommandRow* closest = nullptr;
            std::string why;
            for (const CommandRow* c : all)
                if (auto w = select_.mismatch(*c); !closest || w.size() <= why.size()) closest = c, why = w;
            std::string obs;
            if (closest && range_.min == 1) obs += "closest: " + shown(*closest) + "\n  but " + why + "\n";
            obs += list(all, "commands the service received");
            return Verdict::fail(range_.min == 1 ? "no " + what + " reached the service"
                                                 : "expected at least " + std::to_string(range_.min) + " " + what +
                                                       ", saw " + std::to_string(n),
                                 what, obs);
        }
        if (range_.max && n > *range_.max)
            return Verdict::fail(*range_.max == 0 ? "there should be no " + what + ", saw " + std::to_string(n)
                                                  : "expected at most " + std::to_string(*range_.max) + " " + what +
                                                        ", saw " + std::to_string(n),
                                 what, list(selected, "matching commands"));
        if (every_) {
            std::vector<std::pair<const CommandRow*, std::string>> bad;
            for (const CommandRow* c : selected)
                if (auto w = every_->mismatch(*c); !w.empty()) bad.emplace_back(c, w);
            if (!bad.empty()) {
                std::string obs;
                for (std::size_t i = 0; i < bad.size() && i < 6; ++i)
                    obs += shown(*bad[i].first) + "\n  but " + bad[i].second + "\n";
                return Verdict::fail(std::to_string(bad.size()) + " of " + std::to_string(selected.size()) + " " +
                                         what + " are not " + every_->describe(),
                                     "every " + what + ": " + every_->describe(), obs);
            }
        }
        return Verdict::pass();
    }

private:
    std::string env_stem() const {
        std::string s = upper(service_);
        for (auto& ch : s)
            if (ch == '-') ch = '_';
        return s;
    }
    static std::string list(const std::vector<const CommandRow*>& rows, const std::string& title) {
        std::string s = title + " (" + std::to_string(rows.size()) + "):";
        for (std::size_t i = 0; i < rows.size() && i < 10; ++i) s += "\n  " + shown(*rows[i]);
        if (rows.size() > 10) s += "\n  …";
        return s;
    }

    std::string service_;
    std::vector<std::string> cases_;
    CommandMatcher select_;
    std::optional<CommandMatcher> every_;
    CountRange range_;
};

}  // namespace

std::unique_ptr<Check> make_commands_check(Spec& s, const CheckContext& ctx) {
    return std::make_unique<CommandsCheck>(s, ctx);
}

}  // namespace wirelab::checks
