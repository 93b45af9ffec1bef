// The simulated tool's plans without processes: what `devctl` prints and how
// it exits for each argv, and the lab.json errors a trainer can make.
#include <catch2/catch.hpp>

#include "runtime/errors.hpp"
#include "services/tool/tool_plan.hpp"

using namespace wirelab;
using namespace wirelab::tool;

namespace {

ToolSpec spec(const std::string& text) {
    auto doc = JsonDoc::parse(text, "lab.json");
    Spec s(doc, doc->root(), "/services/devctl", "service");
    ToolSpec t = ToolSpec::read(s, "devctl");
    s.finish();
    return t;
}

std::string spec_error(const std::string& text) {
    try {
        spec(text);
    } catch (const LabError& e) {
        return e.what();
    }
    FAIL("no LabError for " << text);
    return {};
}

const char* kInventory = R"({"output_kb": 80, "inventory": [
  {"name": "r1", "serial": "S1"},
  {"name": "r2; touch pwned", "serial": "S2"},
  {"name": "r3", "exit": 3, "error": "r3: refused"},
  {"name": "fw", "hang": true}]})";

}  // namespace

TEST_CASE("list prints the inventory, one name per line or as JSON", "[unit][tool]") {
    ToolSpec t = spec(kInventory);
    Plan p = plan_for(t, {"list"});
    CHECK(p.exit == 0);
    CHECK(p.out == "r1\nr2; touch pwned\nr3\nfw\n");
    Plan j = plan_for(t, {"list", "--json"});
    CHECK(j.out.find("\"name\":\"r2; touch pwned\"") != std::string::npos);
    CHECK(plan_for(t, {"list", "--yaml"}).exit == 2);
}

TEST_CASE("show prints a config longer than a pipe holds, serial near the end", "[unit][tool]") {
    ToolSpec t = spec(kInventory);
    Plan p = plan_for(t, {"show", "r1"});
    CHECK(p.exit == 0);
    CHECK_FALSE(p.hang);
    CHECK(p.device == "r1");
    CHECK(p.out.size() >= 80 * 1024);
    CHECK(p.err.size() >= 80 * 1024);
    auto serial = p.out.find("serial-number S1\n");
    REQUIRE(serial != std::string::npos);
    CHECK(serial > 64 * 1024);  // reading only what fits in a pipe misses it
    CHECK(p.out.substr(p.out.size() - 4) == "end\n");
    CHECK(plan_for(t, {"show", "r1"}).out == p.out);  // the same every time
}

TEST_CASE("a name is one argument: its pieces are no device", "[unit][tool]") {
    ToolSpec t = spec(kInventory);
    CHECK(plan_for(t, {"show", "r2; touch pwned"}).exit == 0);
    Plan cut = plan_for(t, {"show", "r2"});
    CHECK(cut.exit == 4);
    CHECK(cut.err.find("no device named 'r2'") != std::string::npos);
    Plan split = plan_for(t, {"show", "r2;", "touch", "pwned"});
    CHECK(split.exit == 2);
    CHECK(split.err.find("one argument") != std::string::npos);
}

TEST_CASE("failing and hanging devices", "[unit][tool]") {
    ToolSpec t = spec(kInventory);
    Plan f = plan_for(t, {"show", "r3"});
    CHECK(f.exit == 3);
    CHECK(f.out.empty());
    CHECK(f.err == "devctl: connecting to r3 ...\ndevctl: r3: refused\n");
    Plan h = plan_for(t, {"show", "fw"});
    CHECK(h.hang);
    CHECK(h.out.empty());
}

TEST_CASE("usage errors exit 2 and say what was wrong", "[unit][tool]") {
    ToolSpec t = spec(kInventory);
    CHECK(plan_for(t, {}).exit == 2);
    Plan u = plan_for(t, {"reboot", "r1"});
    CHECK(u.exit == 2);
    CHECK(u.err.find("unknown command 'reboot'") != std::string::npos);
    CHECK(plan_for(t, {"--help"}).exit == 0);
    CHECK(plan_for(t, {"--version"}).out == "devctl 2.4.1\n");
}

TEST_CASE("a broken tool spec names the key", "[unit][tool]") {
    CHECK_THAT(spec_error(R"({"inventory": []})"), Catch::Contains("non-empty array"));
    CHECK_THAT(spec_error(R"({"inventory": ["r1"]})"), Catch::Contains("device 0 is a string"));
    CHECK_THAT(spec_error(R"({"inventory": [{"name": "a"}, {"name": "a"}]})"), Catch::Contains("two devices"));
    CHECK_THAT(spec_error(R"({"inventory": [{"name": "a", "hang": true, "exit": 2}]})"), Catch::Contains("not both"));
    CHECK_THAT(spec_error(R"({"inventory": [{"name": "a", "error": "x"}]})"), Catch::Contains("goes with"));
    CHECK_THAT(spec_error(R"({"command": "Dev Ctl", "inventory": [{"name": "a"}]})"),
               Catch::Contains("cannot be a command name"));
    CHECK_THAT(spec_error(R"({"inventory": [{"name": "a", "serail": "x"}]})"), Catch::Contains("serial"));
}
