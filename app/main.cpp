// The wirelab command line: parsing and wiring only.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "checks/check.hpp"
#include "checks/report.hpp"
#include "runtime/errors.hpp"
#include "runtime/lab.hpp"
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

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

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
        std::string scheme = s.kind == "nosql" ? "redis" : s.kind == "sql" ? "postgresql" : s.kind;
        where = scheme + "://" + host + ":" + (port ? std::to_string(port) : "<any free port>");
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

int cmd_show(const std::string& name) {
    Lab lab = Lab::load(find_lab(name), service_kind_names(), clients::driver_kind_names());
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
    std::string readme = read_file(lab.readme());
    if (!readme.empty()) std::cout << "\n" << readme << (readme.back() == '\n' ? "" : "\n");
    return 0;
}

struct ReplicaArgs {
    std::string service;
    std::optional<unsigned short> port;
    std::optional<long long> clock_origin_ns;
};

int cmd_up(const std::string& name, bool ephemeral, const std::string& run_dir, const std::string& format,
           std::optional<std::uint64_t> seed, const ReplicaArgs& replica) {
    Lab lab = Lab::load(find_lab(name), service_kind_names(), clients::driver_kind_names());
    SessionOptions opt;
    opt.seed = seed;
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
    std::optional<std::uint64_t> seed;
};

int cmd_check(const CheckArgs& a) {
    Lab lab = Lab::load(find_lab(a.lab), service_kind_names(), clients::driver_kind_names());
    auto compiled = checks::compile_checks(lab);

    std::vector<std::string> argv = a.program;
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

    SessionOptions opt;
    opt.ephemeral = a.ephemeral;
    opt.run_dir = a.run_dir;
    opt.seed = a.seed;
    Session session(lab, service_kinds(), opt, clients::driver_kinds());
    session.start();
    for (auto c : lab.cases) {
        if (a.timeout > 0) c.timeout_s = a.timeout;
        std::vector<std::string> full = argv;
        full.insert(full.end(), c.args.begin(), c.args.end());
        session.run_case(c, full);
        if (session.interrupted()) break;
    }
    std::vector<std::pair<std::string, std::string>> services;
    std::map<std::string, fs::path> states = session.state_files();
    for (const auto& s : session.endpoints()) services.emplace_back(s.name, s.endpoint.url());
    session.stop();
    if (!session.journal().error().empty())
        return fail_env("the journal could not be written: " + session.journal().error(),
                        "check free disk space in " + session.run_dir().string());

    checks::RunData run(session.run_dir() / "journal.db", states);
    checks::ReportInput in;
    in.lab_id = lab.id;
    in.lab_title = lab.title;
    in.run_dir = session.run_dir().string();
    in.services = services;
    in.cases = run.journal().cases();
    in.results = checks::evaluate(compiled, run);
    in.interrupted = session.interrupted();
    std::string text = a.format == "json" ? checks::render_json(in).dump(2) + "\n"
                                          : checks::render_text(in, a.out.empty() && color_for(1));
    if (!a.out.empty()) {
        std::ofstream f(a.out, std::ios::binary);
        if (!f) return fail_env("cannot write " + a.out, "choose another --out path");
        f << text;
    } else {
        std::cout << text << std::flush;
    }
    if (session.interrupted()) return 130;
    return checks::totals(in.results).exit_code();
}

int cmd_lint(const std::string& name) {
    Lab lab = Lab::load(find_lab(name), service_kind_names(), clients::driver_kind_names());
    auto compiled = checks::compile_checks(lab);
    fs::path tmp = fs::temp_directory_path() / ("wirelab-lint-" + std::to_string(::getpid()));
    {
        SessionOptions opt;
        opt.run_dir = tmp;
        opt.handle_signals = false;
        Session session(lab, service_kinds(), opt, clients::driver_kinds());  // validates every service spec
    }
    std::error_code ec;
    fs::remove_all(tmp, ec);
    std::cout << lab.id << ": ok (" << lab.services.size() << " service(s), " << lab.cases.size()
              << " case(s), " << compiled.size() << " check(s))\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
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
    auto* show = app.add_subcommand("show", "Show a lab's task, services and checks");
    show->add_option("lab", lab_name, "lab id or path to a lab folder")->required();

    bool ephemeral = false;
    std::string run_dir;
    auto* up = app.add_subcommand("up", "Start a lab's services and keep them up until Ctrl-C");
    up->add_option("lab", lab_name, "lab id or path to a lab folder")->required();
    up->add_flag("--ephemeral", ephemeral, "listen on free ports instead of the lab's fixed ones");
    up->add_option("--run-dir", run_dir, "where to write the journal (default .wirelab/runs/<lab>-<time>)");
    up->add_option("--format", format, "text, or json: one line of JSON with the endpoints first")
        ->check(CLI::IsMember({"text", "json"}));
    std::optional<std::uint64_t> up_seed;
    up->add_option("--seed", up_seed, "seed of the services' random choices (faults); default: from the lab id");
    // How a Session starts the replicas of a replicated service (not for people).
    ReplicaArgs replica;
    up->add_option("--replica", replica.service)->group("");
    up->add_option("--port", replica.port)->group("");
    up->add_option("--clock-origin", replica.clock_origin_ns)->group("");

    CheckArgs ca;
    auto* check = app.add_subcommand("check", "Run a program against a lab and grade it");
    check->add_option("lab", ca.lab, "lab id or path to a lab folder")->required();
    check->add_option("program", ca.program, "your script.py, or -- CMD ARGS… to run any command");
    check->add_flag("--ephemeral", ca.ephemeral, "listen on free ports instead of the lab's fixed ones");
    check->add_option("--timeout", ca.timeout, "seconds before the program is stopped (default: the lab's)")
        ->check(CLI::PositiveNumber);
    check->add_option("--run-dir", ca.run_dir, "where to write the journal (default .wirelab/runs/<lab>-<time>)");
    check->add_option("--format", ca.format, "text or json")->check(CLI::IsMember({"text", "json"}));
    check->add_option("--out", ca.out, "write the report to FILE instead of standard output");
    check->add_option("--seed", ca.seed, "seed of every random choice (faults); the same seed replays the same run");
    check->add_option("--python", ca.python, "Python interpreter for a script (default $WIRELAB_PYTHON or python3)");

    app.add_subcommand("tool", "Run a lab's command-line tool: wirelab tool NAME ARGS… (inside a lab's run)")
        ->allow_extras();

    auto* lint = app.add_subcommand("lint", "Validate a lab (lab.json, services, checks) without running it");
    lint->add_option("lab", lab_name, "lab id or path to a lab folder")->required();

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
        if (*show) return cmd_show(lab_name);
        if (*up) return cmd_up(lab_name, ephemeral, run_dir, format, up_seed, replica);
        if (*check) return cmd_check(ca);
        if (*lint) return cmd_lint(lab_name);
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
