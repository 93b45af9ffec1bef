// A classroom scenario (scenarios/<id>.json): the labs of a session in
// order, the class-wide fault profiles a trainer can switch on, and a
// schedule of events (open or close a lab, switch a fault profile, reset
// learners' hosted state) that fire at a time or by hand. Loaded with
// errors that name file, line and JSON pointer, like lab.json.
#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/json_source.hpp"

namespace wirelab::classroom {

/// One lab of the scenario and its settings.
struct ScenarioLab {
    std::string id;                // the lab's id (found like `wirelab check` finds it)
    std::filesystem::path dir;     // its folder
    std::string title;             // the lab's own title unless the scenario gives one
    bool open = false;             // open when the classroom starts
    bool hosted = true;            // learners may run it on the classroom's services
    std::vector<std::string> services;  // the lab's service names (fault targets)
};

/// A fault profile for every learner's service of one lab.
struct ClassFault {
    std::string name;         // its key under "faults"
    std::string lab, service;
    std::string description;  // what the trainer and the learners read
    json profile;             // a lab fault profile (docs/faults.md), validated
};

/// One event of the schedule; fired at `at` or by the trainer's button.
struct ScheduleEvent {
    std::string id;
    std::string title;      // the button's words
    std::string action;     // open | close | fault | clear-fault | reset
    std::string lab;
    std::string service;    // clear-fault
    std::string fault;      // fault: a name under "faults"
    /// When: minutes after the classroom first started ("+45m"), or a
    /// clock time today ("10:20"); neither = by hand only.
    std::optional<int> after_minutes;
    std::optional<int> clock_minutes;  // minutes since local midnight
    std::string at_text;               // as written
};

struct Scenario {
    std::filesystem::path file;
    std::string id, title, description;
    std::vector<ScenarioLab> labs;
    std::map<std::string, ClassFault> faults;
    std::vector<ScheduleEvent> schedule;

    /// Loads a scenario: a path to a .json file, or an id found under
    /// ./scenarios (or the scenarios folder wirelab was built from). Every
    /// lab it names must load. Throws LabError.
    static Scenario load(const std::string& name_or_path);
    const ScenarioLab* lab(const std::string& id) const;
    const ScheduleEvent* event(const std::string& id) const;
};

/// The scenario files found (./scenarios, then the source tree's).
std::vector<std::filesystem::path> all_scenarios();

}  // namespace wirelab::classroom
