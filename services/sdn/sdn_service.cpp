#include "services/sdn/sdn_service.hpp"

#include <regex>

#include "runtime/journal.hpp"
#include "runtime/lab.hpp"
#include "runtime/sqlite.hpp"
#include "services/http/http_front.hpp"
#include "services/sdn/model.hpp"

namespace wirelab::sdn {

namespace {

using http::HttpReply;
using http::HttpRequest;

std::pair<std::string, int> port_ref(Spec& s, const std::string& key, const std::string& text) {
    static const std::regex re(R"(([A-Za-z][A-Za-z0-9_-]*):([0-9]{1,2}))");
    std::smatch m;
    if (!std::regex_match(text, m, re)) s.fail(key, "\"" + text + "\" is not a switch port: write \"s1:3\"");
    return {m[1].str(), std::stoi(m[2].str())};
}

json flow_json(const Flow& f) {
    json match = json::object();
    if (f.in_port) match["in_port"] = *f.in_port;
    if (!f.src.empty()) match["ipv4_src"] = f.src;
    if (!f.dst.empty()) match["ipv4_dst"] = f.dst;
    json actions = f.drop ? json::array() : json::array({{{"type", "OUTPUT"}, {"port", f.out_port}}});
    return {{"id", f.id}, {"switch", f.sw}, {"priority", f.priority}, {"match", match}, {"actions", actions}};
}

json trace_json(const Trace& t) {
    json j = {{"src", t.src}, {"dst", t.dst}, {"status", t.status}, {"path", t.path}, {"rules", t.rules}, {"detail", t.detail}};
    if (!t.where.empty()) j["where"] = t.where;
    return j;
}

/// A flow from a request body: {"priority", "match": {"in_port", "ipv4_src",
/// "ipv4_dst"}, "actions": [{"type": "OUTPUT", "port": N}] ([] or DROP: drop)}.
Flow parse_flow(const std::string& sw, const std::string& body) {
    json j;
    try {
        j = json::parse(body);
    } catch (const std::exception& e) {
        throw std::invalid_argument(std::string("the body is not JSON: ") + e.what());
    }
    if (!j.is_object()) throw std::invalid_argument("a flow is a JSON object: {\"priority\", \"match\", \"actions\"}");
    for (auto it = j.begin(); it != j.end(); ++it)
        if (it.key() != "priority" && it.key() != "match" && it.key() != "actions")
            throw std::invalid_argument("unknown field \"" + it.key() + "\" (a flow has priority, match, actions)");
    Flow f;
    f.sw = sw;
    if (j.contains("priority")) {
        if (!j["priority"].is_number_integer()) throw std::invalid_argument("\"priority\" is a whole number, 0 to 65535");
        f.priority = j["priority"].get<int>();
    }
    if (j.contains("match")) {
        const json& m = j["match"];
        if (!m.is_object()) throw std::invalid_argument("\"match\" is an object: in_port, ipv4_src, ipv4_dst");
        for (auto it = m.begin(); it != m.end(); ++it) {
            if (it.key() == "in_port") {
                if (!it.value().is_number_integer()) throw std::invalid_argument("match.in_port is a port number");
                f.in_port = it.value().get<int>();
            } else if (it.key() == "ipv4_src" || it.key() == "ipv4_dst") {
                if (!it.value().is_string()) throw std::invalid_argument("match." + it.key() + " is an address string");
                (it.key() == "ipv4_src" ? f.src : f.dst) = it.value().get<std::string>();
            } else {
                throw std::invalid_argument("unknown match field \"" + it.key() + "\" (in_port, ipv4_src, ipv4_dst)");
            }
        }
    }
    if (!j.contains("actions") || !j["actions"].is_array())
        throw std::invalid_argument("\"actions\" is a list: [{\"type\": \"OUTPUT\", \"port\": 2}], or [] to drop");
    const json& a = j["actions"];
    if (a.size() > 1) throw std::invalid_argument("one action per rule here: OUTPUT to one port, or DROP");
    f.drop = a.empty();
    if (!a.empty()) {
        const json& x = a[0];
        std::string type = x.is_object() && x.contains("type") && x["type"].is_string() ? x["type"].get<std::string>() : "";
        if (type == "DROP") {
            f.drop = true;
        } else if (type == "OUTPUT") {
            if (!x.contains("port") || !x["port"].is_number_integer())
                throw std::invalid_argument("an OUTPUT action needs \"port\": a number");
            f.out_port = x["port"].get<int>();
        } else {
            throw std::invalid_argument("an action's \"type\" is \"OUTPUT\" (with \"port\") or \"DROP\"");
        }
    }
    return f;
}

class SdnService final : public Service {
public:
    explicit SdnService(ServiceContext& ctx) : name_(ctx.name), journal_(ctx.journal) {
        Spec& s = ctx.spec;
        ListenSpec listen = read_listen_spec(s, ctx);
        const json& sws = s.required("switches");
        if (!sws.is_object() || sws.empty())
            s.fail("switches", "\"switches\" maps switch names to their number of ports", "{\"s1\": 4, \"s2\": 4}");
        try {
            for (auto it = sws.begin(); it != sws.end(); ++it) {
                if (!it.value().is_number_integer()) s.fail("switches", "the number of ports of \"" + it.key() + "\" is a whole number");
                net_.add_switch(it.key(), it.value().get<int>());
            }
            const json& hs = s.required("hosts");
            if (!hs.is_object()) s.fail("hosts", "\"hosts\" maps host names to {\"ip\", \"at\": \"s1:1\"}");
            for (auto it = hs.begin(); it != hs.end(); ++it) {
                Spec h(s.doc(), it.value(), s.pointer("hosts") + "/" + pointer_escape(it.key()), "host \"" + it.key() + "\"");
                if (!it.value().is_object()) h.fail("", "a host is {\"ip\": \"10.0.0.1\", \"at\": \"s1:1\"}");
                Host host;
                host.name = it.key();
                host.ip = h.string("ip");
                auto [sw, port] = port_ref(h, "at", h.string("at"));
                host.sw = sw;
                host.port = port;
                h.finish();
                net_.add_host(host);
            }
            if (const json* links = s.get("links")) {
                if (!links->is_array()) s.fail("links", "\"links\" is a list of pairs: [[\"s1:3\", \"s2:1\"], …]");
                for (const auto& l : *links) {
                    if (!l.is_array() || l.size() != 2 || !l[0].is_string() || !l[1].is_string())
                        s.fail("links", "a link is a pair of switch ports: [\"s1:3\", \"s2:1\"]");
                    auto a = port_ref(s, "links", l[0].get<std::string>());
                    auto b = port_ref(s, "links", l[1].get<std::string>());
                    net_.add_link(a.first, a.second, b.first, b.second);
                }
            }
        } catch (const std::invalid_argument& e) {
            s.fail("", e.what());
        }
        http::HttpOptions options = http::read_http_options(s);
        s.finish();
        state_path_ = ctx.state_dir / (name_ + ".db");
        front_ = std::make_unique<http::HttpFront>(ctx, "sdn", listen, std::move(options),
                                                   [this](const HttpRequest& r) { return handle(r); });
    }

    void start() override {
        front_->start();
        write_state();
    }
    void stop() override {
        front_->stop();
        write_state();
    }
    Endpoint endpoint() const override { return front_->endpoint(); }
    std::filesystem::path state_file() const override { return state_path_; }
    void set_faults(const FaultProfile& p, std::uint64_t seed) override { front_->set_faults(p, seed); }
    void end_case(const CaseSpec&) override { write_state(); }

private:
    static HttpReply reply(int status, const json& body) {
        HttpReply r;
        r.status = status;
        r.set("Content-Type", "application/json");
        r.body = body.dump(2, ' ', false, json::error_handler_t::replace);
        return r;
    }
    static HttpReply error(int status, const std::string& message) { return reply(status, {{"error", message}}); }

    json topology() const {
        json sws = json::array(), hosts = json::array(), links = json::array();
        for (const auto& [n, p] : net_.switches()) sws.push_back({{"id", n}, {"ports", p}});
        for (const auto& h : net_.hosts()) hosts.push_back({{"id", h.name}, {"ip", h.ip}, {"switch", h.sw}, {"port", h.port}});
        for (const auto& [a, b] : net_.links())
            if (a < b) links.push_back({{"a", a}, {"b", b}});
        return {{"switches", sws}, {"hosts", hosts}, {"links", links}};
    }

    HttpReply handle(const HttpRequest& req) {
        static const std::regex flows_re(R"(/switches/([^/]+)/flows/?)"), flow_re(R"(/switches/([^/]+)/flows/([0-9]+))");
        std::string path = http::percent_decode(req.path, false);
        const std::string& m = req.method;
        std::smatch g;
        bool read = m == "GET" || m == "HEAD";
        if (path == "/" && read)
            return reply(200, {{"api", "wirelab SDN controller"},
                               {"routes", {"GET /topology", "GET /switches", "GET|POST /switches/{id}/flows",
                                           "GET|DELETE /switches/{id}/flows/{flow}", "GET /reachability",
                                           "GET /trace?src=h1&dst=h3"}}});
        if (path == "/topology" && read) return reply(200, topology());
        if (path == "/switches" && read) return reply(200, topology()["switches"]);
        if (path == "/reachability" && read) {
            json all = json::array();
            for (const auto& t : net_.reachability()) all.push_back(trace_json(t));
            return reply(200, all);
        }
        if (path == "/trace" && read) {
            std::string src, dst;
            for (auto& [k, v] : http::parse_query(req.query)) (k == "src" ? src : k == "dst" ? dst : k) = v;
            if (!net_.host(src) || !net_.host(dst)) return error(400, "name two hosts: /trace?src=h1&dst=h3");
            return reply(200, trace_json(net_.trace(src, dst)));
        }
        if (std::regex_match(path, g, flows_re)) {
            std::string sw = g[1];
            if (!net_.switches().count(sw)) return error(404, "no switch \"" + sw + "\"");
            if (read) {
                json list = json::array();
                for (const auto& f : net_.flows(sw)) list.push_back(flow_json(f));
                return reply(200, list);
            }
            if (m != "POST") return error(405, "a switch's flows take GET and POST; DELETE /switches/" + sw + "/flows/{id}");
            std::string type(req.header("Content-Type"));
            if (type.find("application/json") == std::string::npos)
                return error(415, "send the flow as JSON with Content-Type: application/json");
            Flow f;
            try {
                f = parse_flow(sw, req.body);
                f.id = net_.add_flow(f);
            } catch (const std::invalid_argument& e) {
                return error(400, e.what());
            }
            changed("flow-added", flow_json(f), f.id, req.connection_id);
            HttpReply r = reply(201, flow_json(f));
            r.set("Location", "/switches/" + sw + "/flows/" + std::to_string(f.id));
            return r;
        }
        if (std::regex_match(path, g, flow_re)) {
            std::string sw = g[1];
            std::int64_t id = std::stoll(g[2]);
            if (!net_.switches().count(sw)) return error(404, "no switch \"" + sw + "\"");
            auto fl = net_.flows(sw);
            auto it = std::find_if(fl.begin(), fl.end(), [&](const Flow& f) { return f.id == id; });
            if (it == fl.end()) return error(404, "no flow " + std::to_string(id) + " on " + sw);
            if (read) return reply(200, flow_json(*it));
            if (m != "DELETE") return error(405, "a flow takes GET and DELETE");
            json gone = flow_json(*it);
            net_.remove_flow(sw, id);
            changed("flow-removed", gone, id, req.connection_id);
            HttpReply r;
            r.status = 204;
            return r;
        }
        return error(404, "no route " + m + " " + path + "; GET / lists them");
    }

    /// Journals a change with the reachability it leaves and any black hole.
    void changed(const std::string& kind, const json& flow, std::int64_t id, std::int64_t connection) {
        json reach = json::object();
        for (const auto& t : net_.reachability()) {
            reach[t.src + "->" + t.dst] = t.status;
            if (is_black_hole(t))
                journal_.event("black-hole", name_,
                               {{"src", t.src}, {"dst", t.dst}, {"at", t.where}, {"path", t.path}, {"after", kind},
                                {"flow", id}, {"detail", "forwarded through " + t.path.front() + " into " + t.where +
                                                             ", which has no rule for it yet"}},
                               connection);
        }
        journal_.event(kind, name_, {{"flow", flow}, {"reachability", reach}}, connection);
        write_state();
    }

    void write_state() {
        try {
            sql::replace_db(state_path_, [&](sql::Db& db) {
                db.exec("BEGIN;"
                        "CREATE TABLE switches(id TEXT, ports INTEGER);"
                        "CREATE TABLE hosts(id TEXT, ip TEXT, switch TEXT, port INTEGER);"
                        "CREATE TABLE flows(id INTEGER, switch TEXT, priority INTEGER, in_port INTEGER, ipv4_src TEXT,"
                        " ipv4_dst TEXT, action TEXT, port INTEGER);"
                        "CREATE TABLE reachability(src TEXT, dst TEXT, status TEXT, path TEXT, rules TEXT, at TEXT, detail TEXT);");
                auto sw = db.prepare("INSERT INTO switches VALUES(?, ?)");
                for (const auto& [n, p] : net_.switches()) sw.bind(1, n).bind(2, p).exec();
                auto hs = db.prepare("INSERT INTO hosts VALUES(?, ?, ?, ?)");
                for (const auto& h : net_.hosts()) hs.bind(1, h.name).bind(2, h.ip).bind(3, h.sw).bind(4, h.port).exec();
                auto fl = db.prepare("INSERT INTO flows VALUES(?, ?, ?, ?, ?, ?, ?, ?)");
                auto opt = [](const std::string& v) { return v.empty() ? std::optional<std::string>() : std::optional<std::string>(v); };
                for (const auto& [n, p] : net_.switches())
                    for (const auto& f : net_.flows(n))
                        fl.bind(1, f.id).bind(2, f.sw).bind(3, f.priority)
                            .bind(4, f.in_port ? std::optional<std::int64_t>(*f.in_port) : std::optional<std::int64_t>())
                            .bind(5, opt(f.src)).bind(6, opt(f.dst)).bind(7, f.drop ? "drop" : "output")
                            .bind(8, f.drop ? std::optional<std::int64_t>() : std::optional<std::int64_t>(f.out_port)).exec();
                auto rc = db.prepare("INSERT INTO reachability VALUES(?, ?, ?, ?, ?, ?, ?)");
                for (const auto& t : net_.reachability())
                    rc.bind(1, t.src).bind(2, t.dst).bind(3, t.status).bind(4, json(t.path).dump()).bind(5, json(t.rules).dump())
                        .bind(6, opt(t.where)).bind(7, t.detail).exec();
                db.exec("COMMIT");
            });
        } catch (const std::exception& e) {
            journal_.event("state-error", name_, {{"error", e.what()}});
        }
    }

    std::string name_;
    Journal& journal_;
    Network net_;
    std::unique_ptr<http::HttpFront> front_;
    std::filesystem::path state_path_;
};

}  // namespace

std::unique_ptr<Service> make_sdn_service(ServiceContext& ctx) { return std::make_unique<SdnService>(ctx); }

}  // namespace wirelab::sdn
