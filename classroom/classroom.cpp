#include "classroom/classroom.hpp"
#include "classroom/hosted.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "checks/check.hpp"
#include "checks/report.hpp"
#include "checks/run_report.hpp"
#include "clients/registry.hpp"
#include "runtime/errors.hpp"
#include "runtime/lab.hpp"
#include "runtime/params.hpp"
#include "runtime/run_bundle.hpp"
#include "runtime/sqlite.hpp"
#include "services/registry.hpp"

namespace wirelab::classroom {

namespace fs = std::filesystem;

namespace {

std::string random_hex(std::size_t bytes) {
    std::random_device rd;
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < bytes; ++i) {
        unsigned v = rd() & 0xff;
        out += digits[v >> 4];
        out += digits[v & 15];
    }
    return out;
}

/// A learner's token: their id (to find them) and 128 random bits.
std::string learner_token_for(std::int64_t id) { return "wl-" + std::to_string(id) + "-" + random_hex(16); }

std::string random_code() {
    std::random_device rd;
    static const char* alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";  // no 0/O, 1/I
    std::string out;
    for (int i = 0; i < 6; ++i) out += alphabet[rd() % 32];
    return out;
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string iso(std::int64_t ms) {
    std::time_t t = ms / 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string trim(std::string s) {
    auto b = s.find_first_not_of(" \t\r\n");
    auto e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string csv_field(const std::string& in) {
    // a name a learner chose ("=HYPERLINK(…)") must not become a formula
    // when the trainer opens the export in a spreadsheet
    std::string s = !in.empty() && std::string("=+-@\t\r").find(in[0]) != std::string::npos ? "'" + in : in;
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

/// Splits CSV text into rows of fields, with the line each row starts on.
std::vector<std::pair<int, std::vector<std::string>>> split_csv(const std::string& text, const std::string& file) {
    std::vector<std::pair<int, std::vector<std::string>>> rows;
    std::size_t i = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
    int line = 1;
    while (i < text.size()) {
        int start_line = line;
        std::vector<std::string> fields(1);
        bool quoted = false, any = false;
        for (; i < text.size(); ++i) {
            char c = text[i];
            if (quoted) {
                if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                    fields.back() += '"';
                    ++i;
                } else if (c == '"') {
                    quoted = false;
                } else {
                    if (c == '\n') ++line;
                    fields.back() += c;
                }
                continue;
            }
            if (c == '"' && trim(fields.back()).empty()) {
                quoted = true;
                fields.back().clear();
                any = true;
            } else if (c == ',') {
                fields.emplace_back();
            } else if (c == '\n') {
                ++line;
                ++i;
                break;
            } else if (c != '\r') {
                fields.back() += c;
                any = any || !std::isspace(static_cast<unsigned char>(c));
            }
        }
        if (quoted) throw LabError({file, start_line, ""}, "a quoted field is never closed", "end it with \"");
        if (any || fields.size() > 1) {
            for (auto& f : fields) f = trim(f);
            bool blank = std::all_of(fields.begin(), fields.end(), [](const std::string& f) { return f.empty(); });
            if (!blank) rows.emplace_back(start_line, std::move(fields));
        }
    }
    return rows;
}

/// A schedule event as the action it fires.
json as_action(const ScheduleEvent& e) {
    return {{"action", e.action}, {"lab", e.lab}, {"fault", e.fault}, {"service", e.service}};
}

}  // namespace


std::vector<RosterRow> parse_roster(const std::string& text, const std::string& file) {
    auto rows = split_csv(text, file);
    std::size_t name_col = 0, email_col = 1, first = 0;
    if (!rows.empty()) {
        const auto& head = rows[0].second;
        std::optional<std::size_t> n, e;
        for (std::size_t i = 0; i < head.size(); ++i) {
            std::string h = lower(head[i]);
            if (h == "name" || h == "full name" || h == "learner" || h == "student") n = i;
            if (h == "email" || h == "e-mail" || h == "mail") e = i;
        }
        if (n || e) {
            if (!n || !e)
                throw LabError({file, rows[0].first, ""}, "the header names " + std::string(n ? "a name" : "an email") +
                                                              " column but no " + (n ? "email" : "name") + " column",
                               "the header must have both: name,email");
            name_col = *n;
            email_col = *e;
            first = 1;
        }
    }
    std::vector<RosterRow> out;
    std::set<std::string> emails;
    for (std::size_t r = first; r < rows.size(); ++r) {
        const auto& [line, f] = rows[r];
        RosterRow row;
        row.line = line;
        row.name = name_col < f.size() ? f[name_col] : "";
        row.email = email_col < f.size() ? f[email_col] : "";
        if (row.name.empty())
            throw LabError({file, line, ""}, "a row without a name", "each row is: name,email");
        if (!row.email.empty() && (row.email.find('@') == std::string::npos || row.email.find(' ') != std::string::npos))
            throw LabError({file, line, ""}, "\"" + row.email + "\" is not an e-mail address",
                           "each row is: name,email (the e-mail may be left empty)");
        if (!row.email.empty() && !emails.insert(lower(row.email)).second)
            throw LabError({file, line, ""}, row.email + " is in the roster twice", "list each learner once");
        out.push_back(row);
    }
    if (out.empty()) throw LabError({file, 0, ""}, "the roster has no learners", "one learner per line: name,email");
    return out;
}

Classroom::Classroom(Scenario scenario, ClassroomOptions opt) : sc_(std::move(scenario)), opt_(std::move(opt)) {
    std::error_code ec;
    fs::create_directories(opt_.state_dir / "submissions", ec);
    if (ec)
        throw EnvError("cannot create the classroom's folder " + opt_.state_dir.string() + ": " + ec.message(),
                       "choose another --state folder");
    ::chmod(opt_.state_dir.c_str(), 0700);
    db_ = std::make_unique<sql::Db>(opt_.state_dir / "classroom.db");
    db_->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
    db_->exec(R"(
        CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS learners(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,
            token TEXT NOT NULL, source TEXT NOT NULL, joined_at INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS lab_state(lab TEXT PRIMARY KEY, open INTEGER NOT NULL, faults TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS actions(id INTEGER PRIMARY KEY, at INTEGER NOT NULL, by TEXT NOT NULL,
            event TEXT, action TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS submissions(id INTEGER PRIMARY KEY, learner INTEGER NOT NULL REFERENCES learners(id),
            lab TEXT NOT NULL, at INTEGER NOT NULL, mode TEXT NOT NULL, score REAL NOT NULL, max_score REAL NOT NULL,
            passed INTEGER NOT NULL, status TEXT NOT NULL, report TEXT NOT NULL, gradescope TEXT NOT NULL,
            prairielearn TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS submissions_by_learner ON submissions(learner, lab, id);
        CREATE TABLE IF NOT EXISTS results(submission INTEGER NOT NULL REFERENCES submissions(id), check_id TEXT NOT NULL,
            title TEXT NOT NULL, status TEXT NOT NULL, points REAL NOT NULL, max_points REAL NOT NULL,
            message TEXT NOT NULL, PRIMARY KEY(submission, check_id));
    )");
    if (meta("trainer_token").empty()) set_meta("trainer_token", "wlt-" + random_hex(16));
    if (meta("join_code").empty()) set_meta("join_code", random_code());
    if (meta("started_at").empty()) set_meta("started_at", std::to_string(now_ms()));
    if (!meta("scenario").empty() && meta("scenario") != sc_.id)
        throw EnvError(opt_.state_dir.string() + " holds the classroom of scenario \"" + meta("scenario") + "\", not \"" +
                           sc_.id + "\"",
                       "give this scenario its own --state folder");
    set_meta("scenario", sc_.id);
    auto ins = db_->prepare("INSERT OR IGNORE INTO lab_state(lab, open, faults) VALUES(?, ?, '{}')");
    for (const auto& l : sc_.labs) {
        ins.bind(1, l.id).bind(2, l.open ? 1 : 0).exec();
        Lab lab = Lab::load(l.dir, service_kind_names(), clients::driver_kind_names());
        json& list = checks_[l.id] = json::array();
        for (const auto& c : checks::compile_checks(lab))
            list.push_back({{"id", c.info.id}, {"title", c.info.title}, {"warning", c.info.warning},
                            {"points", c.info.warning ? 0.0 : c.info.points}});
    }
}

Classroom::~Classroom() = default;

std::string Classroom::meta(const std::string& key) const {
    auto s = db_->prepare("SELECT value FROM meta WHERE key = ?");
    s.bind(1, key);
    return s.step() ? s.text(0) : std::string();
}

void Classroom::set_meta(const std::string& key, const std::string& value) {
    db_->prepare("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
        .bind(1, key)
        .bind(2, value)
        .exec();
}

std::string Classroom::trainer_token() const { return meta("trainer_token"); }
std::string Classroom::join_code() const { return meta("join_code"); }

std::string Classroom::learner_token(std::int64_t id) const {
    auto s = db_->prepare("SELECT token FROM learners WHERE id = ?");
    s.bind(1, id);
    return s.step() ? s.text(0) : std::string();
}

int Classroom::import_roster(const std::vector<RosterRow>& rows) {
    int added = 0;
    db_->exec("BEGIN");
    for (const auto& r : rows) {
        auto find = r.email.empty() ? db_->prepare("SELECT id FROM learners WHERE email = '' AND name = ?")
                                    : db_->prepare("SELECT id FROM learners WHERE lower(email) = lower(?)");
        find.bind(1, r.email.empty() ? r.name : r.email);
        if (find.step()) {
            db_->prepare("UPDATE learners SET name = ? WHERE id = ?").bind(1, r.name).bind(2, find.integer(0)).exec();
            continue;
        }
        db_->prepare("INSERT INTO learners(name, email, token, source, joined_at) VALUES(?, ?, '', 'roster', ?)")
            .bind(1, r.name)
            .bind(2, r.email)
            .bind(3, now_ms())
            .exec();
        std::int64_t id = db_->last_rowid();
        db_->prepare("UPDATE learners SET token = ? WHERE id = ?")
            .bind(1, learner_token_for(id))
            .bind(2, id)
            .exec();
        ++added;
    }
    db_->exec("COMMIT");
    write_tokens();
    return added;
}

void Classroom::write_tokens() const {
    fs::path file = opt_.state_dir / "tokens.csv";
    {
        std::ofstream f(file, std::ios::trunc);
        f << "name,email,token\n";
        auto s = db_->prepare("SELECT name, email, token FROM learners ORDER BY id");
        while (s.step()) f << csv_field(s.text(0)) << "," << csv_field(s.text(1)) << "," << s.text(2) << "\n";
    }
    ::chmod(file.c_str(), 0600);
}

json Classroom::learners() const {
    json out = json::array();
    auto s = db_->prepare("SELECT id, name, email, token, source FROM learners ORDER BY id");
    while (s.step())
        out.push_back({{"id", s.integer(0)}, {"name", s.text(1)}, {"email", s.text(2)}, {"token", s.text(3)},
                       {"source", s.text(4)}});
    return out;
}

Principal Classroom::authenticate(std::string_view token) const {
    Principal p;
    if (token.rfind("wlt-", 0) == 0) {
        if (constant_time_equal(token, trainer_token())) p.role = Principal::Role::trainer;
        return p;
    }
    if (token.rfind("wl-", 0) != 0) return p;
    auto dash = token.find('-', 3);
    if (dash == std::string_view::npos || dash == 3 || dash - 3 > 12) return p;
    std::string digits(token.substr(3, dash - 3));
    if (digits.find_first_not_of("0123456789") != std::string::npos) return p;
    std::int64_t id = std::stoll(digits);
    std::string want = learner_token(id);
    // compared whether or not the learner exists, so a miss takes as long
    if (constant_time_equal(token, want.empty() ? std::string(token.size(), '\x01') : want) && !want.empty()) {
        p.role = Principal::Role::learner;
        p.learner = id;
    }
    return p;
}

json Classroom::join(const std::string& code, const std::string& name_in, const std::string& email_in) {
    if (!constant_time_equal(lower(trim(code)), lower(join_code())))
        throw ApiError(403, "the join code is wrong", "type the code the trainer shows");
    std::string name = trim(name_in), email = trim(email_in);
    if (name.empty() || name.size() > 200) throw ApiError(400, "give your name (at most 200 characters)");
    if (email.size() > 200 || (!email.empty() && email.find('@') == std::string::npos))
        throw ApiError(400, "\"" + email + "\" is not an e-mail address");
    {
        auto s = db_->prepare("SELECT count(*) FROM learners");
        s.step();
        if (s.integer(0) >= 2000) throw ApiError(403, "the classroom is full (2000 learners)");
    }
    if (!email.empty()) {
        auto s = db_->prepare("SELECT id FROM learners WHERE lower(email) = lower(?)");
        s.bind(1, email);
        if (s.step())
            throw ApiError(409, email + " has already joined", "ask the trainer for your token (the dashboard's roster)");
    }
    db_->prepare("INSERT INTO learners(name, email, token, source, joined_at) VALUES(?, ?, '', 'joined', ?)")
        .bind(1, name)
        .bind(2, email)
        .bind(3, now_ms())
        .exec();
    std::int64_t id = db_->last_rowid();
    std::string token = learner_token_for(id);
    db_->prepare("UPDATE learners SET token = ? WHERE id = ?").bind(1, token).bind(2, id).exec();
    write_tokens();
    json ev = {{"type", "learner"}, {"learner", id}, {"name", name}};
    if (notify) notify(ev, kTrainerOnly);
    return {{"id", id}, {"name", name}, {"email", email}, {"token", token}};
}

json Classroom::lab_config(const Principal& who, const std::string& lab) const {
    if (!who.learner_or_trainer()) throw ApiError(401, "no valid token");
    const ScenarioLab* sl = sc_.lab(lab);
    if (!sl) {
        std::string list;
        for (const auto& l : sc_.labs) list += (list.empty() ? "" : ", ") + l.id;
        throw ApiError(404, "lab \"" + lab + "\" is not part of this classroom", "its labs: " + list);
    }
    auto s = db_->prepare("SELECT open, faults FROM lab_state WHERE lab = ?");
    s.bind(1, lab);
    s.step();
    json faults = json::object();
    const json current = json::parse(s.text(1));
    for (auto& [service, name] : current.items()) {
        const ClassFault& cf = sc_.faults.at(name.get<std::string>());
        faults[service] = {{"name", cf.name}, {"description", cf.description}, {"profile", cf.profile}};
    }
    json out = {{"lab", lab}, {"title", sl->title}, {"open", s.integer(0) != 0}, {"faults", faults},
                {"hosted", sl->hosted}};
    if (who.role == Principal::Role::learner) {
        auto n = db_->prepare("SELECT name, token FROM learners WHERE id = ?");
        n.bind(1, who.learner);
        n.step();
        out["learner"] = n.text(0);
        out["seed"] = classroom_seed(n.text(1), lab);
    }
    return out;
}

json Classroom::submit(const Principal& who, const std::string& lab, const std::string& bundle, const std::string& mode) {
    if (who.role != Principal::Role::learner)
        throw ApiError(who.trainer() ? 403 : 401, who.trainer() ? "only a learner submits runs" : "no valid token",
                       "submit with the learner's own token");
    if (bundle.size() > opt_.max_upload)
        throw ApiError(413, "the run is " + std::to_string(bundle.size() >> 10) + " KiB; the limit is " +
                                std::to_string(opt_.max_upload >> 20) + " MiB",
                       "a run that large usually floods output: print less");
    json cfg = lab_config(who, lab);
    if (!cfg["open"].get<bool>()) throw ApiError(403, "lab \"" + lab + "\" is closed in this classroom", "wait until the trainer opens it");
    const ScenarioLab* sl = sc_.lab(lab);

    fs::path dir = opt_.state_dir / "submissions" / ("incoming-" + random_hex(8));
    struct Cleanup {
        fs::path p;
        bool keep = false;
        ~Cleanup() {
            std::error_code ec;
            if (!keep) fs::remove_all(p, ec);
        }
    } cleanup{dir};
    try {
        unpack_run(bundle, dir);
    } catch (const std::invalid_argument& e) {
        throw ApiError(400, e.what(), "submit with `wirelab check LAB script.py --classroom URL --token T`");
    }
    std::uint64_t seed = cfg["seed"].get<std::uint64_t>();
    json report;
    std::string html, gradescope, prairielearn, status;
    try {
        auto run = checks::RecordedRun::open(dir);
        if (run.lab_id != lab)
            throw ApiError(400, "this is a run of lab \"" + run.lab_id + "\", submitted as \"" + lab + "\"");
        if (run.seed != seed)
            throw ApiError(409, "this run used seed " + std::to_string(run.seed) + "; yours for this lab is " +
                                    std::to_string(seed),
                           "run it with --classroom and your token, which chooses your seed");
        Lab l = Lab::load(sl->dir, service_kind_names(), clients::driver_kind_names(), seed);
        auto compiled = checks::compile_checks(l);
        if (mode == "hosted") {
            // the program ran on the learner's machine: grade what the services saw
            std::set<std::string> dropped;
            for (bool more = true; more;) {
                more = false;
                for (const auto& c : compiled) {
                    if (dropped.count(c.info.id)) continue;
                    bool drop = needs_the_program(c.info.kind);
                    for (const auto& d : c.info.depends_on) drop = drop || dropped.count(d);
                    if (drop) more = dropped.insert(c.info.id).second || more;
                }
            }
            compiled.erase(std::remove_if(compiled.begin(), compiled.end(),
                                          [&](const checks::CompiledCheck& c) { return dropped.count(c.info.id) > 0; }),
                           compiled.end());
        }
        checks::ReportInput in = checks::grade(l, compiled, run);
        in.run_dir.clear();
        report = checks::render_json(in);
        html = checks::render_html(in, *run.data);
        gradescope = checks::render_gradescope(in).dump();
        prairielearn = checks::render_prairielearn(in).dump();
        status = report["status"].get<std::string>();
        report["mode"] = mode;
    } catch (const ApiError&) {
        throw;
    } catch (const LabError& e) {
        throw ApiError(500, std::string("the classroom's copy of the lab is broken: ") + e.what(), "tell the trainer");
    } catch (const EnvError& e) {
        throw ApiError(400, "the upload is not a wirelab run: its journal cannot be read",
                       "submit a run made by `wirelab check --classroom`");
    } catch (const std::exception& e) {
        throw ApiError(400, std::string("the run could not be read: ") + e.what(),
                       "submit a run made by `wirelab check --classroom`");
    }

    std::int64_t at = now_ms();
    db_->exec("BEGIN IMMEDIATE");
    try {
        db_->prepare("INSERT INTO submissions(learner, lab, at, mode, score, max_score, passed, status, report, gradescope, "
                     "prairielearn) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(1, who.learner)
            .bind(2, lab)
            .bind(3, at)
            .bind(4, mode)
            .bind(5, report["score"].get<double>())
            .bind(6, report["max_score"].get<double>())
            .bind(7, report["passed"].get<bool>() ? 1 : 0)
            .bind(8, status)
            .bind(9, report.dump())
            .bind(10, gradescope)
            .bind(11, prairielearn)
            .exec();
        std::int64_t id = db_->last_rowid();
        auto ins = db_->prepare("INSERT INTO results(submission, check_id, title, status, points, max_points, message) "
                                "VALUES(?, ?, ?, ?, ?, ?, ?)");
        for (const auto& c : report["checks"])
            ins.bind(1, id)
                .bind(2, c["id"].get<std::string>())
                .bind(3, c["title"].get<std::string>())
                .bind(4, c["status"].get<std::string>())
                .bind(5, c["points"].get<double>())
                .bind(6, c["max_points"].get<double>())
                .bind(7, c.value("message", std::string()))
                .exec();
        fs::path final_dir = opt_.state_dir / "submissions" / std::to_string(id);
        fs::remove_all(final_dir);
        fs::rename(dir, final_dir);
        cleanup.keep = true;
        {
            std::ofstream f(final_dir / "report.html", std::ios::trunc);
            f << html;
            if (!f) throw std::runtime_error("cannot write " + (final_dir / "report.html").string());
        }
        db_->exec("COMMIT");
        json out = {{"id", id},
                    {"lab", lab},
                    {"at", iso(at)},
                    {"score", report["score"]},
                    {"max_score", report["max_score"]},
                    {"passed", report["passed"]},
                    {"status", status},
                    {"report_url", "/api/submissions/" + std::to_string(id) + "/report.html"},
                    {"checks", report["checks"]}};
        json ev = {{"type", "submission"}, {"learner", who.learner}, {"lab", lab}, {"id", id},
                   {"score", report["score"]}, {"max_score", report["max_score"]}, {"passed", report["passed"]}};
        if (notify) notify(ev, who.learner);
        return out;
    } catch (...) {
        db_->exec("ROLLBACK");
        throw;
    }
}

json Classroom::grid() const {
    json labs = json::array();
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> lab_checks;
    for (const auto& l : sc_.labs) {
        auto st = db_->prepare("SELECT open, faults FROM lab_state WHERE lab = ?");
        st.bind(1, l.id);
        st.step();
        const json& checks = checks_.at(l.id);
        for (const auto& c : checks) lab_checks[l.id].emplace_back(c["id"], c["title"]);
        json faults = json::object();
        const json current = json::parse(st.text(1));
        for (auto& [service, name] : current.items()) {
            const ClassFault& cf = sc_.faults.at(name.get<std::string>());
            faults[service] = {{"name", cf.name}, {"description", cf.description}};
        }
        labs.push_back({{"id", l.id}, {"title", l.title}, {"open", st.integer(0) != 0}, {"faults", faults},
                        {"checks", checks}});
    }

    // each learner's latest run per lab, with its checks
    std::map<std::int64_t, json> by_learner;
    json learners = json::array();
    auto ls = db_->prepare("SELECT id, name, email, source FROM learners ORDER BY id");
    std::vector<std::int64_t> order;
    while (ls.step()) {
        by_learner[ls.integer(0)] = {{"id", ls.integer(0)}, {"name", ls.text(1)}, {"email", ls.text(2)},
                                     {"source", ls.text(3)}, {"labs", json::object()}, {"stuck", nullptr}};
        order.push_back(ls.integer(0));
    }
    auto subs = db_->prepare(R"(
        SELECT s.learner, s.lab, s.id, s.at, s.score, s.max_score, s.passed, s.status,
               (SELECT count(*) FROM submissions t WHERE t.learner = s.learner AND t.lab = s.lab),
               (SELECT max(score) FROM submissions t WHERE t.learner = s.learner AND t.lab = s.lab)
        FROM submissions s
        WHERE s.id = (SELECT max(id) FROM submissions t WHERE t.learner = s.learner AND t.lab = s.lab))");
    std::map<std::pair<std::string, std::string>, std::map<std::string, int>> fail_msgs;  // (lab, check) -> message -> n
    std::map<std::pair<std::string, std::string>, int> fail_count;
    std::int64_t now = now_ms();
    while (subs.step()) {
        std::int64_t learner = subs.integer(0), id = subs.integer(2);
        std::string lab = subs.text(1);
        json checks = json::object();
        std::string first_fail;
        auto rs = db_->prepare("SELECT check_id, status, message FROM results WHERE submission = ? ORDER BY rowid");
        rs.bind(1, id);
        while (rs.step()) {
            checks[rs.text(0)] = rs.text(1);
            if (rs.text(1) == "failed") {
                if (first_fail.empty()) first_fail = rs.text(0);
                fail_count[{lab, rs.text(0)}]++;
                fail_msgs[{lab, rs.text(0)}][rs.text(2)]++;
            }
        }
        json cell = {{"latest", id},          {"at", iso(subs.integer(3))}, {"score", subs.real(4)},
                     {"max_score", subs.real(5)}, {"passed", subs.integer(6) != 0}, {"status", subs.text(7)},
                     {"submissions", subs.integer(8)}, {"best_score", subs.real(9)}, {"checks", checks},
                     {"minutes_ago", (now - subs.integer(3)) / 60000}};
        if (!by_learner.count(learner)) continue;
        by_learner[learner]["labs"][lab] = cell;
        // stuck: the last three runs of a lab failed at the same first check
        if (subs.integer(6) == 0 && subs.integer(8) >= 3 && !first_fail.empty()) {
            auto last = db_->prepare(R"(
                SELECT (SELECT check_id FROM results r WHERE r.submission = s.id AND r.status = 'failed' ORDER BY rowid LIMIT 1)
                FROM submissions s WHERE s.learner = ? AND s.lab = ? ORDER BY s.id DESC LIMIT 3)");
            last.bind(1, learner).bind(2, lab);
            int same = 0;
            while (last.step()) same += !last.is_null(0) && last.text(0) == first_fail;
            if (same == 3) {
                std::string title = first_fail;
                for (const auto& [cid, t] : lab_checks[lab])
                    if (cid == first_fail) title = t;
                by_learner[learner]["stuck"] = {{"lab", lab}, {"check", first_fail}, {"title", title},
                                                {"runs", subs.integer(8)}};
            }
        }
    }
    for (auto id : order) learners.push_back(by_learner[id]);

    json most = nullptr;
    int best = 0;
    for (const auto& [key, n] : fail_count)
        if (n > best) {
            best = n;
            std::string evidence;
            int en = 0;
            for (const auto& [m, c] : fail_msgs[key])
                if (c > en) {
                    en = c;
                    evidence = m;
                }
            std::string title = key.second;
            for (const auto& [cid, t] : lab_checks[key.first])
                if (cid == key.second) title = t;
            most = {{"lab", key.first}, {"check", key.second}, {"title", title}, {"learners", n},
                    {"evidence", evidence}, {"evidence_count", en}};
        }

    json events = json::array();
    std::map<std::string, std::int64_t> fired;
    auto fs_ = db_->prepare("SELECT event, max(at) FROM actions WHERE event IS NOT NULL GROUP BY event");
    while (fs_.step()) fired[fs_.text(0)] = fs_.integer(1);
    for (const auto& e : sc_.schedule) {
        json j = {{"id", e.id}, {"title", e.title}, {"action", e.action}, {"lab", e.lab}, {"at", e.at_text}};
        if (fired.count(e.id)) j["fired_at"] = iso(fired[e.id]);
        events.push_back(j);
    }
    return {{"scenario", {{"id", sc_.id}, {"title", sc_.title}, {"description", sc_.description}}},
            {"join_code", join_code()},
            {"labs", labs},
            {"learners", learners},
            {"most_failed", most},
            {"schedule", events}};
}

json Classroom::me(const Principal& who) const {
    if (who.role != Principal::Role::learner) throw ApiError(who.trainer() ? 403 : 401, "a learner's token is needed");
    auto n = db_->prepare("SELECT name, email FROM learners WHERE id = ?");
    n.bind(1, who.learner);
    n.step();
    json labs = json::array();
    for (const auto& l : sc_.labs) {
        json cfg = lab_config(who, l.id);
        json entry = {{"id", l.id}, {"title", l.title}, {"open", cfg["open"]}, {"faults", cfg["faults"]},
                      {"runs", json::array()}};
        auto s = db_->prepare("SELECT id, at, score, max_score, passed, status, report FROM submissions "
                              "WHERE learner = ? AND lab = ? ORDER BY id DESC LIMIT 20");
        s.bind(1, who.learner).bind(2, l.id);
        bool first = true;
        while (s.step()) {
            json run = {{"id", s.integer(0)}, {"at", iso(s.integer(1))}, {"score", s.real(2)}, {"max_score", s.real(3)},
                        {"passed", s.integer(4) != 0}, {"status", s.text(5)},
                        {"report_url", "/api/submissions/" + std::to_string(s.integer(0)) + "/report.html"}};
            if (first) run["checks"] = json::parse(s.text(6))["checks"];
            first = false;
            entry["runs"].push_back(run);
        }
        labs.push_back(entry);
    }
    return {{"id", who.learner}, {"name", n.text(0)}, {"email", n.text(1)},
            {"scenario", {{"id", sc_.id}, {"title", sc_.title}}}, {"labs", labs}};
}

json Classroom::submission(const Principal& who, std::int64_t id) const {
    auto s = db_->prepare("SELECT learner, lab, at, report FROM submissions WHERE id = ?");
    s.bind(1, id);
    // the same answer for "not yours" and "no such run": ids are not secrets, runs are
    if (!s.step() || !(who.trainer() || (who.role == Principal::Role::learner && who.learner == s.integer(0))))
        throw ApiError(who.learner_or_trainer() ? 404 : 401, "no run " + std::to_string(id) + " of yours");
    json r = json::parse(s.text(3));
    r["submission"] = {{"id", id}, {"learner", s.integer(0)}, {"lab", s.text(1)}, {"at", iso(s.integer(2))}};
    return r;
}

std::string Classroom::submission_html(const Principal& who, std::int64_t id) const {
    submission(who, id);  // the same access rule
    std::ifstream f(opt_.state_dir / "submissions" / std::to_string(id) / "report.html", std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

json Classroom::apply(const json& a, const std::string& by, const std::string& event_id) {
    std::string action = a.value("action", "");
    std::string lab = a.value("lab", "");
    json logged = {{"action", action}};
    auto need_lab = [&]() -> const ScenarioLab& {
        const ScenarioLab* l = sc_.lab(lab);
        if (!l) throw ApiError(400, lab.empty() ? "\"" + action + "\" needs a \"lab\"" : "no lab \"" + lab + "\" in this classroom");
        logged["lab"] = lab;
        return *l;
    };
    auto faults_of = [&](const std::string& l) {
        auto s = db_->prepare("SELECT faults FROM lab_state WHERE lab = ?");
        s.bind(1, l);
        s.step();
        return json::parse(s.text(0));
    };
    auto set_faults = [&](const std::string& l, const json& f) {
        db_->prepare("UPDATE lab_state SET faults = ? WHERE lab = ?").bind(1, f.dump()).bind(2, l).exec();
    };
    std::optional<std::int64_t> learner;
    if (action == "open" || action == "close") {
        need_lab();
        db_->prepare("UPDATE lab_state SET open = ? WHERE lab = ?").bind(1, action == "open" ? 1 : 0).bind(2, lab).exec();
    } else if (action == "fault") {
        std::string name = a.value("fault", "");
        auto f = sc_.faults.find(name);
        if (f == sc_.faults.end()) throw ApiError(400, "no class fault \"" + name + "\" in this scenario");
        json cur = faults_of(f->second.lab);
        cur[f->second.service] = name;
        set_faults(f->second.lab, cur);
        logged["fault"] = name;
        logged["lab"] = f->second.lab;
        logged["service"] = f->second.service;
    } else if (action == "clear-fault") {
        need_lab();
        std::string service = a.value("service", "");
        json cur = faults_of(lab);
        if (service.empty())
            cur = json::object();
        else
            cur.erase(service);
        set_faults(lab, cur);
        if (!service.empty()) logged["service"] = service;
    } else if (action == "reset") {
        if (!lab.empty()) need_lab();
        if (a.contains("learner") && !a["learner"].is_null()) {
            if (!a["learner"].is_number_integer()) throw ApiError(400, "\"learner\" must be a learner's id");
            learner = a["learner"].get<std::int64_t>();
            if (learner_token(*learner).empty()) throw ApiError(404, "no learner " + std::to_string(*learner));
            logged["learner"] = *learner;
        }
    } else {
        throw ApiError(400, "unknown action \"" + action + "\"", "actions: open, close, fault, clear-fault, reset, or {\"event\": id}");
    }
    std::int64_t at = now_ms();
    db_->prepare("INSERT INTO actions(at, by, event, action) VALUES(?, ?, ?, ?)")
        .bind(1, at)
        .bind(2, by)
        .bind(3, event_id.empty() ? std::optional<std::string>() : std::optional<std::string>(event_id))
        .bind(4, logged.dump())
        .exec();
    // hosted sessions start again: fresh state, or the new fault profile
    if ((action == "reset" || action == "fault" || action == "clear-fault") && on_reset)
        on_reset(logged.value("lab", std::string()), learner);
    json ev = {{"type", "action"}, {"action", logged}, {"at", iso(at)}, {"by", by}};
    if (!event_id.empty()) ev["event"] = event_id;
    if (notify) notify(ev, learner);
    return ev;
}

json Classroom::act(const json& a, const std::string& by) {
    if (!a.is_object()) throw ApiError(400, "an action is a JSON object", "{\"event\": \"open-rest\"} or {\"action\": \"open\", \"lab\": \"rest-cars\"}");
    if (a.contains("event")) {
        if (!a["event"].is_string()) throw ApiError(400, "\"event\" must be a schedule event's id");
        const ScheduleEvent* e = sc_.event(a["event"].get<std::string>());
        if (!e) throw ApiError(404, "no schedule event \"" + a["event"].get<std::string>() + "\"");
        return apply(as_action(*e), by, e->id);
    }
    return apply(a, by, "");
}

std::vector<json> Classroom::tick(std::chrono::system_clock::time_point now) {
    std::vector<json> fired;
    std::int64_t now_ms_v = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    std::int64_t started = std::stoll(meta("started_at"));
    std::time_t t = now_ms_v / 1000;
    std::tm tm{};
    localtime_r(&t, &tm);
    int minutes_today = tm.tm_hour * 60 + tm.tm_min;
    for (const auto& e : sc_.schedule) {
        bool due = (e.after_minutes && now_ms_v >= started + std::int64_t(*e.after_minutes) * 60000) ||
                   (e.clock_minutes && minutes_today >= *e.clock_minutes);
        if (!due) continue;
        auto s = db_->prepare("SELECT 1 FROM actions WHERE event = ? AND by = 'schedule'");
        s.bind(1, e.id);
        if (s.step()) continue;
        fired.push_back(apply(as_action(e), "schedule", e.id));
    }
    return fired;
}

json Classroom::best_rows() const {
    // the best run of each learner and lab (highest score; the latest of equals)
    json rows = json::array();
    auto s = db_->prepare(R"(
        SELECT l.id, l.name, l.email, s.lab, s.id, s.score, s.max_score, s.passed, s.at, s.gradescope, s.prairielearn,
               (SELECT count(*) FROM submissions t WHERE t.learner = l.id AND t.lab = s.lab)
        FROM learners l JOIN submissions s ON s.learner = l.id
        WHERE s.id = (SELECT t.id FROM submissions t WHERE t.learner = l.id AND t.lab = s.lab
                      ORDER BY t.score DESC, t.id DESC LIMIT 1)
        ORDER BY l.id, s.lab)");
    while (s.step())
        rows.push_back({{"learner", s.integer(0)}, {"name", s.text(1)}, {"email", s.text(2)}, {"lab", s.text(3)},
                        {"submission", s.integer(4)}, {"score", s.real(5)}, {"max_score", s.real(6)},
                        {"passed", s.integer(7) != 0}, {"at", iso(s.integer(8))},
                        {"gradescope", json::parse(s.text(9))}, {"prairielearn", json::parse(s.text(10))},
                        {"submissions", s.integer(11)}});
    return rows;
}

std::string Classroom::export_csv() const {
    std::vector<std::pair<std::string, std::string>> cols;  // lab, check
    std::map<std::string, double> max_of;
    for (const auto& l : sc_.labs) {
        double max = 0;
        for (const auto& c : checks_.at(l.id)) {
            cols.emplace_back(l.id, c["id"].get<std::string>());
            max += c["points"].get<double>();
        }
        max_of[l.id] = max;
    }
    std::ostringstream out;
    out << "name,email,lab,score,max_score,passed,submissions,submitted_at";
    for (const auto& [lab, check] : cols) out << "," << csv_field(lab + "/" + check);
    out << "\n";
    std::map<std::pair<std::int64_t, std::string>, json> best;
    for (auto& r : best_rows()) best[{r["learner"].get<std::int64_t>(), r["lab"].get<std::string>()}] = r;
    auto ls = db_->prepare("SELECT id, name, email FROM learners ORDER BY id");
    while (ls.step()) {
        for (const auto& l : sc_.labs) {
            auto it = best.find({ls.integer(0), l.id});
            out << csv_field(ls.text(1)) << "," << csv_field(ls.text(2)) << "," << l.id << ",";
            std::map<std::string, std::string> status;
            if (it == best.end()) {
                out << "0," << max_of[l.id] << ",false,0,";
            } else {
                const json& r = it->second;
                out << r["score"].get<double>() << "," << r["max_score"].get<double>() << ","
                    << (r["passed"].get<bool>() ? "true" : "false") << "," << r["submissions"].get<std::int64_t>() << ","
                    << r["at"].get<std::string>();
                auto rs = db_->prepare("SELECT check_id, status FROM results WHERE submission = ?");
                rs.bind(1, r["submission"].get<std::int64_t>());
                while (rs.step()) status[rs.text(0)] = rs.text(1);
            }
            for (const auto& [lab, check] : cols) {
                out << ",";
                if (lab == l.id) out << (status.count(check) ? status[check] : std::string(it == best.end() ? "not submitted" : ""));
            }
            out << "\n";
        }
    }
    return out.str();
}

json Classroom::export_results(const char* format) const {
    json out = json::array();
    for (auto& r : best_rows())
        out.push_back({{"name", r["name"]}, {"email", r["email"]}, {"lab", r["lab"]}, {"submission", r["submission"]},
                       {"results", r[format]}});
    return out;
}

}  // namespace wirelab::classroom
