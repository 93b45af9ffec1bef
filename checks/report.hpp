// Reports: the verdicts of a run rendered for a person (text, colour only on
// a terminal) or a program (JSON, schema in docs/report.md).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "checks/check.hpp"

namespace wirelab::checks {

struct ReportInput {
    std::string lab_id, lab_title;
    std::string run_dir;
    std::vector<std::pair<std::string, std::string>> services;  // name, url
    std::vector<CaseRow> cases;
    std::vector<Result> results;
    bool interrupted = false;
    /// wirelab itself was killed mid-run: the journal says "running".
    bool killed = false;
};

struct Totals {
    double score = 0, max = 0;
    int passed = 0, failed = 0, skipped = 0, errors = 0;
    int warnings = 0;  // failed checks of level "warning" (not in `failed`)
    /// 0 all passed, 1 a check failed, 2 the lab is broken.
    int exit_code() const { return errors ? 2 : failed || skipped ? 1 : 0; }
};

Totals totals(const std::vector<Result>& results);
std::string render_text(const ReportInput& in, bool color);
nlohmann::json render_json(const ReportInput& in);
/// JUnit XML: one testsuite (the lab), one testcase per check.
std::string render_junit(const ReportInput& in);
/// Gradescope's results.json (per-test score, output, visibility).
nlohmann::json render_gradescope(const ReportInput& in);
/// PrairieLearn's external-grader results.json (score 0..1, tests).
nlohmann::json render_prairielearn(const ReportInput& in);
/// One self-contained HTML page: the checks, and per case a timeline of the
/// traffic (connections as lanes, requests and faults on a time axis).
/// Reads the journal through `run`.
std::string render_html(const ReportInput& in, RunData& run);
/// A check's message, expectation, observation and hint as plain text
/// ("(hidden check: no details)" for a failed hidden check).
std::string check_details(const Result& r);
/// Text for XML or HTML: & < > " ' escaped, control characters (but tab
/// and newlines) replaced by U+FFFD, which XML 1.0 cannot carry.
std::string markup_escape(const std::string& s);
/// The formats `--format` accepts.
const std::vector<std::string>& report_formats();
/// The report in `format` (one of report_formats()).
std::string render(const std::string& format, const ReportInput& in, RunData& run, bool color);

}  // namespace wirelab::checks
