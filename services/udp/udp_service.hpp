// The `udp` service kind: echo, text or JSON request/response, telemetry
// with sequence numbers and NAK retransmission.
#pragma once
#include <memory>

#include "runtime/service.hpp"

namespace wirelab::udp_proto {

std::unique_ptr<Service> make_udp_service(ServiceContext& ctx);

}  // namespace wirelab::udp_proto
