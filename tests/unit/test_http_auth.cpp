// The http service's authentication gate without sockets: login (JSON and
// form), bearer checks, expiry, refresh-token rotation and reuse, the token
// in a query, HMAC-signed requests (RFC 4231's test vector for the HMAC).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "services/http/auth.hpp"

using namespace wirelab::http;
using nlohmann::json;

namespace {

AuthGate gate() {
    AuthSpec s;
    s.users["learner"] = "s3cret-pass";
    s.token_ttl_s = 1;
    s.hmac_secret = "key";
    s.hmac_paths = {"/reports"};
    return AuthGate(s, 7);
}

const Fields kJson = {{"Content-Type", "application/json"}};

json login(AuthGate& g, std::int64_t now = 0) {
    auto d = g.check("POST", "/auth/login", "", kJson, R"({"username": "learner", "password": "s3cret-pass"})", now, 1000);
    REQUIRE(d);
    REQUIRE(d->status == 200);
    CHECK(d->event == "auth-login");
    CHECK(d->body.find("s3cret-pass") == std::string::npos);
    return json::parse(d->body);
}

Fields bearer(const json& tokens) { return {{"Authorization", "Bearer " + tokens["access_token"].get<std::string>()}}; }

}  // namespace

TEST_CASE("auth: login, bearer tokens and their expiry", "[unit][auth]") {
    AuthGate g = gate();
    auto wrong = g.check("POST", "/auth/login", "", kJson, R"({"username": "learner", "password": "no"})", 0, 1000);
    REQUIRE(wrong);
    CHECK(wrong->status == 401);
    CHECK(json::parse(wrong->body)["error"] == "invalid_grant");
    CHECK(g.check("GET", "/auth/login", "", {}, "", 0, 1000)->status == 405);
    auto form = g.check("POST", "/auth/login", "", {{"Content-Type", "application/x-www-form-urlencoded"}},
                        "grant_type=password&username=learner&password=s3cret-pass", 0, 1000);
    CHECK(form->status == 200);

    json t = login(g);
    CHECK(t["token_type"] == "Bearer");
    CHECK(t["expires_in"] == 1);
    auto none = g.check("GET", "/orders", "", {}, "", 10, 1000);
    REQUIRE(none);
    CHECK(none->status == 401);
    CHECK(none->detail["reason"] == "missing");
    CHECK(none->headers[0].second == "Bearer realm=\"api\"");
    CHECK_FALSE(g.check("GET", "/orders", "", bearer(t), "", 999'999, 1000));
    auto expired = g.check("GET", "/orders", "", bearer(t), "", 1'000'000, 1000);
    REQUIRE(expired);
    CHECK(expired->detail["reason"] == "expired");
    CHECK(expired->headers[0].second.find("error=\"invalid_token\"") != std::string::npos);
    CHECK(g.check("GET", "/orders", "", {{"Authorization", "Bearer at_forged"}}, "", 10, 1000)->detail["reason"] ==
          "invalid");
    // RFC 6750's query form is accepted (a lab's check may still forbid it)
    CHECK_FALSE(g.check("GET", "/orders", "access_token=" + login(g, 2'000'000)["access_token"].get<std::string>(), {},
                        "", 2'000'001, 1000));
}

TEST_CASE("auth: refresh tokens rotate and work once", "[unit][auth]") {
    AuthGate g = gate();
    json t = login(g);
    std::string body = json{{"refresh_token", t["refresh_token"]}}.dump();
    auto r = g.check("POST", "/auth/refresh", "", kJson, body, 5'000'000, 1000);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->event == "auth-refresh");
    json t2 = json::parse(r->body);
    CHECK(t2["access_token"] != t["access_token"]);
    CHECK(t2["refresh_token"] != t["refresh_token"]);
    CHECK_FALSE(g.check("GET", "/orders", "", bearer(t2), "", 5'500'000, 1000));
    auto again = g.check("POST", "/auth/refresh", "", kJson, body, 5'600'000, 1000);
    CHECK(again->status == 401);
    CHECK(again->detail["reason"] == "refresh-reused");
    CHECK(g.check("POST", "/auth/refresh", "", kJson, "{}", 0, 1000)->status == 400);

    // the same seed gives the same tokens: a run can be replayed
    AuthGate h = gate();
    CHECK(login(h)["access_token"] == t["access_token"]);
}

TEST_CASE("auth: HMAC-signed requests", "[unit][auth]") {
    // RFC 4231, test case 2
    CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    AuthGate g = gate();
    json t = login(g);
    Fields h = bearer(t);
    const std::string body = R"({"total": 1})";
    auto unsigned_ = g.check("POST", "/reports", "", h, body, 10, 1000);
    REQUIRE(unsigned_);
    CHECK(unsigned_->detail["reason"] == "unsigned");
    CHECK(unsigned_->body.find("HMAC-SHA256") != std::string::npos);
    Fields signed_ = h;
    signed_.push_back({"X-Timestamp", "1000"});
    signed_.push_back({"X-Signature", hmac_sha256_hex("key", "POST\n/reports\n1000\n" + body)});
    CHECK_FALSE(g.check("POST", "/reports", "", signed_, body, 10, 1000));
    CHECK(g.check("POST", "/reports", "", signed_, body + " ", 10, 1000)->detail["reason"] == "bad-signature");
    CHECK(g.check("POST", "/reports", "", signed_, body, 10, 2000)->detail["reason"] == "stale-timestamp");
    CHECK(g.check("POST", "/reports", "x=1", signed_, body, 10, 1000)->detail["reason"] == "bad-signature");
    // a signature is not a token: without the bearer it is still refused
    Fields no_token(signed_.begin() + 1, signed_.end());
    CHECK(g.check("POST", "/reports", "", no_token, body, 10, 1000)->detail["reason"] == "missing");
}

TEST_CASE("auth: a login loop does not grow the gate without end", "[unit][auth]") {
    AuthGate g = gate();
    json first = login(g);
    json last;
    for (int i = 0; i < 5000; ++i) last = login(g, 10);
    CHECK_FALSE(g.check("GET", "/orders", "", bearer(last), "", 20, 1000));  // the newest works
    auto old = g.check("GET", "/orders", "", bearer(first), "", 20, 1000);   // the oldest was let go
    REQUIRE(old);
    CHECK(old->detail["reason"] == "invalid");
}
