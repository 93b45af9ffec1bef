// The limits a lab sets on the learner's program (lab.json "limits", per
// lab and per case), with safe defaults.
#pragma once
#include <cstdint>
#include <optional>

namespace wirelab {

/// What the learner's program may use. Each limit hit stops the program
/// and is reported in words (CaseOutcome::limit_detail).
struct Limits {
    std::optional<double> cpu_s;           // CPU seconds per process (RLIMIT_CPU)
    std::optional<std::uint64_t> memory_mb = 4096;   // address space per process
    std::optional<std::uint64_t> open_files = 1024;  // descriptors per process
    std::optional<std::uint64_t> file_size_mb = 256; // largest file it may write
    std::uint64_t output_mb = 64;          // stdout + stderr together
    int processes = 64;                    // live at once, the whole tree
};

}  // namespace wirelab
