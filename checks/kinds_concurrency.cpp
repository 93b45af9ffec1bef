// Check kinds about doing things at the same time: `concurrency` (requests
// or connections in flight at once, and how many of the learner's processes
// held them), `processes` (the program's process tree: workers at once,
// threads, children reaped, orphans) and `timing` (wall time, alone or
// against the time the requests took one after another — the proof that
// work overlapped).
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "checks/check.hpp"
#include "checks/kinds.hpp"
#include "checks/match.hpp"
#include "checks/request_matcher.hpp"

namespace wirelab::checks {

namespace {

std::string secs(micros us) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f s", static_cast<double>(us) / 1e6);
    return buf;
}

/// Something that was going on from `start` to `end`, held by `pid`.
struct Span {
    micros start = 0, end = 0;
    std::optional<int> pid;
    std::string what;
};

/// The most spans open at one instant, and when; a span ending at t does
/// not overlap one starting at t.
struct Peak {
    std::size_t count = 0;
    std::size_t pids = 0;  // distinct known pids at the instant with the most pids
    micros at = 0;
    micros pids_at = 0;
};

Peak peak_of(const std::vector<Span>& spans) {
    std::vector<std::pair<micros, int>> edges;  // (time, +1 start / -1 end), index
    for (std::size_t i = 0; i < spans.size(); ++i) {
        edges.push_back({spans[i].start, static_cast<int>(i) + 1});
        edges.push_back({std::max(spans[i].end, spans[i].start), -static_cast<int>(i) - 1});
    }
    std::sort(edges.begin(), edges.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first < b.first : a.second < b.second;  // ends first
    });
    Peak p;
    std::size_t open = 0;
    std::map<int, int> pids;  // pid -> open spans
    for (auto [t, e] : edges) {
        const Span& s = spans[static_cast<std::size_t>(std::abs(e) - 1)];
        if (e > 0) {
            ++open;
            if (s.pid) ++pids[*s.pid];
        } else {
            --open;
            if (s.pid && --pids[*s.pid] == 0) pids.erase(*s.pid);
        }
        if (open > p.count) p.count = open, p.at = t;
        if (pids.size() > p.pids) p.pids = pids.size(), p.pids_at = t;
    }
    return p;
}

/// The spans open at `t`, for evidence.
std::string open_at(const std::vector<Span>& spans, micros t, micros origin, std::size_t max_lines = 8) {
    std::string out;
    std::size_t n = 0;
    for (const auto& s : spans)
        if (s.start <= t && s.end > t) {
            if (++n > max_lines) {
                out += "  …\n";
                break;
            }
            out += "  " + secs(s.start - origin) + "–" + secs(s.end - origin) + "  " + s.what +
                   (s.pid ? " (pid " + std::to_string(*s.pid) + ")" : "") + "\n";
        }
    if (!out.empty()) out.pop_back();
    return out;
}

/// The first spans in time order, for evidence of work done one by one.
std::string first_spans(std::vector<Span> spans, micros origin, std::size_t max_lines = 6) {
    std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.start < b.start; });
    std::string out;
    for (std::size_t i = 0; i < spans.size() && i < max_lines; ++i)
        out += "  " + secs(spans[i].start - origin) + "–" + secs(spans[i].end - origin) + "  " + spans[i].what +
               (spans[i].pid ? " (pid " + std::to_string(*spans[i].pid) + ")" : "") + "\n";
    if (spans.size() > max_lines) out += "  … " + std::to_string(spans.size() - max_lines) + " more\n";
    if (!out.empty()) out.pop_back();
    return out;
}

/// What a service did in a case, as spans: HTTP requests (received to
/// answered) or connections (opened to closed).
std::vector<Span> service_spans(RunData& run, const CaseRow& c, const std::string& service, bool requests,
                                const RequestMatcher& only) {
    std::map<std::int64_t, std::optional<int>> pid_of;
    micros case_end = c.ended_us.value_or(c.started_us);
    std::vector<Span> out;
    for (const auto& k : run.journal().connections()) {
        if (k.service != service) continue;
        pid_of[k.id] = k.pid;
        if (!requests && k.case_id == c.id)
            out.push_back({k.opened_us, k.closed_us.value_or(case_end), k.pid, "connection from " + k.peer});
    }
    if (requests)
        for (const auto& h : run.journal().http()) {
            if (h.service != service || h.case_id != c.id || !only.matches(h)) continue;
            auto p = pid_of.find(h.connection_id);
            out.push_back({h.started_us, std::max(h.ended_us, h.started_us),
                           p != pid_of.end() ? p->second : std::nullopt, h.line()});
        }
    return out;
}

bool is_http_service(const CheckContext& ctx, const std::string& name) {
    for (const auto& s : ctx.lab.services)
        if (s.name == name) return s.kind == "http";
    return false;
}

class ConcurrencyCheck : public Check {
public:
    ConcurrencyCheck(Spec& s, const CheckContext& ctx) {
        service_ = s.string("service");
        ctx.require_service(s, "service", service_);
        std::string of = s.string("of", is_http_service(ctx, service_) ? "requests" : "connections");
        if (of != "requests" && of != "connections")
            s.fail("of", "\"of\" is \"requests\" or \"connections\", got \"" + of + "\"");
        if (of == "requests" && !is_http_service(ctx, service_))
            s.fail("of", "\"of\": \"requests\" needs an http service; \"" + service_ + "\" counts connections");
        requests_ = of == "requests";
        if (s.has("request")) {
            if (!requests_) s.fail("request", "\"request\" picks HTTP requests; it needs \"of\": \"requests\"");
            only_ = RequestMatcher(s.object("request"));
        }
        min_at_once_ = s.opt_integer("min_at_once", 1, 100000);
        max_at_once_ = s.opt_integer("max_at_once", 1, 100000);
        min_pids_ = s.opt_integer("min_pids", 1, 100000);
        min_pids_at_once_ = s.opt_integer("min_pids_at_once", 1, 100000);
        max_pids_ = s.opt_integer("max_pids", 1, 100000);
        if (!min_at_once_ && !max_at_once_ && !min_pids_ && !min_pids_at_once_ && !max_pids_)
            s.fail("", "a concurrency check needs at least one of \"min_at_once\", \"max_at_once\", \"min_pids\", "
                       "\"min_pids_at_once\", \"max_pids\"");
        cases_ = ctx.cases(s);
    }

    Verdict evaluate(RunData& run) const override {
        return each_case(run, cases_, [&](const CaseRow& c) { return one(run, &c); });
    }

    Verdict one(RunData& run, const CaseRow* c) const {
        auto spans = service_spans(run, *c, service_, requests_, only_);
        std::string noun = only_.empty() ? requests_ ? "request" : "connection" : "matching request";
        Peak p = peak_of(spans);
        std::set<int> pids;
        for (const auto& s : spans)
            if (s.pid) pids.insert(*s.pid);
        if (min_at_once_ && static_cast<std::int64_t>(p.count) < *min_at_once_) {
            std::string msg = spans.empty() ? "\"" + service_ + "\" received no " + noun
                              : p.count == 1 ? "the " + std::to_string(spans.size()) + " " + noun +
                                                   "s to \"" + service_ + "\" came one after another, never two at once"
                                             : "at most " + std::to_string(p.count) + " " + noun + "s to \"" +
                                                   service_ + "\" were in flight at once";
            Verdict v = Verdict::fail(msg,
                                      "at least " + std::to_string(*min_at_once_) + " " + noun + "s at once",
                                      spans.empty() ? "" : "the first " + noun + "s:\n" + first_spans(spans, c->started_us));
            v.evidence = {{"peak", p.count}, {"total", spans.size()}};
            return v;
        }
        if (max_at_once_ && static_cast<std::int64_t>(p.count) > *max_at_once_) {
            Verdict v = Verdict::fail(
                std::to_string(p.count) + " " + noun + "s to \"" + service_ + "\" were in flight at once at " +
                    secs(p.at - c->started_us),
                "at most " + std::to_string(*max_at_once_) + " at once",
                "in flight at " + secs(p.at - c->started_us) + ":\n" + open_at(spans, p.at, c->started_us));
            v.evidence = {{"peak", p.count}, {"at_us", p.at}};
            return v;
        }
        if (min_pids_ && static_cast<std::int64_t>(pids.size()) < *min_pids_)
            return pid_verdict(spans, pids, *c,
                               "at least " + std::to_string(*min_pids_) + " different processes");
        if (max_pids_ && static_cast<std::int64_t>(pids.size()) > *max_pids_)
            return pid_verdict(spans, pids, *c, "at most " + std::to_string(*max_pids_) + " processes");
        if (min_pids_at_once_ && static_cast<std::int64_t>(p.pids) < *min_pids_at_once_) {
            Verdict v = Verdict::fail(
                "at most " + std::to_string(p.pids) + " of your processes talked to \"" + service_ +
                    "\" at the same time",
                "at least " + std::to_string(*min_pids_at_once_) + " processes with a " + noun + " open at once",
                spans.empty() ? "" : "the first " + noun + "s:\n" + first_spans(spans, c->started_us));
            v.evidence = {{"pids_at_once", p.pids}, {"pids", pids.size()}};
            return v;
        }
        return Verdict::pass();
    }

private:
    Verdict pid_verdict(const std::vector<Span>& spans, const std::set<int>& pids,
                        const CaseRow& c, const std::string& expected) const {
        std::string noun = requests_ ? "requests" : "connections";
        std::size_t unknown = 0;
        for (const auto& s : spans) unknown += s.pid ? 0 : 1;
        std::string list;
        for (int p : pids) list += (list.empty() ? "" : ", ") + std::to_string(p);
        std::string msg = pids.size() == 1 ? "all " + std::to_string(spans.size() - unknown) + " " + noun +
                                                 " to \"" + service_ + "\" came from one process (pid " + list + ")"
                                           : std::to_string(pids.size()) + " processes sent " + noun + " to \"" +
                                                 service_ + "\"" + (list.empty() ? "" : " (pids " + list + ")");
        if (unknown) msg += "; " + std::to_string(unknown) + " could not be attributed";
        Verdict v = Verdict::fail(msg, expected, first_spans(spans, c.started_us));
        v.evidence = {{"pids", std::vector<int>(pids.begin(), pids.end())}, {"unattributed", unknown}};
        return v;
    }

    std::string service_;
    bool requests_ = true;
    RequestMatcher only_;
    std::optional<std::int64_t> min_at_once_, max_at_once_, min_pids_, min_pids_at_once_, max_pids_;
    std::vector<std::string> cases_;
};

std::string describe(const ProcessRow& p, micros origin) {
    std::string s = "pid " + std::to_string(p.pid) + " (parent " + std::to_string(p.ppid) + ") " +
                    secs(p.started_us - origin) + "–" + (p.ended_us ? secs(*p.ended_us - origin) : std::string("…")) +
                    "  " + printable(p.cmdline, 80);
    if (p.threads_max > 1) s += "  [" + std::to_string(p.threads_max) + " threads]";
    return s;
}

class ProcessesCheck : public Check {
public:
    ProcessesCheck(Spec& s, const CheckContext& ctx) {
        min_children_ = s.opt_integer("min_children_at_once", 1, 4096);
        max_children_ = s.opt_integer("max_children_at_once", 0, 4096);
        min_threads_ = s.opt_integer("min_threads", 2, 100000);
        max_processes_ = s.opt_integer("max_processes", 1, 4096);
        all_reaped_ = s.boolean("all_reaped", false);
        no_orphans_ = s.boolean("no_orphans", false);
        if (!min_children_ && !max_children_ && !min_threads_ && !max_processes_ && !all_reaped_ && !no_orphans_)
            s.fail("", "a processes check needs at least one of \"min_children_at_once\", \"max_children_at_once\", "
                       "\"min_threads\", \"max_processes\", \"all_reaped\", \"no_orphans\"");
        cases_ = ctx.cases(s);
    }

    Verdict evaluate(RunData& run) const override {
        return each_case(run, cases_, [&](const CaseRow& c) { return one(run, &c); });
    }

    Verdict one(RunData& run, const CaseRow* c) const {
        std::vector<const ProcessRow*> all, children;
        for (const auto& p : run.journal().processes())
            if (p.case_id == c->id) {
                all.push_back(&p);
                if (!p.root) children.push_back(&p);
            }
        if (all.empty()) return Verdict::fail("no process of the program was recorded");
        micros end = c->ended_us.value_or(c->started_us);
        std::vector<Span> spans;
        for (const ProcessRow* p : children)
            spans.push_back({p->started_us, p->ended_us.value_or(end), p->pid, printable(p->cmdline, 60)});
        Peak peak = peak_of(spans);
        auto tree = [&] {
            std::string out;
            std::size_t n = 0;
            for (const ProcessRow* p : all) {
                if (++n > 10) {
                    out += "  … " + std::to_string(all.size() - 10) + " more\n";
                    break;
                }
                out += "  " + describe(*p, c->started_us) + "\n";
            }
            if (!out.empty()) out.pop_back();
            return "the program's processes:\n" + out;
        };
        if (min_children_ && static_cast<std::int64_t>(peak.count) < *min_children_) {
            std::string msg = children.empty() ? "the program never started a child process"
                                               : "at most " + std::to_string(peak.count) +
                                                     " child process" + (peak.count == 1 ? " was" : "es were") +
                                                     " running at once";
            int threads = 1;
            for (const ProcessRow* p : all) threads = std::max(threads, p->threads_max);
            if (threads > 1) msg += " (it used up to " + std::to_string(threads) + " threads instead)";
            Verdict v = Verdict::fail(msg, "at least " + std::to_string(*min_children_) + " worker processes at once",
                                      tree());
            v.evidence = {{"children_at_once", peak.count}, {"children", children.size()}, {"threads", threads}};
            return v;
        }
        if (max_children_ && static_cast<std::int64_t>(peak.count) > *max_children_)
            return Verdict::fail(std::to_string(peak.count) + " child processes were running at once",
                                 "at most " + std::to_string(*max_children_), tree());
        if (min_threads_) {
            int threads = 1;
            for (const ProcessRow* p : all) threads = std::max(threads, p->threads_max);
            if (threads < *min_threads_)
                return Verdict::fail("the program never ran more than " + std::to_string(threads) +
                                         " thread" + (threads == 1 ? "" : "s") + " in one process",
                                     "at least " + std::to_string(*min_threads_) + " threads at once", tree());
        }
        if (max_processes_ && c->processes_peak > *max_processes_)
            return Verdict::fail(std::to_string(c->processes_peak) + " of the program's processes were alive at once",
                                 "at most " + std::to_string(*max_processes_), tree());
        if (all_reaped_) {
            std::vector<const ProcessRow*> bad;
            for (const ProcessRow* p : children)
                if (p->left_running || p->reaped_by_wirelab) bad.push_back(p);
            if (!bad.empty()) {
                std::string obs;
                for (const ProcessRow* p : bad)
                    obs += "  " + describe(*p, c->started_us) +
                           (p->left_running ? "  — still running when the program exited (wirelab killed it)"
                                            : "  — exited, but nobody waited for it (wirelab reaped it)") +
                           "\n";
                obs.pop_back();
                Verdict v = Verdict::fail(std::to_string(bad.size()) + " child process" +
                                              (bad.size() == 1 ? " was" : "es were") +
                                              " not waited for (join/wait) before the program exited",
                                          "every child process joined before exit", obs);
                v.evidence = {{"not_reaped", bad.size()}};
                return v;
            }
        }
        if (no_orphans_) {
            std::vector<const ProcessRow*> bad;
            for (const ProcessRow* p : children)
                if (p->orphaned) bad.push_back(p);
            if (!bad.empty()) {
                std::string obs;
                for (const ProcessRow* p : bad) obs += "  " + describe(*p, c->started_us) + "\n";
                obs.pop_back();
                return Verdict::fail(std::to_string(bad.size()) + " process" +
                                         (bad.size() == 1 ? " was" : "es were") +
                                         " orphaned: the parent exited before its child",
                                     "no orphaned processes", obs);
            }
        }
        return Verdict::pass();
    }

private:
    std::optional<std::int64_t> min_children_, max_children_, min_threads_, max_processes_;
    bool all_reaped_ = false, no_orphans_ = false;
    std::vector<std::string> cases_;
};

class TimingCheck : public Check {
public:
    TimingCheck(Spec& s, const CheckContext& ctx) {
        if (auto ms = s.opt_integer("max_wall_ms", 1, 3600000)) max_wall_us_ = *ms * 1000;
        if (s.has("max_fraction_of_serial")) {
            fraction_ = s.number("max_fraction_of_serial", 1, 0.01, 1);
            service_ = s.string("service");
            ctx.require_service(s, "service", service_);
            requests_ = is_http_service(ctx, service_);
            if (s.has("request")) {
                if (!requests_) s.fail("request", "\"request\" picks HTTP requests of an http service");
                only_ = RequestMatcher(s.object("request"));
            }
        } else if (s.has("service")) {
            s.fail("service", "\"service\" goes with \"max_fraction_of_serial\"");
        }
        if (!max_wall_us_ && !fraction_)
            s.fail("", "a timing check needs \"max_wall_ms\" or \"max_fraction_of_serial\" (with \"service\")");
        cases_ = ctx.cases(s);
    }

    Verdict evaluate(RunData& run) const override {
        return each_case(run, cases_, [&](const CaseRow& c) { return one(run, &c); });
    }

    Verdict one(RunData& run, const CaseRow* c) const {
        micros wall = c->ended_us.value_or(c->started_us) - c->started_us;
        if (max_wall_us_ && wall > *max_wall_us_)
            return Verdict::fail("the program took " + secs(wall), "at most " + secs(*max_wall_us_));
        if (fraction_) {
            auto spans = service_spans(run, *c, service_, requests_, only_);
            micros serial = 0;
            for (const auto& s : spans) serial += s.end - s.start;
            std::string noun = requests_ ? "requests" : "connections";
            if (spans.empty())
                return Verdict::fail("\"" + service_ + "\" received no " + noun);
            // From the first request to the last answer: the program's
            // start-up does not count, only how the requests overlapped.
            micros first = spans.front().start, last = spans.front().end;
            for (const auto& s : spans) first = std::min(first, s.start), last = std::max(last, s.end);
            micros span = last - first;
            auto limit = static_cast<micros>(static_cast<double>(serial) * *fraction_);
            if (span > limit) {
                Peak p = peak_of(spans);
                Verdict v = Verdict::fail(
                    "the " + std::to_string(spans.size()) + " " + noun + " to \"" + service_ + "\" took " +
                        secs(span) + " from the first to the last; one after another they add up to " +
                        secs(serial) +
                        (p.count <= 1 ? " — they ran one after another" : ", at most " + std::to_string(p.count) + " at once"),
                    "at most " + secs(limit) + " (" + std::to_string(static_cast<int>(*fraction_ * 100 + 0.5)) +
                        "% of the time they take one after another)",
                    "the first " + noun + ":\n" + first_spans(spans, c->started_us));
                v.evidence = {{"span_us", span}, {"wall_us", wall}, {"serial_us", serial}, {"peak", p.count}};
                return v;
            }
        }
        return Verdict::pass();
    }

private:
    std::optional<micros> max_wall_us_;
    std::optional<double> fraction_;
    std::string service_;
    bool requests_ = true;
    RequestMatcher only_;
    std::vector<std::string> cases_;
};

}  // namespace

std::unique_ptr<Check> make_concurrency_check(Spec& s, const CheckContext& ctx) {
    return std::make_unique<ConcurrencyCheck>(s, ctx);
}
std::unique_ptr<Check> make_processes_check(Spec& s, const CheckContext& ctx) {
    return std::make_unique<ProcessesCheck>(s, ctx);
}
std::unique_ptr<Check> make_timing_check(Spec& s, const CheckContext& ctx) {
    return std::make_unique<TimingCheck>(s, ctx);
}

}  // namespace wirelab::checks
