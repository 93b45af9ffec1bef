// Authentication in front of an `http` service's API, I/O-free: a login
// that hands out short-lived bearer tokens and a refresh token (OAuth 2's
// password and refresh_token grants, JSON or form bodies), refresh-token
// rotation with replay detection, bearer checks on protected paths
// (RFC 6750: header or `access_token` query), and HMAC-signed requests on
// chosen paths. Each decision comes with a journal event.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "services/http/json_store.hpp"

namespace wirelab {
class Spec;
}

namespace wirelab::http {

struct AuthSpec {
    std::map<std::string, std::string> users;  // username → password
    std::string login_path = "/auth/login", refresh_path = "/auth/refresh";
    std::int64_t token_ttl_s = 300, refresh_ttl_s = 86400;
    std::vector<std::string> protect;  // path prefixes needing a token; empty: every path but login/refresh
    std::string hmac_secret;           // "" = no signed requests
    std::vector<std::string> hmac_paths;  // prefixes whose requests must be signed
    std::int64_t hmac_skew_s = 300;
};

/// Reads lab.json's `"auth": {…}` (users, login, refresh, token_ttl,
/// refresh_ttl, protect, hmac {secret, paths, max_skew}).
AuthSpec read_auth_spec(Spec& auth);

/// What the gate says about one request.
struct AuthDecision {
    int status = 200;
    Fields headers;
    std::string body;               // JSON
    std::string event;              // journal event kind: auth-login, auth-refresh, auth-rejected
    nlohmann::json detail;          // its detail (never a password or a whole token)
};

/// The HMAC-SHA256 of `text` with `key`, lower-case hex.
std::string hmac_sha256_hex(const std::string& key, const std::string& text);

class AuthGate {
public:
    AuthGate(AuthSpec spec, std::uint64_t seed);
    /// Tokens from now on derive from `seed` (a case's).
    void reseed(std::uint64_t seed);
    const AuthSpec& spec() const { return spec_; }

    /// nullopt: the request may reach the API. Otherwise the answer: a
    /// login's or refresh's, or a 401. `now_us` is the monotonic clock,
    /// `unix_s` the wall clock (for signed requests' timestamps).
    std::optional<AuthDecision> check(const std::string& method, const std::string& path, const std::string& raw_query,
                                      const Fields& headers, const std::string& body, std::int64_t now_us,
                                      std::int64_t unix_s);

private:
    struct Grant {
        std::string user;
        std::int64_t expires_us = 0;
        bool used = false;
        int issued = 0;  // the how-manieth grant: the oldest go first when the table is full
    };
    AuthDecision issue(const std::string& user, std::int64_t now_us, const std::string& event);
    std::string token(const char* prefix);

    static constexpr std::size_t kMaxGrants = 4096;  // tokens kept at once, per kind
    AuthSpec spec_;
    std::mt19937_64 rng_;
    std::map<std::string, Grant> access_, refresh_;
    int issued_ = 0;
};

}  // namespace wirelab::http
