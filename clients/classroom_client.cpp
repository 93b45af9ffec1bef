#include "clients/classroom_client.hpp"

#include "clients/curl_lib.hpp"
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "runtime/errors.hpp"
#include "runtime/fault_profile.hpp"
#include "runtime/json_source.hpp"
#include "runtime/lab.hpp"
#include "runtime/run_bundle.hpp"

namespace wirelab::clients {

namespace fs = std::filesystem;

namespace {

struct Reply {
    long status = 0;       // 0: no answer
    std::string body;
    std::string error;     // libcurl's words when there was no answer
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* out = static_cast<std::string*>(user);
    if (out->size() > (8u << 20)) return 0;  // an answer this large is not the classroom's
    out->append(data, size * n);
    return size * n;
}

std::string base(const std::string& url) {
    std::string b = url;
    while (!b.empty() && b.back() == '/') b.pop_back();
    return b;
}

std::string escape_segment(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

Reply call(const std::string& method, const std::string& url, const std::string& token, const std::string* body,
           long timeout_s) {
    Reply r;
    const curl_lib::Api* api = nullptr;
    try {
        api = &curl_lib::api();
    } catch (const std::exception& e) {
        r.error = e.what();
        return r;
    }
    const curl_lib::Api& lc = *api;
    CURL* h = lc.easy_init();
    if (!h) {
        r.error = "libcurl could not start";
        return r;
    }
    char err[CURL_ERROR_SIZE] = {};
    curl_slist* headers = nullptr;
    std::string auth = "Authorization: Bearer " + token;
    headers = lc.slist_append(headers, auth.c_str());
    headers = lc.slist_append(headers, "Accept: application/json");
    if (body) headers = lc.slist_append(headers, "Content-Type: application/vnd.wirelab.run+gzip");
    lc.easy_setopt(h, CURLOPT_URL, url.c_str());
    lc.easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    lc.easy_setopt(h, CURLOPT_ERRORBUFFER, err);
    lc.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    lc.easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 3L);
    lc.easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
    lc.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    lc.easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
    lc.easy_setopt(h, CURLOPT_USERAGENT, "wirelab/0.1");
    if (method == "POST") {
        lc.easy_setopt(h, CURLOPT_POST, 1L);
        lc.easy_setopt(h, CURLOPT_POSTFIELDS, body ? body->data() : "");
        lc.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body ? body->size() : 0));
    }
    CURLcode rc = lc.easy_perform(h);
    if (rc == CURLE_OK) {
        lc.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    } else {
        r.error = err[0] ? err : lc.easy_strerror(rc);
    }
    lc.slist_free_all(headers);
    lc.easy_cleanup(h);
    return r;
}

std::string error_of(const Reply& r) {
    json j = json::parse(r.body, nullptr, false);
    std::string what = j.is_object() && j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>()
                                                                                    : "HTTP " + std::to_string(r.status);
    if (j.is_object() && j.contains("fix") && j["fix"].is_string()) what += " (" + j["fix"].get<std::string>() + ")";
    return what;
}

bool worth_retrying(const Reply& r) { return r.status == 0 || r.status >= 500 || r.status == 429 || r.status == 408; }

std::string read_all(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

SubmitOutcome send_once(const ClassroomTarget& to, const std::string& lab, const std::string& bundle) {
    SubmitOutcome out;
    Reply r = call("POST", base(to.url) + "/api/labs/" + escape_segment(lab) + "/submissions", to.token, &bundle, 60);
    if (r.status == 201 || r.status == 200) {
        out.sent = true;
        out.answer = json::parse(r.body, nullptr, false);
    } else if (!worth_retrying(r)) {
        out.refused = true;
        out.error = error_of(r);
    } else {
        out.error = r.status ? error_of(r) : r.error;
    }
    return out;
}

fs::path keep(const ClassroomTarget& to, const std::string& lab, const std::string& bundle) {
    fs::path dir = outbox_dir();
    fs::create_directories(dir);
    ::chmod(dir.c_str(), 0700);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::string stem = std::to_string(ms) + "-" + lab + "-" + std::to_string(std::random_device{}() % 100000);
    {
        std::ofstream f(dir / (stem + ".run"), std::ios::binary);
        f << bundle;
        if (!f) throw EnvError("cannot keep the run in " + dir.string(), "check free disk space there");
    }
    std::ofstream f(dir / (stem + ".json"));
    f << json{{"url", to.url}, {"token", to.token}, {"lab", lab}, {"kept_at_ms", ms}}.dump() << "\n";
    ::chmod((dir / (stem + ".json")).c_str(), 0600);
    return dir / (stem + ".run");
}

}  // namespace

namespace {

json hosted_post(const ClassroomTarget& to, const std::string& path, long timeout_s) {
    std::string empty;
    Reply r = call("POST", base(to.url) + path, to.token, &empty, timeout_s);
    json j = json::parse(r.body, nullptr, false);
    if ((r.status == 200 || r.status == 201) && j.is_object()) return j;
    if (r.status == 0) throw EnvError("cannot reach the classroom at " + to.url + " (" + r.error + ")",
                                      "hosted services need the classroom: try again, or run the lab on your machine");
    throw EnvError("the classroom at " + to.url + " says: " + error_of(r));
}

}  // namespace

json hosted_fresh(const ClassroomTarget& to, const std::string& lab) {
    std::string path = "/api/labs/" + escape_segment(lab) + "/hosted";
    Reply st = call("GET", base(to.url) + path, to.token, nullptr, 10);
    json status = json::parse(st.body, nullptr, false);
    bool running = st.status == 200 && status.is_object() && status.value("running", false);
    // running already (an earlier run's traffic and state): start again, fresh
    return hosted_post(to, running ? path + "/reset" : path, 60);
}

json hosted_check(const ClassroomTarget& to, const std::string& lab) {
    return hosted_post(to, "/api/labs/" + escape_segment(lab) + "/hosted/check", 120);
}

fs::path outbox_dir() {
    if (const char* h = std::getenv("WIRELAB_HOME"); h && *h) return fs::path(h) / "outbox";
    if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".wirelab" / "outbox";
    return fs::path(".wirelab") / "outbox";
}

LabConfig fetch_lab_config(const ClassroomTarget& to, const std::string& lab) {
    LabConfig out;
    Reply r;
    for (int attempt = 0; attempt < 2; ++attempt) {
        r = call("GET", base(to.url) + "/api/labs/" + escape_segment(lab), to.token, nullptr, 10);
        if (!worth_retrying(r)) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    if (r.status == 200) {
        json j = json::parse(r.body, nullptr, false);
        if (j.is_object() && j.contains("open")) {
            out.config = j;
            return out;
        }
        out.unreachable = "the answer from " + to.url + " is not a wirelab classroom's";
        return out;
    }
    if (r.status == 401)
        throw EnvError("the classroom at " + to.url + " does not know your token",
                       "use the token the trainer gave you (--token, or WIRELAB_TOKEN)");
    if (r.status == 404 || r.status == 403) throw EnvError("the classroom at " + to.url + " says: " + error_of(r));
    out.unreachable = r.status ? "the classroom answered " + error_of(r) : r.error;
    return out;
}

SubmitOutcome submit_run(const ClassroomTarget& to, const std::string& lab, const fs::path& run_dir) {
    std::string bundle = pack_run(run_dir);
    SubmitOutcome out;
    const int waits_ms[] = {500, 1000, 2000};
    for (int attempt = 0;; ++attempt) {
        out = send_once(to, lab, bundle);
        if (out.sent || out.refused || attempt == 3) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(waits_ms[attempt]));
    }
    if (!out.sent && !out.refused) out.kept = keep(to, lab, bundle);
    return out;
}

std::vector<std::pair<std::string, SubmitOutcome>> send_outbox(const std::optional<ClassroomTarget>& to) {
    std::vector<std::pair<std::string, SubmitOutcome>> done;
    fs::path dir = outbox_dir();
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return done;
    std::vector<fs::path> entries;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.path().extension() == ".json") entries.push_back(e.path());
    std::sort(entries.begin(), entries.end());
    for (const auto& meta_file : entries) {
        json m = json::parse(read_all(meta_file), nullptr, false);
        fs::path run = fs::path(meta_file).replace_extension(".run");
        if (!m.is_object() || !fs::exists(run)) continue;
        ClassroomTarget t{m.value("url", ""), m.value("token", "")};
        if (to && (base(t.url) != base(to->url) || t.token != to->token)) continue;
        std::string lab = m.value("lab", "");
        SubmitOutcome o = send_once(t, lab, read_all(run));
        if (o.sent || o.refused) {
            fs::remove(run, ec);
            fs::remove(meta_file, ec);
        } else {
            o.kept = run;
        }
        done.emplace_back(lab, o);
    }
    return done;
}

std::vector<std::string> apply_class_faults(Lab& lab, const json& faults) {
    std::vector<std::string> unknown;
    if (!faults.is_object()) return unknown;
    for (auto& [service, f] : faults.items()) {
        ServiceEntry* entry = nullptr;
        for (auto& s : lab.services)
            if (s.name == service) entry = &s;
        if (!entry) {
            unknown.push_back(service);
            continue;
        }
        const json& profile = f.is_object() && f.contains("profile") ? f["profile"] : f;
        std::string name = f.is_object() && f.contains("name") && f["name"].is_string() ? f["name"].get<std::string>() : "class";
        auto doc = JsonDoc::parse(profile.dump(), "the classroom's fault profile \"" + name + "\"");
        Spec spec(doc, doc->root(), "", "fault profile");
        FaultProfile p = parse_fault_profile(spec, name);
        if (f.is_object() && f.contains("description") && f["description"].is_string() && p.description.empty())
            p.description = f["description"].get<std::string>();
        entry->faults = p;
    }
    return unknown;
}

}  // namespace wirelab::clients
