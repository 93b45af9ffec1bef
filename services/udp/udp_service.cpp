// The `udp` service: datagrams in, datagrams out — echo, a text or JSON
// request/response dialogue, or a telemetry stream with sequence numbers
// and NAK-based retransmission. Every datagram is a `messages` row; the
// datagram fault layer (drop, duplicate, reorder, delay, truncate) is
// seeded per case and journals what it did to each datagram.
#include "services/udp/udp_service.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/generic/datagram_protocol.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/local/datagram_protocol.hpp>
#include <cerrno>
#include <deque>
#include <fstream>
#include <random>
#include <sstream>

#include "runtime/seeding.hpp"
#include "runtime/errors.hpp"
#include "runtime/faults.hpp"
#include "runtime/journal.hpp"
#include "runtime/lab.hpp"
#include "runtime/listener.hpp"
#include "services/tcp/protocol.hpp"

namespace wirelab::udp_proto {

namespace {

using udp = asio::ip::udp;
using dgram = asio::generic::datagram_protocol;
using json = nlohmann::json;
using tcp_proto::Dialogue;
using tcp_proto::Kind;
using tcp_proto::Message;

/// "127.0.0.1:5000", "[::1]:5000", a unix socket's path, or "(unbound)"
/// for a unix socket with no address (nothing can be sent back to it).
std::string endpoint_str(const dgram::endpoint& e) {
    const sockaddr* sa = e.data();
    if (sa->sa_family == AF_UNIX) {
        const auto* un = reinterpret_cast<const sockaddr_un*>(sa);
        std::size_t n = e.size() > offsetof(sockaddr_un, sun_path) ? e.size() - offsetof(sockaddr_un, sun_path) : 0;
        if (n == 0) return "(unbound)";
        if (un->sun_path[0] == '\0') return "@" + std::string(un->sun_path + 1, n - 1);  // abstract
        return std::string(un->sun_path, strnlen(un->sun_path, n));
    }
    udp::endpoint u;
    std::memcpy(u.data(), sa, std::min<std::size_t>(e.size(), sizeof(sockaddr_in6)));
    auto a = u.address();
    return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(u.port());
}

bool unbound(const dgram::endpoint& e) {
    return e.data()->sa_family == AF_UNIX && e.size() <= offsetof(sockaddr_un, sun_path);
}

/// A datagram service over UDP or, for the `ipc` kind, a unix datagram
/// socket in the run directory: the same protocols, faults and journal.
class UdpService final : public Service {
public:
    explicit UdpService(ServiceContext& ctx)
        : name_(ctx.name), io_(ctx.io), journal_(ctx.journal), socket_(ctx.io), hold_timer_(ctx.io) {
        Spec& s = ctx.spec;
        listen_ = read_listen_spec(s, ctx);
        if (!listen_.tls.empty()) s.fail("tls", "TLS runs over a stream: a udp service has none (DTLS is not offered)");
        kind_ = listen_.unix_path.empty() ? "udp" : "unix-dgram";
        protocol_ = s.string("protocol");
        static const std::vector<std::string> protocols = {"echo", "lines", "json", "telemetry"};
        if (std::find(protocols.begin(), protocols.end(), protocol_) == protocols.end()) {
            std::string guess = did_you_mean(protocol_, protocols);
            s.fail("protocol", "unknown protocol \"" + protocol_ + "\"",
                   guess.empty() ? "use \"echo\", \"lines\", \"json\" or \"telemetry\"" : "did you mean \"" + guess + "\"?");
        }
        if (protocol_ == "lines" || protocol_ == "json")
            dialogue_.emplace(s, protocol_ == "lines" ? Kind::lines : Kind::frames);
        if (protocol_ == "telemetry") {
            Spec t = s.object("telemetry");
            std::string text;
            if (auto f = t.opt_string("file")) {
                text = read_lab_file(t, "file", *f, ctx.lab_dir, ctx.params);
            } else {
                text = t.string("text");
            }
            if (text.empty()) t.fail("text", "the telemetry payload is empty");
            auto chunk = static_cast<std::size_t>(t.integer("chunk", 64, 1, 8192));
            interval_us_ = static_cast<micros>(t.number("interval_ms", 2, 0, 10000) * 1000);
            // Cut at byte boundaries that do not split a UTF-8 character, so
            // every piece is valid JSON text.
            for (std::size_t i = 0; i < text.size();) {
                std::size_t n = std::min(chunk, text.size() - i);
                while (i + n < text.size() && n > 1 && (static_cast<unsigned char>(text[i + n]) & 0xc0) == 0x80) --n;
                pieces_.push_back(text.substr(i, n));
                i += n;
            }
            t.finish();
        }
        s.finish();
    }

    void start() override {
        if (!listen_.unix_path.empty()) return start_unix();
        udp::endpoint ep(asio::ip::make_address(listen_.host), listen_.port);
        error_code ec;
        socket_.open(dgram(ep.protocol().family(), IPPROTO_UDP), ec);
        if (!ec) socket_.bind(dgram::endpoint(ep), ec);
        if (ec) {
            if (ec == asio::error::address_in_use)
                throw EnvError("UDP port " + std::to_string(ep.port()) + " on " + listen_.host +
                                   " is already in use, so service \"" + name_ + "\" (udp) cannot bind it",
                               "stop the program that holds it, or run with --ephemeral to use free ports; your "
                               "script then reads the address from " + service_env_stem(name_) + "_HOST and _PORT");
            throw EnvError("service \"" + name_ + "\" cannot bind UDP " + listen_.host + ":" +
                               std::to_string(ep.port()) + ": " + ec.message(),
                           "check the \"host\" and \"port\" of the service");
        }
        udp::endpoint bound;
        dgram::endpoint local = socket_.local_endpoint();
        std::memcpy(bound.data(), local.data(), std::min<std::size_t>(local.size(), sizeof(sockaddr_in6)));
        port_ = bound.port();
        asio::co_spawn(io_, receive_loop(), asio::detached);
    }

    void start_unix() {
        ::unlink(listen_.unix_path.c_str());
        asio::local::datagram_protocol::endpoint ep(listen_.unix_path);
        error_code ec;
        socket_.open(dgram(AF_UNIX, 0), ec);
        if (!ec) socket_.bind(dgram::endpoint(ep), ec);
        if (ec)
            throw EnvError("service \"" + name_ + "\" cannot bind the unix datagram socket " + listen_.unix_path +
                               ": " + ec.message(),
                           "check that the run directory is writable");
        // The kernel then says which process sent each datagram.
        int on = 1;
        ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
        asio::co_spawn(io_, receive_loop(), asio::detached);
    }

    void stop() override {
        stopping_ = true;
        error_code ig;
        socket_.close(ig);
        hold_timer_.cancel();
        if (!listen_.unix_path.empty()) ::unlink(listen_.unix_path.c_str());
    }

    Endpoint endpoint() const override {
        if (!listen_.unix_path.empty()) return {"unix", "", 0, listen_.unix_path};
        return {"udp", listen_.host, port_};
    }

    void set_faults(const FaultProfile& p, std::uint64_t seed) override {
        profile_ = p;
        rng_.seed(seed);
        seq_in_ = seq_out_ = 0;
        if (!p.datagram_clean() || p.latency_us)
            journal_.event("fault", name_, {{"fault", "datagrams"}, {"profile", p.describe()}});
    }

private:
    bool coin(double rate) { return rate > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < rate; }

    void record(const char* dir, const std::string& data, const dgram::endpoint& peer, const std::string& fault,
                int seq, std::optional<int> pid = std::nullopt, const std::string& error = {}) {
        json row = {{"service", name_}, {"seq", seq}, {"dir", dir}, {"protocol", kind_ + "-" + protocol_},
                    {"data", data}, {"peer", endpoint_str(peer)}};
        if (!fault.empty()) row["fault"] = fault;
        if (pid) row["pid"] = *pid;
        if (protocol_ == "json" || protocol_ == "telemetry") {
            auto j = json::parse(data, nullptr, false);
            if (j.is_discarded())
                row["error"] = tcp_proto::valid_utf8(data) ? "not valid JSON" : "not valid UTF-8";
            else
                row["json"] = j.dump(-1, ' ', false, json::error_handler_t::replace);
        }
        if (!error.empty()) row["error"] = error;
        journal_.message(row);
    }

    awaitable<void> receive_loop() {
        std::vector<char> buf(65536);
        while (!stopping_) {
            error_code ec;
            co_await socket_.async_wait(dgram::socket::wait_read, asio::redirect_error(use_awaitable, ec));
            if (ec) {
                if (stopping_ || ec == asio::error::operation_aborted) co_return;
                continue;
            }
            // recvmsg, not receive_from: a unix socket's datagrams carry the
            // sender's credentials.
            for (;;) {
                sockaddr_storage from{};
                iovec iov{buf.data(), buf.size()};
                alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
                msghdr m{};
                m.msg_name = &from;
                m.msg_namelen = sizeof from;
                m.msg_iov = &iov;
                m.msg_iovlen = 1;
                m.msg_control = control;
                m.msg_controllen = sizeof control;
                ssize_t n = ::recvmsg(socket_.native_handle(), &m, MSG_DONTWAIT);
                if (n < 0) {
                    // ICMP port unreachable from an earlier send surfaces
                    // here on Linux: the learner's socket went away.
                    if (errno == ECONNREFUSED || errno == EINTR) continue;
                    break;
                }
                std::optional<int> pid;
                for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
                    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                        ucred cred;
                        std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
                        pid = cred.pid;
                    }
                if (!listen_.unix_path.empty() && m.msg_namelen < sizeof(sa_family_t)) {
                    // An unbound unix socket: no name at all.
                    from.ss_family = AF_UNIX;
                    m.msg_namelen = sizeof(sa_family_t);
                }
                dgram::endpoint peer(&from, m.msg_namelen, from.ss_family == AF_UNIX ? 0 : IPPROTO_UDP);
                std::string data(buf.data(), static_cast<std::size_t>(n));
                int seq = ++seq_in_;
                if (coin(profile_.drop_in)) {
                    record("in", data, peer, "dropped", seq, pid);
                    continue;
                }
                record("in", data, peer, "", seq, pid);
                handle(data, peer);
            }
        }
    }

    void handle(const std::string& data, const dgram::endpoint& peer) {
        if (protocol_ == "echo") return send(data, peer);
        if (protocol_ == "telemetry") return telemetry(data, peer);
        Message m;
        m.data = data;
        if (protocol_ == "lines") {
            while (!m.data.empty() && (m.data.back() == '\n' || m.data.back() == '\r')) m.data.pop_back();
        } else {
            auto j = json::parse(data, nullptr, false);
            if (j.is_discarded())
                m.error = tcp_proto::valid_utf8(data) ? "the datagram is not valid JSON" : "the datagram is not valid UTF-8";
            else
                m.json = std::move(j);
        }
        for (const auto& reply : dialogue_->answer(m).messages) send(reply, peer);
    }

    void telemetry(const std::string& data, const dgram::endpoint& peer) {
        auto j = json::parse(data, nullptr, false);
        std::string op = j.is_object() && j.contains("op") && j["op"].is_string() ? j["op"].get<std::string>() : "";
        if (op == "start") {
            std::vector<std::size_t> all(pieces_.size());
            for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
            asio::co_spawn(io_, stream(std::move(all), peer), asio::detached);
        } else if (op == "nak") {
            std::vector<std::size_t> want;
            const json& seqs = j.contains("seq") ? j["seq"] : json();
            for (const auto& v : seqs.is_array() ? seqs : json::array({seqs}))
                if (v.is_number_integer() && v.get<std::int64_t>() >= 0 &&
                    static_cast<std::size_t>(v.get<std::int64_t>()) < pieces_.size())
                    want.push_back(static_cast<std::size_t>(v.get<std::int64_t>()));
            if (want.empty())
                send(json{{"error", "a nak names the missing sequence numbers: {\"op\": \"nak\", \"seq\": [3, 7]}"}}.dump(),
                     peer);
            else
                asio::co_spawn(io_, stream(std::move(want), peer), asio::detached);
        } else if (op == "done") {
            send(json{{"op", "bye"}}.dump(), peer);
        } else {
            send(json{{"error", "send {\"op\": \"start\"}, then {\"op\": \"nak\", \"seq\": [...]} for what is missing, "
                                "then {\"op\": \"done\"}"}}.dump(),
                 peer);
        }
    }

    awaitable<void> stream(std::vector<std::size_t> seqs, dgram::endpoint peer) {
        asio::steady_timer t(io_);
        for (std::size_t k = 0; k < seqs.size() && !stopping_; ++k) {
            std::size_t i = seqs[k];
            send(json{{"seq", i}, {"total", pieces_.size()}, {"data", pieces_[i]}}.dump(-1, ' ', false,
                                                                                      json::error_handler_t::replace),
                 peer);
            if (interval_us_ > 0 && k + 1 < seqs.size()) {
                t.expires_after(std::chrono::microseconds(interval_us_));
                error_code ec;
                co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
            }
        }
        flush_held();
    }

    /// Sends one datagram through the fault layer.
    void send(std::string data, const dgram::endpoint& peer) {
        int seq = ++seq_out_;
        if (unbound(peer)) {
            // A unix datagram socket that was never bound has no address to
            // answer: the reply cannot be sent, and the program waits.
            if (!warned_unbound_) {
                warned_unbound_ = true;
                journal_.event("no-reply-address", name_,
                               {{"why", "the program's unix datagram socket has no address (it never called bind), "
                                        "so the answer cannot be sent"}});
            }
            return record("out", data, peer, "", seq, std::nullopt,
                          "not sent: the program's socket has no address (bind it to a path first)");
        }
        if (coin(profile_.drop)) return record("out", data, peer, "dropped", seq);
        std::string fault;
        if (profile_.truncate && data.size() > profile_.truncate) data.resize(profile_.truncate), fault = "truncated";
        bool dup = coin(profile_.duplicate);
        if (held_) {
            // A datagram held back goes out after this one: they swap.
            deliver(data, peer, seq, fault);
            auto h = std::move(*held_);
            held_.reset();
            hold_timer_.cancel();
            deliver(h.data, h.peer, h.seq, "reordered");
        } else if (coin(profile_.reorder)) {
            held_ = Held{data, peer, seq};
            // Nothing follows within 50 ms: send it anyway.
            hold_timer_.expires_after(std::chrono::milliseconds(50));
            hold_timer_.async_wait([this](error_code ec) {
                if (!ec) flush_held();
            });
        } else {
            deliver(data, peer, seq, fault);
        }
        if (dup) deliver(data, peer, ++seq_out_, "duplicate");
    }

    void flush_held() {
        if (!held_) return;
        auto h = std::move(*held_);
        held_.reset();
        deliver(h.data, h.peer, h.seq, "reordered");
    }

    void deliver(const std::string& data, const dgram::endpoint& peer, int seq, const std::string& fault) {
        micros delay = profile_.latency_us;
        if (profile_.jitter_us) delay += static_cast<micros>(rng_() % static_cast<std::uint64_t>(profile_.jitter_us));
        record("out", data, peer, delay > 0 && fault.empty() ? "delayed" : fault, seq);
        auto payload = std::make_shared<std::string>(data);
        if (delay <= 0) {
            error_code ig;
            socket_.send_to(asio::buffer(*payload), peer, 0, ig);
            return;
        }
        auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::microseconds(delay));
        t->async_wait([this, t, payload, peer](error_code ec) {
            if (ec || stopping_) return;
            error_code ig;
            socket_.send_to(asio::buffer(*payload), peer, 0, ig);
        });
    }

    struct Held {
        std::string data;
        dgram::endpoint peer;
        int seq;
    };

    std::string name_;
    asio::io_context& io_;
    Journal& journal_;
    ListenSpec listen_;
    std::string kind_;  // "udp" or "unix-dgram"
    dgram::socket socket_;
    bool warned_unbound_ = false;
    unsigned short port_ = 0;
    std::string protocol_;
    std::optional<Dialogue> dialogue_;
    std::vector<std::string> pieces_;
    micros interval_us_ = 2000;
    FaultProfile profile_;
    std::mt19937_64 rng_;
    int seq_in_ = 0, seq_out_ = 0;
    std::optional<Held> held_;
    asio::steady_timer hold_timer_;
    bool stopping_ = false;
};

}  // namespace

std::unique_ptr<Service> make_udp_service(ServiceContext& ctx) {
    if (ctx.spec.has("socket"))
        ctx.spec.fail("socket", "a udp service listens on \"host\"/\"port\"",
                      "for a unix datagram socket use \"kind\": \"ipc\" with \"type\": \"datagram\"");
    return std::make_unique<UdpService>(ctx);
}

std::unique_ptr<Service> make_unix_datagram_service(ServiceContext& ctx) { return std::make_unique<UdpService>(ctx); }

}  // namespace wirelab::udp_proto
