#include "services/tool/tool_plan.hpp"

#include <nlohmann/json.hpp>
#include <algorithm>
#include <regex>

namespace wirelab::tool {

ToolSpec ToolSpec::read(Spec& s, const std::string& service) {
    ToolSpec t;
    t.command = s.string("command", service);
    static const std::regex name_re("[a-z][a-z0-9_-]{0,31}");
    if (!std::regex_match(t.command, name_re))
        s.fail("command", "\"" + t.command + "\" cannot be a command name",
               "use lower-case letters, digits, '-' and '_', starting with a letter, e.g. \"devctl\"");
    if (t.command.rfind("wirelab", 0) == 0)
        s.fail("command", "a tool's name cannot start with \"wirelab\" (that name runs wirelab itself)",
               "name it after what it does, e.g. \"devctl\"");
    t.version = s.string("version", t.version);
    t.output_bytes = static_cast<std::size_t>(s.integer("output_kb", 96, 1, 16384)) * 1024;
    t.delay_ms = static_cast<int>(s.integer("delay_ms", 0, 0, 60000));
    const json& inv = s.required("inventory");
    if (!inv.is_array() || inv.empty())
        s.fail("inventory", "\"inventory\" is a non-empty array of devices",
               "e.g. [{\"name\": \"r1\", \"serial\": \"FTX1001\"}]");
    for (std::size_t i = 0; i < inv.size(); ++i) {
        std::string ptr = s.pointer("inventory") + "/" + std::to_string(i);
        if (!inv[i].is_object())
            s.fail("inventory", "device " + std::to_string(i) + " is " + json_type_name(inv[i]) +
                                    "; each device is an object with at least \"name\"");
        Spec d(s.doc(), inv[i], ptr, "device");
        Device dev;
        dev.name = d.string("name");
        if (dev.name.empty() || dev.name.find('\n') != std::string::npos || dev.name.find('\0') != std::string::npos)
            d.fail("name", "a device name is one line of text, not empty");
        for (const auto& other : t.inventory)
            if (other.name == dev.name) d.fail("name", "two devices are named \"" + dev.name + "\"");
        dev.model = d.string("model", dev.model);
        dev.serial = d.string("serial", "");
        if (auto e = d.opt_integer("exit", 1, 255)) dev.exit = static_cast<int>(*e);
        dev.error = d.string("error", dev.exit ? dev.name + ": connection refused" : "");
        if (!dev.error.empty() && !dev.exit) d.fail("error", "\"error\" goes with \"exit\" (the status the tool fails with)");
        dev.hang = d.boolean("hang", false);
        if (dev.hang && dev.exit) d.fail("hang", "a device either hangs or fails with \"exit\", not both");
        dev.delay_ms = static_cast<int>(d.integer("delay_ms", -1, -1, 60000));
        d.finish();
        t.inventory.push_back(std::move(dev));
    }
    return t;
}

namespace {

std::string usage(const ToolSpec& t) {
    const std::string& c = t.command;
    return "usage: " + c + " [--version] COMMAND [ARGS]\n\n"
           "commands:\n"
           "  list [--json]    the devices of the inventory, one per line\n"
           "  show DEVICE      the running configuration of DEVICE\n"
           "  version          the version of " + c + "\n\n"
           "exit status: 0 done, 2 usage error, 4 no such device, other: the device failed\n";
}

Plan usage_error(const ToolSpec& t, const std::string& why) {
    Plan p;
    p.err = usage(t) + t.command + ": error: " + why + "\n";
    p.exit = 2;
    return p;
}

}  // namespace

std::string running_config(const ToolSpec& t, const Device& d) {
    std::string out = "! " + t.command + " " + t.version + " running-config of " + d.name + "\n";
    out += "hostname " + d.name + "\nmodel " + d.model + "\n!\n";
    std::string tail = "serial-number " + (d.serial.empty() ? std::string("unknown") : d.serial) + "\n!\nend\n";
    for (int i = 1; out.size() + tail.size() < t.output_bytes; ++i) {
        int slot = i / 48, port = i % 48;
        out += "interface GigabitEthernet" + std::to_string(slot) + "/" + std::to_string(port) + "\n";
        out += " description " + d.name + " port " + std::to_string(i) + "\n";
        out += " ip address 10." + std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255) +
               ".1 255.255.255.252\n";
        out += i % 7 == 0 ? " shutdown\n!\n" : " no shutdown\n!\n";
    }
    return out + tail;
}

Plan plan_for(const ToolSpec& t, const std::vector<std::string>& argv) {
    Plan p;
    if (argv.empty()) return usage_error(t, "say which command to run");
    const std::string& cmd = argv[0];
    if (cmd == "-h" || cmd == "--help" || cmd == "help") {
        p.out = usage(t);
        return p;
    }
    if (cmd == "--version" || cmd == "version") {
        if (argv.size() > 1) return usage_error(t, "'" + cmd + "' takes no arguments");
        p.out = t.command + " " + t.version + "\n";
        return p;
    }
    if (cmd == "list") {
        bool as_json = argv.size() == 2 && argv[1] == "--json";
        if (argv.size() > 1 && !as_json) return usage_error(t, "'list' takes only --json");
        if (as_json) {
            nlohmann::json a = nlohmann::json::array();
            for (const auto& d : t.inventory) a.push_back({{"name", d.name}, {"model", d.model}});
            p.out = a.dump() + "\n";
        } else {
            for (const auto& d : t.inventory) p.out += d.name + "\n";
        }
        return p;
    }
    if (cmd == "show") {
        if (argv.size() != 2)
            return usage_error(t, argv.size() < 2 ? "'show' needs one DEVICE"
                                                  : "'show' takes one DEVICE, got " + std::to_string(argv.size() - 1) +
                                                        " arguments (a name with spaces is one argument)");
        const Device* d = nullptr;
        for (const auto& dev : t.inventory)
            if (dev.name == argv[1]) d = &dev;
        if (!d) {
            p.err = t.command + ": no device named '" + argv[1] + "' (run '" + t.command + " list' to see the inventory)\n";
            p.exit = 4;
            return p;
        }
        p.device = d->name;
        p.delay_ms = d->delay_ms >= 0 ? d->delay_ms : t.delay_ms;
        p.err = t.command + ": connecting to " + d->name + " ...\n";
        if (d->hang) {
            p.hang = true;
            return p;
        }
        if (d->exit) {
            p.err += t.command + ": " + d->error + "\n";
            p.exit = *d->exit;
            return p;
        }
        p.out = running_config(t, *d);
        for (std::size_t got = 0; p.err.size() < t.output_bytes; got += p.out.size() / 1000 + 1)
            p.err += t.command + ": " + d->name + ": running-config: " + std::to_string(std::min(got, p.out.size())) +
                     " of " + std::to_string(p.out.size()) + " bytes received\n";
        p.err += t.command + ": " + d->name + ": done\n";
        return p;
    }
    return usage_error(t, "unknown command '" + cmd + "'");
}

}  // namespace wirelab::tool
