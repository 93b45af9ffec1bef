#include "services/nosql/engine.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace wirelab::resp {

const char* type_name(Value::Type t) {
    switch (t) {
        case Value::Type::string: return "string";
        case Value::Type::list: return "list";
        case Value::Type::hash: return "hash";
        case Value::Type::set: return "set";
    }
    return "none";
}

bool glob_match(std::string_view p, std::string_view s) {
    std::size_t pi = 0, si = 0;
    while (pi < p.size()) {
        char c = p[pi];
        if (c == '*') {
            while (pi < p.size() && p[pi] == '*') ++pi;
            if (pi == p.size()) return true;
            for (std::size_t k = si; k <= s.size(); ++k)
                if (glob_match(p.substr(pi), s.substr(k))) return true;
            return false;
        }
        if (si >= s.size()) return false;
        if (c == '?') {
            ++pi, ++si;
        } else if (c == '[') {
            std::size_t j = pi + 1;
            bool neg = j < p.size() && p[j] == '^';
            if (neg) ++j;
            bool hit = false;
            while (j < p.size() && p[j] != ']') {
                if (p[j] == '\\' && j + 1 < p.size()) {
                    hit |= p[j + 1] == s[si];
                    j += 2;
                } else if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
                    char lo = std::min(p[j], p[j + 2]), hi = std::max(p[j], p[j + 2]);
                    hit |= s[si] >= lo && s[si] <= hi;
                    j += 3;
                } else {
                    hit |= p[j] == s[si];
                    ++j;
                }
            }
            if (hit == neg) return false;
            pi = j < p.size() ? j + 1 : j;
            ++si;
        } else {
            if (c == '\\' && pi + 1 < p.size()) c = p[++pi];
            if (c != s[si]) return false;
            ++pi, ++si;
        }
    }
    return si == s.size();
}

namespace {

std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}
std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::optional<std::int64_t> to_int(const std::string& s) {
    if (s.empty() || s.size() > 20) return std::nullopt;
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno || *end || std::isspace(static_cast<unsigned char>(s[0]))) return std::nullopt;
    return v;
}

std::optional<double> to_double(const std::string& s) {
    if (s.empty()) return std::nullopt;
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (*end || std::isnan(v)) return std::nullopt;
    return v;
}

std::string fmt_double(double d) {
    char b[64];
    std::snprintf(b, sizeof b, "%.17g", d);
    std::string s = b;
    // Redis prints 10.5, not 10.500000000000000.
    if (s.find('e') == std::string::npos && s.find('.') != std::string::npos) {
        std::snprintf(b, sizeof b, "%.15g", d);
        s = b;
    }
    return s;
}

Value str_value(const std::string& s) {
    Value v;
    v.str = s;
    return v;
}

Reply wrong_args(const std::string& name) {
    return Reply::err("ERR wrong number of arguments for '" + lower(name) + "' command");
}
Reply wrong_type() { return Reply::err("WRONGTYPE Operation against a key holding the wrong kind of value"); }
Reply not_int() { return Reply::err("ERR value is not an integer or out of range"); }
Reply syntax() { return Reply::err("ERR syntax error"); }

Reply bulks(const std::vector<std::string>& v) {
    std::vector<Reply> out;
    for (const auto& s : v) out.push_back(Reply::bulk(s));
    return Reply::array(std::move(out));
}

/// Commands that never change data (every other one bumps the version).
bool read_only(const std::string& n) {
    static const std::set<std::string> ro = {
        "GET", "MGET", "STRLEN", "EXISTS", "TYPE", "KEYS", "SCAN", "TTL", "PTTL", "HGET", "HMGET", "HGETALL",
        "HEXISTS", "HKEYS", "HVALS", "HLEN", "LRANGE", "LLEN", "LINDEX", "SMEMBERS", "SISMEMBER", "SCARD",
        "PING", "ECHO", "HELLO", "CLIENT", "COMMAND", "INFO", "CONFIG", "DBSIZE", "TIME", "SELECT", "QUIT"};
    return ro.count(n) > 0;
}

}  // namespace

Value* Engine::find(ClientState& c, const std::string& key, std::int64_t now) {
    auto& d = db(c);
    auto it = d.find(key);
    if (it == d.end()) return nullptr;
    if (it->second.expires_ms && *it->second.expires_ms <= now) {
        d.erase(it);
        return nullptr;
    }
    return &it->second;
}

const std::map<std::string, Value>& Engine::keys(int n, std::int64_t now) {
    auto& d = dbs_[static_cast<std::size_t>(n)];
    for (auto it = d.begin(); it != d.end();)
        it = it->second.expires_ms && *it->second.expires_ms <= now ? d.erase(it) : std::next(it);
    return d;
}

Reply Engine::execute(ClientState& c, const Command& cmd, std::int64_t now) {
    const auto& a = cmd.args;
    std::string name = upper(a[0]);
    if (c.in_multi && name != "EXEC" && name != "DISCARD" && name != "MULTI" && name != "QUIT") {
        // Queued; a command that cannot run fails the whole transaction.
        Reply check = name == "WATCH" ? Reply::err("ERR WATCH inside MULTI is not allowed") : Reply::simple("QUEUED");
        if (check.is_error()) {
            c.multi_failed = true;
            return check;
        }
        c.queued.push_back(cmd);
        return check;
    }
    if (name == "MULTI") {
        if (c.in_multi) return Reply::err("ERR MULTI calls can not be nested");
        c.in_multi = true;
        c.multi_failed = false;
        c.queued.clear();
        return Reply::ok();
    }
    if (name == "EXEC") {
        if (!c.in_multi) return Reply::err("ERR EXEC without MULTI");
        c.in_multi = false;
        auto q = std::move(c.queued);
        c.queued.clear();
        if (c.multi_failed) return Reply::err("EXECABORT Transaction discarded because of previous errors.");
        std::vector<Reply> out;
        for (const auto& qc : q) out.push_back(run(c, qc.args, now));
        return Reply::array(std::move(out));
    }
    if (name == "DISCARD") {
        if (!c.in_multi) return Reply::err("ERR DISCARD without MULTI");
        c.in_multi = false;
        c.queued.clear();
        return Reply::ok();
    }
    return run(c, a, now);
}

Reply Engine::run(ClientState& c, const std::vector<std::string>& a, std::int64_t now) {
    const std::string n = upper(a[0]);
    const std::size_t argc = a.size();
    if (!read_only(n)) ++version_;
    auto need = [&](std::size_t min, std::size_t max = SIZE_MAX) { return argc >= min && argc <= max; };
    auto& d = db(c);
    // The key's value of `type`, created when `create`; nullptr if absent.
    // `bad` becomes true when the key holds another type.
    bool bad = false;
    auto typed = [&](const std::string& key, Value::Type type, bool create) -> Value* {
        Value* v = find(c, key, now);
        if (v && v->type != type) {
            bad = true;
            return nullptr;
        }
        if (!v && create) {
            v = &d[key];
            v->type = type;
        }
        return v;
    };
    auto drop_if_empty = [&](const std::string& key, Value* v) {
        if (v && ((v->type == Value::Type::list && v->list.empty()) || (v->type == Value::Type::hash && v->hash.empty()) ||
                  (v->type == Value::Type::set && v->set.empty())))
            d.erase(key);
    };

    // --- connection ---
    if (n == "PING") {
        if (!need(1, 2)) return wrong_args(n);
        return argc == 2 ? Reply::bulk(a[1]) : Reply::simple("PONG");
    }
    if (n == "ECHO") return need(2, 2) ? Reply::bulk(a[1]) : wrong_args(n);
    if (n == "QUIT") {
        c.quit = true;
        return Reply::ok();
    }
    if (n == "SELECT") {
        if (!need(2, 2)) return wrong_args(n);
        auto i = to_int(a[1]);
        if (!i) return not_int();
        if (*i < 0 || *i >= databases) return Reply::err("ERR DB index is out of range");
        c.db = static_cast<int>(*i);
        return Reply::ok();
    }
    if (n == "HELLO") {
        std::size_t i = 1;
        if (argc > 1) {
            auto v = to_int(a[1]);
            if (!v) return Reply::err("ERR Protocol version is not an integer or out of range");
            if (*v != 2 && *v != 3) return Reply::err("NOPROTO unsupported protocol version");
            c.protocol = static_cast<int>(*v);
            i = 2;
        }
        for (; i < argc; ++i) {
            std::string opt = upper(a[i]);
            if (opt == "AUTH" && i + 2 < argc) i += 2;
            else if (opt == "SETNAME" && i + 1 < argc) c.name = a[++i];
            else return syntax();
        }
        return Reply::map({Reply::bulk("server"), Reply::bulk("redis"), Reply::bulk("version"), Reply::bulk("7.0.0"),
                           Reply::bulk("proto"), Reply::integer(c.protocol), Reply::bulk("id"), Reply::integer(c.id),
                           Reply::bulk("mode"), Reply::bulk("standalone"), Reply::bulk("role"),
                           Reply::bulk("master"), Reply::bulk("modules"), Reply::array({})});
    }
    if (n == "CLIENT") {
        if (argc < 2) return wrong_args(n);
        std::string sub = upper(a[1]);
        if (sub == "SETNAME") return argc == 3 ? (c.name = a[2], Reply::ok()) : wrong_args("client|setname");
        if (sub == "GETNAME") return c.name.empty() ? Reply::nil() : Reply::bulk(c.name);
        if (sub == "ID") return Reply::integer(c.id);
        if (sub == "SETINFO") return Reply::ok();
        if (sub == "INFO") return Reply::bulk("id=" + std::to_string(c.id) + " name=" + c.name + " db=" +
                                              std::to_string(c.db) + " resp=" + std::to_string(c.protocol) + "\n");
        return Reply::err("ERR unknown subcommand '" + a[1] + "'. Try CLIENT HELP.");
    }
    if (n == "COMMAND") {
        if (argc >= 2 && upper(a[1]) == "COUNT") return Reply::integer(0);
        return c.protocol >= 3 && argc >= 2 && upper(a[1]) == "DOCS" ? Reply::map({}) : Reply::array({});
    }
    if (n == "INFO") return Reply::bulk("# Server\r\nredis_version:7.0.0\r\nredis_mode:standalone\r\n");
    if (n == "CONFIG") return c.protocol >= 3 ? Reply::map({}) : Reply::array({});
    if (n == "TIME") {
        return bulks({std::to_string(now / 1000), std::to_string((now % 1000) * 1000)});
    }
    if (n == "DBSIZE") return Reply::integer(static_cast<std::int64_t>(keys(c.db, now).size()));
    if (n == "FLUSHDB") {
        d.clear();
        return Reply::ok();
    }
    if (n == "FLUSHALL") {
        for (auto& x : dbs_) x.clear();
        return Reply::ok();
    }
    if (n == "WATCH" || n == "UNWATCH") return Reply::ok();

    // --- keys ---
    if (n == "DEL" || n == "UNLINK") {
        if (!need(2)) return wrong_args(n);
        std::int64_t k = 0;
        for (std::size_t i = 1; i < argc; ++i)
            if (find(c, a[i], now)) k += static_cast<std::int64_t>(d.erase(a[i]));
        return Reply::integer(k);
    }
    if (n == "EXISTS") {
        if (!need(2)) return wrong_args(n);
        std::int64_t k = 0;
        for (std::size_t i = 1; i < argc; ++i) k += find(c, a[i], now) ? 1 : 0;
        return Reply::integer(k);
    }
    if (n == "TYPE") {
        if (!need(2, 2)) return wrong_args(n);
        Value* v = find(c, a[1], now);
        return Reply::simple(v ? type_name(v->type) : "none");
    }
    if (n == "KEYS") {
        if (!need(2, 2)) return wrong_args(n);
        std::vector<std::string> out;
        for (const auto& [k, v] : keys(c.db, now))
            if (glob_match(a[1], k)) out.push_back(k);
        return bulks(out);
    }
    if (n == "SCAN") {
        if (!need(2)) return wrong_args(n);
        auto cursor = to_int(a[1]);
        if (!cursor || *cursor < 0) return Reply::err("ERR invalid cursor");
        std::string match = "*", type;
        std::int64_t count = 10;
        for (std::size_t i = 2; i < argc; ++i) {
            std::string o = upper(a[i]);
            if (i + 1 >= argc) return syntax();
            if (o == "MATCH") match = a[++i];
            else if (o == "COUNT") {
                auto v = to_int(a[++i]);
                if (!v || *v < 1) return *v < 1 ? syntax() : not_int();
                count = *v;
            } else if (o == "TYPE") type = lower(a[++i]);
            else return syntax();
        }
        // The cursor is the position in key order: stable while keys stay.
        const auto& all = keys(c.db, now);
        std::vector<std::string> out;
        std::int64_t pos = 0, next = 0;
        for (const auto& [k, v] : all) {
            if (pos++ < *cursor) continue;
            if (static_cast<std::int64_t>(out.size()) >= count) {
                next = pos - 1;
                break;
            }
            if (glob_match(match, k) && (type.empty() || type == type_name(v.type))) out.push_back(k);
        }
        return Reply::array({Reply::bulk(std::to_string(next)), bulks(out)});
    }
    if (n == "EXPIRE" || n == "PEXPIRE" || n == "EXPIREAT" || n == "PEXPIREAT") {
        if (!need(3, 4)) return wrong_args(n);
        auto t = to_int(a[2]);
        if (!t) return not_int();
        Value* v = find(c, a[1], now);
        if (!v) return Reply::integer(0);
        std::int64_t at = n == "EXPIRE" ? now + *t * 1000 : n == "PEXPIRE" ? now + *t : n == "EXPIREAT" ? *t * 1000 : *t;
        if (argc == 4) {
            std::string o = upper(a[3]);
            if (o == "NX" && v->expires_ms) return Reply::integer(0);
            if (o == "XX" && !v->expires_ms) return Reply::integer(0);
            if (o == "GT" && (!v->expires_ms || at <= *v->expires_ms)) return Reply::integer(0);
            if (o == "LT" && v->expires_ms && at >= *v->expires_ms) return Reply::integer(0);
            if (o != "NX" && o != "XX" && o != "GT" && o != "LT")
                return Reply::err("ERR Unsupported option " + a[3]);
        }
        if (at <= now) {
            d.erase(a[1]);
        } else {
            v->expires_ms = at;
        }
        return Reply::integer(1);
    }
    if (n == "TTL" || n == "PTTL") {
        if (!need(2, 2)) return wrong_args(n);
        Value* v = find(c, a[1], now);
        if (!v) return Reply::integer(-2);
        if (!v->expires_ms) return Reply::integer(-1);
        std::int64_t left = *v->expires_ms - now;
        return Reply::integer(n == "TTL" ? (left + 500) / 1000 : left);
    }
    if (n == "PERSIST") {
        if (!need(2, 2)) return wrong_args(n);
        Value* v = find(c, a[1], now);
        if (!v || !v->expires_ms) return Reply::integer(0);
        v->expires_ms.reset();
        return Reply::integer(1);
    }
    if (n == "RENAME") {
        if (!need(3, 3)) return wrong_args(n);
        Value* v = find(c, a[1], now);
        if (!v) return Reply::err("ERR no such key");
        Value moved = *v;
        d.erase(a[1]);
        d[a[2]] = std::move(moved);
        return Reply::ok();
    }

    // --- strings ---
    if (n == "GET" || n == "GETDEL") {
        if (!need(2, 2)) return wrong_args(n);
        Value* v = typed(a[1], Value::Type::string, false);
        if (bad) return wrong_type();
        if (!v) return Reply::nil();
        Reply r = Reply::bulk(v->str);
        if (n == "GETDEL") d.erase(a[1]);
        return r;
    }
    if (n == "SET") {
        if (!need(3)) return wrong_args(n);
        std::optional<std::int64_t> at;
        bool nx = false, xx = false, keep = false, get = false;
        for (std::size_t i = 3; i < argc; ++i) {
            std::string o = upper(a[i]);
            if ((o == "EX" || o == "PX" || o == "EXAT" || o == "PXAT") && i + 1 < argc && !at) {
                auto t = to_int(a[++i]);
                if (!t) return not_int();
                if (*t <= 0) return Reply::err("ERR invalid expire time in 'set' command");
                at = o == "EX" ? now + *t * 1000 : o == "PX" ? now + *t : o == "EXAT" ? *t * 1000 : *t;
            } else if (o == "NX" && !xx) nx = true;
            else if (o == "XX" && !nx) xx = true;
            else if (o == "KEEPTTL" && !at) keep = true;
            else if (o == "GET") get = true;
            else return syntax();
        }
        Value* v = find(c, a[1], now);
        Reply old = Reply::nil();
        if (get && v) {
            if (v->type != Value::Type::string) return wrong_type();
            old = Reply::bulk(v->str);
        }
        if ((nx && v) || (xx && !v)) return get ? old : Reply::nil();
        std::optional<std::int64_t> ttl = keep && v ? v->expires_ms : std::nullopt;
        Value& nv = d[a[1]];
        nv = Value{};
        nv.str = a[2];
        nv.expires_ms = at ? at : ttl;
        return get ? old : Reply::ok();
    }
    if (n == "SETEX" || n == "PSETEX") {
        if (!need(4, 4)) return wrong_args(n);
        auto t = to_int(a[2]);
        if (!t) return not_int();
        if (*t <= 0) return Reply::err("ERR invalid expire time in '" + lower(n) + "' command");
        Value& nv = d[a[1]];
        nv = Value{};
        nv.str = a[3];
        nv.expires_ms = now + (n == "SETEX" ? *t * 1000 : *t);
        return Reply::ok();
    }
    if (n == "SETNX") {
        if (!need(3, 3)) return wrong_args(n);
        if (find(c, a[1], now)) return Reply::integer(0);
        d[a[1]] = str_value(a[2]);
        return Reply::integer(1);
    }
    if (n == "GETSET") {
        if (!need(3, 3)) return wrong_args(n);
        Value* v = typed(a[1], Value::Type::string, false);
        if (bad) return wrong_type();
        Reply old = v ? Reply::bulk(v->str) : Reply::nil();
        d[a[1]] = str_value(a[2]);
        return old;
    }
    if (n == "MGET") {
        if (!need(2)) return wrong_args(n);
        std::vector<Reply> out;
        for (std::size_t i = 1; i < argc; ++i) {
            Value* v = find(c, a[i], now);
            out.push_back(v && v->type == Value::Type::string ? Reply::bulk(v->str) : Reply::nil());
        }
        return Reply::array(std::move(out));
    }
    if (n == "MSET") {
        if (argc < 3 || argc % 2 == 0) return wrong_args(n);
        for (std::size_t i = 1; i + 1 < argc; i += 2) d[a[i]] = str_value(a[i + 1]);
        return Reply::ok();
    }
    if (n == "APPEND") {
        if (!need(3, 3)) return wrong_args(n);
        Value* v = typed(a[1], Value::Type::string, true);
        if (bad) return wrong_type();
        v->str += a[2];
        return Reply::integer(static_cast<std::int64_t>(v->str.size()));
    }
    if (n == "STRLEN") {
        if (!need(2, 2)) return wrong_args(n);
        Value* v = typed(a[1], Value::Type::string, false);
        if (bad) return wrong_type();
        return Reply::integer(v ? static_cast<std::int64_t>(v->str.size()) : 0);
    }
    if (n == "INCR" || n == "DECR" || n == "INCRBY" || n == "DECRBY") {
        bool by = n == "INCRBY" || n == "DECRBY";
        if (!need(by ? 3 : 2, by ? 3 : 2)) return wrong_args(n);
        std::int64_t delta = 1;
        if (by) {
            auto dv = to_int(a[2]);
            if (!dv) return not_int();
            delta = *dv;
        }
        if (n[0] == 'D') delta = -delta;
        Value* v = typed(a[1], Value::Type::string, false);
        if (bad) return wrong_type();
        std::int64_t cur = 0;
        if (v) {
            auto cv = to_int(v->str);
            if (!cv) return not_int();
            cur = *cv;
        }
        if ((delta > 0 && cur > INT64_MAX - delta) || (delta < 0 && cur < INT64_MIN - delta))
            return Reply::err("ERR increment or decrement would overflow");
        if (!v) v = typed(a[1], Value::Type::string, true);
        v->str = std::to_string(cur + delta);
        return Reply::integer(cur + delta);
    }
    if (n == "INCRBYFLOAT") {
        if (!need(3, 3)) return wrong_args(n);
        auto dv = to_double(a[2]);
        if (!dv) return Reply::err("ERR value is not a valid float");
        Value* v = typed(a[1], Value::Type::string, true);
        if (bad) return wrong_type();
        double cur = 0;
        if (!v->str.empty()) {
            auto cv = to_double(v->str);
            if (!cv) return Reply::err("ERR value is not a valid float");
            cur = *cv;
        }
        v->str = fmt_double(cur + *dv);
        return Reply::bulk(v->str);
    }

    // --- hashes ---
    if (n == "HSET" || n == "HMSET") {
        if (argc < 4 || argc % 2 != 0) return wrong_args(n);
        Value* v = typed(a[1], Value::Type::hash, true);
        if (bad) return wrong_type();
        std::int64_t added = 0;
        for (std::size_t i = 2; i + 1 < argc; i += 2) added += v->hash.insert_or_assign(a[i], a[i + 1]).second ? 1 : 0;
        return n == "HSET" ? Reply::integer(added) : Reply::ok();
    }
    if (n == "HSETNX") {
        if (!need(4, 4)) return wrong_args(n);
        Value* v = typed(a[1], Value::Type::hash, true);
        if (bad) return wrong_type();
        return Reply::integer(v->hash.emplace(a[2], a[3]).second ? 1 : 0);
    }
    if (n == "HGET") {
        if (!need(3, 3)) return wrong_args(n);
        Value* v = typed(a[1], Value::Type::hash, false);
        if (bad) return wrong_type();
        if (!v) return Reply::nil();
        auto it = v->hash.find(a[2]);
        return it == v->hash.end() ? Reply::nil() : Reply::bulk(it->second);
    }
    if (n == "HMGET") {
        if (!need(3)) return wrong_args(n);
        Value* v = typed(a[1], Value::Type::hash, false);
        if (bad) return wrong_type();
        std::vector<Reply> out;
        for (std::size_t i = 2; i < argc; ++i) {
            auto it = v ? v->hash.find(a[i]) : decltype(v->hash.end()){};
            out.push_back(v && it != v->hash.end() ? Reply::bulk(it->second) : Reply::nil());
        }
        return Reply::array(std::move(out));
    }
    if (n == "HGETALL" || n == "HKEYS" || n == "HVALS" || n == "HLEN") {
        if (!need(2, 2)) return wrong_args(n);
        Value* v = typed(a[1], Value::Type::hash, false);
        if (bad) return wrong_type();
        if (n == "HLEN") return Reply::integer(v ? static_cast<std::int64_t>(v->hash.size()) : 0);
        std::vector<Reply> out;
        if (v)
            for (const auto& [f, val] : v->hash) {
                if (n != "HVALS") out.push_back(Reply::bulk(f));
                if (n != "HKEYS") out.push_back(Reply::bulk(val));
            }
        return n == "HGETALL" ? Reply::map(std::move(out)) : Reply::array(std::move(out));
    }
    if (n == "HDEL") {
        if (!need(3)) return wrong_args(n);
        Value* v = typed(a[1], Value::Type::hash, false);
        if (bad) return wrong_type();
        std::int64_t k = 0;
        if (v)
            for (std::size_t i = 2; i < argc; ++i) k += static_cast<std::int64_t>(v->hash.erase(a[i]));
        drop_if_empty(a[1], v);
        return Reply::integer(k);
    }
    if (n == "HEXISTS") {
        if (!need(3, 3)) return wrong_args(n);
        Value* v = typed(a[1], Value::Type::hash, false);
        if (bad) return wrong_type();
        return Reply::integer(v && v->hash.count(a[2]) ? 1 : 0);
    }
    if (n == "HINCRBY") {
        if (!need(4, 4)) return wrong_args(n);
        auto dv = to_int(a[3]);
        if (!dv) return not_int();
        Value* v = typed(a[1], Value::Type::hash, true);
        if (bad) return wrong_type();
        std::int64_t cur = 0;
        if (auto it = v->hash.find(a[2]); it != v->hash.end()) {
            auto cv = to_int(it->second);
            if (!cv) return Reply::err("ERR hash value is not an integer");
            cur = *cv;
        }
        v->hash[a[2]] = std::to_string(cur + *dv);
        return Reply::integer(cur + *dv);
    }

    // --- lists ---
    if (n == "LPUSH" || n == "RPUSH") {
        if (!need(3)) return wrong_args(n);
        Value* v = typed(a[1], Value::Type::list, true);
        if (bad) return wrong_type();
        for (std::size_t i = 2; i < argc; ++i) n == "LPUSH" ? v->list.push_front(a[i]) : v->list.push_back(a[i]);
        return Reply::integer(static_cast<std::int64_t>(v->list.size()));
    }
    if (n == "LPOP" || n == "RPOP") {
        if (!need(2, 3)) return wrong_args(n);
        Value* v = typed(a[1], Value::Type::list, false);
        if (bad) return wrong_type();
        std::optional<std::int64_t> count;
        if (argc == 3) {
            count = to_int(a[2]);
            if (!count || *count < 0) return Reply::err("ERR value is out of range, must be positive");
        }
        if (!v) return count ? Reply::nil() : Reply::nil();
        std::vector<std::string> out;
        for (std::int64_t k = 0; k < (count ? *count : 1) && !v->list.empty(); ++k) {
            if (n == "LPOP") {
                out.push_back(v->list.front());
                v->list.pop_front();
            } else {
                out.push_back(v->list.back());
                v->list.pop_back();
            }
        }
        drop_if_empty(a[1], v);
        if (!count) return Reply::bulk(out.front());
        return bulks(out);
    }
    if (n == "LLEN") {
        if (!need(2, 2)) return wrong_args(n);
        Value* v = typed(a[1], Value::Type::list, false);
        if (bad) return wrong_type();
        return Reply::integer(v ? static_cast<std::int64_t>(v->list.size()) : 0);
    }
    if (n == "LRANGE" || n == "LINDEX") {
        bool range = n == "LRANGE";
        if (!need(range ? 4 : 3, range ? 4 : 3)) return wrong_args(n);
        auto s = to_int(a[2]);
        auto e = range ? to_int(a[3]) : s;
        if (!s || !e) return not_int();
        Value* v = typed(a[1], Value::Type::list, false);
        if (bad) return wrong_type();
        auto len = static_cast<std::int64_t>(v ? v->list.size() : 0);
        std::int64_t from = *s < 0 ? len + *s : *s, to = *e < 0 ? len + *e : *e;
        if (!range) return v && from >= 0 && from < len ? Reply::bulk(v->list[static_cast<std::size_t>(from)]) : Reply::nil();
        from = std::max<std::int64_t>(from, 0);
        to = std::min(to, len - 1);
        std::vector<std::string> out;
        for (std::int64_t i = from; v && i <= to; ++i) out.push_back(v->list[static_cast<std::size_t>(i)]);
        return bulks(out);
    }

    // --- sets ---
    if (n == "SADD" || n == "SREM") {
        if (!need(3)) return wrong_args(n);
        Value* v = typed(a[1], Value::Type::set, n == "SADD");
        if (bad) return wrong_type();
        std::int64_t k = 0;
        for (std::size_t i = 2; v && i < argc; ++i)
            k += n == "SADD" ? (v->set.insert(a[i]).second ? 1 : 0) : static_cast<std::int64_t>(v->set.erase(a[i]));
        drop_if_empty(a[1], v);
        return Reply::integer(k);
    }
    if (n == "SMEMBERS") {
        if (!need(2, 2)) return wrong_args(n);
        Value* v = typed(a[1], Value::Type::set, false);
        if (bad) return wrong_type();
        std::vector<Reply> out;
        if (v)
            for (const auto& m : v->set) out.push_back(Reply::bulk(m));
        return Reply::set(std::move(out));
    }
    if (n == "SISMEMBER") {
        if (!need(3, 3)) return wrong_args(n);
        Value* v = typed(a[1], Value::Type::set, false);
        if (bad) return wrong_type();
        return Reply::integer(v && v->set.count(a[2]) ? 1 : 0);
    }
    if (n == "SCARD") {
        if (!need(2, 2)) return wrong_args(n);
        Value* v = typed(a[1], Value::Type::set, false);
        if (bad) return wrong_type();
        return Reply::integer(v ? static_cast<std::int64_t>(v->set.size()) : 0);
    }

    std::string args;
    for (std::size_t i = 1; i < argc && i < 4; ++i) args += "'" + a[i] + "' ";
    return Reply::err("ERR unknown command '" + a[0] + "', with args beginning with: " + args);
}

}  // namespace wirelab::resp
