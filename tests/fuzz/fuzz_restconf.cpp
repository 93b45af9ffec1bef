// libFuzzer target: the RESTCONF model fed arbitrary requests, one after
// another on one device (records split by NUL: a method byte, the path up
// to the first newline, the body after it). Nothing may crash; every
// answer's body is JSON or empty; a refused request changes nothing; the
// running config renders and stays bounded.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "services/device/restconf.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace wirelab::device;
    static const char* methods[] = {"GET", "PUT", "PATCH", "POST", "DELETE", "HEAD", "OPTIONS", "TRACE"};
    DeviceSpec spec;
    spec.name = "r1";
    spec.config.hostname = "r1";
    for (int i = 1; i <= 3; ++i) {
        Interface f;
        f.name = "GigabitEthernet0/" + std::to_string(i);
        spec.config.interfaces.push_back(f);
    }
    spec.config.interfaces[0].ip = "10.0.0.1";
    spec.config.interfaces[0].mask = "255.255.255.0";
    spec.config.vlans[1] = "default";
    Device dev(spec);
    std::string_view in(reinterpret_cast<const char*>(data), size);
    for (int n = 0; !in.empty() && n < 16; ++n) {
        auto end = in.find('\0');
        std::string_view rec = in.substr(0, end);
        in = end == std::string_view::npos ? std::string_view() : in.substr(end + 1);
        if (rec.empty()) continue;
        RestconfRequest r;
        r.method = methods[static_cast<unsigned char>(rec[0]) % 8];
        r.authorization = rec[0] & 0x40 ? "Basic YWRtaW46YWRtaW4=" : "";
        r.content_type = "application/yang-data+json";
        rec.remove_prefix(1);
        auto nl = rec.find('\n');
        r.path = "/restconf/data" + std::string(rec.substr(0, nl));
        if (nl != std::string_view::npos) r.body = std::string(rec.substr(nl + 1));
        std::string before = dev.running.render();
        RestconfReply a = restconf(dev, r);
        if (!a.body.empty() && a.body[0] == '{' && !nlohmann::json::accept(a.body)) __builtin_trap();
        if (a.status >= 400 && dev.running.render() != before) __builtin_trap();
        if (a.status < 100 || a.status > 599) __builtin_trap();
    }
    std::string run = dev.running.render();
    if (run.size() > (1u << 22) || dev.running.interfaces.size() > 10003) __builtin_trap();
    (void)restconf_data(dev.running);
    return 0;
}
