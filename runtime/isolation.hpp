// Keeping a learner's program away from the evidence: the journal and the
// services' state files are covered, for that program only, in a mount
// namespace of its own (docs/security.md). The program runs as the same
// user as wirelab, so file permissions alone cannot do it.
#pragma once
#include <filesystem>
#include <optional>
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

/// Whether a program should be started with its covers: not once a
/// program's child found that this machine refuses them.
bool worth_trying();
/// Before forking a child that applies a Plan: wirelab's own /proc/PID/fd
/// (its open journal) closed to the program.
void before_apply();
/// What the child's apply() returned: 0, or the step that failed and its
/// errno (wirelab is then open again, and no program is tried again).
void learned(int step, int err);
/// Nothing before the first program started with covers; then empty where
/// the covers work, else why not ("a user namespace: No space left on device").
std::optional<std::string> known();

}  // namespace wirelab::isolation
