// The Redis serialization protocol, I/O-free: a parser that splits the
// bytes a client sends into commands (arrays of bulk strings, or inline
// commands as redis-cli and telnet send them), and the replies encoded in
// RESP2 or RESP3. The service's coroutine feeds bytes in and writes what
// comes out.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wirelab::resp {

/// One command: its arguments, the first being the command's name as sent.
struct Command {
    std::vector<std::string> args;
};

/// Splits a byte stream into commands. A protocol error (a bad length, a
/// type byte no client sends) is fatal: the stream cannot be read further,
/// and error() says what was wrong, as Redis words it.
class Parser {
public:
    explicit Parser(std::size_t max_bulk = 64 << 20, std::size_t max_args = 1 << 20)
        : max_bulk_(max_bulk), max_args_(max_args) {}
    /// Appends bytes; returns the complete commands (empty ones skipped).
    std::vector<Command> feed(std::string_view bytes);
    bool fatal() const { return !error_.empty(); }
    const std::string& error() const { return error_; }
    std::size_t pending() const { return buf_.size(); }

private:
    /// One command from the front of buf_, or nullopt if incomplete.
    std::optional<Command> next();
    std::size_t max_bulk_, max_args_;
    std::string buf_;
    std::string error_;
};

/// A reply, in the types RESP3 has; encode() writes it for RESP2 or RESP3.
struct Reply {
    enum class Type { simple, error, integer, bulk, null, array, map, set, dbl, boolean };
    Type type = Type::null;
    std::string str;        // simple, error, bulk
    std::int64_t num = 0;   // integer, boolean
    double dbl = 0;
    std::vector<Reply> items;  // array, set; map: key, value, key, value…

    static Reply ok() { return simple("OK"); }
    static Reply simple(std::string s) { return make(Type::simple, std::move(s)); }
    static Reply err(std::string s) { return make(Type::error, std::move(s)); }
    static Reply integer(std::int64_t n) { return make(Type::integer, {}, n); }
    static Reply bulk(std::string s) { return make(Type::bulk, std::move(s)); }
    static Reply nil() { return {}; }
    static Reply array(std::vector<Reply> v) { return make(Type::array, {}, 0, 0, std::move(v)); }
    static Reply map(std::vector<Reply> kv) { return make(Type::map, {}, 0, 0, std::move(kv)); }
    static Reply set(std::vector<Reply> v) { return make(Type::set, {}, 0, 0, std::move(v)); }
    static Reply number(double d) { return make(Type::dbl, {}, 0, d); }
    static Reply boolean(bool b) { return make(Type::boolean, {}, b ? 1 : 0); }
    static Reply make(Type t, std::string s, std::int64_t n = 0, double d = 0, std::vector<Reply> v = {}) {
        Reply r;
        r.type = t;
        r.str = std::move(s);
        r.num = n;
        r.dbl = d;
        r.items = std::move(v);
        return r;
    }
    bool is_error() const { return type == Type::error; }

    /// The wire form: `version` 2 or 3 (RESP2 has no maps, sets, doubles,
    /// booleans or a null of its own; they fall back as Redis does).
    std::string encode(int version) const;
    /// A short human form for the journal: "OK", "(nil)", "\"v\"", "[3 items]".
    std::string summary() const;
};

}  // namespace wirelab::resp
