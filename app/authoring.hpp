// Tools for lab authors: `wirelab validate` (a lab loads, its checks
// compile, its solution passes and each mistake fails exactly the checks
// its header names) and `wirelab new` (a lab folder that validates).
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace wirelab {
struct Lab;
}

namespace wirelab::authoring {

struct ValidateOptions {
    std::string format = "text";  // text or json
    int jobs = 2;                 // runs at once
    std::string python;           // interpreter for the scripts ("" = default)
    bool runs = true;             // false: load and compile only
};

/// Validates each lab folder; prints a report; 0 when every lab is sound,
/// 1 otherwise.
int validate(const std::vector<std::filesystem::path>& labs, const ValidateOptions& opt);

/// Writes a new lab folder `dir` with id `id` (lab.json with params, a
/// README, starter, solution and three mistakes). Returns 0, or 2 with a
/// message when `dir` exists or cannot be written.
int scaffold(const std::string& id, const std::filesystem::path& dir);

/// Builds every service of `lab` in a scratch run directory (removed
/// however it ends), which validates their specs. Throws LabError.
void check_services(const Lab& lab);

/// The ids a mistake file says it fails ("# fails: a, b" in its first
/// lines); nullopt when it has no such line.
std::optional<std::vector<std::string>> declared_failures(const std::filesystem::path& script);

}  // namespace wirelab::authoring
