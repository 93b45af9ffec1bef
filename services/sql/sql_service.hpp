// The `sql` service kind: the PostgreSQL protocol (v3) in front of a SQLite
// database, for psql, psycopg2 and pg8000. Startup (SSL refused with 'N'),
// trust / cleartext / md5 authentication, simple and extended queries,
// transactions with PostgreSQL's states, errors with SQLSTATE codes; every
// statement journaled.
#pragma once
#include <memory>

#include "runtime/service.hpp"

namespace wirelab::pg {

std::unique_ptr<Service> make_sql_service(ServiceContext& ctx);

}  // namespace wirelab::pg
