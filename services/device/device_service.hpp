// The `device` service kind: a topology of simulated network devices, each
// with its own TCP port and an IOS-style CLI (services/device/cli.hpp),
// every command journaled with the config diff it caused, the devices'
// running and startup configs kept as tables for `state` checks.
#pragma once
#include <memory>

#include "runtime/service.hpp"

namespace wirelab::device {

std::unique_ptr<Service> make_device_service(ServiceContext& ctx);

}  // namespace wirelab::device
