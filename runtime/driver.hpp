// The Driver interface the runtime knows: a simulated client that drives the
// learner's server (clients/ holds the kinds). Like services, kinds are
// handed to the Session as a list; the runtime never includes a driver.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/common.hpp"
#include "runtime/json_source.hpp"

namespace wirelab {

class Journal;

/// What a driver factory may use. `spec` reads the client's object in
/// lab.json ("kind" already read); the factory must call spec.finish().
struct DriverContext {
    std::string name;
    Spec& spec;
    asio::io_context& io;
    Journal& journal;
};

/// Where the learner's server is to be found.
struct ServerAddress {
    std::string host;
    unsigned short port = 0;
};

class Driver {
public:
    virtual ~Driver() = default;
    /// Runs the client's script against the learner's server; journals its
    /// connections (role "client") and each step. Never throws for what the
    /// server does: a failed expectation is a failed step.
    virtual awaitable<void> run(ServerAddress server, std::uint64_t seed) = 0;
    /// Stops at once (wirelab is stopping).
    virtual void stop() {}
};

using DriverFactory = std::function<std::unique_ptr<Driver>(DriverContext&)>;

struct DriverKind {
    std::string name;
    std::string summary;
    DriverFactory make;
};
using DriverKinds = std::vector<DriverKind>;

}  // namespace wirelab
