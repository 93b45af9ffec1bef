// json-server 0.17 semantics without sockets: what GET/POST/PUT/PATCH/DELETE
// answer and how the collection changes.
#include <catch2/catch.hpp>

#include "services/http/doc_state.hpp"
#include "services/http/json_store.hpp"

#include <unistd.h>

#include <filesystem>

using namespace wirelab::http;

namespace {

ojson cars() {
    return ojson::parse(R"({"cars": [
      {"id": 1, "brand": "Ford", "model": "Mustang", "production_year": 1972, "convertible": false},
      {"id": 2, "brand": "Chevrolet", "model": "Camaro", "production_year": 1988, "convertible": true},
      {"id": 3, "brand": "Aston Martin", "model": "Rapide", "production_year": 2010, "convertible": false},
      {"id": 4, "brand": "Maserati", "model": "Mexico", "production_year": 1970, "convertible": false},
      {"id": 5, "brand": "Nissan", "model": "Fairlady", "production_year": 1974, "convertible": false},
      {"id": 6, "brand": "Mercedes Benz", "model": "300SL", "production_year": 1957, "convertible": true}
    ], "profile": {"name": "typicode"}})");
}

StoreResponse call(JsonStore& s, const std::string& method, const std::string& target,
                   const std::string& body = {}, const std::string& ct = "application/json") {
    StoreRequest r;
    r.method = method;
    r.target = target;
    auto q = target.find('?');
    r.path = percent_decode(target.substr(0, q), false);
    if (q != std::string::npos) r.query = parse_query(target.substr(q + 1));
    r.body = body;
    r.content_type = body.empty() ? "" : ct;
    r.base_url = "http://localhost:3000";
    return s.handle(r);
}

std::vector<long long> ids(const StoreResponse& r) {
    std::vector<long long> out;
    for (const auto& x : ojson::parse(r.body)) out.push_back(x["id"].get<long long>());
    return out;
}

std::string header(const StoreResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers)
        if (k == name) return v;
    return "<none>";
}

}  // namespace

TEST_CASE("GET a collection and an item", "[unit][http]") {
    JsonStore s(cars());
    auto all = call(s, "GET", "/cars");
    CHECK(all.status == 200);
    CHECK(ids(all) == std::vector<long long>{1, 2, 3, 4, 5, 6});
    auto one = call(s, "GET", "/cars/3");
    CHECK(one.status == 200);
    CHECK(ojson::parse(one.body)["model"] == "Rapide");
    CHECK(call(s, "GET", "/cars/99").status == 404);
    CHECK(call(s, "GET", "/cars/99").body == "{}");
    CHECK(call(s, "GET", "/trucks").status == 404);
    CHECK(call(s, "GET", "/CARS/").status == 200);  // Express: case-insensitive, trailing slash
}

TEST_CASE("bodies are pretty-printed like JSON.stringify(v, null, 2)", "[unit][http]") {
    JsonStore s(cars());
    auto r = call(s, "GET", "/cars/1");
    CHECK(r.body ==
          "{\n  \"id\": 1,\n  \"brand\": \"Ford\",\n  \"model\": \"Mustang\",\n  \"production_year\": "
          "1972,\n  \"convertible\": false\n}");
}

TEST_CASE("field filters compare as strings, repeated keys are OR, _ne is AND", "[unit][http]") {
    JsonStore s(cars());
    CHECK(ids(call(s, "GET", "/cars?brand=Ford")) == std::vector<long long>{1});
    CHECK(ids(call(s, "GET", "/cars?production_year=1972")) == std::vector<long long>{1});
    CHECK(ids(call(s, "GET", "/cars?convertible=true")) == std::vector<long long>{2, 6});
    CHECK(ids(call(s, "GET", "/cars?id=1&id=2")) == std::vector<long long>{1, 2});
    CHECK(ids(call(s, "GET", "/cars?id_ne=1&id_ne=2")) == std::vector<long long>{3, 4, 5, 6});
    CHECK(ids(call(s, "GET", "/cars?brand=ford")).empty());  // case-sensitive
    // A key no item has is dropped, not an empty result.
    CHECK(ids(call(s, "GET", "/cars?colour=red")).size() == 6);
}

TEST_CASE("range and like operators", "[unit][http]") {
    JsonStore s(cars());
    CHECK(ids(call(s, "GET", "/cars?production_year_gte=1974")) == std::vector<long long>{2, 3, 5});
    CHECK(ids(call(s, "GET", "/cars?production_year_lte=1970")) == std::vector<long long>{4, 6});
    CHECK(ids(call(s, "GET", "/cars?production_year_gte=1970&production_year_lte=1972")) ==
          std::vector<long long>{1, 4});
    CHECK(ids(call(s, "GET", "/cars?model_like=^m")) == std::vector<long long>{1, 4});  // /i
    CHECK(ids(call(s, "GET", "/cars?brand_like=an")) == std::vector<long long>{5});
}

TEST_CASE("_sort and _order, one or several fields, stable", "[unit][http]") {
    JsonStore s(cars());
    CHECK(ids(call(s, "GET", "/cars?_sort=production_year&_order=desc")) ==
          std::vector<long long>{3, 2, 5, 1, 4, 6});
    CHECK(ids(call(s, "GET", "/cars?_sort=production_year")) == std::vector<long long>{6, 4, 1, 5, 2, 3});
    CHECK(ids(call(s, "GET", "/cars?_sort=convertible,production_year&_order=desc,asc")) ==
          std::vector<long long>{6, 2, 4, 1, 5, 3});
    CHECK(ids(call(s, "GET", "/cars?_sort=brand")) == std::vector<long long>{3, 2, 1, 4, 6, 5});
    CHECK(ids(call(s, "GET", "/cars?_sort=production_year&_order=DESC")) ==
          std::vector<long long>{3, 2, 5, 1, 4, 6});
}

TEST_CASE("pagination: _page/_limit with X-Total-Count and Link", "[unit][http]") {
    JsonStore s(cars());
    auto p2 = call(s, "GET", "/cars?_page=2&_limit=2");
    CHECK(ids(p2) == std::vector<long long>{3, 4});
    CHECK(header(p2, "X-Total-Count") == "6");
    CHECK(header(p2, "Access-Control-Expose-Headers") == "X-Total-Count, Link");
    CHECK(header(p2, "Link") ==
          "<http://localhost:3000/cars?_page=1&_limit=2>; rel=\"first\", "
          "<http://localhost:3000/cars?_page=1&_limit=2>; rel=\"prev\", "
          "<http://localhost:3000/cars?_page=3&_limit=2>; rel=\"next\", "
          "<http://localhost:3000/cars?_page=3&_limit=2>; rel=\"last\"");
    CHECK(ids(call(s, "GET", "/cars?_page=1")).size() == 6);  // default limit 10
    auto sl = call(s, "GET", "/cars?_start=1&_end=3");
    CHECK(ids(sl) == std::vector<long long>{2, 3});
    CHECK(header(sl, "X-Total-Count") == "6");
    CHECK(header(sl, "Access-Control-Expose-Headers") == "X-Total-Count");
    CHECK(ids(call(s, "GET", "/cars?_start=2&_limit=2")) == std::vector<long long>{3, 4});
    CHECK(header(call(s, "GET", "/cars"), "X-Total-Count") == "<none>");
}

TEST_CASE("q searches every field, case-insensitively", "[unit][http]") {
    JsonStore s(cars());
    CHECK(ids(call(s, "GET", "/cars?q=FORD")) == std::vector<long long>{1});
    CHECK(ids(call(s, "GET", "/cars?q=197")) == std::vector<long long>{1, 4, 5});
}

TEST_CASE("POST assigns the next id, answers 201 with Location", "[unit][http]") {
    JsonStore s(cars());
    auto r = call(s, "POST", "/cars", R"({"brand": "Volvo", "model": "P1800"})");
    CHECK(r.status == 201);
    CHECK(ojson::parse(r.body)["id"] == 7);
    CHECK(header(r, "Location") == "http://localhost:3000/cars/7");
    // id goes last when the body had none, as JavaScript appends it.
    CHECK(r.body.rfind("\"id\": 7") > r.body.find("P1800"));
    CHECK(s.take_dirty() == std::set<std::string>{"cars"});
    auto dup = call(s, "POST", "/cars", R"({"id": 7, "brand": "Saab"})");
    CHECK(dup.status == 500);
    auto str = call(s, "POST", "/cars", R"({"id": "abc"})");
    CHECK(str.status == 201);
}

TEST_CASE("a body without Content-Type: application/json is not parsed", "[unit][http]") {
    JsonStore s(cars());
    auto r = call(s, "POST", "/cars", R"({"id": 7, "brand": "Volvo"})", "");
    CHECK(r.status == 201);
    CHECK(ojson::parse(r.body) == ojson::parse(R"({"id": 7})"));
    auto form = call(s, "POST", "/cars", "brand=Volvo&production_year=1961",
                     "application/x-www-form-urlencoded");
    CHECK(ojson::parse(form.body)["production_year"] == "1961");  // a string
    auto bad = call(s, "POST", "/cars", "{not json", "application/json");
    CHECK(bad.status == 400);
}

TEST_CASE("PUT replaces and keeps the id, PATCH merges, DELETE answers {}", "[unit][http]") {
    JsonStore s(cars());
    auto put = call(s, "PUT", "/cars/6", R"({"id": 6, "brand": "Mercedes Benz", "model": "300SL Roadster"})");
    CHECK(put.status == 200);
    CHECK(ojson::parse(put.body) == ojson::parse(R"({"id": 6, "brand": "Mercedes Benz", "model": "300SL Roadster"})"));
    auto put_other = call(s, "PUT", "/cars/5", R"({"id": 50, "brand": "X"})");
    CHECK(ojson::parse(put_other.body)["id"] == 5);
    CHECK(call(s, "PUT", "/cars/99", R"({"a": 1})").status == 404);
    CHECK(call(s, "PUT", "/cars", R"({"id": 6})").status == 404);
    auto patch = call(s, "PATCH", "/cars/2", R"({"convertible": false})");
    CHECK(ojson::parse(patch.body)["model"] == "Camaro");
    CHECK(ojson::parse(patch.body)["convertible"] == false);
    auto del = call(s, "DELETE", "/cars/1");
    CHECK(del.status == 200);
    CHECK(del.body == "{}");
    CHECK(call(s, "DELETE", "/cars/1").status == 404);
    CHECK(call(s, "GET", "/cars/1").status == 404);
}

TEST_CASE("numbers keep JavaScript's look: 1961.0 is 1961", "[unit][http]") {
    JsonStore s(cars());
    auto r = call(s, "POST", "/cars", R"({"production_year": 1961.0, "price": 2.5})");
    auto body = ojson::parse(r.body);
    CHECK(body["production_year"].is_number_integer());
    CHECK(r.body.find("\"price\": 2.5") != std::string::npos);
}

TEST_CASE("singular resources, /db, nested routes and dependents", "[unit][http]") {
    ojson db = ojson::parse(R"({"posts": [{"id": 1, "title": "a"}, {"id": 2, "title": "b"}],
                                "comments": [{"id": 1, "postId": 1}, {"id": 2, "postId": 2}],
                                "profile": {"name": "x"}})");
    JsonStore s(db);
    CHECK(ojson::parse(call(s, "GET", "/profile").body)["name"] == "x");
    CHECK(ojson::parse(call(s, "PATCH", "/profile", R"({"age": 3})").body)["age"] == 3);
    CHECK(ojson::parse(call(s, "GET", "/db").body).contains("comments"));
    auto nested = ojson::parse(call(s, "GET", "/posts/1/comments").body);
    REQUIRE(nested.size() == 1);
    CHECK(nested[0]["id"] == 1);
    call(s, "DELETE", "/posts/1");
    auto left = ojson::parse(call(s, "GET", "/comments").body);
    REQUIRE(left.size() == 1);
    CHECK(left[0]["postId"] == 2);
}

TEST_CASE("js_string follows JavaScript's String()", "[unit][http]") {
    CHECK(js_string(ojson(1972)) == "1972");
    CHECK(js_string(ojson(true)) == "true");
    CHECK(js_string(ojson(2.5)) == "2.5");
    CHECK(js_string(ojson::parse("[1,null,\"a\"]")) == "1,,a");
    CHECK(js_string(ojson::object()) == "[object Object]");
}

TEST_CASE("query strings decode + and %XX", "[unit][http]") {
    auto q = parse_query("brand=Aston+Martin&model=R%61pide&flag");
    REQUIRE(q.size() == 3);
    CHECK(q[0].second == "Aston Martin");
    CHECK(q[1].second == "Rapide");
    CHECK(q[2].first == "flag");
    CHECK(q[2].second.empty());
}

TEST_CASE("POST ids come from an index that follows every change", "[unit][http]") {
    JsonStore s(cars());
    CHECK(ojson::parse(call(s, "POST", "/cars", R"({"brand": "A"})").body)["id"] == 7);
    // a PATCH that changes an id, a DELETE of the largest: the next id follows
    CHECK(call(s, "PATCH", "/cars/7", R"({"id": 40})").status == 200);
    CHECK(ojson::parse(call(s, "POST", "/cars", R"({"brand": "B"})").body)["id"] == 41);
    CHECK(call(s, "POST", "/cars", R"({"id": 40})").status == 500);  // still taken
    CHECK(call(s, "DELETE", "/cars/41").status == 200);
    CHECK(ojson::parse(call(s, "POST", "/cars", R"({"brand": "C"})").body)["id"] == 41);
    CHECK(call(s, "POST", "/cars", R"({"id": "x"})").status == 201);
    CHECK(call(s, "POST", "/cars", R"({"id": "x"})").status == 500);
    auto changes = s.take_changes();
    REQUIRE(changes.count("cars"));
    CHECK(changes["cars"].all);  // the DELETE shifted the rest
    call(s, "POST", "/cars", R"({"brand": "D"})");
    call(s, "PUT", "/cars/2", R"({"brand": "E"})");
    changes = s.take_changes();
    CHECK_FALSE(changes["cars"].all);
    CHECK(changes["cars"].at == std::set<std::size_t>{1, s.db()["cars"].size() - 1});
}

TEST_CASE("the state file written change by change equals one written whole", "[unit][http]") {
    namespace fs = std::filesystem;
    fs::path dir = fs::temp_directory_path() / ("wirelab-docstate-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    JsonStore s(cars());
    {
        DocState by_change(dir / "a.db");
        by_change.write(s.db(), std::set<std::string>{});
        call(s, "POST", "/cars", R"({"brand": "Volvo", "colour": "red"})");  // a new column
        by_change.write(s.db(), s.take_changes());
        call(s, "PUT", "/cars/3", R"({"brand": "Saab"})");
        call(s, "POST", "/cars", R"({"brand": "Fiat"})");
        by_change.write(s.db(), s.take_changes());
        call(s, "DELETE", "/cars/1");
        call(s, "POST", "/cars", R"({"brand": "Lada"})");
        by_change.write(s.db(), s.take_changes());
        DocState whole(dir / "b.db");
        whole.write(s.db(), std::set<std::string>{});
    }
    auto rows = [&](const char* file) {
        wirelab::sql::Db db(dir / file, wirelab::sql::Db::Mode::read_only);
        std::vector<std::string> out;
        auto q = db.prepare("SELECT pos || ' ' || coalesce(id, '-') || ' ' || doc FROM _docs ORDER BY collection, pos");
        while (q.step()) out.push_back(q.text(0));
        auto v = db.prepare("SELECT brand, colour FROM cars WHERE colour IS NOT NULL");
        while (v.step()) out.push_back("view: " + v.text(0) + " " + v.text(1));
        return out;
    };
    CHECK(rows("a.db") == rows("b.db"));
    CHECK(rows("a.db").back() == "view: Volvo red");
    fs::remove_all(dir);
}
