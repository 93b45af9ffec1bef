// The `commands` check: commands a RESP (nosql) service received, matched by
// name, key and arguments, counted; or `every` selected command must also
// match a second matcher (every SET has an expiry, say).
#include <cctype>

#include "checks/check.hpp"
#include "checks/kinds.hpp"
#include "checks/match.hpp"
#include "checks/record_check.hpp"
#include "checks/request_matcher.hpp"

namespace wirelab::checks {

namespace {

std::string shown(const CommandRow& c) {
    std::string s = c.name;
    for (const auto& a : c.args) s += " " + printable(a, 40);
    if (s.size() > 140) s = s.substr(0, 140) + "…";
    s += "  → " + (c.error.empty() ? c.reply : "(error) " + c.error);
    return s + "  (connection " + std::to_string(c.connection_id) + ", command " + std::to_string(c.seq) + ")";
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

}  // namespace

std::unique_ptr<Check> make_commands_check(Spec& s, const CheckContext& ctx) {
    RecordKind<CommandRow> kind{"command", "command", "commands the service received",
                            [](RunData& run) -> const std::vector<CommandRow>& { return run.journal().commands(); },
                            shown};
    return std::make_unique<RecordCheck<CommandRow, CommandMatcher>>(s, ctx, std::move(kind));
}

}  // namespace wirelab::checks
