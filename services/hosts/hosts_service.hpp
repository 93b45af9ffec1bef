// The `hosts` service kind: a set of simulated hosts on loopback addresses
// (127.0.0.x), each with a range of TCP ports that are open (a listener that
// sends a banner, or stays silent), closed (bound, not listening: the
// kernel answers a reset) or filtered (a full accept queue: the kernel
// drops the SYN and connect() waits). A host that sees two connections
// closer together than `min_gap_ms` takes the scanner for a flood and
// closes its open ports for `block_s` seconds. For port-scan labs.
#pragma once
#include <memory>

#include "runtime/service.hpp"

namespace wirelab::hosts {

std::unique_ptr<Service> make_hosts_service(ServiceContext& ctx);

}  // namespace wirelab::hosts
