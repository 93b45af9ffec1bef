#include "runtime/proctree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace wirelab {

namespace {

std::string read_small(const std::string& path, std::size_t cap = 8192) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return {};
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() >= cap) break;
    }
    ::close(fd);
    return out;
}

bool write_small(const std::string& path, const std::string& text) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    return ok;
}

std::string cmdline_of(int pid) {
    std::string raw = read_small("/proc/" + std::to_string(pid) + "/cmdline", 4096);
    while (!raw.empty() && raw.back() == '\0') raw.pop_back();
    for (char& c : raw)
        if (c == '\0') c = ' ';
    return raw;
}

micros boottime_us() {
    timespec ts{};
    ::clock_gettime(CLOCK_BOOTTIME, &ts);
    return static_cast<micros>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

std::vector<int> list_pids() {
    std::vector<int> out;
    DIR* d = ::opendir("/proc");
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        const char* n = e->d_name;
        if (*n < '1' || *n > '9') continue;
        out.push_back(std::atoi(n));
    }
    ::closedir(d);
    return out;
}

/// Where this process sits in the pids hierarchy (v1) or the unified one.
std::string own_cgroup(const std::string& controller) {
    std::ifstream in("/proc/self/cgroup");
    for (std::string line; std::getline(in, line);) {
        auto a = line.find(':'), b = line.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        std::string ctrls = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
        if (controller.empty() ? ctrls.empty() && line.compare(0, 2, "0:") == 0
                               : ("," + ctrls + ",").find("," + controller + ",") != std::string::npos)
            return path == "/" ? "" : path;
    }
    return "";
}

}  // namespace

void become_subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

// ---- Cgroup ----------------------------------------------------------------

namespace {
// The cgroups of a wirelab that was killed (wirelab-<pid>-<case> whose pid
// is gone): what still runs in them is a learner's program nobody watches
// any more; it is killed and the group removed. Once per process.
void sweep_orphaned_groups(const std::string& parent) {
    static std::set<std::string> swept;
    if (!swept.insert(parent).second) return;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(parent, ec); !ec && it != std::filesystem::directory_iterator();
         it.increment(ec)) {
        std::string name = it->path().filename().string();
        int owner = 0, case_id = 0;
        char tail = 0;
        if (std::sscanf(name.c_str(), "wirelab-%d-%d%c", &owner, &case_id, &tail) != 2 || owner <= 0) continue;
        if (::kill(owner, 0) == 0 || errno != ESRCH) continue;  // its wirelab still runs
        for (int round = 0; round < 20; ++round) {
            std::istringstream in(read_small(it->path().string() + "/cgroup.procs", 1 << 20));
            bool any = false;
            for (int pid; in >> pid;) any = true, ::kill(pid, SIGKILL);
            if (!any || ::rmdir(it->path().c_str()) == 0) break;
            ::usleep(5000);
        }
        ::rmdir(it->path().c_str());
    }
}
}  // namespace

namespace {
/// Where a group of ours can be made: none with WIRELAB_NO_CGROUP set.
std::vector<std::string> group_parents() {
    if (const char* off = std::getenv("WIRELAB_NO_CGROUP"); off && *off && std::string(off) != "0") return {};
    std::vector<std::string> parents;
    // cgroup v1: a pids hierarchy of its own.
    if (::access("/sys/fs/cgroup/pids/cgroup.procs", W_OK) == 0)
        parents.push_back("/sys/fs/cgroup/pids" + own_cgroup("pids"));
    // cgroup v2 (at the top, or beside v1 under "unified"), if pids is
    // delegated to our group's children.
    for (std::string root : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
        std::string p = root + own_cgroup("");
        if (read_small(p + "/cgroup.subtree_control").find("pids") != std::string::npos) parents.push_back(p);
    }
    return parents;
}
}  // namespace

std::unique_ptr<CgroupWarmer> CgroupWarmer::start() {
    auto parents = group_parents();
    // With cgroup v1 (the first choice of Cgroup::create too) a case's
    // program joins its group through `tasks`, which takes no lock.
    if (parents.empty() || ::access((parents.front() + "/tasks").c_str(), W_OK) == 0) return nullptr;
    // Case 0: no case has it, and a wirelab killed meanwhile leaves a group
    // the next one sweeps away (wirelab-<pid>-<case>).
    std::string path = parents.front() + "/wirelab-" + std::to_string(::getpid()) + "-0";
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return nullptr;
    int procs = ::open((path + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    int keep[2];
    if (procs < 0 || ::pipe2(keep, O_CLOEXEC) != 0) {
        if (procs >= 0) ::close(procs);
        ::rmdir(path.c_str());
        return nullptr;
    }
    pid_t pid = ::fork();
    if (pid == 0) {
        // Only async-signal-safe calls from here: the parent has threads.
        ::close(keep[1]);
        auto now_ms = [] {
            timespec t{};
            ::clock_gettime(CLOCK_MONOTONIC, &t);
            return static_cast<long long>(t.tv_sec) * 1000 + t.tv_nsec / 1'000'000;
        };
        long long until = now_ms() + kLinger_ms;
        for (;;) {
            (void)!::write(procs, "0", 1);
            pollfd p{keep[0], POLLIN, 0};
            if (::poll(&p, 1, kPeriod_ms) > 0) {
                char buf[64];
                if (::read(keep[0], buf, sizeof buf) <= 0) ::_exit(0);  // closed: wirelab is done or gone
                until = now_ms() + kLinger_ms;
            }
            if (now_ms() >= until) ::_exit(0);
        }
    }
    ::close(procs);
    ::close(keep[0]);
    if (pid < 0) {
        ::close(keep[1]);
        ::rmdir(path.c_str());
        return nullptr;
    }
    auto w = std::unique_ptr<CgroupWarmer>(new CgroupWarmer);
    w->pid_ = pid;
    w->keep_fd_ = keep[1];
    w->path_ = std::move(path);
    return w;
}

void CgroupWarmer::keep() {
    if (keep_fd_ >= 0) (void)!::write(keep_fd_, "k", 1);  // a child gone already: EPIPE, ignored
}

CgroupWarmer::~CgroupWarmer() {
    ::close(keep_fd_);
    ::waitpid(pid_, nullptr, 0);
    ::rmdir(path_.c_str());
}

std::unique_ptr<Cgroup> Cgroup::create(const std::string& name, int pids_max) {
    for (const auto& parent : group_parents()) {
        sweep_orphaned_groups(parent);
        std::string path = parent + "/" + name;
        if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) continue;
        auto g = std::unique_ptr<Cgroup>(new Cgroup);
        g->path_ = path;
        if (!write_small(path + "/pids.max", std::to_string(pids_max))) {
            ::rmdir(path.c_str());
            g->path_.clear();
            continue;
        }
        g->join_fd_ = ::open((path + "/tasks").c_str(), O_WRONLY | O_CLOEXEC);  // cgroup v1 only
        g->join_locks_ = g->join_fd_ < 0;
        if (g->join_fd_ < 0) g->join_fd_ = ::open((path + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
        if (g->join_fd_ < 0) {
            ::rmdir(path.c_str());
            g->path_.clear();
            continue;
        }
        return g;
    }
    return nullptr;
}

std::vector<int> Cgroup::pids() const {
    std::vector<int> out;
    std::istringstream in(read_small(path_ + "/cgroup.procs", 1 << 20));
    for (int p; in >> p;) out.push_back(p);
    return out;
}

long Cgroup::refused() const {
    std::string ev = read_small(path_ + "/pids.events");
    auto at = ev.find("max ");
    return at == std::string::npos ? 0 : std::atol(ev.c_str() + at + 4);
}

void Cgroup::kill_all() {
    for (int round = 0; round < 200; ++round) {
        auto ps = pids();
        if (ps.empty()) return;
        for (int p : ps) ::kill(p, SIGKILL);
        // Zombies that are our children stay listed until reaped.
        for (int p : ps) ::waitpid(p, nullptr, WNOHANG);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

Cgroup::~Cgroup() {
    if (path_.empty()) return;
    kill_all();
    if (join_fd_ >= 0) ::close(join_fd_);
    for (int i = 0; i < 100 && ::rmdir(path_.c_str()) != 0 && errno == EBUSY; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

// ---- ProcessTree -----------------------------------------------------------

ProcessTree::ProcessTree(pid_t root, std::function<micros()> clock, std::string marker, Cgroup* cgroup)
    : root_(root), self_(::getpid()), clock_(std::move(clock)), marker_(std::move(marker)), cgroup_(cgroup) {
    int ppid, pgid, threads;
    char state;
    unsigned long long ticks = 0;
    if (!read_stat(root, ppid, pgid, state, threads, ticks)) ppid = self_, threads = 1;
    add(root, self_, threads, ticks);
    live_[root].root = true;
}

bool ProcessTree::read_stat(int pid, int& ppid, int& pgid, char& state, int& threads,
                            unsigned long long& start_ticks) const {
    std::string s = read_small("/proc/" + std::to_string(pid) + "/stat", 1024);
    // The command name is in parentheses and may itself contain them.
    auto close = s.rfind(')');
    if (close == std::string::npos || close + 2 >= s.size()) return false;
    std::istringstream in(s.substr(close + 2));
    // Fields from 3 (state) on; threads is field 20, starttime field 22.
    std::string f[20];
    for (int i = 0; i < 20 && in >> f[i]; ++i) {
    }
    if (f[19].empty()) return false;
    state = f[0][0];
    ppid = std::atoi(f[1].c_str());
    pgid = std::atoi(f[2].c_str());
    threads = std::atoi(f[17].c_str());
    start_ticks = std::strtoull(f[19].c_str(), nullptr, 10);
    return true;
}

bool ProcessTree::is_member_orphan(int pid, int pgid) const {
    // A child of wirelab that is not the root: an orphan the kernel handed
    // over. It is ours if it is in the program's process group or carries
    // the run's marker in its environment.
    if (pgid == root_) return true;
    std::string env = read_small("/proc/" + std::to_string(pid) + "/environ", 1 << 16);
    std::string needle = marker_;
    return !needle.empty() &&
           (env.compare(0, needle.size() + 1, needle + '\0') == 0 || env.find('\0' + needle + '\0') != std::string::npos);
}

bool ProcessTree::root_running() const {
    // Read after the child's own stat showed wirelab as its parent: if the
    // program still runs now, it ran when the child was handed over, so
    // another parent of the tree died first. A helper handed over as the
    // program exited (a resource tracker) is no orphan, wherever its pid
    // falls in the walk (pids wrap, so it can come before the program's).
    int ppid, pgid, threads;
    char state;
    unsigned long long ticks;
    auto it = live_.find(root_);
    return it != live_.end() && read_stat(root_, ppid, pgid, state, threads, ticks) && state != 'Z' &&
           state != 'X' && (!it->second.start_ticks || ticks == it->second.start_ticks);
}

void ProcessTree::add(int pid, int ppid, int threads, unsigned long long ticks) {
    ProcRecord r;
    r.pid = pid;
    r.ppid = ppid;
    r.cmdline = cmdline_of(pid);
    r.threads_max = std::max(1, threads);
    r.start_ticks = ticks;
    micros now = clock_();
    long hz = ::sysconf(_SC_CLK_TCK);
    micros started = now;
    if (ticks && hz > 0) started = now - (boottime_us() - static_cast<micros>(ticks) * 1000000 / hz);
    r.started_us = std::clamp<micros>(started, 0, now);
    r.orphaned = ppid == self_ && pid != root_ && root_running();
    live_[pid] = std::move(r);
    peak_ = std::max(peak_, live_.size());
}

void ProcessTree::end(int pid, micros t) {
    auto it = live_.find(pid);
    if (it == live_.end()) return;
    it->second.ended_us = t;
    ended_keys_.insert({pid, it->second.start_ticks});
    ended_.push_back(std::move(it->second));
    live_.erase(it);
}

std::size_t ProcessTree::sample() {
    micros now = clock_();
    std::vector<int> pids;
    if (cgroup_) {
        pids = cgroup_->pids();
    } else {
        pids = list_pids();
    }
    std::set<int> present(pids.begin(), pids.end());
    // Known processes: still there, same process (not a reused pid), not a zombie?
    for (auto it = live_.begin(); it != live_.end();) {
        int pid = it->first;
        int ppid, pgid, threads;
        char state;
        unsigned long long ticks;
        bool gone = !present.count(pid) || !read_stat(pid, ppid, pgid, state, threads, ticks) ||
                    (it->second.start_ticks && ticks != it->second.start_ticks);
        if (!gone && (state == 'Z' || state == 'X')) {
            if (ppid == self_ && pid != root_) {
                // An orphan that exited: wirelab reaps it.
                int status = 0;
                if (::waitpid(pid, &status, WNOHANG) == pid) {
                    it->second.reaped_by_wirelab = true;
                    if (WIFEXITED(status)) it->second.exit_code = WEXITSTATUS(status);
                    if (WIFSIGNALED(status)) it->second.signal = WTERMSIG(status);
                }
            }
            gone = true;
        }
        if (gone) {
            ++it;
            end(pid, now);
            continue;
        }
        ProcRecord& r = it->second;
        // Orphaned while the program ran; what it leaves at its exit is
        // "left running" instead.
        if (ppid == self_ && pid != root_ && !r.orphaned && root_running()) r.orphaned = true;
        r.ppid = ppid;
        r.threads_max = std::max(r.threads_max, threads);
        ++it;
    }
    // Strangers that went away may come back as a new process with the
    // same pid: forget them.
    for (auto it = strangers_.begin(); it != strangers_.end();)
        it = present.count(*it) ? std::next(it) : strangers_.erase(it);
    // New processes: members if their parent is one (to a fixed point, as a
    // parent may be new too).
    struct Candidate {
        int ppid, pgid, threads;
        char state;
        unsigned long long ticks;
    };
    std::map<int, Candidate> cands;
    for (int pid : pids) {
        if (live_.count(pid) || strangers_.count(pid) || pid == self_) continue;
        Candidate c{};
        if (!read_stat(pid, c.ppid, c.pgid, c.state, c.threads, c.ticks)) continue;
        // A process already recorded as ended (a zombie leader whose other
        // threads still run, a zombie not yet reaped) is not new.
        if (ended_keys_.count({pid, c.ticks})) continue;
        cands[pid] = c;
    }
    // Resolve each candidate by walking up through candidates (memoised):
    // linear in the number of new processes, however deep the tree.
    std::map<int, int> verdict;  // pid -> 1 member, 0 not, -1 being resolved
    std::function<bool(int)> member = [&](int pid) -> bool {
        auto v = verdict.find(pid);
        if (v != verdict.end()) return v->second == 1;
        verdict[pid] = -1;
        const Candidate& c = cands.at(pid);
        bool m = cgroup_ != nullptr || live_.count(c.ppid) ||
                 (c.ppid == self_ && is_member_orphan(pid, c.pgid));
        if (!m && cands.count(c.ppid) && c.ppid != pid) {
            auto up = verdict.find(c.ppid);
            m = up == verdict.end() ? member(c.ppid) : up->second == 1;
        }
        verdict[pid] = m ? 1 : 0;
        return m;
    };
    std::vector<int> order;
    for (auto& [pid, c] : cands)
        if (member(pid)) order.push_back(pid);
    // Parents before children, so each knows its parent's record.
    std::sort(order.begin(), order.end(), [&](int a, int b) { return cands[a].ticks < cands[b].ticks; });
    for (int pid : order) {
        const Candidate& c = cands[pid];
        add(pid, c.ppid, c.threads, c.ticks);
        if (c.state == 'Z') end(pid, now);
        cands.erase(pid);
    }
    for (auto& [pid, c] : cands) strangers_.insert(pid);
    peak_ = std::max(peak_, live_.size());
    return live_.size();
}

namespace {
/// Kernel scheduling entities on the machine (/proc/loadavg, "r/total").
long system_tasks() {
    std::string s = read_small("/proc/loadavg", 256);
    auto slash = s.find('/');
    return slash == std::string::npos ? -1 : std::atol(s.c_str() + slash + 1);
}
}  // namespace

std::size_t ProcessTree::watch(int cap) {
    if (cgroup_ || cap <= 0) return sample();
    long tasks = system_tasks();
    if (baseline_tasks_ < 0) baseline_tasks_ = tasks;
    bool suspicious = tasks >= 0 && tasks - baseline_tasks_ > cap + 32;
    if (!suspicious) {
        sample();
        if (live_.size() <= static_cast<std::size_t>(cap)) return live_.size();
    }
    ::kill(-root_, SIGSTOP);
    sample();
    if (live_.size() > static_cast<std::size_t>(cap)) return live_.size();
    ::kill(-root_, SIGCONT);
    // And each process of the tree by itself: one forked while the group
    // was being stopped can be left with the stop and not the continue
    // (seen: a child stopped at its first instruction, its parent waiting
    // on it for ever), and one that left the group (setsid) was stopped
    // with it if it left late.
    for (const auto& [pid, p] : live_) ::kill(pid, SIGCONT);
    baseline_tasks_ = system_tasks();
    return live_.size();
}

void ProcessTree::root_exited(std::optional<int> code, std::optional<int> sig) {
    root_code_ = code;
    root_sig_ = sig;
    root_reaped_ = true;
    micros now = clock_();
    auto it = live_.find(root_);
    if (it != live_.end()) {
        it->second.exit_code = code;
        it->second.signal = sig;
        end(root_, now);
    } else {
        for (auto& r : ended_)
            if (r.root) r.exit_code = code, r.signal = sig;
    }
}

void ProcessTree::kill_all(bool left) {
    // The group first: one call reaches every member, and the kernel makes
    // a fork racing with it fail, so a fork bomb in the group ends here.
    // (After a normal exit the group is left alone a moment, below.)
    if (!left) {
        ::kill(-root_, SIGKILL);
        if (cgroup_)
            for (int p : cgroup_->pids()) ::kill(p, SIGKILL);
    }
    sample();
    if (left) {
        // Helpers that end when the program does (a resource tracker, a
        // daemon worker reading EOF) get a moment before counting as left:
        // up to a second, for a machine busy with other work.
        for (int i = 0; i < 200 && live_.size() > (live_.count(root_) ? 1u : 0u); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            sample();
        }
        for (auto& [pid, r] : live_)
            if (pid != root_) r.left_running = true;
    }
    for (int round = 0; round < 400; ++round) {
        // Then whatever left the group (setsid) but is still in the tree.
        ::kill(-root_, SIGKILL);
        for (auto& [pid, r] : live_)
            if (pid != root_) ::kill(pid, SIGKILL);
        if (cgroup_)
            for (int p : cgroup_->pids()) ::kill(p, SIGKILL);
        bool root_live = live_.count(root_) > 0;
        if (live_.size() <= (root_live ? 1u : 0u) && (!cgroup_ || cgroup_->pids().size() <= (root_live ? 1u : 0u)))
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(round < 5 ? 1 : 5));
        sample();
    }
    if (!root_reaped_) return;
    // Once the root is reaped, its group is gone only when every member is:
    // zombies handed to wirelab are reaped here, so none outlives the run.
    for (int round = 0; round < 1000; ++round) {
        while (::waitpid(-root_, nullptr, WNOHANG) > 0) {
        }
        if (::kill(-root_, 0) != 0 && errno == ESRCH) break;
        ::kill(-root_, SIGKILL);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

std::vector<int> ProcessTree::live_pids() const {
    std::vector<int> out;
    for (auto& [pid, r] : live_) out.push_back(pid);
    return out;
}

std::vector<ProcRecord> ProcessTree::records() const {
    std::vector<ProcRecord> out = ended_;
    for (auto& [pid, r] : live_) out.push_back(r);
    std::sort(out.begin(), out.end(), [](const ProcRecord& a, const ProcRecord& b) {
        return a.started_us != b.started_us ? a.started_us < b.started_us : a.pid < b.pid;
    });
    return out;
}

std::optional<int> ProcessTree::scan_fds(unsigned long inode) const {
    std::string want = "socket:[" + std::to_string(inode) + "]";
    std::optional<int> best;
    micros best_start = -1;
    for (auto& [pid, r] : live_) {
        std::string dir = "/proc/" + std::to_string(pid) + "/fd";
        DIR* d = ::opendir(dir.c_str());
        if (!d) continue;
        char link[64];
        while (dirent* e = ::readdir(d)) {
            if (e->d_name[0] == '.') continue;
            ssize_t n = ::readlinkat(::dirfd(d), e->d_name, link, sizeof link - 1);
            if (n <= 0) continue;
            link[n] = 0;
            if (want == link) {
                if (r.started_us >= best_start) best = pid, best_start = r.started_us;
                break;
            }
        }
        ::closedir(d);
    }
    return best;
}

std::optional<int> ProcessTree::owner_of_socket(unsigned long inode) {
    if (auto p = scan_fds(inode)) return p;
    sample();
    return scan_fds(inode);
}

}  // namespace wirelab
