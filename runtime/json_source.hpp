// JSON documents that remember where each value came from, so an error can
// name file, line and JSON pointer, and a reader (Spec) that validates one
// object of a lab file: required keys, types, ranges and unknown keys (with a
// "did you mean").
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "runtime/errors.hpp"

namespace wirelab {
using json = nlohmann::json;

/// A parsed JSON file plus a map from JSON pointer to 1-based line.
class JsonDoc {
public:
    /// Reads and parses `file`; `display` is the name errors use. Throws
    /// LabError (with line and column) on unreadable or invalid JSON.
    static std::shared_ptr<const JsonDoc> load(const std::filesystem::path& file,
                                               std::string display);
    static std::shared_ptr<const JsonDoc> parse(std::string text, std::string display);

    const json& root() const { return root_; }
    const std::string& file() const { return display_; }
    /// The same document (file, lines) with another root of the same shape
    /// (a lab with its params expanded).
    /// `typed`: the pointers where a whole "{param}" string became the
    /// param's value (a number, say), with that value as text — a string
    /// key still reads it as a string.
    std::shared_ptr<const JsonDoc> with_root(json root, std::map<std::string, std::string> typed = {}) const {
        auto d = std::make_shared<JsonDoc>(*this);
        d->root_ = std::move(root);
        d->typed_ = std::move(typed);
        return d;
    }
    /// The text of a param that gave the value at `pointer` its type, or null.
    const std::string* param_text(const std::string& pointer) const {
        auto it = typed_.find(pointer);
        return it == typed_.end() ? nullptr : &it->second;
    }
    /// Line of the value at `pointer`, or of its nearest ancestor.
    int line_of(const std::string& pointer) const;
    Location at(const std::string& pointer) const { return {display_, line_of(pointer), pointer}; }

private:
    json root_;
    std::string display_;
    std::map<std::string, int> lines_;
    std::map<std::string, std::string> typed_;
};

/// Escapes a key for use in a JSON pointer (RFC 6901).
std::string pointer_escape(const std::string& key);

/// The closest of `candidates` to `word` (edit distance ≤ 2), or "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

/// One JSON object of a lab file, read with located errors. Every accessor
/// marks its key as known; finish() rejects the keys nobody asked for.
class Spec {
public:
    Spec(std::shared_ptr<const JsonDoc> doc, const json& value, std::string pointer,
         std::string what = "object");

    bool has(const std::string& key) const { return obj_->contains(key); }
    const json* get(const std::string& key);
    const json& required(const std::string& key);
    std::string string(const std::string& key);
    std::string string(const std::string& key, const std::string& def);
    std::optional<std::string> opt_string(const std::string& key);
    std::int64_t integer(const std::string& key, std::int64_t def, std::int64_t lo,
                         std::int64_t hi);
    std::optional<std::int64_t> opt_integer(const std::string& key, std::int64_t lo,
                                            std::int64_t hi);
    double number(const std::string& key, double def, double lo, double hi);
    bool boolean(const std::string& key, bool def);
    /// A string or an array of strings.
    std::vector<std::string> strings(const std::string& key);
    Spec object(const std::string& key);
    /// Marks keys as known without reading them (read elsewhere).
    void allow(std::initializer_list<const char*> keys);

    /// Throws LabError for the first key not read, suggesting a close one.
    void finish() const;

    [[noreturn]] void fail(const std::string& key, const std::string& what,
                           const std::string& fix = {}) const;
    std::string pointer(const std::string& key = {}) const;
    Location at(const std::string& key = {}) const;
    const json& value() const { return *obj_; }
    const std::shared_ptr<const JsonDoc>& doc() const { return doc_; }

private:
    std::shared_ptr<const JsonDoc> doc_;
    const json* obj_;
    std::string pointer_;
    std::string what_;
    std::set<std::string> known_;
};

/// Human name of a JSON value's type ("a string", "an array", ...).
std::string json_type_name(const json& v);

}  // namespace wirelab
