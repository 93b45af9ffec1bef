// The tool's own process: asks the service what to do, does it with plain
// blocking writes (so a parent that never reads its pipes blocks it, as a
// real tool would be), and reports how far it got. Plain POSIX: it starts
// fast and runs in the learner's process tree.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "services/tool/tool_service.hpp"

namespace wirelab::tool {

namespace {

using json = nlohmann::json;

void send_line(int fd, const std::string& line) {
    std::string s = line + "\n";
    const char* p = s.data();
    std::size_t left = s.size();
    while (left > 0) {
        ssize_t n = ::send(fd, p, left, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // wirelab went away: carry on regardless
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

bool read_line(int fd, std::string& line) {
    line.clear();
    char buf[65536];
    for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        line.append(buf, static_cast<std::size_t>(n));
        if (buf[n - 1] == '\n') {
            line.pop_back();
            return true;
        }
    }
}

std::vector<std::string> parent_cmdline() {
    std::ifstream in("/proc/" + std::to_string(::getppid()) + "/cmdline", std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::vector<std::string> out;
    std::string s = ss.str(), cur;
    for (char c : s) {
        if (c == '\0') {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) out.push_back(cur);
    return out;
}

/// Writes all of `data` to `fd`; false if the reader went away (EPIPE).
bool write_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return false;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

}  // namespace

int run_tool(const std::string& name, const std::vector<std::string>& args) {
    std::string var = tool_env_var(name);
    const char* path = std::getenv(var.c_str());
    if (!path || !*path) {
        std::cerr << name << ": this command belongs to a wirelab lab and runs only inside one (" << var
                  << " is not set)\n  run your program with `wirelab check LAB program.py`, or start the lab "
                     "with `wirelab up LAB` and use the environment it prints\n";
        return 127;
    }
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        std::cerr << name << ": cannot reach the lab at " << path << ": " << std::strerror(errno)
                  << "\n  the lab has stopped; run your program again with `wirelab check`\n";
        return 127;
    }
    char cwd[4096];
    json req = {{"argv", args},
                {"pid", ::getpid()},
                {"ppid", ::getppid()},
                {"parent", parent_cmdline()},
                {"cwd", ::getcwd(cwd, sizeof cwd) ? cwd : ""}};
    send_line(fd, req.dump(-1, ' ', false, json::error_handler_t::replace));
    std::string line;
    json plan = read_line(fd, line) ? json::parse(line, nullptr, false) : json();
    if (!plan.is_object() || plan.contains("error")) {
        std::cerr << name << ": the lab did not answer (" << (plan.is_object() ? plan.value("error", "") : "no plan")
                  << ")\n";
        return 127;
    }
    if (int d = plan.value("delay_ms", 0); d > 0) std::this_thread::sleep_for(std::chrono::milliseconds(d));
    const std::string out = plan.value("out", ""), err = plan.value("err", "");
    // Alternate blocks of stdout and stderr, as a chatty tool does: a parent
    // that reads one pipe to the end before the other, or neither before
    // wait(), blocks it once a pipe's buffer (64 KB) is full.
    constexpr std::size_t block = 4096;
    std::size_t o = 0, e = 0;
    while (o < out.size() || e < err.size()) {
        if (e < err.size()) {
            std::size_t n = std::min(block, err.size() - e);
            if (!write_all(2, err.data() + e, n)) break;
            e += n;
        }
        if (o < out.size()) {
            std::size_t n = std::min(block, out.size() - o);
            if (!write_all(1, out.data() + o, n)) break;
            o += n;
        }
        send_line(fd, json{{"o", o}, {"e", e}}.dump());
    }
    send_line(fd, json{{"o", o}, {"e", e}}.dump());
    if (plan.value("hang", false))
        for (;;) ::pause();
    int code = plan.value("exit", 0);
    if (o < out.size() || e < err.size()) code = 141;  // like a tool killed by SIGPIPE
    send_line(fd, json{{"exit", code}}.dump());
    ::close(fd);
    return code;
}

}  // namespace wirelab::tool
