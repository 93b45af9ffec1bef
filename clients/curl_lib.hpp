// libcurl, loaded the first time a client needs it instead of when wirelab
// starts: linked in, libcurl and the thirty libraries it pulls in (Kerberos,
// LDAP, GnuTLS, SSH…) cost every wirelab command about 5 ms of dynamic
// linking, half of a lab's start-up, though only the http client and the
// classroom client use it.
#pragma once
#include <curl/curl.h>

namespace wirelab::curl_lib {

/// The libcurl functions wirelab calls, with libcurl's own signatures.
struct Api {
    decltype(&::curl_easy_init) easy_init;
    decltype(&::curl_easy_cleanup) easy_cleanup;
    decltype(&::curl_easy_reset) easy_reset;
    decltype(&::curl_easy_setopt) easy_setopt;
    decltype(&::curl_easy_getinfo) easy_getinfo;
    decltype(&::curl_easy_perform) easy_perform;
    decltype(&::curl_easy_strerror) easy_strerror;
    decltype(&::curl_slist_append) slist_append;
    decltype(&::curl_slist_free_all) slist_free_all;
};

/// Loads libcurl (once, thread-safe) and runs curl_global_init. Throws
/// std::runtime_error saying which library is missing and how to get it.
const Api& api();

}  // namespace wirelab::curl_lib
