#include "services/nosql/resp.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>

namespace wirelab::resp {

namespace {

/// A non-negative decimal number, or -1 (nullopt when it is not one).
std::optional<long long> parse_len(std::string_view s) {
    if (s == "-1") return -1;
    if (s.empty() || s.size() > 18) return std::nullopt;
    long long v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return v;
}

/// Splits an inline command as Redis does: spaces separate, "…" and '…'
/// quote (with \n, \t, \xHH and \" inside double quotes).
std::optional<std::vector<std::string>> split_inline(std::string_view line) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        if (i >= line.size()) break;
        std::string arg;
        if (line[i] == '"' || line[i] == '\'') {
            char q = line[i++];
            bool closed = false;
            while (i < line.size()) {
                char c = line[i++];
                if (c == q) {
                    closed = true;
                    break;
                }
                if (c == '\\' && i < line.size() && q == '"') {
                    char e = line[i++];
                    if (e == 'n') arg += '\n';
                    else if (e == 't') arg += '\t';
                    else if (e == 'r') arg += '\r';
                    else if (e == 'x' && i + 1 < line.size() && std::isxdigit(static_cast<unsigned char>(line[i])) &&
                             std::isxdigit(static_cast<unsigned char>(line[i + 1]))) {
                        arg += static_cast<char>(std::stoi(std::string(line.substr(i, 2)), nullptr, 16));
                        i += 2;
                    } else arg += e;  // as Redis does: \x without two hex digits is x
                } else if (c == '\\' && i < line.size() && q == '\'' && line[i] == '\'') {
                    arg += '\'';
                    ++i;
                } else {
                    arg += c;
                }
            }
            if (!closed) return std::nullopt;
        } else {
            while (i < line.size() && line[i] != ' ' && line[i] != '\t') arg += line[i++];
        }
        out.push_back(std::move(arg));
    }
    return out;
}

}  // namespace

std::vector<Command> Parser::feed(std::string_view bytes) {
    std::vector<Command> out;
    if (fatal()) return out;
    buf_.append(bytes);
    while (!fatal()) {
        auto c = next();
        if (!c) break;
        if (!c->args.empty()) out.push_back(std::move(*c));
    }
    return out;
}

std::optional<Command> Parser::next() {
    if (buf_.empty()) return std::nullopt;
    if (buf_[0] != '*') {
        // An inline command: one line.
        auto eol = buf_.find('\n');
        if (eol == std::string::npos) {
            if (buf_.size() > 64 * 1024) error_ = "Protocol error: too big inline request";
            return std::nullopt;
        }
        std::string line = buf_.substr(0, eol);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        buf_.erase(0, eol + 1);
        auto args = split_inline(line);
        if (!args) {
            error_ = "Protocol error: unbalanced quotes in request";
            return std::nullopt;
        }
        return Command{std::move(*args)};
    }
    // *N\r\n then N times $len\r\n<bytes>\r\n; nothing is taken until whole.
    std::size_t pos = 0;
    auto line_at = [&](std::size_t from) -> std::optional<std::pair<std::string_view, std::size_t>> {
        auto eol = buf_.find("\r\n", from);
        if (eol == std::string::npos) return std::nullopt;
        return std::make_pair(std::string_view(buf_).substr(from, eol - from), eol + 2);
    };
    auto head = line_at(0);
    if (!head) {
        if (buf_.size() > 64 * 1024) error_ = "Protocol error: too big mbulk count string";
        return std::nullopt;
    }
    auto n = parse_len(head->first.substr(1));
    if (!n || *n > static_cast<long long>(max_args_)) {
        error_ = "Protocol error: invalid multibulk length";
        return std::nullopt;
    }
    pos = head->second;
    Command c;
    for (long long k = 0; k < *n; ++k) {
        if (pos >= buf_.size()) return std::nullopt;
        if (buf_[pos] != '$') {
            error_ = std::string("Protocol error: expected '$', got '") + buf_[pos] + "'";
            return std::nullopt;
        }
        auto l = line_at(pos);
        if (!l) return std::nullopt;
        auto len = parse_len(l->first.substr(1));
        if (!len || *len < 0 || *len > static_cast<long long>(max_bulk_)) {
            error_ = "Protocol error: invalid bulk length";
            return std::nullopt;
        }
        std::size_t start = l->second;
        if (buf_.size() < start + static_cast<std::size_t>(*len) + 2) return std::nullopt;
        if (buf_.compare(start + static_cast<std::size_t>(*len), 2, "\r\n") != 0) {
            error_ = "Protocol error: the bulk string does not end with \\r\\n";
            return std::nullopt;
        }
        c.args.push_back(buf_.substr(start, static_cast<std::size_t>(*len)));
        pos = start + static_cast<std::size_t>(*len) + 2;
    }
    buf_.erase(0, pos);
    return c;
}

std::string Reply::encode(int version) const {
    auto crlf = [](std::string s) { return s + "\r\n"; };
    switch (type) {
        case Type::simple: return crlf("+" + str);
        case Type::error: return crlf("-" + str);
        case Type::integer: return crlf(":" + std::to_string(num));
        case Type::bulk: return crlf("$" + std::to_string(str.size())) + crlf(str);
        case Type::null: return version >= 3 ? "_\r\n" : "$-1\r\n";
        case Type::boolean: return version >= 3 ? crlf(std::string("#") + (num ? "t" : "f")) : crlf(":" + std::to_string(num));
        case Type::dbl: {
            char b[64];
            if (std::isinf(dbl)) std::snprintf(b, sizeof b, "%s", dbl > 0 ? "inf" : "-inf");
            else std::snprintf(b, sizeof b, "%.17g", dbl);
            return version >= 3 ? crlf(std::string(",") + b) : crlf("$" + std::to_string(std::string(b).size())) + crlf(b);
        }
        case Type::array:
        case Type::set:
        case Type::map: {
            char lead = type == Type::array || version < 3 ? '*' : type == Type::set ? '~' : '%';
            std::size_t n = type == Type::map && version >= 3 ? items.size() / 2 : items.size();
            std::string out = crlf(lead + std::to_string(n));
            for (const auto& i : items) out += i.encode(version);
            return out;
        }
    }
    return "$-1\r\n";
}

std::string Reply::summary() const {
    switch (type) {
        case Type::simple: return str;
        case Type::error: return "(error) " + str;
        case Type::integer: return "(integer) " + std::to_string(num);
        case Type::bulk: return "\"" + (str.size() > 60 ? str.substr(0, 60) + "…" : str) + "\"";
        case Type::null: return "(nil)";
        case Type::boolean: return num ? "(true)" : "(false)";
        case Type::dbl: return "(double) " + std::to_string(dbl);
        case Type::array:
        case Type::set: return "[" + std::to_string(items.size()) + " items]";
        case Type::map: return "{" + std::to_string(items.size() / 2) + " fields}";
    }
    return "?";
}

}  // namespace wirelab::resp
