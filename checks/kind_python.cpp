// The `python` check kind: a trainer's script, given the journal and the
// services' state files, answers with one JSON object on stdout. It runs
// under the same limits as a learner's program (its own process group, a
// timeout, capped output), so a broken check cannot hang or flood a run.
#include <cstdlib>

#include "checks/check.hpp"
#include "checks/kinds.hpp"
#include "checks/match.hpp"
#include "runtime/runner.hpp"

extern char** environ;

namespace wirelab::checks {

namespace fs = std::filesystem;

namespace {

class PythonCheck : public Check {
public:
    PythonCheck(Spec& s, const CheckContext& ctx) : dir_(fs::absolute(ctx.lab.dir)) {
        script_ = s.string("script");
        fs::path p = dir_ / script_;
        if (!fs::is_regular_file(p))
            s.fail("script", "no file " + script_ + " in the lab folder " + dir_.string(),
                   "give the path of the check script, relative to the lab folder");
        args_ = s.strings("args");
        timeout_s_ = s.number("timeout", 10, 0.1, 600);
        if (timeout_s_ == static_cast<double>(static_cast<long long>(timeout_s_)))
            timeout_json_ = static_cast<long long>(timeout_s_);
        else
            timeout_json_ = timeout_s_;
    }

    Verdict evaluate(RunData& run) const override {
        const char* py_env = std::getenv("WIRELAB_PYTHON");
        ProcessSpec ps;
        ps.argv = {std::string(py_env && *py_env ? py_env : "python3"), (dir_ / script_).string()};
        ps.argv.insert(ps.argv.end(), args_.begin(), args_.end());
        for (char** e = environ; *e; ++e)
            if (std::string(*e).rfind("WIRELAB_", 0) != 0) ps.env.emplace_back(*e);
        ps.env.push_back("WIRELAB_JOURNAL=" + fs::absolute(run.journal_path()).string());
        nlohmann::json states = nlohmann::json::object();
        for (const auto& [name, path] : run.state_files())
            if (!path.empty()) states[name] = fs::absolute(path).string();
        ps.env.push_back("WIRELAB_STATES=" + states.dump());
        ps.env.push_back("PYTHONDONTWRITEBYTECODE=1");
        ps.timeout = std::chrono::milliseconds(static_cast<long long>(timeout_s_ * 1000));
        ps.output_cap = 256 * 1024;
        ps.cwd = dir_;
        asio::io_context io;
        auto proc = std::make_shared<Process>(io, ps);
        CaseOutcome out;
        proc->start([&](CaseOutcome o) { out = std::move(o); });
        io.run();

        std::string where = "the check script " + script_;
        if (!out.start_error.empty()) return Verdict::error(where + " could not start: " + out.start_error);
        if (out.timed_out)
            return Verdict::error(where + " did not answer within " + timeout_json_.dump() + " s");
        if (!out.limit.empty()) return Verdict::error(where + " was stopped: " + out.limit_detail);
        std::string tail = out.err.size() > 600 ? "…" + out.err.substr(out.err.size() - 600) : out.err;
        if (out.exit_code.value_or(-1) != 0)
            return Verdict::error(where + " failed (" +
                                  (out.signal ? "signal " + std::to_string(*out.signal)
                                              : "exit " + std::to_string(out.exit_code.value_or(-1))) +
                                  ")" + (tail.empty() ? "" : ":\n" + tail));
        // The answer is the last line of stdout that is a JSON object.
        nlohmann::json answer;
        std::size_t end = out.out.size();
        while (end > 0 && answer.is_null()) {
            std::size_t start = out.out.rfind('\n', end - 1);
            start = start == std::string::npos ? 0 : start + 1;
            auto j = nlohmann::json::parse(out.out.substr(start, end - start), nullptr, false);
            if (!j.is_discarded() && j.is_object()) answer = j;
            end = start == 0 ? 0 : start - 1;
        }
        if (!answer.is_object() || !answer.contains("passed") || !answer["passed"].is_boolean())
            return Verdict::error(where + " printed no JSON object with \"passed\": true/false as its last line");
        auto text = [&](const char* k) {
            auto it = answer.find(k);
            return it == answer.end() ? std::string() : it->is_string() ? it->get<std::string>() : it->dump();
        };
        Verdict v = answer["passed"].get<bool>() ? Verdict::pass(text("message"))
                                                 : Verdict::fail(text("message"), text("expected"), text("observed"));
        if (v.status == Status::fail && v.message.empty()) v.message = "the check script said no";
        if (answer.contains("evidence")) v.evidence = answer["evidence"];
        if (answer.contains("fraction") && answer["fraction"].is_number())
            v.fraction = std::clamp(answer["fraction"].get<double>(), 0.0, 1.0);
        return v;
    }

private:
    fs::path dir_;
    std::string script_;
    std::vector<std::string> args_;
    double timeout_s_ = 10;
    nlohmann::json timeout_json_;  // as a person reads it: 1, 2.5
};

}  // namespace

std::unique_ptr<Check> make_python_check(Spec& s, const CheckContext& ctx) {
    return std::make_unique<PythonCheck>(s, ctx);
}

}  // namespace wirelab::checks
