// The PostgreSQL protocol and the SQL layer without sockets: message
// framing byte by byte, junk lengths, statement splitting around quotes and
// comments, PostgreSQL → SQLite translation, and a session's results,
// tags, transaction states and SQLSTATE codes on an in-memory database.
#include <catch2/catch.hpp>

#include "services/sql/pg_sql.hpp"
#include "services/sql/pg_wire.hpp"

using namespace wirelab::pg;

namespace {
std::string startup(const std::string& user) {
    Out o('\0');
    std::string body = std::string("user\0", 5) + user + std::string("\0database\0wirelab\0\0", 19);
    std::string len;
    auto n = static_cast<std::uint32_t>(body.size() + 8);
    for (int s = 24; s >= 0; s -= 8) len += static_cast<char>((n >> s) & 0xff);
    return len + std::string("\x00\x03\x00\x00", 4) + body;
}
}  // namespace

TEST_CASE("the startup packet, then typed messages, fed a byte at a time", "[unit][pg]") {
    Reader r;
    std::string wire = startup("ada") + Out('Q').cstr("SELECT 1").str() + Out('X').str();
    std::vector<Message> got;
    for (char ch : wire)
        for (auto& m : r.feed(std::string_view(&ch, 1))) got.push_back(m);
    REQUIRE(got.size() == 3);
    CHECK(got[0].code == kProtocol3);
    CHECK(startup_params(got[0].body).at("user") == "ada");
    CHECK(got[1].type == 'Q');
    CHECK(Fields(got[1].body).cstr() == "SELECT 1");
    CHECK(got[2].type == 'X');
}

TEST_CASE("an SSL request comes before the startup packet", "[unit][pg]") {
    Reader r;
    std::string ssl("\x00\x00\x00\x08\x04\xd2\x16\x2f", 8);
    auto got = r.feed(ssl + startup("bob"));
    REQUIRE(got.size() == 2);
    CHECK(got[0].code == kSslRequest);
    CHECK(got[1].code == kProtocol3);
}

TEST_CASE("impossible lengths are fatal", "[unit][pg]") {
    Reader r(1 << 20);
    r.feed(std::string("\x00\x00\x00\x02", 4));
    CHECK(r.fatal());
    Reader typed(1 << 20);
    typed.feed(startup("x"));
    typed.feed(std::string("Q\x7f\xff\xff\xff", 5));
    CHECK(typed.fatal());
    // a startup packet PostgreSQL would refuse is refused at once, not awaited
    Reader big(1 << 30);
    big.feed(std::string("\x01\xab\xdc\xb5\x00\x03\x00\x00", 8));
    CHECK(big.fatal());
}

TEST_CASE("md5 passwords as libpq computes them", "[unit][pg]") {
    // md5(md5("secret" + "learner") + salt), salt = "abcd"
    auto p = md5_password("learner", "secret", "abcd");
    CHECK(p.size() == 35);
    CHECK(p.rfind("md5", 0) == 0);
    CHECK(p == md5_password("learner", "secret", "abcd"));
    CHECK(p != md5_password("learner", "secret", "abce"));
}

TEST_CASE("statements split at top-level semicolons only", "[unit][pg]") {
    auto s = split_statements("SELECT 'a;b'; SELECT \"x;y\" FROM t -- c;d\n; ;SELECT $$ ; $$; /* ; */");
    REQUIRE(s.size() == 3);
    CHECK(s[0] == "SELECT 'a;b'");
    CHECK(s[2] == "SELECT $$ ; $$");
    CHECK(split_statements("  ;  -- nothing\n").empty());
    CHECK(first_word("  -- c\n  select 1") == "SELECT");
    CHECK(first_word("(SELECT 1)") == "SELECT");
}

TEST_CASE("PostgreSQL spellings become SQLite", "[unit][pg]") {
    CHECK(translate("SELECT $1, $12") == "SELECT ?1, ?12");
    CHECK(translate("SELECT '5'::int, x::double precision, y::varchar(20), z::text[]") == "SELECT '5', x, y, z");
    CHECK(translate("CREATE TABLE t (id SERIAL PRIMARY KEY)") == "CREATE TABLE t (id INTEGER PRIMARY KEY)");
    CHECK(translate("select pg_catalog.version()") == "select version()");
    CHECK(translate("SELECT * FROM public.t WHERE a ILIKE 'x'") == "SELECT * FROM t WHERE a LIKE 'x'");
    CHECK(translate("SELECT '$1 :: text'") == "SELECT '$1 :: text'");  // quoted stays
}

TEST_CASE("a session's results, tags and transaction states", "[unit][pg]") {
    Session s(":memory:");
    CHECK(s.run("CREATE TABLE t (id SERIAL PRIMARY KEY, name VARCHAR(10) NOT NULL UNIQUE, ok BOOLEAN)").tag ==
          "CREATE TABLE");
    auto ins = s.run("INSERT INTO t (name, ok) VALUES ($1, $2) RETURNING id", {std::string("a"), std::string("1")});
    CHECK(ins.tag == "INSERT 0 1");
    REQUIRE(ins.rows.size() == 1);
    CHECK(*ins.rows[0][0] == "1");
    auto sel = s.run("SELECT id, name, ok, count(*) FROM t");
    CHECK(sel.tag == "SELECT 1");
    CHECK(sel.columns[0].type_oid == 23);
    CHECK(sel.columns[1].type_oid == 1043);
    CHECK(sel.columns[2].type_oid == 16);
    CHECK(*sel.rows[0][2] == "t");
    CHECK(sel.columns[3].type_oid == 20);
    CHECK(sel.columns[3].name == "count");  // as PostgreSQL names it
    CHECK(s.run("SELECT 1 + 1").columns[0].name == "?column?");
    CHECK(s.run("SELECT 1 AS two").columns[0].name == "two");
    CHECK(s.status() == 'I');
    CHECK(s.run("BEGIN").tag == "BEGIN");
    CHECK(s.status() == 'T');
    auto dup = s.run("INSERT INTO t (name) VALUES ('a')");
    CHECK(dup.sqlstate == "23505");
    CHECK(s.status() == 'E');
    CHECK(s.run("SELECT 1").sqlstate == "25P02");
    CHECK(s.run("COMMIT").tag == "ROLLBACK");  // a failed transaction commits nothing
    CHECK(s.status() == 'I');
    CHECK(s.run("UPDATE t SET ok = false").tag == "UPDATE 1");
    CHECK(s.run("DELETE FROM t WHERE id = 99").tag == "DELETE 0");
    CHECK(s.run("SELECT * FROM nope").sqlstate == "42P01");
    CHECK(s.run("SELECT nope FROM t").sqlstate == "42703");
    CHECK(s.run("SELEC 1").sqlstate == "42601");
    CHECK(s.run("INSERT INTO t (ok) VALUES (true)").sqlstate == "23502");
    auto show = s.run("SHOW server_version");
    CHECK(*show.rows[0][0] == "15.0");
    CHECK(s.run("SET application_name = 'me'").tag == "SET");
    CHECK(*s.run("SHOW application_name").rows[0][0] == "me");
    CHECK(s.run("SHOW nonsense").sqlstate == "42704");
    CHECK(s.run("SELECT relname FROM pg_class WHERE relname = 't'").rows.size() == 1);
}
