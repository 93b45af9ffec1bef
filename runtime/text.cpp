#include "runtime/text.hpp"

namespace wirelab {

std::string base64_encode(std::string_view in) {
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < in.size(); i += 3) {
        auto at = [&](std::size_t k) { return k < in.size() ? static_cast<unsigned>(static_cast<unsigned char>(in[k])) : 0u; };
        unsigned v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
        out += t[(v >> 18) & 63];
        out += t[(v >> 12) & 63];
        out += i + 1 < in.size() ? t[(v >> 6) & 63] : '=';
        out += i + 2 < in.size() ? t[v & 63] : '=';
    }
    return out;
}

std::string base64_decode(std::string_view in) {
    std::string out;
    int val = 0, bits = -8;
    for (unsigned char c : in) {
        int d;
        if (c >= 'A' && c <= 'Z') d = c - 'A';
        else if (c >= 'a' && c <= 'z') d = c - 'a' + 26;
        else if (c >= '0' && c <= '9') d = c - '0' + 52;
        else if (c == '+') d = 62;
        else if (c == '/') d = 63;
        else if (c == '=') break;
        else return {};
        val = (val << 6) | d;
        bits += 6;
        if (bits >= 0) {
            out += static_cast<char>((val >> bits) & 0xff);
            bits -= 8;
        }
    }
    return out;
}

}  // namespace wirelab
