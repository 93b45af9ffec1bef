// Check kinds evaluated against journals written here, without sockets.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "checks/check.hpp"
#include "checks/match.hpp"
#include "checks/report.hpp"
#include "runtime/journal.hpp"

using namespace wirelab;
using namespace wirelab::checks;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Fixture {
    fs::path dir;
    std::unique_ptr<Journal> journal;
    std::int64_t case_id = 0;
    Fixture() {
        static int n = 0;
        dir = fs::temp_directory_path() / ("wirelab-checks-" + std::to_string(::getpid()) + "-" + std::to_string(++n));
        fs::create_directories(dir);
        journal = std::make_unique<Journal>(dir / "journal.db");
        case_id = journal->begin_case("main", "python3 x.py");
    }
    ~Fixture() { fs::remove_all(dir); }

    void request(const std::string& method, const std::string& target, json headers,
                 const std::string& body = {}, int status = 200, std::int64_t conn = 1, int seq = 1) {
        auto q = target.find('?');
        json query = json::object();
        if (q != std::string::npos) {
            std::string qs = target.substr(q + 1);
            std::size_t s = 0;
            while (s <= qs.size()) {
                auto a = qs.find('&', s);
                if (a == std::string::npos) a = qs.size();
                auto part = qs.substr(s, a - s);
                auto eq = part.find('=');
                query[part.substr(0, eq)] = eq == std::string::npos ? "" : part.substr(eq + 1);
                s = a + 1;
            }
        }
        journal->http({{"service", "api"}, {"connection_id", conn}, {"seq", seq}, {"method", method},
                       {"target", target}, {"path", target.substr(0, q)}, {"query", query},
                       {"req_headers", headers}, {"req_body", body}, {"status", status}});
    }

    void end(int exit_code, const std::string& out = {}, const std::string& err = {}, bool timed_out = false) {
        CaseOutcome o;
        if (!timed_out) o.exit_code = exit_code;
        o.timed_out = timed_out;
        o.out = out;
        o.err = err;
        journal->end_case(case_id, o);
        journal->finish("finished");
    }

    std::vector<Result> run(const std::string& checks_json, std::vector<CompiledCheck>& keep) {
        std::ofstream(dir / "lab.json") << R"({"id": "t", "title": "t", "services": {"api": {"kind": "http"}}, "checks": )"
                                        << checks_json << "}";
        static Lab lab;
        lab = Lab::load(dir, {"http"});
        keep = compile_checks(lab);
        RunData data(dir / "journal.db", {});
        return evaluate(keep, data);
    }
};

json headers(std::initializer_list<std::pair<const char*, const char*>> h) {
    json out = json::array();
    for (auto& [k, v] : h) out.push_back({k, v});
    return out;
}

}  // namespace

TEST_CASE("json_subset: types matter, numbers compare by value", "[unit][checks]") {
    std::string why;
    CHECK(json_subset(json::parse(R"({"id": 7})"), json::parse(R"({"id": 7, "a": 1})"), why));
    CHECK(json_subset(json::parse(R"({"x": 1})"), json::parse(R"({"x": 1.0})"), why));
    CHECK_FALSE(json_subset(json::parse(R"({"year": 1961})"), json::parse(R"({"year": "1961"})"), why));
    CHECK_THAT(why, Catch::Contains("/year") && Catch::Contains("a string"));
    CHECK_FALSE(json_subset(json::parse(R"({"id": 7})"), json::parse(R"({})"), why));
    CHECK_THAT(why, Catch::Contains("\"id\" is missing"));
}

TEST_CASE("http check: the closest request explains the mismatch", "[unit][checks]") {
    Fixture f;
    f.request("GET", "/cars?_sort=production_year&_order=desc", headers({{"Connection", "close"}}));
    f.request("POST", "/cars", headers({{"Connection", "close"}}), R"({"id": 7})", 201, 2);
    f.end(0);
    std::vector<CompiledCheck> keep;
    auto r = f.run(R"([{"id": "post-json", "title": "t", "kind": "http", "service": "api",
        "request": {"method": "POST", "path": "/cars", "headers": {"Content-Type": "(?i)^application/json"}, "json": {"id": 7}}}])",
                   keep);
    REQUIRE(r.size() == 1);
    CHECK(r[0].verdict.status == Status::fail);
    CHECK_THAT(r[0].verdict.message, Catch::Contains("no Content-Type header"));
    CHECK_THAT(r[0].verdict.observed, Catch::Contains("closest: POST /cars"));
}

TEST_CASE("http check: count, none and every", "[unit][checks]") {
    Fixture f;
    f.request("GET", "/cars", headers({{"Connection", "close"}}));
    f.request("GET", "/cars", headers({{"Connection", "keep-alive"}}), {}, 200, 2);
    f.end(0);
    std::vector<CompiledCheck> keep;
    auto r = f.run(R"([
        {"id": "two", "title": "t", "kind": "http", "service": "api", "request": {"method": "GET"}, "count": 2},
        {"id": "one", "title": "t", "kind": "http", "service": "api", "request": {"method": "GET"}, "max": 1},
        {"id": "none", "title": "t", "kind": "http", "service": "api", "request": {"method": "DELETE"}, "none": true},
        {"id": "every", "title": "t", "kind": "http", "service": "api", "every": {"headers": {"Connection": "^close$"}}},
        {"id": "query", "title": "t", "kind": "http", "service": "api", "request": {"query": {"_sort": true}}}
    ])", keep);
    CHECK(r[0].verdict.status == Status::pass);
    CHECK(r[1].verdict.status == Status::fail);
    CHECK(r[2].verdict.status == Status::pass);
    CHECK(r[3].verdict.status == Status::fail);
    CHECK_THAT(r[3].verdict.message, Catch::Contains("1 of 2"));
    CHECK(r[4].verdict.status == Status::fail);
    CHECK_THAT(r[4].verdict.message, Catch::Contains("the query has no _sort"));
    CHECK_THAT(r[4].verdict.observed, Catch::Contains("closest: GET /cars"));
}

TEST_CASE("http check: no request at all says where to connect", "[unit][checks]") {
    Fixture f;
    f.end(0);
    std::vector<CompiledCheck> keep;
    auto r = f.run(R"([{"id": "a", "title": "t", "kind": "http", "service": "api", "request": {"method": "GET"}}])", keep);
    CHECK(r[0].verdict.status == Status::fail);
    CHECK_THAT(r[0].verdict.message, Catch::Contains("no HTTP request reached service \"api\""));
    CHECK_THAT(r[0].verdict.observed, Catch::Contains("WIRELAB_API_URL"));
}

TEST_CASE("exit and output checks; depends_on skips", "[unit][checks]") {
    Fixture f;
    f.end(1, "2010 Aston Martin Rapide\n1957 Mercedes Benz 300SL\n1988 Chevrolet Camaro\n",
          "Traceback (most recent call last):\n  File \"x.py\", line 3\nKeyError: 'id'\n");
    std::vector<CompiledCheck> keep;
    auto r = f.run(R"([
        {"id": "exit", "title": "t", "kind": "exit"},
        {"id": "order", "title": "t", "kind": "output", "in_order": ["Rapide", "Camaro", "300SL"]},
        {"id": "has", "title": "t", "kind": "output", "contains": ["Rapide", "Camaro"]},
        {"id": "later", "title": "t", "kind": "output", "regex": "Rapide", "depends_on": ["exit"]}
    ])", keep);
    CHECK(r[0].verdict.status == Status::fail);
    CHECK_THAT(r[0].verdict.message, Catch::Contains("exited with status 1"));
    CHECK_THAT(r[0].verdict.observed, Catch::Contains("KeyError: 'id'"));
    CHECK(r[1].verdict.status == Status::fail);
    CHECK_THAT(r[1].verdict.message, Catch::Contains("\"300SL\" is printed, but before \"Camaro\""));
    CHECK(r[2].verdict.status == Status::pass);
    CHECK(r[3].verdict.status == Status::skip);
    Totals t = totals(r);
    CHECK(t.exit_code() == 1);
    CHECK(t.score == 1);
}

TEST_CASE("a timed-out run says so and shows the partial output", "[unit][checks]") {
    Fixture f;
    f.end(0, "first line\n", "", true);
    std::vector<CompiledCheck> keep;
    auto r = f.run(R"([{"id": "exit", "title": "t", "kind": "exit"}])", keep);
    CHECK(r[0].verdict.status == Status::fail);
    CHECK_THAT(r[0].verdict.message, Catch::Contains("did not finish within"));
    CHECK_THAT(r[0].verdict.observed, Catch::Contains("first line"));
}

TEST_CASE("the text report marks, scores and hints", "[unit][checks]") {
    Fixture f;
    f.end(2);
    std::vector<CompiledCheck> keep;
    auto r = f.run(R"([{"id": "exit", "title": "Exits 0", "kind": "exit", "hint": "read the traceback", "points": 2}])", keep);
    ReportInput in;
    in.lab_id = "t";
    in.lab_title = "T";
    in.results = r;
    auto text = render_text(in, false);
    CHECK_THAT(text, Catch::Contains("✗ exit") && Catch::Contains("[0/2]") &&
                         Catch::Contains("hint: read the traceback") && Catch::Contains("score 0/2"));
    CHECK(text.find("\033[") == std::string::npos);
    auto j = render_json(in);
    CHECK(j["checks"][0]["status"] == "failed");
    CHECK(j["exit_code"] == 1);
}
