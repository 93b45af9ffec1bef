#include "checks/run_report.hpp"

#include "runtime/errors.hpp"

namespace wirelab::checks {

namespace fs = std::filesystem;

RecordedRun RecordedRun::open(const fs::path& run) {
    RecordedRun r;
    fs::path journal = run;
    if (fs::is_directory(run)) journal = run / "journal.db";
    r.run_dir = journal.parent_path().empty() ? fs::path(".") : journal.parent_path();
    if (!fs::exists(journal))
        throw EnvError("no journal at " + journal.string(),
                       "give a run directory (.wirelab/runs/<lab>-<time>) or its journal.db");
    std::map<std::string, fs::path> states;
    try {
        JournalReader probe(journal);
        r.status = probe.meta("status");
        r.lab_dir = probe.meta("lab_dir");
        r.lab_id = probe.meta("lab");
        r.learner = probe.meta("learner");
        std::string seed = probe.meta("seed");
        if (!seed.empty()) r.seed = std::stoull(seed);
        auto files = nlohmann::json::parse(probe.meta("state_files").empty() ? "{}" : probe.meta("state_files"),
                                           nullptr, false);
        if (files.is_object())
            for (auto it = files.begin(); it != files.end(); ++it)
                if (it->is_string()) states[it.key()] = r.run_dir / it->get<std::string>();
    } catch (const std::exception& e) {
        throw EnvError(journal.string() + " is not a wirelab journal (" + e.what() + ")",
                       "give the journal.db of a wirelab run");
    }
    r.data = std::make_unique<RunData>(journal, states);
    return r;
}

ReportInput grade(const Lab& lab, const std::vector<CompiledCheck>& checks, RecordedRun& run) {
    ReportInput in;
    in.lab_id = lab.id;
    in.lab_title = lab.title;
    in.run_dir = run.run_dir.string();
    for (const auto& e : run.data->journal().events())
        if (e.kind == "service-start" && e.detail.contains("url"))
            in.services.emplace_back(e.service, e.detail["url"].get<std::string>());
    in.cases = run.data->journal().cases();
    in.results = evaluate(checks, *run.data);
    in.interrupted = run.status != "finished";
    in.killed = run.status == "running";
    return in;
}

}  // namespace wirelab::checks
