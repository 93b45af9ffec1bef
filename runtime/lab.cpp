#include "runtime/lab.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "runtime/faults.hpp"

namespace wirelab {

namespace fs = std::filesystem;

namespace {
/// "limits": {"cpu_s", "memory_mb", "open_files", "file_size_mb",
/// "output_mb", "processes"} over `base`; null switches a limit off.
Limits parse_limits(const std::shared_ptr<const JsonDoc>& doc, const json& v, const std::string& ptr,
                    Limits base) {
    Spec l(doc, v, ptr, "\"limits\"");
    if (!v.is_object())
        l.fail("", "\"limits\" must be an object",
               "e.g. \"limits\": {\"processes\": 16, \"cpu_s\": 5, \"memory_mb\": 512}");
    auto mb = [&](const char* key, std::optional<std::uint64_t>& into, std::int64_t hi) {
        if (!l.has(key)) return;
        if (l.value().at(key).is_null()) {
            l.get(key);
            into.reset();
        } else {
            into = static_cast<std::uint64_t>(l.integer(key, 0, 1, hi));
        }
    };
    if (l.has("cpu_s")) {
        if (l.value().at("cpu_s").is_null())
            l.get("cpu_s"), base.cpu_s.reset();
        else
            base.cpu_s = l.number("cpu_s", 0, 0.1, 3600);
    }
    mb("memory_mb", base.memory_mb, 1 << 20);
    mb("open_files", base.open_files, 1 << 20);
    mb("file_size_mb", base.file_size_mb, 1 << 20);
    base.output_mb = static_cast<std::uint64_t>(l.integer("output_mb", static_cast<std::int64_t>(base.output_mb), 1, 1 << 16));
    base.processes = static_cast<int>(l.integer("processes", base.processes, 1, 4096));
    l.finish();
    return base;
}
}  // namespace

std::string service_env_stem(const std::string& name) {
    std::string s = "WIRELAB_";
    for (char c : name) s += c == '-' ? '_' : static_cast<char>(std::toupper(c));
    return s;
}

std::optional<std::string> Lab::read_file(const std::string& rel) const {
    std::ifstream in(dir / rel, std::ios::binary);
    if (!in) return std::nullopt;
    std::stringstream ss;
    ss << in.rdbuf();
    return params.expand(ss.str());
}

std::string Lab::readme_text() const { return read_file("README.md").value_or(""); }

Lab Lab::load(const fs::path& dir, const std::vector<std::string>& kinds,
              const std::vector<std::string>& client_kinds, std::optional<std::uint64_t> seed) {
    Lab lab;
    lab.dir = dir;
    fs::path file = dir / "lab.json";
    std::string display = file.lexically_normal().string();
    lab.doc = JsonDoc::load(file, display);
    Spec top(lab.doc, lab.doc->root(), "", "lab.json");

    top.get("$schema");
    lab.id = top.string("id");
    lab.seed = seed ? *seed : hash_name(lab.id) & 0xffffffffULL;
    lab.params = Params::draw(lab.doc, dir, lab.seed);
    top.get("params");
    if (!lab.params.empty()) {
        std::map<std::string, std::string> typed;
        json expanded = lab.params.expand_lab(lab.doc->root(), *lab.doc, typed);
        lab.doc = lab.doc->with_root(std::move(expanded), std::move(typed));
        top = Spec(lab.doc, lab.doc->root(), "", "lab.json");
        top.get("$schema");
        top.get("params");
        top.string("id");
    }
    static const std::regex id_re("[a-z0-9][a-z0-9-]*");
    if (!std::regex_match(lab.id, id_re))
        top.fail("id", "lab id \"" + lab.id + "\" is not valid",
                 "use lower-case letters, digits and dashes, e.g. \"rest-cars\"");
    lab.title = top.string("title");
    lab.summary = top.string("summary", "");
    lab.timeout_s = top.number("timeout", 20, 0.1, 3600);
    if (const json* l = top.get("limits")) lab.limits = parse_limits(lab.doc, *l, "/limits", lab.limits);
    top.get("level");
    top.get("tags");
    top.get("checks");  // validated by the checks library

    // Named fault profiles, referred to by services and cases.
    if (const json* fp = top.get("faults")) {
        if (!fp->is_object())
            top.fail("faults", "\"faults\" must be an object of named fault profiles",
                     "e.g. \"faults\": {\"slow\": {\"drip\": {\"bytes\": 1, \"every_ms\": 20}}}");
        for (auto it = fp->begin(); it != fp->end(); ++it) {
            Spec one(lab.doc, it.value(), "/faults/" + pointer_escape(it.key()),
                     "fault profile \"" + it.key() + "\"");
            if (!it.value().is_object()) one.fail("", "a fault profile must be an object");
            lab.fault_profiles[it.key()] = parse_fault_profile(one, it.key());
        }
    }
    // A "faults" value: a profile's name or an inline profile object.
    auto profile_ref = [&](Spec& owner, const std::string& key, const json& v,
                           const std::string& ptr) -> FaultProfile {
        if (v.is_string()) {
            auto name = v.get<std::string>();
            auto f = lab.fault_profiles.find(name);
            if (f != lab.fault_profiles.end()) return f->second;
            std::vector<std::string> known;
            for (auto& [k, p] : lab.fault_profiles) known.push_back(k);
            std::string list, guess = did_you_mean(name, known);
            for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
            throw LabError(lab.doc->at(ptr), "no fault profile named \"" + name + "\"",
                           !guess.empty() ? "did you mean \"" + guess + "\"?"
                           : list.empty() ? "declare it under the top-level \"faults\" object"
                                          : "profiles: " + list);
        }
        if (v.is_object()) {
            Spec inl(lab.doc, v, ptr, "fault profile");
            return parse_fault_profile(inl, "");
        }
        owner.fail(key, "a \"faults\" value must be a profile's name or a profile object, got " +
                            json_type_name(v));
    };

    if (const json* svcs = top.get("services")) {
        Spec s(lab.doc, *svcs, "/services", "\"services\"");
        static const std::regex name_re("[a-z][a-z0-9_-]*");
        for (auto it = svcs->begin(); it != svcs->end(); ++it) {
            const std::string& name = it.key();
            std::string ptr = "/services/" + pointer_escape(name);
            if (!std::regex_match(name, name_re))
                throw LabError(lab.doc->at(ptr), "service name \"" + name + "\" is not valid",
                               "use lower-case letters, digits, '-' and '_', starting with a "
                               "letter; the name becomes an environment variable such as "
                               "WIRELAB_API_URL");
            Spec one(lab.doc, it.value(), ptr, "service \"" + name + "\"");
            std::string kind = one.string("kind");
            if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) {
                std::string list, guess = did_you_mean(kind, kinds);
                for (const auto& k : kinds) list += (list.empty() ? "" : ", ") + k;
                one.fail("kind", "unknown service kind \"" + kind + "\"",
                         guess.empty() ? "known kinds: " + list : "did you mean \"" + guess + "\"?");
            }
            FaultProfile faults;
            if (const json* f = it.value().is_object() && it.value().contains("faults")
                                    ? &it.value().at("faults")
                                    : nullptr)
                faults = profile_ref(one, "faults", *f, ptr + "/faults");
            int replicas = 0;
            if (it.value().is_object() && it.value().contains("replicas")) {
                const json& r = it.value().at("replicas");
                if (!r.is_number_integer() || r.get<int>() < 1 || r.get<int>() > 16)
                    throw LabError(lab.doc->at(ptr + "/replicas"), "\"replicas\" is a whole number from 1 to 16",
                                   "e.g. \"replicas\": 3 (three processes serving this service)");
                if (kind == "tool")
                    throw LabError(lab.doc->at(ptr + "/replicas"), "a tool service cannot have replicas");
                replicas = r.get<int>();
            }
            lab.services.push_back({name, kind, ptr, std::move(faults), replicas});
            s.get(name);
        }
    }

    if (top.has("server")) {
        Spec sv = top.object("server");
        ServerSpec spec;
        spec.host = sv.string("host", "127.0.0.1");
        spec.port = static_cast<unsigned short>(sv.integer("port", 0, 0, 65535));
        spec.ready_timeout_s = sv.number("ready_timeout", 5, 0.1, 600);
        spec.stop_grace_s = sv.number("stop_grace", 2, 0.1, 60);
        sv.finish();
        lab.server = spec;
    }
    if (const json* clients = top.get("clients")) {
        if (!clients->is_object())
            top.fail("clients", "\"clients\" maps client names to simulated clients",
                     "e.g. \"clients\": {\"basic\": {\"kind\": \"socket\", \"steps\": [...]}}");
        if (!lab.server)
            top.fail("clients", "simulated clients need a \"server\" object: they drive the learner's server",
                     "add \"server\": {} (the learner's program listens on WIRELAB_LISTEN_PORT)");
        static const std::regex cname_re("[a-z][a-z0-9_-]*");
        for (auto it = clients->begin(); it != clients->end(); ++it) {
            std::string ptr = "/clients/" + pointer_escape(it.key());
            if (!std::regex_match(it.key(), cname_re))
                throw LabError(lab.doc->at(ptr), "client name \"" + it.key() + "\" is not valid",
                               "use lower-case letters, digits, '-' and '_', starting with a letter");
            Spec one(lab.doc, it.value(), ptr, "client \"" + it.key() + "\"");
            std::string kind = one.string("kind");
            if (std::find(client_kinds.begin(), client_kinds.end(), kind) == client_kinds.end()) {
                std::string list, guess = did_you_mean(kind, client_kinds);
                for (const auto& k : client_kinds) list += (list.empty() ? "" : ", ") + k;
                one.fail("kind", "unknown client kind \"" + kind + "\"",
                         guess.empty() ? "known kinds: " + list : "did you mean \"" + guess + "\"?");
            }
            lab.clients.push_back({it.key(), kind, ptr});
        }
    }
    if (lab.server && lab.clients.empty())
        top.fail("server", "a server lab needs \"clients\" to drive the learner's server");

    if (const json* cases = top.get("cases")) {
        if (!cases->is_array() || cases->empty())
            top.fail("cases", "\"cases\" must be a non-empty array of case objects");
        std::set<std::string> names;
        for (std::size_t i = 0; i < cases->size(); ++i) {
            std::string ptr = "/cases/" + std::to_string(i);
            Spec c(lab.doc, (*cases)[i], ptr, "case");
            CaseSpec cs;
            cs.pointer = ptr;
            cs.name = c.string("name");
            if (!names.insert(cs.name).second)
                c.fail("name", "two cases are named \"" + cs.name + "\"", "give each case its own name");
            cs.args = c.strings("args");
            cs.stdin_data = c.opt_string("stdin");
            cs.timeout_s = c.number("timeout", 0, 0.1, 3600);
            cs.limits = lab.limits;
            if (const json* l = c.get("limits")) cs.limits = parse_limits(lab.doc, *l, ptr + "/limits", lab.limits);
            c.get("description");
            if (const json* env = c.get("env")) {
                Spec e(lab.doc, *env, ptr + "/env", "\"env\"");
                for (auto it = env->begin(); it != env->end(); ++it)
                    cs.env[it.key()] = e.string(it.key());
            }
            if (const json* f = c.get("faults")) {
                if (!f->is_object())
                    c.fail("faults", "a case's \"faults\" maps service names to fault profiles",
                           "e.g. \"faults\": {\"api\": \"slow\"}");
                for (auto fi = f->begin(); fi != f->end(); ++fi) {
                    std::string fptr = ptr + "/faults/" + pointer_escape(fi.key());
                    bool known = std::any_of(lab.services.begin(), lab.services.end(),
                                             [&](const ServiceEntry& e) { return e.name == fi.key(); });
                    if (!known)
                        throw LabError(lab.doc->at(fptr), "no service named \"" + fi.key() + "\" in this lab",
                                       "a case's \"faults\" keys are service names");
                    cs.faults[fi.key()] = profile_ref(c, "faults", fi.value(), fptr);
                }
            }
            if (const json* ra = c.get("replicas")) {
                if (!ra->is_array())
                    c.fail("replicas", "a case's \"replicas\" is an array of actions",
                           "e.g. [{\"service\": \"kv\", \"replica\": 1, \"at_ms\": 300, \"action\": \"kill\"}]");
                for (std::size_t k = 0; k < ra->size(); ++k) {
                    std::string aptr = ptr + "/replicas/" + std::to_string(k);
                    if (!(*ra)[k].is_object()) throw LabError(lab.doc->at(aptr), "each replica action is an object");
                    Spec a(lab.doc, (*ra)[k], aptr, "replica action");
                    ReplicaAction act;
                    act.service = a.string("service");
                    auto svc = std::find_if(lab.services.begin(), lab.services.end(),
                                            [&](const ServiceEntry& e) { return e.name == act.service; });
                    if (svc == lab.services.end() || svc->replicas == 0)
                        a.fail("service", "no replicated service named \"" + act.service + "\" in this lab",
                               "give the service \"replicas\": N");
                    act.replica = static_cast<int>(a.integer("replica", 1, 1, svc->replicas));
                    if (a.has("at_ms") == a.has("after_requests"))
                        a.fail(a.has("at_ms") ? "after_requests" : "action",
                               "a replica action happens either \"at_ms\" after the program starts or "
                               "\"after_requests\" the replica has answered in this case (one of them)",
                               "e.g. \"after_requests\": 8 (the same moment in every run, however fast the "
                               "program is)");
                    act.at_ms = a.number("at_ms", 0, 0, 3600000);
                    if (auto n = a.opt_integer("after_requests", 1, 1000000)) act.after_requests = static_cast<int>(*n);
                    act.action = a.string("action");
                    static const std::vector<std::string> actions = {"kill", "pause", "resume", "restart"};
                    if (std::find(actions.begin(), actions.end(), act.action) == actions.end())
                        a.fail("action", "unknown action \"" + act.action + "\"",
                               "use \"kill\" (SIGKILL), \"pause\" (SIGSTOP), \"resume\" (SIGCONT) or "
                               "\"restart\"");
                    if (act.after_requests && act.action == "resume")
                        a.fail("action", "a running replica cannot be resumed after its requests",
                               "resume a paused replica \"at_ms\" after the program starts");
                    a.finish();
                    cs.replica_actions.push_back(std::move(act));
                }
            }
            cs.clients = c.strings("clients");
            cs.clients_at_once = c.boolean("clients_at_once", false);
            if (cs.clients_at_once && !lab.server)
                c.fail("clients_at_once", "\"clients_at_once\" is for server labs");
            for (const auto& n : cs.clients)
                if (std::none_of(lab.clients.begin(), lab.clients.end(), [&](const ClientEntry& e) { return e.name == n; })) {
                    std::vector<std::string> known;
                    for (const auto& e : lab.clients) known.push_back(e.name);
                    std::string guess = did_you_mean(n, known);
                    c.fail("clients", "no client named \"" + n + "\" in this lab",
                           guess.empty() ? "clients are declared under the top-level \"clients\"" : "did you mean \"" + guess + "\"?");
                }
            c.finish();
            lab.cases.push_back(std::move(cs));
        }
    } else {
        CaseSpec main;
        main.name = "main";
        main.limits = lab.limits;
        lab.cases.push_back(std::move(main));
    }
    top.finish();
    return lab;
}

const FaultProfile& Lab::faults_for(const CaseSpec& c, const std::string& service) const {
    auto it = c.faults.find(service);
    if (it != c.faults.end()) return it->second;
    for (const auto& s : services)
        if (s.name == service) return s.faults;
    static const FaultProfile none;
    return none;
}

std::vector<fs::path> lab_roots() {
    std::vector<fs::path> roots;
    if (const char* env = std::getenv("WIRELAB_LABS")) {
        std::string s = env;
        std::size_t start = 0;
        while (start <= s.size()) {
            auto end = s.find(':', start);
            if (end == std::string::npos) end = s.size();
            if (end > start) roots.emplace_back(s.substr(start, end - start));
            start = end + 1;
        }
    }
    roots.emplace_back("labs");
#ifdef WIRELAB_SOURCE_LABS
    roots.emplace_back(WIRELAB_SOURCE_LABS);
#endif
    return roots;
}

std::vector<fs::path> all_labs() {
    std::map<std::string, fs::path> found;
    for (const auto& root : lab_roots()) {
        std::error_code ec;
        if (!fs::is_directory(root, ec)) continue;
        for (const auto& e : fs::directory_iterator(root, ec))
            if (fs::exists(e.path() / "lab.json"))
                found.emplace(e.path().filename().string(), e.path());
    }
    std::vector<fs::path> out;
    for (auto& [id, p] : found) out.push_back(p);
    return out;
}

fs::path find_lab(const std::string& name) {
    std::error_code ec;
    if (fs::exists(fs::path(name) / "lab.json", ec)) return fs::path(name);
    if (name.find('/') == std::string::npos)
        for (const auto& root : lab_roots())
            if (fs::exists(root / name / "lab.json", ec)) return root / name;
    std::vector<std::string> ids;
    for (const auto& p : all_labs()) ids.push_back(p.filename().string());
    std::string list;
    for (const auto& i : ids) list += (list.empty() ? "" : ", ") + i;
    std::string guess = did_you_mean(name, ids);
    throw LabError({name, 0, ""}, "no lab with this id or path",
                   (guess.empty() ? "" : "did you mean \"" + guess + "\"? ") +
                       (list.empty() ? "no labs found under ./labs or $WIRELAB_LABS"
                                     : "labs found: " + list + " (see `wirelab list`)"));
}

}  // namespace wirelab
