#include "checks/report.hpp"

#include <cmath>
#include <sstream>

#include "checks/match.hpp"
#include "runtime/fault_profile.hpp"

namespace wirelab::checks {

namespace {

std::string points(double p) {
    std::ostringstream o;
    if (p == std::floor(p))
        o << static_cast<long long>(p);
    else
        o << p;
    return o.str();
}

std::string indent(const std::string& text, const std::string& pad) {
    std::string out;
    std::istringstream in(text);
    std::string line;
    bool first = true;
    while (std::getline(in, line)) {
        out += (first ? "" : "\n") + pad + line;
        first = false;
    }
    return out;
}

std::string case_summary(const CaseRow& c) {
    std::ostringstream o;
    double secs = static_cast<double>(c.ended_us.value_or(c.started_us) - c.started_us) / 1e6;
    o.precision(2);
    o << std::fixed;
    if (!c.start_error.empty())
        o << "could not start (" << c.start_error << ")";
    else if (!c.limit.empty())
        o << "stopped after " << secs << " s: " << c.limit_detail;
    else if (c.timed_out)
        o << "stopped after " << secs << " s (timeout)";
    else if (c.signal)
        o << "killed by signal " << *c.signal << " after " << secs << " s";
    else if (c.exit_code)
        o << "exit " << *c.exit_code << " in " << secs << " s";
    else
        o << "interrupted";
    return o.str();
}

}  // namespace

Totals totals(const std::vector<Result>& results) {
    Totals t;
    for (const auto& r : results) {
        t.max += r.info->points;
        t.score += r.score;
        if (r.info->warning && r.verdict.status != Status::pass && r.verdict.status != Status::error) {
            ++t.warnings;
            continue;
        }
        switch (r.verdict.status) {
            case Status::pass: ++t.passed; break;
            case Status::fail: ++t.failed; break;
            case Status::skip: ++t.skipped; break;
            case Status::error: ++t.errors; break;
        }
    }
    return t;
}

std::string render_text(const ReportInput& in, bool color) {
    auto paint = [&](const char* code, const std::string& s) {
        return color ? std::string("\033[") + code + "m" + s + "\033[0m" : s;
    };
    std::ostringstream o;
    o << paint("1", in.lab_id) << " — " << in.lab_title << "\n";
    for (const auto& [name, url] : in.services) o << "  service " << name << ": " << url << "\n";
    for (const auto& c : in.cases) {
        o << "  case " << c.name << ": " << c.command << " → " << case_summary(c) << "\n";
        for (auto it = c.faults.begin(); it != c.faults.end(); ++it)
            o << "      " << paint("2", it.key() + ": " + fault_words(it.value())) << "\n";
    }
    o << "\n";

    std::size_t width = 0;
    for (const auto& r : in.results) width = std::max(width, r.info->id.size());
    for (const auto& r : in.results) {
        const auto& v = r.verdict;
        bool advice = r.info->warning && v.status != Status::pass && v.status != Status::error;
        std::string mark = v.status == Status::pass   ? paint("32", "✓")
                           : advice                   ? paint("33", "⚠")
                           : v.status == Status::fail ? paint("31", "✗")
                           : v.status == Status::skip ? paint("33", "–")
                                                      : paint("35", "!");
        std::string id = r.info->id + std::string(width - r.info->id.size(), ' ');
        o << "  " << mark << " " << id << "  " << r.info->title << "  ";
        if (r.info->warning)
            o << "[advice]\n";
        else
            o << "[" << points(r.score) << "/" << points(r.info->points) << "]\n";
        if (v.status == Status::pass) continue;
        std::string pad = "      ";
        if (r.info->hidden && v.status == Status::fail) {
            o << pad << paint("2", "(hidden check: no details)") << "\n";
            continue;
        }
        if (!v.message.empty()) o << pad << v.message << "\n";
        if (v.status == Status::skip) continue;
        if (!v.expected.empty()) {
            // A multi-line expectation lines up under its first line.
            std::string e = indent(v.expected, pad + "          ");
            o << pad << paint("2", "expected: ") << e.substr(pad.size() + 10) << "\n";
        }
        if (!v.observed.empty()) o << indent(v.observed, pad + "  ") << "\n";
        if (!r.info->hint.empty() && v.status == Status::fail)
            o << pad << paint("36", "hint: ") << r.info->hint << "\n";
    }
    Totals t = totals(in.results);
    o << "\n";
    std::string summary = "score " + points(t.score) + "/" + points(t.max) + " — " +
                          std::to_string(t.passed) + " passed";
    if (t.failed) summary += ", " + std::to_string(t.failed) + " failed";
    if (t.skipped) summary += ", " + std::to_string(t.skipped) + " skipped";
    if (t.warnings) summary += ", " + std::to_string(t.warnings) + " advice";
    if (t.errors) summary += ", " + std::to_string(t.errors) + " could not run (the lab is broken)";
    o << paint(t.exit_code() == 0 ? "1;32" : t.exit_code() == 1 ? "1;31" : "1;35", summary) << "\n";
    if (in.killed)
        o << paint("33", "the run was interrupted: wirelab stopped before it finished (killed?); the results "
                         "are partial") << "\n";
    else if (in.interrupted)
        o << paint("33", "the run was interrupted; the results are partial") << "\n";
    o << paint("2", "journal: " + in.run_dir + "/journal.db") << "\n";
    return o.str();
}

nlohmann::json render_json(const ReportInput& in) {
    using nlohmann::json;
    Totals t = totals(in.results);
    json cases = json::array();
    for (const auto& c : in.cases) {
        json j = {{"name", c.name},
                  {"command", c.command},
                  {"exit_code", c.exit_code ? json(*c.exit_code) : json()},
                  {"signal", c.signal ? json(*c.signal) : json()},
                  {"timed_out", c.timed_out},
                  {"duration_us", c.ended_us.value_or(c.started_us) - c.started_us},
                  {"stdout_bytes", c.out_bytes},
                  {"stderr_bytes", c.err_bytes}};
        if (!c.start_error.empty()) j["start_error"] = c.start_error;
        if (!c.faults.empty()) j["faults"] = c.faults;
        if (!c.limit.empty()) j["limit"] = {{"kind", c.limit}, {"detail", c.limit_detail}};
        if (c.processes_peak) j["processes_peak"] = c.processes_peak;
        cases.push_back(j);
    }
    json checks = json::array();
    for (const auto& r : in.results) {
        json j = {{"id", r.info->id},          {"title", r.info->title},
                  {"kind", r.info->kind},      {"status", status_name(r.verdict.status)},
                  {"points", r.score},         {"max_points", r.info->points},
                  {"hidden", r.info->hidden},  {"level", r.info->warning ? "warning" : "required"}};
        bool details = !(r.info->hidden && r.verdict.status == Status::fail);
        if (details) {
            j["message"] = r.verdict.message;
            if (!r.verdict.expected.empty()) j["expected"] = r.verdict.expected;
            if (!r.verdict.observed.empty()) j["observed"] = r.verdict.observed;
            if (r.verdict.status == Status::fail && !r.info->hint.empty()) j["hint"] = r.info->hint;
            if (!r.verdict.evidence.empty()) j["evidence"] = r.verdict.evidence;
        }
        if (!r.info->depends_on.empty()) j["depends_on"] = r.info->depends_on;
        checks.push_back(j);
    }
    json services = json::object();
    for (const auto& [name, url] : in.services) services[name] = url;
    return {{"format", "wirelab-report"},
            {"version", 1},
            {"lab", {{"id", in.lab_id}, {"title", in.lab_title}}},
            {"run_dir", in.run_dir},
            {"services", services},
            {"cases", cases},
            {"checks", checks},
            {"score", t.score},
            {"max_score", t.max},
            {"passed", t.exit_code() == 0},
            {"counts", {{"passed", t.passed}, {"failed", t.failed}, {"skipped", t.skipped}, {"errors", t.errors},
                        {"warnings", t.warnings}}},
            {"interrupted", in.interrupted},
            {"status", in.killed ? "killed" : in.interrupted ? "interrupted" : "finished"},
            {"exit_code", t.exit_code()}};
}

}  // namespace wirelab::checks
