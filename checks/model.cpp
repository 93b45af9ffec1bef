#include <functional>
#include <regex>
#include <set>

#include "checks/check.hpp"

namespace wirelab::checks {

const char* status_name(Status s) {
    switch (s) {
        case Status::pass: return "passed";
        case Status::fail: return "failed";
        case Status::skip: return "skipped";
        case Status::error: return "error";
    }
    return "?";
}

RunData::RunData(const std::filesystem::path& journal,
                 std::map<std::string, std::filesystem::path> states)
    : journal_path_(journal), journal_(journal), state_files_(std::move(states)) {}

sql::Db* RunData::state(const std::string& service) {
    auto it = states_.find(service);
    if (it != states_.end()) return it->second.get();
    auto f = state_files_.find(service);
    if (f == state_files_.end() || f->second.empty() || !std::filesystem::exists(f->second))
        return nullptr;
    auto db = std::make_unique<sql::Db>(f->second, sql::Db::Mode::read_only);
    add_byte_functions(*db);
    return (states_[service] = std::move(db)).get();
}

namespace {
// int_le(blob, offset, size) / int_be(...): the signed integer of `size`
// bytes (1-8) at `offset` of a blob, little- or big-endian — a shared
// segment's counter as struct.pack_into wrote it. NULL when out of range.
template <bool little>
void int_at(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    if (argc != 3 || sqlite3_value_type(argv[0]) == SQLITE_NULL) return sqlite3_result_null(ctx);
    const auto* p = static_cast<const unsigned char*>(sqlite3_value_blob(argv[0]));
    int n = sqlite3_value_bytes(argv[0]);
    sqlite3_int64 off = sqlite3_value_int64(argv[1]), size = sqlite3_value_int64(argv[2]);
    if (size < 1 || size > 8 || off < 0 || off + size > n) return sqlite3_result_null(ctx);
    std::uint64_t v = 0;
    for (sqlite3_int64 i = 0; i < size; ++i) {
        std::uint64_t b = p[off + (little ? size - 1 - i : i)];
        v = (v << 8) | b;
    }
    if (size < 8 && (v >> (size * 8 - 1)) & 1) v |= ~std::uint64_t{0} << (size * 8);  // sign
    sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(v));
}
}  // namespace

void add_byte_functions(sql::Db& db) {
    int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
    sqlite3_create_function(db.raw(), "int_le", 3, flags, nullptr, int_at<true>, nullptr, nullptr);
    sqlite3_create_function(db.raw(), "int_be", 3, flags, nullptr, int_at<false>, nullptr, nullptr);
}

std::vector<const CaseRow*> RunData::cases(const std::vector<std::string>& names) {
    std::vector<const CaseRow*> out;
    for (const auto& c : journal_.cases())
        if ((!only_case_ || c.id == *only_case_) &&
            (names.empty() || std::find(names.begin(), names.end(), c.name) != names.end()))
            out.push_back(&c);
    return out;
}

bool RunData::in_cases(const std::vector<std::string>& names, std::int64_t case_id) {
    if (only_case_ && case_id != *only_case_) return false;
    if (names.empty()) return true;
    for (const auto& c : journal_.cases())
        if (c.id == case_id) return std::find(names.begin(), names.end(), c.name) != names.end();
    return false;
}

std::string case_label(const CaseRow& c, std::size_t cases) {
    return cases > 1 ? "case \"" + c.name + "\": " : "";
}

Verdict each_case(RunData& run, const std::vector<std::string>& names,
                  const std::function<Verdict(const CaseRow&)>& one) {
    auto cases = run.cases(names);
    if (cases.empty()) {
        Verdict v = Verdict::fail("the program did not run");
        v.fraction = 0;
        return v;
    }
    std::optional<Verdict> first;
    std::size_t passed = 0;
    for (const CaseRow* c : cases) {
        Verdict v = one(*c);
        if (v.status == Status::pass) {
            ++passed;
        } else if (!first) {
            v.message = case_label(*c, cases.size()) + v.message;
            first = std::move(v);
        }
    }
    Verdict out = first ? std::move(*first) : Verdict::pass();
    out.fraction = static_cast<double>(passed) / static_cast<double>(cases.size());
    if (first && cases.size() > 1 && passed)
        out.message += " (" + std::to_string(passed) + " of " + std::to_string(cases.size()) + " cases passed)";
    return out;
}

CountRange CountRange::read(Spec& s) {
    CountRange r;
    auto count = s.opt_integer("count", 0, 1000000);
    auto min = s.opt_integer("min", 0, 1000000);
    r.max = s.opt_integer("max", 0, 1000000);
    if (count && (s.has("min") || s.has("max"))) s.fail("count", "use \"count\" or \"min\"/\"max\", not both");
    if (s.boolean("none", false)) {
        if (count || min || r.max) s.fail("none", "\"none\" already says how many: zero");
        min = 0, r.max = 0;
    }
    if (count) min = r.max = count;
    r.min = min ? *min : (r.max ? 0 : 1);
    if (r.max && r.min > *r.max) s.fail("min", "\"min\" is larger than \"max\"");
    return r;
}

void CheckContext::require_service(Spec& spec, const std::string& key, const std::string& name) const {
    if (std::find(services.begin(), services.end(), name) != services.end()) return;
    std::string list, guess = did_you_mean(name, services);
    for (const auto& s : services) list += (list.empty() ? "" : ", ") + s;
    spec.fail(key, "no service named \"" + name + "\" in this lab",
              guess.empty() ? (list.empty() ? "this lab declares no services" : "services: " + list)
                            : "did you mean \"" + guess + "\"?");
}

std::vector<std::string> CheckContext::cases(Spec& spec) const {
    auto names = spec.strings("case");
    std::vector<std::string> known;
    for (const auto& c : lab.cases) known.push_back(c.name);
    for (const auto& n : names)
        if (std::find(known.begin(), known.end(), n) == known.end()) {
            std::string list;
            for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
            spec.fail("case", "no case named \"" + n + "\" in this lab", "cases: " + list);
        }
    return names;
}

std::vector<CompiledCheck> compile_checks(const Lab& lab) {
    const json& root = lab.doc->root();
    auto it = root.find("checks");
    if (it == root.end() || !it->is_array() || it->empty())
        throw LabError(lab.doc->at(it == root.end() ? "" : "/checks"),
                       "a lab needs a non-empty \"checks\" array",
                       "add checks, e.g. {\"id\": \"exit-ok\", \"title\": \"The script exits "
                       "with status 0\", \"kind\": \"exit\", \"code\": 0}");
    CheckContext ctx{lab, {}};
    for (const auto& s : lab.services) ctx.services.push_back(s.name);
    // An http client's exchanges are journaled under its name: http checks
    // apply to them as to a service's.
    for (const auto& c : lab.clients)
        if (c.kind == "http") ctx.services.push_back(c.name);

    std::vector<std::string> kinds;
    for (const auto& k : check_kinds()) kinds.push_back(k.name);

    std::vector<CompiledCheck> out;
    std::map<std::string, std::size_t> index;
    static const std::regex id_re("[a-z0-9][a-z0-9_-]*");
    for (std::size_t i = 0; i < it->size(); ++i) {
        std::string ptr = "/checks/" + std::to_string(i);
        Spec c(lab.doc, (*it)[i], ptr, "check");
        CheckInfo info;
        info.pointer = ptr;
        info.id = c.string("id");
        if (!std::regex_match(info.id, id_re))
            c.fail("id", "check id \"" + info.id + "\" is not valid",
                   "use lower-case letters, digits, '-' and '_', e.g. \"post-json\"");
        if (index.count(info.id))
            c.fail("id", "duplicate check id \"" + info.id + "\" (also " +
                             out[index[info.id]].info.pointer + ")",
                   "give every check its own id");
        info.title = c.string("title");
        info.hint = c.string("hint", "");
        info.points = c.number("points", 1, 0, 1000);
        info.depends_on = c.strings("depends_on");
        std::string vis = c.string("visibility", "visible");
        if (vis != "visible" && vis != "hidden")
            c.fail("visibility", "visibility must be \"visible\" or \"hidden\", got \"" + vis + "\"");
        info.hidden = vis == "hidden";
        std::string level = c.string("level", "required");
        if (level != "required" && level != "warning")
            c.fail("level", "level must be \"required\" or \"warning\", got \"" + level + "\"",
                   "a warning is advice: shown when it fails, worth no points, never fails the run");
        info.warning = level == "warning";
        if (info.warning && c.has("points"))
            c.fail("points", "a warning is worth no points", "remove \"points\", or make the check required");
        if (info.warning) info.points = 0;
        info.partial = c.boolean("partial", false);
        info.kind = c.string("kind");
        c.get("description");
        const CheckKind* kind = nullptr;
        for (const auto& k : check_kinds())
            if (k.name == info.kind) kind = &k;
        if (!kind) {
            std::string list, guess = did_you_mean(info.kind, kinds);
            for (const auto& k : kinds) list += (list.empty() ? "" : ", ") + k;
            c.fail("kind", "unknown check kind \"" + info.kind + "\"",
                   guess.empty() ? "known kinds: " + list : "did you mean \"" + guess + "\"?");
        }
        auto body = kind->make(c, ctx);
        c.finish();
        index[info.id] = out.size();
        out.push_back({std::move(info), std::move(body)});
    }

    // depends_on: known ids, no cycles.
    std::vector<std::string> ids;
    for (const auto& c : out) ids.push_back(c.info.id);
    for (const auto& c : out)
        for (std::size_t d = 0; d < c.info.depends_on.size(); ++d) {
            const auto& dep = c.info.depends_on[d];
            if (!index.count(dep)) {
                std::string guess = did_you_mean(dep, ids);
                throw LabError(lab.doc->at(c.info.pointer + "/depends_on"),
                               "check \"" + c.info.id + "\" depends on \"" + dep +
                                   "\", which is not a check of this lab",
                               guess.empty() ? "use the id of another check"
                                             : "did you mean \"" + guess + "\"?");
            }
        }
    std::vector<int> state(out.size(), 0);  // 0 new, 1 visiting, 2 done
    std::vector<std::string> path;
    std::function<void(std::size_t)> visit = [&](std::size_t i) {
        if (state[i] == 2) return;
        path.push_back(out[i].info.id);
        if (state[i] == 1) {
            std::string cycle;
            auto start = std::find(path.begin(), path.end(), out[i].info.id);
            for (auto p = start; p != path.end(); ++p) cycle += (cycle.empty() ? "" : " → ") + *p;
            throw LabError(lab.doc->at(out[i].info.pointer + "/depends_on"),
                           "depends_on forms a cycle: " + cycle,
                           "a check can only depend on checks that do not depend on it");
        }
        state[i] = 1;
        for (const auto& d : out[i].info.depends_on) visit(index[d]);
        state[i] = 2;
        path.pop_back();
    };
    for (std::size_t i = 0; i < out.size(); ++i) visit(i);
    return out;
}

namespace {
// A failed check with "partial": true, evaluated again case by case: the
// share of the cases it passes in is its fraction of the points.
void partial_credit(const CompiledCheck& c, Verdict& v, RunData& run) {
    std::vector<std::int64_t> ids;
    for (const CaseRow* row : run.cases({})) ids.push_back(row->id);
    if (ids.size() < 2) return;
    std::size_t passed = 0, ran = 0;
    for (auto id : ids) {
        run.narrow_to(id);
        Verdict one = c.body->evaluate(run);
        // a case the check does not look at (its "case" names others) counts for nothing
        if (one.message == "the program did not run") continue;
        ++ran;
        passed += one.status == Status::pass;
    }
    run.narrow_to(std::nullopt);
    if (!ran) return;
    v.fraction = static_cast<double>(passed) / static_cast<double>(ran);
    if (v.message.find(" cases passed)") == std::string::npos)
        v.message += " (" + std::to_string(passed) + " of " + std::to_string(ran) + " cases passed)";
}
}  // namespace

std::vector<Result> evaluate(const std::vector<CompiledCheck>& checks, RunData& run) {
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < checks.size(); ++i) index[checks[i].info.id] = i;
    std::vector<std::optional<Result>> results(checks.size());
    std::function<const Result&(std::size_t)> eval = [&](std::size_t i) -> const Result& {
        if (results[i]) return *results[i];
        const auto& c = checks[i];
        std::vector<std::string> blocked;
        for (const auto& d : c.info.depends_on)
            if (eval(index[d]).verdict.status != Status::pass) blocked.push_back(d);
        Result r{&c.info, {}, 0};
        if (!blocked.empty()) {
            std::string list;
            for (const auto& b : blocked) list += (list.empty() ? "" : ", ") + b;
            r.verdict = {Status::skip, "skipped: depends on " + list + ", which did not pass", {}, {}, {}, {}};
        } else {
            try {
                r.verdict = c.body->evaluate(run);
                if (c.info.partial && r.verdict.status == Status::fail) partial_credit(c, r.verdict, run);
            } catch (const std::exception& e) {
                run.narrow_to(std::nullopt);
                r.verdict = Verdict::error(std::string("the check could not run: ") + e.what());
            }
        }
        if (r.verdict.status == Status::pass)
            r.score = c.info.points;
        else if (r.verdict.status == Status::fail && c.info.partial && r.verdict.fraction)
            r.score = c.info.points * *r.verdict.fraction;
        results[i] = std::move(r);
        return *results[i];
    };
    std::vector<Result> out;
    for (std::size_t i = 0; i < checks.size(); ++i) out.push_back(eval(i));
    return out;
}

}  // namespace wirelab::checks
