// Fault profiles (validation, seeded plans) and strict HTTP heads: no I/O.
#include <catch2/catch.hpp>

#include "runtime/faults.hpp"
#include "services/http/strict.hpp"

using namespace wirelab;

namespace {

FaultProfile parse(const std::string& text) {
    auto doc = JsonDoc::parse(text, "lab.json");
    Spec s(doc, doc->root(), "", "fault profile");
    return parse_fault_profile(s, "p");
}

std::string parse_error(const std::string& text) {
    try {
        parse(text);
    } catch (const LabError& e) {
        return e.what();
    }
    FAIL("no LabError for " << text);
    return {};
}

// The sizes and delays a plan chooses for `total` bytes offered in writes
// of up to `offer` bytes.
std::vector<std::pair<std::size_t, micros>> schedule(const FaultProfile& p, std::uint64_t seed,
                                                     std::size_t total, std::size_t offer = 1 << 20) {
    FaultPlan plan(p, seed, nullptr, "svc", 1);
    std::vector<std::pair<std::size_t, micros>> out;
    while (total > 0) {
        auto step = plan.next_write(std::min(total, offer));
        out.emplace_back(step.bytes, step.delay_us);
        plan.wrote(step.bytes);
        total -= step.bytes;
        if (step.reset_after) break;
    }
    return out;
}

}  // namespace

TEST_CASE("fault profiles are read with their units", "[unit][faults]") {
    auto p = parse(R"({"latency": {"ms": 50, "jitter_ms": 10}, "drip": {"bytes": 3, "every_ms": 20},
                       "reset_after_bytes": 100, "slow_close_ms": 5, "bandwidth": 1000,
                       "status": [{"status": 503, "nth": [2, 4], "retry_after": 1}],
                       "description": "slow"})");
    CHECK(p.latency_us == 50000);
    CHECK(p.jitter_us == 10000);
    CHECK(p.drip_bytes == 3);
    CHECK(p.drip_every_us == 20000);
    CHECK(p.reset_after == 100u);
    CHECK(p.slow_close_us == 5000);
    CHECK(p.bandwidth == 1000u);
    REQUIRE(p.status.size() == 1);
    CHECK(p.status[0].nth == std::vector<std::int64_t>{2, 4});
    CHECK(p.status[0].retry_after == 1);
    CHECK(fault_words(p.describe()) == "slow");
    CHECK(parse(R"({"latency": 25})").latency_us == 25000);
    CHECK(parse("{}").empty());
}

TEST_CASE("fault profile mistakes are named", "[unit][faults]") {
    CHECK_THAT(parse_error(R"({"drip": {"bytes": 0}})"), Catch::Contains("/drip/bytes"));
    CHECK_THAT(parse_error(R"({"tarpit": true, "refuse": true})"), Catch::Contains("cannot both"));
    CHECK_THAT(parse_error(R"({"status": [{"status": 503}]})"), Catch::Contains("\"nth\", \"every\" or \"rate\""));
    CHECK_THAT(parse_error(R"({"dripp": {"bytes": 1}})"), Catch::Contains("did you mean \"drip\""));
    CHECK_THAT(parse_error(R"({"status": [{"status": 503, "nth": [0]}]})"), Catch::Contains("nth"));
}

TEST_CASE("a plan drips, slices and resets as its profile says", "[unit][faults]") {
    auto drip = schedule(parse(R"({"drip": {"bytes": 2, "every_ms": 10}})"), 1, 7);
    REQUIRE(drip.size() == 4);
    CHECK(drip[0] == std::pair<std::size_t, micros>{2, 0});  // the first piece goes at once
    CHECK(drip[1] == std::pair<std::size_t, micros>{2, 10000});
    CHECK(drip[3] == std::pair<std::size_t, micros>{1, 10000});

    for (auto& [n, d] : schedule(parse(R"({"slice": {"max_bytes": 5}})"), 7, 200)) {
        CHECK(n >= 1);
        CHECK(n <= 5);
        CHECK(d == 0);
    }

    auto reset = schedule(parse(R"({"reset_after_bytes": 10})"), 1, 100, 4);
    std::size_t sent = 0;
    for (auto& [n, d] : reset) sent += n;
    CHECK(sent == 10);

    auto latency = schedule(parse(R"({"latency": 30})"), 1, 100, 40);
    CHECK(latency[0].second == 30000);
    CHECK(latency[1].second == 0);  // once per answer, not per write

    auto paced = schedule(parse(R"({"bandwidth": 5000})"), 1, 1000);
    micros total = 0;
    for (auto& [n, d] : paced) total += d;
    CHECK(total == 200000);  // 1000 bytes at 5000 bytes/s
}

TEST_CASE("the same seed gives the same faults, another seed others", "[unit][faults]") {
    auto p = parse(R"({"slice": {"max_bytes": 16}, "latency": {"ms": 1, "jitter_ms": 50}})");
    CHECK(schedule(p, 42, 5000) == schedule(p, 42, 5000));
    CHECK(schedule(p, 42, 5000) != schedule(p, 43, 5000));
    CHECK(mix_seed(1, 2) != mix_seed(2, 1));
    CHECK(hash_name("api") == hash_name("api"));
}

TEST_CASE("strict request heads", "[unit][http]") {
    using wirelab::http::head_end;
    using wirelab::http::strict_violation;
    std::string ok = "HEAD / HTTP/1.1\r\nHost: example\r\nConnection: close\r\n\r\n";
    CHECK(head_end(ok) == ok.size());
    CHECK(head_end(ok + "body") == ok.size());
    CHECK(head_end("HEAD / HTTP/1.1\r\nHost: x\r\n") == std::string::npos);
    CHECK(head_end("HEAD / HTTP/1.1\nHost: x\n\n") == 25);
    CHECK(strict_violation(ok) == "");
    CHECK(strict_violation("GET / HTTP/1.0\r\n\r\n") == "");

    CHECK_THAT(strict_violation("HEAD / HTTP/1.1\r\n\r\n"), Catch::Contains("Host header"));
    CHECK_THAT(strict_violation("HEAD / HTTP/1.1\nHost: x\n\n"), Catch::Contains("bare LF"));
    CHECK_THAT(strict_violation("HEAD / HTTP/1.1\r\n Host: x\r\n\r\n"), Catch::Contains("starts with whitespace"));
    CHECK_THAT(strict_violation("HEAD / HTTP/1.1\r\nHost : x\r\n\r\n"), Catch::Contains("between the name and the colon"));
    CHECK_THAT(strict_violation("HEAD  / HTTP/1.1\r\nHost: x\r\n\r\n"), Catch::Contains("single spaces"));
    CHECK_THAT(strict_violation("HEAD / HTTP/2\r\nHost: x\r\n\r\n"), Catch::Contains("not HTTP/1.1"));
    CHECK_THAT(strict_violation("HEAD / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), Catch::Contains("2 Host headers"));
    CHECK_THAT(strict_violation("HEAD / HTTP/1.1\r\nHost x\r\n\r\n"), Catch::Contains("no colon"));
}
