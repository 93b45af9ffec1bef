#include "runtime/recording.hpp"

#include <nlohmann/json.hpp>

namespace wirelab {

ConnectionRecord::ConnectionRecord(Journal& journal, const ConnectionInfo& info)
    : journal_(journal), service_(info.service), role_(info.role) {
    id_ = journal_.open_connection(info);
}

void ConnectionRecord::bytes(Dir dir, const char* data, std::size_t n) {
    journal_.chunk(id_, dir, std::string_view(data, n));
}

void ConnectionRecord::io_error(const error_code& ec) {
    if (!closed_by_.empty()) return;
    if (ec == asio::error::eof) {
        closed_by_ = "peer", close_kind_ = "fin";
    } else if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
               ec == asio::error::connection_aborted) {
        closed_by_ = "peer", close_kind_ = "reset";
    }
}

void ConnectionRecord::closing(const std::string& why) {
    if (closed_by_.empty()) closed_by_ = "us", close_kind_ = "fin";
    if (!why.empty()) journal_.event("close", service_, {{"reason", why}}, id_);
}

void ConnectionRecord::resetting(const std::string& why) {
    if (closed_by_.empty()) closed_by_ = "us", close_kind_ = "reset";
    if (!why.empty()) journal_.event("close", service_, {{"reason", why}, {"reset", true}}, id_);
}

void ConnectionRecord::finish() {
    if (finished_) return;
    finished_ = true;
    // Roles name the parties: for a connection wirelab accepted, the peer is
    // the client; for one wirelab made, the peer is the server.
    bool we_serve = role_ == "server";
    std::string by = closed_by_.empty()  ? "unknown"
                     : closed_by_ == "us" ? (we_serve ? "server" : "client")
                                          : (we_serve ? "client" : "server");
    journal_.close_connection(id_, by, close_kind_.empty() ? "abort" : close_kind_);
}

}  // namespace wirelab
