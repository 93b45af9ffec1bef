#include "runtime/match.hpp"

#include <cstdio>

namespace wirelab {

Pattern compile_pattern(const Spec& spec, const std::string& key, const std::string& source) {
    std::string src = source;
    auto flags = std::regex::ECMAScript;
    if (src.rfind("(?i)", 0) == 0) {
        src = src.substr(4);
        flags |= std::regex::icase;
    }
    try {
        return {source, std::regex(src, flags)};
    } catch (const std::regex_error& e) {
        spec.fail(key, "invalid regular expression /" + source + "/: " + e.what(),
                  "ECMAScript syntax; escape backslashes in JSON (\"\\\\d+\")");
    }
}

bool json_subset(const nlohmann::json& e, const nlohmann::json& a, std::string& why,
                 const std::string& at) {
    auto where = at.empty() ? std::string("the top level") : at;
    if (e.is_object()) {
        if (!a.is_object()) {
            why = "at " + where + ": expected an object, got " + one_line(a, 60);
            return false;
        }
        for (auto it = e.begin(); it != e.end(); ++it) {
            auto f = a.find(it.key());
            if (f == a.end()) {
                why = "\"" + it.key() + "\" is missing" + (at.empty() ? "" : " at " + at);
                return false;
            }
            if (!json_subset(it.value(), *f, why, at + "/" + it.key())) return false;
        }
        return true;
    }
    if (e.is_array()) {
        if (!a.is_array() || a.size() != e.size()) {
            why = "at " + where + ": expected " + one_line(e, 60) + ", got " + one_line(a, 60);
            return false;
        }
        for (std::size_t i = 0; i < e.size(); ++i)
            if (!json_subset(e[i], a[i], why, at + "/" + std::to_string(i))) return false;
        return true;
    }
    bool same;
    if (e.is_number() && a.is_number())
        same = e.get<double>() == a.get<double>();
    else
        same = e == a;
    if (!same) {
        why = "at " + where + ": expected " + e.dump() + " (" + json_type_name(e) + "), got " +
              one_line(a, 60) + " (" + json_type_name(a) + ")";
    }
    return same;
}

const nlohmann::json* json_path(const nlohmann::json& doc, const std::string& path) {
    if (path == "$") return &doc;
    if (path.rfind("$.", 0) != 0) return nullptr;
    const nlohmann::json* cur = &doc;
    std::size_t start = 2;
    while (cur) {
        auto dot = path.find('.', start);
        std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        bool index = !key.empty() && key.size() < 10 && key.find_first_not_of("0123456789") == std::string::npos;
        if (cur->is_object() && cur->contains(key))
            cur = &(*cur)[key];
        else if (cur->is_array() && index && std::stoul(key) < cur->size())
            cur = &(*cur)[std::stoul(key)];
        else
            return nullptr;
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    return cur;
}

std::string shorten(const std::string& s, std::size_t max) {
    if (s.size() <= max) return s;
    return s.substr(0, max) + "…";
}

std::string one_line(const nlohmann::json& v, std::size_t max) {
    return shorten(v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), max);
}

std::string tail_lines(const std::string& text, std::size_t n) {
    std::string t = text;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    std::size_t pos = t.size();
    for (std::size_t i = 0; i < n && pos != std::string::npos && pos > 0; ++i) {
        pos = t.rfind('\n', pos - 1);
    }
    return pos == std::string::npos || pos == 0 ? t : t.substr(pos + 1);
}

std::string printable(const std::string& s, std::size_t max) {
    std::string out;
    for (unsigned char c : s) {
        if (out.size() >= max) {
            out += "…";
            break;
        }
        if (c == '\n')
            out += "\\n";
        else if (c == '\r')
            out += "\\r";
        else if (c == '\t')
            out += "\\t";
        else if (c < 0x20 || c == 0x7f) {
            char b[8];
            std::snprintf(b, sizeof b, "\\x%02x", c);
            out += b;
        } else
            out += static_cast<char>(c);
    }
    return out;
}

}  // namespace wirelab
