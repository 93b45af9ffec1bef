// The `http` service kind: a json-server 0.17 compatible REST API on
// Boost.Beast, its state in SQLite, every exchange journaled.
#pragma once
#include <memory>

#include "runtime/service.hpp"

namespace wirelab::http {

/// Factory for lab.json `{"kind": "http", ...}`; validates the spec.
std::unique_ptr<Service> make_http_service(ServiceContext& ctx);

}  // namespace wirelab::http
