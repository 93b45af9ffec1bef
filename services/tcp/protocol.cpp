#include "services/tcp/protocol.hpp"

namespace wirelab::tcp_proto {

using json = nlohmann::json;

std::vector<Message> LineSplitter::feed(std::string_view bytes) {
    std::vector<Message> out;
    if (fatal_) return out;
    buf_.append(bytes);
    std::size_t start = 0;
    for (;;) {
        auto lf = buf_.find('\n', start);
        if (lf == std::string::npos) break;
        Message m;
        bool cr = lf > start && buf_[lf - 1] == '\r';
        m.data = buf_.substr(start, lf - start - (cr ? 1 : 0));
        if (want_crlf_ && !cr) m.error = "the line ends with a bare LF (\\n), not CRLF (\\r\\n)";
        if (m.data.size() > max_) {
            m.error = "line of " + std::to_string(m.data.size()) + " bytes, over the limit of " + std::to_string(max_);
            m.data.resize(max_);
            fatal_ = true;
            buf_.clear();
            out.push_back(std::move(m));
            return out;
        }
        out.push_back(std::move(m));
        start = lf + 1;
    }
    buf_.erase(0, start);
    if (buf_.size() > max_) {
        Message m;
        m.error = "line longer than " + std::to_string(max_) + " bytes and still no newline";
        m.data = buf_.substr(0, std::min<std::size_t>(buf_.size(), 256));
        fatal_ = true;
        buf_.clear();
        out.push_back(std::move(m));
    }
    return out;
}

bool valid_utf8(std::string_view s) {
    std::size_t i = 0, n = s.size();
    while (i < n) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t len;
        if (c < 0x80)
            len = 1;
        else if (c >= 0xc2 && c <= 0xdf)
            len = 2;
        else if ((c & 0xf0) == 0xe0)
            len = 3;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4;
        else
            return false;
        if (i + len > n) return false;
        for (std::size_t k = 1; k < len; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
        i += len;
    }
    return true;
}

std::vector<Message> FrameSplitter::feed(std::string_view bytes) {
    std::vector<Message> out;
    if (fatal_) return out;
    buf_.append(bytes);
    std::size_t pos = 0;
    while (buf_.size() - pos >= 4) {
        auto b = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(buf_[pos + k])); };
        std::uint32_t len = b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
        if (len > max_) {
            Message m;
            m.error = "a frame length of " + std::to_string(len) + " bytes is over the limit of " +
                      std::to_string(max_) + " (the 4-byte length must be big-endian: struct.pack('>I', n))";
            m.data = buf_.substr(pos, std::min<std::size_t>(buf_.size() - pos, 64));
            fatal_ = true;
            buf_.clear();
            out.push_back(std::move(m));
            return out;
        }
        if (buf_.size() - pos - 4 < len) break;
        Message m;
        m.data = buf_.substr(pos + 4, len);
        if (!valid_utf8(m.data)) {
            m.error = "the payload is not valid UTF-8";
        } else {
            auto j = json::parse(m.data, nullptr, false);
            if (j.is_discarded()) {
                // The commonest cause: a length counted in characters, not bytes.
                std::string hint;
                for (unsigned char c : m.data)
                    if (c >= 0x80) {
                        hint = " (it holds non-ASCII characters: the length must count bytes, len(text.encode()), not characters)";
                        break;
                    }
                m.error = "the " + std::to_string(len) + "-byte payload is not valid JSON" + hint;
            } else {
                m.json = std::move(j);
            }
        }
        out.push_back(std::move(m));
        pos += 4 + len;
    }
    buf_.erase(0, pos);
    return out;
}

std::string encode_frame(std::string_view payload) {
    auto n = static_cast<std::uint32_t>(payload.size());
    std::string out;
    out += static_cast<char>(n >> 24);
    out += static_cast<char>(n >> 16 & 0xff);
    out += static_cast<char>(n >> 8 & 0xff);
    out += static_cast<char>(n & 0xff);
    out.append(payload);
    return out;
}

std::string substitute(const std::string& tpl, const std::smatch& m) {
    std::string out;
    for (std::size_t i = 0; i < tpl.size(); ++i) {
        if (tpl[i] == '$' && i + 1 < tpl.size() && tpl[i + 1] >= '0' && tpl[i + 1] <= '9') {
            std::size_t g = static_cast<std::size_t>(tpl[i + 1] - '0');
            if (g < m.size()) out += m[g].str();
            ++i;
        } else {
            out += tpl[i];
        }
    }
    return out;
}

json substitute(const json& tpl, const json& msg) {
    if (tpl.is_string()) {
        const auto& s = tpl.get_ref<const std::string&>();
        if (s == "$" || s.rfind("$.", 0) == 0) {
            const json* v = json_path(msg, s);
            return v ? *v : json();
        }
        return tpl;
    }
    if (tpl.is_object()) {
        json out = json::object();
        for (auto it = tpl.begin(); it != tpl.end(); ++it) out[it.key()] = substitute(it.value(), msg);
        return out;
    }
    if (tpl.is_array()) {
        json out = json::array();
        for (const auto& v : tpl) out.push_back(substitute(v, msg));
        return out;
    }
    return tpl;
}

Rule Dialogue::read_rule(Spec& r) const {
    Rule rule;
    rule.pointer = r.pointer();
    if (r.has("expect")) {
        if (kind_ == Kind::lines)
            rule.line = compile_pattern(r, "expect", r.string("expect"));
        else
            rule.frame = r.required("expect");
    }
    if (const json* resp = r.get("respond")) {
        // Lines: a string or a list of lines. Frames: one JSON value.
        if (kind_ == Kind::lines) {
            rule.respond = resp->is_array() ? resp->get<std::vector<json>>() : std::vector<json>{*resp};
            for (const auto& v : rule.respond)
                if (!v.is_string())
                    r.fail("respond", "a line protocol responds with a string or a list of strings, got " +
                                          json_type_name(v));
        } else {
            rule.respond = {*resp};
        }
    }
    if (const json* each = r.get("respond_each")) {
        if (kind_ == Kind::lines) r.fail("respond_each", "\"respond_each\" is for frames; lines take a list in \"respond\"");
        if (!each->is_array()) r.fail("respond_each", "\"respond_each\" must be an array: one frame per element");
        if (r.has("respond")) r.fail("respond_each", "give \"respond\" (one frame) or \"respond_each\" (several), not both");
        rule.respond = each->get<std::vector<json>>();
    }
    rule.close = r.boolean("close", false);
    r.get("description");
    return rule;
}

Dialogue::Dialogue(Spec& s, Kind kind) : kind_(kind) {
    if (const json* rules = s.get("rules")) {
        if (!rules->is_array())
            s.fail("rules", "\"rules\" must be an array of {\"expect\": …, \"respond\": …} objects");
        for (std::size_t i = 0; i < rules->size(); ++i) {
            Spec r(s.doc(), (*rules)[i], s.pointer("rules") + "/" + std::to_string(i), "rule");
            if (!r.has("expect"))
                r.fail("expect", "a rule needs \"expect\": " +
                                     std::string(kind == Kind::lines ? "a regular expression over the line"
                                                                     : "the JSON the message must contain"));
            rules_.push_back(read_rule(r));
            r.finish();
        }
    }
    if (s.has("otherwise")) {
        Spec o = s.object("otherwise");
        if (o.has("expect")) o.fail("expect", "\"otherwise\" applies to what no rule expects; it has no \"expect\"");
        otherwise_ = read_rule(o);
        o.finish();
    } else {
        otherwise_.respond = {kind == Kind::lines ? json("ERR unknown command") : json{{"error", "unknown request"}}};
    }
}

Reply Dialogue::answer(const Message& m) const {
    Reply r;
    if (!m.error.empty()) {
        // A message the service could not read: say so in the protocol.
        r.messages.push_back(kind_ == Kind::lines ? "ERR " + m.error : json{{"error", m.error}}.dump());
        return r;
    }
    for (std::size_t i = 0; i < rules_.size(); ++i) {
        const Rule& rule = rules_[i];
        if (kind_ == Kind::lines) {
            std::smatch sm;
            if (!std::regex_search(m.data, sm, rule.line->re)) continue;
            for (const auto& t : rule.respond) r.messages.push_back(substitute(t.get<std::string>(), sm));
        } else {
            std::string why;
            if (!m.json || !json_subset(*rule.frame, *m.json, why)) continue;
            for (const auto& t : rule.respond)
                r.messages.push_back(substitute(t, *m.json).dump(-1, ' ', false, json::error_handler_t::replace));
        }
        r.close = rule.close;
        r.rule = static_cast<int>(i);
        return r;
    }
    if (kind_ == Kind::lines) {
        std::smatch sm;
        std::regex_search(m.data, sm, std::regex(".*"));
        for (const auto& t : otherwise_.respond) r.messages.push_back(substitute(t.get<std::string>(), sm));
    } else {
        for (const auto& t : otherwise_.respond)
            r.messages.push_back(substitute(t, m.json.value_or(json())).dump(-1, ' ', false, json::error_handler_t::replace));
    }
    r.close = otherwise_.close;
    return r;
}

}  // namespace wirelab::tcp_proto
