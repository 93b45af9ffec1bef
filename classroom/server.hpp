// The classroom's HTTP server: the JSON API learners' `wirelab check
// --classroom` and the dashboard call, server-sent events for live
// updates, and the dashboard and learner pages (served from the binary).
// One thread; every request goes through Classroom.
#pragma once
#include <memory>
#include <string>

#include "runtime/common.hpp"

namespace wirelab::classroom {

class Classroom;
class Hosted;

struct ServerOptions {
    std::string listen = "127.0.0.1";
    unsigned short port = 8080;  // 0: a free port
};

class Server {
public:
    /// Binds at once (throws EnvError naming the address and port when it
    /// cannot); serves once the io_context runs. `hosted` may be null.
    Server(asio::io_context& io, Classroom& classroom, ServerOptions opt, Hosted* hosted = nullptr);
    ~Server();
    unsigned short port() const;
    /// Closes the port and every open connection (the live-update streams too).
    void stop();

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

/// The pages (and their shared script) served from the binary (classroom/web/, embedded at build time).
const std::string& dashboard_page();
const std::string& learner_page();
const std::string& common_script();

}  // namespace wirelab::classroom
