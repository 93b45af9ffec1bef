// The classroom's HTTP API on a real socket (127.0.0.1, a free port): who
// may call what, bodies over their limits, and live updates over SSE.
// Submitting real runs is in tests/integration/test_classroom.py.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <future>
#include <thread>

#include "runtime/common.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include "classroom/classroom.hpp"
#include "classroom/server.hpp"

using namespace wirelab;
using namespace wirelab::classroom;
namespace fs = std::filesystem;

namespace {

const std::string kScenario = std::string(WIRELAB_SOURCE_DIR) + "/tests/integration/classroom_fixtures/test-day.json";

struct Reply {
    int status = 0;
    std::string head, body;
    json json_body() const { return json::parse(body, nullptr, false); }
};

/// One request on its own connection (Connection: close), read to the end.
Reply request(unsigned short port, const std::string& method, const std::string& target, const std::string& token = {},
              const std::string& body = {}) {
    asio::io_context io;
    tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), port});
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    error_code ec;
    asio::write(s, asio::buffer(req), ec);
    std::string all;
    asio::read(s, asio::dynamic_buffer(all), ec);
    Reply r;
    auto split = all.find("\r\n\r\n");
    r.head = all.substr(0, split);
    r.body = split == std::string::npos ? "" : all.substr(split + 4);
    if (all.size() > 12) r.status = std::stoi(all.substr(9, 3));
    return r;
}

/// A classroom serving on a thread, stopped and joined at the end.
struct Running {
    fs::path dir;
    std::unique_ptr<Classroom> room;
    asio::io_context io;
    std::unique_ptr<Server> server;
    std::thread thread;
    std::string trainer, ada, alan;
    Running() {
        static int n = 0;
        dir = fs::temp_directory_path() / ("wirelab-classroom-api-" + std::to_string(::getpid()) + "-" + std::to_string(++n));
        room = std::make_unique<Classroom>(Scenario::load(kScenario), ClassroomOptions{dir});
        room->import_roster(parse_roster("name,email\nAda,ada@x.org\nAlan,alan@x.org\n", "r.csv"));
        trainer = room->trainer_token();
        ada = room->learners()[0]["token"];
        alan = room->learners()[1]["token"];
        server = std::make_unique<Server>(io, *room, ServerOptions{"127.0.0.1", 0});
        thread = std::thread([this] { io.run(); });
    }
    unsigned short port() const { return server->port(); }
    ~Running() {
        asio::post(io, [this] { server->stop(); });
        // every connection and timer ends: run() returns on its own
        auto done = std::async(std::launch::async, [this] { thread.join(); });
        if (done.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
            io.stop();
            done.wait();
            FAIL("the server left work outstanding after stop()");
        }
        server.reset();
        room.reset();
        fs::remove_all(dir);
    }
};

}  // namespace

TEST_CASE("pages and health need no token; the API does", "[classroom][api]") {
    Running r;
    auto page = request(r.port(), "GET", "/");
    CHECK(page.status == 200);
    CHECK(page.head.find("Content-Type: text/html; charset=utf-8") != std::string::npos);
    CHECK(page.body.find("<table id=\"grid\">") != std::string::npos);
    CHECK(request(r.port(), "GET", "/learner").body.find("join-form") != std::string::npos);
    CHECK(request(r.port(), "GET", "/api/health").json_body()["scenario"] == "test-day");
    auto none = request(r.port(), "GET", "/api/grid");
    CHECK(none.status == 401);
    CHECK(none.json_body()["error"] == "no valid token");
    CHECK(none.json_body()["fix"] == "send Authorization: Bearer <your token> (the trainer gives it)");
    CHECK(request(r.port(), "GET", "/api/nothing-here", r.trainer).status == 404);
}

TEST_CASE("learner tokens are refused on trainer endpoints", "[classroom][api]") {
    Running r;
    for (auto [method, target] : std::vector<std::pair<std::string, std::string>>{
             {"GET", "/api/grid"}, {"GET", "/api/learners"}, {"GET", "/api/export.csv"},
             {"GET", "/api/export/gradescope.json"}, {"GET", "/api/export/prairielearn.json"}, {"POST", "/api/actions"}}) {
        auto reply = request(r.port(), method, target, r.ada, R"({"action": "open", "lab": "sqlite-todo"})");
        INFO(method << " " << target);
        CHECK(reply.status == 403);
        CHECK(reply.json_body()["error"] == "this needs the trainer's token");
        CHECK(request(r.port(), method, target + "?token=" + r.alan).status == 403);
    }
    // nothing happened: the lab is still closed
    CHECK(request(r.port(), "GET", "/api/labs/sqlite-todo", r.ada).json_body()["open"] == false);
    // the trainer may
    CHECK(request(r.port(), "POST", "/api/actions", r.trainer, R"({"action": "open", "lab": "sqlite-todo"})").status == 200);
    CHECK(request(r.port(), "GET", "/api/labs/sqlite-todo", r.ada).json_body()["open"] == true);
    // a learner's own page; the trainer has none
    CHECK(request(r.port(), "GET", "/api/me", r.alan).json_body()["name"] == "Alan");
    CHECK(request(r.port(), "GET", "/api/me", r.trainer).status == 403);
    // no submitting as the trainer
    CHECK(request(r.port(), "POST", "/api/labs/rest-cars/submissions", r.trainer, "x").status == 403);
}

TEST_CASE("bodies over their limits get 413 from the header", "[classroom][api]") {
    Running r;
    auto big = request(r.port(), "POST", "/api/actions", r.trainer, std::string(100 * 1024, ' '));
    CHECK(big.status == 413);
    CHECK(big.json_body()["error"] == "the request body is over the limit of 64 KiB");
    auto upload = request(r.port(), "POST", "/api/labs/rest-cars/submissions", r.ada, std::string(17 << 20, 'x'));
    CHECK(upload.status == 413);
    CHECK(upload.json_body()["error"] == "the request body is over the limit of 16384 KiB");
    // and the server still serves
    CHECK(request(r.port(), "GET", "/api/health").status == 200);
}

TEST_CASE("live updates: the trainer hears everything, a learner what concerns them", "[classroom][api]") {
    Running r;
    auto listen = [&](const std::string& token, std::promise<std::string>& out, const std::string& until) {
        asio::io_context io;
        tcp::socket s(io);
        s.connect({asio::ip::make_address("127.0.0.1"), r.port()});
        std::string req = "GET /api/events?token=" + token + " HTTP/1.1\r\nHost: x\r\n\r\n";
        asio::write(s, asio::buffer(req));
        std::string got;
        error_code ec;
        while (!ec && got.find(until) == std::string::npos) {
            char buf[4096];
            std::size_t n = s.read_some(asio::buffer(buf), ec);
            got.append(buf, n);
        }
        out.set_value(got);
    };
    std::promise<std::string> trainer_p, alan_p;
    std::thread t1(listen, r.trainer, std::ref(trainer_p), "event: learner");
    std::thread t2(listen, r.alan, std::ref(alan_p), "event: action");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    // a learner joins (trainer only), then a lab opens (everyone)
    auto joined = request(r.port(), "POST", "/api/join", "",
                          json{{"code", r.room->join_code()}, {"name", "Lin"}, {"email", "lin@x.org"}}.dump());
    CHECK(joined.status == 201);
    CHECK(request(r.port(), "POST", "/api/actions", r.trainer, R"({"event": "open-keepalive"})").status == 200);
    auto tf = trainer_p.get_future(), af = alan_p.get_future();
    REQUIRE(tf.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    REQUIRE(af.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    std::string trainer = tf.get(), alan = af.get();
    t1.join();
    t2.join();
    CHECK(trainer.rfind("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n", 0) == 0);
    CHECK(trainer.find("event: learner\ndata: {") != std::string::npos);
    CHECK(trainer.find("\"name\":\"Lin\"") != std::string::npos);
    CHECK(alan.find("event: action\ndata: {") != std::string::npos);
    CHECK(alan.find("\"event\":\"open-keepalive\"") != std::string::npos);
    CHECK(alan.find("event: learner") == std::string::npos);
    // a bad token gets no stream
    CHECK(request(r.port(), "GET", "/api/events?token=wl-1-nope").status == 401);
}
