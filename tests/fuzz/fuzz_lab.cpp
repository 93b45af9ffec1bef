// libFuzzer target: lab.json text a trainer might write (or mangle), loaded
// and its checks compiled. Every outcome is a Lab or a LabError that names
// a place; nothing else may escape, crash or hang.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "checks/check.hpp"
#include "runtime/errors.hpp"
#include "runtime/lab.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::filesystem::path dir = [] {
        auto d = std::filesystem::temp_directory_path() / ("wirelab-fuzz-lab-" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        return d;
    }();
    {
        std::ofstream out(dir / "lab.json", std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    static const std::vector<std::string> kinds = {"http", "tcp", "ipc", "udp", "tool", "sql", "sqlite", "nosql"};
    try {
        auto lab = wirelab::Lab::load(dir, kinds, {"socket", "http"});
        (void)wirelab::checks::compile_checks(lab);
    } catch (const wirelab::LabError& e) {
        if (e.where().file.empty()) __builtin_trap();  // an error must say where
    }
    return 0;
}
