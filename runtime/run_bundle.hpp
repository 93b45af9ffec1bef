// A run directory packed for the classroom: its journal and the state files
// the journal names, in one gzip stream. The learner's `wirelab check
// --classroom` packs; the classroom server unpacks with bounds (size, file
// count, names) before grading the run itself.
#pragma once
#include <cstddef>
#include <filesystem>
#include <string>

namespace wirelab {

/// Packs `run_dir` (journal.db and the files its meta "state_files" lists).
/// Throws EnvError when the journal is missing or a file cannot be read.
std::string pack_run(const std::filesystem::path& run_dir);

struct UnpackLimits {
    std::size_t max_bytes = 64u << 20;  // unpacked, all files together
    std::size_t max_files = 64;
};

/// Unpacks a bundle into `dir` (created). Throws std::invalid_argument
/// with a sentence a learner can read when the bundle is not one
/// (bad gzip, truncated, a name outside the folder, over a limit).
void unpack_run(const std::string& bundle, const std::filesystem::path& dir, const UnpackLimits& limits = {});

}  // namespace wirelab
