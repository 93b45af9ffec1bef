// lab.json validation: every error names file, line and JSON pointer.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "checks/check.hpp"
#include "runtime/errors.hpp"
#include "runtime/lab.hpp"

using namespace wirelab;
namespace fs = std::filesystem;

namespace {

struct LabDir {
    fs::path path;
    explicit LabDir(const std::string& lab_json) {
        static int n = 0;
        path = fs::temp_directory_path() / ("wirelab-lab-" + std::to_string(::getpid()) + "-" + std::to_string(++n));
        fs::create_directories(path);
        std::ofstream(path / "lab.json") << lab_json;
    }
    ~LabDir() { fs::remove_all(path); }
};

const std::vector<std::string> kKinds = {"http"};

LabError load_error(const std::string& text) {
    LabDir d(text);
    try {
        Lab lab = Lab::load(d.path, kKinds);
        checks::compile_checks(lab);
    } catch (const LabError& e) {
        return e;
    }
    FAIL("no LabError for: " << text);
    throw std::logic_error("unreachable");
}

const char* kGood = R"({
  "id": "demo",
  "title": "Demo",
  "services": {"api": {"kind": "http", "port": 3000}},
  "checks": [
    {"id": "exit-ok", "title": "exits 0", "kind": "exit"}
  ]
})";

}  // namespace

TEST_CASE("a valid lab loads with a default case", "[unit][lab]") {
    LabDir d(kGood);
    Lab lab = Lab::load(d.path, kKinds);
    CHECK(lab.id == "demo");
    REQUIRE(lab.services.size() == 1);
    CHECK(lab.services[0].name == "api");
    REQUIRE(lab.cases.size() == 1);
    CHECK(lab.cases[0].name == "main");
    CHECK(checks::compile_checks(lab).size() == 1);
}

TEST_CASE("invalid JSON names the line and column", "[unit][lab]") {
    auto e = load_error("{\n  \"id\": \"demo\",\n  \"title\": \"x\"\n  \"checks\": []\n}");
    CHECK(e.where().line == 4);
    CHECK_THAT(e.problem(), Catch::Contains("invalid JSON"));
}

TEST_CASE("missing and mistyped fields name the pointer and line", "[unit][lab]") {
    auto e = load_error("{\n  \"id\": \"demo\"\n}");
    CHECK_THAT(e.problem(), Catch::Contains("\"title\""));
    auto t = load_error("{\n  \"id\": \"demo\",\n  \"title\": \"x\",\n  \"timeout\": \"ten\"\n}");
    CHECK(t.where().pointer == "/timeout");
    CHECK(t.where().line == 4);
    CHECK_THAT(t.problem(), Catch::Contains("must be a number"));
}

TEST_CASE("unknown keys and kinds suggest the close one", "[unit][lab]") {
    auto k = load_error(R"({"id": "demo", "title": "x", "titel": "y"})");
    CHECK(k.where().pointer == "/titel");
    CHECK_THAT(k.fix(), Catch::Contains("did you mean \"title\""));
    auto s = load_error(R"({"id": "demo", "title": "x", "services": {"api": {"kind": "htp"}}})");
    CHECK(s.where().pointer == "/services/api/kind");
    CHECK_THAT(s.fix(), Catch::Contains("\"http\""));
    auto c = load_error(R"({"id": "demo", "title": "x", "checks": [{"id": "a", "title": "t", "kind": "exitt"}]})");
    CHECK(c.where().pointer == "/checks/0/kind");
    CHECK_THAT(c.fix(), Catch::Contains("\"exit\""));
}

TEST_CASE("check ids are unique and depends_on is acyclic", "[unit][lab]") {
    auto dup = load_error(R"({"id": "demo", "title": "x", "checks": [
        {"id": "a", "title": "t", "kind": "exit"}, {"id": "a", "title": "t", "kind": "exit"}]})");
    CHECK(dup.where().pointer == "/checks/1/id");
    CHECK_THAT(dup.problem(), Catch::Contains("duplicate check id"));
    auto missing = load_error(R"({"id": "demo", "title": "x", "checks": [
        {"id": "a", "title": "t", "kind": "exit", "depends_on": ["bb"]}, {"id": "b", "title": "t", "kind": "exit"}]})");
    CHECK(missing.where().pointer == "/checks/0/depends_on");
    CHECK_THAT(missing.fix(), Catch::Contains("\"b\""));
    auto cycle = load_error(R"({"id": "demo", "title": "x", "checks": [
        {"id": "a", "title": "t", "kind": "exit", "depends_on": "b"},
        {"id": "b", "title": "t", "kind": "exit", "depends_on": "a"}]})");
    CHECK_THAT(cycle.problem(), Catch::Contains("cycle") && Catch::Contains("a → b → a"));
}

TEST_CASE("check bodies are validated by their kind", "[unit][lab]") {
    auto svc = load_error(R"({"id": "demo", "title": "x", "services": {"api": {"kind": "http"}},
        "checks": [{"id": "a", "title": "t", "kind": "http", "service": "apii"}]})");
    CHECK(svc.where().pointer == "/checks/0/service");
    CHECK_THAT(svc.fix(), Catch::Contains("did you mean \"api\""));
    auto re = load_error(R"({"id": "demo", "title": "x", "checks": [
        {"id": "a", "title": "t", "kind": "output", "regex": "(unclosed"}]})");
    CHECK(re.where().pointer == "/checks/0/regex");
    auto st = load_error(R"({"id": "demo", "title": "x", "services": {"api": {"kind": "http"}},
        "checks": [{"id": "a", "title": "t", "kind": "state", "service": "api", "query": "SELECT 1"}]})");
    CHECK_THAT(st.problem(), Catch::Contains("\"rows\" or \"count\""));
    auto del = load_error(R"({"id": "demo", "title": "x", "services": {"api": {"kind": "http"}},
        "checks": [{"id": "a", "title": "t", "kind": "state", "service": "api", "query": "DELETE FROM cars", "count": 0}]})");
    CHECK_THAT(del.problem(), Catch::Contains("SELECT"));
    auto extra = load_error(R"({"id": "demo", "title": "x", "checks": [
        {"id": "a", "title": "t", "kind": "exit", "cod": 0}]})");
    CHECK_THAT(extra.fix(), Catch::Contains("did you mean \"code\""));
}

TEST_CASE("the error text carries file:line: pointer", "[unit][lab]") {
    auto e = load_error("{\n  \"id\": \"demo\",\n  \"title\": \"x\",\n  \"timeout\": -1\n}");
    CHECK_THAT(std::string(e.what()), Catch::Contains("lab.json:4: /timeout"));
}

TEST_CASE("fault profiles: named, inline, per service and per case", "[unit][lab][faults]") {
    LabDir d(R"({
  "id": "demo", "title": "Demo",
  "faults": {"slow": {"latency": 100}, "gone": {"refuse": true}},
  "services": {"api": {"kind": "http", "faults": "slow"}, "other": {"kind": "http"}},
  "cases": [
    {"name": "a"},
    {"name": "b", "faults": {"api": "gone", "other": {"drip": {"bytes": 1, "every_ms": 5}}}}
  ],
  "checks": [{"id": "exit-ok", "title": "exits 0", "kind": "exit"}]
})");
    Lab lab = Lab::load(d.path, kKinds);
    CHECK(lab.faults_for(lab.cases[0], "api").latency_us == 100000);
    CHECK(lab.faults_for(lab.cases[0], "other").empty());
    CHECK(lab.faults_for(lab.cases[1], "api").refuse);
    CHECK(lab.faults_for(lab.cases[1], "api").name == "gone");
    CHECK(lab.faults_for(lab.cases[1], "other").drip_bytes == 1);
}

TEST_CASE("fault profile references are checked", "[unit][lab][faults]") {
    auto unknown = load_error(R"({"id": "demo", "title": "x", "faults": {"slow": {"latency": 1}},
      "services": {"api": {"kind": "http"}},
      "cases": [{"name": "a", "faults": {"api": "slwo"}}],
      "checks": [{"id": "e", "title": "e", "kind": "exit"}]})");
    CHECK(unknown.where().pointer == "/cases/0/faults/api");
    CHECK_THAT(unknown.fix(), Catch::Contains("did you mean \"slow\""));
    auto service = load_error(R"({"id": "demo", "title": "x",
      "services": {"api": {"kind": "http"}},
      "cases": [{"name": "a", "faults": {"web": {"tarpit": true}}}],
      "checks": [{"id": "e", "title": "e", "kind": "exit"}]})");
    CHECK_THAT(service.problem(), Catch::Contains("no service named \"web\""));
    auto bad = load_error(R"({"id": "demo", "title": "x",
      "services": {"api": {"kind": "http", "faults": {"latency": -1}}},
      "checks": [{"id": "e", "title": "e", "kind": "exit"}]})");
    CHECK(bad.where().pointer == "/services/api/faults/latency");
}

TEST_CASE("server labs: server, clients and the clients of a case", "[unit][lab][server]") {
    const std::vector<std::string> clients = {"socket"};
    LabDir d(R"({"id": "demo", "title": "x", "server": {"port": 5000, "stop_grace": 1},
      "clients": {"b": {"kind": "socket", "steps": []}, "a": {"kind": "socket", "steps": []}},
      "cases": [{"name": "one", "clients": ["b", "a"]}],
      "checks": [{"id": "e", "title": "e", "kind": "exit"}]})");
    Lab lab = Lab::load(d.path, kKinds, clients);
    REQUIRE(lab.server);
    CHECK(lab.server->port == 5000);
    CHECK(lab.server->stop_grace_s == 1);
    CHECK(lab.clients.size() == 2);
    CHECK(lab.cases[0].clients == std::vector<std::string>{"b", "a"});

    auto no_server = [&] {
        LabDir bad(R"({"id": "demo", "title": "x", "clients": {"a": {"kind": "socket"}},
          "checks": [{"id": "e", "title": "e", "kind": "exit"}]})");
        try {
            Lab::load(bad.path, kKinds, clients);
        } catch (const LabError& e) {
            return std::string(e.what());
        }
        return std::string();
    }();
    CHECK_THAT(no_server, Catch::Contains("need a \"server\" object"));

    LabDir unknown(R"({"id": "demo", "title": "x", "server": {},
      "clients": {"a": {"kind": "sockt"}}, "checks": [{"id": "e", "title": "e", "kind": "exit"}]})");
    try {
        Lab::load(unknown.path, kKinds, clients);
        FAIL("no error for an unknown client kind");
    } catch (const LabError& e) {
        CHECK(e.where().pointer == "/clients/a/kind");
        CHECK_THAT(e.fix(), Catch::Contains("did you mean \"socket\""));
    }

    LabDir bad_case(R"({"id": "demo", "title": "x", "server": {},
      "clients": {"basic": {"kind": "socket"}}, "cases": [{"name": "c", "clients": ["basik"]}],
      "checks": [{"id": "e", "title": "e", "kind": "exit"}]})");
    try {
        Lab::load(bad_case.path, kKinds, clients);
        FAIL("no error for an unknown client in a case");
    } catch (const LabError& e) {
        CHECK(e.where().pointer == "/cases/0/clients");
        CHECK_THAT(e.fix(), Catch::Contains("did you mean \"basic\""));
    }
}
