#include "runtime/listener.hpp"

#include <boost/asio/ssl.hpp>

#include "runtime/tls.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/write.hpp>
#include <type_traits>

#include "runtime/errors.hpp"
#include "runtime/journal.hpp"
#include "runtime/lab.hpp"

namespace wirelab {

namespace {
std::string endpoint_str(const tcp::endpoint& e) {
    auto a = e.address();
    return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(e.port());
}
}  // namespace

bool is_ip_address(const std::string& text) {
    boost::system::error_code ec;
    asio::ip::make_address(text, ec);
    return !ec;
}

ListenSpec read_listen_spec(Spec& s, const ServiceContext& ctx) {
    ListenSpec l;
    l.host = s.string("host", "127.0.0.1");
    boost::system::error_code ec;
    asio::ip::make_address(l.host, ec);
    if (ec) s.fail("host", "\"" + l.host + "\" is not an IP address", "use \"127.0.0.1\"");
    if (!ctx.listen_host.empty()) l.host = ctx.listen_host;  // --listen, over the lab's
    l.port = static_cast<unsigned short>(s.integer("port", 0, 0, 65535));
    if (ctx.ephemeral) l.port = 0;
    if (ctx.port) l.port = *ctx.port;
    if (const json* t = s.get("tls")) {
        if (t->is_boolean()) l.tls = t->get<bool>() ? "valid" : "";
        else if (t->is_string() && tls::known_variant(t->get<std::string>())) l.tls = t->get<std::string>();
        else
            s.fail("tls", "\"tls\" is true (a certificate the run's CA signed) or a broken certificate to test a "
                          "client with: \"expired\", \"wrong-host\" or \"self-signed\"");
    }
    if (auto sock = s.opt_string("socket")) {
        if (s.has("port") || s.has("host"))
            s.fail("socket", "a service listens on a unix \"socket\" or on \"host\"/\"port\", not both");
        auto path = run_dir_file(s, "socket", *sock, ctx, "store.sock");
        if (path.size() >= sizeof(sockaddr_un::sun_path))
            s.fail("socket", "the socket path " + path + " is longer than the " +
                                 std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes a unix socket allows",
                   "run with a shorter --run-dir");
        l.unix_path = path;
    }
    return l;
}

std::string run_dir_file(Spec& s, const std::string& key, const std::string& name, const ServiceContext& ctx,
                         const std::string& example) {
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == ".." || name == "state" ||
        name == "journal.db" || name.rfind("journal.db-", 0) == 0)
        s.fail(key, "\"" + key + "\" is a file name (no '/'), e.g. \"" + example +
                        "\"; it is created in the run directory");
    return std::filesystem::absolute(ctx.state_dir.parent_path() / name).lexically_normal().string();
}

// --- Conn -------------------------------------------------------------------

struct TlsSession {
    TlsSession(Transport::Socket sock, asio::ssl::context& ctx) : stream(std::move(sock), ctx) {}
    asio::ssl::stream<Transport::Socket> stream;
};

Transport::Transport(Socket sock) : sock_(std::move(sock)) {}
Transport::Transport(std::unique_ptr<TlsSession> tls)
    : sock_(tls->stream.next_layer().get_executor()), tls_(std::move(tls)) {}
Transport::Transport(Transport&&) noexcept = default;
Transport::~Transport() = default;
Transport::Socket& Transport::socket() noexcept { return tls_ ? tls_->stream.next_layer() : sock_; }
void Transport::tls_read(asio::mutable_buffer b, Done done) { tls_->stream.async_read_some(b, std::move(done)); }
void Transport::tls_write(asio::const_buffer b, Done done) { tls_->stream.async_write_some(b, std::move(done)); }

Conn::Conn(Transport transport, std::shared_ptr<ConnectionRecord> rec, std::shared_ptr<FaultPlan> plan)
    : stream_(recording_stream<Transport>(std::move(transport), rec), plan,
              [this] { reset("fault: reset"); }),
      rec_(std::move(rec)),
      plan_(std::move(plan)),
      deadline_(stream_.get_executor()) {}

void Conn::expires_after(std::chrono::steady_clock::duration d) {
    deadline_.expires_after(d);
    deadline_.async_wait([this](error_code ec) {
        if (ec) return;
        timed_out_ = true;
        error_code ig;
        socket().cancel(ig);
        stream_.cancel();
    });
}

void Conn::expires_never() { deadline_.cancel(); }

awaitable<std::size_t> Conn::read_some(asio::mutable_buffer buf, std::chrono::seconds idle) {
    error_code ec;
    expires_after(idle);
    std::size_t n = co_await stream_.async_read_some(buf, asio::redirect_error(use_awaitable, ec));
    if (timed_out()) {
        rec_->closing("idle for " + std::to_string(idle.count()) + " s");
        co_return 0;
    }
    co_return ec ? 0 : n;
}

awaitable<bool> Conn::write_all(std::string_view bytes) {
    error_code ec;
    expires_after(std::chrono::seconds(300));
    co_await asio::async_write(stream_, asio::buffer(bytes), asio::redirect_error(use_awaitable, ec));
    co_return !ec;
}

awaitable<void> Conn::close_send(const std::string& why) {
    rec_->closing(why);
    if (micros d = plan_->slow_close_us(); d > 0) {
        plan_->note("slow-close", {{"ms", d / 1000.0}});
        asio::steady_timer t(stream_.get_executor(), std::chrono::microseconds(d));
        error_code ec;
        co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    Transport& t = stream_.next_layer().next_layer();
    if (t.is_tls()) {
        // close_notify first, so a TLS client sees a clean end, not a truncation;
        // its answer is not waited for long.
        expires_after(std::chrono::seconds(2));
        error_code ec;
        co_await t.tls().stream.async_shutdown(asio::redirect_error(use_awaitable, ec));
        expires_never();
    }
    error_code ig;
    socket().shutdown(asio::socket_base::shutdown_send, ig);
}

void Conn::reset(const std::string& why) {
    rec_->resetting(why);
    error_code ig;
    socket().set_option(asio::socket_base::linger(true, 0), ig);
    socket().close(ig);
    stream_.cancel();
    deadline_.cancel();
}

void Conn::abort(const std::string& why) {
    rec_->closing(why);
    error_code ig;
    socket().close(ig);
    stream_.cancel();
    deadline_.cancel();
}

// --- StreamListener -----------------------------------------------------------

StreamListener::StreamListener(const ServiceContext& ctx, std::string kind, ListenSpec spec,
                               Protocol protocol)
    : io_(ctx.io),
      journal_(ctx.journal),
      name_(ctx.name),
      kind_(std::move(kind)),
      spec_(std::move(spec)),
      authority_(ctx.tls),
      protocol_(std::move(protocol)) {}

StreamListener::~StreamListener() = default;

Endpoint StreamListener::endpoint(const std::string& scheme) const {
    if (!spec_.unix_path.empty()) return {"unix", "", 0, spec_.unix_path};
    if (!spec_.tls.empty()) return {scheme == "http" ? "https" : scheme == "tcp" ? "tls" : scheme + "s", spec_.host, port_};
    return {scheme, spec_.host, port_};
}

void StreamListener::close_acceptor() {
    error_code ig;
    if (acceptor_) acceptor_->close(ig);
    if (uacceptor_) uacceptor_->close(ig);
    acceptor_.reset();
    uacceptor_.reset();
}

void StreamListener::bind() {
    if (!spec_.unix_path.empty()) {
        // A socket file left by an earlier run is replaced.
        ::unlink(spec_.unix_path.c_str());
        uacceptor_ = std::make_shared<asio::local::stream_protocol::acceptor>(io_);
        asio::local::stream_protocol::endpoint ep(spec_.unix_path);
        error_code ec;
        uacceptor_->open(ep.protocol(), ec);
        if (!ec) uacceptor_->bind(ep, ec);
        if (!ec) uacceptor_->listen(asio::socket_base::max_listen_connections, ec);
        if (ec) {
            uacceptor_.reset();
            throw EnvError("service \"" + name_ + "\" cannot listen on the unix socket " + spec_.unix_path + ": " +
                               ec.message(),
                           "check that the run directory is writable");
        }
        asio::co_spawn(io_, accept_loop(uacceptor_), asio::detached);
        return;
    }
    tcp::endpoint ep(asio::ip::make_address(spec_.host), started_ ? port_ : spec_.port);
    acceptor_ = std::make_shared<tcp::acceptor>(io_);
    error_code ec;
    acceptor_->open(ep.protocol(), ec);
    if (!ec) acceptor_->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_->bind(ep, ec);
    if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        acceptor_.reset();
        if (ec == asio::error::address_in_use)
            throw EnvError("port " + std::to_string(ep.port()) + " on " + spec_.host +
                               " is already in use, so service \"" + name_ + "\" (" + kind_ +
                               ") cannot listen there",
                           "stop the program that holds it (another `wirelab up`? a "
                           "json-server?), or run with --ephemeral to use free ports; your "
                           "script then reads the address from " +
                               service_env_stem(name_) + "_HOST and _PORT (or _URL)");
        throw EnvError("service \"" + name_ + "\" cannot listen on " + spec_.host + ":" +
                           std::to_string(ep.port()) + ": " + ec.message(),
                       "check the \"host\" and \"port\" of the service");
    }
    port_ = acceptor_->local_endpoint().port();
    asio::co_spawn(io_, accept_loop(acceptor_), asio::detached);
}

void StreamListener::start() {
    if (!spec_.tls.empty() && !tls_) {
        if (!authority_) throw EnvError("service \"" + name_ + "\" asks for TLS, which this run cannot give");
        try {
            tls_ = authority_->server_context(spec_.tls);
        } catch (const std::exception& e) {
            throw EnvError("service \"" + name_ + "\": " + e.what());
        }
    }
    if (!profile_.refuse) bind();
    started_ = true;
    if (profile_.refuse && port_ == 0 && spec_.unix_path.empty()) {
        // A refusing service still needs a port the learner is told about:
        // take one, then close it.
        bind();
        close_acceptor();
    }
}

void StreamListener::stop() {
    stopping_ = true;
    close_acceptor();
    if (!spec_.unix_path.empty()) ::unlink(spec_.unix_path.c_str());
    for (auto& [id, c] : live_) c->abort("wirelab stopped");
}

void StreamListener::set_faults(const FaultProfile& profile, std::uint64_t seed) {
    profile_ = profile;
    seed_ = seed;
    ordinal_ = 0;
    if (!started_ || stopping_) return;
    if (profile_.refuse && listening()) {
        close_acceptor();
        journal_.event("fault", name_, {{"fault", "refuse"}, {"profile", profile_.name}, {"port", port_}});
    } else if (!profile_.refuse && !listening()) {
        bind();
    }
}

template <class Acceptor>
awaitable<void> StreamListener::accept_loop(std::shared_ptr<Acceptor> acc) {
    // The acceptor may be replaced (refuse, then listen again): each loop
    // keeps its own alive.
    while (acc->is_open()) {
        error_code ec;
        auto sock = co_await acc->async_accept(asio::redirect_error(use_awaitable, ec));
        if (ec) {
            bool current = static_cast<const void*>(acceptor_.get()) == acc.get() ||
                           static_cast<const void*>(uacceptor_.get()) == acc.get();
            if (ec == asio::error::operation_aborted || stopping_ || !current)
                co_return;
            if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space || ec == asio::error::no_memory) {
                // Out of descriptors: the pending connections wait in the
                // kernel's backlog; try again shortly instead of spinning,
                // and journal the first of a burst, not every retry.
                if (!out_of_fds_++) journal_.event("accept-error", name_, {{"error", ec.message()}, {"retrying", true}});
                asio::steady_timer pause(acc->get_executor(), std::chrono::milliseconds(20));
                co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
                continue;
            }
            journal_.event("accept-error", name_, {{"error", ec.message()}});
            continue;
        }
        if (out_of_fds_) {
            journal_.event("accept-resumed", name_, {{"retries", out_of_fds_}});
            out_of_fds_ = 0;
        }
        ConnectionInfo info;
        info.service = name_;
        if constexpr (std::is_same_v<Acceptor, tcp::acceptor>) {
            info.local = endpoint_str(sock.local_endpoint(ec));
            info.peer = endpoint_str(sock.remote_endpoint(ec));
            sock.set_option(tcp::no_delay(true), ec);
        } else {
            // The kernel says which process connected.
            info.transport = "unix";
            info.local = spec_.unix_path;
            ucred cred{};
            socklen_t len = sizeof cred;
            if (::getsockopt(sock.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid > 0) {
                info.pid = cred.pid;
                info.peer = "pid " + std::to_string(cred.pid);
            }
        }
        asio::co_spawn(io_, run(Conn::Socket(std::move(sock)), std::move(info)), asio::detached);
    }
}

awaitable<void> StreamListener::run(Conn::Socket sock, ConnectionInfo info) {
    auto rec = std::make_shared<ConnectionRecord>(journal_, info);
    auto plan = std::make_shared<FaultPlan>(profile_, mix_seed(seed_, ++ordinal_), &journal_, name_, rec->id());
    std::unique_ptr<TlsSession> tls;
    if (tls_) {
        // The handshake, with a deadline: a client that verifies the
        // certificate and refuses it ends here, before any byte of data.
        tls = std::make_unique<TlsSession>(std::move(sock), *tls_);
        asio::steady_timer deadline(io_, std::chrono::seconds(10));
        Transport::Socket* raw = &tls->stream.next_layer();
        deadline.async_wait([raw](const error_code& e) {
            error_code ig;
            if (!e) raw->cancel(ig);
        });
        error_code ec;
        co_await tls->stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(use_awaitable, ec));
        deadline.cancel();
        if (ec) {
            std::string why = ec == asio::error::operation_aborted ? "no handshake within 10 s" : ec.message();
            if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
                why = "the client closed the connection during the handshake";
            journal_.event("tls-handshake-failed", name_, {{"certificate", spec_.tls}, {"reason", why}}, rec->id());
            rec->closing("TLS handshake failed: " + why);
            error_code ig;
            tls->stream.next_layer().close(ig);
            rec->finish();
            co_return;
        }
        SSL* ssl = tls->stream.native_handle();
        const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        journal_.event("tls-handshake", name_,
                       {{"certificate", spec_.tls}, {"version", SSL_get_version(ssl)},
                        {"cipher", SSL_get_cipher_name(ssl)}, {"sni", sni ? sni : ""}},
                       rec->id());
    }
    Conn conn(tls ? Transport(std::move(tls)) : Transport(std::move(sock)), rec, plan);
    live_[rec->id()] = &conn;
    try {
        if (profile_.tarpit)
            co_await tarpit(conn);
        else
            co_await protocol_(conn);
    } catch (const std::exception& e) {
        journal_.event("internal-error", name_, {{"what", e.what()}}, rec->id());
    }
    live_.erase(rec->id());
    conn.expires_never();
    error_code ig;
    conn.socket().close(ig);
    rec->finish();
}

awaitable<void> StreamListener::tarpit(Conn& c) {
    // Accept, take whatever comes, never answer: a server that hangs.
    c.faults().note("tarpit");
    char buf[4096];
    for (;;) {
        error_code ec;
        co_await c.stream().async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
        if (ec) co_return;
    }
}

}  // namespace wirelab
