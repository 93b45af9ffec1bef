// The `tool` check kind: how the program ran a lab's command-line tool —
// each device once with its name as one argument, never through a shell,
// every run's output read, a run that hangs killed by the program itself.
#include <algorithm>
#include <map>

#include "checks/check.hpp"
#include "checks/kinds.hpp"
#include "runtime/runner.hpp"

namespace wirelab::checks {

namespace {

std::string kb(std::int64_t bytes) {
    return bytes < 4096 ? std::to_string(bytes) + " bytes" : std::to_string(bytes / 1024) + " KB";
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

class ToolCheck : public Check {
public:
    ToolCheck(Spec& s, const CheckContext& ctx) {
        service_ = s.string("service");
        ctx.require_service(s, "service", service_);
        const ServiceEntry* entry = nullptr;
        for (const auto& e : ctx.lab.services)
            if (e.name == service_) entry = &e;
        if (!entry || entry->kind != "tool")
            s.fail("service", "service \"" + service_ + "\" is not a tool service (kind \"tool\")");
        const json& spec = ctx.lab.doc->root().at(json::json_pointer(entry->pointer));
        tool_ = spec.value("command", service_);
        if (spec.contains("inventory") && spec["inventory"].is_array())
            for (const auto& d : spec["inventory"])
                if (d.is_object() && d.contains("name") && d["name"].is_string()) devices_.push_back(d["name"]);
        each_device_ = s.string("each_device", "");
        times_ = s.integer("times", 1, 1, 1000);
        no_shell_ = s.boolean("no_shell", false);
        output_read_ = s.boolean("output_read", false);
        hangs_killed_ = s.boolean("hangs_killed", false);
        if (each_device_.empty() && !no_shell_ && !output_read_ && !hangs_killed_)
            s.fail("each_device", "a tool check needs at least one of \"each_device\", \"no_shell\", "
                                  "\"output_read\", \"hangs_killed\"");
        cases_ = ctx.cases(s);
    }

    Verdict evaluate(RunData& run) const override {
        return each_case(run, cases_, [&](const CaseRow& c) {
            std::vector<const InvocationRow*> runs;
            for (const auto& i : run.journal().invocations())
                if (i.case_id == c.id && i.service == service_) runs.push_back(&i);
            if (!each_device_.empty())
                if (auto v = check_each_device(runs); v.status != Status::pass) return v;
            if (no_shell_)
                if (auto v = check_no_shell(runs); v.status != Status::pass) return v;
            if (output_read_)
                if (auto v = check_output_read(runs); v.status != Status::pass) return v;
            if (hangs_killed_)
                if (auto v = check_hangs_killed(run, c, runs); v.status != Status::pass) return v;
            return Verdict::pass(std::to_string(runs.size()) + " run(s) of " + tool_);
        });
    }

private:
    std::string seen(const std::vector<const InvocationRow*>& runs) const {
        std::string o;
        for (const auto* r : runs) {
            o += r->line();
            if (r->via_shell()) o += "    (through " + shell_quote(r->parent_cmdline) + ")";
            o += "\n";
        }
        return o.empty() ? "(" + tool_ + " never ran)" : o;
    }

    Verdict check_each_device(const std::vector<const InvocationRow*>& runs) const {
        std::map<std::string, int> count;
        for (const auto* r : runs)
            if (r->argv.size() == 2 && r->argv[0] == each_device_) ++count[r->argv[1]];
        std::string expected = tool_ + " " + each_device_ + " NAME, " +
                               (times_ == 1 ? std::string("once") : std::to_string(times_) + " times") +
                               " for each of the " + std::to_string(devices_.size()) +
                               " devices, the name as one argument";
        for (const auto& d : devices_) {
            int n = count[d];
            if (n == times_) continue;
            if (n > 0)
                return Verdict::fail(tool_ + " " + each_device_ + " " + quoted(d) + " ran " + std::to_string(n) +
                                         (n == 1 ? " time" : " times"),
                                     expected, seen(runs));
            // The closest miss: the name cut short or split in pieces.
            for (const auto* r : runs) {
                if (r->argv.empty() || r->argv[0] != each_device_ || r->argv.size() < 2) continue;
                std::string joined;
                for (std::size_t i = 1; i < r->argv.size(); ++i) joined += (i > 1 ? " " : "") + r->argv[i];
                bool prefix = d.rfind(r->argv[1], 0) == 0 && r->argv[1] != d;
                if (!prefix && joined != d) continue;
                std::string why = r->via_shell()
                                      ? "a shell read the command line and split the name at its special "
                                        "characters (" + shell_quote(r->parent_cmdline) + ")"
                                      : "the name arrived as " + std::to_string(r->argv.size() - 1) + " arguments";
                return Verdict::fail("device " + quoted(d) + " never reached " + tool_ + " whole: it got " +
                                         quoted(r->argv[1]) + " — " + why,
                                     expected, seen(runs));
            }
            return Verdict::fail("device " + quoted(d) + " was never asked for (" + tool_ + " " + each_device_ + " " +
                                     shell_quote({d}) + ")",
                                 expected, seen(runs));
        }
        return Verdict::pass();
    }

    Verdict check_no_shell(const std::vector<const InvocationRow*>& runs) const {
        for (const auto* r : runs)
            if (r->via_shell())
                return Verdict::fail(tool_ + " was started through a shell: " + shell_quote(r->parent_cmdline),
                                     "the program starts " + tool_ + " itself, with a list of arguments",
                                     seen(runs));
        return Verdict::pass();
    }

    Verdict check_output_read(const std::vector<const InvocationRow*>& runs) const {
        for (const auto* r : runs) {
            // A hang never finishes; a run killed before it wrote anything
            // (a long delay, a short timeout) was not blocked by a pipe.
            if (r->hang || (r->stdout_written == 0 && r->stderr_written == 0)) continue;
            bool out_short = r->stdout_written < r->stdout_bytes, err_short = r->stderr_written < r->stderr_bytes;
            if (!out_short && !err_short) continue;
            std::string what = out_short && err_short ? "stdout and stderr" : out_short ? "stdout" : "stderr";
            std::string got = "stdout: wrote " + kb(r->stdout_written) + " of " + kb(r->stdout_bytes) +
                              "\nstderr: wrote " + kb(r->stderr_written) + " of " + kb(r->stderr_bytes) + "\n";
            return Verdict::fail(r->line() + " could not finish writing its " + what +
                                     ": nothing read the pipe once its buffer (about 64 KB) was full, so the "
                                     "tool waited for the program while the program waited for the tool",
                                 "every run's output read to the end", got);
        }
        return Verdict::pass();
    }

    Verdict check_hangs_killed(RunData& run, const CaseRow& c, const std::vector<const InvocationRow*>& runs) const {
        for (const auto* r : runs) {
            if (!r->hang) continue;
            const ProcessRow* p = nullptr;
            for (const auto& pr : run.journal().processes())
                if (pr.case_id == c.id && pr.pid == r->pid) p = &pr;
            bool left = p && (p->orphaned || p->left_running || p->reaped_by_wirelab);
            if (c.timed_out || !c.limit.empty())
                return Verdict::fail(r->line() + " never ends, and it was still running when wirelab stopped the "
                                                 "program",
                                     "the program gives up on it after a timeout and kills it",
                                     seen(runs));
            if (left || r->outcome == "running")
                return Verdict::fail(r->line() + " never ends, and it was left running when the program exited" +
                                         (r->via_shell() ? std::string(" (a timeout kills the shell that started it, "
                                                                       "not the tool)")
                                                         : std::string()),
                                     "the program kills a run it has given up on (and waits for it)", seen(runs));
        }
        return Verdict::pass();
    }

    std::string service_, tool_, each_device_;
    std::vector<std::string> devices_;
    int times_ = 1;
    bool no_shell_ = false, output_read_ = false, hangs_killed_ = false;
    std::vector<std::string> cases_;
};

}  // namespace

std::unique_ptr<Check> make_tool_check(Spec& s, const CheckContext& ctx) { return std::make_unique<ToolCheck>(s, ctx); }

}  // namespace wirelab::checks
