// libFuzzer target: the http service's authentication gate fed arbitrary
// requests (login and refresh bodies as JSON or forms, Authorization
// headers, query strings, signatures), and the journal's header-column
// reader fed arbitrary text. Nothing may crash; a refusal is a 4xx with a
// JSON body; the reader never keeps a pair that is not two strings.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "runtime/journal_reader.hpp"
#include "services/http/auth.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace wirelab::http;
    if (size < 2) return 0;
    std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (data[0] & 1) {
        (void)wirelab::parse_header_list(in);
        return 0;
    }
    static AuthGate* gate = [] {
        AuthSpec s;
        s.users["learner"] = "pw";
        s.token_ttl_s = 1;
        s.hmac_secret = "key";
        s.hmac_paths = {"/reports"};
        return new AuthGate(s, 1);
    }();
    static const char* methods[] = {"GET", "POST", "PUT", "DELETE"};
    static const char* paths[] = {"/auth/login", "/auth/refresh", "/orders", "/reports"};
    // fields split by NUL: query, header name, header value, body
    std::string parts[4];
    int k = 0;
    for (char c : in) {
        if (c == '\0' && k < 3) ++k;
        else parts[k] += c;
    }
    Fields headers = {{"Content-Type", data[0] & 2 ? "application/x-www-form-urlencoded" : "application/json"},
                      {parts[1], parts[2]}};
    auto d = gate->check(methods[(data[0] >> 2) & 3], paths[(data[0] >> 4) & 3], parts[0], headers, parts[3],
                         static_cast<std::int64_t>(data[0]) * 10000, 1000);
    if (d) {
        if (d->status != 200 && (d->status < 400 || d->status > 499)) __builtin_trap();
        if (!nlohmann::json::accept(d->body)) __builtin_trap();
    }
    return 0;
}
