#include "services/sdn/model.hpp"

#include <algorithm>
#include <regex>
#include <set>
#include <stdexcept>

namespace wirelab::sdn {

namespace {

bool valid_ip(const std::string& s) {
    static const std::regex re(R"((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})");
    return std::regex_match(s, re);
}

std::string port_key(const std::string& sw, int port) { return sw + ":" + std::to_string(port); }

}  // namespace

void Network::add_switch(const std::string& name, int ports) {
    if (name.empty() || switches_.count(name)) throw std::invalid_argument("switch \"" + name + "\" is declared twice or has no name");
    if (ports < 1 || ports > 64) throw std::invalid_argument("switch \"" + name + "\" needs 1 to 64 ports");
    switches_[name] = ports;
}

void Network::add_host(const Host& h) {
    if (!valid_ip(h.ip)) throw std::invalid_argument("host \"" + h.name + "\": \"" + h.ip + "\" is not an IPv4 address");
    auto sw = switches_.find(h.sw);
    if (sw == switches_.end()) throw std::invalid_argument("host \"" + h.name + "\" is attached to an unknown switch \"" + h.sw + "\"");
    if (h.port < 1 || h.port > sw->second)
        throw std::invalid_argument("host \"" + h.name + "\": " + h.sw + " has ports 1 to " + std::to_string(sw->second));
    for (const auto& o : hosts_) {
        if (o.name == h.name || o.ip == h.ip) throw std::invalid_argument("host \"" + h.name + "\" repeats a name or address");
        if (o.sw == h.sw && o.port == h.port) throw std::invalid_argument("hosts \"" + o.name + "\" and \"" + h.name + "\" share a port");
    }
    if (links_.count(port_key(h.sw, h.port))) throw std::invalid_argument("host \"" + h.name + "\" sits on a link's port");
    hosts_.push_back(h);
}

void Network::add_link(const std::string& a, int ap, const std::string& b, int bp) {
    for (auto [sw, p] : {std::pair{a, ap}, std::pair{b, bp}}) {
        auto it = switches_.find(sw);
        if (it == switches_.end()) throw std::invalid_argument("a link names an unknown switch \"" + sw + "\"");
        if (p < 1 || p > it->second) throw std::invalid_argument("a link names port " + std::to_string(p) + " of " + sw);
        if (links_.count(port_key(sw, p))) throw std::invalid_argument("port " + port_key(sw, p) + " has two links");
        for (const auto& h : hosts_)
            if (h.sw == sw && h.port == p) throw std::invalid_argument("port " + port_key(sw, p) + " has a host and a link");
    }
    if (a == b && ap == bp) throw std::invalid_argument("a link from a port to itself");
    links_[port_key(a, ap)] = port_key(b, bp);
    links_[port_key(b, bp)] = port_key(a, ap);
}

std::int64_t Network::add_flow(Flow f) {
    auto sw = switches_.find(f.sw);
    if (sw == switches_.end()) throw std::invalid_argument("no switch \"" + f.sw + "\"");
    if (f.priority < 0 || f.priority > 65535) throw std::invalid_argument("priority is 0 to 65535");
    if (f.in_port && (*f.in_port < 1 || *f.in_port > sw->second))
        throw std::invalid_argument("in_port " + std::to_string(*f.in_port) + ": " + f.sw + " has ports 1 to " + std::to_string(sw->second));
    for (const auto* ip : {&f.src, &f.dst})
        if (!ip->empty() && !valid_ip(*ip)) throw std::invalid_argument("\"" + *ip + "\" is not an IPv4 address");
    if (!f.drop && (f.out_port < 1 || f.out_port > sw->second))
        throw std::invalid_argument("output port " + std::to_string(f.out_port) + ": " + f.sw + " has ports 1 to " +
                                    std::to_string(sw->second));
    if (!f.drop && f.in_port && *f.in_port == f.out_port)
        throw std::invalid_argument("output port " + std::to_string(f.out_port) + " is the in_port: use \"in_port\" as the action's port to send a packet back");
    if (std::count_if(flows_.begin(), flows_.end(), [&](const Flow& x) { return x.sw == f.sw; }) >= 1000)
        throw std::invalid_argument("the flow table of " + f.sw + " is full (1000 rules)");
    f.id = next_id_++;
    flows_.push_back(f);
    return f.id;
}

bool Network::remove_flow(const std::string& sw, std::int64_t id) {
    auto it = std::find_if(flows_.begin(), flows_.end(), [&](const Flow& f) { return f.sw == sw && f.id == id; });
    if (it == flows_.end()) return false;
    flows_.erase(it);
    return true;
}

std::vector<Flow> Network::flows(const std::string& sw) const {
    std::vector<Flow> out;
    for (const auto& f : flows_)
        if (f.sw == sw) out.push_back(f);
    std::stable_sort(out.begin(), out.end(), [](const Flow& a, const Flow& b) { return a.priority > b.priority; });
    return out;
}

const Host* Network::host(const std::string& name) const {
    for (const auto& h : hosts_)
        if (h.name == name) return &h;
    return nullptr;
}

Trace Network::trace(const std::string& src_host, const std::string& dst_host) const {
    Trace t;
    t.src = src_host;
    t.dst = dst_host;
    const Host* s = host(src_host);
    const Host* d = host(dst_host);
    if (!s || !d) {
        t.status = "dead-end";
        t.detail = "no such host";
        return t;
    }
    std::string sw = s->sw;
    int in_port = s->port;
    std::set<std::string> seen;
    for (;;) {
        std::string at = port_key(sw, in_port);
        if (!seen.insert(at).second) {
            t.status = "loop";
            t.where = sw;
            t.detail = "the packet comes back to " + at + ": a forwarding loop";
            return t;
        }
        t.path.push_back(sw);
        std::optional<Flow> rule;
        for (const auto& f : flows(sw)) {
            if (f.in_port && *f.in_port != in_port) continue;
            if (!f.src.empty() && f.src != s->ip) continue;
            if (!f.dst.empty() && f.dst != d->ip) continue;
            rule = f;
            break;
        }
        if (!rule) {
            t.status = "no-route";
            t.where = sw;
            t.detail = sw + " has no rule for it (table miss: dropped)";
            return t;
        }
        std::int64_t rid = rule->id;
        int out = rule->out_port;
        t.rules.push_back(rid);
        if (rule->drop) {
            t.status = "blocked";
            t.where = sw;
            t.detail = "dropped by rule " + std::to_string(rid) + " on " + sw;
            return t;
        }
        for (const auto& h : hosts_)
            if (h.sw == sw && h.port == out) {
                if (h.name == d->name) {
                    t.status = "reachable";
                    t.detail = "delivered through " + std::to_string(t.path.size()) + " switch(es)";
                } else {
                    t.status = "misdelivered";
                    t.where = sw;
                    t.detail = "delivered to " + h.name + " instead of " + d->name + " (" + sw + " port " + std::to_string(out) + ")";
                }
                return t;
            }
        auto link = links_.find(port_key(sw, out));
        if (link == links_.end()) {
            t.status = "dead-end";
            t.where = sw;
            t.detail = "sent out of " + port_key(sw, out) + ", where nothing is connected";
            return t;
        }
        auto colon = link->second.rfind(':');
        sw = link->second.substr(0, colon);
        in_port = std::stoi(link->second.substr(colon + 1));
    }
}

std::vector<Trace> Network::reachability() const {
    std::vector<Trace> out;
    for (const auto& a : hosts_)
        for (const auto& b : hosts_)
            if (a.name != b.name) out.push_back(trace(a.name, b.name));
    return out;
}

bool is_black_hole(const Trace& t) { return t.status == "no-route" && t.path.size() >= 2; }

}  // namespace wirelab::sdn
