// The `sdn` service kind: an SDN controller's northbound REST API over a
// simulated network (services/sdn/model.hpp): the topology, flow rules per
// switch (add, list, delete), and traces computed from the installed rules.
// Every change is journaled with the reachability it leaves and any
// transient black hole it opens; the topology, flows and reachability are
// tables for `state` checks.
#pragma once
#include <memory>

#include "runtime/service.hpp"

namespace wirelab::sdn {

std::unique_ptr<Service> make_sdn_service(ServiceContext& ctx);

}  // namespace wirelab::sdn
