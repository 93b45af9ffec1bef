// A network device's command line in the style of Cisco IOS, I/O-free:
// bytes from the client in, bytes to send back out. A Device holds the
// running and startup configurations that its sessions share; a CliSession
// is one login (Username/Password, enable, configure terminal, interface,
// vlan, show …, write memory) with `--More--` paging and IOS's error
// markers. Every command is recorded with the running-config lines it
// added and removed.
#pragma once
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wirelab::device {

struct Interface {
    std::string name;         // "GigabitEthernet0/1"
    std::string description;
    std::string ip, mask;     // "" = no address
    bool shutdown = false;
    std::string mode;         // "", "access" or "trunk"
    int access_vlan = 1;
};

/// A device's configuration, running or startup.
struct Config {
    std::string hostname;
    std::vector<Interface> interfaces;  // in the order the device lists them
    std::map<int, std::string> vlans;   // id → name
    /// The text of `show running-config` (from "!" to "end").
    std::string render() const;
    Interface* find(const std::string& full_name);
    const Interface* find(const std::string& full_name) const;
};

/// What a lab declares about one device.
struct DeviceSpec {
    std::string name;                 // the key under "devices"
    std::string username = "admin", password = "admin", enable_secret = "enable";
    std::size_t page_lines = 24;      // lines per page before --More-- (0: never)
    bool echo = false;                // echo what is typed, as a telnet session does (not passwords)
    Config config;                    // the running config at start (also the startup config)
};

/// One command a session ran, as the journal keeps it.
struct CommandRecord {
    std::string mode;                // exec, privileged, config, config-if, config-vlan
    std::string line;                // as typed
    std::string command;             // its first keyword in full ("configure" for "conf t"), or the word typed
    std::string error;               // "% Invalid input detected at '^' marker." … or ""
    std::vector<std::string> diff;   // "+ vlan 10", "-  shutdown": running-config lines changed
    std::size_t output_bytes = 0;
};

/// The shared state of one simulated device.
struct Device {
    explicit Device(DeviceSpec s) : spec(std::move(s)), running(spec.config), startup(spec.config) {}
    DeviceSpec spec;
    Config running, startup;
    bool saved() const { return running.render() == startup.render(); }
};

/// "Gi0/1", "g0/1", "gigabitethernet 0/1" → "GigabitEthernet0/1" (or "").
std::string expand_interface(const std::string& word, const std::string& next = {});

/// The name IOS gives a VLAN created without one: "VLAN0010".
std::string default_vlan_name(int id);

/// What is wrong with giving interface `name` of `c` the address
/// `ip`/`mask` in IOS's words (a bad address or mask, host bits of zeros or
/// ones, a subnet another interface has), or "" when nothing is.
std::string address_problem(const Config& c, const std::string& name, const std::string& ip, const std::string& mask);

/// Lines of `after` not in `before` ("+ …") and of `before` not in `after` ("- …"), in order.
std::vector<std::string> line_diff(const std::string& before, const std::string& after);

class CliSession {
public:
    explicit CliSession(Device& device) : d_(device) {}
    /// What the device sends when the connection opens (the login prompt).
    std::string start();
    /// The client's bytes; returns what the device answers.
    std::string feed(std::string_view bytes);
    /// The session ended (exit, logout, too many failed logins).
    bool closed() const { return closed_; }
    /// At a --More-- prompt, waiting for a key.
    bool paging() const { return !more_.empty(); }
    /// The commands run since the last call.
    std::vector<CommandRecord> take_records() { return std::exchange(records_, {}); }
    std::string mode_name() const;
    std::string prompt() const;

private:
    enum class Mode { username, password, exec, enable_password, privileged, config, config_if, config_vlan, copy_dest };
    std::string line(const std::string& text);
    std::string run(const std::string& text, CommandRecord& rec);
    std::string exec_command(const std::vector<std::string>& w, const std::vector<std::size_t>& at, const std::string& text,
                             CommandRecord& rec, bool privileged);
    std::string config_command(const std::vector<std::string>& w, const std::vector<std::size_t>& at, const std::string& text,
                               CommandRecord& rec);
    std::string show(const std::vector<std::string>& w, const std::vector<std::size_t>& at, std::size_t from,
                     const std::string& text, CommandRecord& rec, bool privileged);
    std::string invalid(std::size_t column, CommandRecord& rec);
    std::string error(const std::string& message, CommandRecord& rec);
    /// Output of a show command, paged.
    std::string paged(const std::string& text);
    std::string more_key(char c);

    Device& d_;
    Mode mode_ = Mode::username;
    std::string user_;
    int failures_ = 0;
    bool closed_ = false;
    std::string pending_;              // bytes of a line not yet ended
    bool skip_lf_ = false;             // a CR ended the last line: a LF right after belongs to it
    std::vector<std::string> more_;    // lines waiting behind --More--
    std::size_t page_lines_ = 0;       // 0: the device's (terminal length)
    bool length_set_ = false;
    std::string interface_;            // config-if: the interface
    int vlan_ = 0;                     // config-vlan: the vlan
    std::vector<CommandRecord> records_;
};

}  // namespace wirelab::device
