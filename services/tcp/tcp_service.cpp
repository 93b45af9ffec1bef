// The `tcp` service: a raw TCP server whose protocol the lab declares —
// echo, line dialogues, or length-prefixed JSON frames — running on the
// shared listener (recording and fault layers included).
#include "services/tcp/tcp_service.hpp"

#include <boost/asio/write.hpp>

#include "runtime/journal.hpp"
#include "runtime/lab.hpp"
#include "runtime/listener.hpp"
#include "services/tcp/protocol.hpp"

namespace wirelab::tcp_proto {

namespace {

class TcpService final : public Service {
public:
    explicit TcpService(ServiceContext& ctx) : name_(ctx.name), journal_(ctx.journal) {
        Spec& s = ctx.spec;
        ListenSpec listen = read_listen_spec(s, ctx);
        protocol_ = s.string("protocol");
        if (protocol_ != "echo" && protocol_ != "lines" && protocol_ != "length-prefixed") {
            std::string guess = did_you_mean(protocol_, {"echo", "lines", "length-prefixed"});
            s.fail("protocol", "unknown protocol \"" + protocol_ + "\"",
                   guess.empty() ? "use \"echo\", \"lines\" or \"length-prefixed\"" : "did you mean \"" + guess + "\"?");
        }
        idle_s_ = s.integer("idle_timeout", 30, 1, 3600);
        max_line_ = static_cast<std::size_t>(s.integer("max_line", 64 * 1024, 16, 64 << 20));
        max_frame_ = static_cast<std::uint32_t>(s.integer("max_frame", 1 << 20, 16, 64 << 20));
        want_crlf_ = s.boolean("expect_crlf", false);
        close_after_reply_ = s.boolean("close_after_reply", false);
        std::string eol = s.string("line_ending", "\r\n");
        if (eol != "\r\n" && eol != "\n") s.fail("line_ending", "\"line_ending\" must be \"\\r\\n\" or \"\\n\"");
        eol_ = eol;
        if (const json* b = s.get("banner")) {
            if (protocol_ == "length-prefixed")
                banner_ = encode_frame(b->dump(-1, ' ', false, json::error_handler_t::replace)), banner_msg_ = b->dump();
            else if (b->is_string())
                banner_msg_ = b->get<std::string>(), banner_ = banner_msg_ + (protocol_ == "lines" ? eol_ : "");
            else
                s.fail("banner", "the banner of a " + protocol_ + " service is a string");
        }
        if (protocol_ != "echo")
            dialogue_.emplace(s, protocol_ == "lines" ? Kind::lines : Kind::frames);
        else if (s.has("rules") || s.has("otherwise"))
            s.fail(s.has("rules") ? "rules" : "otherwise", "an echo service has no rules",
                   "use \"protocol\": \"lines\" or \"length-prefixed\" for a dialogue");
        s.finish();
        listener_ = std::make_unique<StreamListener>(ctx, "tcp", listen, [this](Conn& c) { return serve(c); });
    }

    void start() override { listener_->start(); }
    void stop() override {
        stopping_ = true;
        listener_->stop();
    }
    Endpoint endpoint() const override { return listener_->endpoint("tcp"); }
    void set_faults(const FaultProfile& p, std::uint64_t seed) override { listener_->set_faults(p, seed); }

private:
    void journal_message(Conn& c, int seq, const char* dir, const std::string& data, const std::string& error,
                         const std::optional<json>& parsed) {
        json row = {{"service", name_}, {"connection_id", c.id()}, {"seq", seq}, {"dir", dir},
                    {"protocol", protocol_}, {"data", data}};
        if (!error.empty()) row["error"] = error;
        if (parsed) row["json"] = parsed->dump(-1, ' ', false, json::error_handler_t::replace);
        journal_.message(row);
    }

    awaitable<bool> send(Conn& c, const std::string& bytes) { co_return co_await c.write_all(bytes); }

    awaitable<void> serve(Conn& c) {
        int seq_in = 0, seq_out = 0;
        if (!banner_.empty()) {
            if (protocol_ != "echo") {
                std::optional<json> parsed;
                if (protocol_ == "length-prefixed") parsed = json::parse(banner_msg_, nullptr, false);
                journal_message(c, ++seq_out, "out", banner_msg_, "", parsed);
            }
            if (!co_await send(c, banner_)) co_return;
        }
        LineSplitter lines(max_line_, want_crlf_);
        FrameSplitter frames(max_frame_);
        char buf[16384];
        while (!stopping_) {
            error_code ec;
            c.expires_after(std::chrono::seconds(idle_s_));
            std::size_t n = co_await c.stream().async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
            if (c.timed_out()) {
                c.record().closing("idle for " + std::to_string(idle_s_) + " s");
                co_return;
            }
            if (ec) {
                auto& pending = protocol_ == "lines" ? lines.pending() : frames.pending();
                if (ec == asio::error::eof && !pending.empty())
                    journal_.event("partial-message", name_,
                                   {{"protocol", protocol_}, {"bytes", pending.size()},
                                    {"why", protocol_ == "lines" ? "the last line has no newline"
                                                                 : "the stream ended inside a frame"}},
                                   c.id());
                co_return;
            }
            std::string_view got(buf, n);
            if (protocol_ == "echo") {
                if (!co_await send(c, std::string(got))) co_return;
                if (close_after_reply_) {
                    co_await c.close_send("close after reply");
                    co_return;
                }
                continue;
            }
            auto msgs = protocol_ == "lines" ? lines.feed(got) : frames.feed(got);
            bool fatal = protocol_ == "lines" ? lines.fatal() : frames.fatal();
            // Everything answered for this read goes out in one write, as a
            // real server's buffered output would: replies to two requests
            // in one segment arrive together.
            std::string out;
            bool close = false;
            for (const auto& m : msgs) {
                journal_message(c, ++seq_in, "in", m.data, m.error, m.json);
                Reply r = dialogue_->answer(m);
                for (const auto& reply : r.messages) {
                    std::optional<json> parsed;
                    if (protocol_ == "length-prefixed") parsed = json::parse(reply, nullptr, false);
                    journal_message(c, ++seq_out, "out", reply, "", parsed);
                    out += protocol_ == "lines" ? reply + eol_ : encode_frame(reply);
                }
                if (r.close || close_after_reply_) {
                    close = true;
                    break;
                }
            }
            if (!out.empty() && !co_await send(c, out)) co_return;
            if (fatal) {
                co_await c.close_send("protocol error: the stream cannot be read further");
                co_return;
            }
            if (close) {
                co_await c.close_send(close_after_reply_ ? "close after reply" : "a rule closes the connection");
                co_return;
            }
        }
    }

    std::string name_;
    Journal& journal_;
    std::string protocol_;
    long long idle_s_ = 30;
    std::size_t max_line_ = 0;
    std::uint32_t max_frame_ = 0;
    bool want_crlf_ = false, close_after_reply_ = false, stopping_ = false;
    std::string eol_;
    std::string banner_, banner_msg_;
    std::optional<Dialogue> dialogue_;
    std::unique_ptr<StreamListener> listener_;
};

}  // namespace

std::unique_ptr<Service> make_tcp_service(ServiceContext& ctx) { return std::make_unique<TcpService>(ctx); }

}  // namespace wirelab::tcp_proto
