#include "classroom/scenario.hpp"

#include <regex>

#include "clients/registry.hpp"
#include "runtime/fault_profile.hpp"
#include "runtime/lab.hpp"
#include "services/registry.hpp"

namespace wirelab::classroom {

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> scenario_roots() {
    std::vector<fs::path> roots{"scenarios"};
#ifdef WIRELAB_SOURCE_SCENARIOS
    roots.emplace_back(WIRELAB_SOURCE_SCENARIOS);
#endif
    return roots;
}

fs::path find_scenario(const std::string& name) {
    std::error_code ec;
    if (fs::is_regular_file(name, ec)) return name;
    if (name.find('/') == std::string::npos)
        for (const auto& root : scenario_roots()) {
            if (fs::is_regular_file(root / (name + ".json"), ec)) return root / (name + ".json");
            if (fs::is_regular_file(root / name, ec)) return root / name;
        }
    std::vector<std::string> ids;
    for (const auto& p : all_scenarios()) ids.push_back(p.stem().string());
    std::string list, guess = did_you_mean(name, ids);
    for (const auto& i : ids) list += (list.empty() ? "" : ", ") + i;
    throw LabError({name, 0, ""}, "no scenario with this id or path",
                   (guess.empty() ? "" : "did you mean \"" + guess + "\"? ") +
                       (list.empty() ? "no scenarios found under ./scenarios" : "scenarios found: " + list));
}

/// "+45m", "+2h", "+1h30m" → minutes; "10:20" → minutes since midnight.
void parse_at(Spec& ev, ScheduleEvent& e) {
    auto at = ev.opt_string("at");
    if (!at) return;
    e.at_text = *at;
    static const std::regex rel(R"(\+(?:(\d+)h)?(?:(\d+)m)?)"), clock(R"(([01]?\d|2[0-3]):([0-5]\d))");
    std::smatch m;
    if (std::regex_match(*at, m, rel) && (m[1].matched || m[2].matched)) {
        e.after_minutes = (m[1].matched ? std::stoi(m[1]) * 60 : 0) + (m[2].matched ? std::stoi(m[2]) : 0);
        return;
    }
    if (std::regex_match(*at, m, clock)) {
        e.clock_minutes = std::stoi(m[1]) * 60 + std::stoi(m[2]);
        return;
    }
    ev.fail("at", "\"at\" must be a clock time today (\"10:20\") or a delay after the classroom starts (\"+45m\", \"+1h30m\"), got \"" + *at + "\"",
            "leave \"at\" out for an event the trainer fires by hand");
}

}  // namespace

std::vector<fs::path> all_scenarios() {
    std::map<std::string, fs::path> found;
    for (const auto& root : scenario_roots()) {
        std::error_code ec;
        if (!fs::is_directory(root, ec)) continue;
        for (const auto& e : fs::directory_iterator(root, ec))
            if (e.path().extension() == ".json") found.emplace(e.path().stem().string(), e.path());
    }
    std::vector<fs::path> out;
    for (auto& [id, p] : found) out.push_back(p);
    return out;
}

const ScenarioLab* Scenario::lab(const std::string& id) const {
    for (const auto& l : labs)
        if (l.id == id) return &l;
    return nullptr;
}

const ScheduleEvent* Scenario::event(const std::string& id) const {
    for (const auto& e : schedule)
        if (e.id == id) return &e;
    return nullptr;
}

Scenario Scenario::load(const std::string& name_or_path) {
    Scenario sc;
    sc.file = find_scenario(name_or_path);
    auto doc = JsonDoc::load(sc.file, sc.file.lexically_normal().string());
    if (!doc->root().is_object())
        throw LabError(doc->at(""), "a scenario must be a JSON object", "see docs/classroom.md");
    Spec top(doc, doc->root(), "", "the scenario");
    top.get("$schema");
    sc.id = top.string("id");
    static const std::regex id_re("[a-z0-9][a-z0-9_-]*");
    if (!std::regex_match(sc.id, id_re))
        top.fail("id", "the id must be lower-case letters, digits, - and _", "e.g. \"pcpp1-networking-day\"");
    sc.title = top.string("title");
    sc.description = top.string("description", "");

    const json& labs = top.required("labs");
    if (!labs.is_array() || labs.empty())
        top.fail("labs", "\"labs\" must be a non-empty array of labs in the order of the day",
                 "e.g. \"labs\": [{\"lab\": \"socket-head\", \"open\": true}, {\"lab\": \"rest-cars\"}]");
    std::map<std::string, Lab> loaded;
    for (std::size_t i = 0; i < labs.size(); ++i) {
        std::string ptr = "/labs/" + std::to_string(i);
        Spec l(doc, labs[i], ptr, "a scenario lab");
        if (!labs[i].is_object()) l.fail("", "each entry of \"labs\" must be an object", "{\"lab\": \"rest-cars\"}");
        ScenarioLab sl;
        sl.id = l.string("lab");
        if (sc.lab(sl.id)) l.fail("lab", "lab \"" + sl.id + "\" is listed twice", "list each lab once");
        try {
            sl.dir = find_lab(sl.id);
        } catch (const LabError& e) {
            throw LabError(l.at("lab"), "no lab \"" + sl.id + "\"", e.fix());
        }
        Lab lab = Lab::load(sl.dir, service_kind_names(), clients::driver_kind_names());
        if (lab.id != sl.id)
            l.fail("lab", "the lab at " + sl.dir.string() + " has id \"" + lab.id + "\"", "name it by its id");
        sl.title = l.string("title", lab.title);
        sl.open = l.boolean("open", false);
        // hosted: every service reachable over the network, one case
        bool networked = !lab.server && lab.cases.size() == 1;
        for (const auto& s : lab.services) {
            const json& spec = lab.doc->root().at(json::json_pointer(s.pointer));
            bool net_kind = s.kind == "http" || s.kind == "tcp" || s.kind == "udp" || s.kind == "sql" || s.kind == "nosql";
            networked = networked && net_kind && !spec.contains("socket") && s.replicas == 0;
        }
        sl.hosted = l.boolean("hosted", networked) && networked;
        for (const auto& s : lab.services) sl.services.push_back(s.name);
        l.finish();
        loaded.emplace(sl.id, std::move(lab));
        sc.labs.push_back(std::move(sl));
    }

    if (const json* faults = top.get("faults")) {
        Spec fs_(doc, *faults, "/faults", "\"faults\"");
        if (!faults->is_object())
            fs_.fail("", "\"faults\" must be an object of named class-wide fault profiles");
        for (auto it = faults->begin(); it != faults->end(); ++it) {
            std::string ptr = "/faults/" + pointer_escape(it.key());
            Spec f(doc, it.value(), ptr, "class fault \"" + it.key() + "\"");
            if (!it.value().is_object()) f.fail("", "a class fault must be an object",
                                                "{\"lab\": \"rest-cars\", \"service\": \"api\", \"profile\": {…}}");
            ClassFault cf;
            cf.name = it.key();
            cf.lab = f.string("lab");
            const ScenarioLab* sl = sc.lab(cf.lab);
            if (!sl) f.fail("lab", "lab \"" + cf.lab + "\" is not in this scenario's \"labs\"");
            cf.service = f.string("service");
            bool known = false;
            for (const auto& s : sl->services) known = known || s == cf.service;
            if (!known) {
                std::string list;
                for (const auto& s : sl->services) list += (list.empty() ? "" : ", ") + s;
                f.fail("service", "lab \"" + cf.lab + "\" has no service \"" + cf.service + "\"",
                       list.empty() ? "this lab has no services" : "its services: " + list);
            }
            cf.description = f.string("description", "");
            const json& prof = f.required("profile");
            Spec p(doc, prof, ptr + "/profile", "fault profile");
            if (!prof.is_object()) p.fail("", "\"profile\" must be a fault profile object (docs/faults.md)");
            parse_fault_profile(p, cf.name);
            cf.profile = prof;
            f.finish();
            sc.faults.emplace(cf.name, std::move(cf));
        }
    }

    if (const json* sched = top.get("schedule")) {
        if (!sched->is_array()) top.fail("schedule", "\"schedule\" must be an array of events");
        for (std::size_t i = 0; i < sched->size(); ++i) {
            std::string ptr = "/schedule/" + std::to_string(i);
            Spec ev(doc, (*sched)[i], ptr, "a schedule event");
            if (!(*sched)[i].is_object()) ev.fail("", "each schedule event must be an object");
            ScheduleEvent e;
            e.action = ev.string("action");
            static const std::vector<std::string> actions{"open", "close", "fault", "clear-fault", "reset"};
            if (std::find(actions.begin(), actions.end(), e.action) == actions.end()) {
                std::string g = did_you_mean(e.action, actions);
                ev.fail("action", "unknown action \"" + e.action + "\"",
                        (g.empty() ? std::string() : "did you mean \"" + g + "\"? ") +
                            "actions: open, close, fault, clear-fault, reset");
            }
            if (e.action == "fault") {
                e.fault = ev.string("fault");
                auto f = sc.faults.find(e.fault);
                if (f == sc.faults.end()) {
                    std::vector<std::string> names;
                    for (auto& [k, v] : sc.faults) names.push_back(k);
                    std::string g = did_you_mean(e.fault, names);
                    ev.fail("fault", "no class fault named \"" + e.fault + "\"",
                            g.empty() ? "declare it under the scenario's \"faults\"" : "did you mean \"" + g + "\"?");
                }
                e.lab = f->second.lab;
                e.service = f->second.service;
            } else {
                e.lab = ev.string("lab", "");
                if (e.action != "reset" && e.lab.empty())
                    ev.fail("lab", "\"" + e.action + "\" needs the \"lab\" it acts on");
                if (!e.lab.empty() && !sc.lab(e.lab))
                    ev.fail("lab", "lab \"" + e.lab + "\" is not in this scenario's \"labs\"");
                if (e.action == "clear-fault") {
                    e.service = ev.string("service");
                    const auto& svcs = sc.lab(e.lab)->services;
                    if (std::find(svcs.begin(), svcs.end(), e.service) == svcs.end())
                        ev.fail("service", "lab \"" + e.lab + "\" has no service \"" + e.service + "\"");
                }
            }
            e.id = ev.string("id", e.action + "-" + (e.fault.empty() ? e.lab : e.fault) + "-" + std::to_string(i + 1));
            if (sc.event(e.id)) ev.fail("id", "two events have the id \"" + e.id + "\"", "give each event its own id");
            e.title = ev.string("title", "");
            if (e.title.empty()) {
                if (e.action == "fault")
                    e.title = sc.faults.at(e.fault).description.empty() ? "fault " + e.fault
                                                                          : sc.faults.at(e.fault).description;
                else
                    e.title = e.action + (e.lab.empty() ? " every lab" : " " + e.lab) +
                              (e.service.empty() ? "" : " (" + e.service + ")");
            }
            parse_at(ev, e);
            ev.finish();
            sc.schedule.push_back(std::move(e));
        }
    }
    top.finish();
    return sc;
}

}  // namespace wirelab::classroom
