// The HTTP/1.1 side of every service that speaks HTTP, written once: reads
// requests with Boost.Beast (limits, 400/413/431, keep-alive, 100-continue,
// strict mode), applies the answer-level faults (status codes, a busy
// service, a slow one), writes the answer (optionally chunked) and journals
// each exchange as an `http` row. What an answer says comes from a handler
// on plain types, so no Beast header reaches the services that use it.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "runtime/listener.hpp"
#include "services/http/json_store.hpp"

namespace wirelab::http {

/// One request as a handler sees it.
struct HttpRequest {
    std::string method;  // as sent ("GET")
    std::string target;  // as sent: path and query
    std::string path;    // the target up to '?', not decoded
    std::string query;   // after '?', not decoded ("" if none)
    int version = 11;    // 10 or 11
    Fields headers;      // in the order sent
    std::string body;
    std::string host;  // the Host header, or the listener's host:port
    std::int64_t connection_id = 0;
    /// The first header called `name` (any case), or "" when absent.
    std::string_view header(std::string_view name) const;
    bool has_header(std::string_view name) const;
};

/// A handler's answer. Content-Length is added unless given (and never for
/// 1xx, 204 or 304); a HEAD request's body is not sent.
struct HttpReply {
    int status = 200;
    Fields headers;
    std::string body;
    void set(std::string_view name, std::string value);
    bool has(std::string_view name) const;
};

/// The lab.json settings every HTTP service shares.
struct HttpOptions {
    std::size_t body_limit = 1 << 20, header_limit = 16 * 1024;
    long long keep_alive_s = 5;
    bool chunked = false;                // bodies sent with Transfer-Encoding: chunked, 1000-byte chunks
    std::int64_t respond_after_ms = 0;   // the service "works" this long per request
    std::int64_t max_in_flight = 0;      // 0: no cap; over it: 429 with Retry-After
    std::int64_t retry_after_s = 1;
    /// Adds the service's own headers to every answer, the front's own
    /// (faults, busy) included. May be empty.
    std::function<void(const HttpRequest&, HttpReply&)> decorate;
};

/// Reads the shared settings (body_limit, header_limit, keep_alive_timeout,
/// chunked, respond_after_ms, max_in_flight, busy_retry_after) from `spec`.
HttpOptions read_http_options(Spec& spec);

class HttpFront {
public:
    using Handler = std::function<HttpReply(const HttpRequest&)>;
    /// `kind` names the service kind in messages ("http").
    HttpFront(ServiceContext& ctx, std::string kind, ListenSpec listen, HttpOptions options, Handler handler);
    ~HttpFront();
    HttpFront(const HttpFront&) = delete;

    void start();
    void stop();
    void set_faults(const FaultProfile& profile, std::uint64_t seed);
    Endpoint endpoint() const;
    unsigned short port() const;
    const std::string& host() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace wirelab::http
