#include "classroom/hosted.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "classroom/classroom.hpp"
#include "runtime/journal_reader.hpp"
#include "runtime/run_bundle.hpp"
#include "runtime/sqlite.hpp"

namespace wirelab::classroom {

namespace fs = std::filesystem;

bool needs_the_program(const std::string& kind) {
    return kind == "exit" || kind == "output" || kind == "processes" || kind == "timing" || kind == "tool" ||
           kind == "server" || kind == "client" || kind == "python";
}

namespace {

std::string tail_of(const fs::path& file, std::size_t n = 600) {
    std::ifstream f(file, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    std::string t = s.str();
    return t.size() > n ? t.substr(t.size() - n) : t;
}

bool is_sqlite(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    char head[16] = {};
    f.read(head, 16);
    return f && std::string(head, 15) == "SQLite format 3";
}

}  // namespace

Hosted::Hosted(Classroom& classroom, Options opt) : classroom_(classroom), opt_(std::move(opt)) {
    fs::create_directories(opt_.dir);
}

Hosted::~Hosted() { stop_all(); }

const Principal& Hosted::need_learner(const Principal& who) const {
    if (who.role != Principal::Role::learner)
        throw ApiError(who.trainer() ? 403 : 401, "hosted services belong to a learner: use a learner's token");
    return who;
}

bool Hosted::alive(Child& c) {
    if (c.pid <= 0) return false;
    int status = 0;
    pid_t r = ::waitpid(c.pid, &status, WNOHANG);
    if (r == 0) return true;
    c.pid = -1;
    return false;
}

void Hosted::kill_children(const std::vector<Child*>& children) {
    std::vector<Child*> left;
    for (Child* c : children)
        if (c->pid > 0) {
            ::kill(-c->pid, SIGTERM);
            left.push_back(c);
        }
    for (int i = 0; i < 300 && !left.empty(); ++i) {  // 3 s for the journals to be closed cleanly
        std::vector<Child*> still;
        for (Child* c : left) {
            int status = 0;
            if (::waitpid(c->pid, &status, WNOHANG) != 0)
                c->pid = -1;
            else
                still.push_back(c);
        }
        left.swap(still);
        if (!left.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (Child* c : left) {
        ::kill(-c->pid, SIGKILL);
        int status = 0;
        ::waitpid(c->pid, &status, 0);
        c->pid = -1;
    }
}

Hosted::Launch Hosted::launch(std::int64_t learner, const std::string& lab, const Child* previous) {
    Principal who;
    who.role = Principal::Role::learner;
    who.learner = learner;
    json cfg = classroom_.lab_config(who, lab);
    if (!cfg["hosted"].get<bool>())
        throw ApiError(409, "lab \"" + lab + "\" cannot be hosted (its services are files, sockets or tools on your machine)",
                       "run it on your machine: wirelab check " + lab + " script.py --classroom URL --token T");
    const ScenarioLab* sl = classroom_.scenario().lab(lab);
    Launch l;
    l.lab = lab;
    Child& c = l.child;
    c.generation = previous ? previous->generation + 1 : 1;
    c.run_dir = opt_.dir / ("learner-" + std::to_string(learner)) / (lab + "-" + std::to_string(c.generation));
    fs::remove_all(c.run_dir);
    fs::create_directories(c.run_dir.parent_path());
    if (previous) c.ports = previous->ports;
    std::vector<std::string> args{opt_.wirelab.string(), "up", fs::absolute(sl->dir).string(), "--ephemeral",
                                  "--format", "json", "--seed", std::to_string(cfg["seed"].get<std::uint64_t>()),
                                  "--run-dir", c.run_dir.string(), "--listen", opt_.listen};
    json faults = json::object();
    for (auto& [service, f] : cfg["faults"].items()) faults[service] = f["profile"];
    if (!faults.empty()) args.insert(args.end(), {"--class-faults", faults.dump()});
    for (const auto& [name, port] : c.ports) args.insert(args.end(), {"--service-port", name + "=" + std::to_string(port)});
    l.log = c.run_dir.parent_path() / (lab + "-" + std::to_string(c.generation) + ".log");

    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw ApiError(503, "the classroom is out of file descriptors", "stop some hosted sessions");
    pid_t pid = ::fork();
    if (pid < 0) {
        ::close(out[0]);
        ::close(out[1]);
        throw ApiError(503, "the classroom cannot start a process", "stop some hosted sessions");
    }
    if (pid == 0) {
        ::setpgid(0, 0);
        int err = ::open(l.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int in = ::open("/dev/null", O_RDONLY);
        ::dup2(in, 0);
        ::dup2(out[1], 1);
        if (err >= 0) ::dup2(err, 2);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::setpgid(pid, pid);
    ::close(out[1]);
    c.pid = pid;
    l.out = out[0];
    return l;
}

void Hosted::await(std::vector<Launch*>& launches) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    for (;;) {
        std::vector<pollfd> fds;
        std::vector<Launch*> waiting;
        for (Launch* l : launches)
            if (l->out >= 0) {
                fds.push_back({l->out, POLLIN, 0});
                waiting.push_back(l);
            }
        if (fds.empty() || std::chrono::steady_clock::now() >= deadline) break;
        if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            Launch* l = waiting[i];
            char buf[4096];
            ssize_t n = ::read(l->out, buf, sizeof buf);
            if (n > 0) l->line.append(buf, static_cast<std::size_t>(n));
            if (n <= 0 || l->line.find('\n') != std::string::npos) {
                ::close(l->out);
                l->out = -1;
            }
        }
    }
    for (Launch* l : launches)
        if (l->out >= 0) {
            ::close(l->out);
            l->out = -1;
        }
}

Hosted::Child Hosted::finish(Launch& l) {
    Child c = std::move(l.child);
    json info = json::parse(l.line.substr(0, l.line.find('\n')), nullptr, false);
    if (!info.is_object() || !info.contains("services")) {
        kill_child(c);
        std::string why = tail_of(l.log);
        throw ApiError(500, "the hosted services of lab \"" + l.lab + "\" did not start" + (why.empty() ? "" : ": " + why),
                       "tell the trainer (the log is " + l.log.string() + ")");
    }
    for (auto& [name, s] : info["services"].items())
        if (s.contains("port") && s["port"].is_number_integer()) c.ports[name] = s["port"].get<unsigned short>();
    json env = json::object();
    for (auto& [k, v] : info["env"].items())
        if (k.rfind("WIRELAB_", 0) == 0 && k != "WIRELAB_RUN_DIR") env[k] = v;
    c.info = {{"lab", l.lab}, {"services", info["services"]}, {"env", env}, {"generation", c.generation}};
    for (auto& [name, s] : c.info["services"].items()) s.erase("path");
    return c;
}

Hosted::Child Hosted::spawn(std::int64_t learner, const std::string& lab, const Child* previous) {
    Launch l = launch(learner, lab, previous);
    std::vector<Launch*> one{&l};
    await(one);
    return finish(l);
}

json Hosted::start(const Principal& who_in, const std::string& lab) {
    const Principal& who = need_learner(who_in);
    Key key{who.learner, lab};
    auto it = children_.find(key);
    if (it != children_.end() && alive(it->second)) return it->second.info;
    if (it == children_.end() && children_.size() >= opt_.max_sessions)
        throw ApiError(503, "the classroom hosts " + std::to_string(children_.size()) + " sessions, its limit",
                       "run the lab on your machine with `wirelab check --classroom`");
    Child c = spawn(who.learner, lab, it == children_.end() ? nullptr : &it->second);
    children_[key] = std::move(c);
    return children_[key].info;
}

json Hosted::status(const Principal& who_in, const std::string& lab) {
    const Principal& who = need_learner(who_in);
    auto it = children_.find({who.learner, lab});
    if (it == children_.end() || !alive(it->second))
        return {{"lab", lab}, {"running", false}};
    json out = it->second.info;
    out["running"] = true;
    return out;
}

json Hosted::stop(const Principal& who_in, const std::string& lab) {
    const Principal& who = need_learner(who_in);
    auto it = children_.find({who.learner, lab});
    if (it != children_.end()) {
        kill_child(it->second);
        children_.erase(it);
    }
    return {{"lab", lab}, {"running", false}};
}

json Hosted::check(const Principal& who_in, const std::string& lab, const json&) {
    const Principal& who = need_learner(who_in);
    auto it = children_.find({who.learner, lab});
    if (it == children_.end() || !alive(it->second))
        throw ApiError(409, "your hosted services of lab \"" + lab + "\" are not running",
                       "start them first (POST /api/labs/" + lab + "/hosted), run your script against them, then check");
    // a consistent copy of the live journal and state (SQLite's backup API)
    const Child& c = it->second;
    fs::path snap = opt_.dir / ("snapshot-" + std::to_string(who.learner) + "-" + lab);
    fs::remove_all(snap);
    fs::create_directories(snap);
    struct Cleanup {
        fs::path p;
        ~Cleanup() {
            std::error_code ec;
            fs::remove_all(p, ec);
        }
    } cleanup{snap};
    std::this_thread::sleep_for(std::chrono::milliseconds(40));  // the journal's 20 ms flush
    sql::backup(c.run_dir / "journal.db", snap / "journal.db");
    std::string files;
    {
        JournalReader r(snap / "journal.db");
        files = r.meta("state_files");
    }
    json listed = json::parse(files.empty() ? "{}" : files, nullptr, false);
    if (listed.is_object())
        for (auto& [name, rel] : listed.items()) {
            if (!rel.is_string()) continue;
            fs::path from = c.run_dir / rel.get<std::string>(), to = snap / rel.get<std::string>();
            if (!fs::is_regular_file(from)) continue;
            fs::create_directories(to.parent_path());
            if (is_sqlite(from))
                sql::backup(from, to);
            else
                fs::copy_file(from, to, fs::copy_options::overwrite_existing);
        }
    {
        sql::Db db(snap / "journal.db");
        db.exec("UPDATE meta SET value = 'finished' WHERE key = 'status'");
        db.exec("INSERT OR REPLACE INTO meta(key, value) VALUES('mode', 'hosted')");
    }
    return classroom_.submit(who, lab, pack_run(snap), "hosted");
}

void Hosted::reset(const std::string& lab, std::optional<std::int64_t> learner) {
    // every session concerned stops at once, then all start at once: a
    // class-wide fault switch costs one restart's time, not one per learner
    std::vector<std::pair<Key, Child*>> chosen;
    for (auto& [key, c] : children_)
        if ((lab.empty() || key.second == lab) && (!learner || key.first == *learner)) chosen.emplace_back(key, &c);
    std::vector<Child*> stopping;
    for (auto& [key, c] : chosen) stopping.push_back(c);
    kill_children(stopping);
    std::vector<Launch> launches;
    launches.reserve(chosen.size());
    std::vector<Child*> targets;
    for (auto& [key, c] : chosen) {
        try {
            launches.push_back(launch(key.first, key.second, c));
            targets.push_back(c);
        } catch (const std::exception&) {
            c->pid = -1;  // started again on the learner's next request
        }
    }
    std::vector<Launch*> all;
    for (auto& l : launches) all.push_back(&l);
    await(all);
    for (std::size_t i = 0; i < launches.size(); ++i) {
        try {
            *targets[i] = finish(launches[i]);
        } catch (const std::exception&) {
            targets[i]->pid = -1;
        }
    }
}

void Hosted::stop_all() {
    std::vector<Child*> all;
    for (auto& [key, c] : children_) all.push_back(&c);
    kill_children(all);
    children_.clear();
}

}  // namespace wirelab::classroom
