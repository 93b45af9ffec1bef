// The wirelab command line: parsing and wiring only.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include <atomic>
#include <boost/asio/signal_set.hpp>
#include <thread>

#include "app/authoring.hpp"
#include "classroom/classroom.hpp"
#include "classroom/hosted.hpp"
#include "classroom/server.hpp"
#include "clients/classroom_client.hpp"
#include "checks/check.hpp"
#include "checks/journal_view.hpp"
#include "checks/report.hpp"
#include "checks/run_report.hpp"
#include "runtime/errors.hpp"
#include "runtime/lab.hpp"
#include "runtime/listener.hpp"
#include "runtime/session.hpp"
#include "clients/registry.hpp"
#include "services/registry.hpp"
#include "services/tool/tool_service.hpp"

namespace fs = std::filesystem;
using namespace wirelab;
using nlohmann::json;

namespace {

int fail_env(const std::string& problem, const std::string& fix = {}) {
    std::cerr << "wirelab: " << problem << "\n";
    if (!fix.empty()) std::cerr << "  fix: " << fix << "\n";
    return 2;
}

bool color_for(int fd) {
    const char* nc = std::getenv("NO_COLOR");
    return ::isatty(fd) && !(nc && *nc);
}

/// Who the run is for: --seed, or a seed derived from --learner and the
/// lab id, or the lab's own default.
struct Variant {
    std::optional<std::uint64_t> seed;
    std::string learner;
    std::optional<std::uint64_t> for_lab(const fs::path& dir) const {
        if (seed || learner.empty()) return seed;
        // the id is needed before the lab (and its params) can be drawn
        auto doc = JsonDoc::load(dir / "lab.json", (dir / "lab.json").lexically_normal().string());
        return learner_seed(learner, doc->root().value("id", dir.filename().string()));
    }
};

Lab load_lab(const std::string& name, const Variant& v = {}) {
    fs::path dir = find_lab(name);
    return Lab::load(dir, service_kind_names(), clients::driver_kind_names(), v.for_lab(dir));
}

int write_out(const std::string& out, const std::string& text) {
    if (out.empty() || out == "-") {
        std::cout << text << std::flush;
        return 0;
    }
    std::ofstream f(out, std::ios::binary);
    if (!(f << text)) return fail_env("cannot write " + out, "choose another --out path");
    return 0;
}

/// "running case main… 3 s" on a terminal while a case takes long.
class Progress {
public:
    explicit Progress(bool on) : on_(on) {}
    ~Progress() { end(); }
    void begin(const std::string& name) {
        if (!on_) return;
        end();
        stop_ = false;
        worker_ = std::thread([this, name] {
            auto start = std::chrono::steady_clock::now();
            bool shown = false;
            while (!stop_) {
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                if (s < 1.0) continue;
                char line[160];
                std::snprintf(line, sizeof line, "\r\033[2K  running case %s… %.0f s", name.c_str(), s);
                std::cerr << line << std::flush;
                shown = true;
            }
            if (shown) std::cerr << "\r\033[2K" << std::flush;
        });
    }
    void end() {
        if (!worker_.joinable()) return;
        stop_ = true;
        worker_.join();
    }

private:
    bool on_;
    std::atomic<bool> stop_{false};
    std::thread worker_;
};

/// Where a service will be and the variables that tell the program, as
/// `show` prints them: "hub (ipc) at unix socket hub.sock in the run
/// directory  → WIRELAB_HUB_PATH".
std::string declared_service(const Lab& lab, const ServiceEntry& s) {
    const json& spec = lab.doc->root().at(json::json_pointer(s.pointer));
    std::string stem = service_env_stem(s.name);
    auto text = [&](const char* key) { return spec.value(key, std::string()); };
    std::string where, vars;
    if (s.kind == "tool") {
        where = "a command on your PATH";
        vars = "PATH";
    } else if (s.kind == "device") {
        std::string names;
        std::size_t n = 0;
        const json devices = spec.value("devices", json::object());
        for (auto it = devices.begin(); it != devices.end(); ++it) names += (n++ ? ", " : "") + it.key();
        bool api = spec.value("restconf", false);
        where = std::to_string(n) + " devices (" + names + "), each on its own port" +
                (api ? ", with a RESTCONF API on another" : "");
        vars = stem + "_INVENTORY (CSV: name,host,port,username,password,enable" + (api ? ",restconf" : "") + "), " +
               stem + "_<DEVICE>_HOST/_PORT" + (api ? ", " + stem + "_<DEVICE>_RESTCONF_URL" : "");
    } else if (spec.contains("socket")) {
        where = std::string("unix ") + (text("type") == "datagram" ? "datagram" : "stream") + " socket " +
                text("socket") + " in the run directory";
        vars = stem + "_PATH";
    } else if (spec.contains("fifo")) {
        where = "fifos " + text("fifo") + ".in (you write) and " + text("fifo") + ".out (you read) in the run directory";
        vars = stem + "_IN, " + stem + "_OUT";
    } else if (spec.contains("shm")) {
        where = "shared-memory segment " + text("shm");
        vars = stem + "_SHM, " + stem + "_PATH";
    } else if (spec.contains("file")) {
        where = "file " + text("file") + " in the run directory";
        vars = stem + "_PATH";
    } else {
        std::string host = spec.value("host", std::string("127.0.0.1"));
        int port = spec.value("port", 0);
        std::string scheme = s.kind == "nosql" ? "redis" : s.kind == "sql" ? "postgresql" : s.kind == "sdn" ? "http" : s.kind;
        std::string tls;
        if (const auto t = spec.find("tls"); t != spec.end() && !(t->is_boolean() && !t->get<bool>())) {
            scheme = scheme == "http" ? "https" : scheme == "redis" ? "rediss" : "tls";
            tls = " (TLS; the run's CA is in WIRELAB_CA_FILE)";  // which certificates are broken is the lab's secret
        }
        where = scheme + "://" + host + ":" + (port ? std::to_string(port) : "<any free port>") + tls;
        vars = stem + "_URL, " + stem + "_HOST, " + stem + "_PORT";
        if (s.kind == "sql") vars = stem + "_DSN, " + vars + ", " + stem + "_USER, " + stem + "_PASSWORD";
    }
    if (s.replicas > 0)
        return where + ", " + std::to_string(s.replicas) + " replicas  → " + stem + "_URLS, " + stem + "_1_URL … " +
               stem + "_" + std::to_string(s.replicas) + "_URL";
    return where + "  → " + vars;
}

int cmd_list(const std::string& format) {
    json out = json::array();
    std::vector<std::pair<std::string, std::string>> rows;
    for (const auto& dir : all_labs()) {
        try {
            Lab lab = Lab::load(dir, service_kind_names(), clients::driver_kind_names());
            rows.emplace_back(lab.id, lab.title);
            out.push_back({{"id", lab.id}, {"title", lab.title}, {"summary", lab.summary}, {"path", dir.string()}});
        } catch (const LabError& e) {
            rows.emplace_back(dir.filename().string(), "(broken: " + e.problem() + ")");
            out.push_back({{"id", dir.filename().string()}, {"error", e.what()}, {"path", dir.string()}});
        }
    }
    if (format == "json") {
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    if (rows.empty()) {
        std::cout << "no labs found under ./labs or $WIRELAB_LABS\n";
        return 0;
    }
    std::size_t w = 0;
    for (auto& r : rows) w = std::max(w, r.first.size());
    for (auto& [id, title] : rows) std::cout << id << std::string(w - id.size() + 2, ' ') << title << "\n";
    return 0;
}

int cmd_show(const std::string& name, const Variant& variant) {
    Lab lab = load_lab(name, variant);
    auto checks = checks::compile_checks(lab);
    std::cout << lab.id << " — " << lab.title << "\n";
    if (!lab.summary.empty()) std::cout << lab.summary << "\n";
    if (lab.server) {
        std::string port = lab.server->port ? std::to_string(lab.server->port) : "a free port";
        std::cout << "\nyour program is the server: listen on " << lab.server->host << ", " << port
                  << " (WIRELAB_LISTEN_HOST, WIRELAB_LISTEN_PORT)\nclients wirelab plays:\n";
        for (const auto& c : lab.clients) {
            const json& spec = lab.doc->root().at(json::json_pointer(c.pointer));
            std::string what = spec.value("description", std::string());
            std::cout << "  " << c.name << " (" << c.kind << ")" << (what.empty() ? "" : ": " + what) << "\n";
        }
    }
    if (!lab.services.empty()) std::cout << "\nservices (your program finds them in environment variables):\n";
    for (const auto& s : lab.services)
        std::cout << "  " << s.name << " (" << s.kind << "): " << declared_service(lab, s) << "\n";
    std::cout << "\nchecks:\n";
    for (const auto& c : checks)
        if (!c.info.hidden) std::cout << "  • " << c.info.title << "\n";
    if (!lab.params.empty()) {
        std::cout << "\nyour values (seed " << lab.seed << (variant.learner.empty() ? "" : ", learner " + variant.learner)
                  << "):\n";
        for (const auto& [k, v] : lab.params.values())
            std::cout << "  " << k << " = " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
    }
    std::string readme = lab.readme_text();
    if (!readme.empty()) std::cout << "\n" << readme << (readme.back() == '\n' ? "" : "\n");
    return 0;
}

struct ReplicaArgs {
    std::string service;
    std::optional<unsigned short> port;
    std::optional<long long> clock_origin_ns;
    // a hosted classroom session: the class's faults, the ports it had
    std::string class_faults;
    std::vector<std::string> service_ports;  // NAME=PORT
};

int cmd_up(const std::string& name, bool ephemeral, const std::string& run_dir, const std::string& format,
           const Variant& variant, const ReplicaArgs& replica, bool no_traffic, const std::string& listen) {
    if (!listen.empty() && !is_ip_address(listen))
        return fail_env("--listen " + listen + " is not an IP address", "e.g. --listen 0.0.0.0 (every interface)");
    Lab lab = load_lab(name, variant);
    if (!replica.class_faults.empty())
        clients::apply_class_faults(lab, json::parse(replica.class_faults));
    SessionOptions opt;
    for (const auto& sp : replica.service_ports) {
        auto eq = sp.find('=');
        if (eq == std::string::npos) return fail_env("--service-port " + sp + " is not NAME=PORT");
        opt.ports[sp.substr(0, eq)] = static_cast<unsigned short>(std::stoi(sp.substr(eq + 1)));
    }
    opt.traffic_journal = !no_traffic;
    opt.listen = listen;
    opt.learner = variant.learner;
    opt.replica_of = replica.service;
    opt.port = replica.port;
    if (replica.clock_origin_ns)
        opt.clock_origin = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(*replica.clock_origin_ns));
    opt.ephemeral = ephemeral;
    opt.run_dir = run_dir;
    opt.signal_is_normal_stop = true;
    Session session(lab, service_kinds(), opt, clients::driver_kinds());
    session.start();
    session.serve([&] {
        if (format == "json") {
            json services = json::object();
            for (const auto& s : session.endpoints())
            {
                services[s.name] = {{"url", s.endpoint.url()}, {"host", s.endpoint.host}, {"port", s.endpoint.port},
                                    {"kind", s.kind}};
                if (!s.endpoint.path.empty()) services[s.name]["path"] = s.endpoint.path;
            }
            std::cout << json{{"services", services},
                              {"run_dir", fs::absolute(session.run_dir()).string()},
                              {"env", session.environment()}}
                             .dump()
                      << std::endl;
        } else {
            std::cout << lab.id << " — " << lab.title << "\n";
            for (const auto& s : session.endpoints())
                std::cout << "  " << s.name << " (" << s.kind << "): " << s.endpoint.url() << "   "
                          << service_env_stem(s.name) << "_URL=" << s.endpoint.url() << "\n";
            std::cout << "journal: " << session.run_dir().string() << "/journal.db\n"
                      << "your program's environment (paste into the shell you run it from):\n";
            const char* sys_path = std::getenv("PATH");
            std::string tail = sys_path ? std::string(":") + sys_path : std::string("\x01");
            for (const auto& [k, v] : session.environment()) {
                bool prepends = k == "PATH" && v.size() > tail.size() && v.compare(v.size() - tail.size(), tail.size(), tail) == 0;
                std::cout << "  export " << k << "="
                          << (prepends ? shell_quote({v.substr(0, v.size() - tail.size())}) + ":\"$PATH\"" : shell_quote({v}))
                          << "\n";
            }
            std::cout << "serving until Ctrl-C" << std::endl;
        }
    });
    session.stop();
    if (format != "json") std::cout << "\nstopped; the journal is in " << session.run_dir().string() << "\n";
    return 0;
}

struct CheckArgs {
    std::string lab;
    std::vector<std::string> program;
    bool dashdash = false;
    bool ephemeral = false;
    double timeout = 0;
    std::string run_dir;
    std::string format = "text";
    std::string out;
    std::string python;
    Variant variant;
    std::string classroom, token;  // --classroom URL --token T
    bool hosted = false;           // --hosted: against the classroom's services
};

/// The id a lab folder declares (before it is loaded with a seed).
std::string lab_id_of(const fs::path& dir) {
    auto doc = JsonDoc::load(dir / "lab.json", (dir / "lab.json").lexically_normal().string());
    return doc->root().value("id", dir.filename().string());
}

/// What a classroom said about a run about to start.
struct ClassroomRun {
    clients::ClassroomTarget to;
    bool submit = true;
};

/// Before a classroom run: earlier runs kept in the outbox are sent, and
/// the lab is loaded with the learner's seed and the class-wide faults.
Lab load_classroom_lab(const CheckArgs& a, ClassroomRun& cr) {
    cr.to = {a.classroom, a.token};
    for (const auto& [lab_id, o] : clients::send_outbox(cr.to)) {
        if (o.sent)
            std::cerr << "classroom: sent a run of " << lab_id << " kept from earlier\n";
        else if (o.refused)
            std::cerr << "classroom: a kept run of " << lab_id << " was refused: " << o.error << "\n";
    }
    fs::path dir = find_lab(a.lab);
    std::string id = lab_id_of(dir);
    auto cfg = clients::fetch_lab_config(cr.to, id);
    std::uint64_t seed = classroom_seed(a.token, id);
    if (a.variant.seed || !a.variant.learner.empty())
        std::cerr << "classroom: --seed and --learner are ignored: the classroom gives you your values\n";
    if (!cfg.config) {
        std::cerr << "classroom: cannot reach " << a.classroom << " (" << cfg.unreachable
                  << "); running with your values but without the class's current faults\n";
        return Lab::load(dir, service_kind_names(), clients::driver_kind_names(), seed);
    }
    const json& c = *cfg.config;
    seed = c.value("seed", seed);
    Lab lab = Lab::load(dir, service_kind_names(), clients::driver_kind_names(), seed);
    if (c.contains("faults")) {
        clients::apply_class_faults(lab, c["faults"]);
        for (auto& [service, f] : c["faults"].items())
            std::cerr << "classroom: ⚡ " << service << ": "
                      << (f.value("description", std::string()).empty() ? f.value("name", std::string("a fault profile"))
                                                                        : f.value("description", std::string()))
                      << " (switched on by the trainer)\n";
    }
    if (!c.value("open", true)) {
        cr.submit = false;
        std::cerr << "classroom: " << id << " is closed in this classroom; the run is graded here but not submitted\n";
    }
    return lab;
}

void report_submission(const ClassroomRun& cr, const clients::SubmitOutcome& o) {
    std::string page = cr.to.url;
    while (!page.empty() && page.back() == '/') page.pop_back();
    if (o.sent) {
        std::cerr << "classroom: submitted; the classroom graded it " << o.answer.value("score", 0.0) << "/"
                  << o.answer.value("max_score", 0.0) << " (run #" << o.answer.value("id", 0) << ") — "
                  << page << "/learner\n";
    } else if (o.refused) {
        std::cerr << "classroom: not submitted: " << o.error << "\n";
    } else {
        std::cerr << "classroom: cannot reach " << cr.to.url << " (" << o.error << "); the run is kept in "
                  << o.kept.string() << " and sent with your next check or `wirelab submit`\n";
    }
}

/// `check --classroom URL --token T --hosted`: the program runs here,
/// against the learner's own services in the classroom (started afresh);
/// the classroom grades the traffic they saw.
int cmd_check_hosted(const CheckArgs& a, const std::vector<std::string>& argv_in) {
    fs::path dir = find_lab(a.lab);
    Lab lab = Lab::load(dir, service_kind_names(), clients::driver_kind_names());
    clients::ClassroomTarget to{a.classroom, a.token};
    json info = clients::hosted_fresh(to, lab.id);
    std::map<std::string, std::string> env;
    for (auto& [k, v] : info["env"].items()) env[k] = v.get<std::string>();
    for (auto& [name, svc] : info["services"].items())
        std::cerr << "classroom: hosted " << name << " at " << svc.value("url", std::string()) << " (fresh)\n";
    std::vector<std::string> argv = argv_in;
    for (auto arg : lab.cases.front().args) {
        for (const auto& [k, v] : env)
            for (std::string var = "${" + k + "}"; arg.find(var) != std::string::npos;) arg.replace(arg.find(var), var.size(), v);
        argv.push_back(arg);
    }
    pid_t pid = ::fork();
    if (pid < 0) return fail_env("cannot start " + argv[0]);
    if (pid == 0) {
        ::setpgid(0, 0);
        for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
        std::vector<char*> cargv;
        for (auto& x : argv) cargv.push_back(x.data());
        cargv.push_back(nullptr);
        ::execvp(cargv[0], cargv.data());
        std::cerr << "wirelab: cannot run " << argv[0] << ": " << std::strerror(errno) << "\n";
        ::_exit(127);
    }
    ::setpgid(pid, pid);
    double limit = a.timeout > 0 ? a.timeout : lab.timeout_s;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(limit);
    int status = 0;
    bool timed_out = false;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(-pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            timed_out = true;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (timed_out) std::cerr << "classroom: your program ran over " << limit << " s and was stopped\n";
    json graded = clients::hosted_check(to, lab.id);
    if (a.format == "json") return write_out(a.out, graded.dump(2) + "\n") ? 2 : graded.value("passed", false) ? 0 : 1;
    std::ostringstream o;
    o << "the classroom graded the traffic of your run: " << graded.value("score", 0.0) << "/"
      << graded.value("max_score", 0.0) << " (run #" << graded.value("id", 0) << ")\n";
    for (const auto& c : graded["checks"]) {
        std::string st = c.value("status", std::string());
        o << "  " << (st == "passed" ? "✓" : st == "failed" ? "✗" : "–") << " " << c.value("title", std::string()) << "\n";
        if (st != "passed" && !c.value("message", std::string()).empty()) o << "      " << c.value("message", std::string()) << "\n";
        if (st == "failed" && !c.value("hint", std::string()).empty()) o << "      hint: " << c.value("hint", std::string()) << "\n";
    }
    o << "(checks of the program itself — exit status, output, processes, timing — are graded when you run the lab "
         "on your machine: drop --hosted)\n";
    if (int rc = write_out(a.out, o.str())) return rc;
    return graded.value("passed", false) ? 0 : 1;
}

int cmd_check(const CheckArgs& a) {
    std::optional<ClassroomRun> room_run;
    if (!a.classroom.empty() && a.token.empty())
        return fail_env("--classroom needs your token", "add --token T (or set WIRELAB_TOKEN); the trainer gives it");
    if (a.hosted && a.classroom.empty())
        return fail_env("--hosted needs the classroom", "add --classroom URL --token T (the trainer gives them)");
    // the command to run: a script (with the Python), or `-- CMD ARGS…`
    std::vector<std::string> argv = a.program;
    auto program = [&]() -> int {
        if (argv.empty())
            return fail_env("no program to check",
                            "run `wirelab check " + a.lab + " my_script.py` (or `-- CMD ARGS…` for any command)");
        if (!a.dashdash) {
            if (argv.size() > 1)
                return fail_env("too many arguments: " + shell_quote(argv),
                                "give one Python script, or put `--` before a command and its arguments");
            if (!fs::exists(argv[0]))
                return fail_env("no such file: " + argv[0], "check the path of your script");
            std::string py = a.python;
            if (py.empty()) {
                const char* env = std::getenv("WIRELAB_PYTHON");
                py = env && *env ? env : "python3";
            }
            argv.insert(argv.begin(), py);
        }
        return 0;
    };
    if (a.hosted) {
        if (int rc = program()) return rc;
        return cmd_check_hosted(a, argv);
    }
    if (!a.classroom.empty()) room_run.emplace();
    Lab lab = room_run ? load_classroom_lab(a, *room_run) : load_lab(a.lab, a.variant);
    auto compiled = checks::compile_checks(lab);
    if (int rc = program()) return rc;
    SessionOptions opt;
    opt.ephemeral = a.ephemeral;
    opt.run_dir = a.run_dir;
    opt.learner = room_run ? std::string() : a.variant.learner;
    opt.programs = true;
    Session session(lab, service_kinds(), opt, clients::driver_kinds());
    session.start();
    Progress progress(a.format == "text" && a.out.empty() && ::isatty(2) && ::isatty(1));
    for (auto c : lab.cases) {
        if (a.timeout > 0) c.timeout_s = a.timeout;
        std::vector<std::string> full = argv;
        full.insert(full.end(), c.args.begin(), c.args.end());
        progress.begin(c.name);
        session.run_case(c, full);
        progress.end();
        if (session.interrupted() || !session.journal().error().empty()) break;
    }
    session.stop();
    if (const std::string& err = session.journal().error(); !err.empty())
        return fail_env("the journal could not be written: " + err + "; the run cannot be graded",
                        err.find("deleted") != std::string::npos
                            ? "leave the run directory " + session.run_dir().string() + " alone while wirelab runs"
                            : "check free disk space in " + session.run_dir().string());

    auto run = checks::RecordedRun::open(session.run_dir());
    checks::ReportInput in = checks::grade(lab, compiled, run);
    in.interrupted = session.interrupted();
    std::string text = checks::render(a.format, in, *run.data, a.out.empty() && color_for(1));
    if (int rc = write_out(a.out, text)) return rc;
    if (session.interrupted()) return 130;
    if (room_run && room_run->submit)
        report_submission(*room_run, clients::submit_run(room_run->to, lab.id, session.run_dir()));
    return checks::totals(in.results).exit_code();
}

/// `wirelab report RUN`: the checks of a recorded run evaluated again (with
/// the lab as it is now), nothing run.
int cmd_report(const std::string& run_arg, const std::string& lab_arg, const std::string& format,
               const std::string& out) {
    auto run = checks::RecordedRun::open(run_arg);
    std::string lab_dir = lab_arg.empty() ? run.lab_dir : find_lab(lab_arg).string();
    if (lab_dir.empty() || !fs::exists(fs::path(lab_dir) / "lab.json"))
        return fail_env("the lab of this run (" + (run.lab_id.empty() ? std::string("unknown") : run.lab_id) +
                            ") is not at " + (lab_dir.empty() ? std::string("a recorded place") : lab_dir),
                        "give it with --lab LAB");
    Lab lab = Lab::load(lab_dir, service_kind_names(), clients::driver_kind_names(), run.seed);
    auto compiled = checks::compile_checks(lab);
    checks::ReportInput in = checks::grade(lab, compiled, run);
    if (int rc = write_out(out, checks::render(format, in, *run.data, out.empty() && color_for(1)))) return rc;
    // The process ends now: the run's rows are left to it rather than freed
    // one by one (a tenth of the report over a journal of 100k exchanges).
    static checks::RunData* left_to_exit = run.data.release();
    (void)left_to_exit;
    return checks::totals(in.results).exit_code();
}

int cmd_journal(const std::string& run_arg, const std::string& har, const std::string& only_case, std::size_t body_max) {
    auto run = checks::RecordedRun::open(run_arg);
    auto& j = run.data->journal();
    if (!har.empty()) {
        auto doc = checks::render_har(j, only_case);
        if (int rc = write_out(har, doc.dump(2) + "\n")) return rc;
        if (har != "-")
            std::cerr << "wrote " << doc["log"]["entries"].size() << " HTTP exchange(s) to " << har
                      << " (HAR 1.2: open it in a browser's devtools, Network tab → Import)\n";
        return 0;
    }
    checks::JournalViewOptions opt;
    opt.only_case = only_case;
    opt.body_max = body_max;
    opt.color = color_for(1);
    std::cout << checks::render_journal_text(j, opt) << std::flush;
    return 0;
}

struct ClassroomArgs {
    std::string scenario, roster, state, listen = "127.0.0.1", format = "text";
    unsigned short port = 8080;
    bool no_hosted = false, check_only = false;
};

int cmd_classroom(const ClassroomArgs& a) {
    if (!is_ip_address(a.listen))
        return fail_env("--listen " + a.listen + " is not an IP address", "e.g. --listen 0.0.0.0 (every interface)");
    auto sc = classroom::Scenario::load(a.scenario);
    if (a.check_only) {
        std::cout << sc.id << ": ok (" << sc.labs.size() << " lab(s), " << sc.faults.size() << " class fault(s), "
                  << sc.schedule.size() << " event(s))\n";
        return 0;
    }
    fs::path state = a.state.empty() ? fs::path(".wirelab/classroom") / sc.id : fs::path(a.state);
    classroom::Classroom room(sc, {state});
    int added = 0;
    if (!a.roster.empty()) {
        std::ifstream f(a.roster, std::ios::binary);
        if (!f) return fail_env("cannot read the roster " + a.roster, "give a CSV file: name,email per line");
        std::stringstream text;
        text << f.rdbuf();
        added = room.import_roster(classroom::parse_roster(text.str(), a.roster));
    }
    asio::io_context io;  // after the classroom: its handlers go first
    std::unique_ptr<classroom::Hosted> hosted;
    if (!a.no_hosted)
        hosted = std::make_unique<classroom::Hosted>(
            room, classroom::Hosted::Options{fs::read_symlink("/proc/self/exe"), state / "hosted", a.listen, 300});
    room.on_reset = [&](const std::string& lab, std::optional<std::int64_t> learner) {
        if (hosted) hosted->reset(lab, learner);
    };
    room.tick(std::chrono::system_clock::now());
    classroom::Server server(io, room, {a.listen, a.port}, hosted.get());
    std::string host = a.listen.find(':') != std::string::npos ? "[" + a.listen + "]" : a.listen;
    if (a.listen == "0.0.0.0") host = "127.0.0.1";
    std::string url = "http://" + host + ":" + std::to_string(server.port());
    json learners = room.learners();
    if (a.format == "json") {
        std::cout << json{{"url", url}, {"dashboard", url + "/?token=" + room.trainer_token()},
                          {"learner_page", url + "/learner"}, {"trainer_token", room.trainer_token()},
                          {"join_code", room.join_code()}, {"state_dir", fs::absolute(state).string()},
                          {"learners", learners}}
                         .dump()
                  << std::endl;
    } else {
        std::cout << "wirelab classroom: " << sc.title << " (" << sc.id << ")\n"
                  << "  dashboard (trainer; keep this link to yourself): " << url << "/?token=" << room.trainer_token() << "\n"
                  << "  learners' page: " << url << "/learner   join code " << room.join_code() << "\n";
        if (!learners.empty())
            std::cout << "  roster: " << learners.size() << " learner(s)" << (added ? " (" + std::to_string(added) + " new)" : "")
                      << ", tokens in " << (state / "tokens.csv").string() << "\n";
        std::cout << "  a learner runs: wirelab check LAB script.py --classroom " << url << " --token THEIR-TOKEN\n"
                  << "  state: " << (state / "classroom.db").string() << " (a restart loses nothing)\n";
        if (a.listen != "127.0.0.1" && a.listen != "::1")
            std::cout << "  listening on " << a.listen << ": reachable from other machines\n";
        std::cout << "serving until Ctrl-C" << std::endl;
    }
    asio::signal_set signals(io, SIGINT, SIGTERM);
    asio::steady_timer last_call(io);
    signals.async_wait([&](const error_code& ec, int) {
        if (ec) return;
        server.stop();
        if (hosted) hosted->stop_all();
        last_call.expires_after(std::chrono::seconds(2));
        last_call.async_wait([&](const error_code&) { io.stop(); });
    });
    io.run();
    if (a.format != "json") std::cout << "\nstopped; everything submitted is in " << (state / "classroom.db").string() << "\n";
    return 0;
}

int cmd_submit(const std::string& run_arg, const std::string& url, const std::string& token) {
    std::optional<clients::ClassroomTarget> to;
    if (!url.empty()) {
        if (token.empty()) return fail_env("--classroom needs your token", "add --token T (or set WIRELAB_TOKEN)");
        to = clients::ClassroomTarget{url, token};
    }
    if (!run_arg.empty()) {
        if (!to) return fail_env("submitting a run needs --classroom URL and --token T");
        auto run = checks::RecordedRun::open(run_arg);
        ClassroomRun cr{*to, true};
        auto o = clients::submit_run(*to, run.lab_id, run.run_dir);
        report_submission(cr, o);
        return o.sent ? 0 : 1;
    }
    auto done = clients::send_outbox(to);
    int left = 0;
    for (const auto& [lab, o] : done) {
        std::cout << lab << ": " << (o.sent ? "sent" : o.refused ? "refused: " + o.error : "still kept (" + o.error + ")")
                  << "\n";
        left += !o.sent && !o.refused;
    }
    if (done.empty()) std::cout << "nothing kept in " << clients::outbox_dir().string() << "\n";
    return left ? 1 : 0;
}

int cmd_lint(const std::string& name) {
    Lab lab = load_lab(name);
    auto compiled = checks::compile_checks(lab);
    authoring::check_services(lab);
    std::cout << lab.id << ": ok (" << lab.services.size() << " service(s), " << lab.cases.size()
              << " case(s), " << compiled.size() << " check(s))\n";
    return 0;
}

}  // namespace

/// What the process needs before anything runs: as many descriptors as the
/// system allows (a class's worth of connections; learners' programs get
/// the lab's own limit), and a full disk or file-size limit that fails a
/// write (the journal says so) instead of killing wirelab with SIGXFSZ.
void prepare_process() {
    rlimit nofile{};
    if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &nofile);
    }
    ::signal(SIGXFSZ, SIG_IGN);
}

int main(int argc, char** argv) {
    prepare_process();
    // A lab's simulated tool is this binary under the tool's name (a link in
    // the run directory), or `wirelab tool NAME ARGS…`.
    std::string self = fs::path(argv[0]).filename().string();
    if (self.rfind("wirelab", 0) != 0 && !self.empty())
        return tool::run_tool(self, std::vector<std::string>(argv + 1, argv + argc));
    if (argc >= 3 && std::string(argv[1]) == "tool")
        return tool::run_tool(argv[2], std::vector<std::string>(argv + 3, argv + argc));
    CLI::App app{"wirelab — a networked lab simulator for learning Python networking, IPC and databases"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "wirelab 0.1.0");

    std::string format = "text";
    auto* list = app.add_subcommand("list", "List the labs found under ./labs (or $WIRELAB_LABS)");
    list->add_option("--format", format, "text or json")->check(CLI::IsMember({"text", "json"}));

    std::string lab_name;
    Variant variant;
    auto add_variant = [&](CLI::App* cmd, Variant& v, const std::string& seed_help) {
        cmd->add_option("--seed", v.seed, seed_help);
        cmd->add_option("--learner", v.learner,
                        "your name: the lab's values (params) and random choices are drawn for you")
            ->excludes(cmd->get_option("--seed"));
    };
    auto* show = app.add_subcommand("show", "Show a lab's task, services and checks");
    show->add_option("lab", lab_name, "lab id or path to a lab folder")->required();
    add_variant(show, variant, "seed of the lab's values (params)");

    bool ephemeral = false;
    std::string run_dir;
    auto* up = app.add_subcommand("up", "Start a lab's services and keep them up until Ctrl-C");
    up->add_option("lab", lab_name, "lab id or path to a lab folder")->required();
    up->add_flag("--ephemeral", ephemeral, "listen on free ports instead of the lab's fixed ones");
    up->add_option("--run-dir", run_dir, "where to write the journal (default .wirelab/runs/<lab>-<time>)");
    std::string up_listen;
    up->add_option("--listen", up_listen, "bind every service to this address instead of 127.0.0.1 (e.g. 0.0.0.0)");
    up->add_option("--format", format, "text, or json: one line of JSON with the endpoints first")
        ->check(CLI::IsMember({"text", "json"}));
    add_variant(up, variant, "seed of the lab's values and random choices (faults); default: from the lab id");
    // How a Session starts the replicas of a replicated service (not for people).
    ReplicaArgs replica;
    up->add_option("--replica", replica.service)->group("");
    up->add_option("--port", replica.port)->group("");
    up->add_option("--clock-origin", replica.clock_origin_ns)->group("");
    // Benchmarks only (bench/peers.py): what recording the traffic costs.
    bool no_traffic = false;
    up->add_flag("--no-traffic-journal", no_traffic)->group("");
    // How a classroom starts a learner's hosted services (not for people).
    up->add_option("--class-faults", replica.class_faults)->group("");
    up->add_option("--service-port", replica.service_ports)->group("");

    ClassroomArgs cla;
    auto* room = app.add_subcommand("classroom", "Run a classroom scenario: the trainer's dashboard, learners' submissions");
    room->add_option("scenario", cla.scenario, "scenario id (scenarios/<id>.json) or path to a scenario file")->required();
    room->add_option("--roster", cla.roster, "CSV of learners (name,email): each gets a token and their own values");
    room->add_option("--state", cla.state, "where the classroom keeps its state (default .wirelab/classroom/<id>)");
    room->add_option("--port", cla.port, "port of the dashboard and API (default 8080; 0: a free one)");
    room->add_option("--listen", cla.listen, "address to bind (default 127.0.0.1; 0.0.0.0 for a class on a network)");
    room->add_flag("--no-hosted", cla.no_hosted, "do not run services for learners (they run labs on their machines)");
    room->add_flag("--check", cla.check_only, "validate the scenario and its labs, start nothing");
    room->add_option("--format", cla.format, "text, or json: one line of JSON (url, tokens) first")
        ->check(CLI::IsMember({"text", "json"}));

    std::string submit_run_dir, submit_url, submit_token;
    auto* submit = app.add_subcommand("submit", "Send runs kept while the classroom was unreachable (or one run)");
    submit->add_option("run", submit_run_dir, "a run directory to submit (default: everything kept)");
    submit->add_option("--classroom", submit_url, "the classroom's URL")->envname("WIRELAB_CLASSROOM");
    submit->add_option("--token", submit_token, "your classroom token")->envname("WIRELAB_TOKEN");

    CheckArgs ca;
    auto* check = app.add_subcommand("check", "Run a program against a lab and grade it");
    check->add_option("lab", ca.lab, "lab id or path to a lab folder")->required();
    check->add_option("program", ca.program, "your script.py, or -- CMD ARGS… to run any command");
    check->add_flag("--ephemeral", ca.ephemeral, "listen on free ports instead of the lab's fixed ones");
    check->add_option("--timeout", ca.timeout, "seconds before the program is stopped (default: the lab's)")
        ->check(CLI::PositiveNumber);
    check->add_option("--run-dir", ca.run_dir, "where to write the journal (default .wirelab/runs/<lab>-<time>)");
    check->add_option("--format", ca.format, "text, json, junit, gradescope, prairielearn or html")
        ->check(CLI::IsMember(checks::report_formats()));
    check->add_option("--out", ca.out, "write the report to FILE instead of standard output");
    add_variant(check, ca.variant, "seed of the lab's values and every random choice; the same seed replays the same run");
    check->add_option("--classroom", ca.classroom, "submit the run to this classroom (URL the trainer gives)")
        ->envname("WIRELAB_CLASSROOM");
    check->add_option("--token", ca.token, "your classroom token")->envname("WIRELAB_TOKEN");
    check->add_flag("--hosted", ca.hosted,
                    "run against your services in the classroom (started afresh); the classroom grades their traffic");
    check->add_option("--python", ca.python, "Python interpreter for a script (default $WIRELAB_PYTHON or python3)");

    app.add_subcommand("tool", "Run a lab's command-line tool: wirelab tool NAME ARGS… (inside a lab's run)")
        ->allow_extras();

    auto* lint = app.add_subcommand("lint", "Validate a lab (lab.json, services, checks) without running it");
    lint->add_option("lab", lab_name, "lab id or path to a lab folder")->required();

    std::string run_arg, report_lab, report_format = "text", report_out;
    auto* report = app.add_subcommand("report", "Grade a recorded run again (after a check was fixed), running nothing");
    report->add_option("run", run_arg, "a run directory (.wirelab/runs/<lab>-<time>) or its journal.db")->required();
    report->add_option("--lab", report_lab, "the lab to grade with (default: the one the run recorded)");
    report->add_option("--format", report_format, "text, json, junit, gradescope, prairielearn or html")
        ->check(CLI::IsMember(checks::report_formats()));
    report->add_option("--out", report_out, "write the report to FILE instead of standard output");

    std::string har, only_case;
    std::size_t body_max = 2048;
    auto* journal = app.add_subcommand("journal", "Print the traffic of a recorded run, or export its HTTP as HAR");
    journal->add_option("run", run_arg, "a run directory (.wirelab/runs/<lab>-<time>) or its journal.db")->required();
    journal->add_option("--har", har, "write the HTTP exchanges to FILE as HAR 1.2 (- for standard output)");
    journal->add_option("--case", only_case, "only this case");
    journal->add_option("--bytes", body_max, "bytes of each body or stream to show (default 2048)");

    std::vector<std::string> validate_labs;
    bool validate_all = false;
    authoring::ValidateOptions vo;
    auto* validate = app.add_subcommand(
        "validate", "Check labs like code: lab.json, then the solution passes and each mistake fails what it names");
    validate->add_option("labs", validate_labs, "lab ids or folders");
    validate->add_flag("--all", validate_all, "every lab found (./labs, $WIRELAB_LABS)");
    validate->add_option("--format", vo.format, "text or json")->check(CLI::IsMember({"text", "json"}));
    validate->add_option("--jobs,-j", vo.jobs, "runs at once (default 2)")->check(CLI::Range(1, 32));
    validate->add_option("--python", vo.python, "Python interpreter for the scripts");
    bool no_runs = false;
    validate->add_flag("--no-runs", no_runs, "load and compile only; run no script");

    std::string new_dir;
    auto* scaffold = app.add_subcommand("new", "Create a lab folder (lab.json, README, starter, solution, mistakes) that validates");
    scaffold->add_option("lab", lab_name, "the new lab's id, e.g. stock-check")->required();
    scaffold->add_option("--dir", new_dir, "where to create it (default labs/<id> when ./labs exists, else ./<id>)");

    for (int i = 1; i < argc; ++i)
        if (std::string(argv[i]) == "--") ca.dashdash = true;

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }

    try {
        if (*list) return cmd_list(format);
        if (*show) return cmd_show(lab_name, variant);
        if (*up) return cmd_up(lab_name, ephemeral, run_dir, format, variant, replica, no_traffic, up_listen);
        if (*check) return cmd_check(ca);
        if (*lint) return cmd_lint(lab_name);
        if (*room) {
            try {
                return cmd_classroom(cla);
            } catch (const LabError& e) {
                std::cerr << "wirelab: the classroom cannot start: " << e.what() << "\n";
                return 2;
            }
        }
        if (*submit) return cmd_submit(submit_run_dir, submit_url, submit_token);
        if (*report) return cmd_report(run_arg, report_lab, report_format, report_out);
        if (*journal) return cmd_journal(run_arg, har, only_case, body_max);
        if (*validate) {
            std::vector<fs::path> dirs;
            if (validate_all)
                dirs = all_labs();
            for (const auto& l : validate_labs) dirs.push_back(find_lab(l));
            if (dirs.empty())
                return fail_env("no lab to validate", "name labs (wirelab validate rest-cars) or use --all");
            vo.runs = !no_runs;
            return authoring::validate(dirs, vo);
        }
        if (*scaffold) {
            fs::path dir = !new_dir.empty() ? fs::path(new_dir) : fs::is_directory("labs") ? fs::path("labs") / lab_name
                                                                                            : fs::path(lab_name);
            return authoring::scaffold(lab_name, dir);
        }
    } catch (const LabError& e) {
        std::cerr << "wirelab: the lab is broken: " << e.what() << "\n";
        return 2;
    } catch (const EnvError& e) {
        return fail_env(e.problem(), e.fix());
    } catch (const std::exception& e) {
        return fail_env(std::string("internal error: ") + e.what(),
                        "this is a bug in wirelab; please report it with the command you ran");
    }
    return 2;
}
