// Keeping a learner's program away from the evidence: the journal and the
// services' state files are covered, for that program only, in a mount
// namespace of its own (docs/security.md). The program runs as the same
// user as wirelab, so file permissions alone cannot do it.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace wirelab::isolation {

/// What to cover, prepared before fork(): the child only makes system calls.
class Plan {
public:
    Plan() = default;
    /// `paths`: files (covered with `cover`, an empty file that must be in
    /// one of the directories, so that it is out of reach too) and
    /// directories (covered with an empty read-only tmpfs); those that do
    /// not exist when the plan is made are skipped.
    Plan(const std::vector<std::filesystem::path>& paths, const std::filesystem::path& cover);
    bool empty() const { return files_.empty() && dirs_.empty(); }
    /// In the child, between fork() and exec(): a user and mount namespace,
    /// the paths covered, then a second user namespace so that the covers
    /// are locked (the program cannot unmount them). Returns 0, or the step
    /// that failed (1-based) with errno set; async-signal-safe.
    int apply() const;

private:
    std::vector<std::string> files_, dirs_;
    std::string cover_;
    std::string uid_map_, gid_map_;
};

/// Empty when this machine lets wirelab do it (tried once, in a child that
/// exits); otherwise why not ("user namespaces are disabled: …").
const std::string& unavailable();

}  // namespace wirelab::isolation
