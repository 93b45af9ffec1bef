// A lab's "params": values drawn from the run's seed (integers in a range,
// choices, random strings, subsets of a list or of a data file), used as
// {name} in lab.json, data files and the README, so that each learner gets
// their own data and one learner's transcript fails for another.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "runtime/json_source.hpp"

namespace wirelab {

class Params {
public:
    /// Reads and draws the "params" object of `doc` (absent: no params).
    /// Each value depends only on the seed and the param's name. Throws
    /// LabError naming the param.
    static Params draw(const std::shared_ptr<const JsonDoc>& doc, const std::filesystem::path& lab_dir,
                       std::uint64_t seed);

    bool empty() const { return values_.empty(); }
    const std::map<std::string, nlohmann::json>& values() const { return values_; }

    /// Text with each {name} (or {name.key}, {name.0}) of a declared param
    /// replaced (strings as they are, other values as JSON); anything else
    /// left as it is. For data files and the README.
    std::string expand(const std::string& text) const;

    /// The param's value when `text` is exactly "{name}" (or "{name.key}")
    /// of a declared param; nullopt otherwise.
    std::optional<nlohmann::json> whole(const std::string& text) const;

    /// A JSON data file's values expanded in place: a string that is
    /// exactly "{name}" takes the param's value and type, other strings
    /// have their {name}s filled in (keys are left alone). J: json or
    /// ordered_json.
    template <class J>
    void expand_json(J& v) const {
        if (values_.empty()) return;
        if (v.is_object() || v.is_array()) {
            for (auto& x : v) expand_json(x);
            return;
        }
        if (!v.is_string()) return;
        const auto& text = v.template get_ref<const std::string&>();
        if (auto t = whole(text))
            v = J::parse(t->dump());
        else
            v = expand(text);
    }

    /// lab.json with the params expanded in every string outside "params".
    /// A string that is exactly "{name}" takes the param's value and type.
    /// When the lab declares params, a {word} that is not one is an error
    /// (write {{word}} for a literal {word}). Throws LabError.
    /// `typed` gets the pointers of such strings, with the value as text.
    nlohmann::json expand_lab(const nlohmann::json& root, const JsonDoc& doc,
                              std::map<std::string, std::string>& typed) const;

private:
    std::map<std::string, nlohmann::json> values_;
    /// The value of "name" or "name.key.0", or nullptr.
    const nlohmann::json* lookup(const std::string& ref, nlohmann::json& scratch) const;
    nlohmann::json expand_value(const nlohmann::json& v, const std::string& ptr, const JsonDoc& doc,
                                std::map<std::string, std::string>& typed) const;
};

/// The seed of a learner's runs of a lab: derived from their name and the
/// lab id, so `--learner` gives the same data every time and other data to
/// someone else.
std::uint64_t learner_seed(const std::string& learner, const std::string& lab_id);
/// A classroom learner's seed for a lab, from their token: the same on the
/// learner's machine (offline too) and on the classroom server.
std::uint64_t classroom_seed(const std::string& token, const std::string& lab_id);

}  // namespace wirelab
