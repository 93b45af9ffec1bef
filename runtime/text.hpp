// Small text helpers every layer needs: names compared without regard to
// case (HTTP header names), secrets compared in constant time, base64.
#pragma once
#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace wirelab {

/// `a` and `b` equal ignoring ASCII case ("Content-Type", "content-type").
/// ASCII only, whatever the locale: std::tolower is a call into libc per
/// character, and header lists are compared on every request.
inline bool iequals(std::string_view a, std::string_view b) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; };
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

/// The value of the first (name, value) pair called `name`, any case, or
/// nullptr: header lists as the journal, the HTTP front and the services keep them.
template <class Pairs>
const auto* find_field(const Pairs& fields, std::string_view name) {
    for (const auto& f : fields)
        if (iequals(f.first, name)) return &f.second;
    return static_cast<decltype(&fields.begin()->second)>(nullptr);
}

/// True when a and b are equal, in time that depends only on their lengths
/// (tokens, passwords, signatures: no early exit that tells where they differ).
inline bool constant_time_equal(std::string_view a, std::string_view b) {
    std::size_t n = std::max(a.size(), b.size());
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < n; ++i) {
        unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
        diff |= static_cast<unsigned char>(x ^ y);
    }
    return diff == 0;
}

/// Base64 (RFC 4648, with padding).
std::string base64_encode(std::string_view bytes);
/// The bytes of base64 `text` (padding optional); "" when it is not base64.
std::string base64_decode(std::string_view text);

}  // namespace wirelab
