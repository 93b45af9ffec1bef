// The journal: schema, caps, batching, and what a reader sees.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "runtime/journal.hpp"
#include "runtime/journal_reader.hpp"
#include "runtime/recording.hpp"

using namespace wirelab;
namespace fs = std::filesystem;

namespace {
struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("wirelab-unit-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

// The `n` columns of `select` (ending in `WHERE id = ?`) for row `id`, as text.
std::vector<std::string> row_texts(sql::Db& db, const char* select, int n, int id) {
    auto s = db.prepare(select);
    s.bind(1, id);
    REQUIRE(s.step());
    std::vector<std::string> out;
    for (int k = 0; k < n; ++k) out.push_back(s.text(k));
    return out;
}
}  // namespace

TEST_CASE("the journal records connections, chunks and http rows", "[unit][journal]") {
    TempDir dir;
    auto file = dir.path / "journal.db";
    {
        Journal j(file);
        auto c = j.begin_case("main", "python3 x.py");
        auto conn = j.open_connection({"api", "tcp", "server", "127.0.0.1:3000", "127.0.0.1:5555"});
        j.chunk(conn, Dir::in, "GET / HTTP/1.1\r\n");
        j.chunk(conn, Dir::in, "\r\n");
        j.chunk(conn, Dir::out, "HTTP/1.1 200 OK\r\n\r\n");
        j.http({{"service", "api"}, {"connection_id", conn}, {"seq", 1}, {"method", "GET"},
                {"target", "/?a=1"}, {"path", "/"}, {"query", {{"a", "1"}}},
                {"req_headers", nlohmann::json::array({{"Host", "x"}})}, {"status", 200}});
        j.close_connection(conn, "client", "fin");
        CaseOutcome o;
        o.exit_code = 0;
        o.out = "hello\n";
        o.out_bytes = 6;
        j.end_case(c, o);
        j.finish("finished");
    }
    JournalReader r(file);
    CHECK(r.meta("schema_version") == "4");
    CHECK(r.meta("status") == "finished");
    REQUIRE(r.cases().size() == 1);
    CHECK(r.cases()[0].out == "hello\n");
    CHECK(r.cases()[0].exit_code == 0);
    REQUIRE(r.connections().size() == 1);
    const auto& c = r.connections()[0];
    CHECK(c.closed_by == "client");
    CHECK(c.close_kind == "fin");
    CHECK(c.bytes_in == 18);
    CHECK(c.bytes_out == 19);
    CHECK(c.case_id == r.cases()[0].id);
    REQUIRE(r.http().size() == 1);
    CHECK(r.http()[0].header("host") == "x");
    CHECK(r.http()[0].query["a"] == "1");
    auto s = r.db().prepare("SELECT group_concat(data, '') FROM chunks WHERE dir = 'in' ORDER BY offset");
    REQUIRE(s.step());
    CHECK(s.text(0) == "GET / HTTP/1.1\r\n\r\n");
}

TEST_CASE("one read or write is one chunk, however many buffers it was given", "[unit][journal]") {
    TempDir dir;
    auto file = dir.path / "journal.db";
    {
        Journal j(file);
        j.begin_case("main", "python3 x.py");
        ConnectionRecord rec(j, {"api", "tcp", "server", "127.0.0.1:3000", "127.0.0.1:5555"});
        std::string head = "HTTP/1.1 200 OK\r\n", field = "Content-Length: 2\r\n", end = "\r\n", body = "{}";
        std::array<boost::asio::const_buffer, 4> pieces{boost::asio::buffer(head), boost::asio::buffer(field),
                                                        boost::asio::buffer(end), boost::asio::buffer(body)};
        rec.record(Dir::out, pieces, head.size() + field.size() + end.size() + body.size());
        // A short write: only what the socket took, here into the second buffer.
        rec.record(Dir::out, pieces, head.size() + 4);
        std::string request = "GET / HTTP/1.1\r\n\r\n";
        rec.record(Dir::in, boost::asio::buffer(request), 5);
        j.finish("finished");
    }
    JournalReader r(file);
    auto s = r.db().prepare("SELECT dir, data FROM chunks ORDER BY id");
    std::vector<std::pair<std::string, std::string>> rows;
    while (s.step()) rows.emplace_back(s.text(0), s.text(1));
    using P = std::pair<std::string, std::string>;
    CHECK(rows == std::vector<P>{P{"out", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"},
                                 P{"out", "HTTP/1.1 200 OK\r\nCont"}, P{"in", "GET /"}});
}

namespace {
using nlohmann::json;
json exchange(std::int64_t conn, int seq, json req, json resp) {
    return {{"service", "api"}, {"connection_id", conn}, {"seq", seq}, {"method", "GET"}, {"target", "/"},
            {"path", "/"},      {"req_headers", std::move(req)},       {"status", 200}, {"resp_headers", std::move(resp)}};
}
std::int64_t count(sql::Db& db, const std::string& q) {
    auto s = db.prepare(q);
    REQUIRE(s.step());
    return s.integer(0);
}
}  // namespace

namespace {
// One HTTP exchange as the http service journals it: the bytes read, the
// bytes written, then the row.
struct Wire {
    std::string method = "GET", target = "/cars/1", version = "1.1";
    HeaderList req = {{"Host", "127.0.0.1:3000"}, {"Accept", "*/*"}};
    std::string req_body;
    int status = 200;
    std::string reason = "OK";
    HeaderList resp = {{"Content-Type", "application/json"}, {"ETag", "W/\"2-x\""}, {"Content-Length", "2"}};
    std::string resp_body = "{}";
    static std::string lines(const HeaderList& l) {
        std::string out;
        for (const auto& [n, v] : l) out += n + ": " + v + "\r\n";
        return out + "\r\n";
    }
    std::string request() const { return method + " " + target + " HTTP/" + version + "\r\n" + lines(req) + req_body; }
    std::string response() const {
        return "HTTP/" + version + " " + std::to_string(status) + " " + reason + "\r\n" + lines(resp) + resp_body;
    }
    // The row; the bytes read and written are recorded by the caller.
    void row(Journal& j, std::int64_t conn, int seq) const {
        HeaderViews rq(req.begin(), req.end()), rs(resp.begin(), resp.end());
        HttpExchange x;
        x.service = "api", x.connection_id = conn, x.seq = seq, x.started_us = j.now();
        x.method = method, x.target = target, x.path = target.substr(0, target.find('?')), x.query = "{}";
        x.version = version, x.req_headers = &rq, x.req_body = req_body;
        x.status = status, x.reason = reason, x.resp_headers = &rs, x.resp_body = resp_body;
        x.ended_us = j.now();
        j.http(std::move(x));
    }
    void exchange(Journal& j, std::int64_t conn, int seq) const {
        j.chunk(conn, Dir::in, request());
        j.chunk(conn, Dir::out, response());
        row(j, conn, seq);
    }
};
std::string bytes_of(sql::Db& db, std::int64_t conn, const char* dir) {
    auto s = db.prepare("SELECT data FROM chunks WHERE connection_id = ? AND dir = ? ORDER BY offset");
    s.bind(1, conn).bind(2, dir);
    std::string out;
    while (s.step()) {
        CHECK(s.type(0) == SQLITE_BLOB);
        out += s.text(0);
    }
    return out;
}
std::int64_t rows_of(sql::Db& db, std::int64_t conn) {
    auto s = db.prepare("SELECT count(*) FROM chunk_rows WHERE connection_id = ?");
    s.bind(1, conn);
    REQUIRE(s.step());
    return s.integer(0);
}
}  // namespace

TEST_CASE("an HTTP exchange's bytes are rebuilt from its row, byte for byte, or stored as they came", "[unit][journal]") {
    TempDir dir;
    auto file = dir.path / "journal.db";
    // What each connection was sent and sent back, and how many chunks
    // had to be stored as rows of their own.
    struct Expect {
        std::int64_t conn;
        std::string in, out;
        std::int64_t raw_rows;
    };
    std::vector<Expect> expect;
    {
        Journal j(file);
        j.begin_case("main", "python3 x.py");
        auto open = [&] {
            auto conn = j.open_connection({"api", "tcp", "server", "127.0.0.1:3000", "127.0.0.1:5555"});
            j.derive_http(conn);
            return conn;
        };
        auto plain = [&](const std::vector<Wire>& ws) {
            auto conn = open();
            Expect e{conn, "", "", 0};
            for (std::size_t k = 0; k < ws.size(); ++k) {
                ws[k].exchange(j, conn, static_cast<int>(k + 1));
                e.in += ws[k].request(), e.out += ws[k].response();
            }
            expect.push_back(e);
        };
        Wire get;
        plain({get, get, get});
        Wire post;
        post.method = "POST", post.target = "/cars?x=1";
        post.req = {{"Host", "h"}, {"Content-Type", "application/json"}, {"Content-Length", "9"}};
        post.req_body = "{\"a\": 1}\n";
        post.status = 201, post.reason = "Created";
        Wire post2 = post;
        post2.resp.push_back({"Location", "http://h/cars/8"});
        post.resp.push_back({"Location", "http://h/cars/7"});
        Wire head = get;
        head.method = "HEAD", head.resp_body.clear();
        Wire old = get;
        old.version = "1.0";
        Wire shared = get;  // a body stored in `bodies`
        shared.resp_body = std::string(3000, 'z');
        Wire binary = post;  // bytes that are not text
        binary.req_body = std::string("\0\xff\x01 x", 5);
        binary.resp_body = std::string("\xc3\x28\0end", 6);
        Wire empty_list = get;
        empty_list.req.clear();
        plain({post, post2, head, old, shared, binary, empty_list});

        // Stored as they came: a value that is not UTF-8 (the list is
        // stored mended), a request read in two, two requests in one read,
        // a response written in pieces, and a read with no exchange after it.
        Wire odd = get;
        odd.req.push_back({"X-Odd", "caf\xe9"});
        plain({odd});
        expect.back().raw_rows = 1;
        {
            auto conn = open();
            std::string r = get.request();
            j.chunk(conn, Dir::in, r.substr(0, 7));
            j.chunk(conn, Dir::in, r.substr(7));
            j.chunk(conn, Dir::out, get.response());
            get.row(j, conn, 1);
            expect.push_back({conn, r, get.response(), 2});
        }
        {
            auto conn = open();
            std::string two = get.request() + get.request();
            j.chunk(conn, Dir::in, two);
            j.chunk(conn, Dir::out, get.response());
            get.row(j, conn, 1);
            j.chunk(conn, Dir::out, get.response());
            get.row(j, conn, 2);
            expect.push_back({conn, two, get.response() + get.response(), 1});
        }
        {
            auto conn = open();
            std::string out = get.response();
            j.chunk(conn, Dir::in, get.request());
            j.chunk(conn, Dir::out, out.substr(0, 20));
            j.chunk(conn, Dir::out, out.substr(20));
            get.row(j, conn, 1);
            expect.push_back({conn, get.request(), out, 2});
        }
        {
            auto conn = open();
            j.chunk(conn, Dir::in, "GET /never");
            j.close_connection(conn, "client", "fin");
            expect.push_back({conn, "GET /never", "", 1});
        }
        {
            // A request held over two ticks goes as it came: a killed run
            // loses at most the last tick.
            auto conn = open();
            j.chunk(conn, Dir::in, get.request());
            j.commit();
            j.commit();
            j.chunk(conn, Dir::out, get.response());
            get.row(j, conn, 1);
            expect.push_back({conn, get.request(), get.response(), 1});
        }
        j.finish("finished");
        CHECK(j.error().empty());
    }
    JournalReader r(file);
    for (const auto& e : expect) {
        INFO("connection " << e.conn);
        CHECK(bytes_of(r.db(), e.conn, "in") == e.in);
        CHECK(bytes_of(r.db(), e.conn, "out") == e.out);
        CHECK(rows_of(r.db(), e.conn) == e.raw_rows);
    }
    // Every chunk has its own id, offsets follow the bytes, and times are
    // on the run's clock.
    CHECK(count(r.db(), "SELECT count(*) - count(DISTINCT id) FROM chunks") == 0);
    CHECK(count(r.db(), "SELECT count(*) FROM chunks a WHERE offset != coalesce((SELECT sum(length(b.data)) FROM "
                        "chunks b WHERE b.connection_id = a.connection_id AND b.dir = a.dir AND b.offset < a.offset), 0)") ==
          0);
    CHECK(count(r.db(), "SELECT count(*) FROM chunks WHERE t_us < 0 OR t_us > (SELECT CAST(value AS INTEGER) FROM meta "
                        "WHERE key = 'ended_us')") == 0);
    // Ten exchanges of plain() and the one written in pieces kept their
    // requests; all but that one their responses.
    CHECK(count(r.db(), "SELECT count(req_chunk_id) FROM http_exchanges") == 11);
    CHECK(count(r.db(), "SELECT count(resp_chunk_id) FROM http_exchanges") == 15);
    // The reader's view of them (the stream checks) reads the same.
    CHECK(r.bytes(expect[1].conn, "in") == expect[1].in);
    CHECK(r.chunk_sizes(expect[0].conn, "out").size() == 3);
}

TEST_CASE("a JSON http row keeps NULL for the columns it does not give, and mends a header that is not UTF-8",
          "[unit][journal]") {
    TempDir dir;
    auto file = dir.path / "journal.db";
    {
        Journal j(file);
        j.begin_case("main", "python3 x.py");
        // As the http client journals an exchange with a learner's server
        // whose answer carried a Latin-1 header, and one it could not make.
        j.http({{"service", "client"}, {"connection_id", 7}, {"seq", 1}, {"method", "GET"}, {"target", "/a?b=1"},
                {"path", "/a"}, {"version", "1.1"}, {"req_headers", json::array({{"Host", "h"}})}, {"status", 200},
                {"reason", "OK"}, {"resp_headers", json::array({{"Content-Disposition", std::string("caf\xe9")}})},
                {"resp_body", "{}"}});
        j.http({{"service", "client"}, {"connection_id", nullptr}, {"seq", 2}, {"method", "GET"}, {"target", "/b"},
                {"error", "connection refused"}});
        j.finish("finished");
        CHECK(j.error().empty());
    }
    JournalReader r(file);
    REQUIRE(r.http().size() == 2);
    CHECK(r.http()[0].response_header("content-disposition") == "caf\xef\xbf\xbd");  // U+FFFD
    CHECK(count(r.db(), "SELECT count(*) FROM http WHERE seq = 1 AND query IS NULL AND req_body IS NULL AND "
                        "connection_id = 7 AND status = 200") == 1);
    CHECK(count(r.db(), "SELECT count(*) FROM http WHERE seq = 2 AND connection_id IS NULL AND status IS NULL AND "
                        "reason IS NULL AND version IS NULL AND resp_headers IS NULL AND resp_body IS NULL AND "
                        "error = 'connection refused' AND target = '/b'") == 1);
}

TEST_CASE("append_json_string writes what nlohmann's dump writes", "[unit][journal]") {
    std::vector<std::string> cases = {"", "plain", "W/\"2-x\"", "back\\slash", "tab\there", std::string("nul\0x", 5),
                                      "caf\xc3\xa9", "bad \xff byte", "\x7f\x01\x1f"};
    std::string all;
    for (int c = 0; c < 128; ++c) all += static_cast<char>(c);
    cases.push_back(all);
    for (const auto& c : cases) {
        std::string out = "[";
        append_json_string(out, c);
        CHECK(out == "[" + json(c).dump(-1, ' ', false, json::error_handler_t::replace));
    }
}


TEST_CASE("a header list that comes back is stored once, and http reads as a table", "[unit][journal]") {
    TempDir dir;
    auto file = dir.path / "journal.db";
    auto req = json::array({{"Host", "127.0.0.1:3000"}, {"Accept", "*/*"}});
    auto resp = [](int n) { return json::array({{"Content-Type", "application/json"}, {"X-N", std::to_string(n)}}); };
    {
        Journal j(file);
        j.begin_case("main", "python3 x.py");
        auto conn = j.open_connection({"api", "tcp", "server", "127.0.0.1:3000", "127.0.0.1:5555"});
        // 1,000 exchanges with the same two lists, 1,000 with 200 response
        // lists in turn, then 600 with 300 lists in turn (more than the
        // writer remembers). The lists may come serialised already, as the
        // http service sends them.
        for (int i = 0; i < 1000; ++i) j.http(exchange(conn, i + 1, req, resp(0).dump()));
        for (int i = 1000; i < 2000; ++i) j.http(exchange(conn, i + 1, req.dump(), resp(i % 200)));
        for (int i = 2000; i < 2600; ++i) j.http(exchange(conn, i + 1, req, resp(1000 + i % 300)));
        // A request that could not be parsed has no header lists at all.
        j.http({{"service", "api"}, {"connection_id", conn}, {"seq", 2601}, {"status", 400}, {"error", "bad"}});
        j.finish("finished");
    }
    JournalReader r(file);
    // The request list and the 200 response lists once each...
    CHECK(count(r.db(), "SELECT count(*) FROM header_lists WHERE id <= (SELECT max(resp_headers_id) FROM "
                        "http_exchanges WHERE seq <= 2000)") == 201);
    // ...and of 300 lists in turn, each at least once and at most once per
    // exchange (with the request list again each time the writer forgets).
    auto later = count(r.db(), "SELECT count(*) FROM header_lists WHERE id > (SELECT max(resp_headers_id) FROM "
                               "http_exchanges WHERE seq <= 2000)");
    CHECK(later >= 300);
    CHECK(later <= 610);
    REQUIRE(r.http().size() == 2601);
    for (int i = 0; i < 2600; ++i) {
        const auto& h = r.http()[static_cast<std::size_t>(i)];
        REQUIRE(h.seq == i + 1);
        CHECK(h.header("accept") == "*/*");
        CHECK(h.response_header("x-n") == std::to_string(i < 1000 ? 0 : i < 2000 ? i % 200 : 1000 + i % 300));
    }
    CHECK(r.http()[2600].error == "bad");
    CHECK(r.http()[2600].resp_headers.list().empty());
    CHECK(count(r.db(), "SELECT count(*) FROM http WHERE req_headers IS NULL AND resp_headers IS NULL") == 1);
    CHECK(count(r.db(), "SELECT count(*) FROM http WHERE json_extract(resp_headers, '$[1][1]') = '7'") == 5);

    // Another tool inserts into the view as into a table: its lists are
    // stored, defaults apply, and a row with one list or none is right too.
    sql::Db w(file);
    w.exec("INSERT INTO http(service, connection_id, seq, method, status, req_headers, resp_headers) VALUES "
           "('api', 1, 3000, 'PUT', 204, '[[\"Host\",\"h\"]]', '[[\"X-New\",\"1\"]]'),"
           "('api', 1, 3001, 'PUT', 204, NULL, '[[\"X-Only\",\"resp\"]]'),"
           "('api', 1, 3002, 'PUT', 204, '[[\"X-Only\",\"req\"]]', NULL),"
           "('api', 1, 3003, 'PUT', 204, NULL, NULL)");
    auto s = w.prepare("SELECT id, req_body_truncated, req_headers, resp_headers FROM http WHERE seq >= 3000 ORDER BY seq");
    std::vector<std::string> got;
    while (s.step()) {
        CHECK(s.integer(1) == 0);
        got.push_back(std::to_string(s.integer(0)) + " " + (s.is_null(2) ? "-" : s.text(2)) + " " +
                      (s.is_null(3) ? "-" : s.text(3)));
    }
    CHECK(got == std::vector<std::string>{R"(2602 [["Host","h"]] [["X-New","1"]])", R"(2603 - [["X-Only","resp"]])",
                                          R"(2604 [["X-Only","req"]] -)", "2605 - -"});
}

TEST_CASE("a new header list stores only the fields not stored before; a value that names one message is kept in the row",
          "[unit][journal]") {
    TempDir dir;
    auto file = dir.path / "journal.db";
    auto req = json::array({{"Host", "127.0.0.1:3000"}, {"Content-Type", "application/json"}});
    // A POST's response: the same fields but its Location, a field twice,
    // and a value that needs escaping.
    auto resp = [](int n) {
        return json::array({{"Content-Type", "application/json"}, {"Set-Cookie", "a=1"},
                            {"Location", "/cars/" + std::to_string(n)}, {"Set-Cookie", "a=1"},
                            {"X-Quote", "say \"hi\"\tnow"}});
    };
    {
        Journal j(file);
        j.begin_case("main", "python3 x.py");
        auto conn = j.open_connection({"api", "tcp", "server", "127.0.0.1:3000", "127.0.0.1:5555"});
        for (int i = 0; i < 5000; ++i) j.http(exchange(conn, i + 1, req, resp(i).dump()));
        j.finish("finished");
    }
    JournalReader r(file);
    // Host, Content-Type (in both lists), Set-Cookie, X-Quote, the first
    // Location, and a Location whose value each row keeps from the second
    // on (it changed from the list before); the request's list, the first
    // response's, and the one of all the others.
    CHECK(count(r.db(), "SELECT count(*) FROM header_fields") == 6);
    CHECK(count(r.db(), "SELECT count(*) FROM header_fields WHERE value IS NULL AND name = 'Location'") == 1);
    CHECK(count(r.db(), "SELECT count(*) FROM header_lists") == 3);
    CHECK(count(r.db(), "SELECT count(*) FROM http_exchanges WHERE resp_values IS NOT NULL") == 4999);
    CHECK(count(r.db(), "SELECT count(*) FROM http_exchanges WHERE req_values IS NOT NULL") == 0);
    REQUIRE(r.http().size() == 5000);
    for (int i : {0, 1, 257, 4097, 4999}) {
        const auto& h = r.http()[static_cast<std::size_t>(i)];
        HeaderList want;
        for (const auto& f : resp(i)) want.emplace_back(f[0].get<std::string>(), f[1].get<std::string>());
        CHECK(h.resp_headers.list() == want);
        CHECK(h.response_header("location") == "/cars/" + std::to_string(i));
        CHECK(h.header("content-type") == "application/json");
        // The view gives back the text as sent.
        auto s = r.db().prepare("SELECT req_headers, resp_headers FROM http WHERE seq = ?");
        s.bind(1, i + 1);
        REQUIRE(s.step());
        CHECK(s.text(0) == req.dump());
        CHECK(s.text(1) == resp(i).dump());
    }
}

TEST_CASE("a body of 256 bytes or more is stored once while the writer remembers it", "[unit][journal]") {
    TempDir dir;
    auto file = dir.path / "journal.db";
    std::string same(1000, 'c'), big((1 << 20) + 10, 'b');
    auto unique = [](int i) { return std::string(300, 'u') + std::to_string(i); };
    {
        Journal j(file);
        j.begin_case("main", "python3 x.py");
        auto conn = j.open_connection({"api", "tcp", "server", "127.0.0.1:3000", "127.0.0.1:5555"});
        const HeaderViews req{{"Host", "h"}}, resp{{"X", "1"}};
        auto ex = [&](int seq, std::string req_body, std::string resp_body) {
            HttpExchange x;
            x.service = "api", x.connection_id = conn, x.seq = seq, x.method = "POST", x.target = x.path = "/cars";
            x.req_headers = &req, x.resp_headers = &resp, x.status = 200;
            x.req_body = std::move(req_body), x.resp_body = std::move(resp_body);
            j.http(std::move(x));
        };
        for (int i = 0; i < 300; ++i) ex(i + 1, "{\"n\": " + std::to_string(i) + "}", same);  // GET /cars again and again
        for (int i = 300; i < 600; ++i) ex(i + 1, unique(i), same);
        ex(601, "", big);  // over the cap: cut, and flagged
        // The same through the JSON form of a row (the http client's).
        j.http(json{{"service", "api"}, {"connection_id", conn}, {"seq", 602}, {"method", "PUT"}, {"target", "/"},
                    {"path", "/"}, {"req_body", same}, {"status", 204}});
        j.finish("finished");
    }
    JournalReader r(file);
    // `same` once, the 300 unique ones, the big one; the small bodies in their rows.
    CHECK(count(r.db(), "SELECT count(*) FROM bodies") == 302);
    CHECK(count(r.db(), "SELECT count(*) FROM http_exchanges WHERE req_body IS NOT NULL AND req_body_id IS NULL") == 301);
    CHECK(count(r.db(), "SELECT count(*) FROM http_exchanges WHERE resp_body_id = (SELECT resp_body_id FROM "
                        "http_exchanges WHERE seq = 1)") == 600);
    REQUIRE(r.http().size() == 602);
    for (int i : {0, 299, 300, 599}) {
        const auto& h = r.http()[static_cast<std::size_t>(i)];
        CHECK(h.resp_body == same);
        CHECK(h.req_body == (i < 300 ? "{\"n\": " + std::to_string(i) + "}" : unique(i)));
    }
    CHECK(r.http()[600].resp_body.size() == (1u << 20));
    CHECK(r.http()[600].req_body.empty());
    CHECK(r.http()[601].req_body == same);
    // The view reads as a table with the bodies in it.
    auto v = r.db().prepare("SELECT length(resp_body), length(req_body), resp_body_truncated FROM http WHERE seq = ?");
    v.bind(1, 601);
    REQUIRE(v.step());
    CHECK(v.integer(0) == (1 << 20));
    CHECK(v.integer(1) == 0);
    CHECK(v.integer(2) == 1);
    CHECK(count(r.db(), "SELECT count(*) FROM http WHERE length(resp_body) = 1000 AND CAST(substr(resp_body, 1, 3) AS TEXT) = 'ccc'") ==
          600);
}

TEST_CASE("a journal of schema 2 (whole header lists) still reads", "[unit][journal]") {
    TempDir dir;
    auto file = dir.path / "journal.db";
    {
        sql::Db w(file);
        w.exec("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
               "INSERT INTO meta VALUES ('schema_version', '2');"
               "CREATE TABLE header_lists(id INTEGER PRIMARY KEY, json TEXT NOT NULL);"
               "CREATE TABLE http_exchanges(id INTEGER PRIMARY KEY, case_id INTEGER, service TEXT NOT NULL, "
               "connection_id INTEGER, seq INTEGER, started_us INTEGER, ended_us INTEGER, method TEXT, target TEXT, "
               "path TEXT, query TEXT, version TEXT, req_headers_id INTEGER, req_body BLOB, "
               "req_body_truncated INTEGER NOT NULL DEFAULT 0, status INTEGER, reason TEXT, resp_headers_id INTEGER, "
               "resp_body BLOB, resp_body_truncated INTEGER NOT NULL DEFAULT 0, error TEXT);"
               "INSERT INTO header_lists VALUES (1, '[[\"Host\",\"a\"]]'), (2, '[[\"Content-Type\",\"text/plain\"]]');"
               "INSERT INTO http_exchanges(service, connection_id, seq, method, target, path, req_headers_id, status, "
               "resp_headers_id) VALUES ('api', 1, 1, 'GET', '/', '/', 1, 200, 2), ('api', 1, 2, 'GET', '/', '/', 1, "
               "200, 2), ('api', 1, 3, NULL, NULL, NULL, NULL, 400, NULL)");
    }
    JournalReader r(file);
    REQUIRE(r.http().size() == 3);
    CHECK(r.http()[1].header("host") == "a");
    CHECK(r.http()[1].response_header("content-type") == "text/plain");
    CHECK(r.http()[0].resp_headers.list() == HeaderList{{"Content-Type", "text/plain"}});
    CHECK(r.http()[2].req_headers.list().empty());
}

TEST_CASE("a journal of schema 1 (http a table of its own) still reads", "[unit][journal]") {
    TempDir dir;
    auto file = dir.path / "journal.db";
    {
        sql::Db w(file);
        w.exec("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
               "INSERT INTO meta VALUES ('schema_version', '1');"
               "CREATE TABLE http(id INTEGER PRIMARY KEY, case_id INTEGER, service TEXT NOT NULL, "
               "connection_id INTEGER, seq INTEGER, started_us INTEGER, ended_us INTEGER, method TEXT, target TEXT, "
               "path TEXT, query TEXT, version TEXT, req_headers TEXT, req_body BLOB, "
               "req_body_truncated INTEGER NOT NULL DEFAULT 0, status INTEGER, reason TEXT, resp_headers TEXT, "
               "resp_body BLOB, resp_body_truncated INTEGER NOT NULL DEFAULT 0, error TEXT);"
               "INSERT INTO http(service, connection_id, seq, started_us, method, target, path, req_headers, status, "
               "resp_headers) VALUES ('api', 1, 1, 10, 'GET', '/', '/', '[[\"Host\",\"a\"]]', 200, "
               "'[[\"Content-Type\",\"text/plain\"]]'), ('api', 1, 2, 20, 'GET', '/', '/', NULL, 400, NULL)");
    }
    JournalReader r(file);
    REQUIRE(r.http().size() == 2);
    CHECK(r.http()[0].header("host") == "a");
    CHECK(r.http()[0].response_header("content-type") == "text/plain");
    CHECK(r.http()[1].req_headers.list().empty());
    CHECK_FALSE(r.http()[1].response_header("content-type"));
}

TEST_CASE("a replica's journal merges with its header lists", "[unit][journal]") {
    TempDir dir;
    auto main_file = dir.path / "journal.db", replica_file = dir.path / "replica.db";
    auto list = [](const std::string& v) { return json::array({{"X-From", v}}); };
    auto origin = std::chrono::steady_clock::now();
    {
        Journal r(replica_file, origin);
        auto conn = r.open_connection({"api", "tcp", "server", "127.0.0.1:3001", "127.0.0.1:5555"});
        auto body = exchange(conn, 1, list("replica req"), list("replica resp"));
        body["resp_body"] = std::string(400, 'r');
        r.http(body);
        r.http(exchange(conn, 2, list("replica req"), list("replica resp 2")));
        r.finish("finished");
    }
    {
        Journal j(main_file, origin);
        j.begin_case("main", "python3 x.py");
        auto conn = j.open_connection({"api", "tcp", "server", "127.0.0.1:3000", "127.0.0.1:5556"});
        auto body = exchange(conn, 1, list("main req"), list("main resp"));
        body["resp_body"] = std::string(400, 'm');
        j.http(body);
        j.merge_replica(replica_file, 1);
        j.http(exchange(conn, 2, list("main req"), list("main resp")));
        j.finish("finished");
        CHECK(j.error().empty());
    }
    JournalReader r(main_file);
    std::vector<std::string> got;
    for (const auto& h : r.http())
        got.push_back(std::to_string(h.connection_id) + " " + *h.header("x-from") + " / " + *h.response_header("x-from"));
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<std::string>{"1 main req / main resp", "1 main req / main resp", "2 replica req / replica resp",
                                          "2 replica req / replica resp 2"});
    std::vector<std::string> bodies;
    for (const auto& h : r.http()) bodies.push_back(h.resp_body.substr(0, 1) + std::to_string(h.resp_body.size()));
    std::sort(bodies.begin(), bodies.end());
    CHECK(bodies == std::vector<std::string>{"0", "0", "m400", "r400"});
    CHECK(count(r.db(), "SELECT count(*) FROM http WHERE resp_body = zeroblob(0) OR resp_body IS NULL") == 2);
    CHECK(count(r.db(), "SELECT count(*) FROM http WHERE CAST(substr(resp_body, 1, 1) AS TEXT) = 'r' AND length(resp_body) = 400") == 1);
    // The view joins the shifted ids too.
    CHECK(count(r.db(), "SELECT count(*) FROM http WHERE json_extract(resp_headers, '$[0][1]') = 'replica resp 2' "
                        "AND json_extract(req_headers, '$[0][1]') = 'replica req'") == 1);
}

TEST_CASE("chunks are capped per direction and flagged truncated", "[unit][journal]") {
    TempDir dir;
    auto file = dir.path / "journal.db";
    {
        Journal j(file);
        j.set_chunk_cap(10);
        auto conn = j.open_connection({"api", "tcp", "server", "", ""});
        j.chunk(conn, Dir::in, "0123456");
        j.chunk(conn, Dir::in, "789abcdef");
        j.chunk(conn, Dir::in, "ghij");
        j.close_connection(conn, "server", "fin");
    }
    JournalReader r(file);
    CHECK(r.connections()[0].bytes_in == 20);
    auto s = r.db().prepare("SELECT group_concat(data, ''), (SELECT in_truncated FROM connections) FROM chunks");
    REQUIRE(s.step());
    CHECK(s.text(0) == "0123456789");
    CHECK(s.integer(1) == 1);
}

TEST_CASE("only flushed writes are visible; an unflushed journal still opens", "[unit][journal]") {
    TempDir dir;
    auto file = dir.path / "journal.db";
    Journal j(file);
    j.event("one", "api", {{"n", 1}});
    j.flush();
    j.event("two", "api", {{"n", 2}});  // in the open transaction
    {
        JournalReader r(file);
        auto s = r.db().prepare("SELECT count(*) FROM events");
        REQUIRE(s.step());
        CHECK(s.integer(0) == 1);
        CHECK(r.meta("status") == "running");
    }
    j.flush();
    JournalReader r(file);
    auto s = r.db().prepare("SELECT count(*) FROM events");
    REQUIRE(s.step());
    CHECK(s.integer(0) == 2);
}

TEST_CASE("a reader refuses a file that is not a journal", "[unit][journal]") {
    TempDir dir;
    CHECK_THROWS_WITH(JournalReader(dir.path / "missing.db"), Catch::Contains("no journal"));
}

TEST_CASE("header columns are read without a JSON tree, escapes and all", "[unit][journal]") {
    using wirelab::parse_header_list;
    nlohmann::json written = nlohmann::json::array(
        {{"Content-Type", "application/json"}, {"X-Quote", "say \"hi\"\\back\tslash/"}, {"X-Unicode", "caf\u00e9 \U0001F600"}});
    auto parsed = parse_header_list(written.dump());  // as the journal writes them
    REQUIRE(parsed.size() == 3);
    CHECK(parsed[1].second == "say \"hi\"\\back\tslash/");
    CHECK(parsed[2].second == "caf\u00e9 \U0001F600");
    auto ascii = parse_header_list(written.dump(-1, ' ', true));  // \u escapes, surrogate pairs
    CHECK(ascii == parsed);
    CHECK(parse_header_list("[]").empty());
    CHECK(parse_header_list(" [ [ \"A\" , \"b\" ] ] ") == wirelab::HeaderList{{"A", "b"}});
    // not the shape wirelab writes: the pairs of strings are kept, the rest skipped
    CHECK(parse_header_list(R"([["A", "b"], ["only one"], 7, ["C", "d"]])") == wirelab::HeaderList{{"A", "b"}, {"C", "d"}});
    CHECK(parse_header_list("not json").empty());
    CHECK(parse_header_list("[[\"unterminated").empty());
}

TEST_CASE("a header is found in the column's text without parsing the list, as the list would find it", "[unit][journal]") {
    nlohmann::json written = nlohmann::json::array(
        {{"Content-Type", "application/json"}, {"X-Quote", "say \"hi\""}, {"content-type", "second"}});
    for (const std::string& text : {written.dump(), written.dump(-1, ' ', true)}) {
        wirelab::LazyHeaders h(text);
        CHECK(h.find("CONTENT-TYPE") == "application/json");  // the first, any case
        CHECK(h.find("x-quote") == "say \"hi\"");
        CHECK_FALSE(h.find("Accept"));
        CHECK(h.list().size() == 3);  // parsed on demand, then found in the list
        CHECK(h.find("Content-Type") == "application/json");
    }
    // Not the shape wirelab writes: the pairs of strings, as parse_header_list keeps them.
    wirelab::LazyHeaders odd(R"([["A", "b"], 7, ["C", "d"]])");
    CHECK(odd.find("c") == "d");
    CHECK_FALSE(wirelab::LazyHeaders("not json").find("A"));
}

TEST_CASE("a burst beyond the writer's queue keeps every row, with the ids handed out", "[unit][journal]") {
    TempDir dir;
    auto file = dir.path / "journal.db";
    const int conns = 300, per_conn = 400;  // 120,000 chunks: the queue holds 4,096
    std::vector<std::int64_t> ids;
    {
        Journal j(file);
        j.begin_case("main", "x");
        for (int c = 0; c < conns; ++c) {
            auto id = j.open_connection({"api", "tcp", "server", "127.0.0.1:1", "127.0.0.1:" + std::to_string(c)});
            ids.push_back(id);
            for (int k = 0; k < per_conn; ++k) j.chunk(id, k % 2 ? Dir::out : Dir::in, "chunk " + std::to_string(k));
            j.http({{"service", "api"}, {"connection_id", id}, {"seq", 1}, {"method", "GET"}, {"path", "/"}, {"status", 200}});
            j.close_connection(id, "client", "fin");
        }
        j.commit();  // not waiting
        j.finish("finished");
        CHECK(j.error().empty());
    }
    JournalReader r(file);
    auto count = [&](const char* sql) {
        auto s = r.db().prepare(sql);
        REQUIRE(s.step());
        return s.integer(0);
    };
    CHECK(count("SELECT count(*) FROM chunks") == conns * per_conn);
    CHECK(count("SELECT count(*) FROM connections WHERE closed_us IS NOT NULL") == conns);
    // Ids come from the journal's counters, not from SQLite after the fact:
    // they must be the rows' own ids, and every http row names its connection.
    CHECK(ids.front() == 1);
    CHECK(ids.back() == conns);
    CHECK(count("SELECT count(*) FROM http h JOIN connections c ON c.id = h.connection_id") == conns);
    CHECK(count("SELECT count(*) FROM chunks k JOIN connections c ON c.id = k.connection_id AND c.peer = "
                "'127.0.0.1:' || (c.id - 1)") == conns * per_conn);
    CHECK(r.meta("status") == "finished");
}

TEST_CASE("a journal deleted under the writer is an error, and later writes do not wait", "[unit][journal]") {
    TempDir dir;
    auto file = dir.path / "journal.db";
    Journal j(file);
    j.event("one", "api", {{"n", 1}});
    j.flush();
    fs::remove(file);
    j.flush();
    CHECK_THAT(j.error(), Catch::Contains("was deleted during the run"));
    for (int i = 0; i < 100000; ++i) j.event("more", "api", {{"n", i}});  // dropped, never blocking
    j.flush();
    CHECK_THAT(j.error(), Catch::Contains("was deleted"));
}

TEST_CASE("an http row made without JSON reads as the same row made from JSON", "[unit][journal]") {
    TempDir dir;
    auto file = dir.path / "journal.db";
    std::string big(Journal(dir.path / "cap.db").body_cap() + 1, 'x');
    {
        Journal j(file);
        auto conn = j.open_connection({"api", "tcp", "server", "127.0.0.1:3000", "127.0.0.1:5555"});
        std::string req = R"([["Host","x"]])", resp = R"([["Content-Type","application/json"],["X","\u00e9"]])";
        j.http({{"service", "api"}, {"connection_id", conn}, {"seq", 1}, {"started_us", 10}, {"ended_us", 20},
                {"method", "POST"}, {"target", "/a?b=1"}, {"path", "/a"}, {"query", {{"b", "1"}}},
                {"version", "1.1"}, {"req_headers", req}, {"req_body", big}, {"req_body_truncated", true},
                {"status", 201}, {"reason", "Created"}, {"resp_headers", resp}, {"resp_body", "{}"},
                {"resp_body_truncated", false}, {"error", "response not delivered: reset"}});
        HttpExchange x;
        HeaderList req_list = parse_header_list(req), resp_list = parse_header_list(resp);
        HeaderViews req_views(req_list.begin(), req_list.end()), resp_views(resp_list.begin(), resp_list.end());
        x.service = "api", x.connection_id = conn, x.seq = 1, x.started_us = 10, x.ended_us = 20;
        x.method = "POST", x.target = "/a?b=1", x.path = "/a", x.query = R"({"b":"1"})", x.version = "1.1";
        x.req_headers = &req_views, x.req_body = big, x.status = 201, x.reason = "Created";
        x.resp_headers = &resp_views, x.resp_body = "{}", x.error = "response not delivered: reset";
        j.http(x);
        x.error.clear();  // no error: NULL, as a JSON row without one
        j.http(x);
        j.finish("finished");
    }
    JournalReader r(file);
    const char* select =
        "SELECT service, connection_id, seq, started_us, ended_us, method, target, path, query, version, "
        "req_headers, length(req_body), req_body_truncated, status, reason, resp_headers, resp_body, "
        "resp_body_truncated, coalesce(error, 'NULL') FROM http WHERE id = ?";
    auto row = [&](int id) { return row_texts(r.db(), select, 19, id); };
    auto json_row = row(1), typed = row(2), no_error = row(3);
    CHECK(typed == json_row);
    CHECK(json_row[11] == std::to_string(big.size() - 1));  // cut at the cap, and flagged
    CHECK(json_row[12] == "1");
    CHECK(no_error[18] == "NULL");
    // The lists are stored once for the three rows.
    auto s = r.db().prepare("SELECT count(*) FROM header_lists");
    REQUIRE(s.step());
    CHECK(s.integer(0) == 2);
}

TEST_CASE("the chunks' index is made at the end of a case, not kept up while traffic flows", "[unit][journal]") {
    TempDir dir;
    auto file = dir.path / "journal.db";
    auto has_index = [&] {
        JournalReader r(file);
        auto s = r.db().prepare("SELECT count(*) FROM sqlite_master WHERE name = 'chunks_by_connection'");
        return s.step() && s.integer(0) == 1;
    };
    Journal j(file);
    auto c = j.begin_case("main", "python3 x.py");
    auto conn = j.open_connection({"api", "tcp", "server", "127.0.0.1:3000", "127.0.0.1:5555"});
    j.chunk(conn, Dir::in, "GET / HTTP/1.1\r\n\r\n");
    j.flush();
    CHECK_FALSE(has_index());
    j.end_case(c, CaseOutcome{});
    j.flush();
    CHECK(has_index());
    j.chunk(conn, Dir::in, "more");  // kept up from now on
    j.finish("finished");
    JournalReader r(file);
    auto s = r.db().prepare(
        "SELECT group_concat(data, '') FROM chunk_rows INDEXED BY chunks_by_connection WHERE connection_id = ? AND "
        "dir = 'in'");
    s.bind(1, conn);
    REQUIRE(s.step());
    CHECK(s.text(0) == "GET / HTTP/1.1\r\n\r\nmore");
}

TEST_CASE("a commands row made without JSON reads as the same row made from JSON", "[unit][journal]") {
    TempDir dir;
    auto file = dir.path / "journal.db";
    std::string odd = std::string("a\"b\\c\n") + "\xff" + "\xc3\xa9";  // escapes, a byte that is not UTF-8, é
    {
        Journal j(file);
        auto conn = j.open_connection({"cache", "tcp", "server", "127.0.0.1:6379", "127.0.0.1:5555"});
        for (bool with_error : {true, false}) {
            json args = json::array({"k", odd});
            json f = {{"service", "cache"}, {"connection_id", conn}, {"seq", 3}, {"db", 2}, {"name", "SET"},
                      {"args", args.dump(-1, ' ', false, json::error_handler_t::replace)}, {"reply", "OK"},
                      {"in_multi", true}};
            if (with_error) f["error"] = "ERR wrong";
            j.command(f);
            CommandEntry c;
            c.service = "cache", c.connection_id = conn, c.seq = 3, c.db = 2, c.name = "SET", c.reply = "OK";
            c.args = "[";
            append_json_string(c.args, "k");
            c.args += ',';
            append_json_string(c.args, odd);
            c.args += ']';
            c.in_multi = true;
            if (with_error) c.error = "ERR wrong";
            j.command(std::move(c));
        }
        j.finish("finished");
    }
    JournalReader r(file);
    const char* select =
        "SELECT service, connection_id, seq, db, name, args, reply, coalesce(error, 'NULL'), in_multi, "
        "t_us > 0 FROM commands WHERE id = ?";
    auto row = [&](int id) { return row_texts(r.db(), select, 10, id); };
    CHECK(row(2) == row(1));
    CHECK(row(4) == row(3));
    CHECK(row(2)[7] == "ERR wrong");
    CHECK(row(4)[7] == "NULL");
    CHECK(row(4)[8] == "1");  // in_multi in its own column when error is left out
    CHECK(row(4)[9] == "1");
    REQUIRE(r.commands().size() == 4);
    std::string replaced = json::parse(json(odd).dump(-1, ' ', false, json::error_handler_t::replace)).get<std::string>();
    CHECK(r.commands()[3].args == std::vector<std::string>{"k", replaced});
}

TEST_CASE("a sql row made without JSON reads as the same row made from JSON", "[unit][journal]") {
    TempDir dir;
    auto file = dir.path / "journal.db";
    {
        Journal j(file);
        auto conn = j.open_connection({"db", "tcp", "server", "127.0.0.1:5432", "127.0.0.1:5555"});
        for (int variant = 0; variant < 3; ++variant) {  // extended and fine, simple and failed, no parameters
            bool ok = variant != 1, sent_apart = variant != 1;
            json f = {{"service", "db"}, {"connection_id", conn}, {"seq", 4}, {"duration_us", 17},
                      {"text", "SELECT $1, $2"}, {"protocol", sent_apart ? "extended" : "simple"}, {"verb", "SELECT"},
                      {"tx_before", "I"}, {"tx_after", ok ? "T" : "E"}};
            StatementEntry e;
            e.service = "db", e.connection_id = conn, e.seq = 4, e.duration_us = 17, e.text = "SELECT $1, $2";
            e.protocol = sent_apart ? "extended" : "simple", e.verb = "SELECT", e.tx_before = "I";
            e.tx_after = ok ? "T" : "E";
            if (sent_apart) {
                json p = variant == 2 ? json::array() : json::array({"O'Brien \"x\"", nullptr});
                f["params"] = p.dump();
                f["parameterised"] = !p.empty();
                e.params = variant == 2 ? "[]" : "[";
                if (variant == 0) append_json_string(*e.params, "O'Brien \"x\""), *e.params += ",null]";
                e.parameterised = variant == 0;
            }
            if (ok) {
                f["tag"] = "SELECT 1", f["rows"] = 1;
                e.tag = "SELECT 1", e.rows = 1;
            } else {
                f["sqlstate"] = "42601", f["error"] = "syntax error";
                e.ok = false, e.sqlstate = "42601", e.error = "syntax error";
            }
            j.statement(f);
            j.statement(std::move(e));
        }
        j.finish("finished");
    }
    JournalReader r(file);
    const char* select =
        "SELECT service, connection_id, seq, duration_us, text, coalesce(params, 'NULL'), parameterised, protocol, "
        "verb, coalesce(tag, 'NULL'), coalesce(rows, 'NULL'), coalesce(sqlstate, 'NULL'), coalesce(error, 'NULL'), "
        "tx_before, tx_after, t_us > 0 FROM sql WHERE id = ?";
    auto row = [&](int id) { return row_texts(r.db(), select, 16, id); };
    for (int id : {1, 3, 5}) CHECK(row(id + 1) == row(id));
    CHECK(row(2)[5] == R"(["O'Brien \"x\"",null])");
    CHECK(row(4)[5] == "NULL");
    CHECK(row(4)[12] == "syntax error");
    CHECK(row(6)[6] == "0");
}
