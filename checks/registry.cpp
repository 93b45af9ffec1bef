#include "checks/check.hpp"
#include "checks/kinds.hpp"

namespace wirelab::checks {

const std::vector<CheckKind>& check_kinds() {
    static const std::vector<CheckKind> kinds = {
        {"exit", "the program's exit status (and that it finished in time)", make_exit_check},
        {"output", "stdout/stderr: equals, contains, regex, in_order, JSON", make_output_check},
        {"http", "HTTP requests a service received: matcher and count, or every", make_http_check},
        {"state", "SQL over a service's state, expected rows", make_state_check},
        {"connections", "how connections were used and closed", make_connections_check},
        {"stream", "the raw bytes of a service's connections, per direction", make_stream_check},
        {"messages", "protocol messages (lines, frames) a service received or sent", make_messages_check},
        {"client", "server labs: a simulated client's script went through (and fast enough)", make_client_check},
        {"server", "server labs: the learner's server listened, stopped on a signal, released its port",
         make_server_check},
        {"concurrency", "requests or connections in flight at once, and how many processes held them",
         make_concurrency_check},
        {"processes", "the program's process tree: workers at once, threads, children joined, orphans",
         make_processes_check},
        {"sql", "statements a sql (PostgreSQL) service ran: text, verb, parameters, transaction, count, or every",
         make_sql_check},
        {"commands", "commands a nosql (RESP) service received: name, key, arguments, count, or every",
         make_commands_check},
        {"tool", "runs of a lab's command-line tool: each device once, no shell, output read, hangs killed",
         make_tool_check},
        {"timing", "wall time, alone or against the time the requests take one after another", make_timing_check},
        {"journal", "read-only SQL over the run's journal, expected rows (the escape hatch)", make_journal_check},
        {"python", "a trainer's Python script reads the journal and state and answers pass/fail as JSON",
         make_python_check},
    };
    return kinds;
}

}  // namespace wirelab::checks
