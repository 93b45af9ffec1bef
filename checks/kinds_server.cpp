// Checks for server labs, where the learner's program is the server and
// wirelab's simulated clients drive it: `client` (a client's script went
// through, with latency bounds) and `server` (it listened, stopped on the
// signal, released its port).
#include <algorithm>
#include <cmath>

#include "checks/check.hpp"
#include "checks/kinds.hpp"
#include "checks/match.hpp"

namespace wirelab::checks {

namespace {

/// The reason a server never listened, from the events, for evidence.
std::string not_listening(const EventRow& e, const CaseRow& c) {
    std::string where = e.detail.value("address", std::string("?"));
    std::string why = e.detail.value("why", std::string());
    std::string s;
    if (why == "exited") {
        s = "the server exited";
        if (c.exit_code) s += " with status " + std::to_string(*c.exit_code);
        if (c.signal) s += " (signal " + std::to_string(*c.signal) + ")";
        s += " before listening on " + where;
    } else {
        s = "the server never started listening on " + where + " within " +
            std::to_string(e.detail.value("after_ms", 0)) + " ms";
    }
    return s;
}

std::string stderr_tail(const CaseRow& c) {
    if (c.err.empty()) return {};
    return "stderr (last lines):\n" + tail_lines(c.err, 8);
}

class ClientCheck : public Check {
public:
    ClientCheck(Spec& s, const CheckContext& ctx) {
        client_ = s.string("client");
        bool known = std::any_of(ctx.lab.clients.begin(), ctx.lab.clients.end(),
                                 [&](const ClientEntry& e) { return e.name == client_; });
        if (!known) {
            std::vector<std::string> names;
            for (const auto& e : ctx.lab.clients) names.push_back(e.name);
            std::string guess = did_you_mean(client_, names);
            s.fail("client", "no client named \"" + client_ + "\" in this lab",
                   guess.empty() ? "clients are declared under the top-level \"clients\"" : "did you mean \"" + guess + "\"?");
        }
        cases_ = ctx.cases(s);
        if (auto p = s.opt_integer("max_p95_ms", 0, 600000)) max_p95_us_ = *p * 1000;
    }

    Verdict evaluate(RunData& run) const override {
        auto cases = run.cases(cases_);
        for (const CaseRow* c : cases) {
            std::vector<const StepRow*> steps;
            for (const auto& st : run.journal().steps())
                if (st.case_id == c->id && (st.client == client_ || st.client.rfind(client_ + "#", 0) == 0))
                    steps.push_back(&st);
            std::string pre = case_label(*c, cases.size());
            if (steps.empty()) {
                for (const auto& e : run.journal().events())
                    if (e.case_id == c->id && e.kind == "server" && e.detail.value("state", "") == "not-listening")
                        return Verdict::fail(pre + "the client never ran: " + not_listening(e, *c),
                                             "a server listening on WIRELAB_LISTEN_HOST:WIRELAB_LISTEN_PORT",
                                             stderr_tail(*c));
                return Verdict::fail(pre + "the client \"" + client_ + "\" never ran");
            }
            for (const StepRow* st : steps) {
                if (st->ok) continue;
                std::string obs = "client " + st->client + ", step " + std::to_string(st->idx) + ": " + st->action;
                if (!st->got.empty()) obs += "\ngot: " + printable(st->got, 300);
                // What this client did up to there, for context.
                std::string before;
                for (const StepRow* p : steps)
                    if (p->client == st->client && p->idx < st->idx)
                        before += "\n  ✓ " + std::to_string(p->idx) + ". " + p->action;
                if (!before.empty()) obs += "\nbefore that:" + before;
                std::string tail = stderr_tail(*c);
                if (!tail.empty()) obs += "\n" + tail;
                Verdict v = Verdict::fail(pre + "step " + std::to_string(st->idx) + " of client \"" + st->client +
                                              "\" failed: " + st->action,
                                          st->expected.empty() ? st->action : st->expected, obs);
                v.evidence = {{"client", st->client}, {"step", st->idx}, {"got", printable(st->got, 2000)}};
                return v;
            }
            if (max_p95_us_) {
                std::vector<micros> lat;
                for (const StepRow* st : steps)
                    if (st->action.rfind("expect a line", 0) == 0 || st->action.rfind("expect the line", 0) == 0)
                        lat.push_back(st->ended_us - st->started_us);
                if (!lat.empty()) {
                    std::sort(lat.begin(), lat.end());
                    micros p95 = lat[static_cast<std::size_t>(std::ceil(0.95 * static_cast<double>(lat.size()))) - 1];
                    if (p95 > *max_p95_us_) {
                        Verdict v = Verdict::fail(pre + "95 % of the answers came within " + std::to_string(p95 / 1000) +
                                                      " ms, slower than " + std::to_string(*max_p95_us_ / 1000) + " ms",
                                                  "p95 latency ≤ " + std::to_string(*max_p95_us_ / 1000) + " ms",
                                                  std::to_string(lat.size()) + " answers: fastest " +
                                                      std::to_string(lat.front() / 1000) + " ms, median " +
                                                      std::to_string(lat[lat.size() / 2] / 1000) + " ms, slowest " +
                                                      std::to_string(lat.back() / 1000) + " ms");
                        v.evidence = {{"p95_ms", p95 / 1000.0}, {"answers", lat.size()}};
                        return v;
                    }
                }
            }
        }
        if (cases.empty()) return Verdict::fail("the program did not run");
        return Verdict::pass();
    }

private:
    std::string client_;
    std::vector<std::string> cases_;
    std::optional<micros> max_p95_us_;
};

class ServerCheck : public Check {
public:
    ServerCheck(Spec& s, const CheckContext& ctx) {
        if (!ctx.lab.server) s.fail("kind", "a server check needs a server lab (a top-level \"server\" object)");
        cases_ = ctx.cases(s);
        listening_ = s.has("listening") && s.boolean("listening", true);
        stops_on_ = s.opt_string("stops_on");
        if (stops_on_ && *stops_on_ != "SIGINT" && *stops_on_ != "SIGTERM")
            s.fail("stops_on", "\"stops_on\" is \"SIGINT\" (Ctrl-C) or \"SIGTERM\"");
        port_released_ = s.has("port_released") && s.boolean("port_released", true);
        if (!listening_ && !stops_on_ && !port_released_)
            s.fail("", "a server check needs \"listening\": true, \"stops_on\" or \"port_released\": true");
    }

    Verdict evaluate(RunData& run) const override {
        auto cases = run.cases(cases_);
        if (cases.empty()) return Verdict::fail("the program did not run");
        for (const CaseRow* c : cases) {
            std::string pre = case_label(*c, cases.size());
            const EventRow *listen = nullptr, *port = nullptr;
            std::vector<std::string> signals;
            for (const auto& e : run.journal().events()) {
                if (e.case_id != c->id || e.kind != "server") continue;
                std::string state = e.detail.value("state", "");
                if (state == "listening" || state == "not-listening") listen = &e;
                if (state == "stopping") signals.push_back(e.detail.value("signal", ""));
                if (state == "port") port = &e;
            }
            if (listening_ && (!listen || listen->detail.value("state", "") != "listening"))
                return Verdict::fail(pre + (listen ? not_listening(*listen, *c) : "the server was never seen listening"),
                                     "a server listening on WIRELAB_LISTEN_HOST:WIRELAB_LISTEN_PORT",
                                     stderr_tail(*c));
            if (stops_on_) {
                if (signals.empty()) {
                    std::string how = c->exit_code ? "with status " + std::to_string(*c->exit_code)
                                      : c->signal  ? "killed by signal " + std::to_string(*c->signal)
                                                   : "";
                    return Verdict::fail(pre + "the server exited by itself " + how + " before it was asked to stop",
                                         "a server that keeps serving until " + *stops_on_, stderr_tail(*c));
                }
                std::size_t allowed = *stops_on_ == "SIGINT" ? 1 : 2;
                if (signals.size() > allowed) {
                    std::string seq;
                    for (const auto& sg : signals) seq += (seq.empty() ? "" : ", then ") + sg;
                    return Verdict::fail(pre + "the server did not stop on " + signals[allowed - 1] + ": it took " + seq,
                                         "the server stops on " + *stops_on_, stderr_tail(*c));
                }
            }
            if (port_released_ && port && !port->detail.value("released", false))
                return Verdict::fail(pre + "something still listened on the server's port after it stopped",
                                     "the port free once the server has exited",
                                     "a child process that inherited the listening socket keeps the port busy");
        }
        return Verdict::pass();
    }

private:
    std::vector<std::string> cases_;
    bool listening_ = false, port_released_ = false;
    std::optional<std::string> stops_on_;
};

}  // namespace

std::unique_ptr<Check> make_client_check(Spec& s, const CheckContext& ctx) { return std::make_unique<ClientCheck>(s, ctx); }
std::unique_ptr<Check> make_server_check(Spec& s, const CheckContext& ctx) { return std::make_unique<ServerCheck>(s, ctx); }

}  // namespace wirelab::checks
