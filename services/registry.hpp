// The one list of service kinds. Adding a kind: its folder, and one line in
// registry.cpp.
#pragma once
#include "runtime/service.hpp"

namespace wirelab {

/// Every service kind wirelab knows, in the order `wirelab` documents them.
const ServiceKinds& service_kinds();

/// Names of the kinds (for lab validation).
std::vector<std::string> service_kind_names();

}  // namespace wirelab
