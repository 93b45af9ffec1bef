// What services that the lab seeds share: the "reset" key (made again
// before every case, or never), SQL given in "schema" or "schema_file", and
// the copy of a SQLite state kept after each case for `state` checks with
// "case".
#pragma once
#include <filesystem>
#include <map>
#include <string>

#include "runtime/json_source.hpp"
#include "runtime/params.hpp"

namespace wirelab {

/// Reads "reset": true for "each_case" (the default), false for "never".
bool read_reset_each_case(Spec& spec);

/// Reads "schema" (SQL text, or an array of statements) or "schema_file"
/// (a file of the lab's), not both; "" when neither is given.
std::string read_schema(Spec& spec, const std::filesystem::path& lab_dir, const Params* params);

/// The text of `rel`, a file of the lab folder named by `key` of `spec`,
/// with the lab's params filled in. Throws LabError (at `key`) when it
/// cannot be read.
std::string read_lab_file(Spec& spec, const std::string& key, const std::string& rel,
                          const std::filesystem::path& lab_dir, const Params* params);

/// The state a service kept after each case: copies of its SQLite state
/// file, state/<service>@<case>.db, by case name.
class CaseStates {
public:
    /// Copies `state_file` for case `case_name`; throws std::runtime_error.
    void keep(const std::filesystem::path& state_file, const std::string& service, const std::string& case_name);
    const std::map<std::string, std::filesystem::path>& files() const { return files_; }

private:
    std::map<std::string, std::filesystem::path> files_;
};

}  // namespace wirelab
