// The `tcp` service kind: echo, line dialogues, length-prefixed JSON frames.
#pragma once
#include <memory>

#include "runtime/service.hpp"

namespace wirelab::tcp_proto {

std::unique_ptr<Service> make_tcp_service(ServiceContext& ctx);

}  // namespace wirelab::tcp_proto
