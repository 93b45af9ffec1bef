// libFuzzer target: the device CLI fed arbitrary bytes in arbitrary pieces,
// logged in or not, paging or not. Nothing may crash or hang; the running
// config must render and stay bounded; a closed session takes no more input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "services/device/cli.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace wirelab::device;
    if (size == 0) return 0;
    DeviceSpec spec;
    spec.name = "sw1";
    spec.config.hostname = "sw1";
    spec.page_lines = data[0] % 8;  // small pages: the --More-- paths too
    for (int i = 1; i <= 4; ++i) {
        Interface f;
        f.name = "GigabitEthernet0/" + std::to_string(i);
        spec.config.interfaces.push_back(f);
    }
    spec.config.vlans[1] = "default";
    Device dev(spec);
    CliSession cli(dev);
    (void)cli.start();
    if (data[0] & 0x80) cli.feed("admin\r\nadmin\r\nenable\r\nenable\r\nconf t\r\n");  // start configuring
    std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::size_t cut = (data[0] >> 3) % 7 + 1;
    std::size_t out = 0;
    for (std::size_t i = 0; i < in.size() && !cli.closed(); i += cut) {
        out += cli.feed(in.substr(i, cut)).size();
        for (const auto& r : cli.take_records()) (void)r.diff.size();
    }
    if (cli.closed() && !cli.feed("show version\r\n").empty()) __builtin_trap();
    std::string run = dev.running.render();
    if (run.size() > (1u << 20) || dev.running.vlans.size() > 4094) __builtin_trap();
    (void)line_diff(dev.startup.render(), run);
    (void)out;
    return 0;
}
