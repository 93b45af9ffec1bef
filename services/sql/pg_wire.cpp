#include "services/sql/pg_wire.hpp"

#include <openssl/evp.h>

#include <cstdio>

namespace wirelab::pg {

namespace {
std::int32_t be32(const char* p) {
    auto u = [&](int i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])); };
    return static_cast<std::int32_t>((u(0) << 24) | (u(1) << 16) | (u(2) << 8) | u(3));
}

std::string md5hex(const std::string& s) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(s.data(), s.size(), d, &n, EVP_md5(), nullptr);
    std::string out;
    char b[3];
    for (unsigned int i = 0; i < n; ++i) {
        std::snprintf(b, sizeof b, "%02x", d[i]);
        out += b;
    }
    return out;
}
}  // namespace

std::vector<Message> Reader::feed(std::string_view bytes) {
    std::vector<Message> out;
    if (fatal()) return out;
    buf_.append(bytes);
    for (;;) {
        std::size_t head = startup_ ? 4 : 5;
        if (buf_.size() < head) break;
        std::int32_t len = be32(buf_.data() + (startup_ ? 0 : 1));
        // PostgreSQL refuses a startup packet over 10000 bytes at once
        // (MAX_STARTUP_PACKET_LENGTH) rather than wait for it.
        if (startup_ && len > 10000) {
            error_ = "invalid startup packet length " + std::to_string(len);
            break;
        }
        if (len < 4 || static_cast<std::size_t>(len) > max_) {
            error_ = "invalid message length " + std::to_string(len);
            break;
        }
        std::size_t total = static_cast<std::size_t>(len) + (startup_ ? 0 : 1);
        if (buf_.size() < total) break;
        Message m;
        if (startup_) {
            if (len < 8) {
                error_ = "invalid startup packet length " + std::to_string(len);
                break;
            }
            m.code = be32(buf_.data() + 4);
            m.body = buf_.substr(8, static_cast<std::size_t>(len) - 8);
        } else {
            m.type = buf_[0];
            m.body = buf_.substr(5, static_cast<std::size_t>(len) - 4);
        }
        buf_.erase(0, total);
        bool was_startup = startup_;
        out.push_back(std::move(m));
        // An SSL or GSS request is answered, then the real startup follows;
        // after the startup packet, every message is typed.
        if (was_startup && out.back().code == kProtocol3) startup_ = false;
    }
    return out;
}

std::int32_t Fields::i32() {
    if (pos_ + 4 > b_.size()) return bad_ = true, 0;
    auto v = be32(b_.data() + pos_);
    pos_ += 4;
    return v;
}

std::int16_t Fields::i16() {
    if (pos_ + 2 > b_.size()) return bad_ = true, 0;
    auto v = static_cast<std::int16_t>((static_cast<unsigned char>(b_[pos_]) << 8) | static_cast<unsigned char>(b_[pos_ + 1]));
    pos_ += 2;
    return v;
}

std::string Fields::cstr() {
    auto z = b_.find('\0', pos_);
    if (z == std::string_view::npos) {
        bad_ = true;
        return {};
    }
    std::string s(b_.substr(pos_, z - pos_));
    pos_ = z + 1;
    return s;
}

std::optional<std::string> Fields::bytes(std::int32_t n) {
    if (n == -1) return std::nullopt;
    if (n < 0 || pos_ + static_cast<std::size_t>(n) > b_.size()) {
        bad_ = true;
        return std::string();
    }
    std::string s(b_.substr(pos_, static_cast<std::size_t>(n)));
    pos_ += static_cast<std::size_t>(n);
    return s;
}

char Fields::byte() {
    if (pos_ >= b_.size()) return bad_ = true, '\0';
    return b_[pos_++];
}

std::map<std::string, std::string> startup_params(const std::string& body) {
    std::map<std::string, std::string> out;
    Fields f(body);
    while (!f.done() && !f.bad()) {
        std::string k = f.cstr();
        if (k.empty() || f.bad()) break;
        out[k] = f.cstr();
    }
    return out;
}

Out& Out::i32(std::int32_t v) {
    auto u = static_cast<std::uint32_t>(v);
    for (int s = 24; s >= 0; s -= 8) body_ += static_cast<char>((u >> s) & 0xff);
    return *this;
}
Out& Out::i16(std::int16_t v) {
    auto u = static_cast<std::uint16_t>(v);
    body_ += static_cast<char>(u >> 8);
    body_ += static_cast<char>(u & 0xff);
    return *this;
}
Out& Out::byte(char c) {
    body_ += c;
    return *this;
}
Out& Out::cstr(std::string_view s) {
    body_.append(s);
    body_ += '\0';
    return *this;
}
Out& Out::raw(std::string_view s) {
    body_.append(s);
    return *this;
}
std::string Out::str() const {
    Out len('\0');
    len.i32(static_cast<std::int32_t>(body_.size() + 4));
    return std::string(1, type_) + len.body_ + body_;
}

std::string auth_ok() { return Out('R').i32(0).str(); }
std::string auth_cleartext() { return Out('R').i32(3).str(); }
std::string auth_md5(const std::string& salt) { return Out('R').i32(5).raw(salt.substr(0, 4)).str(); }
std::string parameter_status(const std::string& n, const std::string& v) { return Out('S').cstr(n).cstr(v).str(); }
std::string backend_key(std::int32_t pid, std::int32_t secret) { return Out('K').i32(pid).i32(secret).str(); }
std::string ready(char status) { return Out('Z').byte(status).str(); }

std::string row_description(const std::vector<Column>& cols) {
    Out o('T');
    o.i16(static_cast<std::int16_t>(cols.size()));
    for (const auto& c : cols)
        o.cstr(c.name).i32(c.table_oid).i16(c.attnum).i32(c.type_oid).i16(c.type_size).i32(-1).i16(c.format);
    return o.str();
}

std::string data_row(const std::vector<std::optional<std::string>>& values) {
    Out o('D');
    o.i16(static_cast<std::int16_t>(values.size()));
    for (const auto& v : values) {
        if (!v) {
            o.i32(-1);
        } else {
            o.i32(static_cast<std::int32_t>(v->size())).raw(*v);
        }
    }
    return o.str();
}

std::string command_complete(const std::string& tag) { return Out('C').cstr(tag).str(); }
std::string empty_query() { return Out('I').str(); }
std::string no_data() { return Out('n').str(); }
std::string parse_complete() { return Out('1').str(); }
std::string bind_complete() { return Out('2').str(); }
std::string close_complete() { return Out('3').str(); }
std::string portal_suspended() { return Out('s').str(); }

std::string parameter_description(const std::vector<std::int32_t>& oids) {
    Out o('t');
    o.i16(static_cast<std::int16_t>(oids.size()));
    for (auto oid : oids) o.i32(oid);
    return o.str();
}

std::string error(const std::string& sqlstate, const std::string& message, const std::string& detail,
                  const std::string& hint, bool notice) {
    Out o(notice ? 'N' : 'E');
    const char* sev = notice ? "NOTICE" : "ERROR";
    o.byte('S').cstr(sev).byte('V').cstr(sev).byte('C').cstr(sqlstate).byte('M').cstr(message);
    if (!detail.empty()) o.byte('D').cstr(detail);
    if (!hint.empty()) o.byte('H').cstr(hint);
    o.byte('\0');
    return o.str();
}

std::string md5_password(const std::string& user, const std::string& password, const std::string& salt) {
    return "md5" + md5hex(md5hex(password + user) + salt);
}

}  // namespace wirelab::pg
