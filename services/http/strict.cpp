#include "services/http/strict.hpp"

#include <cctype>
#include <vector>

namespace wirelab::http {

namespace {
bool is_tchar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string shown(std::string_view line) {
    std::string out;
    for (char c : line.substr(0, 60)) {
        if (c == '\r') out += "\\r";
        else if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (static_cast<unsigned char>(c) < 0x20) out += "?";
        else out += c;
    }
    return "\"" + out + (line.size() > 60 ? "…" : "") + "\"";
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}
}  // namespace

std::size_t head_end(std::string_view b) {
    for (std::size_t i = 0; i < b.size(); ++i) {
        if (b[i] != '\n') continue;
        // A line that is empty (LF) or holds only CR ends the head.
        if (i + 1 < b.size() && b[i + 1] == '\n') return i + 2;
        if (i + 2 < b.size() && b[i + 1] == '\r' && b[i + 2] == '\n') return i + 3;
    }
    return std::string_view::npos;
}

std::string strict_violation(std::string_view head) {
    // Split into lines, remembering how each ended.
    std::vector<std::string_view> lines;
    std::size_t pos = 0, n = 0;
    while (pos < head.size()) {
        auto lf = head.find('\n', pos);
        if (lf == std::string_view::npos) break;
        ++n;
        bool crlf = lf > pos && head[lf - 1] == '\r';
        std::string_view line = head.substr(pos, lf - pos - (crlf ? 1 : 0));
        if (!crlf)
            return "line " + std::to_string(n) + " ends with a bare LF (\\n) instead of CRLF (\\r\\n): " +
                   shown(head.substr(pos, lf - pos + 1));
        if (line.find('\r') != std::string_view::npos)
            return "line " + std::to_string(n) + " contains a CR (\\r) that does not end it: " + shown(line);
        lines.push_back(line);
        pos = lf + 1;
    }
    if (lines.empty() || !lines.back().empty()) return "the request head does not end with an empty line";
    lines.pop_back();
    if (lines.empty()) return "the request line is missing";

    std::string_view rl = lines[0];
    auto sp1 = rl.find(' ');
    auto sp2 = sp1 == std::string_view::npos ? sp1 : rl.find(' ', sp1 + 1);
    if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
        rl.find(' ', sp2 + 1) != std::string_view::npos || sp1 == 0 || sp2 == sp1 + 1)
        return "the request line must be METHOD SP TARGET SP HTTP/1.1, with single spaces: " + shown(rl);
    std::string_view method = rl.substr(0, sp1), version = rl.substr(sp2 + 1);
    for (char c : method)
        if (!is_tchar(c)) return "the method " + shown(method) + " is not a token";
    if (version != "HTTP/1.1" && version != "HTTP/1.0")
        return "the request line ends with " + shown(version) + ", not HTTP/1.1";

    int hosts = 0;
    for (std::size_t i = 1; i < lines.size(); ++i) {
        std::string_view h = lines[i];
        std::string where = "header line " + std::to_string(i) + " " + shown(h);
        if (h.front() == ' ' || h.front() == '\t')
            return where + " starts with whitespace (obsolete line folding, or a space after \\r\\n); "
                           "header names start at the beginning of the line";
        auto colon = h.find(':');
        if (colon == std::string_view::npos) return where + " has no colon";
        if (colon == 0) return where + " has an empty name";
        for (char c : h.substr(0, colon))
            if (!is_tchar(c))
                return where + (c == ' ' || c == '\t' ? " has whitespace between the name and the colon"
                                                      : " has a character not allowed in a header name");
        if (lower(h.substr(0, colon)) == "host") ++hosts;
    }
    if (version == "HTTP/1.1" && hosts == 0) return "an HTTP/1.1 request must carry a Host header";
    if (hosts > 1) return "the request carries " + std::to_string(hosts) + " Host headers; send one";
    return {};
}

}  // namespace wirelab::http
