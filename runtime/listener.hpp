// A stream service's listening side, written once for every kind: binds
// (with errors that name port and service), accepts, and runs each
// connection through the stack transport → recording → faults → protocol
// session. Applies the case's fault profile: refuse closes the port, tarpit
// accepts and never answers, the others wrap the stream.
#pragma once
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "runtime/common.hpp"

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include "runtime/faults.hpp"
#include "runtime/recording.hpp"
#include "runtime/service.hpp"

namespace boost::asio::ssl {
class context;
}

namespace wirelab {

namespace tls {
class Authority;
}

/// Where a service listens, as lab.json says ("host", "port").
struct ListenSpec {
    std::string host = "127.0.0.1";
    unsigned short port = 0;  // 0: a free port
    std::string unix_path;    // set: a unix stream socket at this path instead
    std::string tls;          // "": plain; else TLS with a certificate of this variant (runtime/tls.hpp)
};

/// True when `text` is an IPv4 or IPv6 address.
bool is_ip_address(const std::string& text);

/// Reads "host" and "port" of a service spec, validated; with "socket" (a
/// file name), a unix stream socket in the run directory instead; "tls"
/// (true, or a certificate variant: "expired", "wrong-host", "self-signed").
ListenSpec read_listen_spec(Spec& spec, const ServiceContext& ctx);

/// The absolute path of file `name` (spec key `key`) in the run directory;
/// fails naming the key unless `name` is a plain file name that is not one
/// of wirelab's own.
std::string run_dir_file(Spec& spec, const std::string& key, const std::string& name, const ServiceContext& ctx,
                         const std::string& example);

struct TlsSession;  // a TLS stream over an accepted socket (listener.cpp)

/// The bottom of a connection's stack: the socket itself, or TLS over it.
/// A stream for the recording layer (which hands it plain handlers), so
/// every layer above sees the same plaintext whichever it is.
class Transport {
public:
    using Socket = asio::generic::stream_protocol::socket;
    using executor_type = Socket::executor_type;
    explicit Transport(Socket sock);
    explicit Transport(std::unique_ptr<TlsSession> tls);
    Transport(Transport&&) noexcept;
    ~Transport();

    executor_type get_executor() noexcept { return socket().get_executor(); }
    Socket& socket() noexcept;
    bool is_tls() const noexcept { return tls_ != nullptr; }
    TlsSession& tls() noexcept { return *tls_; }

    template <class MutableBuffers, class Handler>
    void async_read_some(const MutableBuffers& buffers, Handler&& handler) {
        if (!tls_) {
            sock_.async_read_some(buffers, std::forward<Handler>(handler));
            return;
        }
        auto h = std::make_shared<std::decay_t<Handler>>(std::forward<Handler>(handler));
        tls_read(first<asio::mutable_buffer>(buffers), [h](error_code ec, std::size_t n) { std::move(*h)(ec, n); });
    }
    template <class ConstBuffers, class Handler>
    void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
        if (!tls_) {
            sock_.async_write_some(buffers, std::forward<Handler>(handler));
            return;
        }
        auto h = std::make_shared<std::decay_t<Handler>>(std::forward<Handler>(handler));
        tls_write(first<asio::const_buffer>(buffers), [h](error_code ec, std::size_t n) { std::move(*h)(ec, n); });
    }

private:
    using Done = std::function<void(error_code, std::size_t)>;
    template <class Buffer, class Seq>
    static Buffer first(const Seq& seq) {
        for (auto it = asio::buffer_sequence_begin(seq); it != asio::buffer_sequence_end(seq); ++it)
            if (Buffer b(*it); b.size()) return b;
        return Buffer();
    }
    void tls_read(asio::mutable_buffer b, Done done);
    void tls_write(asio::const_buffer b, Done done);

    Socket sock_;  // unused with TLS (the socket is inside the TLS stream)
    std::unique_ptr<TlsSession> tls_;
};

/// One accepted connection as a protocol session sees it.
class Conn {
public:
    /// TCP or unix, plain or TLS: the protocol sessions do not care which.
    using Socket = Transport::Socket;
    using Stream = fault_stream<recording_stream<Transport>>;

    Conn(Transport transport, std::shared_ptr<ConnectionRecord> rec, std::shared_ptr<FaultPlan> plan);
    Conn(const Conn&) = delete;

    Stream& stream() { return stream_; }
    Socket& socket() { return stream_.next_layer().next_layer().socket(); }
    ConnectionRecord& record() { return *rec_; }
    std::int64_t id() const { return rec_->id(); }
    FaultPlan& faults() { return *plan_; }

    /// Closes the connection if no deadline reset comes within `d`
    /// (timed_out() then says so). Replaces any earlier deadline.
    void expires_after(std::chrono::steady_clock::duration d);
    void expires_never();
    bool timed_out() const { return timed_out_; }

    /// Reads what has arrived into `buf`; 0 when the peer closed, the read
    /// failed, or nothing came for `idle` (the record then says so).
    awaitable<std::size_t> read_some(asio::mutable_buffer buf, std::chrono::seconds idle);
    /// Writes all of `bytes` (a slow reader, or a slowed write, has 300 s);
    /// false when the connection is gone.
    awaitable<bool> write_all(std::string_view bytes);

    /// Our side closes: waits the profile's slow close, then sends FIN.
    awaitable<void> close_send(const std::string& why = {});
    /// Aborts with a reset (SO_LINGER 0), recorded as a reset by us.
    void reset(const std::string& why);
    /// Stops everything at once (wirelab is stopping).
    void abort(const std::string& why);

private:
    Stream stream_;
    std::shared_ptr<ConnectionRecord> rec_;
    std::shared_ptr<FaultPlan> plan_;
    asio::steady_timer deadline_;
    bool timed_out_ = false;
};

class StreamListener {
public:
    using Protocol = std::function<awaitable<void>(Conn&)>;

    /// `kind` names the service kind in messages ("http", "tcp").
    StreamListener(const ServiceContext& ctx, std::string kind, ListenSpec spec, Protocol protocol);
    ~StreamListener();

    /// Binds and accepts. Throws EnvError naming port and service.
    void start();
    void stop();
    unsigned short port() const { return port_; }
    const std::string& host() const { return spec_.host; }
    /// Where the learner connects: scheme "tcp"/"http" over TCP, or the
    /// unix socket's path.
    Endpoint endpoint(const std::string& scheme) const;

    /// The fault profile for the connections accepted from now on, and the
    /// seed their plans derive from. Refuse closes the port until a profile
    /// without it comes.
    void set_faults(const FaultProfile& profile, std::uint64_t seed);
    const FaultProfile& faults() const { return profile_; }

private:
    void bind();
    template <class Acceptor>
    awaitable<void> accept_loop(std::shared_ptr<Acceptor> acc);
    awaitable<void> run(Conn::Socket sock, ConnectionInfo info);
    bool listening() const { return acceptor_ || uacceptor_; }
    void close_acceptor();
    awaitable<void> tarpit(Conn& c);

    asio::io_context& io_;
    Journal& journal_;
    std::string name_, kind_;
    ListenSpec spec_;
    tls::Authority* authority_ = nullptr;
    std::shared_ptr<asio::ssl::context> tls_;
    bool ephemeral_ = false;
    Protocol protocol_;
    std::shared_ptr<tcp::acceptor> acceptor_;
    std::shared_ptr<asio::local::stream_protocol::acceptor> uacceptor_;
    unsigned short port_ = 0;
    bool started_ = false, stopping_ = false;
    int out_of_fds_ = 0;  // accepts retried since the descriptors ran out
    FaultProfile profile_;
    std::uint64_t seed_ = 0;
    std::uint64_t ordinal_ = 0;
    std::map<std::int64_t, Conn*> live_;
};

}  // namespace wirelab
