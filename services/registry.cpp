#include "services/registry.hpp"

#include "services/device/device_service.hpp"
#include "services/hosts/hosts_service.hpp"
#include "services/http/http_service.hpp"
#include "services/ipc/ipc_service.hpp"
#include "services/nosql/nosql_service.hpp"
#include "services/sdn/sdn_service.hpp"
#include "services/sqlite/sqlite_service.hpp"
#include "services/sql/sql_service.hpp"
#include "services/tcp/tcp_service.hpp"
#include "services/tool/tool_service.hpp"
#include "services/udp/udp_service.hpp"

namespace wirelab {

const ServiceKinds& service_kinds() {
    static const ServiceKinds kinds = {
        {"http", "json-server compatible REST API (Boost.Beast), state in SQLite",
         http::make_http_service},
        {"tcp", "raw TCP server: echo, line dialogues or length-prefixed JSON frames",
         tcp_proto::make_tcp_service},
        {"ipc",
         "unix stream or datagram socket (the tcp and udp protocols, the peer's pid from the kernel), a fifo pair, "
         "or a shared file or shared-memory segment the lab seeds and reads back",
         ipc::make_ipc_service},
        {"udp", "UDP server: echo, text or JSON request/response, telemetry with NAK retransmission",
         udp_proto::make_udp_service},
        {"nosql", "a Redis-compatible server (RESP2/RESP3) for redis-py and redis-cli, every command journaled",
         resp::make_nosql_service},
        {"sql", "PostgreSQL protocol v3 over SQLite, for psql, psycopg2 and pg8000, every statement journaled",
         pg::make_sql_service},
        {"sqlite", "a SQLite database file the program opens with Python's sqlite3, seeded per case, read back after",
         sqlite_file::make_sqlite_service},
        {"tool", "a command-line tool on the program's PATH (devctl): argv journaled, big output, failures, hangs",
         tool::make_tool_service},
        {"device", "simulated network devices (switches), each on its own port with an IOS-style CLI: login, enable, "
                   "configure, --More-- paging; every command journaled with its config diff",
         device::make_device_service},
        {"hosts", "simulated hosts on loopback addresses with open (a banner), closed and filtered ports, and a "
                  "scan detector that blocks a flooding scanner: for port-scan labs",
         hosts::make_hosts_service},
        {"sdn", "an SDN controller's REST API over simulated switches, hosts and links: flow rules per switch, "
                "reachability computed from them, transient black holes journaled",
         sdn::make_sdn_service},
    };
    return kinds;
}

std::vector<std::string> service_kind_names() {
    std::vector<std::string> names;
    for (const auto& k : service_kinds()) names.push_back(k.name);
    return names;
}

}  // namespace wirelab
