// The journal alone, without sockets: what recording one HTTP exchange costs
// the serving thread and the writer thread, in CPU time, and on disk.
//
// It feeds a Journal what the http service feeds it for wrk's GET /cars/1
// and POST /cars at 50 connections (the same bytes read and written, the
// same rows, the Date header new each second, a POST's Location and ETag
// new each time), commits every 1,000 exchanges as the 20 ms tick does at
// 50k exchanges/s, and flushes. The serving thread's part is its CPU time
// with the traffic journal on less the same loop with it off (the rows are
// made either way, as the http service makes them); the writer's is the
// process's CPU time less the serving thread's. A loopback load's noise
// (wrk, the kernel's TCP) is not in these numbers: bench/peers.py measures
// the journal's cost under real load; this one tells where it goes.
//
//   journal_micro [--exchanges N] [--repeat R] [--dir D] [--kind get|post] [--traffic on|off|both]
// prints one JSON object per kind (get, post) with the medians.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>
#include <sys/resource.h>
#include <vector>

#include "runtime/journal.hpp"

namespace {

using wirelab::Dir;
using wirelab::HttpExchange;
using wirelab::Journal;

double thread_cpu_us() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

double process_cpu_us() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

wirelab::HeaderViews views(const std::vector<std::pair<std::string, std::string>>& fields) {
    wirelab::HeaderViews out;
    for (const auto& [n, v] : fields) out.emplace_back(n, v);
    return out;
}

std::string head(const std::string& first, const std::vector<std::pair<std::string, std::string>>& fields) {
    std::string out = first + "\r\n";
    for (const auto& [n, v] : fields) out += n + ": " + v + "\r\n";
    return out + "\r\n";
}

struct Result {
    double serving_us, writer_us, bytes;
};

// One run: `n` exchanges of `kind` ("get" or "post"); traffic on or off.
Result run(const std::filesystem::path& dir, const std::string& kind, int n, bool traffic) {
    std::filesystem::path file = dir / ("journal-" + kind + ".db");
    const bool post = kind == "post";
    const std::string host = "127.0.0.1:42855";
    const std::string car = "{\n  \"id\": 1,\n  \"brand\": \"Fiat\",\n  \"model\": \"Model 1\",\n"
                            "  \"production_year\": 1951,\n  \"convertible\": false\n}";
    const std::string sent = R"({"brand": "Volvo", "model": "P1800", "production_year": 1961})";
    std::vector<std::pair<std::string, std::string>> req_fields = {{"Host", host}};
    if (post) req_fields.push_back({"Content-Type", "application/json"}),
        req_fields.push_back({"Content-Length", std::to_string(sent.size())});
    const wirelab::HeaderViews req_list = views(req_fields);
    const std::string req_bytes =
        head(post ? "POST /cars HTTP/1.1" : "GET /cars/1 HTTP/1.1", req_fields) + (post ? sent : "");

    double cpu0 = process_cpu_us(), serving = 0;
    std::uintmax_t bytes = 0;
    {
        Journal j(file);
        j.opened();
        j.set_traffic(traffic);
        std::vector<std::int64_t> conns;
        for (int c = 0; c < 50; ++c)
            conns.push_back(j.open_connection({"api", "tcp", "server", "127.0.0.1:42855",
                                               "127.0.0.1:" + std::to_string(50000 + c), -1, std::nullopt}));
        for (auto c : conns) j.derive_http(c);
        double t0 = thread_cpu_us();
        for (int i = 0; i < n; ++i) {
            std::int64_t conn = conns[static_cast<std::size_t>(i % 50)];
            int second = i / 50000;  // 50k exchanges a second
            std::string date = "Sun, 06 Dec 2026 13:05:" + std::to_string(10 + second % 50) + " GMT";
            std::string body = post ? "{\n  \"brand\": \"Volvo\",\n  \"model\": \"P1800\",\n  \"production_year\": 1961,\n  \"id\": " +
                                          std::to_string(101 + i) + "\n}"
                                    : car;
            std::vector<std::pair<std::string, std::string>> resp = {
                {"X-Powered-By", "Express"},
                {"Vary", post ? "Origin, X-HTTP-Method-Override, Accept-Encoding" : "Origin, Accept-Encoding"},
                {"Access-Control-Allow-Credentials", "true"},
                {"Cache-Control", "no-cache"},
                {"Pragma", "no-cache"},
                {"Expires", "-1"}};
            if (post) resp.push_back({"Access-Control-Expose-Headers", "Location"}),
                resp.push_back({"Location", "http://" + host + "/cars/" + std::to_string(101 + i)});
            resp.push_back({"Content-Type", "application/json; charset=utf-8"});
            resp.push_back({"X-Content-Type-Options", "nosniff"});
            char etag[64];
            std::snprintf(etag, sizeof etag, "W/\"%zx-%08x%016llx\"", body.size(), post ? i * 2654435761u : 7u,
                          post ? static_cast<unsigned long long>(i) * 0x9E3779B97F4A7C15ull : 1ull);
            resp.push_back({"ETag", etag});
            resp.push_back({"Content-Length", std::to_string(body.size())});
            resp.push_back({"Date", date});
            resp.push_back({"Connection", "keep-alive"});
            resp.push_back({"Keep-Alive", "timeout=5"});

            j.chunk(conn, Dir::in, req_bytes);
            HttpExchange x;
            x.service = "api";
            x.connection_id = conn;
            x.seq = i / 50 + 1;
            x.started_us = j.now();
            x.method = post ? "POST" : "GET";
            x.target = post ? "/cars" : "/cars/1";
            x.path = x.target;
            x.query = "{}";
            x.version = "1.1";
            x.req_headers = &req_list;
            if (post) x.req_body = sent;
            x.status = post ? 201 : 200;
            x.reason = post ? "Created" : "OK";
            wirelab::HeaderViews resp_list = views(resp);
            x.resp_headers = &resp_list;
            std::string out = head(post ? "HTTP/1.1 201 Created" : "HTTP/1.1 200 OK", resp) + body;
            j.chunk(conn, Dir::out, out);
            x.ended_us = j.now();
            x.resp_body = std::move(body);
            j.http(std::move(x));
            if (i % 1000 == 999) j.commit();
        }
        j.flush();
        serving = thread_cpu_us() - t0;
    }
    double total = process_cpu_us() - cpu0;
    for (const char* ext : {"", "-wal"}) {
        std::error_code ec;
        auto s = std::filesystem::file_size(file.string() + ext, ec);
        if (!ec) bytes += s;
    }
    return {serving / n, (total - serving) / n, static_cast<double>(bytes) / n};
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    int n = 200000, repeat = 5;
    std::vector<std::string> kinds = {"get", "post"};
    std::string traffic = "both";  // or "on", "off": one run alone (for callgrind's counts)
    std::filesystem::path dir = std::filesystem::temp_directory_path() / "wirelab-journal-micro";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--exchanges")) n = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--repeat")) repeat = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
        else if (!std::strcmp(argv[i], "--kind")) kinds = {argv[i + 1]};
        else if (!std::strcmp(argv[i], "--traffic")) traffic = argv[i + 1];
    }
    std::filesystem::create_directories(dir);
    for (const std::string& kind : kinds) {
        std::vector<double> on_s, on_w, off_s, bytes;
        for (int r = 0; r < repeat; ++r) {
            Result off{}, on{};
            if (traffic != "on") off = run(dir, kind, n, false);
            if (traffic != "off") on = run(dir, kind, n, true);
            off_s.push_back(off.serving_us);
            on_s.push_back(on.serving_us - off.serving_us);
            on_w.push_back(on.writer_us);
            bytes.push_back(on.bytes);
        }
        std::printf("{\"kind\": \"%s\", \"exchanges\": %d, \"serving_off_us\": %.3f, \"serving_us\": %.3f, "
                    "\"writer_us\": %.3f, \"bytes\": %.0f}\n",
                    kind.c_str(), n, median(off_s), median(on_s), median(on_w), median(bytes));
        std::fflush(stdout);
    }
    std::filesystem::remove_all(dir);
}
