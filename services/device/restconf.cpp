#include "services/device/restconf.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

#include "runtime/text.hpp"
#include "services/http/json_store.hpp"

namespace wirelab::device {

namespace {

using ojson = nlohmann::ordered_json;
constexpr const char* kYang = "application/yang-data+json";

/// JSON text; bytes that are not UTF-8 (a path may carry any) become U+FFFD.
std::string text(const ojson& j, int indent = 2) { return j.dump(indent, ' ', false, ojson::error_handler_t::replace); }

/// One node of the (small) YANG schema the device implements.
struct Node {
    std::string name, module;
    enum Kind { container, list, leaf } kind = leaf;
    std::string key;  // a list's key leaf
    std::vector<Node> children;
};

Node leaf(const char* name, const char* module) { return Node{name, module, Node::leaf, "", {}}; }

const Node& schema() {
    static const Node root = [] {
        Node address{"address", "ietf-ip", Node::list, "ip",
                     {leaf("ip", "ietf-ip"), leaf("netmask", "ietf-ip"), leaf("prefix-length", "ietf-ip")}};
        Node ipv4{"ipv4", "ietf-ip", Node::container, "", {address}};
        Node itf{"interface", "ietf-interfaces", Node::list, "name",
                 {leaf("name", "ietf-interfaces"), leaf("description", "ietf-interfaces"), leaf("type", "ietf-interfaces"),
                  leaf("enabled", "ietf-interfaces"), ipv4, leaf("access-vlan", "wirelab-vlan")}};
        Node itfs{"interfaces", "ietf-interfaces", Node::container, "", {itf}};
        Node system{"system", "ietf-system", Node::container, "", {leaf("hostname", "ietf-system")}};
        Node vlan{"vlan", "wirelab-vlan", Node::list, "id", {leaf("id", "wirelab-vlan"), leaf("name", "wirelab-vlan")}};
        Node vlans{"vlans", "wirelab-vlan", Node::container, "", {vlan}};
        return Node{"", "", Node::container, "", {itfs, system, vlans}};
    }();
    return root;
}

/// The member name RFC 7951 gives `n` under a parent of module `parent`.
std::string member(const Node& n, const std::string& parent) { return n.module == parent ? n.name : n.module + ":" + n.name; }

/// The child of `parent` called `name` ("module:name" or "name").
const Node* find_child(const Node& parent, const std::string& name) {
    auto colon = name.find(':');
    std::string local = colon == std::string::npos ? name : name.substr(colon + 1);
    std::string module = colon == std::string::npos ? "" : name.substr(0, colon);
    for (const auto& c : parent.children)
        if (c.name == local && (module.empty() || module == c.module)) return &c;
    return nullptr;
}

/// A refusal: status, RFC 8040 error-tag, where and what.
struct Refusal {
    int status;
    std::string tag, path, message;
};

RestconfReply error_reply(const Refusal& r) {
    RestconfReply out;
    out.status = r.status;
    out.error_tag = r.tag;
    ojson e = {{"error-type", r.status == 401 ? "protocol" : "application"}, {"error-tag", r.tag}};
    if (!r.path.empty()) e["error-path"] = r.path;
    e["error-message"] = r.message;
    out.headers.push_back({"Content-Type", kYang});
    out.body = text(ojson{{"ietf-restconf:errors", {{"error", ojson::array({e})}}}});
    return out;
}

std::string key_text(const ojson& v) { return v.is_string() ? v.get<std::string>() : text(v, -1); }

std::string percent_encode(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            char b[4];
            std::snprintf(b, sizeof b, "%%%02X", c);
            out += b;
        }
    }
    return out;
}

bool is_loopback(const std::string& name) { return name.rfind("Loopback", 0) == 0; }

std::string mask_of(int bits) {
    std::uint32_t m = bits == 0 ? 0 : bits == 32 ? 0xffffffffu : ~((1u << (32 - bits)) - 1);
    return std::to_string(m >> 24) + "." + std::to_string((m >> 16) & 255) + "." + std::to_string((m >> 8) & 255) +
           "." + std::to_string(m & 255);
}

ojson to_tree(const Config& c) {
    ojson itfs = ojson::array();
    for (const auto& f : c.interfaces) {
        ojson e = {{"name", f.name}};
        if (!f.description.empty()) e["description"] = f.description;
        e["type"] = is_loopback(f.name) ? "iana-if-type:softwareLoopback" : "iana-if-type:ethernetCsmacd";
        e["enabled"] = !f.shutdown;
        if (!f.ip.empty()) e["ietf-ip:ipv4"] = {{"address", ojson::array({{{"ip", f.ip}, {"netmask", f.mask}}})}};
        if (f.access_vlan != 1) e["wirelab-vlan:access-vlan"] = f.access_vlan;
        itfs.push_back(std::move(e));
    }
    ojson vlans = ojson::array();
    for (const auto& [id, name] : c.vlans) vlans.push_back({{"id", id}, {"name", name}});
    return {{"ietf-interfaces:interfaces", {{"interface", itfs}}},
            {"ietf-system:system", {{"hostname", c.hostname}}},
            {"wirelab-vlan:vlans", {{"vlan", vlans}}}};
}

/// `value` (the data of node `n` from a request body) with its member
/// names in canonical form; refuses members the schema does not have.
ojson canonical(const Node& n, const ojson& value, const std::string& where, bool entry = false) {
    if (n.kind == Node::leaf) return value;
    if (n.kind == Node::list && !entry) {
        ojson list = ojson::array();
        if (value.is_object()) list.push_back(canonical(n, value, where, true));
        else if (value.is_array())
            for (const auto& e : value) list.push_back(canonical(n, e, where, true));
        else throw Refusal{400, "invalid-value", where, "\"" + n.name + "\" is a list: an array of objects"};
        return list;
    }
    if (!value.is_object())
        throw Refusal{400, "invalid-value", where, "\"" + n.name + "\" is " + (entry ? "a list entry" : "a container") +
                                                       ": a JSON object"};
    ojson out = ojson::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
        const Node* c = find_child(n, it.key());
        if (!c)
            throw Refusal{400, "unknown-element", where + "/" + it.key(),
                          "\"" + it.key() + "\" is not part of " + (n.name.empty() ? "the datastore" : n.name)};
        out[member(*c, n.module)] = canonical(*c, it.value(), where + "/" + it.key());
    }
    return out;
}

/// Merges `src` into `dst`, both data of node `n` (lists by their keys).
void merge(const Node& n, ojson& dst, const ojson& src, bool entry = false) {
    if (n.kind == Node::leaf) {
        dst = src;
        return;
    }
    if (n.kind == Node::list && !entry) {
        if (!dst.is_array()) dst = ojson::array();
        for (const auto& e : src) {
            auto same = std::find_if(dst.begin(), dst.end(), [&](const ojson& d) {
                return e.contains(n.key) && d.contains(n.key) && key_text(d[n.key]) == key_text(e[n.key]);
            });
            if (same == dst.end()) dst.push_back(e);
            else merge(n, *same, e, true);
        }
        return;
    }
    if (!dst.is_object()) dst = ojson::object();
    for (auto it = src.begin(); it != src.end(); ++it) merge(*find_child(n, it.key()), dst[it.key()], it.value());
}

/// The config the tree describes; `physical` are the device's own ports.
Config from_tree(const ojson& t, const Config& before, const std::vector<std::string>& physical) {
    Config c;
    auto sys = t.find("ietf-system:system");
    c.hostname = "Switch";
    if (sys != t.end() && sys->contains("hostname")) {
        const ojson& h = (*sys)["hostname"];
        static const std::regex host_re("[A-Za-z][A-Za-z0-9-]{0,62}");
        if (!h.is_string() || !std::regex_match(h.get<std::string>(), host_re))
            throw Refusal{400, "invalid-value", "/ietf-system:system/hostname",
                          "a hostname starts with a letter and has letters, digits and - (at most 63)"};
        c.hostname = h.get<std::string>();
    }
    c.vlans[1] = "default";
    auto vl = t.find("wirelab-vlan:vlans");
    if (vl != t.end() && vl->contains("vlan")) {
        for (const auto& v : (*vl)["vlan"]) {
            std::string where = "/wirelab-vlan:vlans/vlan";
            if (!v.contains("id") || !v["id"].is_number_integer() || v["id"].get<long long>() < 1 ||
                v["id"].get<long long>() > 4094)
                throw Refusal{400, "invalid-value", where, "a vlan's \"id\" is a number from 1 to 4094"};
            int id = v["id"].get<int>();
            where += "=" + std::to_string(id);
            std::string name = id == 1 ? "default" : default_vlan_name(id);
            if (v.contains("name")) {
                if (!v["name"].is_string() || v["name"].get<std::string>().empty() || v["name"].get<std::string>().size() > 32)
                    throw Refusal{400, "invalid-value", where + "/name", "a vlan's name is a string of 1 to 32 characters"};
                name = v["name"].get<std::string>();
            }
            if (id == 1 && name != "default")
                throw Refusal{400, "invalid-value", where + "/name", "the default VLAN 1 cannot be renamed"};
            c.vlans[id] = name;
        }
    }
    std::map<std::string, Interface> given;
    std::vector<std::string> order;
    auto itf = t.find("ietf-interfaces:interfaces");
    if (itf != t.end() && itf->contains("interface")) {
        for (const auto& e : (*itf)["interface"]) {
            std::string where = "/ietf-interfaces:interfaces/interface";
            if (!e.contains("name") || !e["name"].is_string())
                throw Refusal{400, "missing-element", where, "an interface entry needs its \"name\""};
            Interface f;
            f.name = e["name"].get<std::string>();
            where += "=" + percent_encode(f.name);
            bool phys = std::find(physical.begin(), physical.end(), f.name) != physical.end();
            static const std::regex lo_re("Loopback[0-9]{1,4}");
            if (!phys && !std::regex_match(f.name, lo_re))
                throw Refusal{400, "invalid-value", where,
                              "no interface \"" + f.name + "\" on this device; the ports are " + physical.front() +
                                  " … " + physical.back() + ", and loopbacks (Loopback0 …) may be created"};
            if (given.count(f.name)) throw Refusal{400, "invalid-value", where, f.name + " is listed twice"};
            if (e.contains("type")) {
                std::string want = phys ? "iana-if-type:ethernetCsmacd" : "iana-if-type:softwareLoopback";
                if (!e["type"].is_string() || (e["type"].get<std::string>() != want &&
                                               "iana-if-type:" + e["type"].get<std::string>() != want))
                    throw Refusal{400, "invalid-value", where + "/type", f.name + " is of type " + want};
            }
            if (e.contains("description")) {
                if (!e["description"].is_string() || e["description"].get<std::string>().size() > 240)
                    throw Refusal{400, "invalid-value", where + "/description", "a description is a string of at most 240 characters"};
                f.description = e["description"].get<std::string>();
            }
            if (e.contains("enabled")) {
                if (!e["enabled"].is_boolean())
                    throw Refusal{400, "invalid-value", where + "/enabled", "\"enabled\" is true or false (not a string)"};
                f.shutdown = !e["enabled"].get<bool>();
            }
            if (e.contains("ietf-ip:ipv4") && e["ietf-ip:ipv4"].contains("address")) {
                const ojson& list = e["ietf-ip:ipv4"]["address"];
                if (list.size() > 1)
                    throw Refusal{400, "invalid-value", where + "/ietf-ip:ipv4/address",
                                  "this device holds one IPv4 address per interface: to change it, PUT the "
                                  "interface's ietf-ip:ipv4 (PATCH adds to the list), or DELETE the old address first"};
                for (const auto& a : list) {
                    if (!a.contains("ip") || !a["ip"].is_string())
                        throw Refusal{400, "missing-element", where + "/ietf-ip:ipv4/address", "an address needs its \"ip\""};
                    f.ip = a["ip"].get<std::string>();
                    if (a.contains("netmask") && a["netmask"].is_string()) f.mask = a["netmask"].get<std::string>();
                    else if (a.contains("prefix-length") && a["prefix-length"].is_number_integer() &&
                             a["prefix-length"].get<int>() >= 1 && a["prefix-length"].get<int>() <= 32)
                        f.mask = mask_of(a["prefix-length"].get<int>());
                    else
                        throw Refusal{400, "missing-element", where + "/ietf-ip:ipv4/address=" + f.ip,
                                      "an address needs \"netmask\" (\"255.255.255.0\") or \"prefix-length\" (24)"};
                }
            }
            if (e.contains("wirelab-vlan:access-vlan")) {
                const ojson& v = e["wirelab-vlan:access-vlan"];
                if (!v.is_number_integer() || !c.vlans.count(v.get<int>()))
                    throw Refusal{400, "invalid-value", where + "/wirelab-vlan:access-vlan",
                                  "the access VLAN must be one the device has (create it under wirelab-vlan:vlans first)"};
                f.access_vlan = v.get<int>();
                if (f.access_vlan != 1) f.mode = "access";
            }
            order.push_back(f.name);
            given[f.name] = f;
        }
    }
    // The ports stay (what the tree leaves out is back to its defaults), in
    // the device's order; then the loopbacks, old ones first.
    for (const auto& p : physical) {
        Interface f;
        f.name = p;
        if (auto g = given.find(p); g != given.end()) f = g->second;
        if (const Interface* old = before.find(p); old && old->mode == "trunk" && f.access_vlan == 1)
            f.mode = "trunk";  // trunking is not in this model: it stays as it was
        c.interfaces.push_back(f);
    }
    for (const auto& old : before.interfaces)
        if (is_loopback(old.name) && given.count(old.name)) c.interfaces.push_back(given[old.name]);
    for (const auto& n : order)
        if (is_loopback(n) && !before.find(n)) c.interfaces.push_back(given[n]);
    for (const auto& f : c.interfaces) {
        const Interface* was = before.find(f.name);
        if (f.ip.empty() || (was && was->ip == f.ip && was->mask == f.mask)) continue;  // only new addresses
        if (auto problem = address_problem(c, f.name, f.ip, f.mask); !problem.empty())
                throw Refusal{400, "invalid-value", "/ietf-interfaces:interfaces/interface=" + percent_encode(f.name) +
                                                        "/ietf-ip:ipv4",
                              f.name + ": " + (problem.rfind("% ", 0) == 0 ? problem.substr(2) : problem)};
    }
    return c;
}

struct Step {
    const Node* node;
    bool has_key = false;
    std::string key;
    std::string segment;  // as sent
};

/// The steps of a data path (after "/restconf/data").
std::vector<Step> parse_path(const std::string& rest) {
    std::vector<Step> steps;
    const Node* at = &schema();
    std::string done = "/restconf/data";
    std::size_t i = 0;
    while (i < rest.size()) {
        if (rest[i] == '/') {
            ++i;
            continue;
        }
        auto slash = rest.find('/', i);
        std::string seg = rest.substr(i, slash == std::string::npos ? std::string::npos : slash - i);
        i = slash == std::string::npos ? rest.size() : slash;
        auto eq = seg.find('=');
        std::string name = http::percent_decode(seg.substr(0, eq), false);
        if (at->kind == Node::leaf)
            throw Refusal{404, "invalid-value", done, "\"" + at->name + "\" is a leaf: there is nothing under it"};
        const Node* n = find_child(*at, name);
        if (!n) {
            std::string hint;
            if (at->kind == Node::list && steps.size() && steps.back().has_key)
                hint = " (a '/' inside a key is sent as %2F: " + at->name + "=" +
                       percent_encode(steps.back().key + "/" + name) + ")";
            throw Refusal{404, "invalid-value", done + "/" + seg,
                          "no resource \"" + name + "\" under " + (at->name.empty() ? "the datastore" : at->name) + hint};
        }
        Step s{n, eq != std::string::npos, eq == std::string::npos ? "" : http::percent_decode(seg.substr(eq + 1), false), seg};
        if (s.has_key && n->kind != Node::list)
            throw Refusal{400, "invalid-value", done + "/" + seg, "\"" + n->name + "\" is not a list: it takes no =key"};
        if (n->kind == Node::list && !s.has_key && i < rest.size() && rest.find_first_not_of('/', i) != std::string::npos)
            throw Refusal{400, "invalid-value", done + "/" + seg,
                          "name the entry of list \"" + n->name + "\": " + n->name + "=<" + n->key + ">"};
        done += "/" + seg;
        steps.push_back(s);
        at = n;
    }
    return steps;
}

/// Where a path points in the tree.
struct Target {
    ojson* value = nullptr;     // the data, nullptr when it does not exist
    ojson* parent = nullptr;    // the object (or list array) that holds it, when that exists
    const Node* node = nullptr; // the schema node (nullptr: the datastore)
    std::string member;         // its member name in the parent
};

Target locate(ojson& tree, const std::vector<Step>& steps) {
    Target t;
    t.value = &tree;
    const Node* parent = &schema();
    for (const auto& s : steps) {
        ojson* cur = t.value;
        t.parent = cur;
        t.node = s.node;
        t.member = member(*s.node, parent->module);
        parent = s.node;
        if (!cur || !cur->is_object() || !cur->contains(t.member)) {
            if (!cur || !cur->is_object()) t.parent = nullptr;
            t.value = nullptr;
            continue;
        }
        ojson* v = &(*cur)[t.member];
        if (s.node->kind == Node::list && s.has_key) {
            t.parent = v;
            auto e = std::find_if(v->begin(), v->end(), [&](const ojson& x) {
                return x.contains(s.node->key) && key_text(x[s.node->key]) == s.key;
            });
            t.value = e == v->end() ? nullptr : &*e;
        } else {
            t.value = v;
        }
    }
    return t;
}

/// The value a body gives for `step` (the body's single member), canonical.
ojson body_value(const std::string& body, const Step& step, const std::string& where) {
    ojson doc;
    try {
        doc = ojson::parse(body);
    } catch (const std::exception& e) {
        throw Refusal{400, "malformed-message", where, std::string("the body is not JSON: ") + e.what()};
    }
    if (!doc.is_object() || doc.size() != 1)
        throw Refusal{400, "malformed-message", where,
                      "the body is one JSON object with one member, the resource's name: {\"" + step.node->module + ":" +
                          step.node->name + "\": …}"};
    std::string name = doc.begin().key();
    auto colon = name.find(':');
    std::string local = colon == std::string::npos ? name : name.substr(colon + 1);
    if (local != step.node->name || (colon != std::string::npos && name.substr(0, colon) != step.node->module))
        throw Refusal{400, "unknown-element", where,
                      "the body names \"" + name + "\" but the URL is for \"" + step.node->module + ":" +
                          step.node->name + "\""};
    const ojson& v = doc.begin().value();
    if (step.node->kind == Node::list && step.has_key) {
        const ojson* entry = &v;
        if (v.is_array()) {
            if (v.size() != 1)
                throw Refusal{400, "invalid-value", where, "the URL names one entry: the body holds exactly that one"};
            entry = &v[0];
        }
        ojson e = canonical(*step.node, *entry, where, true);
        const std::string& k = step.node->key;
        if (e.contains(k) && key_text(e[k]) != step.key)
            throw Refusal{400, "invalid-value", where,
                          "the key in the body (" + key_text(e[k]) + ") is not the one in the URL (" + step.key + ")"};
        if (!e.contains(k)) {
            ojson with = {{k, nullptr}};
            if (step.node->key == "id") {
                try {
                    with[k] = std::stoi(step.key);
                } catch (...) {
                    with[k] = step.key;
                }
            } else {
                with[k] = step.key;
            }
            with.update(e);
            e = with;
        }
        return e;
    }
    return canonical(*step.node, v, where);
}

std::string path_of(const std::vector<Step>& steps, std::size_t n) {
    std::string p = "/restconf/data";
    for (std::size_t i = 0; i < n && i < steps.size(); ++i) p += "/" + steps[i].segment;
    return p;
}

bool media_is(const std::string& header, const std::string& type) {
    std::string h = header.substr(0, header.find(';'));
    while (!h.empty() && h.back() == ' ') h.pop_back();
    for (auto& ch : h) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return h == type;
}

bool accepts_yang(const std::string& accept) {
    if (accept.empty()) return true;
    std::string a = accept;
    for (auto& ch : a) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return a.find(kYang) != std::string::npos || a.find("*/*") != std::string::npos ||
           a.find("application/*") != std::string::npos;
}

RestconfReply data_reply(int status, const ojson& body) {
    RestconfReply r;
    r.status = status;
    r.headers.push_back({"Content-Type", kYang});
    r.body = text(body);
    return r;
}

RestconfReply handle(Device& d, const RestconfRequest& req) {
    const std::string& m = req.method;
    std::string auth = req.authorization;
    bool authorised = false;
    if (auth.size() > 6 && (auth.rfind("Basic ", 0) == 0 || auth.rfind("basic ", 0) == 0))
        authorised = constant_time_equal(base64_decode(auth.substr(6)), d.spec.username + ":" + d.spec.password);
    if (!authorised) {
        auto r = error_reply({401, "access-denied", "",
                              auth.empty() ? "RESTCONF needs HTTP Basic authentication (the device's username and password)"
                                           : "the username or password is wrong"});
        r.headers.push_back({"WWW-Authenticate", "Basic realm=\"restconf\""});
        return r;
    }
    if (!accepts_yang(req.accept))
        return error_reply({406, "invalid-value", "",
                            "this device answers application/yang-data+json; Accept: " + req.accept + " cannot be served"});
    if (m == "OPTIONS") {
        RestconfReply r;
        r.status = 200;
        r.headers.push_back({"Allow", "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"});
        r.headers.push_back({"Accept-Patch", kYang});
        return r;
    }
    const std::string& p = req.path;
    if (p == "/.well-known/host-meta" && (m == "GET" || m == "HEAD")) {
        RestconfReply r;
        r.headers.push_back({"Content-Type", "application/xrd+xml"});
        r.body = "<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n  <Link rel='restconf' href='/restconf'/>\n</XRD>\n";
        return r;
    }
    bool writes = m == "PUT" || m == "PATCH" || m == "POST" || m == "DELETE";
    if (p == "/restconf" || p == "/restconf/") {
        if (writes) return error_reply({405, "operation-not-supported", p, "the API root is read-only"});
        return data_reply(200, {{"ietf-restconf:restconf",
                                 {{"data", ojson::object()}, {"operations", ojson::object()},
                                  {"yang-library-version", "2016-06-21"}}}});
    }
    if (p.rfind("/restconf/operations", 0) == 0) {
        std::string op = http::percent_decode(p.substr(std::string("/restconf/operations").size()), false);
        while (!op.empty() && op.front() == '/') op.erase(0, 1);
        if (op.empty()) {
            if (writes) return error_reply({405, "operation-not-supported", p, "POST to an operation, e.g. cisco-ia:save-config"});
            return data_reply(200, {{"ietf-restconf:operations",
                                     {{"cisco-ia:save-config", "/restconf/operations/cisco-ia:save-config"}}}});
        }
        if (op != "cisco-ia:save-config")
            return error_reply({404, "invalid-value", p, "no operation \"" + op + "\"; this device has cisco-ia:save-config"});
        if (m != "POST")
            return error_reply({405, "operation-not-supported", p, "an operation is invoked with POST"});
        d.startup = d.running;
        RestconfReply r = data_reply(200, {{"cisco-ia:output", {{"result", "Save running-config successful"}}}});
        r.saved = true;
        return r;
    }
    if (p != "/restconf/data" && p.rfind("/restconf/data/", 0) != 0)
        return error_reply({404, "invalid-value", p, "no such resource; the data is under /restconf/data"});
    if (writes && m != "DELETE" && !media_is(req.content_type, kYang))
        return error_reply({415, "invalid-value", p,
                            req.content_type.empty()
                                ? "send the body with Content-Type: application/yang-data+json"
                                : "Content-Type " + req.content_type +
                                      " is not YANG data: send Content-Type: application/yang-data+json"});
    std::vector<Step> steps = parse_path(p.substr(std::string("/restconf/data").size()));
    ojson tree = to_tree(d.running);
    Target t = locate(tree, steps);
    const std::string where = path_of(steps, steps.size());
    if (m == "GET" || m == "HEAD") {
        if (steps.empty()) return data_reply(200, {{"ietf-restconf:data", tree}});
        if (!t.value) throw Refusal{404, "invalid-value", where, "no such data: " + where};
        return data_reply(200, {{t.node->module + ":" + t.node->name, *t.value}});
    }
    if (!writes)
        return error_reply({405, "operation-not-supported", where, m + " is not a RESTCONF method here"});
    if (steps.empty() && m != "POST")
        throw Refusal{405, "operation-not-supported", where, m + " of the whole datastore is not allowed here"};
    const Step* last = steps.empty() ? nullptr : &steps.back();
    std::vector<std::string> physical;
    for (const auto& f : d.spec.config.interfaces) physical.push_back(f.name);
    int status = 204;
    std::string location;
    if (m == "DELETE") {
        if (!t.value) throw Refusal{404, "data-missing", where, "nothing to delete at " + where};
        if (last->node->name == "interface" && last->has_key &&
            std::find(physical.begin(), physical.end(), last->key) != physical.end())
            throw Refusal{400, "invalid-value", where,
                          last->key + " is a physical port and cannot be deleted; DELETE or PATCH its leaves instead"};
        if (last->node->kind == Node::leaf && steps.size() >= 2 && steps[steps.size() - 2].node->kind == Node::list &&
            steps[steps.size() - 2].node->key == last->node->name)
            throw Refusal{400, "invalid-value", where, "a list entry's key cannot be deleted; delete the entry"};
        if (t.parent->is_array())
            t.parent->erase(static_cast<std::size_t>(t.value - &(*t.parent)[0]));
        else
            t.parent->erase(t.member);
    } else if (m == "POST") {
        // The body names a child of the target to create.
        const Node& at = last ? *last->node : schema();
        if (last && !t.value) throw Refusal{404, "invalid-value", where, "no such data: " + where};
        if (at.kind == Node::leaf || (at.kind == Node::list && !last->has_key))
            throw Refusal{400, "invalid-value", where, "POST to the parent of what to create (for a list entry: the container holding the list)"};
        ojson doc;
        try {
            doc = ojson::parse(req.body);
        } catch (const std::exception& e) {
            throw Refusal{400, "malformed-message", where, std::string("the body is not JSON: ") + e.what()};
        }
        if (!doc.is_object() || doc.size() != 1)
            throw Refusal{400, "malformed-message", where, "the body is one JSON object with one member: what to create"};
        const Node* child = find_child(at, doc.begin().key());
        if (!child)
            throw Refusal{400, "unknown-element", where, "\"" + doc.begin().key() + "\" cannot be created under " +
                                                             (at.name.empty() ? "the datastore" : at.name)};
        ojson v = canonical(*child, doc.begin().value(), where);
        std::string name = member(*child, at.module);
        ojson& parent = *t.value;
        if (child->kind == Node::list) {
            if (v.size() != 1) throw Refusal{400, "invalid-value", where, "POST creates one entry at a time"};
            const ojson& e = v[0];
            if (!e.contains(child->key))
                throw Refusal{400, "missing-element", where, "the new entry needs its key \"" + child->key + "\""};
            std::string key = key_text(e[child->key]);
            if (parent.contains(name))
                for (const auto& x : parent[name])
                    if (x.contains(child->key) && key_text(x[child->key]) == key)
                        throw Refusal{409, "data-exists", where + "/" + child->name + "=" + percent_encode(key),
                                      child->name + " " + key + " exists already: PATCH or PUT it instead"};
            parent[name].push_back(e);
            location = where + "/" + child->name + "=" + percent_encode(key);
        } else {
            if (parent.contains(name))
                throw Refusal{409, "data-exists", where + "/" + name, name + " exists already: PATCH or PUT it instead"};
            parent[name] = v;
            location = where + "/" + name;
        }
        status = 201;
    } else {
        ojson v = body_value(req.body, *last, where);
        if (m == "PATCH") {
            if (!t.value) throw Refusal{404, "data-missing", where, "PATCH changes what exists; " + where + " does not (create it with POST or PUT)"};
            merge(*last->node, *t.value, v, last->node->kind == Node::list && last->has_key);
        } else {  // PUT: replace, or create
            if (t.value) {
                *t.value = v;
            } else {
                if (!t.parent) throw Refusal{404, "invalid-value", where, "the parent of " + where + " does not exist"};
                if (last->node->kind == Node::list && last->has_key) t.parent->push_back(v);
                else (*t.parent)[t.member] = v;
                status = 201;
            }
        }
    }
    Config next;
    try {
        next = from_tree(tree, d.running, physical);
    } catch (Refusal& r) {
        r.path = "/restconf/data" + r.path;
        throw;
    }
    std::string before = d.running.render(), after = next.render();
    d.running = next;
    RestconfReply r;
    r.status = status;
    if (!location.empty()) r.headers.push_back({"Location", location});
    if (before != after) r.diff = line_diff(before, after);
    return r;
}

}  // namespace

std::string restconf_data(const Config& c) { return text(to_tree(c)); }

RestconfReply restconf(Device& device, const RestconfRequest& request) {
    try {
        return handle(device, request);
    } catch (const Refusal& r) {
        return error_reply(r);
    }
}

}  // namespace wirelab::device
