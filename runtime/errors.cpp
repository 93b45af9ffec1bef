#include "runtime/errors.hpp"

namespace wirelab {

std::string Location::str() const {
    std::string s = file;
    if (line > 0) s += ":" + std::to_string(line);
    if (!pointer.empty()) s += (s.empty() ? "" : ": ") + pointer;
    return s;
}

static std::string compose(const std::string& where, const std::string& what,
                           const std::string& fix) {
    std::string s = where.empty() ? what : where + ": " + what;
    if (!fix.empty()) s += "\n  fix: " + fix;
    return s;
}

LabError::LabError(Location where, std::string what, std::string fix)
    : std::runtime_error(compose(where.str(), what, fix)),
      where_(std::move(where)),
      problem_(std::move(what)),
      fix_(std::move(fix)) {}

EnvError::EnvError(std::string what, std::string fix)
    : std::runtime_error(compose("", what, fix)), problem_(std::move(what)), fix_(std::move(fix)) {}

}  // namespace wirelab
