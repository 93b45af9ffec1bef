// Errors a person sees. Each names what is wrong, where, and what to do.
#pragma once
#include <stdexcept>
#include <string>

namespace wirelab {

/// Where in a lab file something is: file, 1-based line (0 = unknown) and a
/// JSON pointer ("" = the whole document).
struct Location {
    std::string file;
    int line = 0;
    std::string pointer;
    std::string str() const;
};

/// The lab (lab.json, its data files, its checks) is broken: not the
/// learner's fault. Exit status 2.
class LabError : public std::runtime_error {
public:
    LabError(Location where, std::string what, std::string fix = {});
    const Location& where() const { return where_; }
    const std::string& problem() const { return problem_; }
    const std::string& fix() const { return fix_; }

private:
    Location where_;
    std::string problem_;
    std::string fix_;
};

/// The environment is broken (a port in use, a run directory that cannot be
/// written, a program that cannot start). Exit status 2.
class EnvError : public std::runtime_error {
public:
    EnvError(std::string what, std::string fix = {});
    const std::string& problem() const { return problem_; }
    const std::string& fix() const { return fix_; }

private:
    std::string problem_;
    std::string fix_;
};

}  // namespace wirelab
