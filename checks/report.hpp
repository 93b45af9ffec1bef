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
};

struct Totals {
    double score = 0, max = 0;
    int passed = 0, failed = 0, skipped = 0, errors = 0;
    /// 0 all passed, 1 a check failed, 2 the lab is broken.
    int exit_code() const { return errors ? 2 : failed || skipped ? 1 : 0; }
};

Totals totals(const std::vector<Result>& results);
std::string render_text(const ReportInput& in, bool color);
nlohmann::json render_json(const ReportInput& in);

}  // namespace wirelab::checks
