// The report for grading systems: JUnit XML (CI servers), Gradescope's and
// PrairieLearn's results.json. Each says per check what the text report
// says; hidden checks keep their details out of what a learner sees.
#include <cmath>
#include <sstream>

#include "checks/report.hpp"

namespace wirelab::checks {

namespace {

using nlohmann::json;

bool shows_details(const Result& r) { return !(r.info->hidden && r.verdict.status == Status::fail); }

double seconds(const ReportInput& in) {
    micros total = 0;
    for (const auto& c : in.cases) total += c.ended_us.value_or(c.started_us) - c.started_us;
    return static_cast<double>(total) / 1e6;
}

std::string round2(double v) {
    std::ostringstream o;
    o << std::round(v * 1000) / 1000;
    return o.str();
}

}  // namespace

std::string markup_escape(const std::string& s) {
    std::string o;
    o.reserve(s.size());
    for (unsigned char ch : s) {
        switch (ch) {
            case '&': o += "&amp;"; break;
            case '<': o += "&lt;"; break;
            case '>': o += "&gt;"; break;
            case '"': o += "&quot;"; break;
            case '\'': o += "&#39;"; break;
            case '\t': case '\n': case '\r': o += static_cast<char>(ch); break;
            default:
                if (ch < 0x20 || ch == 0x7f) o += "\xEF\xBF\xBD";  // U+FFFD
                else o += static_cast<char>(ch);
        }
    }
    return o;
}

std::string check_details(const Result& r) {
    const auto& v = r.verdict;
    if (v.status == Status::pass) return v.message;
    if (!shows_details(r)) return "(hidden check: no details)";
    std::string s = v.message;
    if (!v.expected.empty()) s += "\nexpected: " + v.expected;
    if (!v.observed.empty()) s += "\n" + v.observed;
    if (v.status == Status::fail && !r.info->hint.empty()) s += "\nhint: " + r.info->hint;
    return s;
}

std::string render_junit(const ReportInput& in) {
    Totals t = totals(in.results);
    std::ostringstream o;
    std::string suite = markup_escape(in.lab_id);
    o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<testsuites name=\"wirelab\" tests=\"" << in.results.size() << "\" failures=\"" << t.failed
      << "\" errors=\"" << t.errors << "\" skipped=\"" << t.skipped << "\" time=\"" << round2(seconds(in))
      << "\">\n"
      << "  <testsuite name=\"" << suite << "\" tests=\"" << in.results.size() << "\" failures=\"" << t.failed
      << "\" errors=\"" << t.errors << "\" skipped=\"" << t.skipped << "\" time=\"" << round2(seconds(in))
      << "\">\n"
      << "    <properties>\n"
      << "      <property name=\"lab\" value=\"" << suite << "\"/>\n"
      << "      <property name=\"score\" value=\"" << round2(t.score) << "\"/>\n"
      << "      <property name=\"max_score\" value=\"" << round2(t.max) << "\"/>\n"
      << "      <property name=\"journal\" value=\"" << markup_escape(in.run_dir + "/journal.db") << "\"/>\n";
    if (in.interrupted) o << "      <property name=\"interrupted\" value=\"true\"/>\n";
    o << "    </properties>\n";
    for (const auto& r : in.results) {
        o << "    <testcase classname=\"wirelab." << suite << "\" name=\"" << markup_escape(r.info->id + ": " + r.info->title)
          << "\" time=\"0\"";
        const auto& v = r.verdict;
        std::string details = markup_escape(check_details(r));
        std::string message = markup_escape(shows_details(r) ? v.message : "hidden check failed");
        bool advice = r.info->warning && v.status != Status::pass && v.status != Status::error;
        if (v.status == Status::pass) {
            o << "/>\n";
        } else if (advice) {
            o << ">\n      <system-out>advice: " << details << "</system-out>\n    </testcase>\n";
        } else if (v.status == Status::fail) {
            o << ">\n      <failure message=\"" << message << "\" type=\"" << markup_escape(r.info->kind) << "\">"
              << details << "</failure>\n    </testcase>\n";
        } else if (v.status == Status::skip) {
            o << ">\n      <skipped message=\"" << message << "\"/>\n    </testcase>\n";
        } else {
            o << ">\n      <error message=\"" << message << "\" type=\"lab-broken\">" << details
              << "</error>\n    </testcase>\n";
        }
    }
    o << "  </testsuite>\n</testsuites>\n";
    return o.str();
}

json render_gradescope(const ReportInput& in) {
    Totals t = totals(in.results);
    json tests = json::array();
    int number = 0;
    for (const auto& r : in.results) {
        ++number;
        json j = {{"name", r.info->id + ": " + r.info->title},
                  {"number", std::to_string(number)},
                  {"score", r.score},
                  {"max_score", r.info->points},
                  {"status", r.verdict.status == Status::pass ? "passed" : "failed"},
                  {"output", check_details(r)},
                  // A hidden check's result reaches the learner once the
                  // trainer publishes the grades.
                  {"visibility", r.info->hidden ? "after_published" : "visible"}};
        json tags = json::array({r.info->kind});
        if (r.info->warning) tags.push_back("advice");
        j["tags"] = tags;
        tests.push_back(j);
    }
    std::string output = in.lab_id + " — " + in.lab_title + ": " + std::to_string(t.passed) + " of " +
                         std::to_string(in.results.size()) + " checks passed";
    if (in.interrupted) output += " (the run was interrupted; the results are partial)";
    return {{"score", t.score},
            {"execution_time", seconds(in)},
            {"output", output},
            {"visibility", "visible"},
            {"stdout_visibility", "hidden"},
            {"tests", tests}};
}

json render_prairielearn(const ReportInput& in) {
    Totals t = totals(in.results);
    json tests = json::array();
    for (const auto& r : in.results) {
        json j = {{"name", r.info->title},
                  {"description", r.info->id},
                  {"points", r.score},
                  {"max_points", r.info->points},
                  {"message", shows_details(r) ? r.verdict.message : "hidden check failed"},
                  {"output", check_details(r)}};
        tests.push_back(j);
    }
    std::string message = std::to_string(t.passed) + " of " + std::to_string(in.results.size()) + " checks passed";
    if (in.interrupted) message += "; the run was interrupted, the results are partial";
    return {{"gradable", t.errors == 0},
            {"score", t.max > 0 ? t.score / t.max : (t.exit_code() == 0 ? 1.0 : 0.0)},
            {"points", t.score},
            {"max_points", t.max},
            {"message", message},
            {"output", render_text(in, false)},
            {"tests", tests}};
}

}  // namespace wirelab::checks
