// The `http` client: a request plan run with libcurl against the learner's
// REST server. Each exchange is an `http` row (the client's name as the
// service), each expectation a `steps` row, so `http` and `client` checks
// both apply. Values saved from a response ("save": {"id": "$.id"}) are
// used later as "{id}" in paths and bodies: a round trip of created data.
#include "clients/http_driver.hpp"

#include "clients/curl_lib.hpp"
#include <strings.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include "runtime/journal.hpp"
#include "runtime/match.hpp"
#include "runtime/recording.hpp"

namespace wirelab::clients {

namespace {

using json = nlohmann::json;

struct Request {
    std::string method = "GET", path = "/";
    std::vector<std::pair<std::string, std::string>> headers;
    std::optional<std::string> body;  // raw body (a "json" body is dumped into it)
    bool json_body = false;
    // Expectations.
    std::optional<int> status;
    std::vector<std::pair<std::string, Pattern>> resp_headers;
    std::optional<json> resp_json;
    std::map<std::string, std::string> save;  // name -> "$.path"
};

struct RawChunk {
    bool out = false;
    micros t_us = 0;
    std::string data;
};

struct Exchange {
    std::string method, target, url, req_body, resp_body, reason, error;
    std::vector<RawChunk> wire;  // the bytes as libcurl sent and received them
    long local_port = 0, peer_port = 0, new_connections = 0;
    std::string local_ip, peer_ip;
    Journal* journal = nullptr;
    json req_headers = json::array(), resp_headers = json::array();
    long status = 0;
    micros started_us = 0, ended_us = 0;
};

std::string substitute_vars(std::string s, const std::map<std::string, std::string>& vars) {
    for (const auto& [k, v] : vars) {
        std::string key = "{" + k + "}";
        for (auto p = s.find(key); p != std::string::npos; p = s.find(key, p + v.size())) s.replace(p, key.size(), v);
    }
    return s;
}

json substitute_vars(const json& j, const std::map<std::string, std::string>& vars) {
    if (j.is_string()) {
        const auto& s = j.get_ref<const std::string&>();
        // A whole "{id}" keeps the saved value's JSON type (an integer id).
        if (s.size() > 2 && s.front() == '{' && s.back() == '}') {
            auto it = vars.find(s.substr(1, s.size() - 2));
            if (it != vars.end()) {
                auto parsed = json::parse(it->second, nullptr, false);
                return parsed.is_discarded() ? json(it->second) : parsed;
            }
        }
        return substitute_vars(s, vars);
    }
    if (j.is_object()) {
        json out = json::object();
        for (auto it = j.begin(); it != j.end(); ++it) out[it.key()] = substitute_vars(it.value(), vars);
        return out;
    }
    if (j.is_array()) {
        json out = json::array();
        for (const auto& v : j) out.push_back(substitute_vars(v, vars));
        return out;
    }
    return j;
}

std::size_t on_body(char* p, std::size_t size, std::size_t n, void* out) {
    auto* s = static_cast<std::string*>(out);
    std::size_t total = size * n;
    if (s->size() < (8u << 20)) s->append(p, std::min(total, (8u << 20) - s->size()));
    return total;
}

std::size_t on_header(char* p, std::size_t size, std::size_t n, void* out) {
    auto* ex = static_cast<Exchange*>(out);
    std::string line(p, size * n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (line.rfind("HTTP/", 0) == 0) {
        ex->resp_headers = json::array();  // a new response (after a 100 Continue)
        auto sp = line.find(' ');
        auto sp2 = sp == std::string::npos ? sp : line.find(' ', sp + 1);
        ex->reason = sp2 == std::string::npos ? "" : line.substr(sp2 + 1);
    } else if (auto colon = line.find(':'); colon != std::string::npos) {
        std::string v = line.substr(colon + 1);
        v.erase(0, v.find_first_not_of(" \t"));
        ex->resp_headers.push_back({line.substr(0, colon), v});
    }
    return size * n;
}

// libcurl's view of the wire: headers and data both ways, with the time
// they passed (the journal's clock is safe to read from this thread).
int on_debug(CURL*, curl_infotype type, char* data, std::size_t size, void* user) {
    auto* ex = static_cast<Exchange*>(user);
    bool out = type == CURLINFO_HEADER_OUT || type == CURLINFO_DATA_OUT;
    bool in = type == CURLINFO_HEADER_IN || type == CURLINFO_DATA_IN;
    if (!out && !in) return 0;
    micros t = ex->journal->now();
    if (!ex->wire.empty() && ex->wire.back().out == out && ex->wire.back().data.size() < (1u << 20))
        ex->wire.back().data.append(data, size);
    else
        ex->wire.push_back({out, t, std::string(data, size)});
    return 0;
}

class HttpDriver final : public Driver {
public:
    explicit HttpDriver(DriverContext& ctx) : name_(ctx.name), io_(ctx.io), journal_(ctx.journal) {
        Spec& s = ctx.spec;
        timeout_ms_ = s.integer("timeout_ms", 5000, 1, 600000);
        fresh_ = s.boolean("fresh_connections", false);
        const json& reqs = s.required("requests");
        if (!reqs.is_array() || reqs.empty())
            s.fail("requests", "\"requests\" must be a non-empty array, e.g. [{\"method\": \"GET\", \"path\": \"/cars\", "
                               "\"expect\": {\"status\": 200}}]");
        for (std::size_t i = 0; i < reqs.size(); ++i) {
            Spec r(s.doc(), reqs[i], s.pointer("requests") + "/" + std::to_string(i), "request");
            requests_.push_back(read_request(r));
            r.finish();
        }
        s.get("description");
        s.finish();
    }

    awaitable<void> run(ServerAddress server, std::uint64_t) override {
        // libcurl's easy interface blocks: the plan runs on a worker thread
        // and the results come back to the io_context to be journaled.
        auto state = std::make_shared<Shared>();
        std::string base = "http://" + server.host + ":" + std::to_string(server.port);
        asio::steady_timer done(io_, std::chrono::steady_clock::time_point::max());
        auto* timer = &done;
        bool finished = false;
        auto* flag = &finished;
        worker_ = std::thread([this, state, base, timer, flag] {
            perform(*state, base);
            asio::post(io_, [timer, flag] {
                *flag = true;
                timer->cancel();
            });
        });
        error_code ec;
        // The posted handler runs on this thread: either it already ran, or
        // it will cancel the wait below.
        if (!finished) co_await done.async_wait(asio::redirect_error(use_awaitable, ec));
        worker_.join();
        std::map<long, std::shared_ptr<ConnectionRecord>> conns;  // by local port
        for (const auto& r : state->results) journal_result(r, conns);
        // libcurl does not say who closed a connection: close_kind "abort",
        // closed_by "unknown".
        for (auto& [port, rec] : conns) rec->finish();
    }

    void stop() override { stopping_ = true; }

    ~HttpDriver() override {
        stopping_ = true;
        if (worker_.joinable()) worker_.join();
    }

private:
    struct Result {
        std::size_t idx = 0;
        const Request* req = nullptr;
        Exchange ex;
        bool ok = true;
        std::string expected, got;
    };
    struct Shared {
        std::vector<Result> results;
    };

    Request read_request(Spec& r) {
        Request q;
        q.method = r.string("method", "GET");
        q.path = r.string("path");
        if (q.path.empty() || q.path[0] != '/') r.fail("path", "a path starts with '/'");
        if (const json* h = r.get("headers")) {
            if (!h->is_object()) r.fail("headers", "\"headers\" maps names to values");
            for (auto it = h->begin(); it != h->end(); ++it) {
                if (!it.value().is_string()) r.fail("headers", "header values are strings");
                q.headers.emplace_back(it.key(), it.value().get<std::string>());
            }
        }
        if (const json* j = r.get("json")) q.body = j->dump(), q.json_body = true;
        if (auto b = r.opt_string("body")) {
            if (q.body) r.fail("body", "give \"json\" or \"body\", not both");
            q.body = *b;
        }
        if (r.has("expect")) {
            Spec e = r.object("expect");
            if (auto st = e.opt_integer("status", 100, 599)) q.status = static_cast<int>(*st);
            if (e.has("headers")) {
                Spec h = e.object("headers");
                for (auto it = h.value().begin(); it != h.value().end(); ++it)
                    q.resp_headers.emplace_back(it.key(), compile_pattern(h, it.key(), h.string(it.key())));
                h.finish();
            }
            if (const json* j = e.get("json")) q.resp_json = *j;
            e.finish();
        }
        if (r.has("save")) {
            Spec sv = r.object("save");
            for (auto it = sv.value().begin(); it != sv.value().end(); ++it) {
                std::string p = sv.string(it.key());
                if (p != "$" && p.rfind("$.", 0) != 0) sv.fail(it.key(), "a saved value is a path into the response: \"$.id\"");
                q.save[it.key()] = p;
            }
            sv.finish();
        }
        r.get("description");
        return q;
    }

    void perform(Shared& out, const std::string& base) {
        const curl_lib::Api& lc = curl_lib::api();
        std::map<std::string, std::string> vars;
        CURL* curl = nullptr;
        for (std::size_t i = 0; i < requests_.size() && !stopping_; ++i) {
            const Request& q = requests_[i];
            if (!curl || fresh_) {
                if (curl) lc.easy_cleanup(curl);
                curl = lc.easy_init();
            } else {
                lc.easy_reset(curl);
            }
            Result res;
            res.idx = i;
            res.req = &q;
            Exchange& ex = res.ex;
            ex.method = q.method;
            ex.target = substitute_vars(q.path, vars);
            ex.url = base + ex.target;
            struct curl_slist* hdrs = nullptr;
            for (const auto& [k, v] : q.headers) {
                std::string h = k + ": " + substitute_vars(v, vars);
                hdrs = lc.slist_append(hdrs, h.c_str());
                ex.req_headers.push_back({k, substitute_vars(v, vars)});
            }
            if (q.json_body) {
                bool has_ct = std::any_of(q.headers.begin(), q.headers.end(),
                                          [](const auto& h) { return h.first == "Content-Type"; });
                if (!has_ct) {
                    hdrs = lc.slist_append(hdrs, "Content-Type: application/json");
                    ex.req_headers.push_back({"Content-Type", "application/json"});
                }
                ex.req_body = substitute_vars(json::parse(*q.body), vars).dump();
            } else if (q.body) {
                ex.req_body = substitute_vars(*q.body, vars);
            }
            hdrs = lc.slist_append(hdrs, "Expect:");  // no 100-continue round trip
            lc.easy_setopt(curl, CURLOPT_URL, ex.url.c_str());
            lc.easy_setopt(curl, CURLOPT_CUSTOMREQUEST, q.method.c_str());
            if (q.method == "HEAD") lc.easy_setopt(curl, CURLOPT_NOBODY, 1L);
            if (q.body) {
                lc.easy_setopt(curl, CURLOPT_POSTFIELDS, ex.req_body.c_str());
                lc.easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(ex.req_body.size()));
            }
            lc.easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
            lc.easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms_);
            lc.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
            lc.easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
            lc.easy_setopt(curl, CURLOPT_WRITEDATA, &ex.resp_body);
            lc.easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
            lc.easy_setopt(curl, CURLOPT_HEADERDATA, &ex);
            ex.journal = &journal_;
            lc.easy_setopt(curl, CURLOPT_DEBUGFUNCTION, on_debug);
            lc.easy_setopt(curl, CURLOPT_DEBUGDATA, &ex);
            lc.easy_setopt(curl, CURLOPT_VERBOSE, 1L);
            ex.started_us = journal_.now();
            CURLcode rc = lc.easy_perform(curl);
            ex.ended_us = journal_.now();
            lc.slist_free_all(hdrs);
            char* ip = nullptr;
            lc.easy_getinfo(curl, CURLINFO_LOCAL_PORT, &ex.local_port);
            lc.easy_getinfo(curl, CURLINFO_PRIMARY_PORT, &ex.peer_port);
            lc.easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &ex.new_connections);
            if (lc.easy_getinfo(curl, CURLINFO_LOCAL_IP, &ip) == CURLE_OK && ip) ex.local_ip = ip;
            if (lc.easy_getinfo(curl, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip) ex.peer_ip = ip;
            if (rc != CURLE_OK) {
                ex.error = lc.easy_strerror(rc);
                res.ok = false;
                res.expected = "an HTTP response";
                res.got = "no response: " + ex.error;
                out.results.push_back(std::move(res));
                break;  // the rest of the plan depends on this one
            }
            lc.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &ex.status);
            judge(res, vars);
            out.results.push_back(std::move(res));
        }
        if (curl) lc.easy_cleanup(curl);
    }

    void judge(Result& r, std::map<std::string, std::string>& vars) {
        const Request& q = *r.req;
        const Exchange& ex = r.ex;
        auto fail = [&](std::string expected, std::string got) {
            if (!r.ok) return;
            r.ok = false;
            r.expected = std::move(expected);
            r.got = std::move(got);
        };
        if (q.status && ex.status != *q.status)
            fail("status " + std::to_string(*q.status),
                 "status " + std::to_string(ex.status) + (ex.reason.empty() ? "" : " " + ex.reason) +
                     (ex.resp_body.empty() ? "" : "; body: " + printable(ex.resp_body, 200)));
        for (const auto& [name, pat] : q.resp_headers) {
            std::optional<std::string> value;
            for (const auto& h : ex.resp_headers)
                if (strcasecmp(h[0].get<std::string>().c_str(), name.c_str()) == 0) value = h[1].get<std::string>();
            if (!value)
                fail(name + " matching /" + pat.source + "/", "no " + name + " header");
            else if (!pat.search(*value))
                fail(name + " matching /" + pat.source + "/", name + ": " + *value);
        }
        auto body = json::parse(ex.resp_body, nullptr, false);
        if (q.resp_json) {
            std::string why;
            json want = substitute_vars(*q.resp_json, vars);
            if (body.is_discarded())
                fail("a JSON body containing " + one_line(want, 120), "a body that is not JSON: " + printable(ex.resp_body, 200));
            else if (!json_subset(want, body, why))
                fail("a JSON body containing " + one_line(want, 120), why + "; body: " + printable(ex.resp_body, 200));
        }
        for (const auto& [name, path] : q.save) {
            const json* v = body.is_discarded() ? nullptr : json_path(body, path);
            if (!v) {
                fail("a value at " + path + " to remember as {" + name + "}", "none in: " + printable(ex.resp_body, 200));
                continue;
            }
            vars[name] = v->is_string() ? v->get<std::string>() : v->dump();
        }
    }

    void journal_result(const Result& r, std::map<long, std::shared_ptr<ConnectionRecord>>& conns) {
        const Exchange& ex = r.ex;
        std::int64_t conn_id = 0;
        if (ex.local_port > 0) {
            auto& rec = conns[ex.local_port];
            if (!rec || ex.new_connections > 0) {
                if (rec) rec->finish();
                ConnectionInfo info;
                info.service = name_;
                info.role = "client";
                info.local = ex.local_ip + ":" + std::to_string(ex.local_port);
                info.peer = ex.peer_ip + ":" + std::to_string(ex.peer_port);
                info.opened_us = ex.started_us;
                rec = std::make_shared<ConnectionRecord>(journal_, info);
            }
            conn_id = rec->id();
            for (const auto& c : ex.wire) journal_.chunk(conn_id, c.out ? Dir::out : Dir::in, c.data, c.t_us);
        }
        auto q = ex.target.find('?');
        json row = {{"service", name_},
                    {"connection_id", conn_id ? json(conn_id) : json()},
                    {"seq", static_cast<int>(r.idx + 1)},
                    {"started_us", ex.started_us},
                    {"ended_us", ex.ended_us},
                    {"method", ex.method},
                    {"target", ex.target},
                    {"path", ex.target.substr(0, q)},
                    {"version", "1.1"},
                    {"req_headers", ex.req_headers},
                    {"req_body", ex.req_body},
                    {"status", static_cast<int>(ex.status)},
                    {"reason", ex.reason},
                    {"resp_headers", ex.resp_headers},
                    {"resp_body", ex.resp_body}};
        if (!ex.error.empty()) row["error"] = ex.error;
        journal_.http(row);
        json step = {{"client", name_}, {"connection_id", conn_id ? json(conn_id) : json()}, {"idx", static_cast<int>(r.idx + 1)},
                     {"action", ex.method + " " + ex.target}, {"ok", r.ok},
                     {"started_us", ex.started_us}, {"ended_us", ex.ended_us}};
        if (!r.ok) step["expected"] = r.expected, step["got"] = r.got;
        journal_.step(step);
    }

    std::string name_;
    asio::io_context& io_;
    Journal& journal_;
    long timeout_ms_ = 5000;
    bool fresh_ = false;
    std::vector<Request> requests_;
    std::thread worker_;
    std::atomic<bool> stopping_{false};
};

}  // namespace

std::unique_ptr<Driver> make_http_driver(DriverContext& ctx) {
    curl_lib::api();  // loaded now: a missing libcurl is an error of the lab's start, not of a case
    return std::make_unique<HttpDriver>(ctx);
}

}  // namespace wirelab::clients
