// The only translation unit that includes Boost.Beast's HTTP parser and
// serializer: keep it that way, it costs ~10 s to build.
#include "services/http/http_service.hpp"

#include <openssl/sha.h>

#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <ctime>
#include <fstream>
#include <map>
#include <random>
#include <optional>
#include <sstream>

#include "runtime/seeding.hpp"
#include "runtime/common.hpp"
#include "runtime/errors.hpp"
#include "runtime/journal.hpp"
#include "runtime/listener.hpp"
#include "services/http/strict.hpp"
#include "services/http/doc_state.hpp"
#include "services/http/json_store.hpp"

namespace wirelab::http {

namespace beast = boost::beast;
namespace bhttp = beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

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
}  // namespace

namespace {

std::string http_date() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

std::string base64(const unsigned char* p, std::size_t n) {
    static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < n; i += 3) {
        unsigned v = p[i] << 16 | (i + 1 < n ? p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        out += tbl[(v >> 18) & 63];
        out += tbl[(v >> 12) & 63];
        out += i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        out += i + 2 < n ? tbl[v & 63] : '=';
    }
    return out;
}

// Express's weak ETag: W/"<length hex>-<first 27 chars of base64 sha1>".
std::string weak_etag(const std::string& body) {
    unsigned char md[SHA_DIGEST_LENGTH];
    ::SHA1(reinterpret_cast<const unsigned char*>(body.data()), body.size(), md);
    char len[32];
    std::snprintf(len, sizeof len, "%zx", body.size());
    return "W/\"" + std::string(len) + "-" + base64(md, sizeof md).substr(0, 27) + "\"";
}

std::string to_lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool is_parse_error(const error_code& ec) {
    return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category();
}

const char* kHomePage = R"(<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>wirelab REST service</title></head>
<body>
<h1>wirelab REST service</h1>
<p>A json-server compatible API. Resources:</p>
<ul>
)";

}  // namespace

class HttpService final : public Service {
public:
    HttpService(ServiceContext& ctx) : name_(ctx.name), journal_(ctx.journal) {
        Spec& s = ctx.spec;
        listen_ = read_listen_spec(s, ctx);
        body_limit_ = static_cast<std::size_t>(s.integer("body_limit", 1 << 20, 1, 1LL << 30));
        chunked_ = s.boolean("chunked", false);
        if (const json* pages = s.get("pages")) {
            // Static pages served for GET/HEAD before the REST routes.
            if (!pages->is_object())
                s.fail("pages", "\"pages\" maps paths to pages, e.g. {\"/\": {\"text\": \"<p>hi</p>\"}}");
            for (auto it = pages->begin(); it != pages->end(); ++it) {
                Spec p(s.doc(), it.value(), s.pointer("pages") + "/" + pointer_escape(it.key()), "page");
                if (it.key().empty() || it.key()[0] != '/') p.fail("", "a page's path must start with '/'");
                Page page;
                page.content_type = p.string("content_type", "text/html; charset=UTF-8");
                std::string text = p.string("text");
                auto repeat = p.integer("repeat", 1, 1, 100000000);
                if (text.size() * static_cast<std::size_t>(repeat) > (256u << 20))
                    p.fail("repeat", "a page may be at most 256 MB");
                page.body.reserve(text.size() * static_cast<std::size_t>(repeat));
                for (std::int64_t i = 0; i < repeat; ++i) page.body += text;
                p.finish();
                pages_[it.key()] = std::move(page);
            }
        }
        header_limit_ = static_cast<std::size_t>(s.integer("header_limit", 16 * 1024, 1024, 1 << 20));
        keep_alive_s_ = s.integer("keep_alive_timeout", 5, 1, 3600);
        // Synchronisation labs: optimistic locking, a service that takes
        // its time (so races are wide open), and a cap on requests at once.
        std::string im = s.string("if_match", "off");
        if (im != "off" && im != "optional" && im != "required")
            s.fail("if_match", "\"if_match\" is \"off\", \"optional\" or \"required\", got \"" + im + "\"");
        if_match_ = im == "required" ? 2 : im == "optional" ? 1 : 0;
        respond_after_ms_ = s.integer("respond_after_ms", 0, 0, 600000);
        max_in_flight_ = s.integer("max_in_flight", 0, 0, 100000);
        retry_after_s_ = s.integer("busy_retry_after", 1, 0, 3600);
        ojson db = ojson::object();
        if (const json* data = s.get("data")) {
            if (data->is_string()) {
                auto rel = data->get<std::string>();
                // The file is JSON as it is; its strings take the params.
                std::string text = read_lab_file(s, "data", rel, ctx.lab_dir, nullptr);
                try {
                    db = ojson::parse(text);
                    if (ctx.params) ctx.params->expand_json(db);
                } catch (const ojson::parse_error& e) {
                    s.fail("data", "data file \"" + rel + "\" is not valid JSON: " + e.what());
                }
            } else if (data->is_object()) {
                db = ojson::parse(data->dump());
            } else {
                s.fail("data", "\"data\" must be a file name or an object of collections, got " +
                                   json_type_name(*data));
            }
            if (!db.is_object())
                s.fail("data", "the data must be a JSON object whose members are collections "
                               "(arrays) or resources (objects), e.g. {\"cars\": [...]}");
        }
        s.finish();
        store_ = std::make_unique<JsonStore>(std::move(db));
        state_ = std::make_unique<DocState>(ctx.state_dir / (name_ + ".db"));
        state_->write(store_->db(), std::set<std::string>{});
        listener_ = std::make_unique<StreamListener>(ctx, "http", listen_,
                                                     [this](Conn& c) { return serve(c); });
    }

    void start() override { listener_->start(); }

    void stop() override {
        stopping_ = true;
        listener_->stop();
    }

    void set_faults(const FaultProfile& profile, std::uint64_t seed) override {
        listener_->set_faults(profile, seed);
        status_rng_.seed(mix_seed(seed, 0x5354415455ULL));
        requests_ = 0;
    }

    Endpoint endpoint() const override { return listener_->endpoint("http"); }
    std::filesystem::path state_file() const override { return state_->file(); }
    void flush() override {
        auto changes = store_->take_changes();
        if (!changes.empty()) state_->write(store_->db(), changes);
    }

private:
    void add_common_headers(Response& res, const Request& req) {
        res.set(bhttp::field::server, "");
        res.erase(bhttp::field::server);
        res.set("X-Powered-By", "Express");
        // cors adds Origin; method-override adds X-HTTP-Method-Override on a
        // POST; compression adds Accept-Encoding once a body is known (below).
        res.set(bhttp::field::vary, req.method() == bhttp::verb::post ? "Origin, X-HTTP-Method-Override"
                                                                         : "Origin");
        res.set("Access-Control-Allow-Credentials", "true");
        auto origin = req.find(bhttp::field::origin);
        if (origin != req.end()) res.set("Access-Control-Allow-Origin", origin->value());
        res.set(bhttp::field::cache_control, "no-cache");
        res.set(bhttp::field::pragma, "no-cache");
        res.set(bhttp::field::expires, "-1");
    }

    Response respond(const Request& req, const std::string& host_header) {
        Response res;
        res.version(req.version());
        std::string target(req.target());
        auto qpos = target.find('?');
        std::string raw_path = target.substr(0, qpos);
        std::string raw_query = qpos == std::string::npos ? "" : target.substr(qpos + 1);
        std::string method(req.method_string());

        if (req.method() == bhttp::verb::options) {
            // CORS preflight, as the cors middleware answers it.
            res.result(bhttp::status::no_content);
            res.set("X-Powered-By", "Express");
            auto origin = req.find(bhttp::field::origin);
            if (origin != req.end()) res.set("Access-Control-Allow-Origin", origin->value());
            res.set("Vary", "Origin, Access-Control-Request-Headers");
            res.set("Access-Control-Allow-Credentials", "true");
            res.set("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE");
            auto rh = req.find(bhttp::field::access_control_request_headers);
            if (rh != req.end()) res.set("Access-Control-Allow-Headers", rh->value());
            res.set(bhttp::field::content_length, "0");
            return res;
        }

        StoreResponse out;
        auto page = pages_.find(raw_path);
        if (page != pages_.end() && (method == "GET" || method == "HEAD")) {
            out.status = 200;
            out.content_type = page->second.content_type;
            out.body = page->second.body;
        } else if (raw_path == "/" && (method == "GET" || method == "HEAD")) {
            out.status = 200;
            out.content_type = "text/html; charset=UTF-8";
            out.body = kHomePage;
            for (auto it = store_->db().begin(); it != store_->db().end(); ++it)
                out.body += "<li><a href=\"/" + it.key() + "\">/" + it.key() + "</a></li>\n";
            out.body += "</ul>\n</body>\n</html>\n";
        } else {
            StoreRequest sr;
            sr.method = method;
            sr.path = percent_decode(raw_path, false);
            sr.target = target;
            sr.query = parse_query(raw_query);
            auto ct = req.find(bhttp::field::content_type);
            if (ct != req.end()) sr.content_type = std::string(ct->value());
            sr.body = req.body();
            sr.base_url = "http://" + host_header;
            if (auto pre = precondition(req, sr)) out = std::move(*pre);
            else out = store_->handle(sr);
        }

        res.result(static_cast<unsigned>(out.status));
        add_common_headers(res, req);
        for (auto& [k, v] : out.headers) res.insert(k, v);
        res.set(bhttp::field::content_type, out.content_type);
        // Express's res.jsonp, which json-server's router answers with.
        if (out.content_type.starts_with("application/json")) res.set("X-Content-Type-Options", "nosniff");
        std::string etag = weak_etag(out.body);
        auto inm = req.find(bhttp::field::if_none_match);
        bool fresh = inm != req.end() && inm->value() == etag && out.status >= 200 &&
                     out.status < 300 && (method == "GET" || method == "HEAD");
        res.set(bhttp::field::content_length, std::to_string(out.body.size()));
        // A 412 carries the resource's current ETag, not its error body's.
        if (res.find(bhttp::field::etag) == res.end()) res.set(bhttp::field::etag, etag);
        if (fresh) {
            res.result(bhttp::status::not_modified);
            res.erase(bhttp::field::content_type);
            res.erase(bhttp::field::content_length);
        } else {
            res.set(bhttp::field::vary, std::string(res[bhttp::field::vary]) + ", Accept-Encoding");
            if (method != "HEAD") res.body() = std::move(out.body);
        }
        return res;
    }

    /// The response with Transfer-Encoding: chunked, the body cut into
    /// chunks of at most 1000 bytes (so a reader must loop over chunks).
    static std::string chunked_wire(Response& res) {
        res.erase(bhttp::field::content_length);
        res.set(bhttp::field::transfer_encoding, "chunked");
        std::string out = "HTTP/1.1 " + std::to_string(res.result_int()) + " " + std::string(res.reason()) + "\r\n";
        for (const auto& f : res) out += std::string(f.name_string()) + ": " + std::string(f.value()) + "\r\n";
        out += "\r\n";
        const std::string& body = res.body();
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

    static nlohmann::json header_list(const auto& fields) {
        nlohmann::json h = nlohmann::json::array();
        for (const auto& f : fields)
            h.push_back({std::string(f.name_string()), std::string(f.value())});
        return h;
    }

    static nlohmann::json query_object(const std::string& target) {
        nlohmann::json q = nlohmann::json::object();
        auto qpos = target.find('?');
        if (qpos == std::string::npos) return q;
        for (auto& [k, v] : parse_query(target.substr(qpos + 1))) {
            if (!q.contains(k))
                q[k] = v;
            else if (q[k].is_array())
                q[k].push_back(v);
            else
                q[k] = nlohmann::json::array({q[k], v});
        }
        return q;
    }

    awaitable<void> write_error(Conn& c, int status, const char* reason, int seq, micros t0,
                                const std::string& why) {
        // Node closes the connection after answering a request it could not
        // parse; so do we.
        std::string msg = "HTTP/1.1 " + std::to_string(status) + " " + reason +
                          "\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        error_code ec;
        c.expires_after(std::chrono::seconds(30));
        co_await asio::async_write(c.stream(), asio::buffer(msg), asio::redirect_error(use_awaitable, ec));
        journal_.http({{"service", name_}, {"connection_id", c.id()}, {"seq", seq},
                       {"started_us", t0}, {"ended_us", journal_.now()}, {"status", status},
                       {"reason", reason}, {"error", why}});
        if (!ec) co_await c.close_send(why);
    }

    /// Strict mode: reads the whole request head into `buffer` first (Beast
    /// then parses it from there) and returns what a strict server rejects,
    /// or "" when the head is acceptable. Sets `ec` on I/O errors.
    awaitable<std::string> strict_head(Conn& c, beast::flat_buffer& buffer, error_code& ec) {
        for (;;) {
            std::string_view have(static_cast<const char*>(buffer.data().data()), buffer.size());
            if (auto end = head_end(have); end != std::string_view::npos)
                co_return strict_violation(have.substr(0, end));
            if (buffer.size() > header_limit_) co_return std::string();  // Beast answers 431
            auto n = co_await c.stream().async_read_some(buffer.prepare(4096),
                                                         asio::redirect_error(use_awaitable, ec));
            buffer.commit(n);
            if (ec) co_return std::string();
        }
    }

    /// Which answer-level fault (if any) hits request number `n` of the case.
    const StatusFault* status_fault(std::int64_t n) {
        for (const auto& f : listener_->faults().status) {
            bool hit = std::find(f.nth.begin(), f.nth.end(), n) != f.nth.end() ||
                       (f.every > 0 && n % f.every == 0);
            if (!hit && f.rate > 0)
                hit = std::uniform_real_distribution<double>(0, 1)(status_rng_) < f.rate;
            if (hit) return &f;
        }
        return nullptr;
    }

    /// If-Match on a write: 412 when the resource changed since the
    /// client read it (its ETag differs), 428 when the lab requires the
    /// header and it is missing. nullopt: go ahead.
    std::optional<StoreResponse> precondition(const Request& req, const StoreRequest& sr) {
        if (!if_match_ || (sr.method != "PUT" && sr.method != "PATCH" && sr.method != "DELETE")) return std::nullopt;
        auto im = req.find(bhttp::field::if_match);
        StoreRequest get = sr;
        get.method = "GET";
        get.body.clear();
        get.content_type.clear();
        get.query = {};
        get.target = sr.path;
        StoreResponse current = store_->handle(get);
        // Only a single resource that exists has a version to compare; the
        // write itself answers 404 (or what a collection answers).
        if (current.status != 200 || current.body.empty() || current.body[0] != '{') return std::nullopt;
        std::string etag = weak_etag(current.body);
        auto error = [&etag](int status, const std::string& text) {
            StoreResponse r;
            r.status = status;
            r.content_type = "application/json; charset=utf-8";
            r.body = nlohmann::json{{"error", text}}.dump(2);
            r.headers.push_back({"ETag", etag});
            return r;
        };
        if (im == req.end()) {
            if (if_match_ == 2)
                return error(428, "this API needs If-Match: send the ETag you got when you read the resource");
            return std::nullopt;
        }
        auto strip = [](std::string v) {
            while (!v.empty() && (v.front() == ' ')) v.erase(0, 1);
            while (!v.empty() && (v.back() == ' ')) v.pop_back();
            if (v.rfind("W/", 0) == 0) v = v.substr(2);
            return v;
        };
        std::string given(im->value());
        bool match = false;
        std::size_t from = 0;
        while (from <= given.size() && !match) {
            auto comma = given.find(',', from);
            std::string one = strip(given.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
            match = one == "*" || one == strip(etag);
            if (comma == std::string::npos) break;
            from = comma + 1;
        }
        if (match) return std::nullopt;
        return error(412, "the resource changed since you read it (If-Match " + given + ", current ETag " + etag +
                              "): read it again and retry");
    }

    Response busy_response(const Request& req) {
        Response res;
        res.version(req.version());
        res.result(bhttp::status::too_many_requests);
        add_common_headers(res, req);
        res.set(bhttp::field::content_type, "application/json; charset=utf-8");
        res.set(bhttp::field::retry_after, std::to_string(retry_after_s_));
        res.body() = nlohmann::json{{"error", "too many requests at once: this API serves at most " +
                                                  std::to_string(max_in_flight_) + " at a time"}}
                         .dump();
        res.set(bhttp::field::content_length, std::to_string(res.body().size()));
        if (req.method() == bhttp::verb::head) res.body().clear();
        return res;
    }

    Response fault_response(const Request& req, const StatusFault& f) {
        Response res;
        res.version(req.version());
        res.result(static_cast<unsigned>(f.status));
        add_common_headers(res, req);
        res.set(bhttp::field::content_type, "application/json; charset=utf-8");
        if (f.retry_after) res.set(bhttp::field::retry_after, std::to_string(*f.retry_after));
        std::string reason(res.reason());
        res.body() = nlohmann::json{{"error", reason.empty() ? "error" : reason}}.dump();
        res.set(bhttp::field::content_length, std::to_string(res.body().size()));
        if (req.method() == bhttp::verb::head) res.body().clear();
        return res;
    }

    awaitable<void> serve(Conn& c) {
        error_code ec;
        auto& stream = c.stream();
        beast::flat_buffer buffer;
        bool strict = listener_->faults().strict;
        for (int seq = 1; !stopping_; ++seq) {
            bhttp::request_parser<bhttp::string_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(header_limit_));
            parser.body_limit(body_limit_);
            c.expires_after(std::chrono::seconds(seq == 1 ? 30 : keep_alive_s_));
            std::string violation;
            if (strict) violation = co_await strict_head(c, buffer, ec);
            micros t0 = journal_.now();
            if (!violation.empty()) {
                co_await write_error(c, 400, "Bad Request", seq, t0, "strict: " + violation);
                break;
            }
            if (!ec)
                co_await bhttp::async_read_header(stream, buffer, parser,
                                                  asio::redirect_error(use_awaitable, ec));
            t0 = journal_.now();
            if (stopping_) break;
            if (c.timed_out()) {
                c.record().closing(seq == 1 ? "no request within 30 s" : "keep-alive timeout");
                break;
            }
            if (ec == bhttp::error::end_of_stream || ec == asio::error::eof) break;
            if (ec == bhttp::error::body_limit) {  // a Content-Length over the limit, seen in the header
                co_await write_error(c, 413, "Payload Too Large", seq, t0,
                                     "request body larger than " + std::to_string(body_limit_) + " bytes");
                break;
            }
            if (ec == bhttp::error::header_limit) {
                co_await write_error(c, 431, "Request Header Fields Too Large", seq, t0,
                                     "request header larger than " + std::to_string(header_limit_) + " bytes");
                break;
            }
            if (ec == bhttp::error::partial_message) {
                journal_.event("partial-request", name_, {{"seq", seq}}, c.id());
                break;
            }
            if (ec) {
                if (is_parse_error(ec))
                    co_await write_error(c, 400, "Bad Request", seq, t0, "malformed request: " + parse_error_words(ec, buffer));
                break;
            }
            auto expect = parser.get().find(bhttp::field::expect);
            if (expect != parser.get().end() && to_lower(std::string(expect->value())) == "100-continue") {
                static const std::string cont = "HTTP/1.1 100 Continue\r\n\r\n";
                co_await asio::async_write(stream, asio::buffer(cont), asio::redirect_error(use_awaitable, ec));
                if (ec) break;
            }
            c.expires_after(std::chrono::seconds(30));
            co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
            if (ec == bhttp::error::body_limit) {
                co_await write_error(c, 413, "Payload Too Large", seq, t0,
                                     "request body larger than " + std::to_string(body_limit_) + " bytes");
                break;
            }
            if (ec == bhttp::error::partial_message || ec == asio::error::connection_reset || c.timed_out()) {
                journal_.event("partial-request", name_, {{"seq", seq}, {"error", ec.message()}}, c.id());
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
            std::string host_header = host != req.end() ? std::string(host->value())
                                                         : listener_->host() + ":" + std::to_string(listener_->port());
            const StatusFault* fault = status_fault(++requests_);
            bool busy = !fault && max_in_flight_ > 0 && in_flight_ >= max_in_flight_;
            Response res = fault ? fault_response(req, *fault) : busy ? busy_response(req) : respond(req, host_header);
            if (busy) journal_.event("busy", name_, {{"in_flight", in_flight_}, {"max_in_flight", max_in_flight_},
                                                     {"target", std::string(req.target())}}, c.id());
            if (!busy && respond_after_ms_ > 0) {
                // The request stays in flight while the service "works".
                ++in_flight_;
                asio::steady_timer work(stream.get_executor(), std::chrono::milliseconds(respond_after_ms_));
                error_code wec;
                co_await work.async_wait(asio::redirect_error(use_awaitable, wec));
                --in_flight_;
            }
            if (fault) {
                nlohmann::json d = {{"fault", "status"}, {"status", fault->status}, {"request", requests_},
                                    {"target", std::string(req.target())}};
                if (!listener_->faults().name.empty()) d["profile"] = listener_->faults().name;
                if (fault->retry_after) d["retry_after"] = *fault->retry_after;
                journal_.event("fault", name_, d, c.id());
            }
            bool keep = req.keep_alive() && !stopping_;
            res.set(bhttp::field::date, http_date());
            res.set(bhttp::field::connection, keep ? "keep-alive" : "close");
            if (keep) res.set(bhttp::field::keep_alive, "timeout=" + std::to_string(keep_alive_s_));
            std::string target(req.target());
            nlohmann::json row = {
                {"service", name_},
                {"connection_id", c.id()},
                {"seq", seq},
                {"started_us", t0},
                {"method", std::string(req.method_string())},
                {"target", target},
                {"path", percent_decode(target.substr(0, target.find('?')), false)},
                {"query", query_object(target)},
                {"version", req.version() == 10 ? "1.0" : "1.1"},
                {"req_headers", header_list(req)},
                {"req_body", req.body()},
                {"req_body_truncated", req.body().size() > journal_.body_cap()},
                {"status", res.result_int()},
                {"reason", std::string(res.reason())},
                {"resp_headers", header_list(res)},
                {"resp_body", res.body()},
                {"resp_body_truncated", res.body().size() > journal_.body_cap()}};
            // Writes may be slowed down on purpose: allow for the profile.
            c.expires_after(std::chrono::seconds(300));
            if (chunked_ && req.version() == 11 && !res.body().empty()) {
                std::string wire = chunked_wire(res);
                row["resp_headers"] = header_list(res);
                co_await asio::async_write(stream, asio::buffer(wire), asio::redirect_error(use_awaitable, ec));
            } else {
                co_await bhttp::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
            }
            row["ended_us"] = journal_.now();
            if (ec) row["error"] = "response not delivered: " + ec.message();
            journal_.http(row);
            if (ec) break;
            if (!keep) {
                co_await c.close_send(stopping_ ? "wirelab stopped" : "");
                break;
            }
        }
    }

    std::string name_;
    Journal& journal_;
    ListenSpec listen_;
    bool stopping_ = false;
    std::size_t body_limit_ = 0, header_limit_ = 0;
    struct Page {
        std::string content_type, body;
    };
    std::map<std::string, Page> pages_;
    bool chunked_ = false;
    long long keep_alive_s_ = 5;
    std::unique_ptr<JsonStore> store_;
    std::unique_ptr<DocState> state_;
    std::unique_ptr<StreamListener> listener_;
    std::mt19937_64 status_rng_;
    std::int64_t requests_ = 0;
    int if_match_ = 0;  // 0 off, 1 optional, 2 required
    std::int64_t respond_after_ms_ = 0, max_in_flight_ = 0, retry_after_s_ = 1, in_flight_ = 0;
};

std::unique_ptr<Service> make_http_service(ServiceContext& ctx) {
    return std::make_unique<HttpService>(ctx);
}

}  // namespace wirelab::http
