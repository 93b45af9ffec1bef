// Factories of the check kinds; registry.cpp lists them.
#pragma once
#include <memory>

#include "checks/check.hpp"

namespace wirelab::checks {

std::unique_ptr<Check> make_exit_check(Spec& s, const CheckContext& ctx);
std::unique_ptr<Check> make_output_check(Spec& s, const CheckContext& ctx);
std::unique_ptr<Check> make_http_check(Spec& s, const CheckContext& ctx);
std::unique_ptr<Check> make_state_check(Spec& s, const CheckContext& ctx);
std::unique_ptr<Check> make_connections_check(Spec& s, const CheckContext& ctx);
std::unique_ptr<Check> make_stream_check(Spec& s, const CheckContext& ctx);
std::unique_ptr<Check> make_commands_check(Spec& s, const CheckContext& ctx);
std::unique_ptr<Check> make_sql_check(Spec& s, const CheckContext& ctx);
std::unique_ptr<Check> make_messages_check(Spec& s, const CheckContext& ctx);
std::unique_ptr<Check> make_client_check(Spec& s, const CheckContext& ctx);
std::unique_ptr<Check> make_server_check(Spec& s, const CheckContext& ctx);
std::unique_ptr<Check> make_concurrency_check(Spec& s, const CheckContext& ctx);
std::unique_ptr<Check> make_processes_check(Spec& s, const CheckContext& ctx);
std::unique_ptr<Check> make_tool_check(Spec& s, const CheckContext& ctx);
std::unique_ptr<Check> make_timing_check(Spec& s, const CheckContext& ctx);
std::unique_ptr<Check> make_journal_check(Spec& s, const CheckContext& ctx);
std::unique_ptr<Check> make_python_check(Spec& s, const CheckContext& ctx);

}  // namespace wirelab::checks
