// The `nosql` service's data and commands, I/O-free: a Redis-like store of
// strings (with expiry), hashes, lists and sets in 16 databases, and the
// commands redis-py and redis-cli send, answered as Redis answers them
// (its error words included). Time comes in as an argument, so tests and
// the service agree on expiry.
#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "services/nosql/resp.hpp"

namespace wirelab::resp {

struct Value {
    enum class Type { string, list, hash, set };
    Type type = Type::string;
    std::string str;
    std::deque<std::string> list;
    std::map<std::string, std::string> hash;
    std::set<std::string> set;
    std::optional<std::int64_t> expires_ms;  // absolute, on the engine's clock
};

const char* type_name(Value::Type t);

/// One client connection's state.
struct ClientState {
    std::int64_t id = 0;
    int protocol = 2;  // RESP2 until HELLO 3
    int db = 0;
    std::string name;
    bool in_multi = false, multi_failed = false;
    std::vector<Command> queued;
    bool quit = false;  // QUIT: close after the reply
};

class Engine {
public:
    static constexpr int databases = 16;

    /// Runs one command for `client` at time `now_ms`.
    Reply execute(ClientState& client, const Command& cmd, std::int64_t now_ms);

    /// The live keys of database `db` at `now_ms` (expired ones removed).
    const std::map<std::string, Value>& keys(int db, std::int64_t now_ms);
    /// Bumped by every command that may have changed data.
    std::uint64_t version() const { return version_; }

private:
    Reply run(ClientState& c, const std::vector<std::string>& a, std::int64_t now);
    Value* find(ClientState& c, const std::string& key, std::int64_t now);
    std::map<std::string, Value>& db(ClientState& c) { return dbs_[static_cast<std::size_t>(c.db)]; }
    std::map<std::string, Value> dbs_[databases];
    std::uint64_t version_ = 0;
};

/// Redis's glob: *, ?, [abc], [^a], [a-z], \x.
bool glob_match(std::string_view pattern, std::string_view s);

}  // namespace wirelab::resp
