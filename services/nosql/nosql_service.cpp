#include "services/nosql/nosql_service.hpp"

#include <boost/asio/write.hpp>
#include <chrono>

#include "runtime/errors.hpp"
#include "runtime/journal.hpp"
#include "runtime/lab.hpp"
#include "runtime/listener.hpp"
#include "runtime/seeding.hpp"
#include "runtime/sqlite.hpp"
#include "services/nosql/engine.hpp"

namespace wirelab::resp {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

/// A value as JSON text for the state table: a string, an array (list),
/// an object (hash) or a sorted array (set).
// A value as the state table's JSON text, written without a JSON tree:
// the state of a list of 200,000 elements was copied twice to make one.
std::string value_json(const Value& v) {
    std::string out;
    auto array = [&](const auto& items) {
        out += '[';
        for (const auto& x : items) {
            if (out.size() > 1) out += ',';
            append_json_string(out, x);
        }
        out += ']';
    };
    switch (v.type) {
        case Value::Type::string: append_json_string(out, v.str); break;
        case Value::Type::list: array(v.list); break;
        case Value::Type::set: array(v.set); break;
        case Value::Type::hash:
            out += '{';
            for (const auto& [k, x] : v.hash) {
                if (out.size() > 1) out += ',';
                append_json_string(out, k);
                out += ':';
                append_json_string(out, x);
            }
            out += '}';
            break;
    }
    return out;
}

class NosqlService final : public Service {
public:
    explicit NosqlService(ServiceContext& ctx) : name_(ctx.name), journal_(ctx.journal) {
        Spec& s = ctx.spec;
        ListenSpec listen = read_listen_spec(s, ctx);
        idle_s_ = s.integer("idle_timeout", 300, 1, 3600);
        if (const json* d = s.get("data")) {
            if (!d->is_object())
                s.fail("data", "\"data\" maps keys to values: a string, an object (a hash) or an array (a list)");
            for (auto it = d->begin(); it != d->end(); ++it) {
                const json& v = it.value();
                if (!v.is_string() && !v.is_object() && !v.is_array() && !v.is_number())
                    s.fail("data", "the value of \"" + it.key() + "\" must be a string, number, object or array");
            }
            data_ = *d;
        }
        if (const json* t = s.get("ttl")) {
            if (!t->is_object()) s.fail("ttl", "\"ttl\" maps a key of \"data\" to its time to live in seconds");
            for (auto it = t->begin(); it != t->end(); ++it)
                if (!it.value().is_number() || it.value().get<double>() <= 0)
                    s.fail("ttl", "the ttl of \"" + it.key() + "\" is a number of seconds above 0");
            ttl_ = *t;
        }
        reset_each_case_ = read_reset_each_case(s);
        s.finish();
        state_path_ = ctx.state_dir / (name_ + ".db");
        listener_ = std::make_unique<StreamListener>(ctx, "nosql", listen, [this](Conn& c) { return serve(c); });
    }

    void start() override {
        std::error_code ec;
        fs::remove(state_path_, ec);
        db_ = std::make_unique<sql::Db>(state_path_);
        db_->exec(
            "CREATE TABLE keys(db INTEGER NOT NULL, key TEXT NOT NULL, type TEXT NOT NULL, value TEXT NOT NULL, "
            "ttl_ms INTEGER, PRIMARY KEY (db, key));");
        seed();
        listener_->start();
    }

    void stop() override {
        stopping_ = true;
        listener_->stop();
        write_state();
    }

    Endpoint endpoint() const override { return listener_->endpoint("redis"); }
    void set_faults(const FaultProfile& p, std::uint64_t seed) override { listener_->set_faults(p, seed); }
    std::filesystem::path state_file() const override { return state_path_; }
    void flush() override { write_state(); }
    void tick() override {
        // The state is written whole: while a big one changes under load,
        // writing it every tick would take the serving thread's time. At
        // most a twentieth of it goes there; checks read it after flush().
        auto start = std::chrono::steady_clock::now();
        if (start < next_write_) return;
        write_state();
        next_write_ = start + 20 * (std::chrono::steady_clock::now() - start);
    }

    void begin_case(const CaseSpec&) override {
        if (reset_each_case_ && cases_++ > 0) {
            engine_ = Engine{};
            seed();
        }
    }

private:
    static std::int64_t now_ms() {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }

    void seed() {
        ClientState admin;
        for (auto it = data_.begin(); it != data_.end(); ++it) {
            const json& v = it.value();
            std::vector<std::string> args;
            if (v.is_string() || v.is_number()) {
                args = {"SET", it.key(), v.is_string() ? v.get<std::string>() : v.dump()};
            } else if (v.is_object()) {
                args = {"HSET", it.key()};
                for (auto f = v.begin(); f != v.end(); ++f)
                    args.push_back(f.key()), args.push_back(f.value().is_string() ? f.value().get<std::string>() : f.value().dump());
            } else {
                args = {"RPUSH", it.key()};
                for (const auto& x : v) args.push_back(x.is_string() ? x.get<std::string>() : x.dump());
            }
            if (args.size() > 2) engine_.execute(admin, Command{args}, now_ms());
            if (ttl_.contains(it.key()))
                engine_.execute(admin,
                                Command{{"PEXPIRE", it.key(),
                                         std::to_string(static_cast<std::int64_t>(ttl_[it.key()].get<double>() * 1000))}},
                                now_ms());
        }
        written_ = ~std::uint64_t{0};
        write_state();
    }

    /// Rewrites the state table when the data changed since the last time.
    void write_state() {
        if (!db_ || written_ == engine_.version()) return;
        written_ = engine_.version();
        try {
            db_->exec("BEGIN");
            db_->exec("DELETE FROM keys");
            auto ins = db_->prepare("INSERT INTO keys(db, key, type, value, ttl_ms) VALUES (?,?,?,?,?)");
            std::int64_t now = now_ms();
            for (int d = 0; d < Engine::databases; ++d)
                for (const auto& [k, v] : engine_.keys(d, now)) {
                    ins.bind(1, d).bind(2, k).bind(3, type_name(v.type)).bind(4, value_json(v));
                    if (v.expires_ms)
                        ins.bind(5, *v.expires_ms - now);
                    else
                        ins.bind_null(5);
                    ins.exec();
                }
            db_->exec("COMMIT");
        } catch (const std::exception& e) {
            journal_.event("internal-error", name_, {{"what", std::string("writing the state: ") + e.what()}});
            try {
                db_->exec("ROLLBACK");
            } catch (...) {
            }
        }
    }

    awaitable<void> serve(Conn& c) {
        ClientState client;
        client.id = c.id();
        Parser parser;
        int seq = 0;
        char buf[16384];
        while (!stopping_) {
            std::size_t n = co_await c.read_some(asio::buffer(buf), std::chrono::seconds(idle_s_));
            if (n == 0) co_return;
            std::string out;
            for (const auto& cmd : parser.feed(std::string_view(buf, n))) {
                bool queued = client.in_multi;
                Reply r = engine_.execute(client, cmd, now_ms());
                // The row without a JSON tree: a pipeline of 16 GETs spent a
                // third of its CPU building and freeing one per command.
                CommandEntry row;
                row.service = name_;
                row.connection_id = c.id();
                row.seq = ++seq;
                row.db = client.db;
                row.name = cmd.args[0];
                for (auto& ch : row.name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
                std::size_t size = 2;
                for (std::size_t i = 1; i < cmd.args.size(); ++i) size += cmd.args[i].size() + 3;
                row.args.reserve(size);
                row.args += '[';
                for (std::size_t i = 1; i < cmd.args.size(); ++i) {
                    if (i > 1) row.args += ',';
                    append_json_string(row.args, cmd.args[i]);
                }
                row.args += ']';
                row.reply = r.summary();
                if (r.is_error()) row.error = r.str;
                row.in_multi = queued && row.name != "EXEC" && row.name != "DISCARD";
                journal_.command(std::move(row));
                out += r.encode(client.protocol);
                if (client.quit) break;
            }
            if (parser.fatal()) {
                out += Reply::err("ERR " + parser.error()).encode(client.protocol);
                journal_.event("protocol-error", name_, {{"error", parser.error()}}, c.id());
            }
            if (!out.empty() && !co_await c.write_all(out)) co_return;
            if (parser.fatal() || client.quit) {
                co_await c.close_send(client.quit ? "QUIT" : "protocol error");
                co_return;
            }
        }
    }

    std::string name_;
    Journal& journal_;
    long long idle_s_ = 300;
    json data_ = json::object(), ttl_ = json::object();
    bool reset_each_case_ = true, stopping_ = false;
    int cases_ = 0;
    Engine engine_;
    std::uint64_t written_ = ~std::uint64_t{0};
    std::chrono::steady_clock::time_point next_write_{};
    std::filesystem::path state_path_;
    std::unique_ptr<sql::Db> db_;
    std::unique_ptr<StreamListener> listener_;
};

}  // namespace

std::unique_ptr<Service> make_nosql_service(ServiceContext& ctx) { return std::make_unique<NosqlService>(ctx); }

}  // namespace wirelab::resp
