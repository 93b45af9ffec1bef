#include "runtime/journal_reader.hpp"

#include "runtime/runner.hpp"
#include "runtime/text.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>
#include <unordered_map>

namespace wirelab {

namespace {
std::optional<std::string> find_header(const HeaderList& list, const std::string& name) {
    if (const std::string* v = find_field(list, name)) return *v;
    return std::nullopt;
}

void put_utf8(std::string& out, std::uint32_t c) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

/// A JSON string at `p` (on its opening quote) into `out`; false if malformed.
bool json_string(std::string_view t, std::size_t& p, std::string& out) {
    if (p >= t.size() || t[p] != '"') return false;
    ++p;
    auto hex4 = [&](std::uint32_t& v) {
        if (p + 4 > t.size()) return false;
        v = 0;
        for (int i = 0; i < 4; ++i) {
            char c = t[p++];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
            else return false;
        }
        return true;
    };
    while (p < t.size()) {
        std::size_t run = t.find_first_of("\"\\", p);  // copy up to the next quote or escape at once
        if (run == std::string_view::npos) return false;
        out.append(t.data() + p, run - p);
        p = run;
        char c = t[p++];
        if (c == '"') return true;
        if (p >= t.size()) return false;
        switch (char e = t[p++]) {
            case '"': case '\\': case '/': out += e; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                std::uint32_t v = 0;
                if (!hex4(v)) return false;
                if (v >= 0xD800 && v < 0xDC00 && p + 6 <= t.size() && t[p] == '\\' && t[p + 1] == 'u') {
                    p += 2;
                    std::uint32_t lo = 0;
                    if (!hex4(lo)) return false;
                    v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
                }
                put_utf8(out, v);
                break;
            }
            default: return false;
        }
    }
    return false;
}
std::optional<std::int64_t> opt_int(sql::Stmt& s, int c) {
    if (s.is_null(c)) return std::nullopt;
    return s.integer(c);
}
nlohmann::json json_col(sql::Stmt& s, int c, nlohmann::json def) {
    if (s.is_null(c)) return def;
    return nlohmann::json::parse(s.text(c), nullptr, false);
}
}  // namespace

namespace {
/// Walks the `[[name, value], …]` shape, calling `pair(name, value)` for
/// each entry until it returns false. False if the text is not that shape
/// (to the point where the walk stopped).
template <class F>
bool walk_header_list(std::string_view t, F&& pair) {
    std::size_t p = 0;
    auto ws = [&] {
        while (p < t.size() && (t[p] == ' ' || t[p] == '\n' || t[p] == '\r' || t[p] == '\t')) ++p;
    };
    auto eat = [&](char c) {
        ws();
        if (p < t.size() && t[p] == c) {
            ++p;
            return true;
        }
        return false;
    };
    if (!eat('[')) return false;
    if (eat(']')) return true;
    std::string k, v;  // reused: no allocation per entry once they have grown
    for (;;) {
        k.clear(), v.clear();
        if (!(eat('[') && (ws(), json_string(t, p, k)) && eat(',') && (ws(), json_string(t, p, v)) && eat(']')))
            return false;
        if (!pair(k, v)) return true;
        if (eat(']')) return true;
        if (!eat(',')) return false;
    }
}

HeaderList parse_header_json(std::string_view t) {
    // Not the shape wirelab writes: read it as JSON and keep the pairs of strings.
    HeaderList out;
    auto j = nlohmann::json::parse(t, nullptr, false);
    if (j.is_array())
        for (const auto& h : j)
            if (h.is_array() && h.size() == 2 && h[0].is_string() && h[1].is_string())
                out.emplace_back(h[0].get<std::string>(), h[1].get<std::string>());
    return out;
}
}  // namespace

bool walk_header_fields(std::string_view t, const std::function<bool(std::string&, std::string&)>& pair) {
    return walk_header_list(t, pair);
}

HeaderList parse_header_list(std::string_view t) {
    HeaderList out;
    if (walk_header_list(t, [&](std::string& k, std::string& v) {
            out.emplace_back(k, v);
            return true;
        }))
        return out;
    return parse_header_json(t);
}

namespace {
/// Calls `id(n)` for each id of a `[1,2,3]` list (schema 3) until it returns false.
template <class F>
void walk_ids(std::string_view t, F&& id) {
    std::size_t p = 0;
    while (p < t.size()) {
        if (t[p] < '0' || t[p] > '9') {
            ++p;
            continue;
        }
        std::int64_t n = 0;
        while (p < t.size() && t[p] >= '0' && t[p] <= '9') n = n * 10 + (t[p++] - '0');
        if (!id(n)) return;
    }
}
}  // namespace

HeaderList LazyHeaders::fields_of(const HeaderFields& fields, std::string_view ids) {
    HeaderList out;
    walk_ids(ids, [&](std::int64_t n) {
        if (auto it = fields.find(n); it != fields.end()) out.push_back(it->second);
        return true;
    });
    return out;
}

void LazyHeaders::fill_values(HeaderList& list, std::string_view values) {
    auto v = nlohmann::json::parse(values, nullptr, false);
    if (!v.is_object()) return;
    for (const auto& [place, value] : v.items()) {
        std::size_t k = 0;
        auto [end, ec] = std::from_chars(place.data(), place.data() + place.size(), k);
        if (ec == std::errc() && end == place.data() + place.size() && k < list.size() && value.is_string())
            list[k].second = value.get<std::string>();
    }
}

std::optional<std::string> LazyHeaders::find(const std::string& name) const {
    if (!s_) return std::nullopt;
    if (!s_->values.empty()) return find_header(list(), name);
    if (!s_->parsed && s_->fields) {
        std::optional<std::string> found;
        walk_ids(s_->text, [&](std::int64_t n) {
            auto it = s_->fields->find(n);
            if (it == s_->fields->end() || !iequals(it->second.first, name)) return true;
            found = it->second.second;
            return false;
        });
        return found;
    }
    // A list of one row is scanned; one that rows share is parsed once.
    if (!s_->parsed && s_.use_count() == 1) {
        std::optional<std::string> found;
        bool ok = walk_header_list(s_->text, [&](std::string& k, std::string& v) {
            if (!iequals(k, name)) return true;
            found = v;
            return false;
        });
        if (ok) return found;
    }
    return find_header(list(), name);
}

std::optional<std::string> HttpRow::header(const std::string& name) const { return req_headers.find(name); }
std::optional<std::string> HttpRow::response_header(const std::string& name) const {
    return resp_headers.find(name);
}

JournalReader::JournalReader(const std::filesystem::path& file) {
    if (!std::filesystem::exists(file))
        throw std::runtime_error("no journal at " + file.string());
    db_ = std::make_unique<sql::Db>(file, sql::Db::Mode::read_only);
    if (meta("schema_version").empty())
        throw std::runtime_error(file.string() + " is not a wirelab journal");
}

std::string JournalReader::meta(const std::string& key) const {
    try {
        auto s = db_->prepare("SELECT value FROM meta WHERE key = ?");
        s.bind(1, key);
        return s.step() ? s.text(0) : "";
    } catch (const std::exception&) {
        return "";
    }
}

const std::vector<CaseRow>& JournalReader::cases() {
    if (cases_) return *cases_;
    cases_.emplace();
    auto s = db_->prepare(
        "SELECT id, name, command, started_us, ended_us, pid, exit_code, signal, timed_out, "
        "start_error, stdout, stderr, stdout_bytes, stderr_bytes, stdout_truncated, "
        "stderr_truncated, cpu_user_us, cpu_sys_us FROM cases ORDER BY id");
    while (s.step()) {
        CaseRow c;
        c.id = s.integer(0);
        c.name = s.text(1);
        c.command = s.text(2);
        c.started_us = s.integer(3);
        c.ended_us = opt_int(s, 4);
        if (auto v = opt_int(s, 5)) c.pid = static_cast<int>(*v);
        if (auto v = opt_int(s, 6)) c.exit_code = static_cast<int>(*v);
        if (auto v = opt_int(s, 7)) c.signal = static_cast<int>(*v);
        c.timed_out = s.integer(8) != 0;
        c.start_error = s.text(9);
        c.out = s.text(10);
        c.err = s.text(11);
        c.out_bytes = s.integer(12);
        c.err_bytes = s.integer(13);
        c.out_truncated = s.integer(14) != 0;
        c.err_truncated = s.integer(15) != 0;
        c.cpu_user_us = s.is_null(16) ? 0 : s.integer(16);
        c.cpu_sys_us = s.is_null(17) ? 0 : s.integer(17);
        cases_->push_back(std::move(c));
    }
    if (has_column("cases", "limit_hit")) {
        auto l = db_->prepare("SELECT id, limit_hit, limit_detail, processes_peak FROM cases");
        while (l.step())
            for (auto& c : *cases_)
                if (c.id == l.integer(0)) {
                    c.limit = l.text(1);
                    c.limit_detail = l.text(2);
                    c.processes_peak = l.is_null(3) ? 0 : l.integer(3);
                }
    }
    auto f = db_->prepare("SELECT case_id, detail FROM events WHERE kind = 'faults' ORDER BY id");
    while (f.step()) {
        auto d = nlohmann::json::parse(f.text(1), nullptr, false);
        for (auto& c : *cases_)
            if (c.id == f.integer(0) && d.is_object() && d.contains("services")) c.faults = d["services"];
    }
    return *cases_;
}

bool JournalReader::has_column(const std::string& table, const std::string& column) {
    auto s = db_->prepare("SELECT 1 FROM pragma_table_info(?) WHERE name = ?");
    s.bind(1, table).bind(2, column);
    return s.step();
}

const std::vector<ProcessRow>& JournalReader::processes() {
    if (processes_) return *processes_;
    processes_.emplace();
    if (!has_column("processes", "pid")) return *processes_;
    auto s = db_->prepare(
        "SELECT case_id, pid, ppid, cmdline, started_us, ended_us, exit_code, signal, threads_max, "
        "is_root, orphaned, reaped_by_wirelab, left_running FROM processes ORDER BY started_us, id");
    while (s.step()) {
        ProcessRow p;
        p.case_id = s.integer(0);
        p.pid = static_cast<int>(s.integer(1));
        p.ppid = static_cast<int>(s.integer(2));
        p.cmdline = s.text(3);
        p.started_us = s.integer(4);
        p.ended_us = opt_int(s, 5);
        if (auto v = opt_int(s, 6)) p.exit_code = static_cast<int>(*v);
        if (auto v = opt_int(s, 7)) p.signal = static_cast<int>(*v);
        p.threads_max = static_cast<int>(s.integer(8));
        p.root = s.integer(9) != 0;
        p.orphaned = s.integer(10) != 0;
        p.reaped_by_wirelab = s.integer(11) != 0;
        p.left_running = s.integer(12) != 0;
        processes_->push_back(std::move(p));
    }
    return *processes_;
}

const std::vector<InvocationRow>& JournalReader::invocations() {
    if (invocations_) return *invocations_;
    invocations_.emplace();
    if (!has_column("invocations", "argv")) return *invocations_;
    auto s = db_->prepare(
        "SELECT id, case_id, service, tool, argv, pid, ppid, parent_cmdline, cwd, started_us, ended_us, outcome, "
        "exit_code, hang, stdout_bytes, stderr_bytes, stdout_written, stderr_written FROM invocations "
        "ORDER BY started_us, id");
    auto strings = [](const std::string& text) {
        std::vector<std::string> out;
        auto j = nlohmann::json::parse(text.empty() ? "[]" : text, nullptr, false);
        if (j.is_array())
            for (const auto& v : j)
                if (v.is_string()) out.push_back(v.get<std::string>());
        return out;
    };
    while (s.step()) {
        InvocationRow r;
        r.id = s.integer(0);
        r.case_id = s.integer(1);
        r.service = s.text(2);
        r.tool = s.text(3);
        r.argv = strings(s.text(4));
        r.pid = static_cast<int>(s.integer(5));
        r.ppid = static_cast<int>(s.integer(6));
        r.parent_cmdline = strings(s.text(7));
        r.cwd = s.text(8);
        r.started_us = s.integer(9);
        r.ended_us = opt_int(s, 10);
        r.outcome = s.text(11);
        if (auto v = opt_int(s, 12)) r.exit_code = static_cast<int>(*v);
        r.hang = s.integer(13) != 0;
        r.stdout_bytes = s.integer(14);
        r.stderr_bytes = s.integer(15);
        r.stdout_written = s.integer(16);
        r.stderr_written = s.integer(17);
        invocations_->push_back(std::move(r));
    }
    return *invocations_;
}

std::string InvocationRow::line() const {
    return argv.empty() ? tool : tool + " " + shell_quote(argv);
}

bool InvocationRow::via_shell() const {
    if (parent_cmdline.size() < 2) return false;
    std::string exe = parent_cmdline[0];
    exe = exe.substr(exe.rfind('/') == std::string::npos ? 0 : exe.rfind('/') + 1);
    static const std::vector<std::string> shells = {"sh", "bash", "dash", "zsh", "ksh", "busybox"};
    if (std::find(shells.begin(), shells.end(), exe) == shells.end()) return false;
    return std::find(parent_cmdline.begin() + 1, parent_cmdline.end(), "-c") != parent_cmdline.end();
}

const std::vector<HttpRow>& JournalReader::http() {
    if (http_) return *http_;
    http_.emplace();
    // Schema 2: each stored header list read once and shared by its rows.
    bool v2 = has_column("http_exchanges", "resp_headers_id");
    {
        auto n = db_->prepare(v2 ? "SELECT count(*) FROM http_exchanges" : "SELECT count(*) FROM http");
        if (n.step()) http_->reserve(static_cast<std::size_t>(n.integer(0)));
    }
    std::unordered_map<std::int64_t, LazyHeaders> lists;
    if (v2 && has_column("header_lists", "fields")) {
        // Schema 3: a list is the ids of its fields.
        auto fields = std::make_shared<HeaderFields>();
        auto f = db_->prepare("SELECT id, name, value FROM header_fields");
        while (f.step()) fields->emplace(f.integer(0), std::pair{f.text(1), f.text(2)});
        auto l = db_->prepare("SELECT id, fields FROM header_lists");
        while (l.step()) lists.emplace(l.integer(0), LazyHeaders(fields, l.text(1)));
    } else if (v2) {
        auto l = db_->prepare("SELECT id, json FROM header_lists");
        while (l.step()) lists.emplace(l.integer(0), LazyHeaders(l.text(1)));
    }
    // Schema 4: a row keeps the values of some of its lists' fields.
    bool values = v2 && has_column("http_exchanges", "resp_values");
    auto headers = [&](const sql::Stmt& s, int col, int values_col) {
        if (s.is_null(col)) return LazyHeaders();
        if (!v2) return LazyHeaders(s.text(col));
        auto it = lists.find(s.integer(col));
        if (it == lists.end()) return LazyHeaders();
        if (values && !s.is_null(values_col)) return it->second.with_values(s.text(values_col));
        return it->second;
    };
    // Schema 3: a body of 256 bytes or more is in `bodies`.
    bool shared_bodies = v2 && has_column("http_exchanges", "resp_body_id");
    auto body = [&](const std::string& c) {
        return shared_bodies ? "coalesce(" + c + ", (SELECT b.data FROM bodies b WHERE b.id = " + c + "_id))" : c;
    };
    auto s = db_->prepare(std::string(
                              "SELECT id, case_id, connection_id, service, seq, started_us, ended_us, method, target, "
                              "path, version, query, ") +
                          (v2 ? "req_headers_id" : "req_headers") + ", " + body("req_body") + ", status, reason, " +
                          (v2 ? "resp_headers_id" : "resp_headers") + ", " + body("resp_body") + ", error, " +
                          (values ? "req_values, resp_values" : "NULL, NULL") + " FROM " +
                          (v2 ? "http_exchanges" : "http") + " ORDER BY id");
    while (s.step()) {
        HttpRow h;
        h.id = s.integer(0);
        h.case_id = s.integer(1);
        h.connection_id = s.integer(2);
        h.service = s.text(3);
        h.seq = static_cast<int>(s.integer(4));
        h.started_us = s.integer(5);
        h.ended_us = s.integer(6);
        h.method = s.text(7);
        h.target = s.text(8);
        h.path = s.text(9);
        h.version = s.text(10);
        if (s.is_null(11) || s.text(11) == "{}")  // most requests have no query: no parse
            h.query = nlohmann::json::object();
        else
            h.query = json_col(s, 11, nlohmann::json::object());
        h.req_headers = headers(s, 12, 19);
        h.req_body = s.text(13);
        h.status = static_cast<int>(s.integer(14));
        h.reason = s.text(15);
        h.resp_headers = headers(s, 16, 20);
        h.resp_body = s.text(17);
        h.error = s.text(18);
        http_->push_back(std::move(h));
    }
    // In the order they started: rows are written as they end, so nearly in
    // that order already; sorted here rather than by SQLite, which would
    // copy every row with its bodies through its sorter.
    auto by_start = [](const HttpRow& a, const HttpRow& b) {
        return a.started_us != b.started_us ? a.started_us < b.started_us : a.id < b.id;
    };
    if (!std::is_sorted(http_->begin(), http_->end(), by_start)) {
        // The keys sorted, then each row moved once (rather than swapped
        // through the sort with its strings).
        std::vector<std::pair<std::pair<micros, std::int64_t>, std::size_t>> keys;
        keys.reserve(http_->size());
        for (std::size_t i = 0; i < http_->size(); ++i) keys.push_back({{(*http_)[i].started_us, (*http_)[i].id}, i});
        std::sort(keys.begin(), keys.end());
        std::vector<HttpRow> sorted;
        sorted.reserve(http_->size());
        for (const auto& k : keys) sorted.push_back(std::move((*http_)[k.second]));
        *http_ = std::move(sorted);
    }
    return *http_;
}

const std::vector<ConnRow>& JournalReader::connections() {
    if (conns_) return *conns_;
    conns_.emplace();
    bool replicas = has_column("connections", "replica");
    auto s = db_->prepare(
        std::string("SELECT id, case_id, service, transport, role, local, peer, pid, opened_us, closed_us, "
                    "closed_by, close_kind, bytes_in, bytes_out, ") +
        (replicas ? "replica" : "NULL") + " FROM connections ORDER BY id");
    while (s.step()) {
        ConnRow c;
        c.id = s.integer(0);
        c.case_id = s.is_null(1) ? 0 : s.integer(1);
        c.service = s.text(2);
        c.transport = s.text(3);
        c.role = s.text(4);
        c.local = s.text(5);
        c.peer = s.text(6);
        if (auto v = opt_int(s, 7)) c.pid = static_cast<int>(*v);
        c.opened_us = s.integer(8);
        c.closed_us = opt_int(s, 9);
        c.closed_by = s.text(10);
        c.close_kind = s.text(11);
        c.bytes_in = s.integer(12);
        c.bytes_out = s.integer(13);
        if (auto v = opt_int(s, 14)) c.replica = static_cast<int>(*v);
        conns_->push_back(std::move(c));
    }
    return *conns_;
}

const std::vector<MessageRow>& JournalReader::messages() {
    if (messages_) return *messages_;
    messages_.emplace();
    auto s = db_->prepare(std::string("SELECT id, case_id, service, connection_id, seq, dir, t_us, protocol, data, "
                                      "json, error, peer, fault, ") +
                          (has_column("messages", "pid") ? "pid" : "NULL") + " FROM messages ORDER BY id");
    while (s.step()) {
        MessageRow m;
        m.id = s.integer(0);
        m.case_id = s.is_null(1) ? 0 : s.integer(1);
        m.service = s.text(2);
        m.connection_id = s.is_null(3) ? 0 : s.integer(3);
        m.seq = static_cast<int>(s.integer(4));
        m.dir = s.text(5);
        m.t_us = s.integer(6);
        m.protocol = s.text(7);
        m.data = s.text(8);
        if (!s.is_null(9)) {
            auto j = nlohmann::json::parse(s.text(9), nullptr, false);
            if (!j.is_discarded()) m.json = std::move(j);
        }
        m.error = s.text(10);
        m.peer = s.text(11);
        m.fault = s.text(12);
        if (auto v = opt_int(s, 13)) m.pid = static_cast<int>(*v);
        messages_->push_back(std::move(m));
    }
    return *messages_;
}

const std::vector<CommandRow>& JournalReader::commands() {
    if (commands_) return *commands_;
    commands_.emplace();
    if (!has_column("commands", "name")) return *commands_;  // an older journal
    auto s = db_->prepare(
        "SELECT id, case_id, service, connection_id, seq, t_us, db, name, args, reply, error, in_multi "
        "FROM commands ORDER BY id");
    while (s.step()) {
        CommandRow c;
        c.id = s.integer(0);
        c.case_id = s.is_null(1) ? 0 : s.integer(1);
        c.service = s.text(2);
        c.connection_id = s.is_null(3) ? 0 : s.integer(3);
        c.seq = static_cast<int>(s.integer(4));
        c.t_us = s.integer(5);
        c.db = static_cast<int>(s.integer(6));
        c.name = s.text(7);
        auto a = nlohmann::json::parse(s.text(8), nullptr, false);
        if (a.is_array())
            for (const auto& x : a) c.args.push_back(x.is_string() ? x.get<std::string>() : x.dump());
        c.reply = s.text(9);
        c.error = s.text(10);
        c.in_multi = s.integer(11) != 0;
        commands_->push_back(std::move(c));
    }
    return *commands_;
}

const std::vector<SqlRow>& JournalReader::statements() {
    if (statements_) return *statements_;
    statements_.emplace();
    if (!has_column("sql", "text")) return *statements_;
    auto s = db_->prepare(
        "SELECT id, case_id, service, connection_id, seq, t_us, text, params, parameterised, protocol, verb, tag, "
        "rows, sqlstate, error, tx_before, tx_after FROM sql ORDER BY id");
    while (s.step()) {
        SqlRow r;
        r.id = s.integer(0);
        r.case_id = s.is_null(1) ? 0 : s.integer(1);
        r.service = s.text(2);
        r.connection_id = s.is_null(3) ? 0 : s.integer(3);
        r.seq = static_cast<int>(s.integer(4));
        r.t_us = s.integer(5);
        r.text = s.text(6);
        if (!s.is_null(7)) {
            auto j = nlohmann::json::parse(s.text(7), nullptr, false);
            if (!j.is_discarded()) r.params = std::move(j);
        }
        r.parameterised = s.integer(8) != 0;
        r.protocol = s.text(9);
        r.verb = s.text(10);
        r.tag = s.text(11);
        r.rows = s.is_null(12) ? 0 : s.integer(12);
        r.sqlstate = s.text(13);
        r.error = s.text(14);
        r.tx_before = s.text(15);
        r.tx_after = s.text(16);
        statements_->push_back(std::move(r));
    }
    return *statements_;
}

const std::vector<StepRow>& JournalReader::steps() {
    if (steps_) return *steps_;
    steps_.emplace();
    auto s = db_->prepare(
        "SELECT id, case_id, client, connection_id, idx, action, ok, expected, got, started_us, ended_us "
        "FROM steps ORDER BY id");
    while (s.step()) {
        StepRow r;
        r.id = s.integer(0);
        r.case_id = s.is_null(1) ? 0 : s.integer(1);
        r.client = s.text(2);
        r.connection_id = s.is_null(3) ? 0 : s.integer(3);
        r.idx = static_cast<int>(s.integer(4));
        r.action = s.text(5);
        r.ok = s.integer(6) != 0;
        r.expected = s.text(7);
        r.got = s.text(8);
        r.started_us = s.is_null(9) ? 0 : s.integer(9);
        r.ended_us = s.is_null(10) ? 0 : s.integer(10);
        steps_->push_back(std::move(r));
    }
    return *steps_;
}

const std::vector<EventRow>& JournalReader::events() {
    if (events_) return *events_;
    events_.emplace();
    auto s = db_->prepare("SELECT id, case_id, connection_id, t_us, service, kind, detail FROM events ORDER BY id");
    while (s.step()) {
        EventRow e;
        e.id = s.integer(0);
        e.case_id = s.is_null(1) ? 0 : s.integer(1);
        e.connection_id = s.is_null(2) ? 0 : s.integer(2);
        e.t_us = s.integer(3);
        e.service = s.text(4);
        e.kind = s.text(5);
        auto d = nlohmann::json::parse(s.text(6), nullptr, false);
        e.detail = d.is_discarded() ? nlohmann::json::object() : d;
        events_->push_back(std::move(e));
    }
    return *events_;
}

std::string JournalReader::bytes(std::int64_t conn, const std::string& dir) {
    auto s = db_->prepare("SELECT data FROM chunks WHERE connection_id = ? AND dir = ? ORDER BY offset");
    s.bind(1, conn).bind(2, dir);
    std::string out;
    while (s.step()) out += s.text(0);
    return out;
}

std::vector<std::int64_t> JournalReader::chunk_sizes(std::int64_t conn, const std::string& dir) {
    auto s = db_->prepare("SELECT length(data) FROM chunks WHERE connection_id = ? AND dir = ? ORDER BY offset");
    s.bind(1, conn).bind(2, dir);
    std::vector<std::int64_t> out;
    while (s.step()) out.push_back(s.integer(0));
    return out;
}

}  // namespace wirelab
