// The `udp` service kind: echo, text or JSON request/response, telemetry
// with sequence numbers and NAK retransmission.
#pragma once
#include <memory>

#include "runtime/service.hpp"

namespace wirelab::udp_proto {

std::unique_ptr<Service> make_udp_service(ServiceContext& ctx);
/// The same protocols on a unix datagram socket (the `ipc` kind's
/// "type": "datagram"); "socket" names it in the run directory.
std::unique_ptr<Service> make_unix_datagram_service(ServiceContext& ctx);

}  // namespace wirelab::udp_proto
