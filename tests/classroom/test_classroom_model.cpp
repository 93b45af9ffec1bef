// The classroom without sockets: roster parsing, run bundles and their
// bounds, token comparison, scenario errors, and Classroom's state
// (tokens, join, actions, the schedule, restart).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "classroom/classroom.hpp"
#include "runtime/errors.hpp"
#include "runtime/params.hpp"
#include "runtime/run_bundle.hpp"

using namespace wirelab;
using namespace wirelab::classroom;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        static int n = 0;
        path = fs::temp_directory_path() / ("wirelab-classroom-" + std::to_string(::getpid()) + "-" + std::to_string(++n));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
    fs::path write(const std::string& name, const std::string& text) const {
        std::ofstream(path / name) << text;
        return path / name;
    }
};

const std::string kScenario = std::string(WIRELAB_SOURCE_DIR) + "/tests/integration/classroom_fixtures/test-day.json";

LabError scenario_error(const std::string& text) {
    TempDir d;
    try {
        Scenario::load(d.write("s.json", text).string());
    } catch (const LabError& e) {
        return e;
    }
    FAIL("no LabError for: " << text);
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("a roster: header in any order, quotes, BOM, CRLF, blank lines", "[classroom]") {
    auto rows = parse_roster("\xEF\xBB\xBF" "email,Name\r\nada@example.org,Ada\r\n\r\n\"grace@example.org\",\"Hopper, Grace\"\r\n",
                             "class.csv");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].name == "Ada");
    CHECK(rows[0].email == "ada@example.org");
    CHECK(rows[1].name == "Hopper, Grace");
    CHECK(rows[1].line == 4);
    // no header: name,email
    rows = parse_roster("Alan Turing,alan@example.org\nLin\n", "c.csv");
    REQUIRE(rows.size() == 2);
    CHECK(rows[1].email.empty());
}

TEST_CASE("a roster's mistakes name the line", "[classroom]") {
    auto err = [](const std::string& text) -> std::string {
        try {
            parse_roster(text, "class.csv");
        } catch (const LabError& e) {
            return e.where().str() + ": " + e.problem();
        }
        return "no error";
    };
    CHECK(err("name,email\nAda,ada@example.org\n,bob@example.org\n") == "class.csv:3: a row without a name");
    CHECK(err("name,email\nAda,ada.example.org\n") == "class.csv:2: \"ada.example.org\" is not an e-mail address");
    CHECK(err("name,email\nAda,a@x.org\nAda L,A@X.org\n") == "class.csv:3: A@X.org is in the roster twice");
    CHECK(err("name,email\n\"Ada,a@x.org\n") == "class.csv:2: a quoted field is never closed");
    CHECK(err("name,mail_address\nAda,a@x\n") == "class.csv:1: the header names a name column but no email column");
    CHECK(err("name,email\n") == "class.csv: the roster has no learners");
}

TEST_CASE("tokens are compared whole, whatever their lengths", "[classroom]") {
    CHECK(constant_time_equal("wl-1-abc", "wl-1-abc"));
    CHECK_FALSE(constant_time_equal("wl-1-abc", "wl-1-abd"));
    CHECK_FALSE(constant_time_equal("wl-1-ab", "wl-1-abc"));
    CHECK_FALSE(constant_time_equal("", "x"));
    CHECK(constant_time_equal("", ""));
}

TEST_CASE("a run bundle unpacks what was packed, and nothing out of bounds", "[classroom]") {
    TempDir d;
    // a real journal: unpack refuses bundles that are not runs
    auto bad = [&](const std::string& bundle, const UnpackLimits& l = {}) -> std::string {
        try {
            unpack_run(bundle, d.path / "out", l);
        } catch (const std::invalid_argument& e) {
            return e.what();
        }
        return "accepted";
    };
    CHECK(bad("not gzip") == "the run bundle is not valid gzip (corrupt)");
    CHECK(bad("") == "the run bundle is not valid gzip (truncated)");
    CHECK_THROWS_AS(pack_run(d.path / "nothing"), EnvError);
}

TEST_CASE("scenario errors name file, line and pointer", "[classroom]") {
    auto e = scenario_error(R"({"id": "x", "title": "t", "labs": []})");
    CHECK(e.where().pointer == "/labs");
    CHECK(e.problem() == "\"labs\" must be a non-empty array of labs in the order of the day");
    e = scenario_error(R"({"id": "x", "title": "t", "labs": [{"lab": "rest-cars"}, {"lab": "rest-cars"}]})");
    CHECK(e.where().pointer == "/labs/1/lab");
    CHECK(e.problem() == "lab \"rest-cars\" is listed twice");
    e = scenario_error(R"({"id": "x", "title": "t", "labs": [{"lab": "rest-cars", "opne": true}]})");
    CHECK(e.where().pointer == "/labs/0/opne");
    e = scenario_error(R"({"id": "x", "title": "t", "labs": [{"lab": "rest-cars"}],
        "faults": {"f": {"lab": "rest-cars", "service": "api", "profile": {"latncy": 5}}}})");
    CHECK(e.where().pointer == "/faults/f/profile/latncy");
    CHECK(e.where().line == 2);
    e = scenario_error(R"({"id": "x", "title": "t", "labs": [{"lab": "rest-cars"}],
        "schedule": [{"action": "open", "lab": "rest-cars", "at": "25:00"}]})");
    CHECK(e.where().pointer == "/schedule/0/at");
    e = scenario_error(R"({"id": "x", "title": "t", "labs": [{"lab": "rest-cars"}],
        "schedule": [{"action": "fault", "fault": "nope"}]})");
    CHECK(e.problem() == "no class fault named \"nope\"");
    e = scenario_error(R"({"id": "x", "title": "t", "labs": [{"lab": "rest-cars"}],
        "schedule": [{"id": "a", "action": "open", "lab": "rest-cars"}, {"id": "a", "action": "close", "lab": "rest-cars"}]})");
    CHECK(e.problem() == "two events have the id \"a\"");
}

TEST_CASE("the classroom keeps tokens, labs, faults and the schedule", "[classroom]") {
    TempDir d;
    Scenario sc = Scenario::load(kScenario);
    REQUIRE(sc.labs.size() == 4);
    CHECK(sc.lab("rest-cars")->hosted);
    CHECK_FALSE(sc.lab("sqlite-todo")->hosted);  // a file on the learner's machine
    CHECK_FALSE(sc.lab("socket-head")->hosted);  // several cases
    std::string trainer, ada_token;
    {
        Classroom room(sc, {d.path / "state"});
        trainer = room.trainer_token();
        CHECK(trainer.rfind("wlt-", 0) == 0);
        CHECK(room.import_roster(parse_roster("name,email\nAda,ada@x.org\nAlan,alan@x.org\n", "r.csv")) == 2);
        CHECK(room.import_roster(parse_roster("name,email\nAda L.,ada@x.org\n", "r.csv")) == 0);  // known: renamed
        json learners = room.learners();
        REQUIRE(learners.size() == 2);
        CHECK(learners[0]["name"] == "Ada L.");
        ada_token = learners[0]["token"];

        Principal ada = room.authenticate(ada_token);
        CHECK(ada.role == Principal::Role::learner);
        CHECK(ada.learner == 1);
        CHECK(room.authenticate(trainer).trainer());
        CHECK(room.authenticate(ada_token + "0").role == Principal::Role::none);
        CHECK(room.authenticate("wl-2-" + ada_token.substr(5)).role == Principal::Role::none);  // Ada's secret, Alan's id
        CHECK(room.authenticate("wl-99-x").role == Principal::Role::none);
        CHECK(room.authenticate("").role == Principal::Role::none);

        json cfg = room.lab_config(ada, "rest-cars");
        CHECK(cfg["open"] == true);
        CHECK(cfg["seed"] == classroom_seed(ada_token, "rest-cars"));
        CHECK(cfg["faults"].empty());
        CHECK_THROWS_AS(room.lab_config(Principal{}, "rest-cars"), ApiError);

        std::vector<std::string> resets;
        room.on_reset = [&](const std::string& lab, std::optional<std::int64_t> l) {
            resets.push_back(lab + "/" + (l ? std::to_string(*l) : "all"));
        };
        room.act({{"event", "flaky"}});
        cfg = room.lab_config(ada, "rest-cars");
        CHECK(cfg["faults"]["api"]["name"] == "api-503");
        CHECK(cfg["faults"]["api"]["profile"]["status"][0]["every"] == 3);
        room.act({{"action", "reset"}, {"lab", "rest-cars"}, {"learner", 1}});
        CHECK(resets == std::vector<std::string>{"rest-cars/all", "rest-cars/1"});
        CHECK_THROWS_AS(room.act({{"action", "reset"}, {"learner", 7}}), ApiError);

        // "+0m" is due at once, "+600m" is not; each fires once
        CHECK_FALSE(room.lab_config(ada, "keepalive")["open"].get<bool>());
        auto fired = room.tick(std::chrono::system_clock::now());
        REQUIRE(fired.size() == 1);
        CHECK(fired[0]["event"] == "open-keepalive");
        CHECK(room.tick(std::chrono::system_clock::now()).empty());
        CHECK(room.lab_config(ada, "keepalive")["open"].get<bool>());
        fired = room.tick(std::chrono::system_clock::now() + std::chrono::hours(11));
        REQUIRE(fired.size() == 1);
        CHECK(fired[0]["event"] == "much-later");

        json joined = room.join(room.join_code(), "Lin", "lin@x.org");
        CHECK(room.authenticate(joined["token"].get<std::string>()).learner == 3);
        try {
            room.join("nope", "Eve", "");
            FAIL("joined with a wrong code");
        } catch (const ApiError& e) {
            CHECK(e.status() == 403);
        }
        try {
            room.submit(room.authenticate(trainer), "rest-cars", "x");
            FAIL("the trainer submitted");
        } catch (const ApiError& e) {
            CHECK(e.status() == 403);
        }
        try {
            room.submit(ada, "sqlite-todo", "x");
            FAIL("a closed lab took a run");
        } catch (const ApiError& e) {
            CHECK(e.status() == 403);
            CHECK(std::string(e.what()) == "lab \"sqlite-todo\" is closed in this classroom");
        }
    }
    // a restart: the same tokens, the same state
    Classroom again(sc, {d.path / "state"});
    CHECK(again.trainer_token() == trainer);
    CHECK(again.authenticate(ada_token).learner == 1);
    CHECK(again.lab_config(again.authenticate(ada_token), "rest-cars")["faults"]["api"]["name"] == "api-503");
    CHECK(again.tick(std::chrono::system_clock::now() + std::chrono::hours(11)).empty());
    json grid = again.grid();
    CHECK(grid["learners"].size() == 3);
    CHECK(grid["most_failed"].is_null());
    // another scenario cannot take this state over
    Scenario other = sc;
    other.id = "other-day";
    CHECK_THROWS_AS(Classroom(other, {d.path / "state"}), EnvError);
}
