// The SDN model without sockets: a packet traced through flow tables
// (priorities, in_port, addresses, drop), the ways a trace ends (reachable,
// blocked, table miss, loop, misdelivered, dead end), black holes, and
// the refusals a controller gives.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "services/sdn/model.hpp"

using namespace wirelab::sdn;

namespace {

Network line() {
    Network n;
    n.add_switch("s1", 4);
    n.add_switch("s2", 4);
    n.add_switch("s3", 4);
    n.add_host({"h1", "10.0.0.1", "s1", 1});
    n.add_host({"h2", "10.0.0.2", "s1", 2});
    n.add_host({"h3", "10.0.0.3", "s3", 1});
    n.add_link("s1", 3, "s2", 1);
    n.add_link("s2", 2, "s3", 3);
    return n;
}

Flow fwd(const std::string& sw, const std::string& dst, int port, int prio = 100) {
    Flow f;
    f.sw = sw;
    f.dst = dst;
    f.out_port = port;
    f.priority = prio;
    return f;
}

}  // namespace

TEST_CASE("sdn: a packet follows the rules hop by hop", "[unit][sdn]") {
    Network n = line();
    CHECK(n.trace("h1", "h3").status == "no-route");
    CHECK_FALSE(is_black_hole(n.trace("h1", "h3")));  // dropped where it entered: not yet routed
    n.add_flow(fwd("s1", "10.0.0.3", 3));
    Trace hole = n.trace("h1", "h3");
    CHECK(hole.status == "no-route");
    CHECK(hole.where == "s2");
    CHECK(is_black_hole(hole));  // forwarded into a switch that does not know it
    n.add_flow(fwd("s2", "10.0.0.3", 2));
    n.add_flow(fwd("s3", "10.0.0.3", 1));
    Trace ok = n.trace("h1", "h3");
    CHECK(ok.status == "reachable");
    CHECK(ok.path == std::vector<std::string>{"s1", "s2", "s3"});
    CHECK(ok.rules.size() == 3);
    CHECK(n.trace("h3", "h1").status == "no-route");  // the way back is its own path

    Flow drop;
    drop.sw = "s1";
    drop.src = "10.0.0.2";
    drop.dst = "10.0.0.3";
    drop.drop = true;
    drop.priority = 50;
    auto low = n.add_flow(drop);
    CHECK(n.trace("h2", "h3").status == "reachable");  // the forwarding rule outranks it
    CHECK(n.remove_flow("s1", low));
    CHECK_FALSE(n.remove_flow("s1", low));
    drop.priority = 200;
    n.add_flow(drop);
    Trace blocked = n.trace("h2", "h3");
    CHECK(blocked.status == "blocked");
    CHECK(blocked.where == "s1");
    CHECK(n.trace("h1", "h3").status == "reachable");
    CHECK(n.flows("s1").front().priority == 200);
    CHECK(n.reachability().size() == 6);
}

TEST_CASE("sdn: loops, wrong ports, in_port matches", "[unit][sdn]") {
    Network n = line();
    n.add_flow(fwd("s1", "10.0.0.3", 3));
    n.add_flow(fwd("s2", "10.0.0.3", 1));  // back to s1
    CHECK(n.trace("h1", "h3").status == "loop");
    Network m = line();
    m.add_flow(fwd("s1", "10.0.0.3", 2));  // out of h2's port
    Trace mis = m.trace("h1", "h3");
    CHECK(mis.status == "misdelivered");
    CHECK(mis.detail.find("h2") != std::string::npos);
    Network d = line();
    d.add_flow(fwd("s1", "10.0.0.3", 4));  // nothing on port 4
    CHECK(d.trace("h1", "h3").status == "dead-end");
    Network p = line();
    Flow only_h2 = fwd("s1", "10.0.0.3", 3);
    only_h2.in_port = 2;
    p.add_flow(only_h2);
    CHECK(p.trace("h1", "h3").where == "s1");  // h1 enters on port 1: no match
    CHECK(p.trace("h2", "h3").where == "s2");
}

TEST_CASE("sdn: the controller refuses what cannot be", "[unit][sdn]") {
    Network n = line();
    CHECK_THROWS_AS(n.add_flow(fwd("s9", "10.0.0.3", 1)), std::invalid_argument);
    CHECK_THROWS_AS(n.add_flow(fwd("s1", "10.0.0.300", 1)), std::invalid_argument);
    CHECK_THROWS_AS(n.add_flow(fwd("s1", "10.0.0.3", 5)), std::invalid_argument);
    CHECK_THROWS_AS(n.add_flow(fwd("s1", "10.0.0.3", 1, 70000)), std::invalid_argument);
    Flow same = fwd("s1", "10.0.0.3", 1);
    same.in_port = 1;
    CHECK_THROWS_AS(n.add_flow(same), std::invalid_argument);
    CHECK_THROWS_AS(n.add_link("s1", 1, "s2", 3), std::invalid_argument);  // h1's port
    CHECK_THROWS_AS(n.add_host({"h4", "10.0.0.1", "s2", 3}), std::invalid_argument);  // address taken
    CHECK_THROWS_AS(n.add_switch("s1", 4), std::invalid_argument);
}
