// Hosted mode: the classroom runs each learner's services (one `wirelab up`
// child process per learner and lab, on its own ports, with the learner's
// seed and the class-wide faults), so a learner needs only Python. "Check"
// grades a consistent snapshot of that learner's traffic and state so far;
// checks that need the learner's program itself (exit status, output,
// processes, timing) are left out, since the program runs elsewhere.
#pragma once
#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace wirelab::classroom {

class Classroom;
struct Principal;
using json = nlohmann::json;

/// The check kinds a hosted check cannot see (they watch the program).
bool needs_the_program(const std::string& kind);

class Hosted {
public:
    struct Options {
        std::filesystem::path wirelab;  // the binary to start (`up`)
        std::filesystem::path dir;      // hosted run directories
        std::string listen = "127.0.0.1";
        std::size_t max_sessions = 300;
    };
    Hosted(Classroom& classroom, Options opt);
    ~Hosted();
    Hosted(const Hosted&) = delete;

    /// Starts the learner's services of `lab` (or returns the running
    /// ones): {"lab", "services": {name: {url, host, port}}, "env": {...}}.
    json start(const Principal& who, const std::string& lab);
    json status(const Principal& who, const std::string& lab);
    /// Grades the traffic so far and submits it ("mode": "hosted").
    json check(const Principal& who, const std::string& lab, const json& body);
    json stop(const Principal& who, const std::string& lab);
    /// Restarts (fresh state and journal, the same ports) the sessions of
    /// `lab` (every lab when empty) of one learner or of all.
    void reset(const std::string& lab, std::optional<std::int64_t> learner);
    void stop_all();
    std::size_t running() const { return children_.size(); }

private:
    struct Child {
        pid_t pid = -1;
        std::filesystem::path run_dir;
        json info;
        std::map<std::string, unsigned short> ports;
        int generation = 0;
    };
    using Key = std::pair<std::int64_t, std::string>;
    /// A `wirelab up` started, its first line (the endpoints) not read yet.
    struct Launch {
        Child child;
        std::string lab;
        int out = -1;  // its stdout
        std::string line;
        std::filesystem::path log;
    };
    Launch launch(std::int64_t learner, const std::string& lab, const Child* previous);
    /// Reads every launch's first line (all at once, 15 s in all).
    void await(std::vector<Launch*>& launches);
    /// The started child, or ApiError with the log's end when it did not start.
    Child finish(Launch& l);
    Child spawn(std::int64_t learner, const std::string& lab, const Child* previous);
    /// SIGTERM to each, 3 s for all to close their journals, SIGKILL for the rest.
    void kill_children(const std::vector<Child*>& children);
    void kill_child(Child& c) { kill_children({&c}); }
    bool alive(Child& c);
    const Principal& need_learner(const Principal& who) const;

    Classroom& classroom_;
    Options opt_;
    std::map<Key, Child> children_;
};

}  // namespace wirelab::classroom
