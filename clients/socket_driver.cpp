// The `socket` client: a script of steps run against the learner's TCP
// server over real connections — sends (whole, byte by byte, huge), line
// expectations with a deadline, half-close, reset, reconnect, sleeps — on
// one connection or N in parallel. Every connection goes through the
// recording layer (role "client"); every step is a `steps` row.
#include "clients/socket_driver.hpp"

#include <boost/asio/write.hpp>
#include <optional>

#include "runtime/journal.hpp"
#include "runtime/match.hpp"
#include "runtime/recording.hpp"

namespace wirelab::clients {

namespace {

using json = nlohmann::json;

struct Step {
    enum class Kind { connect, send, expect_line, expect_close, expect_nothing, half_close, reset, close, sleep };
    Kind kind = Kind::send;
    std::string text;          // send: the bytes; expect_line equals
    std::int64_t repeat = 1;   // send: the text this many times
    bool bytewise = false;     // send: one byte per write
    micros gap_us = 0;         // send bytewise: between bytes
    std::optional<Pattern> regex;          // expect_line
    std::optional<std::string> equals;     // expect_line
    std::optional<std::size_t> length;     // expect_line: a line of this many bytes
    micros timeout_us = 0;     // expect_*: 0 = the client's default; sleep: how long
    std::string label;         // for a person: send "UPPER hi\n"
};

std::string in_quotes(const std::string& s, std::size_t max = 60) { return "\"" + printable(s, max) + "\""; }

Step read_step(Spec& s, micros default_timeout) {
    Step st;
    int kinds = 0;
    if (s.has("send")) {
        ++kinds;
        st.kind = Step::Kind::send;
        st.text = s.string("send");
        st.repeat = s.integer("repeat", 1, 1, 64LL << 20);
        st.bytewise = s.boolean("bytewise", false);
        st.gap_us = static_cast<micros>(s.number("gap_ms", 2, 0, 10000) * 1000);
        if (st.text.empty()) s.fail("send", "nothing to send");
        if (st.text.size() * static_cast<std::size_t>(st.repeat) > (64u << 20)) s.fail("repeat", "at most 64 MB per send");
        st.label = "send " + (st.repeat > 1 ? std::to_string(st.repeat) + " × " : "") + in_quotes(st.text) +
                   (st.bytewise ? " byte by byte" : "");
    }
    if (const json* e = s.get("expect_line")) {
        ++kinds;
        st.kind = Step::Kind::expect_line;
        if (e->is_string()) {
            st.regex = compile_pattern(s, "expect_line", e->get<std::string>());
            st.label = "expect a line matching /" + st.regex->source + "/";
        } else if (e->is_object()) {
            Spec m(s.doc(), *e, s.pointer("expect_line"), "line expectation");
            if (auto r = m.opt_string("regex")) st.regex = compile_pattern(m, "regex", *r);
            st.equals = m.opt_string("equals");
            if (auto n = m.opt_integer("length", 0, 64LL << 20)) st.length = static_cast<std::size_t>(*n);
            m.finish();
            if (!st.regex && !st.equals && !st.length)
                s.fail("expect_line", "say what the line must be: \"regex\", \"equals\" or \"length\"");
            st.label = st.equals ? "expect the line " + in_quotes(*st.equals)
                       : st.length ? "expect a line of " + std::to_string(*st.length) + " bytes"
                                   : "expect a line matching /" + st.regex->source + "/";
        } else {
            s.fail("expect_line", "\"expect_line\" is a regular expression or {\"equals\"|\"regex\"|\"length\": …}");
        }
    }
    auto flag = [&](const char* key, Step::Kind k, const char* label) {
        if (!s.has(key)) return;
        ++kinds;
        if (!s.boolean(key, false)) s.fail(key, std::string("\"") + key + "\" takes true");
        st.kind = k;
        st.label = label;
    };
    flag("expect_close", Step::Kind::expect_close, "expect the server to close the connection");
    flag("half_close", Step::Kind::half_close, "half-close (shutdown the sending side)");
    flag("reset", Step::Kind::reset, "reset the connection (RST)");
    flag("close", Step::Kind::close, "close the connection");
    flag("connect", Step::Kind::connect, "connect");
    if (s.has("expect_nothing_ms")) {
        ++kinds;
        st.kind = Step::Kind::expect_nothing;
        st.timeout_us = static_cast<micros>(s.number("expect_nothing_ms", 0, 1, 600000) * 1000);
        st.label = "expect nothing for " + std::to_string(st.timeout_us / 1000) + " ms";
    }
    if (s.has("sleep_ms")) {
        ++kinds;
        st.kind = Step::Kind::sleep;
        st.timeout_us = static_cast<micros>(s.number("sleep_ms", 0, 0, 600000) * 1000);
        st.label = "wait " + std::to_string(st.timeout_us / 1000) + " ms";
    }
    if (kinds != 1)
        s.fail("", "a step does exactly one thing: \"send\", \"expect_line\", \"expect_close\", \"expect_nothing_ms\", \"half_close\", "
                   "\"reset\", \"close\", \"connect\" or \"sleep_ms\" (found " + std::to_string(kinds) + ")");
    if (st.kind == Step::Kind::expect_line || st.kind == Step::Kind::expect_close)
        st.timeout_us = static_cast<micros>(s.number("timeout_ms", static_cast<double>(default_timeout) / 1000, 1, 600000) * 1000);
    s.get("description");
    return st;
}

std::string endpoint_str(const tcp::endpoint& e) {
    return e.address().to_string() + ":" + std::to_string(e.port());
}

class SocketDriver final : public Driver {
public:
    explicit SocketDriver(DriverContext& ctx) : name_(ctx.name), io_(ctx.io), journal_(ctx.journal) {
        Spec& s = ctx.spec;
        parallel_ = static_cast<int>(s.integer("parallel", 1, 1, 1000));
        micros timeout = static_cast<micros>(s.number("timeout_ms", 2000, 1, 600000) * 1000);
        const json& steps = s.required("steps");
        if (!steps.is_array() || steps.empty())
            s.fail("steps", "\"steps\" must be a non-empty array, e.g. [{\"send\": \"HELLO\\n\"}, {\"expect_line\": \"^HI\"}]");
        for (std::size_t i = 0; i < steps.size(); ++i) {
            Spec st(s.doc(), steps[i], s.pointer("steps") + "/" + std::to_string(i), "step");
            steps_.push_back(read_step(st, timeout));
            st.finish();
        }
        s.get("description");
        s.finish();
    }

    awaitable<void> run(ServerAddress server, std::uint64_t) override {
        stopping_ = false;
        // N copies of the script at once; this returns when all are done.
        auto remaining = std::make_shared<int>(parallel_);
        asio::steady_timer all_done(io_, std::chrono::steady_clock::time_point::max());
        for (int i = 0; i < parallel_; ++i)
            asio::co_spawn(io_, instance(server, i), [remaining, &all_done](std::exception_ptr) {
                if (--*remaining == 0) all_done.cancel();
            });
        error_code ec;
        if (*remaining > 0) co_await all_done.async_wait(asio::redirect_error(use_awaitable, ec));
    }

    void stop() override {
        stopping_ = true;
        for (auto* s : live_) {
            error_code ig;
            s->close(ig);
        }
    }

private:
    struct Link {
        std::optional<recording_stream<tcp::socket>> stream;
        std::shared_ptr<ConnectionRecord> rec;
        std::string pending;  // received, not yet consumed by an expectation
        bool eof = false;
    };

    void record(int instance, const Link& l, std::size_t idx, const Step& st, bool ok, const std::string& expected,
                const std::string& got, micros started) {
        json row = {{"client", parallel_ > 1 ? name_ + "#" + std::to_string(instance + 1) : name_},
                    {"idx", idx + 1}, {"action", st.label}, {"ok", ok}, {"started_us", started}};
        if (l.rec) row["connection_id"] = l.rec->id();
        if (!expected.empty()) row["expected"] = expected;
        if (!got.empty() || !ok) row["got"] = got;
        journal_.step(row);
    }

    /// Reads more bytes into l.pending before `deadline`; false on timeout,
    /// EOF or error (l.eof tells EOF).
    awaitable<bool> read_more(Link& l, micros deadline, std::string& why) {
        asio::steady_timer timer(io_, std::chrono::microseconds(std::max<micros>(0, deadline - journal_.now())));
        bool timed_out = false;
        tcp::socket& sock = l.stream->next_layer();
        timer.async_wait([&](error_code ec) {
            if (ec) return;
            timed_out = true;
            error_code ig;
            sock.cancel(ig);
        });
        char buf[65536];
        error_code ec;
        std::size_t n = co_await l.stream->async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
        timer.cancel();
        l.pending.append(buf, n);
        if (timed_out) {
            why = "nothing more within the time allowed";
            co_return false;
        }
        if (ec == asio::error::eof) {
            l.eof = true;
            why = "the server closed the connection";
            co_return false;
        }
        if (ec) {
            why = ec == asio::error::connection_reset ? "the server reset the connection" : ec.message();
            co_return false;
        }
        co_return true;
    }

    awaitable<bool> connect(Link& l, const ServerAddress& server, std::string& why) {
        tcp::socket sock(io_);
        error_code ec;
        co_await sock.async_connect(tcp::endpoint(asio::ip::make_address(server.host), server.port),
                                    asio::redirect_error(use_awaitable, ec));
        if (ec) {
            why = "cannot connect to " + server.host + ":" + std::to_string(server.port) + ": " + ec.message();
            co_return false;
        }
        sock.set_option(tcp::no_delay(true), ec);
        ConnectionInfo info;
        info.service = name_;
        info.role = "client";
        info.local = endpoint_str(sock.local_endpoint(ec));
        info.peer = endpoint_str(sock.remote_endpoint(ec));
        l.rec = std::make_shared<ConnectionRecord>(journal_, info);
        l.stream.emplace(std::move(sock), l.rec);
        l.pending.clear();
        l.eof = false;
        co_return true;
    }

    void drop(Link& l) {
        if (!l.stream) return;
        live_.erase(std::remove(live_.begin(), live_.end(), &l.stream->next_layer()), live_.end());
        error_code ig;
        l.stream->next_layer().close(ig);
        l.rec->finish();
        l.stream.reset();
    }

    awaitable<void> instance(ServerAddress server, int inst) {
        Link l;
        std::string why;
        micros started = journal_.now();
        micros last_send = started;
        Step connect_step;
        connect_step.kind = Step::Kind::connect;
        connect_step.label = "connect";
        if (!co_await connect(l, server, why)) {
            record(inst, l, 0, connect_step, false, "a connection", why, started);
            co_return;
        }
        live_.push_back(&l.stream->next_layer());
        for (std::size_t i = 0; i < steps_.size() && !stopping_; ++i) {
            const Step& st = steps_[i];
            started = journal_.now();
            bool ok = true;
            std::string expected, got;
            if (!l.stream && st.kind != Step::Kind::connect && st.kind != Step::Kind::sleep) {
                record(inst, l, i, st, false, "an open connection", "the connection is closed (add a \"connect\" step)",
                       started);
                break;
            }
            switch (st.kind) {
                case Step::Kind::connect:
                    drop(l);
                    ok = co_await connect(l, server, got);
                    if (ok) live_.push_back(&l.stream->next_layer());
                    break;
                case Step::Kind::send: {
                    std::string data;
                    data.reserve(st.text.size() * static_cast<std::size_t>(st.repeat));
                    for (std::int64_t k = 0; k < st.repeat; ++k) data += st.text;
                    error_code ec;
                    if (st.bytewise) {
                        asio::steady_timer gap(io_);
                        for (std::size_t b = 0; b < data.size() && !ec; ++b) {
                            co_await asio::async_write(*l.stream, asio::buffer(&data[b], 1),
                                                       asio::redirect_error(use_awaitable, ec));
                            if (st.gap_us > 0 && b + 1 < data.size()) {
                                gap.expires_after(std::chrono::microseconds(st.gap_us));
                                error_code ig;
                                co_await gap.async_wait(asio::redirect_error(use_awaitable, ig));
                            }
                        }
                    } else {
                        co_await asio::async_write(*l.stream, asio::buffer(data), asio::redirect_error(use_awaitable, ec));
                    }
                    if (ec) ok = false, got = "the send failed: " + ec.message();
                    last_send = journal_.now();
                    break;
                }
                case Step::Kind::expect_line: {
                    // Latency is measured from the end of the last send.
                    started = last_send;
                    micros deadline = journal_.now() + st.timeout_us;
                    std::size_t lf;
                    std::string reason;
                    while ((lf = l.pending.find('\n')) == std::string::npos)
                        if (!co_await read_more(l, deadline, reason)) break;
                    expected = st.label.substr(std::string("expect ").size());
                    if (lf == std::string::npos) {
                        ok = false;
                        got = reason + (l.pending.empty() ? " (nothing received)"
                                                          : "; received without a newline: " + printable(l.pending, 200));
                        break;
                    }
                    std::string line = l.pending.substr(0, lf);
                    l.pending.erase(0, lf + 1);
                    if (!line.empty() && line.back() == '\r') line.pop_back();
                    got = line.size() > 300 ? printable(line, 120) + " (" + std::to_string(line.size()) + " bytes)" : line;
                    if (st.equals) ok = line == *st.equals;
                    if (ok && st.length) ok = line.size() == *st.length;
                    if (ok && st.regex) ok = line.size() <= 65536 && st.regex->search(line);
                    break;
                }
                case Step::Kind::expect_close: {
                    micros deadline = journal_.now() + st.timeout_us;
                    std::string reason;
                    while (co_await read_more(l, deadline, reason)) {
                    }
                    expected = "the server closes the connection";
                    ok = l.eof || reason == "the server reset the connection";
                    got = ok ? reason : reason + (l.pending.empty() ? "" : "; received " + printable(l.pending, 200));
                    l.pending.clear();
                    break;
                }
                case Step::Kind::expect_nothing: {
                    // Whatever is still unread counts, as does anything that
                    // arrives in the window; the window's end is a pass.
                    micros deadline = journal_.now() + st.timeout_us;
                    std::string reason;
                    if (l.pending.empty()) co_await read_more(l, deadline, reason);
                    expected = "nothing from the server for " + std::to_string(st.timeout_us / 1000) + " ms";
                    if (!l.pending.empty()) {
                        ok = false;
                        got = "received " + printable(l.pending, 200);
                    } else if (l.eof) {
                        ok = false;
                        got = "the server closed the connection";
                    }
                    break;
                }
                case Step::Kind::half_close: {
                    error_code ec;
                    l.stream->next_layer().shutdown(tcp::socket::shutdown_send, ec);
                    l.rec->closing("half-close");
                    break;
                }
                case Step::Kind::reset: {
                    error_code ig;
                    l.rec->resetting("reset by the client script");
                    l.stream->next_layer().set_option(asio::socket_base::linger(true, 0), ig);
                    drop(l);
                    break;
                }
                case Step::Kind::close:
                    l.rec->closing("closed by the client script");
                    drop(l);
                    break;
                case Step::Kind::sleep: {
                    asio::steady_timer t(io_, std::chrono::microseconds(st.timeout_us));
                    error_code ig;
                    co_await t.async_wait(asio::redirect_error(use_awaitable, ig));
                    break;
                }
            }
            record(inst, l, i, st, ok, expected, got, started);
            if (!ok) break;
        }
        if (l.stream) {
            l.rec->closing("the client script ended");
            drop(l);
        }
    }

    std::string name_;
    asio::io_context& io_;
    Journal& journal_;
    int parallel_ = 1;
    std::vector<Step> steps_;
    std::vector<tcp::socket*> live_;
    bool stopping_ = false;
};

}  // namespace

std::unique_ptr<Driver> make_socket_driver(DriverContext& ctx) { return std::make_unique<SocketDriver>(ctx); }

}  // namespace wirelab::clients
