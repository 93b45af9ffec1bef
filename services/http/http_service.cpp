// The json-server compatible REST API: Express's headers, ETags,
// If-Match, static pages and the store, on the shared HTTP front.
#include "services/http/http_service.hpp"

// SHA1_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, but
// the EVP path (and SHA1(), built on it) loads the default provider on its
// first use: ~1 ms of the first response after every start. The low-level
// calls hash in place.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <ctime>
#include <map>
#include <optional>

#include "runtime/common.hpp"
#include "runtime/errors.hpp"
#include "runtime/journal.hpp"
#include "runtime/lab.hpp"
#include "runtime/seeding.hpp"
#include "runtime/text.hpp"
#include "services/http/auth.hpp"
#include "services/http/doc_state.hpp"
#include "services/http/http_front.hpp"
#include "services/http/json_store.hpp"

namespace wirelab::http {

namespace {

// Express's weak ETag: W/"<length hex>-<first 27 chars of base64 sha1>".
// The last body's is kept: a resource read again and again is hashed once.
std::string weak_etag(const std::string& body) {
    thread_local std::string last_body, last_etag;
    if (!last_etag.empty() && body == last_body) return last_etag;
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA_CTX ctx;
    ::SHA1_Init(&ctx);
    ::SHA1_Update(&ctx, body.data(), body.size());
    ::SHA1_Final(md, &ctx);
    char len[32];
    std::snprintf(len, sizeof len, "%zx", body.size());
    std::string etag = "W/\"" + std::string(len) + "-" +
                       base64_encode(std::string_view(reinterpret_cast<const char*>(md), sizeof md)).substr(0, 27) +
                       "\"";
    if (body.size() <= 64 * 1024) last_body = body, last_etag = etag;  // a big page is not copied
    return etag;
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
        HttpOptions options = read_http_options(s);
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
        // Synchronisation labs: optimistic locking, a service that takes
        // its time (so races are wide open), and a cap on requests at once.
        std::string im = s.string("if_match", "off");
        if (im != "off" && im != "optional" && im != "required")
            s.fail("if_match", "\"if_match\" is \"off\", \"optional\" or \"required\", got \"" + im + "\"");
        if_match_ = im == "required" ? 2 : im == "optional" ? 1 : 0;
        if (s.has("auth")) {
            Spec a = s.object("auth");
            auth_ = std::make_unique<AuthGate>(read_auth_spec(a), 0);
        }
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
        options.decorate = [](const HttpRequest& req, HttpReply& r) { add_common_headers(r, req); };
        front_ = std::make_unique<HttpFront>(ctx, "http", listen_, std::move(options),
                                             [this](const HttpRequest& req) { return respond(req); });
    }

    void start() override { front_->start(); }
    void stop() override { front_->stop(); }
    void set_faults(const FaultProfile& profile, std::uint64_t seed) override {
        front_->set_faults(profile, seed);
        if (auth_) auth_->reseed(seed);
    }

    void add_environment(std::map<std::string, std::string>& env) const override {
        if (!auth_) return;
        std::string stem = service_env_stem(name_), url = front_->endpoint().url();
        const AuthSpec& a = auth_->spec();
        env[stem + "_USERNAME"] = a.users.begin()->first;
        env[stem + "_PASSWORD"] = a.users.begin()->second;
        env[stem + "_LOGIN_URL"] = url + a.login_path;
        env[stem + "_REFRESH_URL"] = url + a.refresh_path;
        if (!a.hmac_secret.empty()) env[stem + "_HMAC_SECRET"] = a.hmac_secret;
    }
    Endpoint endpoint() const override { return front_->endpoint(); }
    std::filesystem::path state_file() const override { return state_->file(); }
    void flush() override {
        auto changes = store_->take_changes();
        if (!changes.empty()) state_->write(store_->db(), changes);
    }

private:
    static void add_common_headers(HttpReply& res, const HttpRequest& req) {
        res.set("X-Powered-By", "Express");
        // cors adds Origin; method-override adds X-HTTP-Method-Override on a
        // POST; compression adds Accept-Encoding once a body is known (below).
        res.set("Vary", req.method == "POST" ? "Origin, X-HTTP-Method-Override" : "Origin");
        res.set("Access-Control-Allow-Credentials", "true");
        if (req.has_header("Origin")) res.set("Access-Control-Allow-Origin", std::string(req.header("Origin")));
        res.set("Cache-Control", "no-cache");
        res.set("Pragma", "no-cache");
        res.set("Expires", "-1");
    }

    HttpReply respond(const HttpRequest& req) {
        HttpReply res;
        const std::string& method = req.method;
        if (method == "OPTIONS") {
            // CORS preflight, as the cors middleware answers it.
            res.status = 204;
            res.set("X-Powered-By", "Express");
            if (req.has_header("Origin")) res.set("Access-Control-Allow-Origin", std::string(req.header("Origin")));
            res.set("Vary", "Origin, Access-Control-Request-Headers");
            res.set("Access-Control-Allow-Credentials", "true");
            res.set("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE");
            if (req.has_header("Access-Control-Request-Headers"))
                res.set("Access-Control-Allow-Headers", std::string(req.header("Access-Control-Request-Headers")));
            res.set("Content-Length", "0");
            return res;
        }

        if (auth_) {
            if (auto d = auth_->check(method, req.path, req.query, req.headers, req.body, journal_.now(),
                                      static_cast<std::int64_t>(std::time(nullptr)))) {
                d->detail["method"] = method;
                d->detail["path"] = req.path;
                journal_.event(d->event, name_, d->detail, req.connection_id);
                res.status = d->status;
                add_common_headers(res, req);
                for (auto& h : d->headers) res.set(h.first, h.second);
                res.set("Content-Type", "application/json; charset=utf-8");
                res.body = std::move(d->body);
                return res;
            }
        }

        StoreResponse out;
        auto page = pages_.find(req.path);
        if (page != pages_.end() && (method == "GET" || method == "HEAD")) {
            out.status = 200;
            out.content_type = page->second.content_type;
            out.body = page->second.body;
        } else if (req.path == "/" && (method == "GET" || method == "HEAD")) {
            out.status = 200;
            out.content_type = "text/html; charset=UTF-8";
            out.body = kHomePage;
            for (auto it = store_->db().begin(); it != store_->db().end(); ++it)
                out.body += "<li><a href=\"/" + it.key() + "\">/" + it.key() + "</a></li>\n";
            out.body += "</ul>\n</body>\n</html>\n";
        } else {
            StoreRequest sr;
            sr.method = method;
            sr.path = percent_decode(req.path, false);
            sr.target = req.target;
            sr.query = parse_query(req.query);
            sr.content_type = std::string(req.header("Content-Type"));
            sr.body = req.body;
            sr.base_url = "http://" + req.host;
            if (auto pre = precondition(req, sr)) out = std::move(*pre);
            else out = store_->handle(sr);
        }

        res.status = out.status;
        add_common_headers(res, req);
        for (auto& h : out.headers) res.headers.push_back(std::move(h));
        res.set("Content-Type", out.content_type);
        // Express's res.jsonp, which json-server's router answers with.
        if (out.content_type.starts_with("application/json")) res.set("X-Content-Type-Options", "nosniff");
        std::string etag = weak_etag(out.body);
        bool fresh = req.has_header("If-None-Match") && req.header("If-None-Match") == etag && out.status >= 200 &&
                     out.status < 300 && (method == "GET" || method == "HEAD");
        // A 412 carries the resource's current ETag, not its error body's.
        if (!res.has("ETag")) res.set("ETag", etag);
        if (fresh) {
            res.status = 304;
            res.headers.erase(std::remove_if(res.headers.begin(), res.headers.end(),
                                             [](const auto& h) { return h.first == "Content-Type"; }),
                              res.headers.end());
        } else {
            res.set("Vary", std::string(req.method == "POST" ? "Origin, X-HTTP-Method-Override" : "Origin") +
                                ", Accept-Encoding");
            res.body = std::move(out.body);
        }
        return res;
    }

    /// If-Match on a write: 412 when the resource changed since the
    /// client read it (its ETag differs), 428 when the lab requires the
    /// header and it is missing. nullopt: go ahead.
    std::optional<StoreResponse> precondition(const HttpRequest& req, const StoreRequest& sr) {
        if (!if_match_ || (sr.method != "PUT" && sr.method != "PATCH" && sr.method != "DELETE")) return std::nullopt;
        bool has_im = req.has_header("If-Match");
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
        if (!has_im) {
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
        std::string given(req.header("If-Match"));
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

    std::string name_;
    Journal& journal_;
    ListenSpec listen_;
    struct Page {
        std::string content_type, body;
    };
    std::map<std::string, Page> pages_;
    std::unique_ptr<JsonStore> store_;
    std::unique_ptr<DocState> state_;
    std::unique_ptr<HttpFront> front_;
    std::unique_ptr<AuthGate> auth_;
    int if_match_ = 0;  // 0 off, 1 optional, 2 required
};

std::unique_ptr<Service> make_http_service(ServiceContext& ctx) {
    return std::make_unique<HttpService>(ctx);
}

}  // namespace wirelab::http
