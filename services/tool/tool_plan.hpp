// A simulated command-line tool (`devctl`): what it prints and how it exits
// for a given argv, decided by the service from the lab's inventory. I/O-free
// so that it is unit-tested; the tool process only carries the plan out.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "runtime/json_source.hpp"

namespace wirelab::tool {

/// One device of the tool's inventory, as lab.json declares it.
struct Device {
    std::string name;
    std::string model = "C8300";
    std::string serial;          // printed near the end of `show`
    std::optional<int> exit;     // fails with this status ...
    std::string error;           // ... and this line on stderr
    bool hang = false;           // prints a line, then never ends
    int delay_ms = -1;           // before answering (-1: the tool's)
};

struct ToolSpec {
    std::string command = "devctl";
    std::string version = "2.4.1";
    std::vector<Device> inventory;
    std::size_t output_bytes = 96 * 1024;  // of stdout and of stderr, each, for `show`
    int delay_ms = 0;

    /// Reads "command", "version", "inventory", "output_kb", "delay_ms".
    static ToolSpec read(Spec& s, const std::string& service);
};

/// What the tool does for one argv.
struct Plan {
    std::string out, err;
    int exit = 0;
    bool hang = false;  // after writing out and err, never end
    int delay_ms = 0;   // before writing anything
    std::string device; // the inventory device it concerned, if any
};

Plan plan_for(const ToolSpec& spec, const std::vector<std::string>& argv);

/// The running configuration `show` prints for a device, about `bytes` long.
std::string running_config(const ToolSpec& spec, const Device& d);

}  // namespace wirelab::tool
