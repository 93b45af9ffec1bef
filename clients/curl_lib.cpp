#include "clients/curl_lib.hpp"

#include <dlfcn.h>

#include <stdexcept>
#include <string>

namespace wirelab::curl_lib {

namespace {
template <class F>
void load(void* lib, F& f, const char* name) {
    void* p = dlsym(lib, name);
    if (!p) throw std::runtime_error(std::string("libcurl.so.4 has no ") + name + " (libcurl 7.x or newer is needed)");
    f = reinterpret_cast<F>(p);
}

Api open_api() {
    void* lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char* why = dlerror();
        throw std::runtime_error(std::string("cannot load libcurl (") + (why ? why : "libcurl.so.4") +
                                 "); install it with: apt-get install libcurl4");
    }
    Api a{};
    load(lib, a.easy_init, "curl_easy_init");
    load(lib, a.easy_cleanup, "curl_easy_cleanup");
    load(lib, a.easy_reset, "curl_easy_reset");
    load(lib, a.easy_setopt, "curl_easy_setopt");
    load(lib, a.easy_getinfo, "curl_easy_getinfo");
    load(lib, a.easy_perform, "curl_easy_perform");
    load(lib, a.easy_strerror, "curl_easy_strerror");
    load(lib, a.slist_append, "curl_slist_append");
    load(lib, a.slist_free_all, "curl_slist_free_all");
    decltype(&::curl_global_init) global_init = nullptr;
    load(lib, global_init, "curl_global_init");
    if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("libcurl could not start (curl_global_init)");
    return a;  // the library stays loaded for the life of the process
}
}  // namespace

const Api& api() {
    static const Api a = open_api();
    return a;
}

}  // namespace wirelab::curl_lib
