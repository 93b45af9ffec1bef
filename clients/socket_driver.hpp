// The `socket` client kind: a scripted TCP client (one or N in parallel)
// that drives the learner's server.
#pragma once
#include <memory>

#include "runtime/driver.hpp"

namespace wirelab::clients {

std::unique_ptr<Driver> make_socket_driver(DriverContext& ctx);

}  // namespace wirelab::clients
