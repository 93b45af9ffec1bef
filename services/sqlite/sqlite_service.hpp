// The `sqlite` service kind: a database file in the run directory that the
// learner's program opens with Python's own sqlite3 module. The lab's
// schema and rows seed it before each case; after each case a copy is the
// service's state, for `state` checks. While the program runs, the file's
// rollback journal is watched, so that a write transaction that was never
// committed (or a program killed inside one) is an event with evidence.
#pragma once
#include <memory>

#include "runtime/service.hpp"

namespace wirelab::sqlite_file {

std::unique_ptr<Service> make_sqlite_service(ServiceContext& ctx);

}  // namespace wirelab::sqlite_file
