#include "runtime/session.hpp"
#include "runtime/isolation.hpp"

#include "runtime/tls.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <regex>

#include "runtime/faults.hpp"
#include "runtime/sockets.hpp"

extern char** environ;

namespace wirelab {

namespace fs = std::filesystem;

namespace {
std::string timestamp() {
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    char buf[64];
    std::tm tm{};
    ::localtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
    char out[80];
    std::snprintf(out, sizeof out, "%s-%03lld", buf, static_cast<long long>(ms));
    return out;
}

std::string iso_now() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}
}  // namespace

Session::Session(const Lab& lab, const ServiceKinds& kinds, SessionOptions options,
                 const DriverKinds& drivers)
    : lab_(lab), opt_(std::move(options)), tick_timer_(io_) {
    ::signal(SIGPIPE, SIG_IGN);
    // First, so that the kernel's wait runs while the services start (and
    // the child holds none of their sockets).
    if (opt_.programs && opt_.replica_of.empty()) warmer_ = CgroupWarmer::start();
    run_dir_ = opt_.run_dir.empty() ? fs::path(".wirelab") / "runs" / (lab_.id + "-" + timestamp())
                                    : opt_.run_dir;
    std::error_code ec;
    fs::create_directories(run_dir_ / "state", ec);
    // The run directory is its owner's alone: the journal is the evidence.
    if (!ec) fs::permissions(run_dir_, fs::perms::owner_all, fs::perm_options::replace, ec);
    if (ec || ::access(run_dir_.c_str(), W_OK) != 0)
        throw EnvError("cannot write the run directory " + run_dir_.string() + ": " +
                           (ec ? ec.message() : std::strerror(errno)),
                       "choose another with --run-dir DIR");
    journal_ = std::make_unique<Journal>(run_dir_ / "journal.db", opt_.clock_origin);
    journal_->set_meta("lab", lab_.id);
    journal_->set_meta("started_at", iso_now());
    journal_->set_meta("lab_dir", fs::absolute(lab_.dir).lexically_normal().string());
    seed_ = opt_.seed ? *opt_.seed : lab_.seed;
    journal_->set_meta("seed", std::to_string(seed_));
    if (!opt_.traffic_journal) {
        journal_->set_meta("traffic", "off");
        journal_->set_traffic(false);
    }
    if (!opt_.learner.empty()) journal_->set_meta("learner", opt_.learner);
    if (!lab_.params.empty()) journal_->set_meta("params", nlohmann::json(lab_.params.values()).dump());
    // The learner's socket is the one whose own address is our peer's.
    journal_->set_attributor([this](const std::string& local, const std::string& peer) -> std::optional<int> {
        ProcessTree* t = current_ && current_->running() ? current_->tree() : nullptr;
        if (!t) return std::nullopt;
        auto inode = tcp_socket_inode(peer, local);
        if (!inode) return std::nullopt;
        return t->owner_of_socket(*inode);
    });

    if (!opt_.replica_of.empty() &&
        std::none_of(lab_.services.begin(), lab_.services.end(),
                     [&](const ServiceEntry& e) { return e.name == opt_.replica_of; }))
        throw EnvError("lab " + lab_.id + " has no service named \"" + opt_.replica_of + "\"");
    for (const auto& entry : lab_.services) {
        if (!opt_.replica_of.empty() && entry.name != opt_.replica_of) continue;
        const ServiceKind* kind = nullptr;
        for (const auto& k : kinds)
            if (k.name == entry.kind) kind = &k;
        if (!kind) throw LabError(lab_.doc->at(entry.pointer), "unknown service kind " + entry.kind);
        Spec spec(lab_.doc, lab_.doc->root().at(json::json_pointer(entry.pointer)), entry.pointer,
                  "service \"" + entry.name + "\"");
        spec.get("kind");
        spec.get("faults");    // read by Lab::load
        spec.get("replicas");  // read by Lab::load
        std::optional<unsigned short> port = opt_.port;
        if (auto p = opt_.ports.find(entry.name); p != opt_.ports.end()) port = p->second;
        if (!tls_) tls_ = std::make_unique<tls::Authority>(run_dir_, run_dir_ / "state");
        ServiceContext ctx{entry.name, spec, io_, *journal_, lab_.dir, run_dir_ / "state",
                           opt_.ephemeral, port, &lab_.params, opt_.listen, tls_.get()};
        auto svc = kind->make(ctx);  // validates the spec, replicated or not
        if (entry.replicas > 0 && opt_.replica_of.empty()) {
            const json& raw = lab_.doc->root().at(json::json_pointer(entry.pointer));
            ReplicaSetOptions ro;
            ro.service = entry.name;
            ro.count = entry.replicas;
            ro.lab_dir = fs::absolute(lab_.dir);
            ro.run_dir = fs::absolute(run_dir_);
            ro.seed = seed_;
            ro.ephemeral = opt_.ephemeral;
            ro.base_port = static_cast<unsigned short>(raw.value("port", 0));
            svc = std::make_unique<ReplicaSet>(io_, *journal_, ro);
        }
        services_.emplace_back(entry, std::move(svc));
        services_.back().second->set_faults(entry.faults, mix_seed(seed_, hash_name(entry.name)));
    }
    for (const auto& entry : lab_.clients) {
        if (!opt_.replica_of.empty()) break;
        const DriverKind* kind = nullptr;
        for (const auto& k : drivers)
            if (k.name == entry.kind) kind = &k;
        if (!kind) throw LabError(lab_.doc->at(entry.pointer), "unknown client kind " + entry.kind);
        Spec spec(lab_.doc, lab_.doc->root().at(json::json_pointer(entry.pointer)), entry.pointer,
                  "client \"" + entry.name + "\"");
        spec.get("kind");
        DriverContext ctx{entry.name, spec, io_, *journal_};
        drivers_.emplace_back(entry, kind->make(ctx));
    }
    if (lab_.server) {
        server_addr_.host = lab_.server->host;
        server_addr_.port = lab_.server->port;
        if (server_addr_.port == 0 || opt_.ephemeral) {
            // A free port, the same for every case (a restarted server
            // binds it again: that is what SO_REUSEADDR is for).
            tcp::acceptor probe(io_, tcp::endpoint(asio::ip::make_address(server_addr_.host), 0));
            server_addr_.port = probe.local_endpoint().port();
        }
        journal_->set_meta("listen", server_addr_.host + ":" + std::to_string(server_addr_.port));
    }
    // The journal was made on its writer thread while the services were.
    try {
        journal_->opened();
    } catch (const std::exception& e) {
        throw EnvError(std::string("cannot create the journal: ") + e.what(),
                       "check that " + run_dir_.string() + " is writable and the disk not full");
    }
}

Session::~Session() {
    try {
        stop();
    } catch (...) {
    }
}

void Session::tick() {
    tick_timer_.expires_after(std::chrono::milliseconds(20));
    tick_timer_.async_wait([this](error_code ec) {
        if (ec) return;
        for (auto& [e, s] : services_) s->tick();
        journal_->commit();  // not waiting: serving goes on while SQLite writes
        // Without a journal the run proves nothing: stop the program now.
        if (!journal_->error().empty() && current_ && current_->running() && !journal_failed_) {
            journal_failed_ = true;
            current_->terminate("the journal could not be written");
        }
        tick();
    });
}

void Session::flush() {
    for (auto& [e, s] : services_) s->flush();
    journal_->flush();
}

void Session::start() {
    for (auto& [entry, svc] : services_) {
        svc->start();
        auto ep = svc->endpoint();
        nlohmann::json d = {{"kind", entry.kind}, {"url", ep.url()}, {"port", ep.port}};
        if (!ep.path.empty()) d["path"] = ep.path;
        journal_->event("service-start", entry.name, d);
        boost::system::error_code bad;
        auto addr = asio::ip::make_address(ep.host, bad);
        if (ep.path.empty() && !bad && !addr.is_loopback() && opt_.replica_of.empty())
            std::cerr << "wirelab: service " << entry.name << " listens on " << ep.host << ":" << ep.port
                      << (addr.is_unspecified() ? " (every network interface)" : "")
                      << ": other machines can connect to it" << (opt_.listen.empty() ? " (the lab's \"host\")" : " (--listen)")
                      << std::endl;
    }
    if (!opt_.replica_of.empty()) {
        agent_ = std::make_unique<ReplicaAgent>(io_, *journal_);
        agent_->start();
    }
    if (opt_.handle_signals) {
        signals_ = std::make_unique<asio::signal_set>(io_, SIGINT, SIGTERM);
        signals_->async_wait([this](error_code ec, int sig) {
            if (ec) return;
            interrupted_ = true;
            journal_->event("signal", "", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
            if (current_) current_->terminate("interrupted");
            for (auto& [e, s] : services_) s->stop();
            for (auto& [e, d] : drivers_) d->stop();
            tick_timer_.cancel();
        });
    }
    record_state_files();
    tick();
    flush();
}

void Session::record_state_files() {
    // Where each state file is, relative to the run directory, so that
    // `wirelab report` can evaluate the checks of a run again.
    nlohmann::json files = nlohmann::json::object();
    for (const auto& [name, path] : state_files())
        if (!path.empty()) files[name] = fs::relative(fs::absolute(path), fs::absolute(run_dir_)).string();
    journal_->set_meta("state_files", files.dump());
}

std::map<std::string, std::string> Session::environment() const {
    std::map<std::string, std::string> env;
    for (const auto& s : endpoints()) {
        std::string stem = service_env_stem(s.name);
        env[stem + "_URL"] = s.endpoint.url();
        if (!s.endpoint.path.empty()) {
            env[stem + "_PATH"] = s.endpoint.path;
            continue;
        }
        env[stem + "_HOST"] = s.endpoint.host;
        env[stem + "_PORT"] = std::to_string(s.endpoint.port);
    }
    env["WIRELAB_RUN_DIR"] = fs::absolute(run_dir_).string();
    if (tls_ && !tls_->ca_file().empty()) env["WIRELAB_CA_FILE"] = tls_->ca_file();
    for (const auto& [e, s] : services_) s->add_environment(env);
    if (lab_.server) {
        env["WIRELAB_LISTEN_HOST"] = server_addr_.host;
        env["WIRELAB_LISTEN_PORT"] = std::to_string(server_addr_.port);
    }
    return env;
}

std::vector<ServiceEndpoint> Session::endpoints() const {
    std::vector<ServiceEndpoint> out;
    for (const auto& [e, s] : services_) out.push_back({e.name, e.kind, s->endpoint()});
    return out;
}

fs::path Session::state_file(const std::string& name) const {
    for (const auto& [e, s] : services_)
        if (e.name == name) return s->state_file();
    return {};
}

std::map<std::string, fs::path> Session::state_files() const {
    std::map<std::string, fs::path> out;
    for (const auto& [e, s] : services_) {
        out[e.name] = s->state_file();
        for (const auto& [c, p] : s->case_state_files()) out[e.name + "@" + c] = p;
    }
    return out;
}

namespace {
// "${WIRELAB_API_PORT}" in a case's arguments becomes the value.
std::string expand_vars(const std::string& s, const std::map<std::string, std::string>& vars) {
    static const std::regex var_re(R"(\$\{([A-Za-z_][A-Za-z0-9_]*)\})");
    std::string out;
    auto last = s.cbegin();
    for (std::sregex_iterator it(s.begin(), s.end(), var_re), end; it != end; ++it) {
        out.append(last, s.cbegin() + it->position());
        auto v = vars.find((*it)[1].str());
        out += v != vars.end() ? v->second : it->str();
        last = s.cbegin() + it->position() + it->length();
    }
    out.append(last, s.cend());
    return out;
}
}  // namespace

CaseOutcome Session::run_case(const CaseSpec& c, const std::vector<std::string>& argv_in) {
    std::map<std::string, std::string> vars;
    for (char** e = environ; *e; ++e) {
        std::string kv = *e;
        auto eq = kv.find('=');
        if (eq != std::string::npos) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    vars["PYTHONUNBUFFERED"] = "1";  // partial output survives a timeout
    vars["PYTHONDONTWRITEBYTECODE"] = "1";
    for (auto& [k, v] : environment()) vars[k] = v;
    vars["WIRELAB_CASE"] = c.name;
    for (auto& [k, v] : c.env) vars[k] = expand_vars(v, vars);
    std::vector<std::string> argv;
    for (const auto& a : argv_in) argv.push_back(expand_vars(a, vars));

    if (warmer_) warmer_->keep();
    auto case_id = journal_->begin_case(c.name, shell_quote(argv));
    // Each service's profile for this case, seeded from the Session's seed,
    // the case and the service, so a run replays exactly.
    std::uint64_t case_seed = mix_seed(seed_, hash_name(c.name));
    nlohmann::json applied = nlohmann::json::object();
    for (auto& [entry, svc] : services_) {
        const FaultProfile& p = lab_.faults_for(c, entry.name);
        svc->set_faults(p, mix_seed(case_seed, hash_name(entry.name)));
        if (!p.empty()) applied[entry.name] = p.describe();
    }
    if (!applied.empty()) journal_->event("faults", "", {{"case", c.name}, {"services", applied}});
    // Each service hears of the case's start (replicas heal, files are
    // seeded) and, once the program is gone, of its end.
    for (auto& [entry, svc] : services_) svc->begin_case(c);

    ProcessSpec ps;
    ps.argv = argv;
    for (auto& [k, v] : vars) ps.env.push_back(k + "=" + v);
    ps.stdin_data = c.stdin_data;
    ps.limits = c.limits;
    ps.marker = "WIRELAB_RUN_DIR=" + vars["WIRELAB_RUN_DIR"];
    ps.cgroup_name = "wirelab-" + std::to_string(::getpid()) + "-" + std::to_string(case_id);
    ps.clock = [j = journal_.get()] { return j->now(); };
    // The evidence, out of the program's sight: the journal and the state
    // the checks read (docs/security.md).
    for (const char* suffix : {"", "-wal", "-shm"}) ps.hidden.push_back(journal_->file().string() + suffix);
    ps.hidden.push_back(run_dir_ / "state");
    ps.hidden_cover = run_dir_ / "state" / ".cover";
    double t = c.timeout_s > 0 ? c.timeout_s : lab_.timeout_s;
    ps.timeout = std::chrono::milliseconds(static_cast<long long>(t * 1000));

    if (lab_.server) return run_server_case(c, std::move(ps), case_id);

    CaseOutcome result;
    bool done = false;
    current_ = std::make_shared<Process>(io_, ps);
    current_->start([&](CaseOutcome o) {
        result = std::move(o);
        done = true;
    });
    say_whether_hidden();
    while (!done && !io_.stopped()) io_.run_one();
    current_.reset();
    // Let the connections the program left behind close (their FIN is
    // already in the kernel once the process is gone).
    return close_case(c, case_id, std::move(result), std::chrono::milliseconds(500));
}

CaseOutcome Session::close_case(const CaseSpec& c, std::int64_t case_id, CaseOutcome result,
                                std::chrono::milliseconds linger) {
    // The connections still open may close, bounded in time.
    auto until = std::chrono::steady_clock::now() + linger;
    while (journal_->open_connections() > 0 && std::chrono::steady_clock::now() < until && !io_.stopped())
        io_.run_one_for(std::chrono::milliseconds(10));
    io_.poll();
    end_services(c);
    journal_->end_case(case_id, result);
    flush();
    if (warmer_) warmer_->keep();  // the next case's move is fast too
    return result;
}

namespace {
micros to_us(double seconds) { return static_cast<micros>(seconds * 1e6); }

/// Whether something accepts TCP connections on host:port (a connect that
/// succeeds is closed at once).
awaitable<bool> accepts(asio::io_context& io, const ServerAddress& a) {
    tcp::socket s(io);
    error_code ec;
    co_await s.async_connect(tcp::endpoint(asio::ip::make_address(a.host), a.port),
                             asio::redirect_error(use_awaitable, ec));
    error_code ig;
    s.close(ig);
    co_return !ec;
}

awaitable<void> sleep_for(asio::io_context& io, std::chrono::milliseconds d) {
    asio::steady_timer t(io, d);
    error_code ec;
    co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
}
}  // namespace

awaitable<bool> Session::wait_listening(std::shared_ptr<Process> proc) {
    micros start = journal_->now();
    micros deadline = start + to_us(lab_.server->ready_timeout_s);
    std::string where = server_addr_.host + ":" + std::to_string(server_addr_.port);
    for (;;) {
        if (!proc->running()) {
            journal_->event("server", "", {{"state", "not-listening"}, {"why", "exited"}, {"address", where},
                                           {"after_ms", (journal_->now() - start) / 1000}});
            co_return false;
        }
        if (co_await accepts(io_, server_addr_)) {
            journal_->event("server", "", {{"state", "listening"}, {"address", where},
                                           {"after_ms", (journal_->now() - start) / 1000}});
            co_return true;
        }
        if (journal_->now() > deadline) {
            journal_->event("server", "", {{"state", "not-listening"}, {"why", "timeout"}, {"address", where},
                                           {"after_ms", (journal_->now() - start) / 1000}});
            co_return false;
        }
        co_await sleep_for(io_, std::chrono::milliseconds(20));
    }
}

awaitable<void> Session::run_client(std::string name, Driver& driver, std::uint64_t seed) {
    journal_->event("client", name, {{"state", "start"}});
    try {
        co_await driver.run(server_addr_, mix_seed(seed, hash_name(name)));
    } catch (const std::exception& e) {
        journal_->event("internal-error", name, {{"what", e.what()}});
    }
    journal_->event("client", name, {{"state", "end"}});
}

awaitable<void> Session::orchestrate(const CaseSpec& c, std::shared_ptr<Process> proc, std::uint64_t seed,
                                     bool& done) {
    if (co_await wait_listening(proc)) {
        // The case's order; without a list, every client by name.
        std::vector<std::pair<ClientEntry, std::unique_ptr<Driver>>*> order;
        if (c.clients.empty())
            for (auto& d : drivers_) order.push_back(&d);
        else
            for (const auto& n : c.clients)
                for (auto& d : drivers_)
                    if (d.first.name == n) order.push_back(&d);
        if (c.clients_at_once) {
            auto left = std::make_shared<std::size_t>(order.size());
            asio::steady_timer all(io_, std::chrono::steady_clock::time_point::max());
            for (auto* d : order)
                asio::co_spawn(io_, run_client(d->first.name, *d->second, seed), [left, &all](std::exception_ptr) {
                    if (--*left == 0) all.cancel();
                });
            error_code ec;
            if (*left > 0) co_await all.async_wait(asio::redirect_error(use_awaitable, ec));
        } else {
            for (auto* d : order) {
                if (!proc->running() || stopped_) break;
                co_await run_client(d->first.name, *d->second, seed);
            }
        }
    }
    // A server that is dying by itself (its sockets already closed, its
    // exit not yet reported) is given a moment, so it is not credited with
    // stopping on a signal it never needed.
    co_await sleep_for(io_, std::chrono::milliseconds(100));
    auto grace = std::chrono::milliseconds(static_cast<long long>(lab_.server->stop_grace_s * 1000));
    for (int sig : {SIGINT, SIGTERM, SIGKILL}) {
        if (!proc->running() || proc->has_exited()) break;
        const char* name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGKILL";
        journal_->event("server", "", {{"state", "stopping"}, {"signal", name}});
        proc->signal(sig);
        auto until = std::chrono::steady_clock::now() + grace;
        while (proc->running() && std::chrono::steady_clock::now() < until)
            co_await sleep_for(io_, std::chrono::milliseconds(10));
    }
    while (proc->running()) co_await sleep_for(io_, std::chrono::milliseconds(10));
    // Did it let go of the port? Binding with SO_REUSEADDR succeeds unless
    // something still listens (a TIME_WAIT does not count).
    tcp::acceptor probe(io_);
    error_code ec;
    tcp::endpoint ep(asio::ip::make_address(server_addr_.host), server_addr_.port);
    probe.open(ep.protocol(), ec);
    if (!ec) probe.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) probe.bind(ep, ec);
    if (!ec) probe.listen(1, ec);
    journal_->event("server", "", {{"state", "port"}, {"released", !ec}});
    probe.close(ec);
    done = true;
}

void Session::say_whether_hidden() {
    // Known once the first program's child tried the covers.
    if (hidden_said_) return;
    if (auto why = isolation::known()) {
        journal_->set_meta("evidence_hidden", why->empty() ? "yes" : "no: " + *why);
        hidden_said_ = true;
    }
}

CaseOutcome Session::run_server_case(const CaseSpec& c, ProcessSpec ps, std::int64_t case_id) {
    CaseOutcome result;
    bool exited = false, orchestrated = false;
    current_ = std::make_shared<Process>(io_, ps);
    current_->start([&](CaseOutcome o) {
        result = std::move(o);
        exited = true;
    });
    say_whether_hidden();
    asio::co_spawn(io_, orchestrate(c, current_, mix_seed(seed_, hash_name(c.name)), orchestrated),
                   asio::detached);
    while (!(exited && orchestrated) && !io_.stopped()) io_.run_one();
    current_.reset();
    // Connections the clients left open close with their drivers.
    return close_case(c, case_id, std::move(result), std::chrono::milliseconds(200));
}

void Session::end_services(const CaseSpec& c) {
    for (auto& [e, svc] : services_) {
        try {
            svc->end_case(c);
        } catch (const std::exception& ex) {
            journal_->event("internal-error", e.name, {{"what", ex.what()}});
        }
    }
}

void Session::serve(const std::function<void()>& ready) {
    if (ready) ready();
    while (!interrupted_ && !stopped_ && !io_.stopped()) io_.run_one();
}

void Session::stop() {
    if (stopped_) return;
    stopped_ = true;
    warmer_.reset();
    for (auto& [e, s] : services_) s->stop();
    for (auto& [e, d] : drivers_) d->stop();
    tick_timer_.cancel();
    if (signals_) {
        error_code ig;
        signals_->cancel(ig);
    }
    // Let sessions observe the stop and record their close.
    for (int i = 0; i < 50 && io_.poll() > 0; ++i) {
    }
    record_state_files();
    flush();
    journal_->finish(interrupted_ && !opt_.signal_is_normal_stop ? "interrupted" : "finished");
}

}  // namespace wirelab
