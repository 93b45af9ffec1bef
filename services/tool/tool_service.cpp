#include "services/tool/tool_service.hpp"

#include <signal.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

#include "runtime/errors.hpp"
#include "runtime/journal.hpp"
#include "services/tool/tool_plan.hpp"

namespace wirelab::tool {

namespace fs = std::filesystem;
using json = nlohmann::json;
using local = asio::local::stream_protocol;

std::string tool_env_var(const std::string& name) {
    std::string v = "WIRELAB_TOOL_";
    for (char c : name) v += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(c)) : '_';
    return v;
}

namespace {

std::string outcome_of(const std::optional<int>& exited) { return exited ? "exited" : "killed"; }

constexpr std::size_t kMaxLine = 64 * 1024;  // a request or progress line

class ToolService final : public Service {
public:
    explicit ToolService(ServiceContext& ctx)
        : name_(ctx.name), io_(ctx.io), journal_(ctx.journal), acceptor_(ctx.io) {
        spec_ = ToolSpec::read(ctx.spec, ctx.name);
        fs::path run_dir = fs::absolute(ctx.state_dir.parent_path()).lexically_normal();
        bin_dir_ = run_dir / "bin";
        socket_ = (run_dir / (ctx.name + ".tool.sock")).string();
        if (socket_.size() >= sizeof(sockaddr_un::sun_path))
            ctx.spec.fail("kind", "the tool's socket path " + socket_ + " is longer than a unix socket allows",
                          "run with a shorter --run-dir");
        ctx.spec.finish();
    }

    void start() override {
        std::error_code ec;
        fs::create_directories(bin_dir_, ec);
        fs::path link = bin_dir_ / spec_.command;
        fs::remove(link, ec);
        char exe[4096];
        ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) throw EnvError("cannot find the wirelab executable (/proc/self/exe) for the tool " + spec_.command);
        exe[n] = 0;
        fs::create_symlink(exe, link, ec);
        if (ec)
            throw EnvError("service \"" + name_ + "\" cannot create " + link.string() + ": " + ec.message(),
                           "check that the run directory is writable");
        ::unlink(socket_.c_str());
        boost::system::error_code bec;
        acceptor_.open(local(), bec);
        if (!bec) acceptor_.bind(local::endpoint(socket_), bec);
        if (!bec) acceptor_.listen(64, bec);
        if (bec)
            throw EnvError("service \"" + name_ + "\" cannot listen on " + socket_ + ": " + bec.message(),
                           "check that the run directory is writable");
        co_spawn(io_, accept_loop(), asio::detached);
    }

    void stop() override {
        boost::system::error_code ec;
        acceptor_.close(ec);
        for (auto& [id, live] : live_) {
            // The learner's tree is gone by now; what never said it ended was killed.
            bool alive = live.pid > 0 && ::kill(live.pid, 0) == 0;
            journal_.end_invocation(id, alive ? "running" : "killed", std::nullopt, live.out, live.err);
            live.ended = true;
            live.sock->close(ec);
        }
        live_.clear();
        ::unlink(socket_.c_str());
    }

    Endpoint endpoint() const override { return {"unix", "", 0, socket_}; }

    void add_environment(std::map<std::string, std::string>& env) const override {
        env[tool_env_var(spec_.command)] = socket_;
        auto path = env.find("PATH");
        const char* sys = std::getenv("PATH");
        std::string rest = path != env.end() ? path->second : (sys ? sys : "/usr/local/bin:/usr/bin:/bin");
        env["PATH"] = bin_dir_.string() + ":" + rest;
    }

private:
    struct Live {
        std::shared_ptr<local::socket> sock;
        int pid = 0;
        std::int64_t out = 0, err = 0;
        bool ended = false;
    };

    awaitable<void> accept_loop() {
        while (acceptor_.is_open()) {
            boost::system::error_code ec;
            local::socket sock = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
                if (!acceptor_.is_open()) co_return;
                continue;
            }
            co_spawn(io_, serve(std::make_shared<local::socket>(std::move(sock))), asio::detached);
        }
    }

    void junk(const std::string& why, std::size_t bytes) {
        journal_.event("tool-junk", name_, {{"error", why}, {"bytes", bytes}});
    }

    json invocation_row(const json& req, const std::vector<std::string>& argv, const Plan& plan) const {
        return {{"service", name_},
                {"tool", spec_.command},
                {"argv", json(argv).dump()},
                {"pid", req.value("pid", 0)},
                {"ppid", req.value("ppid", 0)},
                {"parent_cmdline", req.value("parent", json::array()).dump()},
                {"cwd", req.value("cwd", std::string())},
                {"exit_code", plan.exit},
                {"hang", plan.hang},
                {"stdout_bytes", plan.out.size()},
                {"stderr_bytes", plan.err.size()}};
    }

    static json error_message(const std::string& why) { return {{"error", why}}; }

    static json plan_message(const Plan& plan) {
        return {{"out", plan.out}, {"err", plan.err}, {"exit", plan.exit}, {"hang", plan.hang},
                {"delay_ms", plan.delay_ms}};
    }

    awaitable<void> reply(local::socket& sock, const json& j) {
        boost::system::error_code ec;
        std::string line = j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
        co_await asio::async_write(sock, asio::buffer(line), asio::redirect_error(asio::use_awaitable, ec));
    }

    awaitable<void> serve(std::shared_ptr<local::socket> sock) {
        boost::system::error_code ec;
        asio::streambuf buf(kMaxLine);
        std::size_t n = co_await asio::async_read_until(*sock, buf, '\n', asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            if (buf.size() > 0) junk("no request line: " + ec.message(), buf.size());
            co_return;
        }
        std::string line(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + n);
        buf.consume(n);
        json req = json::parse(line, nullptr, false);
        if (req.is_discarded() || !req.is_object() || !req.contains("argv") || !req["argv"].is_array()) {
            junk("not a tool request", line.size());
            co_await reply(*sock, error_message("not a " + spec_.command + " request"));
            co_return;
        }
        std::vector<std::string> argv;
        for (const auto& a : req["argv"]) argv.push_back(a.is_string() ? a.get<std::string>() : a.dump());
        Plan plan = plan_for(spec_, argv);
        json row = invocation_row(req, argv, plan);
        std::int64_t id = journal_.invocation(row);
        Live& live = live_[id];
        live.sock = sock;
        live.pid = req.value("pid", 0);
        co_await reply(*sock, plan_message(plan));
        // Progress lines {"o": bytes, "e": bytes} until {"exit": n} or the end.
        std::optional<int> exited;
        while (!ec) {
            n = co_await asio::async_read_until(*sock, buf, '\n', asio::redirect_error(asio::use_awaitable, ec));
            if (ec) break;
            json p = json::parse(std::string(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + n),
                                 nullptr, false);
            buf.consume(n);
            if (!p.is_object()) continue;
            if (live_.count(id) == 0) co_return;  // stopped meanwhile
            live.out = p.value("o", live.out);
            live.err = p.value("e", live.err);
            if (p.contains("exit") && p["exit"].is_number_integer()) exited = p["exit"].get<int>();
        }
        auto it = live_.find(id);
        if (it == live_.end() || it->second.ended) co_return;
        journal_.end_invocation(id, outcome_of(exited), exited, it->second.out, it->second.err);
        live_.erase(it);
    }

    std::string name_;
    asio::io_context& io_;
    Journal& journal_;
    ToolSpec spec_;
    fs::path bin_dir_;
    std::string socket_;
    local::acceptor acceptor_;
    std::map<std::int64_t, Live> live_;
};

}  // namespace

std::unique_ptr<Service> make_tool_service(ServiceContext& ctx) { return std::make_unique<ToolService>(ctx); }

}  // namespace wirelab::tool
