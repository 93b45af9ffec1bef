#include "runtime/seeding.hpp"

#include <cctype>
#include <fstream>
#include <sstream>

#include "runtime/sqlite.hpp"

namespace wirelab {

bool read_reset_each_case(Spec& s) {
    std::string reset = s.string("reset", "each_case");
    if (reset != "each_case" && reset != "never")
        s.fail("reset", "\"reset\" is \"each_case\" (made again from the lab's content before every case) or \"never\"");
    return reset == "each_case";
}

std::string read_lab_file(Spec& s, const std::string& key, const std::string& rel,
                          const std::filesystem::path& lab_dir, const Params* params) {
    std::ifstream in(lab_dir / rel, std::ios::binary);
    if (!in)
        s.fail(key, "file \"" + rel + "\" not found in " + lab_dir.string(),
               "put the file there or fix the path (it is relative to the lab folder)");
    std::stringstream ss;
    ss << in.rdbuf();
    return params ? params->expand(ss.str()) : ss.str();
}

std::string read_schema(Spec& s, const std::filesystem::path& lab_dir, const Params* params) {
    if (s.has("schema") && s.has("schema_file"))
        s.fail("schema_file", "give the SQL in \"schema\" or in \"schema_file\", not both");
    std::string sql;
    if (const json* sc = s.get("schema")) {
        if (sc->is_string()) {
            sql = sc->get<std::string>();
        } else if (sc->is_array() && std::all_of(sc->begin(), sc->end(), [](const json& x) { return x.is_string(); })) {
            for (const auto& x : *sc) sql += x.get<std::string>() + ";\n";
        } else {
            s.fail("schema", "\"schema\" is SQL: a string, or an array of statements");
        }
    } else if (auto f = s.opt_string("schema_file")) {
        sql = read_lab_file(s, "schema_file", *f, lab_dir, params);
    }
    return sql;
}

void CaseStates::keep(const std::filesystem::path& state_file, const std::string& service,
                      const std::string& case_name) {
    std::string safe;
    for (char ch : case_name) safe += std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' ? ch : '_';
    auto copy = state_file.parent_path() / (service + "@" + safe + ".db");
    sql::backup(state_file, copy);
    files_[case_name] = copy;
}

}  // namespace wirelab
