// The one list of simulated client kinds. Adding a kind: its file here, and
// one line in registry.cpp.
#pragma once
#include <string>
#include <vector>

#include "runtime/driver.hpp"

namespace wirelab::clients {

const DriverKinds& driver_kinds();
std::vector<std::string> driver_kind_names();

}  // namespace wirelab::clients
