// A RESTCONF (RFC 8040) API on a simulated device's running config,
// I/O-free: a request in, an answer out. The config is seen as YANG data
// in JSON (RFC 7951): ietf-interfaces (with ietf-ip addresses), ietf-system
// (the hostname) and wirelab-vlan (VLANs, an interface's access VLAN).
// GET reads a subtree, PUT replaces it (what the body leaves out goes back
// to its default), PATCH merges, POST creates a child (409 if it exists),
// DELETE removes; `cisco-ia:save-config` copies running to startup. Errors
// are RFC 8040's `ietf-restconf:errors` with the status a device answers.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "services/device/cli.hpp"

namespace wirelab::device {

struct RestconfRequest {
    std::string method;         // "GET", "PUT", …
    std::string path;           // as sent, not decoded, no query
    std::string content_type;   // "" when absent
    std::string accept;         // "" when absent
    std::string authorization;  // the Authorization header, "" when absent
    std::string body;
};

struct RestconfReply {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;  // Content-Type, Location, WWW-Authenticate
    std::string body;
    std::vector<std::string> diff;  // running-config lines changed, as the CLI records them
    std::string error_tag;          // RFC 8040's error-tag of a refusal, "" on success
    bool saved = false;             // the request copied running to startup
};

/// The YANG data of `c` in RFC 7951 JSON (the whole datastore).
std::string restconf_data(const Config& c);

/// Answers one request on `device` (its running config changes only when
/// the whole request is valid).
RestconfReply restconf(Device& device, const RestconfRequest& request);

}  // namespace wirelab::device
