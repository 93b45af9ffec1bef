// The `ipc` service kind: what processes on one machine talk through.
//
// - "socket" (a file name in the run directory): a unix stream socket
//   speaking the tcp kind's protocols, or with "type": "datagram" a unix
//   datagram socket speaking the udp kind's; the peer's pid comes from the
//   kernel (SO_PEERCRED, SCM_CREDENTIALS).
// - "fifo" (a name): two named pipes, NAME.in (the program writes) and
//   NAME.out (the program reads), speaking a line dialogue or echo.
// - "file" (a file name) or "shm" (a POSIX shared-memory name): a shared
//   file or segment the lab seeds before each case; its content after each
//   case (and at the end) is the service's state, for `state` checks.
#pragma once
#include <memory>

#include "runtime/service.hpp"

namespace wirelab::ipc {

std::unique_ptr<Service> make_ipc_service(ServiceContext& ctx);

}  // namespace wirelab::ipc
