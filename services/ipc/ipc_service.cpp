#include "services/ipc/ipc_service.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "runtime/errors.hpp"
#include "runtime/journal.hpp"
#include "runtime/lab.hpp"
#include "runtime/listener.hpp"
#include "runtime/seeding.hpp"
#include "runtime/sqlite.hpp"
#include "services/tcp/protocol.hpp"
#include "services/tcp/tcp_service.hpp"
#include "services/udp/udp_service.hpp"

namespace wirelab::ipc {

namespace {

using json = nlohmann::json;
using tcp_proto::Dialogue;
using tcp_proto::Kind;
using tcp_proto::LineSplitter;

std::string errno_text() { return std::strerror(errno); }

/// Two named pipes in the run directory: NAME.in, which the program writes
/// and the service reads, and NAME.out, which the service writes and the
/// program reads. The service holds each open read-write, so the program's
/// open() never blocks and its close() ends nothing: each case starts with
/// a clean pair (what the last case left unread is dropped).
class FifoService final : public Service {
public:
    explicit FifoService(ServiceContext& ctx)
        : name_(ctx.name), io_(ctx.io), journal_(ctx.journal), in_(ctx.io), out_(ctx.io) {
        Spec& s = ctx.spec;
        std::string base = s.string("fifo");
        in_path_ = run_dir_file(s, "fifo", base + ".in", ctx, "control");
        out_path_ = run_dir_file(s, "fifo", base + ".out", ctx, "control");
        protocol_ = s.string("protocol", "lines");
        if (protocol_ != "lines" && protocol_ != "echo")
            s.fail("protocol", "a fifo speaks \"lines\" (a dialogue) or \"echo\"",
                   "length-prefixed frames and datagrams need a socket");
        std::string eol = s.string("line_ending", "\n");
        if (eol != "\r\n" && eol != "\n") s.fail("line_ending", "\"line_ending\" must be \"\\r\\n\" or \"\\n\"");
        eol_ = eol;
        max_line_ = static_cast<std::size_t>(s.integer("max_line", 64 * 1024, 16, 64 << 20));
        if (auto b = s.opt_string("banner")) banner_ = *b;
        if (protocol_ == "lines")
            dialogue_.emplace(s, Kind::lines);
        else if (s.has("rules") || s.has("otherwise"))
            s.fail(s.has("rules") ? "rules" : "otherwise", "an echo fifo has no rules",
                   "use \"protocol\": \"lines\" for a dialogue");
        s.finish();
        lines_.emplace(max_line_, false);
    }

    void start() override {
        int in = make_fifo(in_path_), out = make_fifo(out_path_);
        in_.assign(in);
        out_.assign(out);
        asio::co_spawn(io_, read_loop(), asio::detached);
    }

    void stop() override {
        stopping_ = true;
        error_code ig;
        in_.close(ig);
        out_.close(ig);
        ::unlink(in_path_.c_str());
        ::unlink(out_path_.c_str());
    }

    Endpoint endpoint() const override { return {"fifo", "", 0, in_path_}; }

    void add_environment(std::map<std::string, std::string>& env) const override {
        std::string stem = service_env_stem(name_);
        env[stem + "_IN"] = in_path_;
        env[stem + "_OUT"] = out_path_;
    }

    void begin_case(const CaseSpec&) override {
        // What the last program left unread goes, and a half line with it.
        char buf[65536];
        while (out_.is_open() && ::read(out_.native_handle(), buf, sizeof buf) > 0) {
        }
        lines_.emplace(max_line_, false);
        seq_in_ = seq_out_ = 0;
        if (!banner_.empty()) {
            journal_message("out", banner_, "");
            write_now(banner_ + eol_);
        }
    }

    void end_case(const CaseSpec&) override {
        if (!lines_->pending().empty())
            journal_.event("partial-message", name_,
                           {{"protocol", "fifo-" + protocol_}, {"bytes", lines_->pending().size()},
                            {"why", "the last line written to " + in_path_ + " has no newline"}});
    }

private:
    int make_fifo(const std::string& path) {
        ::unlink(path.c_str());
        if (::mkfifo(path.c_str(), 0600) != 0)
            throw EnvError("service \"" + name_ + "\" cannot make the fifo " + path + ": " + errno_text(),
                           "check that the run directory is writable (and not on a file system without fifos)");
        int fd = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) throw EnvError("service \"" + name_ + "\" cannot open the fifo " + path + ": " + errno_text());
        return fd;
    }

    void journal_message(const char* dir, const std::string& data, const std::string& error) {
        json row = {{"service", name_}, {"seq", std::string(dir) == "in" ? ++seq_in_ : ++seq_out_},
                    {"dir", dir}, {"protocol", "fifo-" + protocol_}, {"data", data}};
        if (!error.empty()) row["error"] = error;
        journal_.message(row);
    }

    /// Writes what fits into the pipe now; the rest waits for the reader.
    void write_now(const std::string& bytes) {
        pending_out_ += bytes;
        if (!writing_) asio::co_spawn(io_, write_loop(), asio::detached);
    }

    awaitable<void> write_loop() {
        writing_ = true;
        while (!pending_out_.empty() && !stopping_) {
            std::string chunk = std::move(pending_out_);
            pending_out_.clear();
            error_code ec;
            co_await asio::async_write(out_, asio::buffer(chunk), asio::redirect_error(use_awaitable, ec));
            if (ec) break;
        }
        writing_ = false;
    }

    awaitable<void> read_loop() {
        char buf[16384];
        while (!stopping_) {
            error_code ec;
            std::size_t n = co_await in_.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
            if (ec) co_return;
            std::string_view got(buf, n);
            if (protocol_ == "echo") {
                journal_message("in", std::string(got), "");
                journal_message("out", std::string(got), "");
                write_now(std::string(got));
                continue;
            }
            std::string out;
            for (const auto& m : lines_->feed(got)) {
                journal_message("in", m.data, m.error);
                for (const auto& reply : dialogue_->answer(m).messages) {
                    journal_message("out", reply, "");
                    out += reply + eol_;
                }
            }
            if (lines_->fatal()) lines_.emplace(max_line_, false);
            if (!out.empty()) write_now(out);
        }
    }

    std::string name_;
    asio::io_context& io_;
    Journal& journal_;
    asio::posix::stream_descriptor in_, out_;
    std::string in_path_, out_path_, protocol_, eol_, banner_;
    std::size_t max_line_ = 0;
    std::optional<Dialogue> dialogue_;
    std::optional<LineSplitter> lines_;
    std::string pending_out_;
    bool writing_ = false, stopping_ = false;
    int seq_in_ = 0, seq_out_ = 0;
};

/// A file in the run directory, or a POSIX shared-memory segment, that the
/// lab seeds before each case and reads back after it: the `snapshots`
/// table of the service's state holds its bytes after every case.
class SharedService final : public Service {
public:
    explicit SharedService(ServiceContext& ctx) : name_(ctx.name), journal_(ctx.journal) {
        Spec& s = ctx.spec;
        if (s.has("file") == s.has("shm"))
            s.fail(s.has("file") ? "shm" : "file", "a shared service is a \"file\" or a \"shm\" segment, one of them");
        if (auto f = s.opt_string("file")) {
            path_ = run_dir_file(s, "file", *f, ctx, "counter.txt");
        } else {
            std::string n = s.string("shm");
            if (n.empty() || n.size() > 64 ||
                n.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
                    std::string::npos)
                s.fail("shm", "a shared-memory name is up to 64 letters, digits, '_', '-' or '.'",
                       "e.g. \"shm\": \"counters\"");
            // Unique to this run, so runs side by side do not share it.
            shm_name_ = "wirelab-" + std::to_string(::getpid()) + "-" + n;
            path_ = "/dev/shm/" + shm_name_;
        }
        if (const json* c = s.get("content")) {
            if (c->is_string())
                content_ = c->get<std::string>();
            else if (c->is_array() && std::all_of(c->begin(), c->end(), [](const json& b) {
                         return b.is_number_integer() && b.get<int>() >= 0 && b.get<int>() <= 255;
                     }))
                for (const auto& b : *c) content_ += static_cast<char>(b.get<int>());
            else
                s.fail("content", "\"content\" is a string, or an array of bytes (0-255)");
        }
        std::int64_t def = shm_name_.empty() ? 0 : std::max<std::int64_t>(4096, static_cast<std::int64_t>(content_.size()));
        size_ = static_cast<std::size_t>(s.integer("size", def, 0, 64 << 20));
        if (size_ && size_ < content_.size())
            s.fail("size", "the content (" + std::to_string(content_.size()) + " bytes) is longer than \"size\"");
        reset_each_case_ = read_reset_each_case(s);
        s.finish();
        state_path_ = ctx.state_dir / (name_ + ".db");
    }

    ~SharedService() override {
        if (fd_ >= 0) ::close(fd_);
        if (!shm_name_.empty()) ::unlink(path_.c_str());
    }

    void start() override {
        std::error_code ec;
        std::filesystem::remove(state_path_, ec);
        db_ = std::make_unique<sql::Db>(state_path_);
        db_->exec(
            "CREATE TABLE snapshots(id INTEGER PRIMARY KEY, case_name TEXT, size INTEGER NOT NULL, data BLOB, "
            "text TEXT);"
            "CREATE VIEW latest AS SELECT * FROM snapshots ORDER BY id DESC LIMIT 1;");
        seed();
    }

    void stop() override {
        if (stopped_) return;
        stopped_ = true;
        if (!db_) return;
        if (!snapshots_) snapshot(std::nullopt);  // `wirelab up`: no case ran
        if (!shm_name_.empty()) ::unlink(path_.c_str());
    }

    Endpoint endpoint() const override { return {shm_name_.empty() ? "file" : "shm", "", 0, path_}; }

    void add_environment(std::map<std::string, std::string>& env) const override {
        if (!shm_name_.empty()) env[service_env_stem(name_) + "_SHM"] = shm_name_;
    }

    std::filesystem::path state_file() const override { return state_path_; }

    void begin_case(const CaseSpec&) override {
        if (reset_each_case_ && cases_++ > 0) seed();
    }

    void end_case(const CaseSpec& c) override { snapshot(c.name); }

private:
    void seed() {
        int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd < 0)
            throw EnvError("service \"" + name_ + "\" cannot create " + path_ + ": " + errno_text(),
                           shm_name_.empty() ? "check that the run directory is writable"
                                             : "check that /dev/shm is mounted and writable");
        ::fchmod(fd, 0666);
        if (!shm_name_.empty()) {
            // Kept open: the segment is read through it, even once a
            // program has unlinked its name.
            if (fd_ >= 0) ::close(fd_);
            fd_ = ::dup(fd);
        }
        bool ok = true;
        for (std::size_t off = 0; off < content_.size() && ok;) {
            ssize_t n = ::write(fd, content_.data() + off, content_.size() - off);
            ok = n > 0;
            if (ok) off += static_cast<std::size_t>(n);
        }
        if (ok && size_ > content_.size()) ok = ::ftruncate(fd, static_cast<off_t>(size_)) == 0;
        std::string why = ok ? "" : errno_text();
        ::close(fd);
        if (!ok) throw EnvError("service \"" + name_ + "\" cannot write " + path_ + ": " + why);
        journal_.event("seeded", name_, {{"path", path_}, {"bytes", std::max(size_, content_.size())}});
    }

    /// Up to 16 MiB of the file (by its name: a program may replace it) or
    /// of the segment (through our descriptor); nullopt when it is gone.
    std::optional<std::string> read_back() {
        std::string data;
        if (!shm_name_.empty()) {
            struct stat st{};
            if (::access(path_.c_str(), F_OK) != 0)
                journal_.event("shm-unlinked", name_,
                               {{"name", shm_name_},
                                {"why", "the program removed the segment's name (SharedMemory.unlink(), or "
                                        "Python's resource tracker when a process that attached to it exits); "
                                        "its bytes are read through wirelab's own descriptor"}});
            if (fd_ < 0 || ::fstat(fd_, &st) != 0) return std::nullopt;
            data.resize(std::min<std::size_t>(static_cast<std::size_t>(st.st_size), 16 << 20));
            ssize_t n = ::pread(fd_, data.data(), data.size(), 0);
            data.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
            return data;
        }
        std::ifstream in(path_, std::ios::binary);
        if (!in) return std::nullopt;
        data.resize(static_cast<std::size_t>(16 << 20));
        in.read(data.data(), static_cast<std::streamsize>(data.size()));
        data.resize(static_cast<std::size_t>(in.gcount()));
        return data;
    }

    void snapshot(std::optional<std::string> case_name) {
        if (!db_) return;
        ++snapshots_;
        auto st = db_->prepare("INSERT INTO snapshots(case_name, size, data, text) VALUES (?,?,?,?)");
        st.bind(1, case_name);
        auto got = read_back();
        if (!got) {
            // The program deleted it: no bytes, size -1.
            st.bind(2, std::int64_t{-1}).bind_null(3).bind_null(4).exec();
            journal_.event("shared-missing", name_, {{"path", path_}});
            return;
        }
        std::string& data = *got;
        st.bind(2, static_cast<std::int64_t>(data.size())).bind_blob(3, data);
        // The text without the zero bytes that pad a segment.
        std::string text = data.substr(0, data.find_last_not_of('\0') + 1);
        if (data.find_first_not_of('\0') == std::string::npos) text.clear();
        if (tcp_proto::valid_utf8(text) && text.find('\0') == std::string::npos)
            st.bind(4, text);
        else
            st.bind_null(4);
        st.exec();
    }

    std::string name_;
    Journal& journal_;
    std::string path_, shm_name_, content_;
    std::size_t size_ = 0;
    bool reset_each_case_ = true, stopped_ = false;
    int cases_ = 0, snapshots_ = 0;
    std::filesystem::path state_path_;
    std::unique_ptr<sql::Db> db_;
    int fd_ = -1;  // the segment's
};

}  // namespace

std::unique_ptr<Service> make_ipc_service(ServiceContext& ctx) {
    Spec& s = ctx.spec;
    int kinds = s.has("socket") + s.has("fifo") + s.has("file") + s.has("shm");
    if (kinds != 1)
        s.fail(kinds ? "socket" : "kind",
               "an ipc service is one of: a unix \"socket\", a \"fifo\", a shared \"file\" or a \"shm\" segment",
               "e.g. \"socket\": \"hub.sock\" (created in the run directory; the program reads the path from " +
                   service_env_stem(ctx.name) + "_PATH)");
    if (s.has("fifo")) return std::make_unique<FifoService>(ctx);
    if (s.has("file") || s.has("shm")) return std::make_unique<SharedService>(ctx);
    std::string type = s.string("type", "stream");
    if (type == "datagram") return udp_proto::make_unix_datagram_service(ctx);
    if (type != "stream")
        s.fail("type", "a unix socket's \"type\" is \"stream\" (SOCK_STREAM) or \"datagram\" (SOCK_DGRAM)");
    return tcp_proto::make_tcp_service(ctx);
}

}  // namespace wirelab::ipc
