// libFuzzer target: the PostgreSQL message reader fed arbitrary bytes, each
// message's fields read the way the service reads them, and the SQL of
// Query messages split, translated and run on an in-memory database.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "services/sql/pg_sql.hpp"
#include "services/sql/pg_wire.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace wirelab::pg;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    Reader reader(1 << 16);
    static Session* db = new Session(":memory:");  // one database: opening one costs more than a run
    std::size_t cut = size ? data[0] % 13 + 1 : 1;
    for (std::size_t i = 0; i < in.size() && !reader.fatal(); i += cut) {
        for (const auto& m : reader.feed(in.substr(i, cut))) {
            if (m.type == 0) {
                (void)startup_params(m.body);
                continue;
            }
            Fields f(m.body);
            switch (m.type) {
                case 'Q': {
                    std::string sql = f.cstr();
                    if (sql.size() > 512) break;
                    for (const auto& st : split_statements(sql)) {
                        (void)first_word(st);
                        (void)translate(st);
                        Result r = db->run(st);
                        for (const auto& row : r.rows) (void)data_row(row);
                        if (!r.columns.empty()) (void)row_description(r.columns);
                    }
                    if (db->status() != 'I') db->run("ROLLBACK");
                    break;
                }
                case 'B': {
                    f.cstr();
                    f.cstr();
                    for (int n = f.i16(); n > 0 && !f.bad(); --n) f.i16();
                    for (int n = f.i16(); n > 0 && !f.bad(); --n) (void)f.bytes(f.i32());
                    break;
                }
                case 'P': {
                    f.cstr();
                    std::string sql = f.cstr();
                    std::size_t np = 0;
                    if (sql.size() <= 512) (void)db->describe(sql, &np);
                    break;
                }
                default: (void)f.cstr(); (void)f.i32(); (void)f.byte();
            }
        }
    }
    return 0;
}
