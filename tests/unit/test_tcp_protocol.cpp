// The tcp service's protocols without sockets: splitting streams into lines
// and frames however the bytes are cut, and the dialogue rules.
#include <catch2/catch.hpp>

#include "services/tcp/protocol.hpp"

using namespace wirelab;
using namespace wirelab::tcp_proto;

namespace {

Dialogue dialogue(const std::string& spec_json, Kind kind) {
    auto doc = JsonDoc::parse(spec_json, "lab.json");
    Spec s(doc, doc->root(), "", "service");
    Dialogue d(s, kind);
    s.finish();
    return d;
}

std::string dialogue_error(const std::string& spec_json, Kind kind) {
    try {
        dialogue(spec_json, kind);
    } catch (const LabError& e) {
        return e.what();
    }
    FAIL("no LabError for " << spec_json);
    return {};
}

}  // namespace

TEST_CASE("lines are split however the bytes arrive", "[unit][tcp]") {
    const std::string stream = "HELLO\r\nADD 1 2\nQUIT\r\n";
    for (std::size_t cut = 1; cut <= stream.size(); ++cut) {
        LineSplitter s(1024, false);
        std::vector<std::string> got;
        for (std::size_t i = 0; i < stream.size(); i += cut)
            for (auto& m : s.feed(std::string_view(stream).substr(i, cut))) got.push_back(m.data);
        CHECK(got == std::vector<std::string>{"HELLO", "ADD 1 2", "QUIT"});
        CHECK(s.pending().empty());
    }
}

TEST_CASE("a bare LF is flagged when CRLF is wanted; long lines are fatal", "[unit][tcp]") {
    LineSplitter crlf(1024, true);
    auto m = crlf.feed("ok\r\nbare\n");
    REQUIRE(m.size() == 2);
    CHECK(m[0].error.empty());
    CHECK_THAT(m[1].error, Catch::Contains("bare LF"));

    LineSplitter small(8, false);
    auto big = small.feed("0123456789abc");
    REQUIRE(big.size() == 1);
    CHECK_THAT(big[0].error, Catch::Contains("still no newline"));
    CHECK(small.fatal());
    CHECK(small.feed("more\n").empty());
}

TEST_CASE("frames are split however the bytes arrive, two in one read too", "[unit][tcp]") {
    std::string stream = encode_frame(R"({"op":"find","brand":"Citroën"})") + encode_frame("[1,2]");
    for (std::size_t cut = 1; cut <= stream.size(); ++cut) {
        FrameSplitter s(1 << 20);
        std::vector<nlohmann::json> got;
        for (std::size_t i = 0; i < stream.size(); i += cut)
            for (auto& m : s.feed(std::string_view(stream).substr(i, cut))) {
                REQUIRE(m.error.empty());
                got.push_back(*m.json);
            }
        REQUIRE(got.size() == 2);
        CHECK(got[0]["brand"] == "Citroën");
        CHECK(got[1] == nlohmann::json::array({1, 2}));
    }
}

TEST_CASE("a length counted in characters, a huge length, junk bytes", "[unit][tcp]") {
    // len("Citroën") is 7 characters but 8 bytes: the payload is cut short.
    std::string text = R"({"brand":"Citroën"})";
    std::string wrong_len;
    std::uint32_t chars = 0;
    for (unsigned char c : text) chars += (c & 0xc0) != 0x80;
    wrong_len = encode_frame(text).substr(4);
    std::string hdr = {0, 0, 0, static_cast<char>(chars)};
    FrameSplitter s(1 << 20);
    auto m = s.feed(hdr + wrong_len);
    REQUIRE(!m.empty());
    CHECK_THAT(m[0].error, Catch::Contains("count bytes"));

    FrameSplitter little(1 << 20);
    auto le = little.feed(std::string("\x10\x00\x00\x00{}", 6));  // little-endian 16
    REQUIRE(le.size() == 1);
    CHECK_THAT(le[0].error, Catch::Contains("big-endian"));
    CHECK(little.fatal());

    CHECK(valid_utf8("Citroën"));
    CHECK_FALSE(valid_utf8("\xff\xfe"));
    CHECK_FALSE(valid_utf8("abc\xc3"));
    FrameSplitter junk(1 << 20);
    auto j = junk.feed(encode_frame("\xff\xfe"));
    REQUIRE(j.size() == 1);
    CHECK_THAT(j[0].error, Catch::Contains("UTF-8"));
}

TEST_CASE("line rules answer with captures, in order, otherwise", "[unit][tcp]") {
    auto d = dialogue(R"({"rules": [
        {"expect": "^HELLO (\\w+)$", "respond": "HI $1"},
        {"expect": "^LIST$", "respond": ["ONE", "TWO", "END"]},
        {"expect": "^QUIT$", "respond": "BYE", "close": true}],
      "otherwise": {"respond": "ERR what is '$0'?"}})", Kind::lines);
    Message m;
    m.data = "HELLO ada";
    CHECK(d.answer(m).messages == std::vector<std::string>{"HI ada"});
    m.data = "LIST";
    CHECK(d.answer(m).messages.size() == 3);
    m.data = "QUIT";
    CHECK(d.answer(m).close);
    m.data = "DANCE";
    auto r = d.answer(m);
    CHECK(r.messages == std::vector<std::string>{"ERR what is 'DANCE'?"});
    CHECK(r.rule == -1);
}

TEST_CASE("frame rules match a JSON subset and substitute fields", "[unit][tcp]") {
    auto d = dialogue(R"({"rules": [
        {"expect": {"op": "find", "brand": "Citroën"}, "respond_each": [{"results": 1}, {"model": "DS", "asked": "$.brand"}]},
        {"expect": {"op": "echo"}, "respond": {"echo": "$"}}]})", Kind::frames);
    Message m;
    m.json = nlohmann::json{{"op", "find"}, {"brand", "Citroën"}};
    auto r = d.answer(m);
    REQUIRE(r.messages.size() == 2);
    CHECK(nlohmann::json::parse(r.messages[1])["asked"] == "Citroën");
    m.json = nlohmann::json{{"op", "echo"}, {"x", 1}};
    CHECK(nlohmann::json::parse(d.answer(m).messages[0])["echo"]["x"] == 1);
    m.json = nlohmann::json{{"op", "dance"}};
    CHECK(nlohmann::json::parse(d.answer(m).messages[0]) == nlohmann::json{{"error", "unknown request"}});
    Message bad;
    bad.error = "the payload is not valid JSON";
    CHECK_THAT(d.answer(bad).messages[0], Catch::Contains("not valid JSON"));
}

TEST_CASE("dialogue mistakes are named", "[unit][tcp]") {
    CHECK_THAT(dialogue_error(R"({"rules": [{"respond": "x"}]})", Kind::lines), Catch::Contains("needs \"expect\""));
    CHECK_THAT(dialogue_error(R"({"rules": [{"expect": "(", "respond": "x"}]})", Kind::lines),
               Catch::Contains("invalid regular expression"));
    CHECK_THAT(dialogue_error(R"({"rules": [{"expect": "x", "respond": 5}]})", Kind::lines),
               Catch::Contains("a string or a list of strings"));
    CHECK_THAT(dialogue_error(R"({"rules": [{"expect": {}, "respond": 1, "respond_each": [1]}]})", Kind::frames),
               Catch::Contains("not both"));
    CHECK_THAT(dialogue_error(R"({"rules": [{"expect": "x", "respnd": "y"}]})", Kind::lines),
               Catch::Contains("did you mean \"respond\""));
}
