// The RESP parser and the nosql command engine without sockets: commands
// split across reads, inline commands, protocol errors, replies in RESP2
// and RESP3, expiry on an injected clock, transactions, wrong types.
#include <catch2/catch.hpp>

#include "services/nosql/engine.hpp"
#include "services/nosql/resp.hpp"

using namespace wirelab::resp;

namespace {
Reply run(Engine& e, ClientState& c, std::vector<std::string> args, std::int64_t now = 1000) {
    return e.execute(c, Command{std::move(args)}, now);
}
}  // namespace

TEST_CASE("a command split across reads comes out whole, once", "[unit][resp]") {
    Parser p;
    std::string wire = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n*1\r\n$4\r\nPING\r\n";
    std::vector<Command> got;
    for (char ch : wire)
        for (auto& c : p.feed(std::string_view(&ch, 1))) got.push_back(c);
    REQUIRE(got.size() == 2);
    CHECK(got[0].args == std::vector<std::string>{"SET", "key", "va\r\nl"});  // binary-safe
    CHECK(got[1].args == std::vector<std::string>{"PING"});
    CHECK(!p.fatal());
    CHECK(p.pending() == 0);
}

TEST_CASE("inline commands as telnet and redis-cli send them", "[unit][resp]") {
    Parser p;
    auto got = p.feed("SET greeting \"hello world\\n\" \r\nGET 'it\\'s'\r\n\r\n");
    REQUIRE(got.size() == 2);
    CHECK(got[0].args == std::vector<std::string>{"SET", "greeting", "hello world\n"});
    CHECK(got[1].args == std::vector<std::string>{"GET", "it's"});
    Parser hex;
    auto h = hex.feed("SET k \"\\x41\\xZZ\\x4\"\r\n");
    REQUIRE(h.size() == 1);
    CHECK(h[0].args[2] == "AxZZx4");  // \x needs two hex digits, as in Redis
    Parser bad;
    bad.feed("SET \"unterminated\r\n");
    CHECK(bad.fatal());
    CHECK_THAT(bad.error(), Catch::Contains("unbalanced quotes"));
}

TEST_CASE("junk lengths are protocol errors, never a huge allocation", "[unit][resp]") {
    for (std::string junk : {"*x\r\n", "*2\r\n$999999999999\r\n", "*1\r\n+PING\r\n", "*1\r\n$4\r\nPINGxx"}) {
        Parser p(1 << 20);
        p.feed(junk);
        if (junk == "*1\r\n$4\r\nPINGxx") {
            CHECK(p.fatal());
            CHECK_THAT(p.error(), Catch::Contains("\\r\\n"));
        } else {
            CHECK(p.fatal());
            CHECK_THAT(p.error(), Catch::StartsWith("Protocol error"));
        }
    }
}

TEST_CASE("replies in RESP2 and RESP3", "[unit][resp]") {
    CHECK(Reply::ok().encode(2) == "+OK\r\n");
    CHECK(Reply::nil().encode(2) == "$-1\r\n");
    CHECK(Reply::nil().encode(3) == "_\r\n");
    CHECK(Reply::bulk("hi").encode(2) == "$2\r\nhi\r\n");
    auto m = Reply::map({Reply::bulk("a"), Reply::bulk("1")});
    CHECK(m.encode(2) == "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    CHECK(m.encode(3) == "%1\r\n$1\r\na\r\n$1\r\n1\r\n");
    CHECK(Reply::set({Reply::bulk("x")}).encode(3) == "~1\r\n$1\r\nx\r\n");
    CHECK(Reply::err("ERR x").encode(3) == "-ERR x\r\n");
}

TEST_CASE("strings expire on the engine's clock", "[unit][resp]") {
    Engine e;
    ClientState c;
    CHECK(run(e, c, {"SET", "k", "v", "EX", "10"}, 1000).str == "OK");
    CHECK(run(e, c, {"TTL", "k"}, 1000).num == 10);
    CHECK(run(e, c, {"PTTL", "k"}, 5000).num == 6000);
    CHECK(run(e, c, {"GET", "k"}, 10999).str == "v");
    CHECK(run(e, c, {"GET", "k"}, 11000).type == Reply::Type::null);
    CHECK(run(e, c, {"TTL", "k"}, 11000).num == -2);
    run(e, c, {"SET", "p", "v"});
    CHECK(run(e, c, {"TTL", "p"}).num == -1);
    CHECK(run(e, c, {"SET", "p", "w", "NX"}).type == Reply::Type::null);
    CHECK(run(e, c, {"SET", "q", "w", "XX"}).type == Reply::Type::null);
    CHECK(run(e, c, {"SET", "k", "v", "EX", "0"}).str == "ERR invalid expire time in 'set' command");
    CHECK(run(e, c, {"SETEX", "s", "5", "v"}, 0).str == "OK");
    CHECK(run(e, c, {"TTL", "s"}, 0).num == 5);
}

TEST_CASE("counters, wrong types and errors in Redis's words", "[unit][resp]") {
    Engine e;
    ClientState c;
    CHECK(run(e, c, {"INCR", "n"}).num == 1);
    CHECK(run(e, c, {"INCRBY", "n", "41"}).num == 42);
    run(e, c, {"SET", "s", "abc"});
    CHECK(run(e, c, {"INCR", "s"}).str == "ERR value is not an integer or out of range");
    run(e, c, {"RPUSH", "l", "a", "b"});
    CHECK(run(e, c, {"GET", "l"}).str == "WRONGTYPE Operation against a key holding the wrong kind of value");
    CHECK(run(e, c, {"GET"}).str == "ERR wrong number of arguments for 'get' command");
    CHECK_THAT(run(e, c, {"FROB", "x"}).str, Catch::StartsWith("ERR unknown command 'FROB'"));
    CHECK(run(e, c, {"TYPE", "l"}).str == "list");
}

TEST_CASE("hashes, lists and sets", "[unit][resp]") {
    Engine e;
    ClientState c;
    CHECK(run(e, c, {"HSET", "h", "a", "1", "b", "2"}).num == 2);
    CHECK(run(e, c, {"HGET", "h", "b"}).str == "2");
    CHECK(run(e, c, {"HGETALL", "h"}).items.size() == 4);
    CHECK(run(e, c, {"HDEL", "h", "a", "b"}).num == 2);
    CHECK(run(e, c, {"EXISTS", "h"}).num == 0);  // an empty hash is gone
    CHECK(run(e, c, {"LPUSH", "l", "a", "b"}).num == 2);
    auto r = run(e, c, {"LRANGE", "l", "0", "-1"});
    REQUIRE(r.items.size() == 2);
    CHECK(r.items[0].str == "b");
    CHECK(run(e, c, {"RPOP", "l"}).str == "a");
    CHECK(run(e, c, {"SADD", "s", "x", "y", "x"}).num == 2);
    CHECK(run(e, c, {"SCARD", "s"}).num == 2);
    CHECK(run(e, c, {"SISMEMBER", "s", "z"}).num == 0);
}

TEST_CASE("MULTI queues and EXEC runs; an error while queueing aborts", "[unit][resp]") {
    Engine e;
    ClientState c;
    CHECK(run(e, c, {"MULTI"}).str == "OK");
    CHECK(run(e, c, {"SET", "a", "1"}).str == "QUEUED");
    CHECK(run(e, c, {"INCR", "a"}).str == "QUEUED");
    auto r = run(e, c, {"EXEC"});
    REQUIRE(r.items.size() == 2);
    CHECK(r.items[1].num == 2);
    CHECK(run(e, c, {"EXEC"}).str == "ERR EXEC without MULTI");
    run(e, c, {"MULTI"});
    CHECK(run(e, c, {"WATCH", "a"}).is_error());
    CHECK_THAT(run(e, c, {"EXEC"}).str, Catch::StartsWith("EXECABORT"));
}

TEST_CASE("KEYS and SCAN with patterns; databases are separate", "[unit][resp]") {
    Engine e;
    ClientState c;
    for (auto k : {"product:1", "product:2", "user:1", "product:10"}) run(e, c, {"SET", k, "v"});
    CHECK(run(e, c, {"KEYS", "product:?"}).items.size() == 2);
    CHECK(run(e, c, {"KEYS", "product:*"}).items.size() == 3);
    CHECK(run(e, c, {"KEYS", "[pu]*:1"}).items.size() == 2);
    std::size_t seen = 0;
    std::string cursor = "0";
    do {
        auto r = run(e, c, {"SCAN", cursor, "MATCH", "product:*", "COUNT", "1"});
        cursor = r.items[0].str;
        seen += r.items[1].items.size();
    } while (cursor != "0");
    CHECK(seen == 3);
    CHECK(run(e, c, {"SELECT", "1"}).str == "OK");
    CHECK(run(e, c, {"DBSIZE"}).num == 0);
    CHECK(run(e, c, {"SELECT", "16"}).str == "ERR DB index is out of range");
}

TEST_CASE("HELLO switches the protocol and names the client", "[unit][resp]") {
    Engine e;
    ClientState c;
    auto r = run(e, c, {"HELLO", "3", "SETNAME", "me"});
    CHECK(r.type == Reply::Type::map);
    CHECK(c.protocol == 3);
    CHECK(run(e, c, {"CLIENT", "GETNAME"}).str == "me");
    CHECK_THAT(run(e, c, {"HELLO", "4"}).str, Catch::StartsWith("NOPROTO"));
    CHECK(glob_match("a\\*b", "a*b"));
    CHECK(!glob_match("a[^b]c", "abc"));
}
