#include "checks/journal_view.hpp"

#include "runtime/text.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>
#include <sstream>

namespace wirelab::checks {

namespace {

using nlohmann::json;

std::string ms(micros us) {
    char b[32];
    std::snprintf(b, sizeof b, "%8.1f ms", static_cast<double>(us) / 1000.0);
    return b;
}

struct Line {
    micros t;
    int order;  // ties: opens before traffic before closes
    std::string text;
};

// A body for a person: JSON on one line, anything else escaped.
std::string body_text(const std::string& body, std::size_t max) {
    auto first = body.find_first_not_of(" \r\n\t");
    if (first != std::string::npos && (body[first] == '{' || body[first] == '[')) {
        auto j = json::parse(body, nullptr, false);
        if (!j.is_discarded() && (j.is_object() || j.is_array())) return escape_bytes(j.dump(), max);
    }
    return escape_bytes(body, max);
}

std::string header_lines(const HeaderList& headers, const std::string& pad) {
    std::string s;
    for (const auto& [k, v] : headers) s += pad + k + ": " + v + "\n";
    return s;
}

// The journal's start as seconds since the epoch ("2026-12-01T08:52:13Z").
double epoch_of(const std::string& iso) {
    std::tm tm{};
    if (!strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm)) return 0;
    return static_cast<double>(timegm(&tm));
}

std::string iso_ms(double epoch_s) {
    auto secs = static_cast<std::time_t>(epoch_s);
    int millis = static_cast<int>((epoch_s - static_cast<double>(secs)) * 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char b[40];
    std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
    char out[48];
    std::snprintf(out, sizeof out, "%s.%03dZ", b, millis);
    return out;
}

std::map<std::string, std::string> service_urls(JournalReader& j) {
    std::map<std::string, std::string> urls;
    for (const auto& e : j.events())
        if (e.kind == "service-start" && e.detail.contains("url")) urls[e.service] = e.detail["url"].get<std::string>();
    return urls;
}

bool valid_utf8(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || i + len > s.size()) return false;
        for (std::size_t k = 1; k < len; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        i += len;
    }
    return true;
}

}  // namespace

std::string escape_bytes(const std::string& bytes, std::size_t max) {
    std::string o;
    std::size_t n = std::min(bytes.size(), max);
    for (std::size_t i = 0; i < n; ++i) {
        unsigned char ch = static_cast<unsigned char>(bytes[i]);
        if (ch == '\n') o += "\\n";
        else if (ch == '\r') o += "\\r";
        else if (ch == '\t') o += "\\t";
        else if (ch == '\\') o += "\\\\";
        else if (ch < 0x20 || ch == 0x7f) {
            char b[8];
            std::snprintf(b, sizeof b, "\\x%02x", ch);
            o += b;
        } else if (ch >= 0x80) {
            // keep a whole, valid UTF-8 sequence; escape a stray byte
            std::size_t len = ch >= 0xF0 && ch < 0xF5 ? 4 : ch >= 0xE0 ? 3 : ch >= 0xC2 && ch < 0xE0 ? 2 : 0;
            bool ok = len && i + len <= bytes.size();
            for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(bytes[i + k]) & 0xC0) == 0x80;
            if (ok) {
                o.append(bytes, i, len);
                i += len - 1;
            } else {
                char b[8];
                std::snprintf(b, sizeof b, "\\x%02x", ch);
                o += b;
            }
        } else {
            o += static_cast<char>(ch);
        }
    }
    if (bytes.size() > max) o += "… (" + std::to_string(bytes.size() - max) + " more bytes)";
    return o;
}

std::string render_journal_text(JournalReader& j, const JournalViewOptions& opt) {
    auto paint = [&](const char* code, const std::string& s) {
        return opt.color ? std::string("\033[") + code + "m" + s + "\033[0m" : s;
    };
    std::ostringstream o;
    o << paint("1", "run of " + j.meta("lab")) << "  started " << j.meta("started_at") << ", seed " << j.meta("seed");
    if (!j.meta("learner").empty()) o << ", learner " << j.meta("learner");
    std::string status = j.meta("status");
    o << ", " << (status == "running" ? "interrupted (wirelab stopped before the end)" : status) << "\n";

    // Connections that carry protocol records are shown through them; the
    // others (raw tcp, a client that sent junk) as their byte streams.
    std::set<std::int64_t> with_records;
    for (const auto& h : j.http()) with_records.insert(h.connection_id);
    for (const auto& m : j.messages()) with_records.insert(m.connection_id);
    for (const auto& s : j.statements()) with_records.insert(s.connection_id);
    for (const auto& c : j.commands()) with_records.insert(c.connection_id);

    bool any_case = false;
    for (const auto& c : j.cases()) {
        if (!opt.only_case.empty() && c.name != opt.only_case) continue;
        any_case = true;
        micros t0 = c.started_us;
        std::vector<Line> lines;
        auto add = [&](micros t, int order, std::string text) { lines.push_back({t, order, std::move(text)}); };
        for (const auto& p : j.processes()) {
            if (p.case_id != c.id) continue;
            add(p.started_us, 0, "process " + std::to_string(p.pid) + " started (parent " + std::to_string(p.ppid) +
                                     "): " + p.cmdline);
            if (p.ended_us)
                add(*p.ended_us, 3, "process " + std::to_string(p.pid) + " ended" +
                                        (p.exit_code ? ", exit " + std::to_string(*p.exit_code) : "") +
                                        (p.signal ? ", signal " + std::to_string(*p.signal) : ""));
        }
        for (const auto& k : j.connections()) {
            if (k.case_id != c.id) continue;
            std::string who = k.service + " #" + std::to_string(k.id);
            add(k.opened_us, 0, paint("2", "connection " + who + " (" + k.transport + ") opened by " +
                                               (k.role == "client" ? "wirelab → your server " + k.peer
                                                                   : k.peer + (k.pid ? " (process " + std::to_string(*k.pid) + ")" : ""))));
            if (!with_records.count(k.id)) {
                std::string in = j.bytes(k.id, "in"), out = j.bytes(k.id, "out");
                std::string first = k.role == "client" ? "wirelab sent" : "received";
                std::string second = k.role == "client" ? "your server sent" : "sent";
                if (k.role == "client") std::swap(in, out);
                if (!in.empty()) add(k.opened_us, 1, "  " + first + " " + std::to_string(in.size()) + " bytes: " + escape_bytes(in, opt.body_max));
                if (!out.empty()) add(k.opened_us, 1, "  " + second + " " + std::to_string(out.size()) + " bytes: " + escape_bytes(out, opt.body_max));
            }
            if (k.closed_us)
                add(*k.closed_us, 3, paint("2", "connection " + who + " closed" +
                                                    (k.closed_by.empty() ? "" : " by " + k.closed_by) +
                                                    (k.close_kind.empty() ? "" : " (" + k.close_kind + ")") + ", " +
                                                    std::to_string(k.bytes_in) + " bytes in, " +
                                                    std::to_string(k.bytes_out) + " out"));
        }
        for (const auto& h : j.http()) {
            if (h.case_id != c.id) continue;
            std::string version = h.version.rfind("HTTP/", 0) == 0 || h.version.empty() ? h.version : "HTTP/" + h.version;
            std::string s = paint("1", h.method + " " + h.target) + " " + version + "  [" + h.service + " #" +
                            std::to_string(h.connection_id) + "]\n";
            s += header_lines(h.req_headers, std::string(13, ' ') + "  > ");
            if (!h.req_body.empty()) s += std::string(13, ' ') + "  > " + body_text(h.req_body, opt.body_max) + "\n";
            if (!h.error.empty()) s += std::string(13, ' ') + "  ! " + h.error + "\n";
            if (h.status) {
                s += std::string(13, ' ') + "  < " + paint(h.status >= 400 ? "31" : "32", std::to_string(h.status) + " " + h.reason) +
                     " after " + std::to_string((h.ended_us - h.started_us) / 1000) + " ms\n";
                s += header_lines(h.resp_headers, std::string(13, ' ') + "  < ");
                if (!h.resp_body.empty()) s += std::string(13, ' ') + "  < " + body_text(h.resp_body, opt.body_max) + "\n";
            }
            if (!s.empty() && s.back() == '\n') s.pop_back();
            add(h.started_us, 1, s);
        }
        for (const auto& m : j.messages())
            if (m.case_id == c.id)
                add(m.t_us, 1, std::string(m.dir == "in" ? "  → " : "  ← ") + m.service + " " + m.protocol + ": " +
                                   escape_bytes(m.data, opt.body_max) + (m.fault.empty() ? "" : "  [" + m.fault + "]") +
                                   (m.error.empty() ? "" : "  ! " + m.error));
        for (const auto& s : j.statements())
            if (s.case_id == c.id)
                add(s.t_us, 1, "  SQL " + s.service + ": " + escape_bytes(s.text, opt.body_max) +
                                   (s.params ? "  parameters " + s.params->dump() : "") +
                                   (s.error.empty() ? "  → " + s.tag : "  → ERROR " + s.sqlstate + " " + s.error));
        for (const auto& k : j.commands())
            if (k.case_id == c.id) {
                std::string line = k.name;
                for (const auto& a : k.args) line += " " + a;
                add(k.t_us, 1, "  " + k.service + "> " + escape_bytes(line, opt.body_max) + "  → " +
                                   escape_bytes(k.reply, 200) + (k.error.empty() ? "" : "  ! " + k.error));
            }
        for (const auto& i : j.invocations())
            if (i.case_id == c.id)
                add(i.started_us, 1, "  $ " + i.line() + "  → " + i.outcome +
                                         (i.exit_code ? " " + std::to_string(*i.exit_code) : ""));
        for (const auto& s : j.steps())
            if (s.case_id == c.id)
                add(s.started_us, 1, "  client " + s.client + " step " + std::to_string(s.idx) + " " + s.action + ": " +
                                         (s.ok ? "ok" : "expected " + s.expected + ", got " + escape_bytes(s.got, 300)));
        for (const auto& e : j.events()) {
            if (e.case_id != c.id || e.kind == "service-start") continue;
            add(e.t_us, 2, paint("33", "  event " + e.kind + (e.service.empty() ? "" : " (" + e.service + ")") + " " +
                                           e.detail.dump()));
        }
        std::stable_sort(lines.begin(), lines.end(),
                         [](const Line& a, const Line& b) { return a.t != b.t ? a.t < b.t : a.order < b.order; });

        o << "\n" << paint("1", "case " + c.name) << ": " << c.command << "\n";
        for (const auto& l : lines) o << paint("2", ms(l.t - t0)) << "  " << l.text << "\n";
        std::string end = !c.start_error.empty() ? "could not start: " + c.start_error
                          : !c.limit.empty()     ? "stopped: " + c.limit_detail
                          : c.timed_out          ? "stopped (timeout)"
                          : c.signal             ? "killed by signal " + std::to_string(*c.signal)
                          : c.exit_code          ? "exit " + std::to_string(*c.exit_code)
                                                 : "did not finish (the run was interrupted)";
        o << paint("2", ms(c.ended_us.value_or(c.started_us) - t0)) << "  " << end << "\n";
        if (!c.out.empty()) o << "  stdout (" << c.out_bytes << " bytes): " << escape_bytes(c.out, opt.body_max) << "\n";
        if (!c.err.empty()) o << "  stderr (" << c.err_bytes << " bytes): " << escape_bytes(c.err, opt.body_max) << "\n";
    }
    if (!any_case)
        o << (opt.only_case.empty() ? "\nno case ran\n" : "\nno case named \"" + opt.only_case + "\" in this run\n");
    return o.str();
}

json render_har(JournalReader& j, const std::string& only_case) {
    auto urls = service_urls(j);
    double epoch = epoch_of(j.meta("started_at"));
    std::map<std::int64_t, std::string> case_names, peers;
    for (const auto& c : j.cases()) case_names[c.id] = c.name;
    for (const auto& k : j.connections()) peers[k.id] = k.role == "client" ? k.peer : k.local;
    auto headers = [](const HeaderList& hs) {
        json out = json::array();
        for (const auto& [k, v] : hs) out.push_back({{"name", k}, {"value", v}});
        return out;
    };
    auto header = [](const HeaderList& hs, const std::string& name) -> std::string {
        for (const auto& [k, v] : hs) {
            std::string n = k;
            std::transform(n.begin(), n.end(), n.begin(), ::tolower);
            if (n == name) return v;
        }
        return "";
    };
    json entries = json::array();
    for (const auto& h : j.http()) {
        auto cn = case_names.find(h.case_id);
        if (!only_case.empty() && (cn == case_names.end() || cn->second != only_case)) continue;
        std::string base = urls.count(h.service) ? urls[h.service] : "http://" + peers[h.connection_id];
        while (!base.empty() && base.back() == '/') base.pop_back();
        std::string version = h.version.empty() ? "HTTP/1.1" : (h.version.rfind("HTTP/", 0) == 0 ? h.version : "HTTP/" + h.version);
        json query = json::array();
        if (h.query.is_object())
            for (auto it = h.query.begin(); it != h.query.end(); ++it) {
                if (it->is_array())
                    for (const auto& v : *it) query.push_back({{"name", it.key()}, {"value", v.is_string() ? v.get<std::string>() : v.dump()}});
                else
                    query.push_back({{"name", it.key()}, {"value", it->is_string() ? it->get<std::string>() : it->dump()}});
            }
        json request = {{"method", h.method},
                        {"url", base + h.target},
                        {"httpVersion", version},
                        {"cookies", json::array()},
                        {"headers", headers(h.req_headers)},
                        {"queryString", query},
                        {"headersSize", -1},
                        {"bodySize", static_cast<std::int64_t>(h.req_body.size())}};
        if (!h.req_body.empty()) {
            std::string mime = header(h.req_headers, "content-type");
            // HAR has no encoding for postData: binary bodies are shown escaped.
            request["postData"] = {{"mimeType", mime},
                                   {"text", valid_utf8(h.req_body) ? h.req_body : escape_bytes(h.req_body, h.req_body.size())},
                                   {"params", json::array()}};
        }
        std::string mime = header(h.resp_headers, "content-type");
        json content = {{"size", static_cast<std::int64_t>(h.resp_body.size())},
                        {"mimeType", mime.empty() ? "x-unknown" : mime}};
        if (valid_utf8(h.resp_body)) {
            content["text"] = h.resp_body;
        } else {
            content["text"] = base64_encode(h.resp_body);
            content["encoding"] = "base64";
        }
        json response = {{"status", h.status},
                         {"statusText", h.reason},
                         {"httpVersion", version},
                         {"cookies", json::array()},
                         {"headers", headers(h.resp_headers)},
                         {"content", content},
                         {"redirectURL", header(h.resp_headers, "location")},
                         {"headersSize", -1},
                         {"bodySize", static_cast<std::int64_t>(h.resp_body.size())}};
        double wait = static_cast<double>(std::max<micros>(0, h.ended_us - h.started_us)) / 1000.0;
        json e = {{"startedDateTime", iso_ms(epoch + static_cast<double>(h.started_us) / 1e6)},
                  {"time", wait},
                  {"request", request},
                  {"response", response},
                  {"cache", json::object()},
                  {"timings", {{"blocked", -1}, {"dns", -1}, {"connect", -1}, {"send", 0}, {"wait", wait},
                               {"receive", 0}, {"ssl", -1}}},
                  {"connection", std::to_string(h.connection_id)},
                  {"comment", "service " + h.service + ", case " + (cn == case_names.end() ? "?" : cn->second) +
                                  (h.error.empty() ? "" : "; error: " + h.error)}};
        entries.push_back(e);
    }
    return {{"log",
             {{"version", "1.2"},
              {"creator", {{"name", "wirelab"}, {"version", "0.1.0"}}},
              {"pages", json::array()},
              {"entries", entries},
              {"comment", "lab " + j.meta("lab") + ", seed " + j.meta("seed")}}}};
}

}  // namespace wirelab::checks
