#include "app/authoring.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "checks/check.hpp"
#include "clients/registry.hpp"
#include "runtime/errors.hpp"
#include "runtime/lab.hpp"
#include "runtime/runner.hpp"
#include "runtime/session.hpp"
#include "services/registry.hpp"

extern char** environ;

namespace wirelab::authoring {

namespace fs = std::filesystem;
using nlohmann::json;

void check_services(const Lab& lab) {
    fs::path tmp = fs::temp_directory_path() / ("wirelab-scratch-" + std::to_string(::getpid()) + "-" + lab.id);
    struct Scratch {
        fs::path dir;
        ~Scratch() {
            std::error_code ec;
            fs::remove_all(dir, ec);
        }
    } scratch{tmp};
    SessionOptions opt;
    opt.run_dir = tmp;
    opt.handle_signals = false;
    Session session(lab, service_kinds(), opt, clients::driver_kinds());
}

std::optional<std::vector<std::string>> declared_failures(const fs::path& script) {
    std::ifstream in(script, std::ios::binary);
    std::string head(2000, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(in.gcount()));
    static const std::regex re(R"((?:^|\n)#\s*fails:\s*([^\n]+))");
    std::smatch m;
    if (!std::regex_search(head, m, re)) return std::nullopt;
    std::vector<std::string> ids;
    std::stringstream ss(m[1].str());
    std::string id;
    while (std::getline(ss, id, ',')) {
        id.erase(0, id.find_first_not_of(" \t\r"));
        id.erase(id.find_last_not_of(" \t\r") + 1);
        if (!id.empty()) ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}

namespace {

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s.empty() ? "(none)" : s;
}

struct Run {
    std::string script;  // relative to the lab folder
    std::string role;    // solution, starter, mistake
    std::vector<std::string> expected;  // mistakes: the checks it must fail
    CaseOutcome outcome;
    json report;
};

struct LabResult {
    std::string id;
    fs::path dir;
    std::vector<std::string> problems;
    std::vector<Run> runs;
};

std::string self_exe() {
    std::error_code ec;
    auto p = fs::read_symlink("/proc/self/exe", ec);
    return ec ? "wirelab" : p.string();
}

// Loads the lab and compiles its checks and services; the problems found
// name file, line and JSON pointer (LabError's text).
void inspect(LabResult& r, std::set<std::string>& check_ids) {
    try {
        Lab lab = Lab::load(r.dir, service_kind_names(), clients::driver_kind_names());
        r.id = lab.id;
        auto compiled = checks::compile_checks(lab);
        for (const auto& c : compiled) check_ids.insert(c.info.id);
        check_services(lab);
    } catch (const LabError& e) {
        r.problems.push_back(e.what());
        return;
    } catch (const std::exception& e) {
        r.problems.push_back(r.dir.string() + ": " + e.what());
        return;
    }
    for (const char* f : {"README.md", "solution.py", "starter.py"})
        if (!fs::exists(r.dir / f)) r.problems.push_back((r.dir / f).string() + ": missing (every lab has one)");
    std::vector<fs::path> mistakes;
    if (fs::is_directory(r.dir / "mistakes"))
        for (const auto& e : fs::directory_iterator(r.dir / "mistakes"))
            if (e.path().extension() == ".py") mistakes.push_back(e.path());
    std::sort(mistakes.begin(), mistakes.end());
    if (mistakes.size() < 3)
        r.problems.push_back((r.dir / "mistakes").string() + ": " + std::to_string(mistakes.size()) +
                             " mistake(s); a lab needs at least three typical wrong solutions");
    if (fs::exists(r.dir / "solution.py")) r.runs.push_back({"solution.py", "solution", {}, {}, {}});
    if (fs::exists(r.dir / "starter.py")) r.runs.push_back({"starter.py", "starter", {}, {}, {}});
    for (const auto& m : mistakes) {
        std::string rel = "mistakes/" + m.filename().string();
        auto want = declared_failures(m);
        if (!want) {
            r.problems.push_back(m.string() + ":1: no \"# fails: check-id, …\" line in its first lines");
            continue;
        }
        if (want->empty()) r.problems.push_back(m.string() + ": \"# fails:\" names no check");
        for (const auto& id : *want)
            if (!check_ids.count(id))
                r.problems.push_back(m.string() + ": \"# fails:\" names \"" + id + "\", which is not a check of " + r.id);
        r.runs.push_back({rel, "mistake", *want, {}, {}});
    }
}

void judge(LabResult& r) {
    for (auto& run : r.runs) {
        std::string where = (r.dir / run.script).string();
        const json& rep = run.report;
        if (!rep.is_object() || !rep.contains("checks")) {
            std::string err = run.outcome.err.substr(0, 600);
            r.problems.push_back(where + ": no report (wirelab check exited " +
                                 std::to_string(run.outcome.exit_code.value_or(-1)) +
                                 (run.outcome.timed_out ? ", timed out" : "") + ")" + (err.empty() ? "" : ": " + err));
            continue;
        }
        std::vector<std::string> failed, errors, not_passed;
        for (const auto& c : rep["checks"]) {
            std::string st = c.value("status", ""), id = c.value("id", "");
            if (st == "failed") failed.push_back(id);
            if (st == "error") errors.push_back(id + ": " + c.value("message", ""));
            if (st != "passed" && c.value("level", "required") != "warning") not_passed.push_back(id);
        }
        std::sort(failed.begin(), failed.end());
        for (const auto& e : errors) r.problems.push_back(where + ": check " + e + " (the lab is broken)");
        int code = rep.value("exit_code", -1);
        if (run.role == "solution") {
            if (!not_passed.empty() || code != 0)
                r.problems.push_back(where + ": the solution does not pass: " + join(not_passed));
        } else if (run.role == "starter") {
            if (code == 0) r.problems.push_back(where + ": the starter passes every check; it should leave work to do");
        } else if (failed != run.expected) {
            std::vector<std::string> extra, missing;
            std::set_difference(failed.begin(), failed.end(), run.expected.begin(), run.expected.end(),
                                std::back_inserter(extra));
            std::set_difference(run.expected.begin(), run.expected.end(), failed.begin(), failed.end(),
                                std::back_inserter(missing));
            std::string s = where + ": must fail exactly " + join(run.expected) + "; it failed " + join(failed);
            if (!missing.empty()) s += " — the checks cannot tell it from the solution on " + join(missing);
            if (!extra.empty()) s += " — it also fails " + join(extra) + " (name them in its header, or fix the checks)";
            r.problems.push_back(s);
        }
    }
}

// Every run of every lab, `jobs` at a time, each a `wirelab check` of its own.
void run_all(std::vector<LabResult>& labs, const ValidateOptions& opt) {
    std::vector<std::pair<LabResult*, Run*>> queue;
    for (auto& l : labs)
        for (auto& r : l.runs) queue.emplace_back(&l, &r);
    fs::path tmp = fs::temp_directory_path() / ("wirelab-validate-" + std::to_string(::getpid()));
    fs::create_directories(tmp);
    asio::io_context io;
    std::size_t next = 0;
    int running = 0, index = 0;
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) env.emplace_back(*e);
    std::function<void()> launch = [&] {
        while (running < std::max(1, opt.jobs) && next < queue.size()) {
            auto [lab, run] = queue[next++];
            ProcessSpec ps;
            fs::path dir = tmp / ("run-" + std::to_string(index++));
            ps.argv = {self_exe(), "check", fs::absolute(lab->dir).string(), fs::absolute(lab->dir / run->script).string(),
                       "--ephemeral", "--format", "json", "--run-dir", (dir / "run").string()};
            if (!opt.python.empty()) ps.argv.insert(ps.argv.end(), {"--python", opt.python});
            ps.env = env;
            ps.cwd = tmp;
            ps.timeout = std::chrono::minutes(5);
            ps.output_cap = 16 << 20;
            // The check sets the lab's limits on the learner's program;
            // wirelab itself runs unlimited (it raises its own open files),
            // and its processes are not counted: the count freezes the tree
            // with SIGSTOP when the machine's processes grow (other runs in
            // parallel), and a fork at that moment could stay stopped.
            ps.limits.memory_mb.reset();
            ps.limits.open_files.reset();
            ps.limits.file_size_mb.reset();
            ps.limits.processes = 0;
            auto proc = std::make_shared<Process>(io, ps);
            ++running;
            proc->start([&, run = run, proc](CaseOutcome o) {
                run->outcome = std::move(o);
                run->report = json::parse(run->outcome.out, nullptr, false);
                if (run->report.is_discarded()) run->report = nullptr;
                --running;
                launch();
            });
        }
    };
    launch();
    io.run();
    std::error_code ec;
    fs::remove_all(tmp, ec);
}

}  // namespace

int validate(const std::vector<fs::path>& dirs, const ValidateOptions& opt) {
    std::vector<LabResult> labs;
    for (const auto& d : dirs) {
        LabResult r;
        r.dir = fs::absolute(d).lexically_normal();
        r.id = d.filename().string();
        std::set<std::string> ids;
        inspect(r, ids);
        if (!opt.runs) r.runs.clear();
        labs.push_back(std::move(r));
    }
    run_all(labs, opt);
    bool ok = true;
    json out = json::array();
    for (auto& l : labs) {
        judge(l);
        ok = ok && l.problems.empty();
        json runs = json::array();
        for (const auto& r : l.runs) {
            json failed = json::array();
            if (r.report.is_object())
                for (const auto& c : r.report["checks"])
                    if (c.value("status", "") == "failed") failed.push_back(c["id"]);
            json j = {{"script", r.script}, {"role", r.role}, {"failed", failed},
                      {"exit_code", r.report.is_object() ? r.report.value("exit_code", -1) : -1}};
            if (r.role == "mistake") j["expected"] = r.expected;
            if (r.report.is_object()) j["report"] = r.report;
            runs.push_back(j);
        }
        out.push_back({{"id", l.id}, {"path", l.dir.string()}, {"ok", l.problems.empty()}, {"problems", l.problems},
                       {"runs", runs}});
        if (opt.format == "text") {
            if (l.problems.empty()) {
                int mistakes = 0;
                for (const auto& r : l.runs) mistakes += r.role == "mistake";
                std::cout << "✓ " << l.id << ": ok";
                if (opt.runs)
                    std::cout << " — the solution passes, the starter does not, " << mistakes
                              << " mistake(s) each fail exactly the checks they name";
                std::cout << "\n";
            } else {
                std::cout << "✗ " << l.id << ": " << l.problems.size() << " problem(s)\n";
                for (const auto& p : l.problems) std::cout << "    " << p << "\n";
            }
        }
    }
    if (opt.format == "json")
        std::cout << json{{"ok", ok}, {"labs", out}}.dump(2) << "\n";
    else if (labs.size() > 1)
        std::cout << (ok ? "every lab is sound" : "some labs have problems") << " (" << labs.size() << " labs)\n";
    return ok ? 0 : 1;
}

namespace {

const char* lab_json = R"({
  "$schema": "../../docs/lab.schema.json",
  "id": "@ID@",
  "title": "@ID@: read a stock level, add an item",
  "summary": "A new lab: GET a collection, find one value, POST a JSON item whose id the case gives.",
  "timeout": 20,
  "params": {
    "stock": {"int": [1, 9], "description": "the widget's stock, different for each learner"},
    "new_id": {"int": [10, 99], "description": "the id of the item to add"},
    "colour": {"choice": ["red", "green", "blue"]}
  },
  "services": {
    "api": {"kind": "http", "data": "data/items.json"}
  },
  "cases": [
    {"name": "main", "args": ["{new_id}", "{colour}"]}
  ],
  "checks": [
    {
      "id": "exit-ok",
      "title": "The script finishes with exit status 0",
      "kind": "exit",
      "code": 0,
      "hint": "Read the traceback: an exception ends the script with status 1."
    },
    {
      "id": "lists-items",
      "title": "Asks the API for the list of items",
      "kind": "http",
      "service": "api",
      "request": {"method": "GET", "path": "/items"},
      "hint": "Send GET $WIRELAB_API_URL/items."
    },
    {
      "id": "prints-stock",
      "title": "Prints the widget's stock",
      "kind": "output",
      "stream": "stdout",
      "contains": "widget: {stock}",
      "hint": "Find the item named widget in the list and print 'widget: ' and its stock."
    },
    {
      "id": "posts-json",
      "title": "Adds the new item with a JSON body",
      "kind": "http",
      "service": "api",
      "request": {
        "method": "POST",
        "path": "/items",
        "headers": {"Content-Type": "(?i)^application/json"},
        "json": {"id": "{new_id}", "colour": "{colour}"}
      },
      "hint": "requests.post(url, json=item) sends the dict as JSON with Content-Type: application/json; the id is a number."
    },
    {
      "id": "item-stored",
      "title": "The new item is stored with a numeric id and its colour",
      "kind": "state",
      "service": "api",
      "query": "SELECT json_type(doc, '$.id') AS id_type, json_extract(doc, '$.colour') AS colour FROM items WHERE CAST(id AS TEXT) = '{new_id}'",
      "rows": [{"id_type": "integer", "colour": "{colour}"}],
      "hint": "Convert the id from the command line with int(sys.argv[1]) before you send it."
    },
    {
      "id": "closes",
      "title": "Asks the server to close each connection",
      "kind": "connections",
      "service": "api",
      "closed_by": "server",
      "level": "warning",
      "hint": "Send the header Connection: close (or use one requests.Session and close it) so no connection is left open."
    }
  ]
}
)";

const char* data_json = R"({
  "items": [
    {"id": 1, "name": "gadget", "stock": 12, "colour": "black"},
    {"id": 2, "name": "widget", "stock": "{stock}", "colour": "silver"},
    {"id": 3, "name": "gizmo", "stock": 0, "colour": "white"}
  ]
}
)";

const char* readme = R"(# @ID@

The API at `$WIRELAB_API_URL` serves a collection of items at `/items`.

1. Get the list of items and print the stock of the item named `widget`
   as `widget: N`.
2. Add a new item with `POST /items`: its id is the first command-line
   argument (a number), its colour the second, its name `doohickey`.
   Send it as JSON.

For you, the widget's stock is {stock} and the new item is number
{new_id}, coloured {colour} (run `wirelab show @ID@ --learner YOU` to see yours).

Check your script with `wirelab check @ID@ mine.py`.
)";

const char* starter = R"("""@ID@: read a stock level, add an item. See README.md."""
import os
import sys

import requests

BASE = os.environ["WIRELAB_API_URL"]


def main():
    new_id, colour = sys.argv[1], sys.argv[2]
    # TODO: GET /items, print "widget: N"
    # TODO: POST the new item as JSON
    return 0


if __name__ == "__main__":
    sys.exit(main())
)";

const char* solution = R"("""Reference solution of @ID@."""
import os
import sys

import requests

BASE = os.environ["WIRELAB_API_URL"]
HEADERS = {"Connection": "close"}


def main():
    new_id, colour = int(sys.argv[1]), sys.argv[2]
    r = requests.get(BASE + "/items", headers=HEADERS, timeout=5)
    r.raise_for_status()
    widget = next(item for item in r.json() if item["name"] == "widget")
    print(f"widget: {widget['stock']}")
    item = {"id": new_id, "name": "doohickey", "colour": colour}
    r = requests.post(BASE + "/items", json=item, headers=HEADERS, timeout=5)
    r.raise_for_status()
    return 0


if __name__ == "__main__":
    sys.exit(main())
)";

struct Mistake {
    const char* name;
    const char* text;
};

const Mistake mistakes[] = {
    {"no_content_type.py", R"(# Mistake: the item is sent with data=json.dumps(...): no Content-Type, so the API ignores the body.
# fails: posts-json, item-stored
import json
import os
import sys

import requests

BASE = os.environ["WIRELAB_API_URL"]
HEADERS = {"Connection": "close"}

new_id, colour = int(sys.argv[1]), sys.argv[2]
r = requests.get(BASE + "/items", headers=HEADERS, timeout=5)
widget = next(item for item in r.json() if item["name"] == "widget")
print(f"widget: {widget['stock']}")
item = {"id": new_id, "name": "doohickey", "colour": colour}
requests.post(BASE + "/items", data=json.dumps(item), headers=HEADERS, timeout=5)
)"},
    {"id_as_string.py", R"(# Mistake: the id from the command line is sent as a string ("42"), not a number.
# fails: posts-json, item-stored
import os
import sys

import requests

BASE = os.environ["WIRELAB_API_URL"]
HEADERS = {"Connection": "close"}

new_id, colour = sys.argv[1], sys.argv[2]
r = requests.get(BASE + "/items", headers=HEADERS, timeout=5)
widget = next(item for item in r.json() if item["name"] == "widget")
print(f"widget: {widget['stock']}")
item = {"id": new_id, "name": "doohickey", "colour": colour}
requests.post(BASE + "/items", json=item, headers=HEADERS, timeout=5)
)"},
    {"copied_output.py", R"(# Mistake: the stock is copied from someone else's run instead of read from the API.
# fails: prints-stock
import os
import sys

import requests

BASE = os.environ["WIRELAB_API_URL"]
HEADERS = {"Connection": "close"}

new_id, colour = int(sys.argv[1]), sys.argv[2]
requests.get(BASE + "/items", headers=HEADERS, timeout=5)
print("widget: 10")
item = {"id": new_id, "name": "doohickey", "colour": colour}
requests.post(BASE + "/items", json=item, headers=HEADERS, timeout=5)
)"},
};

std::string fill(const char* tmpl, const std::string& id) {
    std::string s = tmpl;
    for (std::size_t p; (p = s.find("@ID@")) != std::string::npos;) s.replace(p, 4, id);
    return s;
}

}  // namespace

int scaffold(const std::string& id, const fs::path& dir) {
    static const std::regex id_re("[a-z0-9][a-z0-9-]*");
    if (!std::regex_match(id, id_re)) {
        std::cerr << "wirelab: \"" << id << "\" is not a lab id\n  fix: use lower-case letters, digits and dashes, "
                  << "e.g. wirelab new stock-check\n";
        return 2;
    }
    if (fs::exists(dir)) {
        std::cerr << "wirelab: " << dir.string() << " already exists\n  fix: choose another id, or --dir for another place\n";
        return 2;
    }
    std::error_code ec;
    fs::create_directories(dir / "data", ec);
    fs::create_directories(dir / "mistakes", ec);
    if (ec) {
        std::cerr << "wirelab: cannot create " << dir.string() << ": " << ec.message() << "\n";
        return 2;
    }
    auto write = [&](const fs::path& rel, const std::string& text) {
        std::ofstream f(dir / rel, std::ios::binary);
        f << text;
        return static_cast<bool>(f);
    };
    // "$schema" points at the schema in a wirelab checkout when the lab is
    // two folders below it (labs/<id>); elsewhere, at the installed copy.
    std::string lj = fill(lab_json, id);
    fs::path schema = fs::absolute(dir).parent_path().parent_path() / "docs" / "lab.schema.json";
    if (!fs::exists(schema)) {
        std::string installed = std::string(WIRELAB_SOURCE_DIR) + "/docs/lab.schema.json";
        lj.replace(lj.find("../../docs/lab.schema.json"), 26, installed);
    }
    bool ok = write("lab.json", lj) && write("data/items.json", data_json) && write("README.md", fill(readme, id)) &&
              write("starter.py", fill(starter, id)) && write("solution.py", fill(solution, id));
    for (const auto& m : mistakes) ok = ok && write(fs::path("mistakes") / m.name, m.text);
    if (!ok) {
        std::cerr << "wirelab: could not write the files of " << dir.string() << "\n";
        return 2;
    }
    std::cout << "created " << dir.string() << "/: lab.json, README.md, data/items.json, starter.py, solution.py, "
              << "mistakes/ (3)\n"
              << "next: edit them, then\n"
              << "  wirelab validate " << dir.string() << "     # the solution passes, each mistake fails what it names\n"
              << "  wirelab check " << dir.string() << " " << (dir / "solution.py").string() << "\n";
    return 0;
}

}  // namespace wirelab::authoring
