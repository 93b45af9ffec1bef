// The only translation unit of the classroom that includes Boost.Beast.
#include "classroom/server.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <iostream>
#include <list>
#include <optional>

#include "classroom/classroom.hpp"
#include "classroom/hosted.hpp"
#include "runtime/errors.hpp"

namespace wirelab::classroom {

namespace beast = boost::beast;
namespace bhttp = beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

namespace {

std::string url_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
                   std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

struct Target {
    std::string path;
    std::map<std::string, std::string> query;
    std::vector<std::string> parts;  // path split on '/'
};

Target parse_target(std::string_view t) {
    Target out;
    auto q = t.find('?');
    out.path = url_decode(t.substr(0, q));
    if (q != std::string_view::npos) {
        std::string_view qs = t.substr(q + 1);
        while (!qs.empty()) {
            auto amp = qs.find('&');
            std::string_view kv = qs.substr(0, amp);
            auto eq = kv.find('=');
            out.query[url_decode(kv.substr(0, eq))] = eq == std::string_view::npos ? "" : url_decode(kv.substr(eq + 1));
            if (amp == std::string_view::npos) break;
            qs.remove_prefix(amp + 1);
        }
    }
    std::size_t start = 1;
    while (start <= out.path.size()) {
        auto end = out.path.find('/', start);
        if (end == std::string::npos) end = out.path.size();
        if (end > start) out.parts.push_back(out.path.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

/// One live-update stream (GET /api/events).
struct Subscriber {
    explicit Subscriber(asio::any_io_executor ex) : wake(ex) {}
    Principal who;
    std::deque<std::string> queue;
    asio::steady_timer wake;
    bool closed = false;
};

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
    Impl(asio::io_context& io, Classroom& c, ServerOptions o, Hosted* h)
        : io(io), classroom(c), opt(std::move(o)), hosted(h), acceptor(io), tick_timer(io) {}

    asio::io_context& io;
    Classroom& classroom;
    ServerOptions opt;
    Hosted* hosted;
    tcp::acceptor acceptor;
    asio::steady_timer tick_timer;
    std::list<std::shared_ptr<Subscriber>> subscribers;
    std::list<std::weak_ptr<beast::tcp_stream>> streams;
    bool stopping = false;

    void publish(const json& event, std::optional<std::int64_t> learner) {
        std::string frame = "event: " + event.value("type", std::string("update")) + "\ndata: " + event.dump() + "\n\n";
        for (auto& s : subscribers) {
            bool mine = s->who.trainer() || !learner || (*learner != kTrainerOnly && *learner == s->who.learner);
            if (!mine || s->closed) continue;
            if (s->queue.size() > 1000) {  // a reader that stopped reading: drop it
                s->closed = true;
            } else {
                s->queue.push_back(frame);
            }
            s->wake.cancel();
        }
    }

    void start_ticks() {
        tick_timer.expires_after(std::chrono::seconds(1));
        tick_timer.async_wait([self = shared_from_this()](error_code ec) {
            if (ec || self->stopping) return;
            try {
                self->classroom.tick(std::chrono::system_clock::now());
            } catch (const std::exception& e) {
                std::cerr << "wirelab classroom: a scheduled event failed: " << e.what() << "\n";
            }
            self->start_ticks();
        });
    }

    static std::string token_of(const Request& req, const Target& t) {
        auto auth = req[bhttp::field::authorization];
        if (auth.size() > 7 && beast::iequals(auth.substr(0, 7), "Bearer ")) return std::string(auth.substr(7));
        auto it = t.query.find("token");
        return it == t.query.end() ? std::string() : it->second;
    }

    static Response reply(const Request& req, bhttp::status st, std::string body, std::string type) {
        Response res{st, req.version()};
        res.set(bhttp::field::server, "wirelab-classroom");
        res.set(bhttp::field::content_type, type);
        res.set(bhttp::field::cache_control, "no-store");
        res.set("X-Content-Type-Options", "nosniff");
        res.set("Referrer-Policy", "no-referrer");
        res.keep_alive(req.keep_alive());
        res.body() = std::move(body);
        res.prepare_payload();
        return res;
    }
    static Response json_reply(const Request& req, int status, const json& j) {
        return reply(req, static_cast<bhttp::status>(status), j.dump(2) + "\n", "application/json");
    }
    static Response page(const Request& req, const std::string& html, bool report = false) {
        Response r = reply(req, bhttp::status::ok, html, "text/html; charset=utf-8");
        // a report is learner-made content: no scripts, no requests
        r.set("Content-Security-Policy", report ? "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'none'"
                                                : "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'");
        r.set("X-Frame-Options", "SAMEORIGIN");
        return r;
    }

    /// Hosted services bound to every interface (--listen 0.0.0.0) are
    /// reached at the address the learner reached the classroom by.
    json reachable(json info, const Request& req) const {
        if ((opt.listen != "0.0.0.0" && opt.listen != "::") || !info.contains("services")) return info;
        std::string host(req[bhttp::field::host]);
        if (host.empty()) return info;
        if (host.front() == '[') {
            host = host.substr(0, host.find(']') + 1);
        } else if (auto colon = host.rfind(':'); colon != std::string::npos) {
            host = host.substr(0, colon);
        }
        const std::string any = opt.listen == "::" ? "[::]" : "0.0.0.0";
        auto fix = [&](std::string v) {
            if (auto at = v.find(any); at != std::string::npos) v.replace(at, any.size(), host);
            return v;
        };
        for (auto& [name, s] : info["services"].items()) {
            if (s.contains("url")) s["url"] = fix(s["url"].get<std::string>());
            if (s.contains("host")) s["host"] = host;
        }
        for (auto& [k, v] : info["env"].items())
            if (v.is_string()) v = k.size() > 5 && k.compare(k.size() - 5, 5, "_HOST") == 0 ? json(host) : json(fix(v.get<std::string>()));
        return info;
    }

    static void need(bool ok, int status, const std::string& what) {
        if (!ok) throw ApiError(status, what);
    }

    Response route(const Request& req, const Target& t) {
        const auto& p = t.parts;
        auto method = req.method();
        bool get = method == bhttp::verb::get || method == bhttp::verb::head;
        bool post = method == bhttp::verb::post;
        if (t.path == "/" && get) return page(req, dashboard_page());
        if ((t.path == "/learner" || t.path == "/join") && get) return page(req, learner_page());
        if (t.path == "/common.js" && get) {
            Response r = reply(req, bhttp::status::ok, common_script(), "text/javascript; charset=utf-8");
            r.set(bhttp::field::cache_control, "no-cache");
            return r;
        }
        if (t.path == "/favicon.ico") return reply(req, bhttp::status::not_found, "", "image/x-icon");
        if (t.path == "/api/health" && get)
            return json_reply(req, 200, {{"ok", true}, {"scenario", classroom.scenario().id}});
        if (t.path == "/api/join") {
            need(post, 405, "POST your name, e-mail and the join code");
            json body = json::parse(req.body(), nullptr, false);
            need(body.is_object(), 400, "the body must be a JSON object {\"code\", \"name\", \"email\"}");
            auto str = [&](const char* k) { return body.contains(k) && body[k].is_string() ? body[k].get<std::string>() : std::string(); };
            return json_reply(req, 201, classroom.join(str("code"), str("name"), str("email")));
        }

        Principal who = classroom.authenticate(token_of(req, t));
        if (who.role == Principal::Role::none)
            throw ApiError(401, "no valid token", "send Authorization: Bearer <your token> (the trainer gives it)");
        auto trainer_only = [&] {
            if (!who.trainer()) throw ApiError(403, "this needs the trainer's token");
        };

        if (t.path == "/api/me" && get) return json_reply(req, 200, classroom.me(who));
        if (t.path == "/api/grid" && get) return trainer_only(), json_reply(req, 200, classroom.grid());
        if (t.path == "/api/learners" && get) return trainer_only(), json_reply(req, 200, classroom.learners());
        if (t.path == "/api/actions") {
            trainer_only();
            need(post, 405, "POST an action");
            json body = json::parse(req.body(), nullptr, false);
            need(!body.is_discarded(), 400, "the body must be JSON");
            return json_reply(req, 200, classroom.act(body));
        }
        if (t.path == "/api/export.csv" && get) {
            trainer_only();
            Response r = reply(req, bhttp::status::ok, classroom.export_csv(), "text/csv; charset=utf-8");
            r.set(bhttp::field::content_disposition, "attachment; filename=\"" + classroom.scenario().id + "-grades.csv\"");
            return r;
        }
        if (t.path == "/api/export/gradescope.json" && get) return trainer_only(), json_reply(req, 200, classroom.export_gradescope());
        if (t.path == "/api/export/prairielearn.json" && get)
            return trainer_only(), json_reply(req, 200, classroom.export_prairielearn());
        if (p.size() >= 3 && p[0] == "api" && p[1] == "labs") {
            const std::string& lab = p[2];
            if (p.size() == 3 && get) return json_reply(req, 200, classroom.lab_config(who, lab));
            if (p.size() == 4 && p[3] == "submissions") {
                need(post, 405, "POST a run bundle");
                return json_reply(req, 201, classroom.submit(who, lab, req.body()));
            }
            if (p.size() >= 4 && p[3] == "hosted") {
                if (!hosted) throw ApiError(404, "this classroom does not host services", "run the lab on your machine");
                if (p.size() == 4 && post) return json_reply(req, 200, reachable(hosted->start(who, lab), req));
                if (p.size() == 4 && get) return json_reply(req, 200, reachable(hosted->status(who, lab), req));
                if (p.size() == 5 && p[4] == "check" && post) {
                    json body = req.body().empty() ? json::object() : json::parse(req.body(), nullptr, false);
                    need(body.is_object(), 400, "the body must be a JSON object (or empty)");
                    return json_reply(req, 201, hosted->check(who, lab, body));
                }
                if (p.size() == 5 && p[4] == "reset" && post) {
                    need(who.role == Principal::Role::learner, 403, "hosted services belong to a learner");
                    hosted->reset(lab, who.learner);
                    return json_reply(req, 200, reachable(hosted->status(who, lab), req));
                }
                if (p.size() == 4 && method == bhttp::verb::delete_) return json_reply(req, 200, hosted->stop(who, lab));
            }
        }
        if (p.size() >= 3 && p[0] == "api" && p[1] == "submissions" && get) {
            need(p[2].find_first_not_of("0123456789") == std::string::npos && p[2].size() < 15, 404, "no such run");
            std::int64_t id = std::stoll(p[2]);
            if (p.size() == 3) return json_reply(req, 200, classroom.submission(who, id));
            if (p.size() == 4 && p[3] == "report.html") return page(req, classroom.submission_html(who, id), true);
        }
        throw ApiError(404, "no " + std::string(req.method_string()) + " " + t.path, "see docs/classroom.md for the API");
    }

    awaitable<void> events(std::shared_ptr<beast::tcp_stream> stream, const Request& req, Principal who) {
        auto sub = std::make_shared<Subscriber>(stream->get_executor());
        sub->who = who;
        subscribers.push_back(sub);
        struct Remove {
            Impl* self;
            std::shared_ptr<Subscriber> s;
            ~Remove() { self->subscribers.remove(s); }
        } remove{this, sub};
        std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
                           "X-Accel-Buffering: no\r\nConnection: keep-alive\r\n\r\nretry: 2000\n\n";
        (void)req;
        sub->queue.push_back(": connected\n\n");
        error_code ec;
        stream->expires_never();
        co_await asio::async_write(*stream, asio::buffer(head), asio::redirect_error(use_awaitable, ec));
        while (!ec && !sub->closed && !stopping) {
            if (sub->queue.empty()) {
                sub->wake.expires_after(std::chrono::seconds(15));
                error_code wait_ec;
                co_await sub->wake.async_wait(asio::redirect_error(use_awaitable, wait_ec));
                if (stopping || sub->closed) break;
                if (!wait_ec && sub->queue.empty()) sub->queue.push_back(": keep-alive\n\n");
                continue;
            }
            std::string frame = std::move(sub->queue.front());
            sub->queue.pop_front();
            stream->expires_after(std::chrono::seconds(30));
            co_await asio::async_write(*stream, asio::buffer(frame), asio::redirect_error(use_awaitable, ec));
            stream->expires_never();
        }
        error_code ignore;
        stream->socket().shutdown(tcp::socket::shutdown_both, ignore);
    }

    awaitable<void> session(tcp::socket sock) {
        auto self = shared_from_this();
        auto stream = std::make_shared<beast::tcp_stream>(std::move(sock));
        streams.push_back(stream);
        beast::flat_buffer buffer(64 * 1024);
        error_code ec;
        for (;;) {
            bhttp::request_parser<bhttp::string_body> parser;
            parser.header_limit(16 * 1024);
            const std::size_t max_upload = classroom.options().max_upload, max_body = 64 * 1024;
            parser.body_limit(max_upload);  // lowered below for everything but an upload
            stream->expires_after(std::chrono::seconds(30));
            co_await bhttp::async_read_header(*stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
            bool too_big = ec == bhttp::error::body_limit;
            if (ec && !too_big) break;
            Target t = parse_target(parser.get().target());
            bool upload = t.parts.size() == 4 && t.parts[1] == "labs" && t.parts[3] == "submissions";
            std::size_t limit = upload ? max_upload : max_body;
            if (!too_big && !upload) {
                parser.body_limit(max_body);
                too_big = parser.content_length() && *parser.content_length() > max_body;
            }
            if (!too_big) {
                co_await bhttp::async_read(*stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
                too_big = ec == bhttp::error::body_limit;
            }
            Request req;
            Response res;
            if (too_big) {  // answered from the header: the body is never read
                Request head;
                head.version(parser.get().version());
                res = json_reply(head, 413,
                                 {{"error", "the request body is over the limit of " + std::to_string(limit >> 10) + " KiB"},
                                  {"fix", upload ? "a run that large usually floods its output: print less" : "send less"}});
                res.keep_alive(false);
            } else if (ec) {
                break;
            } else {
                req = parser.release();
                if (t.path == "/api/events" && req.method() == bhttp::verb::get) {
                    Principal who = classroom.authenticate(token_of(req, t));
                    if (who.role != Principal::Role::none) {
                        co_await events(stream, req, who);
                        break;
                    }
                }
                try {
                    res = route(req, t);
                } catch (const ApiError& e) {
                    json body = {{"error", e.what()}};
                    if (!e.fix().empty()) body["fix"] = e.fix();
                    res = json_reply(req, e.status(), body);
                } catch (const std::exception& e) {
                    res = json_reply(req, 500, {{"error", std::string("internal error: ") + e.what()}});
                    std::cerr << "wirelab classroom: " << req.method_string() << " " << t.path << ": " << e.what() << "\n";
                }
                if (req.method() == bhttp::verb::head) res.body().clear();
            }
            stream->expires_after(std::chrono::seconds(60));
            co_await bhttp::async_write(*stream, res, asio::redirect_error(use_awaitable, ec));
            if (!ec && too_big) {
                // a lingering close: read what the client still sends (for
                // a while, up to a bound) so that it gets to read the 413
                // instead of a reset in the middle of its upload
                stream->socket().shutdown(tcp::socket::shutdown_send, ec);
                stream->expires_after(std::chrono::seconds(5));
                std::vector<char> sink(64 * 1024);
                std::size_t drained = 0;
                while (!ec && drained < (64u << 20))
                    drained += co_await stream->async_read_some(asio::buffer(sink), asio::redirect_error(use_awaitable, ec));
                break;
            }
            if (ec || !res.keep_alive() || stopping) break;
        }
        error_code ignore;
        stream->socket().shutdown(tcp::socket::shutdown_send, ignore);
        stream->close();
    }

    awaitable<void> accept_loop() {
        auto self = shared_from_this();
        for (;;) {
            error_code ec;
            tcp::socket sock = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
            if (stopping || ec == asio::error::operation_aborted) co_return;
            if (ec) {  // out of descriptors: wait, do not spin
                asio::steady_timer t(io, std::chrono::milliseconds(20));
                co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
                continue;
            }
            streams.remove_if([](const std::weak_ptr<beast::tcp_stream>& w) { return w.expired(); });
            asio::co_spawn(io, session(std::move(sock)), asio::detached);
        }
    }
};

Server::Server(asio::io_context& io, Classroom& classroom, ServerOptions opt, Hosted* hosted)
    : impl_(std::make_shared<Impl>(io, classroom, std::move(opt), hosted)) {
    error_code ec;
    auto addr = asio::ip::make_address(impl_->opt.listen, ec);
    if (ec) throw EnvError("--listen " + impl_->opt.listen + " is not an IP address", "e.g. --listen 0.0.0.0");
    tcp::endpoint ep(addr, impl_->opt.port);
    auto& a = impl_->acceptor;
    a.open(ep.protocol(), ec);
    if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) a.bind(ep, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw EnvError("the classroom cannot listen on " + impl_->opt.listen + ":" + std::to_string(impl_->opt.port) + ": " +
                           ec.message(),
                       ec == asio::error::address_in_use ? "another program uses the port: choose one with --port"
                                                         : "choose another --listen address or --port");
    std::weak_ptr<Impl> weak = impl_;
    classroom.notify = [weak](const json& ev, std::optional<std::int64_t> learner) {
        if (auto s = weak.lock()) s->publish(ev, learner);
    };
    asio::co_spawn(io, impl_->accept_loop(), asio::detached);
    impl_->start_ticks();
}

Server::~Server() { stop(); }

unsigned short Server::port() const { return impl_->acceptor.local_endpoint().port(); }

void Server::stop() {
    if (impl_->stopping) return;
    impl_->stopping = true;
    impl_->classroom.notify = nullptr;
    error_code ec;
    impl_->acceptor.close(ec);
    impl_->tick_timer.cancel();
    for (auto& s : impl_->subscribers) {
        s->closed = true;
        s->wake.cancel();
    }
    for (auto& w : impl_->streams)
        if (auto s = w.lock()) s->socket().close(ec);
}

}  // namespace wirelab::classroom
