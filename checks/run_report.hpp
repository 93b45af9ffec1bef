// A recorded run graded: the report input assembled from a run's journal
// (its cases, the services it started, how it ended), shared by
// `wirelab check` (right after the run) and `wirelab report` (later, with
// the lab's checks as they are now).
#pragma once
#include <filesystem>
#include <memory>

#include "checks/report.hpp"

namespace wirelab::checks {

/// A recorded run opened for grading.
struct RecordedRun {
    std::filesystem::path run_dir;
    std::unique_ptr<RunData> data;
    std::string status;  // the journal's meta status: finished, interrupted, running (killed)
    std::string lab_dir, lab_id;
    std::uint64_t seed = 0;
    std::string learner;

    /// Opens RUN (a run directory or its journal.db). Throws EnvError when
    /// it is not a wirelab journal, naming the path.
    static RecordedRun open(const std::filesystem::path& run);
};

/// Evaluates `checks` against the run and fills a report input.
ReportInput grade(const Lab& lab, const std::vector<CompiledCheck>& checks, RecordedRun& run);

}  // namespace wirelab::checks
