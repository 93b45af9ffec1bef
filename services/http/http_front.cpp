// The only translation unit that includes Boost.Beast's HTTP parser and
// serializer for the services: keep it that way, it costs ~10 s to build.
#include "services/http/http_front.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <array>
#include <ctime>
#include <random>

#include "runtime/journal.hpp"
#include "runtime/lab.hpp"
#include "runtime/seeding.hpp"
#include "runtime/text.hpp"
#include "services/http/strict.hpp"

namespace wirelab::http {

namespace beast = boost::beast;
namespace bhttp = beast::http;
using Request = bhttp::request<bhttp::string_body>;

namespace {

// Beast's words for a parse error, or what is really wrong when a line
// ends with a bare LF (Beast reports it as a bad version or value).
template <class Buffer>
std::string parse_error_words(const boost::system::error_code& ec, const Buffer& buffer) {
    std::string head(static_cast<const char*>(buffer.data().data()), std::min<std::size_t>(buffer.size(), 16384));
    for (std::size_t p = head.find('\n'); p != std::string::npos; p = head.find('\n', p + 1))
        if (p == 0 || head[p - 1] != '\r')
            return "a line ends with a bare LF; HTTP/1.1 lines end with CRLF (\\r\\n)";
    return ec.message();
}

// Made once a second, not for every response.
const std::string& http_date() {
    thread_local std::time_t made = -1;
    thread_local std::string date;
    std::time_t t = std::time(nullptr);
    if (t != made) {
        std::tm tm{};
        ::gmtime_r(&t, &tm);
        char buf[64];
        std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        date = buf, made = t;
    }
    return date;
}

bool is_parse_error(const error_code& ec) {
    return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category();
}

// A header list as the journal takes it: Beast's fields, or our own
// (name, value) pairs, viewed. `out` is reused: its room stays.
const HeaderViews& header_views(const auto& fields, HeaderViews& out) {
    out.clear();
    for (const auto& f : fields) {
        if constexpr (requires { f.first; })
            out.emplace_back(f.first, f.second);
        else
            out.emplace_back(f.name_string(), f.value());
    }
    return out;
}

nlohmann::json query_object(const std::string& query) {
    nlohmann::json q = nlohmann::json::object();
    if (query.empty()) return q;
    for (auto& [k, v] : parse_query(query)) {
        if (!q.contains(k))
            q[k] = v;
        else if (q[k].is_array())
            q[k].push_back(v);
        else
            q[k] = nlohmann::json::array({q[k], v});
    }
    return q;
}

/// A reply as it goes on the wire: what Beast's serializer wrote for it,
/// built here (its fields and gathered buffers were a sixth of serving a
/// GET). Headers in the order they are sent.
struct Wire : HttpReply {
    unsigned version = 11;

    /// Replaces `name` (the new one goes last), as Beast's set() does.
    void put(std::string_view name, std::string value) {
        std::erase_if(headers, [&](const auto& h) { return iequals(h.first, name); });
        headers.emplace_back(std::string(name), std::move(value));
    }
    std::string_view reason() const {
        return bhttp::obsolete_reason(static_cast<bhttp::status>(static_cast<unsigned>(status)));
    }
    /// The status line and the header lines, up to and with the empty line.
    std::string head() const {
        std::size_t n = 32;
        for (const auto& [k, v] : headers) n += k.size() + v.size() + 4;
        std::string out;
        out.reserve(n + reason().size());
        out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
        out += std::to_string(status);
        out += ' ';
        out += reason();
        out += "\r\n";
        for (const auto& [k, v] : headers) out += k, out += ": ", out += v, out += "\r\n";
        out += "\r\n";
        return out;
    }
    /// The body to send with Transfer-Encoding: chunked, in chunks of at
    /// most 1000 bytes (so a reader must loop over chunks); the headers say so.
    std::string chunked_body() {
        std::erase_if(headers, [](const auto& h) { return iequals(h.first, "Content-Length"); });
        put("Transfer-Encoding", "chunked");
        std::string out;
        char size[16];
        for (std::size_t i = 0; i < body.size(); i += 1000) {
            std::size_t n = std::min<std::size_t>(1000, body.size() - i);
            std::snprintf(size, sizeof size, "%zx\r\n", n);
            out += size;
            out.append(body, i, n);
            out += "\r\n";
        }
        return out + "0\r\n\r\n";
    }
};

HttpReply json_error(int status, const std::string& text) {
    HttpReply r;
    r.status = status;
    r.set("Content-Type", "application/json; charset=utf-8");
    r.body = nlohmann::json{{"error", text}}.dump();
    return r;
}

}  // namespace

std::string_view HttpRequest::header(std::string_view name) const {
    const std::string* v = find_field(headers, name);
    return v ? std::string_view(*v) : std::string_view();
}

bool HttpRequest::has_header(std::string_view name) const { return find_field(headers, name) != nullptr; }

void HttpReply::set(std::string_view name, std::string value) {
    if (headers.capacity() == 0) headers.reserve(16);  // a json-server response has about a dozen
    for (auto& [k, v] : headers)
        if (iequals(k, name)) {
            v = std::move(value);
            return;
        }
    headers.emplace_back(std::string(name), std::move(value));
}

bool HttpReply::has(std::string_view name) const { return find_field(headers, name) != nullptr; }

HttpOptions read_http_options(Spec& s) {
    HttpOptions o;
    o.body_limit = static_cast<std::size_t>(s.integer("body_limit", 1 << 20, 1, 1LL << 30));
    o.chunked = s.boolean("chunked", false);
    o.header_limit = static_cast<std::size_t>(s.integer("header_limit", 16 * 1024, 1024, 1 << 20));
    o.keep_alive_s = s.integer("keep_alive_timeout", 5, 1, 3600);
    o.respond_after_ms = s.integer("respond_after_ms", 0, 0, 600000);
    o.max_in_flight = s.integer("max_in_flight", 0, 0, 100000);
    o.retry_after_s = s.integer("busy_retry_after", 1, 0, 3600);
    return o;
}

struct HttpFront::Impl {
    Impl(ServiceContext& ctx, std::string kind, ListenSpec listen, HttpOptions o, Handler h)
        : name(ctx.name), journal(ctx.journal), options(std::move(o)), handler(std::move(h)) {
        listener = std::make_unique<StreamListener>(ctx, std::move(kind), std::move(listen),
                                                    [this](Conn& c) { return serve(c); });
    }

    std::string name;
    Journal& journal;
    HttpOptions options;
    Handler handler;
    std::unique_ptr<StreamListener> listener;
    bool stopping = false;
    std::mt19937_64 status_rng;
    std::int64_t requests = 0, in_flight = 0;
    HeaderViews req_views, resp_views;  // the lists of the exchange being journaled

    void decorate(const HttpRequest& req, HttpReply& r) {
        if (options.decorate) options.decorate(req, r);
    }

    awaitable<void> write_error(Conn& c, int status, const char* reason, int seq, micros t0, const std::string& why) {
        // Node closes the connection after answering a request it could not
        // parse; so do we.
        std::string msg = "HTTP/1.1 " + std::to_string(status) + " " + reason +
                          "\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        error_code ec;
        c.expires_after(std::chrono::seconds(30));
        co_await asio::async_write(c.stream(), asio::buffer(msg), asio::redirect_error(use_awaitable, ec));
        journal.http({{"service", name}, {"connection_id", c.id()}, {"seq", seq}, {"started_us", t0},
                      {"ended_us", journal.now()}, {"status", status}, {"reason", reason}, {"error", why}});
        if (!ec) co_await c.close_send(why);
    }

    /// Strict mode: reads the whole request head into `buffer` first (Beast
    /// then parses it from there) and returns what a strict server rejects,
    /// or "" when the head is acceptable. Sets `ec` on I/O errors.
    awaitable<std::string> strict_head(Conn& c, beast::flat_buffer& buffer, error_code& ec) {
        for (;;) {
            std::string_view have(static_cast<const char*>(buffer.data().data()), buffer.size());
            if (auto end = head_end(have); end != std::string_view::npos) co_return strict_violation(have.substr(0, end));
            if (buffer.size() > options.header_limit) co_return std::string();  // Beast answers 431
            auto n = co_await c.stream().async_read_some(buffer.prepare(4096), asio::redirect_error(use_awaitable, ec));
            buffer.commit(n);
            if (ec) co_return std::string();
        }
    }

    /// Which answer-level fault (if any) hits request number `n` of the case.
    const StatusFault* status_fault(std::int64_t n) {
        for (const auto& f : listener->faults().status) {
            bool hit = std::find(f.nth.begin(), f.nth.end(), n) != f.nth.end() || (f.every > 0 && n % f.every == 0);
            if (!hit && f.rate > 0) hit = std::uniform_real_distribution<double>(0, 1)(status_rng) < f.rate;
            if (hit) return &f;
        }
        return nullptr;
    }

    static HttpRequest plain(const Request& req, Conn& c, std::string host) {
        HttpRequest r;
        r.method = std::string(req.method_string());
        r.target = std::string(req.target());
        auto q = r.target.find('?');
        r.path = r.target.substr(0, q);
        if (q != std::string::npos) r.query = r.target.substr(q + 1);
        r.version = static_cast<int>(req.version());
        for (const auto& f : req) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        r.body = req.body();
        r.host = std::move(host);
        r.connection_id = c.id();
        return r;
    }

    /// The answer to `req`: a fault's, a busy service's or the handler's.
    HttpReply answer(const HttpRequest& req, const StatusFault* fault, bool busy) {
        HttpReply r;
        if (fault) {
            std::string reason(bhttp::obsolete_reason(bhttp::int_to_status(static_cast<unsigned>(fault->status))));
            r = json_error(fault->status, reason.empty() ? "error" : reason);
            if (fault->retry_after) r.set("Retry-After", std::to_string(*fault->retry_after));
        } else if (busy) {
            r = json_error(429, "too many requests at once: this API serves at most " +
                                    std::to_string(options.max_in_flight) + " at a time");
            r.set("Retry-After", std::to_string(options.retry_after_s));
        } else {
            return handler(req);
        }
        // The service's own headers first, as the handler's answers have them.
        HttpReply out;
        out.status = r.status;
        decorate(req, out);
        for (auto& [k, v] : r.headers) out.set(k, v);
        out.body = std::move(r.body);
        return out;
    }

    static Wire wire_response(const HttpRequest& req, HttpReply&& r) {
        Wire res;
        res.version = req.version == 10 ? 10 : 11;
        static_cast<HttpReply&>(res) = std::move(r);
        bool no_body = res.status < 200 || res.status == 204 || res.status == 304;
        if (!no_body && !res.has("Content-Length") && !res.has("Transfer-Encoding"))
            res.headers.emplace_back("Content-Length", std::to_string(res.body.size()));
        if (req.method == "HEAD" || no_body) res.body.clear();
        return res;
    }

    awaitable<void> serve(Conn& c) {
        error_code ec;
        auto& stream = c.stream();
        journal.derive_http(c.id());
        beast::flat_buffer buffer;
        bool strict = listener->faults().strict;
        for (int seq = 1; !stopping; ++seq) {
            bhttp::request_parser<bhttp::string_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
            parser.body_limit(options.body_limit);
            c.expires_after(std::chrono::seconds(seq == 1 ? 30 : options.keep_alive_s));
            std::string violation;
            if (strict) violation = co_await strict_head(c, buffer, ec);
            micros t0 = journal.now();
            if (!violation.empty()) {
                co_await write_error(c, 400, "Bad Request", seq, t0, "strict: " + violation);
                break;
            }
            if (!ec) co_await bhttp::async_read_header(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
            t0 = journal.now();
            if (stopping) break;
            if (c.timed_out()) {
                c.record().closing(seq == 1 ? "no request within 30 s" : "keep-alive timeout");
                break;
            }
            if (ec == bhttp::error::end_of_stream || ec == asio::error::eof) break;
            if (ec == bhttp::error::body_limit) {  // a Content-Length over the limit, seen in the header
                co_await write_error(c, 413, "Payload Too Large", seq, t0,
                                     "request body larger than " + std::to_string(options.body_limit) + " bytes");
                break;
            }
            if (ec == bhttp::error::header_limit) {
                co_await write_error(c, 431, "Request Header Fields Too Large", seq, t0,
                                     "request header larger than " + std::to_string(options.header_limit) + " bytes");
                break;
            }
            if (ec == bhttp::error::partial_message) {
                journal.event("partial-request", name, {{"seq", seq}}, c.id());
                break;
            }
            if (ec) {
                if (is_parse_error(ec))
                    co_await write_error(c, 400, "Bad Request", seq, t0, "malformed request: " + parse_error_words(ec, buffer));
                break;
            }
            auto expect = parser.get().find(bhttp::field::expect);
            if (expect != parser.get().end() && iequals(expect->value(), "100-continue")) {
                static const std::string cont = "HTTP/1.1 100 Continue\r\n\r\n";
                co_await asio::async_write(stream, asio::buffer(cont), asio::redirect_error(use_awaitable, ec));
                if (ec) break;
            }
            c.expires_after(std::chrono::seconds(30));
            co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
            if (ec == bhttp::error::body_limit) {
                co_await write_error(c, 413, "Payload Too Large", seq, t0,
                                     "request body larger than " + std::to_string(options.body_limit) + " bytes");
                break;
            }
            if (ec == bhttp::error::partial_message || ec == asio::error::connection_reset || c.timed_out()) {
                journal.event("partial-request", name, {{"seq", seq}, {"error", ec.message()}}, c.id());
                if (c.timed_out()) c.record().closing("request body not received within 30 s");
                break;
            }
            if (ec) {
                if (is_parse_error(ec))
                    co_await write_error(c, 400, "Bad Request", seq, t0, "malformed request: " + ec.message());
                break;
            }
            Request& req = parser.get();
            auto host = req.find(bhttp::field::host);
            HttpRequest preq = plain(req, c, host != req.end() ? std::string(host->value())
                                                                : listener->host() + ":" + std::to_string(listener->port()));
            const StatusFault* fault = status_fault(++requests);
            bool busy = !fault && options.max_in_flight > 0 && in_flight >= options.max_in_flight;
            Wire res = wire_response(preq, answer(preq, fault, busy));
            if (busy)
                journal.event("busy", name, {{"in_flight", in_flight}, {"max_in_flight", options.max_in_flight},
                                             {"target", preq.target}}, c.id());
            if (!busy && options.respond_after_ms > 0) {
                // The request stays in flight while the service "works".
                ++in_flight;
                asio::steady_timer work(stream.get_executor(), std::chrono::milliseconds(options.respond_after_ms));
                error_code wec;
                co_await work.async_wait(asio::redirect_error(use_awaitable, wec));
                --in_flight;
            }
            if (fault) {
                nlohmann::json d = {{"fault", "status"}, {"status", fault->status}, {"request", requests},
                                    {"target", preq.target}};
                if (!listener->faults().name.empty()) d["profile"] = listener->faults().name;
                if (fault->retry_after) d["retry_after"] = *fault->retry_after;
                journal.event("fault", name, d, c.id());
            }
            bool keep = req.keep_alive() && !stopping;
            res.put("Date", http_date());
            res.put("Connection", keep ? "keep-alive" : "close");
            if (keep) res.put("Keep-Alive", "timeout=" + std::to_string(options.keep_alive_s));
            std::string chunked;
            if (options.chunked && req.version() == 11 && !res.body.empty()) chunked = res.chunked_body();
            HttpExchange row;
            row.service = name;
            row.connection_id = c.id();
            row.seq = seq;
            row.started_us = t0;
            row.path = percent_decode(preq.path, false);
            row.query = preq.query.empty() ? "{}" : query_object(preq.query).dump();
            row.method = std::move(preq.method);
            row.target = std::move(preq.target);
            row.version = req.version() == 10 ? "1.0" : "1.1";
            row.req_body = std::move(req.body());
            row.status = res.status;
            row.reason = std::string(res.reason());
            // Writes may be slowed down on purpose: allow for the profile.
            c.expires_after(std::chrono::seconds(300));
            std::string head = res.head();
            std::array<asio::const_buffer, 2> wire{asio::buffer(head),
                                                   asio::buffer(chunked.empty() ? res.body : chunked)};
            co_await asio::async_write(stream, wire, asio::redirect_error(use_awaitable, ec));
            row.ended_us = journal.now();
            row.resp_body = std::move(res.body);  // written: not needed any more
            if (ec) row.error = "response not delivered: " + ec.message();
            // Made here, after the write: another connection's exchange
            // uses the same lists while this one waits.
            row.req_headers = &header_views(req, req_views);
            row.resp_headers = &header_views(res.headers, resp_views);
            journal.http(std::move(row));
            if (ec) break;
            if (!keep) {
                co_await c.close_send(stopping ? "wirelab stopped" : "");
                break;
            }
        }
    }
};

HttpFront::HttpFront(ServiceContext& ctx, std::string kind, ListenSpec listen, HttpOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(ctx, std::move(kind), std::move(listen), std::move(options), std::move(handler))) {}
HttpFront::~HttpFront() = default;

void HttpFront::start() { impl_->listener->start(); }
void HttpFront::stop() {
    impl_->stopping = true;
    impl_->listener->stop();
}
void HttpFront::set_faults(const FaultProfile& profile, std::uint64_t seed) {
    impl_->listener->set_faults(profile, seed);
    impl_->status_rng.seed(mix_seed(seed, 0x5354415455ULL));
    impl_->requests = 0;
}
Endpoint HttpFront::endpoint() const { return impl_->listener->endpoint("http"); }
unsigned short HttpFront::port() const { return impl_->listener->port(); }
const std::string& HttpFront::host() const { return impl_->listener->host(); }

}  // namespace wirelab::http
