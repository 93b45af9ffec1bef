// The RESTCONF API without sockets: authentication and media types, GET of
// subtrees, PUT replacing (what the body leaves out is gone), PATCH merging,
// POST creating (409 when it exists), DELETE, the errors a device gives,
// and the CLI seeing what RESTCONF changed.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "services/device/cli.hpp"
#include "services/device/restconf.hpp"

using namespace wirelab::device;
using nlohmann::json;

namespace {

Device make_router() {
    DeviceSpec s;
    s.name = "r1";
    s.config.hostname = "r1";
    for (int i = 1; i <= 3; ++i) {
        Interface f;
        f.name = "GigabitEthernet0/" + std::to_string(i);
        s.config.interfaces.push_back(f);
    }
    s.config.interfaces[0].ip = "10.0.0.1";
    s.config.interfaces[0].mask = "255.255.255.0";
    s.config.interfaces[0].description = "uplink";
    s.config.vlans[1] = "default";
    return Device(s);
}

const std::string kBasic = "Basic YWRtaW46YWRtaW4=";  // admin:admin
const std::string kG1 = "/restconf/data/ietf-interfaces:interfaces/interface=GigabitEthernet0%2F1";

RestconfReply call(Device& d, std::string method, std::string path, std::string body = {},
                   std::string type = "application/yang-data+json") {
    RestconfRequest r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.body = std::move(body);
    r.content_type = r.body.empty() ? "" : std::move(type);
    r.authorization = kBasic;
    return restconf(d, r);
}

std::string tag(const RestconfReply& r) {
    return json::parse(r.body)["ietf-restconf:errors"]["error"][0]["error-tag"].get<std::string>();
}

}  // namespace

TEST_CASE("RESTCONF: authentication, media types and discovery", "[unit][restconf]") {
    Device d = make_router();
    RestconfRequest r;
    r.method = "GET";
    r.path = kG1;
    auto no_auth = restconf(d, r);
    CHECK(no_auth.status == 401);
    CHECK(tag(no_auth) == "access-denied");
    r.authorization = "Basic YWRtaW46d3Jvbmc=";  // admin:wrong
    CHECK(restconf(d, r).status == 401);
    r.authorization = kBasic;
    r.accept = "application/json";
    CHECK(restconf(d, r).status == 406);
    r.accept = "application/yang-data+json, */*";
    CHECK(restconf(d, r).status == 200);

    auto wrong_type = call(d, "PATCH", kG1, R"({"ietf-interfaces:interface": {"description": "x"}})", "application/json");
    CHECK(wrong_type.status == 415);
    CHECK(wrong_type.body.find("application/yang-data+json") != std::string::npos);
    CHECK(d.running.interfaces[0].description == "uplink");

    auto root = call(d, "GET", "/restconf");
    CHECK(json::parse(root.body)["ietf-restconf:restconf"].contains("data"));
    auto meta = call(d, "GET", "/.well-known/host-meta");
    CHECK(meta.body.find("href='/restconf'") != std::string::npos);
}

TEST_CASE("RESTCONF: GET subtrees; a '/' in a key must be %2F", "[unit][restconf]") {
    Device d = make_router();
    auto one = call(d, "GET", kG1);
    REQUIRE(one.status == 200);
    json j = json::parse(one.body)["ietf-interfaces:interface"];
    CHECK(j["description"] == "uplink");
    CHECK(j["enabled"] == true);
    CHECK(j["ietf-ip:ipv4"]["address"][0]["ip"] == "10.0.0.1");
    auto leaf = call(d, "GET", kG1 + "/description");
    CHECK(json::parse(leaf.body)["ietf-interfaces:description"] == "uplink");
    auto all = call(d, "GET", "/restconf/data/ietf-interfaces:interfaces");
    CHECK(json::parse(all.body)["ietf-interfaces:interfaces"]["interface"].size() == 3);

    auto raw = call(d, "GET", "/restconf/data/ietf-interfaces:interfaces/interface=GigabitEthernet0/1");
    CHECK(raw.status == 404);
    CHECK(raw.body.find("%2F") != std::string::npos);
    CHECK(call(d, "GET", "/restconf/data/ietf-interfaces:interfaces/interface=Gi9%2F9").status == 404);
    CHECK(call(d, "GET", "/restconf/data/nothing:here").status == 404);
}

TEST_CASE("RESTCONF: PATCH merges, PUT replaces the subtree", "[unit][restconf]") {
    Device d = make_router();
    auto patch = call(d, "PATCH", kG1, R"({"ietf-interfaces:interface": {"description": "to-core"}})");
    CHECK(patch.status == 204);
    CHECK(d.running.interfaces[0].description == "to-core");
    CHECK(d.running.interfaces[0].ip == "10.0.0.1");  // kept
    REQUIRE(patch.diff.size() == 2);
    CHECK(std::count(patch.diff.begin(), patch.diff.end(), "-  description uplink") == 1);
    CHECK(std::count(patch.diff.begin(), patch.diff.end(), "+  description to-core") == 1);

    auto put = call(d, "PUT", kG1, R"({"ietf-interfaces:interface": {"name": "GigabitEthernet0/1", "description": "only"}})");
    CHECK(put.status == 204);
    CHECK(d.running.interfaces[0].description == "only");
    CHECK(d.running.interfaces[0].ip.empty());  // a PUT replaces: the address is gone

    auto mismatch = call(d, "PUT", kG1, R"({"ietf-interfaces:interface": {"name": "GigabitEthernet0/2"}})");
    CHECK(mismatch.status == 400);
    CHECK(tag(mismatch) == "invalid-value");
    auto unknown = call(d, "PATCH", kG1, R"({"ietf-interfaces:interface": {"colour": "red"}})");
    CHECK(unknown.status == 400);
    CHECK(tag(unknown) == "unknown-element");
    auto typed = call(d, "PATCH", kG1, R"({"ietf-interfaces:interface": {"enabled": "false"}})");
    CHECK(typed.status == 400);
    CHECK(call(d, "PATCH", kG1, "{not json").status == 400);
    auto absent = call(d, "PATCH", "/restconf/data/ietf-interfaces:interfaces/interface=Loopback7",
                       R"({"ietf-interfaces:interface": {"description": "x"}})");
    CHECK(absent.status == 404);
    CHECK(tag(absent) == "data-missing");

    auto addr = call(d, "PUT", kG1 + "/ietf-ip:ipv4",
                     R"({"ietf-ip:ipv4": {"address": [{"ip": "10.9.0.1", "prefix-length": 16}]}})");
    CHECK(addr.status == 201);
    CHECK(d.running.interfaces[0].mask == "255.255.0.0");
    auto second = call(d, "PATCH", kG1 + "/ietf-ip:ipv4",
                       R"({"ietf-ip:ipv4": {"address": [{"ip": "10.8.0.1", "netmask": "255.255.0.0"}]}})");
    CHECK(second.status == 400);  // a second address: PATCH adds to the list
    auto overlap = call(d, "PATCH", "/restconf/data/ietf-interfaces:interfaces/interface=GigabitEthernet0%2F2",
                        R"({"ietf-interfaces:interface": {"ietf-ip:ipv4": {"address": [{"ip": "10.9.5.5", "netmask": "255.255.0.0"}]}}})");
    CHECK(overlap.status == 400);
    INFO(overlap.body);
    CHECK(overlap.body.find("overlaps with GigabitEthernet0/1") != std::string::npos);
    CHECK(d.running.interfaces[1].ip.empty());
}

TEST_CASE("RESTCONF: POST creates, 409 when it exists; DELETE; save", "[unit][restconf]") {
    Device d = make_router();
    const std::string itfs = "/restconf/data/ietf-interfaces:interfaces";
    auto made = call(d, "POST", itfs, R"({"ietf-interfaces:interface": {"name": "Loopback0", "type": "iana-if-type:softwareLoopback"}})");
    CHECK(made.status == 201);
    REQUIRE(made.headers.size() == 1);
    CHECK(made.headers[0].second == itfs + "/interface=Loopback0");
    CHECK(d.running.find("Loopback0") != nullptr);
    auto again = call(d, "POST", itfs, R"({"ietf-interfaces:interface": {"name": "Loopback0"}})");
    CHECK(again.status == 409);
    CHECK(tag(again) == "data-exists");
    CHECK(call(d, "POST", itfs, R"({"ietf-interfaces:interface": {"name": "Tunnel0"}})").status == 400);

    CHECK(call(d, "DELETE", itfs + "/interface=Loopback0").status == 204);
    CHECK(d.running.find("Loopback0") == nullptr);
    CHECK(call(d, "DELETE", itfs + "/interface=Loopback0").status == 404);
    CHECK(call(d, "DELETE", kG1).status == 400);  // a physical port
    CHECK(call(d, "DELETE", kG1 + "/description").status == 204);
    CHECK(d.running.interfaces[0].description.empty());

    auto vlan = call(d, "POST", "/restconf/data/wirelab-vlan:vlans", R"({"wirelab-vlan:vlan": {"id": 10, "name": "users"}})");
    CHECK(vlan.status == 201);
    CHECK(d.running.vlans.at(10) == "users");
    CHECK(call(d, "PATCH", kG1, R"({"ietf-interfaces:interface": {"wirelab-vlan:access-vlan": 10}})").status == 204);
    CHECK(d.running.interfaces[0].access_vlan == 10);
    CHECK(call(d, "PATCH", kG1, R"({"ietf-interfaces:interface": {"wirelab-vlan:access-vlan": 99}})").status == 400);

    CHECK_FALSE(d.saved());
    CHECK(call(d, "GET", "/restconf/operations/cisco-ia:save-config").status == 405);
    auto save = call(d, "POST", "/restconf/operations/cisco-ia:save-config");
    CHECK(save.status == 200);
    CHECK(save.saved);
    CHECK(d.saved());
}

TEST_CASE("RESTCONF and the CLI share one running config", "[unit][restconf]") {
    Device d = make_router();
    call(d, "PATCH", kG1, R"({"ietf-interfaces:interface": {"description": "via-api", "enabled": false}})");
    CliSession cli(d);
    cli.start();
    cli.feed("admin\r\n");
    cli.feed("admin\r\n");
    cli.feed("enable\r\n");
    cli.feed("enable\r\n");
    std::string shown = cli.feed("show running-config\r\n");
    CHECK(shown.find(" description via-api") != std::string::npos);
    CHECK(shown.find(" shutdown") != std::string::npos);
    cli.feed("configure terminal\r\n");
    cli.feed("interface Gi0/2\r\n");
    cli.feed("description via-cli\r\n");
    auto got = call(d, "GET", "/restconf/data/ietf-interfaces:interfaces/interface=GigabitEthernet0%2F2/description");
    CHECK(json::parse(got.body)["ietf-interfaces:description"] == "via-cli");
}
