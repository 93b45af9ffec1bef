// The HTML report: one self-contained page (inline CSS and SVG, no
// network), the checks as the text report has them, and per case a
// timeline of the traffic read from the journal — the program's processes
// and each connection as a lane, requests, statements, commands and
// messages as marks on the lane, faults as red marks; hover shows details.
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "checks/journal_view.hpp"
#include "checks/match.hpp"
#include "checks/report.hpp"
#include "runtime/fault_profile.hpp"

namespace wirelab::checks {

namespace {

std::string esc(const std::string& s) { return markup_escape(s); }

std::string fmt(double v, int digits = 1) {
    std::ostringstream o;
    o.precision(digits);
    o << std::fixed << v;
    return o.str();
}

std::string ms(micros us) { return fmt(static_cast<double>(us) / 1000.0, us < 10000 ? 2 : 1) + " ms"; }

std::string clip(const std::string& s, std::size_t n) {
    if (s.size() <= n) return s;
    std::size_t cut = n;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // whole UTF-8
    return s.substr(0, cut) + "…";
}

std::string printable(const std::string& bytes, std::size_t max) { return escape_bytes(bytes, max); }

struct Mark {
    micros t = 0, end = 0;  // end > t: a span (a request's time to answer)
    std::string label, tip, cls;
};

struct Lane {
    std::string label, tip, cls;
    micros from = 0, to = 0;
    std::vector<Mark> marks;
};

constexpr std::size_t max_lanes = 80, max_marks = 600;

const char* css = R"(
:root{--ok:#1a7f37;--bad:#cf222e;--skip:#9a6700;--adv:#bf8700;--muted:#57606a;--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;background:#fff}
header{padding:18px 28px;border-bottom:1px solid var(--line);background:var(--bg)}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}main{padding:0 28px 40px;max-width:1400px}
.score{font-size:15px;font-weight:600}.score.pass{color:var(--ok)}.score.fail{color:var(--bad)}
.muted{color:var(--muted)}code,pre{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
pre{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:8px 10px;white-space:pre-wrap;margin:6px 0}
.check{border:1px solid var(--line);border-radius:8px;margin:8px 0;padding:10px 14px}
.check .head{display:flex;gap:10px;align-items:baseline}.check .pts{margin-left:auto;color:var(--muted)}
.mark{font-weight:700;width:1.2em;display:inline-block}.passed .mark{color:var(--ok)}.failed .mark{color:var(--bad)}
.skipped .mark{color:var(--skip)}.advice .mark{color:var(--adv)}.error .mark{color:#8250df}
.failed{border-left:4px solid var(--bad)}.advice{border-left:4px solid var(--adv)}.error{border-left:4px solid #8250df}
.hint{color:#0969da}.case{border-top:1px solid var(--line);margin-top:24px}
svg.timeline{width:100%;height:auto;border:1px solid var(--line);border-radius:6px;background:#fff}
svg text{font:11px ui-monospace,Menlo,monospace;fill:#1f2328}svg .lab{fill:var(--muted)}
svg .lane{fill:#ddf4ff;stroke:#54aeff}svg .lane.server{fill:#fff8c5;stroke:#d4a72c}
svg .lane.reset{stroke:var(--bad)}svg .lane.proc{fill:#eaeef2;stroke:#8c959f}
svg .m{fill:#0969da}svg .m.err{fill:var(--bad)}svg .m.fault{fill:var(--bad)}svg .m.out{fill:#8250df}
svg .span{fill:#0969da;opacity:.25}svg .axis{stroke:var(--line)}svg .fault-line{stroke:var(--bad);stroke-dasharray:3 3}
table{border-collapse:collapse;margin:6px 0;font-size:13px}td,th{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{background:var(--bg)}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.legend span{margin-right:14px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:-1px}
)";

class Builder {
public:
    Builder(const ReportInput& in, RunData& run) : in_(in), run_(run) {}

    std::string page() {
        Totals t = totals(in_.results);
        std::ostringstream o;
        o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          << "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
          << "<title>" << esc(in_.lab_id) << " — wirelab report</title><style>" << css << "</style></head><body>\n"
          << "<header><h1>" << esc(in_.lab_id) << " — " << esc(in_.lab_title) << "</h1>"
          << "<div class=\"score " << (t.exit_code() == 0 ? "pass" : "fail") << "\" id=\"score\">score "
          << fmt(t.score, t.score == std::floor(t.score) ? 0 : 2) << "/" << fmt(t.max, t.max == std::floor(t.max) ? 0 : 2)
          << " — " << t.passed << " passed";
        if (t.failed) o << ", " << t.failed << " failed";
        if (t.skipped) o << ", " << t.skipped << " skipped";
        if (t.warnings) o << ", " << t.warnings << " advice";
        if (t.errors) o << ", " << t.errors << " could not run";
        o << "</div>";
        if (in_.interrupted) o << "<div class=\"score fail\">the run was interrupted; the results are partial</div>";
        o << "<div class=\"muted\">journal: <code>" << esc(in_.run_dir) << "/journal.db</code></div></header>\n<main>\n";
        o << "<h2>Checks</h2>\n<section id=\"checks\">\n";
        for (const auto& r : in_.results) o << check(r);
        o << "</section>\n";
        for (const auto& c : in_.cases) o << case_section(c);
        o << "</main></body></html>\n";
        return o.str();
    }

private:
    const ReportInput& in_;
    RunData& run_;

    std::string check(const Result& r) {
        const auto& v = r.verdict;
        bool advice = r.info->warning && v.status != Status::pass && v.status != Status::error;
        std::string cls = advice ? "advice" : status_name(v.status);
        std::string mark = v.status == Status::pass ? "✓" : advice ? "⚠" : v.status == Status::fail ? "✗"
                           : v.status == Status::skip ? "–" : "!";
        std::ostringstream o;
        o << "<div class=\"check " << cls << "\" id=\"check-" << esc(r.info->id) << "\" data-status=\""
          << status_name(v.status) << "\"><div class=\"head\"><span class=\"mark\">" << mark << "</span><code>"
          << esc(r.info->id) << "</code><span>" << esc(r.info->title) << "</span><span class=\"pts\">"
          << (r.info->warning ? "advice" : fmt(r.score, 0) + "/" + fmt(r.info->points, 0)) << "</span></div>";
        if (v.status != Status::pass) {
            if (r.info->hidden && v.status == Status::fail) {
                o << "<div class=\"muted\">(hidden check: no details)</div>";
            } else {
                if (!v.message.empty()) o << "<div>" << esc(v.message) << "</div>";
                if (v.status != Status::skip) {
                    if (!v.expected.empty()) o << "<div class=\"muted\">expected:</div><pre>" << esc(v.expected) << "</pre>";
                    if (!v.observed.empty()) o << "<pre>" << esc(v.observed) << "</pre>";
                    if (!r.info->hint.empty() && v.status == Status::fail)
                        o << "<div class=\"hint\">hint: " << esc(r.info->hint) << "</div>";
                }
            }
        }
        o << "</div>\n";
        return o.str();
    }

    std::string case_section(const CaseRow& c) {
        micros start = c.started_us, end = c.ended_us.value_or(c.started_us);
        std::vector<Lane> lanes;
        std::vector<Mark> global;  // faults and events not tied to a connection
        std::size_t dropped_lanes = 0, dropped_marks = 0, marks = 0;

        for (const auto& p : run_.journal().processes()) {
            if (p.case_id != c.id) continue;
            Lane l;
            l.cls = "proc";
            l.label = "pid " + std::to_string(p.pid) + (p.root ? "" : " ← " + std::to_string(p.ppid));
            l.tip = p.cmdline;
            l.from = p.started_us;
            l.to = p.ended_us.value_or(end);
            lanes.push_back(std::move(l));
        }
        std::map<std::int64_t, std::size_t> lane_of;
        for (const auto& k : run_.journal().connections()) {
            if (k.case_id != c.id) continue;
            if (lanes.size() >= max_lanes) {
                ++dropped_lanes;
                continue;
            }
            Lane l;
            l.cls = k.role == "client" ? "server" : "";  // wirelab connected to the program's server
            if (k.close_kind == "reset") l.cls += " reset";
            std::string peer = k.peer.substr(k.peer.rfind(':') == std::string::npos ? 0 : k.peer.rfind(':') + 1);
            l.label = k.service + " #" + std::to_string(k.id) + (k.pid ? " pid " + std::to_string(*k.pid) : "");
            l.tip = k.service + " (" + k.transport + ") connection " + std::to_string(k.id) + " from " + k.peer +
                    (k.pid ? ", process " + std::to_string(*k.pid) : "") + "\n" + std::to_string(k.bytes_in) +
                    " bytes in, " + std::to_string(k.bytes_out) + " bytes out" +
                    (k.closed_by.empty() ? "" : "\nclosed by " + k.closed_by) +
                    (k.close_kind.empty() ? "" : " (" + k.close_kind + ")") + (peer.empty() ? "" : "");
            l.from = k.opened_us;
            l.to = k.closed_us.value_or(end);
            lane_of[k.id] = lanes.size();
            lanes.push_back(std::move(l));
        }
        auto add = [&](std::int64_t conn, Mark m) {
            if (marks >= max_marks) {
                ++dropped_marks;
                return;
            }
            ++marks;
            auto it = lane_of.find(conn);
            if (it == lane_of.end()) global.push_back(std::move(m));
            else lanes[it->second].marks.push_back(std::move(m));
        };
        std::vector<const HttpRow*> exchanges;
        for (const auto& h : run_.journal().http()) {
            if (h.case_id != c.id) continue;
            exchanges.push_back(&h);
            std::string tip = h.line() + " → " + (h.status ? std::to_string(h.status) : "no answer");
            if (auto ct = h.header("Content-Type")) tip += "\nContent-Type: " + *ct;
            if (!h.req_body.empty()) tip += "\nbody: " + printable(h.req_body, 300);
            if (!h.resp_body.empty()) tip += "\nanswer: " + printable(h.resp_body, 300);
            if (!h.error.empty()) tip += "\nerror: " + h.error;
            add(h.connection_id, {h.started_us, std::max(h.ended_us, h.started_us),
                                  h.method + " " + clip(h.path, 24) + " " + (h.status ? std::to_string(h.status) : "—"),
                                  tip, h.status >= 400 || !h.error.empty() ? "err" : ""});
        }
        for (const auto& s : run_.journal().statements())
            if (s.case_id == c.id)
                add(s.connection_id, {s.t_us, s.t_us, clip(s.verb.empty() ? s.text : s.verb, 16),
                                      s.text + (s.params ? "\nparameters: " + s.params->dump() : "") +
                                          (s.error.empty() ? "" : "\nerror " + s.sqlstate + ": " + s.error),
                                      s.error.empty() ? "" : "err"});
        for (const auto& k : run_.journal().commands())
            if (k.case_id == c.id) {
                std::string line = k.name;
                for (const auto& a : k.args) line += " " + a;
                add(k.connection_id, {k.t_us, k.t_us, clip(k.name, 12), printable(line, 300) + "\n→ " + printable(k.reply, 200),
                                      k.error.empty() ? "" : "err"});
            }
        for (const auto& m : run_.journal().messages())
            if (m.case_id == c.id)
                add(m.connection_id, {m.t_us, m.t_us, clip(printable(m.data, 40), 18),
                                      m.dir + ": " + printable(m.data, 300) + (m.fault.empty() ? "" : "\nfault: " + m.fault) +
                                          (m.error.empty() ? "" : "\n" + m.error),
                                      !m.fault.empty() ? "fault" : m.dir == "out" ? "out" : ""});
        for (const auto& e : run_.journal().events()) {
            if (e.case_id != c.id) continue;
            if (e.kind != "fault" && e.kind != "close" && e.kind != "replica" && e.kind != "replica-crashed" &&
                e.kind != "busy" && e.kind != "partial-request" && e.kind != "protocol-error" && e.kind != "signal")
                continue;
            add(e.connection_id, {e.t_us, e.t_us, e.kind, e.kind + " " + one_line(e.detail, 300), "fault"});
        }

        std::ostringstream o;
        o << "<section class=\"case\" id=\"case-" << esc(c.name) << "\"><h2>Case " << esc(c.name) << "</h2>"
          << "<div class=\"muted\"><code>" << esc(c.command) << "</code> — ";
        if (!c.start_error.empty()) o << "could not start: " << esc(c.start_error);
        else if (!c.limit.empty()) o << "stopped: " << esc(c.limit_detail);
        else if (c.timed_out) o << "stopped after " << ms(end - start) << " (timeout)";
        else if (c.signal) o << "killed by signal " << *c.signal << " after " << ms(end - start);
        else if (c.exit_code) o << "exit " << *c.exit_code << " after " << ms(end - start);
        else o << "interrupted";
        o << "</div>";
        for (auto it = c.faults.begin(); it != c.faults.end(); ++it)
            o << "<div class=\"muted\">faults on " << esc(it.key()) << ": " << esc(fault_words(it.value())) << "</div>";
        // The axis spans the traffic (with a margin), not the interpreter's
        // start-up before it: what happened on the wire is what matters.
        micros first = end, last = start;
        for (const auto& l : lanes)
            if (l.cls != "proc") first = std::min(first, l.from), last = std::max(last, l.to);
        for (const auto* ms_ : {&global}) for (const auto& m : *ms_) first = std::min(first, m.t), last = std::max(last, m.end);
        for (const auto& l : lanes) for (const auto& m : l.marks) first = std::min(first, m.t), last = std::max(last, m.end);
        micros from = start, to = end;
        if (first < last && (last - first) * 3 < (end - start) * 2) {
            micros pad = std::max<micros>((last - first) / 20, 200);
            from = std::max(start, first - pad), to = std::min(end, last + pad);
            o << "<div class=\"muted\">time axis: " << ms(from - start) << " to " << ms(to - start)
              << " of the case, where the traffic is; the program started at 0 ms</div>";
        }
        o << timeline(c, lanes, global, start, from, to);
        if (dropped_lanes || dropped_marks)
            o << "<div class=\"muted\">the timeline shows the first " << max_lanes << " connections and " << max_marks
              << " marks; " << dropped_lanes << " connection(s) and " << dropped_marks << " mark(s) more are in the journal"
              << "</div>";
        if (!exchanges.empty()) {
            o << "<table class=\"exchanges\"><tr><th>t</th><th>request</th><th>status</th><th>took</th><th>body sent</th></tr>";
            std::size_t shown = 0;
            for (const HttpRow* h : exchanges) {
                if (++shown > 200) break;
                o << "<tr><td class=\"num\">" << ms(h->started_us - start) << "</td><td><code>" << esc(clip(h->line(), 120))
                  << "</code></td><td class=\"num\">" << (h->status ? std::to_string(h->status) : "—") << "</td><td class=\"num\">"
                  << ms(std::max<micros>(0, h->ended_us - h->started_us)) << "</td><td><code>"
                  << esc(printable(h->req_body, 160)) << "</code></td></tr>";
            }
            o << "</table>";
        }
        auto output = [&](const char* name, const std::string& text, std::int64_t bytes) {
            if (text.empty()) return;
            o << "<div class=\"muted\">" << name << " (" << bytes << " bytes)</div><pre>" << esc(clip(text, 8000)) << "</pre>";
        };
        output("stdout", c.out, c.out_bytes);
        output("stderr", c.err, c.err_bytes);
        o << "</section>\n";
        return o.str();
    }

    // Lanes and marks between `from` and `to` (times since the case's `start`
    // on the axis labels).
    std::string timeline(const CaseRow& c, const std::vector<Lane>& lanes, const std::vector<Mark>& global,
                         micros start, micros from, micros to) {
        const int label_w = 190, plot_w = 960, lane_h = 24, top = 26;
        micros span = std::max<micros>(to - from, 1000);
        int height = top + static_cast<int>(lanes.size() + (global.empty() ? 0 : 1)) * lane_h + 10;
        auto x = [&](micros t) {
            double f = static_cast<double>(std::clamp<micros>(t - from, 0, span)) / static_cast<double>(span);
            return label_w + f * plot_w;
        };
        std::ostringstream o;
        o << "<svg class=\"timeline\" id=\"timeline-" << esc(c.name) << "\" viewBox=\"0 0 " << label_w + plot_w + 20 << " "
          << height << "\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"timeline of case "
          << esc(c.name) << "\">";
        // time axis: ticks at 0, ¼, ½, ¾ and the end
        for (int i = 0; i <= 4; ++i) {
            double px = label_w + plot_w * i / 4.0;
            o << "<line class=\"axis\" x1=\"" << fmt(px) << "\" y1=\"" << top - 6 << "\" x2=\"" << fmt(px) << "\" y2=\""
              << height - 6 << "\"/><text class=\"lab\" x=\"" << fmt(px) << "\" y=\"14\" text-anchor=\""
              << (i == 0 ? "start" : i == 4 ? "end" : "middle") << "\">" << ms(from - start + span * i / 4) << "</text>";
        }
        int y = top;
        auto marks = [&](const std::vector<Mark>& ms_, int ly) {
            double last_label = -1e9;
            for (const auto& m : ms_) {
                double px = x(m.t);
                if (m.end > m.t)
                    o << "<rect class=\"span\" x=\"" << fmt(px) << "\" y=\"" << ly + 3 << "\" width=\""
                      << fmt(std::max(1.0, x(m.end) - px)) << "\" height=\"" << lane_h - 8 << "\"/>";
                o << "<g><title>" << esc(m.tip) << "</title><circle class=\"m " << m.cls << "\" cx=\"" << fmt(px)
                  << "\" cy=\"" << ly + lane_h / 2 - 1 << "\" r=\"4\"/>";
                if (px - last_label > 110) {
                    bool right_edge = px > label_w + plot_w - 150;  // the label goes to the left of its mark
                    o << "<text x=\"" << fmt(right_edge ? px - 6 : px + 6) << "\" y=\"" << ly + lane_h / 2 + 3 << "\""
                      << (right_edge ? " text-anchor=\"end\"" : "") << ">" << esc(m.label) << "</text>";
                    last_label = px;
                }
                o << "</g>";
                if (m.cls == "fault")
                    o << "<line class=\"fault-line\" x1=\"" << fmt(px) << "\" y1=\"" << top - 4 << "\" x2=\"" << fmt(px)
                      << "\" y2=\"" << height - 6 << "\"/>";
            }
        };
        for (const auto& l : lanes) {
            o << "<g class=\"lane-row\"><title>" << esc(l.tip) << "</title><text class=\"lab\" x=\"4\" y=\"" << y + 15
              << "\">" << esc(clip(l.label, 26)) << "</text><rect class=\"lane " << l.cls << "\" x=\"" << fmt(x(l.from))
              << "\" y=\"" << y + 2 << "\" width=\"" << fmt(std::max(2.0, x(l.to) - x(l.from))) << "\" height=\""
              << lane_h - 6 << "\" rx=\"4\"/></g>";
            marks(l.marks, y);
            y += lane_h;
        }
        if (!global.empty()) {
            o << "<text class=\"lab\" x=\"4\" y=\"" << y + 15 << "\">events</text>";
            marks(global, y);
        }
        if (lanes.empty() && global.empty())
            o << "<text class=\"lab\" x=\"" << label_w << "\" y=\"" << top + 14 << "\">no traffic in this case</text>";
        o << "</svg><div class=\"legend muted\"><span><i style=\"background:#ddf4ff;border:1px solid #54aeff\"></i>"
          << "connection to a service</span><span><i style=\"background:#fff8c5;border:1px solid #d4a72c\"></i>"
          << "wirelab's client to your server</span><span><i style=\"background:#eaeef2;border:1px solid #8c959f\"></i>"
          << "process</span><span><i style=\"background:#0969da;border-radius:5px\"></i>request / message</span>"
          << "<span><i style=\"background:#cf222e;border-radius:5px\"></i>error or fault</span></div>";
        return o.str();
    }
};

}  // namespace

std::string render_html(const ReportInput& in, RunData& run) { return Builder(in, run).page(); }

const std::vector<std::string>& report_formats() {
    static const std::vector<std::string> f = {"text", "json", "junit", "gradescope", "prairielearn", "html"};
    return f;
}

std::string render(const std::string& format, const ReportInput& in, RunData& run, bool color) {
    if (format == "json") return render_json(in).dump(2) + "\n";
    if (format == "junit") return render_junit(in);
    if (format == "gradescope") return render_gradescope(in).dump(2) + "\n";
    if (format == "prairielearn") return render_prairielearn(in).dump(2) + "\n";
    if (format == "html") return render_html(in, run);
    return render_text(in, color);
}

}  // namespace wirelab::checks
