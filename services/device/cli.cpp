#include "services/device/cli.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <regex>
#include <sstream>

namespace wirelab::device {

namespace {

const char* kInvalid = "% Invalid input detected at '^' marker.";
const char* kIncomplete = "% Incomplete command.";
const std::string kErase = "\r          \r";  // wipes " --More-- " off the line

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

/// The keyword `word` abbreviates, "" when none; `ambiguous` when several.
std::string keyword(const std::string& word, std::initializer_list<const char*> words, bool* ambiguous = nullptr) {
    std::string w = lower(word), found;
    int n = 0;
    for (const char* k : words) {
        std::string kw = k;
        if (kw == w) return kw;
        if (!w.empty() && kw.compare(0, w.size(), w) == 0) {
            found = kw;
            ++n;
        }
    }
    if (ambiguous) *ambiguous = n > 1;
    return n == 1 ? found : std::string();
}

bool parse_int(const std::string& s, int lo, int hi, int& out) {
    if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    out = std::stoi(s);
    return out >= lo && out <= hi;
}

bool parse_ipv4(const std::string& s, std::uint32_t& out) {
    static const std::regex re(R"((\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}))");
    std::smatch m;
    if (!std::regex_match(s, m, re)) return false;
    out = 0;
    for (int i = 1; i <= 4; ++i) {
        int v = std::stoi(m[i]);
        if (v > 255) return false;
        out = (out << 8) | static_cast<std::uint32_t>(v);
    }
    return true;
}

bool valid_mask(std::uint32_t m) { return m != 0 && ((~m + 1) & ~m) == 0; }  // contiguous ones, then zeros

std::string short_name(const std::string& full) {
    static const std::vector<std::pair<std::string, std::string>> names{
        {"TenGigabitEthernet", "Te"}, {"GigabitEthernet", "Gi"}, {"FastEthernet", "Fa"}, {"Ethernet", "Et"}, {"Loopback", "Lo"}};
    for (const auto& [l, s] : names)
        if (full.compare(0, l.size(), l) == 0) return s + full.substr(l.size());
    return full;
}

std::string pad(const std::string& s, std::size_t w) { return s.size() >= w ? s + " " : s + std::string(w - s.size(), ' '); }

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find("\r\n", start);
        if (end == std::string::npos) end = text.size();
        out.push_back(text.substr(start, end - start));
        start = end + 2;
    }
    return out;
}

}  // namespace

std::string default_vlan_name(int id) {
    char name[16];
    std::snprintf(name, sizeof name, "VLAN%04d", id);
    return name;
}

std::string expand_interface(const std::string& word, const std::string& next) {
    std::string w = word;
    auto digit = w.find_first_of("0123456789");
    if (digit == std::string::npos) {  // "gigabitethernet 0/1"
        if (next.empty()) return {};
        digit = w.size();
        w += next;
    }
    std::string kind = lower(w.substr(0, digit)), number = w.substr(digit);
    static const std::regex num_re(R"(\d+(/\d+){0,2})");
    if (kind.empty() || !std::regex_match(number, num_re)) return {};
    static const std::vector<std::pair<std::string, std::string>> kinds{
        {"gigabitethernet", "GigabitEthernet"}, {"fastethernet", "FastEthernet"},
        {"tengigabitethernet", "TenGigabitEthernet"}, {"ethernet", "Ethernet"}, {"loopback", "Loopback"}};
    std::string found;
    for (const auto& [l, full] : kinds)
        if (l.compare(0, kind.size(), kind) == 0) {
            if (!found.empty()) return {};  // ambiguous
            found = full;
        }
    return found.empty() ? std::string() : found + number;
}

std::string address_problem(const Config& c, const std::string& name, const std::string& ip_text,
                            const std::string& mask_text) {
    std::uint32_t ip = 0, mask = 0;
    if (!parse_ipv4(ip_text, ip)) return "% Invalid address " + ip_text;
    if (!parse_ipv4(mask_text, mask) || !valid_mask(mask)) return "% Invalid mask " + mask_text;
    if (mask != 0xffffffffu && ((ip & ~mask) == 0 || (ip | mask) == 0xffffffffu))
        return "Bad mask /" + std::to_string(__builtin_popcount(mask)) + " for address " + ip_text;
    for (const auto& other : c.interfaces)
        if (other.name != name && !other.ip.empty()) {
            std::uint32_t oip = 0, omask = 0;
            parse_ipv4(other.ip, oip);
            parse_ipv4(other.mask, omask);
            if ((oip & omask) == (ip & omask)) return "% " + ip_text + " overlaps with " + other.name;
        }
    return "";
}

std::vector<std::string> line_diff(const std::string& before, const std::string& after) {
    auto a = split_lines(before), b = split_lines(after);
    std::size_t n = a.size(), m = b.size();
    std::vector<std::vector<std::uint16_t>> lcs(n + 1, std::vector<std::uint16_t>(m + 1, 0));
    for (std::size_t i = n; i-- > 0;)
        for (std::size_t j = m; j-- > 0;)
            lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    std::vector<std::string> out;
    std::size_t i = 0, j = 0;
    while (i < n || j < m) {
        if (i < n && j < m && a[i] == b[j]) {
            ++i, ++j;
        } else if (j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j])) {
            out.push_back("+ " + b[j++]);
        } else {
            out.push_back("- " + a[i++]);
        }
    }
    return out;
}

Interface* Config::find(const std::string& full_name) {
    for (auto& i : interfaces)
        if (lower(i.name) == lower(full_name)) return &i;
    return nullptr;
}

const Interface* Config::find(const std::string& full_name) const { return const_cast<Config*>(this)->find(full_name); }

std::string Config::render() const {
    std::ostringstream o;
    o << "!\r\nhostname " << hostname << "\r\n!\r\n";
    for (const auto& [id, name] : vlans) {
        if (id == 1) continue;
        o << "vlan " << id << "\r\n";
        if (name != default_vlan_name(id)) o << " name " << name << "\r\n";
        o << "!\r\n";
    }
    for (const auto& i : interfaces) {
        o << "interface " << i.name << "\r\n";
        if (!i.description.empty()) o << " description " << i.description << "\r\n";
        if (i.access_vlan != 1) o << " switchport access vlan " << i.access_vlan << "\r\n";
        if (!i.mode.empty()) o << " switchport mode " << i.mode << "\r\n";
        if (!i.ip.empty()) o << " ip address " << i.ip << " " << i.mask << "\r\n";
        if (i.shutdown) o << " shutdown\r\n";
        o << "!\r\n";
    }
    o << "end\r\n";
    return o.str();
}

std::string CliSession::mode_name() const {
    switch (mode_) {
        case Mode::username:
        case Mode::password: return "login";
        case Mode::exec: return "exec";
        case Mode::enable_password:
        case Mode::privileged:
        case Mode::copy_dest: return "privileged";
        case Mode::config: return "config";
        case Mode::config_if: return "config-if";
        case Mode::config_vlan: return "config-vlan";
    }
    return "?";
}

std::string CliSession::prompt() const {
    const std::string& h = d_.running.hostname;
    switch (mode_) {
        case Mode::exec: return h + ">";
        case Mode::privileged: return h + "#";
        case Mode::config: return h + "(config)#";
        case Mode::config_if: return h + "(config-if)#";
        case Mode::config_vlan: return h + "(config-vlan)#";
        default: return {};
    }
}

std::string CliSession::start() { return "\r\nUser Access Verification\r\n\r\nUsername: "; }

std::string CliSession::feed(std::string_view bytes) {
    std::string out;
    for (char c : bytes) {
        if (closed_) break;
        if (skip_lf_ && c == '\n') {
            skip_lf_ = false;
            continue;
        }
        skip_lf_ = false;
        if (paging()) {
            out += more_key(c);
            continue;
        }
        bool secret = mode_ == Mode::password || mode_ == Mode::enable_password;
        if (c == '\r' || c == '\n') {
            skip_lf_ = c == '\r';
            std::string l = std::move(pending_);
            pending_.clear();
            if (d_.spec.echo) out += "\r\n";
            out += line(l);
            continue;
        }
        if (c == '\0') continue;  // telnet's CR NUL
        if (d_.spec.echo && !secret && c != '\x1a' && pending_.size() < 4096) out += c;
        if (c == '\x1a' && (mode_ == Mode::config || mode_ == Mode::config_if || mode_ == Mode::config_vlan)) {
            pending_.clear();
            out += line("end");
            continue;
        }
        if (pending_.size() < 4096) pending_ += c;
    }
    return out;
}

std::string CliSession::more_key(char c) {
    std::size_t page = length_set_ ? page_lines_ : d_.spec.page_lines;
    std::size_t n = 0;
    if (c == ' ')
        n = page ? page : more_.size();
    else if (c == '\r' || c == '\n') {
        skip_lf_ = c == '\r';
        n = 1;
    } else {  // any other key ends the output
        more_.clear();
        return kErase + prompt();
    }
    std::string out = kErase;
    n = std::min(n, more_.size());
    for (std::size_t i = 0; i < n; ++i) out += more_[i] + "\r\n";
    more_.erase(more_.begin(), more_.begin() + static_cast<std::ptrdiff_t>(n));
    out += more_.empty() ? prompt() : " --More-- ";
    return out;
}

std::string CliSession::paged(const std::string& text) {
    std::size_t page = length_set_ ? page_lines_ : d_.spec.page_lines;
    auto lines = split_lines(text);
    if (page == 0 || lines.size() <= page) return text;
    std::string out;
    for (std::size_t i = 0; i < page; ++i) out += lines[i] + "\r\n";
    more_.assign(lines.begin() + static_cast<std::ptrdiff_t>(page), lines.end());
    return out + " --More-- ";
}

std::string CliSession::line(const std::string& raw) {
    std::string text = raw;
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    if (mode_ == Mode::username) {
        user_ = text;
        mode_ = Mode::password;
        return "Password: ";
    }
    if (mode_ == Mode::password) {
        CommandRecord rec{"login", "login " + user_, "login", "", {}, 0};
        if (user_ == d_.spec.username && text == d_.spec.password) {
            mode_ = Mode::exec;
            failures_ = 0;
            records_.push_back(rec);
            return "\r\n" + prompt();
        }
        rec.error = "% Login invalid";
        records_.push_back(rec);
        if (++failures_ >= 3) {
            closed_ = true;
            return "% Login invalid\r\n\r\n% Bad passwords\r\n";
        }
        mode_ = Mode::username;
        return "% Login invalid\r\n\r\nUsername: ";
    }
    if (mode_ == Mode::enable_password) {
        CommandRecord rec{"exec", "enable", "enable", "", {}, 0};
        if (text == d_.spec.enable_secret) {
            mode_ = Mode::privileged;
            records_.push_back(rec);
            return prompt();
        }
        mode_ = Mode::exec;
        rec.error = "% Access denied";
        records_.push_back(rec);
        return "% Access denied\r\n\r\n" + prompt();
    }
    if (mode_ == Mode::copy_dest) {
        mode_ = Mode::privileged;
        CommandRecord rec{"privileged", "copy running-config startup-config", "copy", "", {}, 0};
        std::string dest = lower(text);
        if (!dest.empty() && dest != "startup-config") {
            rec.error = "%Error opening " + text + " (No such file or directory)";
            records_.push_back(rec);
            return rec.error + "\r\n" + prompt();
        }
        d_.startup = d_.running;
        records_.push_back(rec);
        return "Building configuration...\r\n[OK]\r\n" + prompt();
    }
    if (text.find_first_not_of(" \t") == std::string::npos) return "\r\n" + prompt();
    CommandRecord rec;
    rec.mode = mode_name();
    rec.line = text;
    std::string before = d_.running.render();
    std::string out = run(text, rec);
    std::string after = d_.running.render();
    if (after != before) rec.diff = line_diff(before, after);
    rec.output_bytes = out.size();
    if (!rec.line.empty()) records_.push_back(rec);
    if (closed_) return out;
    if (paging() || mode_ == Mode::enable_password || mode_ == Mode::copy_dest) return out;
    return out + prompt();
}

std::string CliSession::invalid(std::size_t column, CommandRecord& rec) {
    rec.error = kInvalid;
    return std::string(prompt().size() + column, ' ') + "^\r\n" + kInvalid + "\r\n\r\n";
}

std::string CliSession::error(const std::string& message, CommandRecord& rec) {
    rec.error = message;
    return message + "\r\n\r\n";
}

std::string CliSession::run(const std::string& text, CommandRecord& rec) {
    std::vector<std::string> w;
    std::vector<std::size_t> at;
    for (std::size_t i = 0; i < text.size();) {
        while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
        if (i >= text.size()) break;
        std::size_t s = i;
        while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
        w.push_back(text.substr(s, i - s));
        at.push_back(s);
    }
    if (mode_ == Mode::exec || mode_ == Mode::privileged)
        return exec_command(w, at, text, rec, mode_ == Mode::privileged);
    return config_command(w, at, text, rec);
}

std::string CliSession::exec_command(const std::vector<std::string>& w, const std::vector<std::size_t>& at,
                                     const std::string& text, CommandRecord& rec, bool privileged) {
    bool ambiguous = false;
    std::string cmd = privileged ? keyword(w[0], {"enable", "disable", "show", "terminal", "exit", "logout", "quit",
                                                  "configure", "write", "copy"}, &ambiguous)
                                 : keyword(w[0], {"enable", "show", "terminal", "exit", "logout", "quit"}, &ambiguous);
    rec.command = cmd.empty() ? lower(w[0]) : cmd;
    if (ambiguous) return error("% Ambiguous command:  \"" + w[0] + "\"", rec);
    if (cmd.empty()) return invalid(at[0], rec);
    if (cmd == "exit" || cmd == "logout" || cmd == "quit") {
        closed_ = true;
        return "";
    }
    if (cmd == "enable") {
        if (privileged) return "";
        mode_ = Mode::enable_password;
        rec.line.clear();  // recorded with its outcome, once the password is in
        return "Password: ";
    }
    if (cmd == "disable") {
        mode_ = Mode::exec;
        return "";
    }
    if (cmd == "terminal") {
        if (w.size() < 2) return error(kIncomplete, rec);
        std::string sub = keyword(w[1], {"length", "width", "monitor"});
        if (sub.empty()) return invalid(at[1], rec);
        if (sub != "length") return "";
        if (w.size() < 3) return error(kIncomplete, rec);
        int n = 0;
        if (!parse_int(w[2], 0, 512, n)) return invalid(at[2], rec);
        page_lines_ = static_cast<std::size_t>(n);
        length_set_ = true;
        return "";
    }
    if (cmd == "show") return show(w, at, 1, text, rec, privileged);
    if (cmd == "configure") {
        if (w.size() > 1 && keyword(w[1], {"terminal"}).empty()) return invalid(at[1], rec);
        mode_ = Mode::config;
        return "Enter configuration commands, one per line.  End with CNTL/Z.\r\n";
    }
    if (cmd == "write") {
        if (w.size() > 1 && keyword(w[1], {"memory"}).empty()) return invalid(at[1], rec);
        d_.startup = d_.running;
        return "Building configuration...\r\n[OK]\r\n";
    }
    if (cmd == "copy") {
        if (w.size() < 3) return error(kIncomplete, rec);
        if (keyword(w[1], {"running-config"}).empty()) return invalid(at[1], rec);
        if (keyword(w[2], {"startup-config"}).empty()) return invalid(at[2], rec);
        mode_ = Mode::copy_dest;
        rec.line.clear();  // recorded once the destination is answered
        return "Destination filename [startup-config]? ";
    }
    return invalid(at[0], rec);
}

std::string CliSession::show(const std::vector<std::string>& w, const std::vector<std::size_t>& at, std::size_t i,
                             const std::string&, CommandRecord& rec, bool privileged) {
    if (w.size() <= i) return error(kIncomplete, rec);
    std::string what = privileged ? keyword(w[i], {"version", "running-config", "startup-config", "ip", "vlan", "clock"})
                                  : keyword(w[i], {"version", "ip", "vlan", "clock"});
    if (what.empty()) return invalid(at[i], rec);
    Config& c = d_.running;
    std::ostringstream o;
    if (what == "version") {
        o << "wirelab simulated IOS Software, Version 15.2(7)E, RELEASE SOFTWARE\r\n"
          << c.hostname << " uptime is 1 hour, 2 minutes\r\n"
          << "cisco WS-C2960X-24TS (simulated) with " << c.interfaces.size() << " interfaces\r\n";
        return paged(o.str());
    }
    if (what == "clock") return "*12:00:00.000 UTC Tue Dec 1 2026\r\n";
    if (what == "running-config") {
        std::string r = c.render();
        o << "Building configuration...\r\n\r\nCurrent configuration : " << r.size() << " bytes\r\n" << r;
        return paged(o.str());
    }
    if (what == "startup-config") {
        std::string r = d_.startup.render();
        o << "Using " << r.size() << " out of 65536 bytes\r\n" << r;
        return paged(o.str());
    }
    if (what == "ip") {
        if (w.size() <= i + 2) return error(kIncomplete, rec);
        if (keyword(w[i + 1], {"interface"}).empty()) return invalid(at[i + 1], rec);
        if (keyword(w[i + 2], {"brief"}).empty()) return invalid(at[i + 2], rec);
        o << "Interface              IP-Address      OK? Method Status                Protocol\r\n";
        for (const auto& f : c.interfaces)
            o << pad(f.name, 23) << pad(f.ip.empty() ? "unassigned" : f.ip, 16) << "YES " << pad(f.ip.empty() ? "unset" : "manual", 7)
              << pad(f.shutdown ? "administratively down" : "up", 22) << (f.shutdown ? "down" : "up") << "\r\n";
        return paged(o.str());
    }
    // vlan [brief]
    if (w.size() > i + 1 && keyword(w[i + 1], {"brief"}).empty()) return invalid(at[i + 1], rec);
    o << "VLAN Name                             Status    Ports\r\n"
      << "---- -------------------------------- --------- -------------------------------\r\n";
    for (const auto& [id, name] : c.vlans) {
        std::vector<std::string> ports;
        for (const auto& f : c.interfaces)
            if (f.mode != "trunk" && f.access_vlan == id && f.name.rfind("Loopback", 0) != 0) ports.push_back(short_name(f.name));
        std::string first = pad(std::to_string(id), 5) + pad(name, 33) + pad("active", 10);
        if (ports.empty()) {
            o << first << "\r\n";
            continue;
        }
        for (std::size_t p = 0; p < ports.size(); p += 4) {
            std::string list;
            for (std::size_t q = p; q < std::min(ports.size(), p + 4); ++q) list += (q > p ? ", " : "") + ports[q];
            if (p + 4 < ports.size()) list += ",";
            o << (p == 0 ? first : std::string(48, ' ')) << list << "\r\n";
        }
    }
    return paged(o.str());
}

std::string CliSession::config_command(const std::vector<std::string>& w, const std::vector<std::size_t>& at,
                                       const std::string& text, CommandRecord& rec) {
    Config& c = d_.running;
    bool ambiguous = false;
    // the sub-mode's own commands first
    if (mode_ == Mode::config_if) {
        Interface* f = c.find(interface_);
        std::string cmd = keyword(w[0], {"description", "ip", "no", "shutdown", "switchport", "exit", "end", "interface",
                                         "do", "vlan", "hostname"}, &ambiguous);
        rec.command = cmd.empty() ? lower(w[0]) : cmd;
        bool negate = cmd == "no";
        std::size_t k = negate ? 1 : 0;
        std::string sub = cmd;
        if (negate) {
            if (w.size() < 2) return error(kIncomplete, rec);
            sub = keyword(w[1], {"description", "ip", "shutdown", "switchport", "vlan"});
            if (sub.empty()) return invalid(at[1], rec);
        }
        if (sub == "description") {
            if (negate) {
                f->description.clear();
                return "";
            }
            if (w.size() < 2) return error(kIncomplete, rec);
            f->description = text.substr(at[1]);
            return "";
        }
        if (sub == "shutdown") {
            f->shutdown = !negate;
            return "";
        }
        if (sub == "ip") {
            if (w.size() <= k + 1) return error(kIncomplete, rec);
            if (keyword(w[k + 1], {"address"}).empty()) return invalid(at[k + 1], rec);
            if (negate) {
                f->ip.clear();
                f->mask.clear();
                return "";
            }
            if (w.size() < 4) return error(kIncomplete, rec);
            std::uint32_t ip = 0, mask = 0;
            if (!parse_ipv4(w[2], ip)) return invalid(at[2], rec);
            if (!parse_ipv4(w[3], mask) || !valid_mask(mask)) return invalid(at[3], rec);
            if (auto problem = address_problem(c, f->name, w[2], w[3]); !problem.empty()) return error(problem, rec);
            f->ip = w[2];
            f->mask = w[3];
            return "";
        }
        if (sub == "switchport") {
            if (w.size() <= k + 1) return error(kIncomplete, rec);
            std::string what = keyword(w[k + 1], {"mode", "access"});
            if (what.empty()) return invalid(at[k + 1], rec);
            if (what == "mode") {
                if (negate) {
                    f->mode.clear();
                    return "";
                }
                if (w.size() < 3) return error(kIncomplete, rec);
                std::string m = keyword(w[2], {"access", "trunk"});
                if (m.empty()) return invalid(at[2], rec);
                f->mode = m;
                return "";
            }
            if (w.size() <= k + 2 || keyword(w[k + 2], {"vlan"}).empty())
                return w.size() <= k + 2 ? error(kIncomplete, rec) : invalid(at[k + 2], rec);
            if (negate) {
                f->access_vlan = 1;
                return "";
            }
            if (w.size() < 4) return error(kIncomplete, rec);
            int id = 0;
            if (!parse_int(w[3], 1, 4094, id)) return invalid(at[3], rec);
            std::string note;
            if (!c.vlans.count(id)) {
                c.vlans[id] = default_vlan_name(id);
                note = "% Access VLAN does not exist. Creating vlan " + std::to_string(id) + "\r\n";
            }
            f->access_vlan = id;
            return note;
        }
        if (cmd == "exit") {
            mode_ = Mode::config;
            return "";
        }
        if (ambiguous) return error("% Ambiguous command:  \"" + w[0] + "\"", rec);
        if (cmd.empty()) return invalid(at[0], rec);
    } else if (mode_ == Mode::config_vlan) {
        std::string cmd = keyword(w[0], {"name", "no", "exit", "end", "vlan", "interface", "do", "hostname"}, &ambiguous);
        rec.command = cmd.empty() ? lower(w[0]) : cmd;
        if (cmd == "name" || (cmd == "no" && w.size() > 1 && keyword(w[1], {"name"}) == "name")) {
            if (cmd == "name" && w.size() < 2) return error(kIncomplete, rec);
            std::string name = cmd == "name" ? w[1] : default_vlan_name(vlan_);
            if (name.size() > 32) return invalid(at[1] + 32, rec);
            c.vlans[vlan_] = name;
            return "";
        }
        if (cmd == "exit") {
            mode_ = Mode::config;
            return "";
        }
        if (ambiguous) return error("% Ambiguous command:  \"" + w[0] + "\"", rec);
        if (cmd.empty()) return invalid(at[0], rec);
    }

    // global configuration (also reached from the sub-modes, as IOS does)
    std::string cmd = keyword(w[0], {"hostname", "vlan", "no", "interface", "end", "exit", "do"}, &ambiguous);
    rec.command = cmd.empty() ? lower(w[0]) : cmd;
    if (ambiguous) return error("% Ambiguous command:  \"" + w[0] + "\"", rec);
    if (cmd.empty()) return invalid(at[0], rec);
    if (cmd == "end") {
        mode_ = Mode::privileged;
        return "";
    }
    if (cmd == "exit") {
        mode_ = Mode::privileged;
        return "";
    }
    if (cmd == "do") {
        if (w.size() < 2) return error(kIncomplete, rec);
        std::vector<std::string> rest(w.begin() + 1, w.end());
        std::vector<std::size_t> rest_at(at.begin() + 1, at.end());
        Mode keep = mode_;
        std::string out = exec_command(rest, rest_at, text, rec, true);
        if (mode_ == Mode::privileged || mode_ == Mode::exec) mode_ = keep;  // "do" never leaves configuration
        return out;
    }
    if (cmd == "hostname") {
        if (w.size() < 2) return error(kIncomplete, rec);
        static const std::regex host_re("[A-Za-z][A-Za-z0-9-]{0,62}");
        if (!std::regex_match(w[1], host_re)) return invalid(at[1], rec);
        c.hostname = w[1];
        return "";
    }
    if (cmd == "interface") {
        if (w.size() < 2) return error(kIncomplete, rec);
        std::string full = expand_interface(w[1], w.size() > 2 ? w[2] : std::string());
        if (!full.empty() && full.rfind("Loopback", 0) == 0 && !c.find(full)) {  // a loopback is created by naming it
            Interface lo;
            lo.name = full;
            c.interfaces.push_back(lo);
        }
        if (full.empty() || !c.find(full)) return invalid(at[1], rec);
        interface_ = c.find(full)->name;
        mode_ = Mode::config_if;
        return "";
    }
    bool negate = cmd == "no";
    if (negate) {
        if (w.size() < 2) return error(kIncomplete, rec);
        if (keyword(w[1], {"vlan"}).empty()) return invalid(at[1], rec);
    }
    // vlan N[,M…] / no vlan N
    std::size_t k = negate ? 2 : 1;
    if (w.size() <= k) return error(kIncomplete, rec);
    std::vector<int> ids;
    std::stringstream list(w[k]);
    for (std::string one; std::getline(list, one, ',');) {
        int id = 0;
        if (!parse_int(one, 1, 4094, id)) return invalid(at[k], rec);
        ids.push_back(id);
    }
    if (ids.empty()) return invalid(at[k], rec);
    if (negate) {
        for (int id : ids) {
            if (id == 1) return error("%Default VLAN 1 may not be deleted.", rec);
            c.vlans.erase(id);
            for (auto& f : c.interfaces)
                if (f.access_vlan == id) f.access_vlan = 1;  // its ports are inactive until moved; kept simple
        }
        if (mode_ == Mode::config_vlan) mode_ = Mode::config;
        return "";
    }
    for (int id : ids)
        if (!c.vlans.count(id)) c.vlans[id] = default_vlan_name(id);
    vlan_ = ids.front();
    mode_ = Mode::config_vlan;
    return "";
}

}  // namespace wirelab::device
