// A software-defined network, I/O-free: switches with numbered ports,
// hosts attached to switch ports, links between switch ports, and flow
// tables (priority, match on in-port and IPv4 source/destination, an action:
// forward to a port or drop). `trace` follows a packet hop by hop through
// the installed rules, as the data plane would; `reachability` does it for
// every pair of hosts. A change that makes a switch forward a packet into a
// switch with no rule for it (a transient black hole) is reported.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wirelab::sdn {

struct Host {
    std::string name, ip;  // "h1", "10.0.0.1"
    std::string sw;        // the switch it is attached to
    int port = 0;
};

struct Flow {
    std::int64_t id = 0;
    std::string sw;
    int priority = 100;
    std::optional<int> in_port;
    std::string src, dst;  // "" = any
    bool drop = false;
    int out_port = 0;      // when not drop
};

/// Where a packet from one host to another ends.
struct Trace {
    std::string src, dst;
    std::string status;              // reachable, blocked, no-route, loop, misdelivered, dead-end
    std::vector<std::string> path;   // switches visited, in order
    std::vector<std::int64_t> rules; // the flow ids that matched
    std::string where;               // the switch where it ended ("" when delivered)
    std::string detail;              // in words
};

class Network {
public:
    /// Throws std::invalid_argument with a message naming what is wrong.
    void add_switch(const std::string& name, int ports);
    void add_host(const Host& h);
    void add_link(const std::string& a_sw, int a_port, const std::string& b_sw, int b_port);

    /// Validates and installs; returns its id. Throws std::invalid_argument.
    std::int64_t add_flow(Flow f);
    /// False when no such flow on that switch.
    bool remove_flow(const std::string& sw, std::int64_t id);
    std::vector<Flow> flows(const std::string& sw) const;  // in table order (priority, then age)

    Trace trace(const std::string& src_host, const std::string& dst_host) const;
    std::vector<Trace> reachability() const;

    const std::map<std::string, int>& switches() const { return switches_; }
    const std::vector<Host>& hosts() const { return hosts_; }
    /// "s1:3" → "s2:1", both ways.
    const std::map<std::string, std::string>& links() const { return links_; }
    const Host* host(const std::string& name) const;

private:
    std::map<std::string, int> switches_;
    std::vector<Host> hosts_;
    std::map<std::string, std::string> links_;
    std::vector<Flow> flows_;
    std::int64_t next_id_ = 1;
};

/// A black hole: a trace that was forwarded at least once, then found no
/// rule. Empty when `t` is not one.
bool is_black_hole(const Trace& t);

}  // namespace wirelab::sdn
