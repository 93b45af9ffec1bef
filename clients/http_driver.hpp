// The `http` client kind: a request plan run with libcurl against the
// learner's REST server, with expectations and saved values.
#pragma once
#include <memory>

#include "runtime/driver.hpp"

namespace wirelab::clients {

std::unique_ptr<Driver> make_http_driver(DriverContext& ctx);

}  // namespace wirelab::clients
