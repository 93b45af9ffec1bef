// Matching helpers shared by check kinds and protocol rules: regexes with an
// optional "(?i)" prefix, JSON subset matching, and short renderings of
// values for evidence.
#pragma once
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "runtime/json_source.hpp"

namespace wirelab {

/// A regex compiled from lab text; "(?i)" at the start means ignore case.
struct Pattern {
    std::string source;
    std::regex re;
    bool search(const std::string& s) const { return std::regex_search(s, re); }
};

/// Compiles `source`; throws LabError at spec/key when invalid.
Pattern compile_pattern(const Spec& spec, const std::string& key, const std::string& source);

/// True when every member of `expected` is in `actual` (objects by key,
/// recursively; arrays element-wise and of equal length; numbers by value,
/// but never a number for a string or a bool for a number). On mismatch
/// `why` names the first difference ("at /production_year: expected 1961,
/// got \"1961\"").
bool json_subset(const nlohmann::json& expected, const nlohmann::json& actual, std::string& why,
                 const std::string& at = "");

/// The value at a simple path into `doc`: "$" is the whole document,
/// "$.a.b" a member of a member, "$.items.0" an array element; nullptr
/// when there is none.
const nlohmann::json* json_path(const nlohmann::json& doc, const std::string& path);

/// A value or text shortened for a report line.
std::string shorten(const std::string& s, std::size_t max = 120);
std::string one_line(const nlohmann::json& v, std::size_t max = 120);

/// The last `n` lines of `text`.
std::string tail_lines(const std::string& text, std::size_t n);

/// Text with non-printable bytes escaped (\n, \r, \x00).
std::string printable(const std::string& s, std::size_t max = 200);

}  // namespace wirelab
