// The device CLI without sockets: login, modes and prompts, configuration
// and its diff, show output, --More-- paging, IOS's error markers, and
// input split anywhere.
#include <catch2/catch.hpp>

#include "services/device/cli.hpp"

using namespace wirelab::device;

namespace {

Device make_switch(std::size_t page = 24, int ports = 4) {
    DeviceSpec s;
    s.name = "sw1";
    s.page_lines = page;
    s.config.hostname = "sw1";
    for (int i = 1; i <= ports; ++i) {
        Interface f;
        f.name = "GigabitEthernet0/" + std::to_string(i);
        s.config.interfaces.push_back(f);
    }
    s.config.vlans[1] = "default";
    return Device(s);
}

/// A session logged in (and enabled when asked).
struct Logged {
    Device dev;
    CliSession cli;
    explicit Logged(bool enable = true, std::size_t page = 24, int ports = 4) : dev(make_switch(page, ports)), cli(dev) {
        cli.start();
        cli.feed("admin\r\nadmin\r\n");
        if (enable) cli.feed("enable\r\nenable\r\n");
        cli.take_records();
    }
    std::string run(const std::string& line) { return cli.feed(line + "\r\n"); }
};

}  // namespace

TEST_CASE("login: username, password, three tries", "[device][unit]") {
    Device dev = make_switch();
    CliSession cli(dev);
    CHECK(cli.start() == "\r\nUser Access Verification\r\n\r\nUsername: ");
    CHECK(cli.feed("admin\r\n") == "Password: ");
    CHECK(cli.feed("wrong\r\n") == "% Login invalid\r\n\r\nUsername: ");
    CHECK(cli.feed("admin\r\nadmin\r\n") == "Password: \r\nsw1>");
    auto recs = cli.take_records();
    REQUIRE(recs.size() == 2);
    CHECK(recs[0].line == "login admin");  // never the password
    CHECK(recs[0].error == "% Login invalid");
    CHECK(recs[1].error.empty());

    CliSession bad(dev);
    bad.start();
    bad.feed("x\ny\nx\ny\n");
    CHECK_FALSE(bad.closed());
    CHECK(bad.feed("x\ny\n") == "Password: % Login invalid\r\n\r\n% Bad passwords\r\n");
    CHECK(bad.closed());
}

TEST_CASE("enable, configure terminal and the prompts of each mode", "[device][unit]") {
    Logged s(false);
    CHECK(s.run("enable") == "Password: ");
    CHECK(s.run("nope") == "% Access denied\r\n\r\nsw1>");
    CHECK(s.run("en") == "Password: ");
    CHECK(s.run("enable") == "sw1#");
    CHECK(s.run("conf t") == "Enter configuration commands, one per line.  End with CNTL/Z.\r\nsw1(config)#");
    CHECK(s.run("int g0/2") == "sw1(config-if)#");
    CHECK(s.run("vlan 10") == "sw1(config-vlan)#");  // a global command from a sub-mode, as IOS allows
    CHECK(s.run("exit") == "sw1(config)#");
    CHECK(s.cli.feed("\x1a") == "sw1#");
    CHECK(s.run("disable") == "sw1>");
    s.run("exit");
    CHECK(s.cli.closed());
    auto recs = s.cli.take_records();
    CHECK(recs.front().line == "enable");
    CHECK(recs.front().error == "% Access denied");
}

TEST_CASE("user mode refuses privileged commands with the caret under them", "[device][unit]") {
    Logged s(false);
    const std::string marker = "^\r\n% Invalid input detected at '^' marker.\r\n\r\n";
    CHECK(s.run("configure terminal") == std::string(4, ' ') + marker + "sw1>");        // under "configure"
    CHECK(s.run("show running-config") == std::string(4 + 5, ' ') + marker + "sw1>");  // under "running-config"
    auto recs = s.cli.take_records();
    REQUIRE(recs.size() == 2);
    CHECK(recs[0].mode == "exec");
    CHECK(recs[0].error == "% Invalid input detected at '^' marker.");
}

TEST_CASE("configuration changes are recorded as running-config diffs", "[device][unit]") {
    Logged s;
    s.run("configure terminal");
    s.run("vlan 10");
    s.run("name users");
    s.run("interface GigabitEthernet0/1");
    s.run("description to the printer");
    s.run("switchport mode access");
    s.run("switchport access vlan 10");
    s.run("ip address 10.1.1.1 255.255.255.0");
    s.run("shutdown");
    s.run("no shutdown");
    s.run("end");
    auto recs = s.cli.take_records();
    REQUIRE(recs.size() == 11);
    CHECK(recs[0].command == "configure");  // typed "configure terminal"
    CHECK(recs[1].line == "vlan 10");
    CHECK(recs[1].command == "vlan");
    CHECK(recs[1].mode == "config");
    CHECK(recs[1].diff == std::vector<std::string>{"+ vlan 10", "+ !"});
    CHECK(recs[2].diff == std::vector<std::string>{"+  name users"});
    CHECK(recs[3].diff.empty());  // entering an interface changes nothing
    CHECK(recs[4].mode == "config-if");
    CHECK(recs[4].diff == std::vector<std::string>{"+  description to the printer"});
    CHECK(recs[8].diff == std::vector<std::string>{"+  shutdown"});
    CHECK(recs[9].diff == std::vector<std::string>{"-  shutdown"});
    std::string run = s.dev.running.render();
    CHECK(run.find("vlan 10\r\n name users\r\n!\r\n") != std::string::npos);
    CHECK(run.find("interface GigabitEthernet0/1\r\n description to the printer\r\n switchport access vlan 10\r\n"
                   " switchport mode access\r\n ip address 10.1.1.1 255.255.255.0\r\n!\r\n") != std::string::npos);
    // the same again changes nothing: idempotent
    s.run("conf t");
    s.run("vlan 10");
    s.run("name users");
    s.run("end");
    for (const auto& r : s.cli.take_records()) CHECK(r.diff.empty());
    CHECK_FALSE(s.dev.saved());
    CHECK(s.run("write memory") == "Building configuration...\r\n[OK]\r\nsw1#");
    CHECK(s.dev.saved());
}

TEST_CASE("copy running-config startup-config asks for the destination", "[device][unit]") {
    Logged s;
    s.run("conf t");
    s.run("hostname core1");
    CHECK(s.run("end") == "core1#");
    CHECK(s.run("copy run start") == "Destination filename [startup-config]? ");
    CHECK_FALSE(s.dev.saved());
    CHECK(s.run("") == "Building configuration...\r\n[OK]\r\ncore1#");
    CHECK(s.dev.saved());
    auto recs = s.cli.take_records();
    CHECK(recs.back().line == "copy running-config startup-config");
}

TEST_CASE("errors: invalid input, incomplete and ambiguous commands, bad addresses", "[device][unit]") {
    Logged s;
    const std::string marker = "^\r\n% Invalid input detected at '^' marker.\r\n\r\n";
    CHECK(s.run("conf tx") == std::string(4 + 5, ' ') + marker + "sw1#");
    CHECK(s.run("co") == "% Ambiguous command:  \"co\"\r\n\r\nsw1#");  // configure or copy
    s.run("conf t");
    CHECK(s.run("vlan") == "% Incomplete command.\r\n\r\nsw1(config)#");
    CHECK(s.run("vlan 5000") == std::string(12 + 5, ' ') + marker + "sw1(config)#");
    CHECK(s.run("interface GigabitEthernet0/9").find("% Invalid input detected") != std::string::npos);
    s.run("interface gi0/1");
    CHECK(s.run("ip address 10.0.0.1") == "% Incomplete command.\r\n\r\nsw1(config-if)#");
    CHECK(s.run("ip address 10.0.0.300 255.255.255.0").find("^\r\n% Invalid input") != std::string::npos);
    CHECK(s.run("ip address 10.0.0.1 255.0.255.0").find("^\r\n% Invalid input") != std::string::npos);
    CHECK(s.run("ip address 10.0.0.0 255.255.255.0") == "Bad mask /24 for address 10.0.0.0\r\n\r\nsw1(config-if)#");
    s.run("ip address 10.0.0.1 255.255.255.0");
    s.run("interface gi0/2");
    CHECK(s.run("ip address 10.0.0.2 255.255.255.0") ==
          "% 10.0.0.2 overlaps with GigabitEthernet0/1\r\n\r\nsw1(config-if)#");
    s.run("exit");
    CHECK(s.run("no vlan 1") == "%Default VLAN 1 may not be deleted.\r\n\r\nsw1(config)#");
}

TEST_CASE("show ip interface brief and show vlan brief", "[device][unit]") {
    Logged s;
    s.run("conf t");
    s.run("vlan 20");
    s.run("name voice");
    s.run("int g0/3");
    s.run("switchport access vlan 20");
    s.run("ip address 192.168.1.1 255.255.255.0");
    s.run("shutdown");
    s.run("end");
    std::string brief = s.run("show ip interface brief");
    CHECK(brief.rfind("Interface              IP-Address      OK? Method Status                Protocol\r\n", 0) == 0);
    CHECK(brief.find("GigabitEthernet0/1     unassigned      YES unset  up                    up\r\n") != std::string::npos);
    CHECK(brief.find("GigabitEthernet0/3     192.168.1.1     YES manual administratively down down\r\n") != std::string::npos);
    std::string vlans = s.run("sh vlan br");
    CHECK(vlans.find("1    default                          active    Gi0/1, Gi0/2, Gi0/4\r\n") != std::string::npos);
    CHECK(vlans.find("20   voice                            active    Gi0/3\r\n") != std::string::npos);
    CHECK(vlans.substr(vlans.size() - 4) == "sw1#");
}

TEST_CASE("paging at --More--: space for a page, enter for a line, q to stop, terminal length 0", "[device][unit]") {
    Logged s(true, 5, 10);
    std::string first = s.run("show running-config");
    CHECK(first.rfind("Building configuration...\r\n", 0) == 0);
    CHECK(first.size() > 10);
    CHECK(first.substr(first.size() - 10) == " --More-- ");
    CHECK(s.cli.paging());
    std::string next = s.cli.feed(" ");
    CHECK(next.substr(next.size() - 10) == " --More-- ");
    std::string one = s.cli.feed("\r");
    CHECK(std::count(one.begin(), one.end(), '\n') == 1);
    std::string rest;
    while (s.cli.paging()) rest += s.cli.feed(" ");
    CHECK(rest.find("end\r\nsw1#") != std::string::npos);
    // q stops the output at once
    s.run("show running-config");
    CHECK(s.cli.feed("q") == "\r          \rsw1#");
    // with terminal length 0 nothing is paged
    s.run("terminal length 0");
    std::string all = s.run("show running-config");
    CHECK(all.find("--More--") == std::string::npos);
    CHECK(all.substr(all.size() - 9) == "end\r\nsw1#");
}

TEST_CASE("input split anywhere, LF or CRLF or CR NUL line ends", "[device][unit]") {
    Logged s;
    std::string out;
    using namespace std::string_literals;
    for (char c : "conf t\nvlan 30\r\x00name lab\r\nend\n"s) out += s.cli.feed(std::string(1, c));
    CHECK(out == "Enter configuration commands, one per line.  End with CNTL/Z.\r\nsw1(config)#sw1(config-vlan)#"
                 "sw1(config-vlan)#sw1#");
    CHECK(s.dev.running.vlans.at(30) == "lab");
}

TEST_CASE("interface names and abbreviations", "[device][unit]") {
    CHECK(expand_interface("g0/1") == "GigabitEthernet0/1");
    CHECK(expand_interface("Gi1/0/24") == "GigabitEthernet1/0/24");
    CHECK(expand_interface("gigabitethernet", "0/2") == "GigabitEthernet0/2");
    CHECK(expand_interface("fa0/1") == "FastEthernet0/1");
    CHECK(expand_interface("lo0") == "Loopback0");
    CHECK(expand_interface("e0/1") == "Ethernet0/1");
    CHECK(expand_interface("x0/1").empty());
    CHECK(expand_interface("g").empty());
}

TEST_CASE("echo: what is typed comes back, passwords do not", "[device][unit]") {
    Device dev = make_switch();
    dev.spec.echo = true;
    CliSession cli(dev);
    cli.start();
    CHECK(cli.feed("admin\r\n") == "admin\r\nPassword: ");
    CHECK(cli.feed("admin\r\n") == "\r\n\r\nsw1>");  // the password is not echoed
    CHECK(cli.feed("show clock\r\n") == "show clock\r\n*12:00:00.000 UTC Tue Dec 1 2026\r\nsw1>");
    CHECK(cli.feed("en") == "en");  // a line typed a piece at a time
    CHECK(cli.feed("able\r\n") == "able\r\nPassword: ");
    CHECK(cli.feed("enable\r\n") == "\r\nsw1#");
}
