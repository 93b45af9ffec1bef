#include "services/http/auth.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

#include "runtime/json_source.hpp"
#include "runtime/text.hpp"
#include "runtime/faults.hpp"

namespace wirelab::http {

namespace {

std::string header(const Fields& h, const std::string& name) {
    const std::string* v = find_field(h, name);
    return v ? *v : std::string();
}

bool has_prefix(const std::string& path, const std::string& prefix) {
    if (path.rfind(prefix, 0) != 0) return false;
    return path.size() == prefix.size() || prefix.back() == '/' || path[prefix.size()] == '/' || path[prefix.size()] == '?';
}

/// A token for the journal: its first characters, never the whole.
std::string token_id(const std::string& t) { return t.size() > 12 ? t.substr(0, 12) + "…" : t; }

AuthDecision refusal(const std::string& error, const std::string& description, const std::string& reason,
                     bool bearer_challenge = true) {
    AuthDecision d;
    d.status = 401;
    if (bearer_challenge)
        d.headers.push_back({"WWW-Authenticate", "Bearer realm=\"api\", error=\"" + error + "\", error_description=\"" +
                                                     description + "\""});
    d.headers.push_back({"Cache-Control", "no-store"});
    d.body = nlohmann::json{{"error", error}, {"error_description", description}}.dump(2);
    d.event = "auth-rejected";
    d.detail = {{"reason", reason}, {"error", error}};
    return d;
}

/// The login or refresh body's fields: JSON or application/x-www-form-urlencoded.
std::map<std::string, std::string> body_fields(const Fields& headers, const std::string& body) {
    std::map<std::string, std::string> out;
    std::string type = header(headers, "Content-Type");
    if (type.find("application/x-www-form-urlencoded") != std::string::npos) {
        for (auto& [k, v] : parse_query(body)) out[k] = v;
        return out;
    }
    try {
        auto j = nlohmann::json::parse(body);
        if (j.is_object())
            for (auto it = j.begin(); it != j.end(); ++it)
                if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
    } catch (const std::exception&) {
    }
    return out;
}

}  // namespace

std::string hmac_sha256_hex(const std::string& key, const std::string& text) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    ::HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(text.data()),
           text.size(), md, &n);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < n; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

AuthSpec read_auth_spec(Spec& s) {
    AuthSpec a;
    const json& users = s.required("users");
    if (!users.is_object() || users.empty())
        s.fail("users", "\"users\" maps user names to passwords", "e.g. \"users\": {\"learner\": \"s3cret\"}");
    for (auto it = users.begin(); it != users.end(); ++it) {
        if (!it.value().is_string() || it.value().get<std::string>().empty())
            s.fail("users", "the password of \"" + it.key() + "\" must be a non-empty string");
        a.users[it.key()] = it.value().get<std::string>();
    }
    a.login_path = s.string("login", a.login_path);
    a.refresh_path = s.string("refresh", a.refresh_path);
    for (const auto* p : {&a.login_path, &a.refresh_path})
        if (p->empty() || (*p)[0] != '/') s.fail("login", "the login and refresh paths start with '/'");
    a.token_ttl_s = s.integer("token_ttl", a.token_ttl_s, 1, 86400 * 365);
    a.refresh_ttl_s = s.integer("refresh_ttl", a.refresh_ttl_s, 1, 86400 * 365);
    if (s.has("protect")) a.protect = s.strings("protect");
    if (s.has("hmac")) {
        Spec h = s.object("hmac");
        a.hmac_secret = h.string("secret");
        if (a.hmac_secret.empty()) h.fail("secret", "the HMAC secret must not be empty");
        a.hmac_paths = h.strings("paths");
        a.hmac_skew_s = h.integer("max_skew", a.hmac_skew_s, 1, 86400);
        h.finish();
    }
    s.finish();
    return a;
}

AuthGate::AuthGate(AuthSpec spec, std::uint64_t seed) : spec_(std::move(spec)) { reseed(seed); }

void AuthGate::reseed(std::uint64_t seed) { rng_.seed(mix_seed(seed, 0x4155544855ULL)); }

std::string AuthGate::token(const char* prefix) {
    static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string t = prefix;
    for (int i = 0; i < 32; ++i) t += alphabet[rng_() % 64];
    return t;
}

AuthDecision AuthGate::issue(const std::string& user, std::int64_t now_us, const std::string& event) {
    // Bounded: a program that logs in in a loop must not grow the service
    // without end. Expired and used grants go first, then the oldest.
    for (auto* grants : {&access_, &refresh_}) {
        if (grants->size() < kMaxGrants) continue;
        for (auto it = grants->begin(); it != grants->end();)
            it = it->second.expires_us <= now_us || it->second.used ? grants->erase(it) : std::next(it);
        while (grants->size() >= kMaxGrants)
            grants->erase(std::min_element(grants->begin(), grants->end(), [](const auto& a, const auto& b) {
                return a.second.issued < b.second.issued;
            }));
    }
    std::string access = token("at_"), refresh = token("rt_");
    ++issued_;
    access_[access] = {user, now_us + spec_.token_ttl_s * 1000000, false, issued_};
    refresh_[refresh] = {user, now_us + spec_.refresh_ttl_s * 1000000, false, issued_};
    AuthDecision d;
    d.headers.push_back({"Cache-Control", "no-store"});
    d.body = nlohmann::json{{"access_token", access},
                            {"token_type", "Bearer"},
                            {"expires_in", spec_.token_ttl_s},
                            {"refresh_token", refresh}}
                 .dump(2);
    d.event = event;
    d.detail = {{"user", user}, {"token", token_id(access)}, {"expires_in", spec_.token_ttl_s}, {"issued", issued_}};
    return d;
}

std::optional<AuthDecision> AuthGate::check(const std::string& method, const std::string& path,
                                            const std::string& raw_query, const Fields& headers,
                                            const std::string& body, std::int64_t now_us, std::int64_t unix_s) {
    if (path == spec_.login_path || path == spec_.refresh_path) {
        if (method != "POST") {
            AuthDecision d;
            d.status = 405;
            d.headers.push_back({"Allow", "POST"});
            d.body = nlohmann::json{{"error", "invalid_request"}, {"error_description", path + " takes POST"}}.dump(2);
            d.event = "auth-rejected";
            d.detail = {{"reason", "method"}, {"method", method}};
            return d;
        }
        auto f = body_fields(headers, body);
        if (path == spec_.login_path) {
            auto u = spec_.users.find(f["username"]);
            if (f["username"].empty() || f["password"].empty()) {
                auto d = refusal("invalid_request", "send {\"username\": …, \"password\": …} as JSON (or a form)",
                                 "login-malformed", false);
                d.status = 400;
                return d;
            }
            if (u == spec_.users.end() || !constant_time_equal(u->second, f["password"])) {
                auto d = refusal("invalid_grant", "wrong username or password", "login-failed", false);
                d.detail["user"] = f["username"];
                return d;
            }
            return issue(u->first, now_us, "auth-login");
        }
        std::string rt = f["refresh_token"];
        auto g = refresh_.find(rt);
        if (rt.empty()) {
            auto d = refusal("invalid_request", "send {\"refresh_token\": …} (the one the last login or refresh gave)",
                             "refresh-malformed", false);
            d.status = 400;
            return d;
        }
        if (g == refresh_.end()) return refusal("invalid_grant", "unknown refresh token", "refresh-unknown", false);
        if (g->second.used) {
            auto d = refusal("invalid_grant", "this refresh token was used already: each refresh gives a new one",
                             "refresh-reused", false);
            d.detail["token"] = token_id(rt);
            return d;
        }
        if (now_us >= g->second.expires_us)
            return refusal("invalid_grant", "the refresh token expired: log in again", "refresh-expired", false);
        g->second.used = true;
        return issue(g->second.user, now_us, "auth-refresh");
    }
    bool protected_path = spec_.protect.empty() ||
                          std::any_of(spec_.protect.begin(), spec_.protect.end(),
                                      [&](const std::string& p) { return has_prefix(path, p); });
    if (protected_path) {
        std::string auth = header(headers, "Authorization"), tok;
        bool in_query = false;
        if (auth.size() > 7 && iequals(auth.substr(0, 7), "Bearer ")) {
            tok = auth.substr(7);
        } else {
            for (auto& [k, v] : parse_query(raw_query))
                if (k == "access_token") tok = v, in_query = true;
        }
        if (tok.empty()) {
            AuthDecision d = refusal("invalid_request", "this API needs Authorization: Bearer <access_token>", "missing");
            d.headers[0].second = "Bearer realm=\"api\"";
            if (!auth.empty()) d.detail["scheme"] = auth.substr(0, auth.find(' '));
            return d;
        }
        auto g = access_.find(tok);
        if (g == access_.end()) {
            auto d = refusal("invalid_token", "unknown access token", "invalid");
            d.detail["token"] = token_id(tok);
            return d;
        }
        if (now_us >= g->second.expires_us) {
            auto d = refusal("invalid_token", "the access token expired", "expired");
            d.detail["token"] = token_id(tok);
            d.detail["expired_ms_ago"] = (now_us - g->second.expires_us) / 1000;
            return d;
        }
        (void)in_query;
    }
    bool signed_path = !spec_.hmac_secret.empty() &&
                       std::any_of(spec_.hmac_paths.begin(), spec_.hmac_paths.end(),
                                   [&](const std::string& p) { return has_prefix(path, p); });
    if (signed_path) {
        std::string ts = header(headers, "X-Timestamp"), sig = header(headers, "X-Signature");
        const std::string how = "X-Signature is the hex HMAC-SHA256, with the API secret, of METHOD + \"\\n\" + "
                                "PATH (with its query) + \"\\n\" + X-Timestamp + \"\\n\" + BODY";
        if (ts.empty() || sig.empty())
            return refusal("invalid_signature", "signed request: send X-Timestamp (Unix seconds) and X-Signature. " + how,
                           "unsigned", false);
        std::int64_t t = 0;
        try {
            std::size_t used = 0;
            t = std::stoll(ts, &used);
            if (used != ts.size()) throw std::invalid_argument("");
        } catch (const std::exception&) {
            return refusal("invalid_signature", "X-Timestamp is Unix time in whole seconds (int(time.time()))",
                           "bad-timestamp", false);
        }
        if (t < unix_s - spec_.hmac_skew_s || t > unix_s + spec_.hmac_skew_s)
            return refusal("invalid_signature",
                           "X-Timestamp is more than " + std::to_string(spec_.hmac_skew_s) + " s from the server's clock",
                           "stale-timestamp", false);
        std::string target = path + (raw_query.empty() ? "" : "?" + raw_query);
        std::string want = hmac_sha256_hex(spec_.hmac_secret, method + "\n" + target + "\n" + ts + "\n" + body);
        std::string given = sig;
        for (auto& c : given) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (!constant_time_equal(want, given)) return refusal("invalid_signature", "X-Signature does not match. " + how, "bad-signature", false);
    }
    return std::nullopt;
}

}  // namespace wirelab::http
