// A recorded run for a person (`wirelab journal RUN`: HTTP exchanges,
// streams as escaped text, statements, commands, processes, in time order)
// and the HTTP traffic as HAR 1.2 (`--har FILE`) for a browser's devtools.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "runtime/journal_reader.hpp"

namespace wirelab::checks {

struct JournalViewOptions {
    std::string only_case;       // "" = every case
    std::size_t body_max = 2048;  // bytes of a body or stream shown
    bool color = false;
};

/// The run's traffic, case by case, in time order.
std::string render_journal_text(JournalReader& j, const JournalViewOptions& opt);

/// HAR 1.2 of every HTTP exchange (services' and simulated clients').
nlohmann::json render_har(JournalReader& j, const std::string& only_case = {});

/// Raw bytes as text: printable UTF-8 as it is, \n \r \t and \xNN escapes
/// for the rest; `max` bytes at most ("…" when cut).
std::string escape_bytes(const std::string& bytes, std::size_t max);

}  // namespace wirelab::checks
