// The `nosql` service kind: a Redis-compatible server (RESP2 and RESP3) on
// the shared listener, its data in memory and, after every change, in the
// service's SQLite state for `state` checks; every command journaled.
#pragma once
#include <memory>

#include "runtime/service.hpp"

namespace wirelab::resp {

std::unique_ptr<Service> make_nosql_service(ServiceContext& ctx);

}  // namespace wirelab::resp
