// Check kinds use the matching helpers of the runtime (regexes, JSON
// subsets, renderings for evidence); protocol rules in services use them too.
#pragma once
#include "runtime/match.hpp"
