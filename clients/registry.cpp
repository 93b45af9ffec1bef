#include "clients/registry.hpp"

#include "clients/http_driver.hpp"
#include "clients/socket_driver.hpp"

namespace wirelab::clients {

const DriverKinds& driver_kinds() {
    static const DriverKinds kinds = {
        {"socket", "a scripted TCP client: sends, line expectations, half-close, reset, N in parallel",
         make_socket_driver},
        {"http", "an HTTP request plan on libcurl with expectations and saved values", make_http_driver},
    };
    return kinds;
}

std::vector<std::string> driver_kind_names() {
    std::vector<std::string> names;
    for (const auto& k : driver_kinds()) names.push_back(k.name);
    return names;
}

}  // namespace wirelab::clients
