#include "runtime/json_source.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>

namespace wirelab {

namespace {

// Walks text that nlohmann already accepted and records the line at which
// each value starts, keyed by JSON pointer.
class LineIndexer {
public:
    LineIndexer(const std::string& t, std::map<std::string, int>& out) : t_(t), out_(out) {}
    void run() {
        skip_ws();
        value("");
    }

private:
    const std::string& t_;
    std::map<std::string, int>& out_;
    std::size_t i_ = 0;
    int line_ = 1;

    void skip_ws() {
        while (i_ < t_.size() && std::isspace(static_cast<unsigned char>(t_[i_]))) {
            if (t_[i_] == '\n') ++line_;
            ++i_;
        }
    }
    std::string string_token() {
        std::string s;
        ++i_;  // opening quote
        while (i_ < t_.size() && t_[i_] != '"') {
            if (t_[i_] == '\\' && i_ + 1 < t_.size()) {
                ++i_;
                char c = t_[i_];
                s += c == 'n' ? '\n' : c == 't' ? '\t' : c;
                if (c == 'u') i_ += 4, s.pop_back(), s += '?';
            } else {
                s += t_[i_];
            }
            ++i_;
        }
        ++i_;  // closing quote
        return s;
    }
    void value(const std::string& ptr) {
        if (i_ >= t_.size()) return;
        out_.emplace(ptr, line_);
        char c = t_[i_];
        if (c == '{') {
            ++i_;
            skip_ws();
            while (i_ < t_.size() && t_[i_] != '}') {
                std::string key = string_token();
                skip_ws();
                ++i_;  // ':'
                skip_ws();
                value(ptr + "/" + pointer_escape(key));
                skip_ws();
                if (i_ < t_.size() && t_[i_] == ',') ++i_;
                skip_ws();
            }
            ++i_;
        } else if (c == '[') {
            ++i_;
            skip_ws();
            int n = 0;
            while (i_ < t_.size() && t_[i_] != ']') {
                value(ptr + "/" + std::to_string(n++));
                skip_ws();
                if (i_ < t_.size() && t_[i_] == ',') ++i_;
                skip_ws();
            }
            ++i_;
        } else if (c == '"') {
            string_token();
        } else {
            while (i_ < t_.size() && !std::strchr(",]} \t\r\n", t_[i_])) ++i_;
        }
    }
};

std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1,
                               prev[j - 1] + (std::tolower(a[i - 1]) != std::tolower(b[j - 1]))});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

}  // namespace

std::string pointer_escape(const std::string& key) {
    std::string out;
    for (char c : key) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out += c;
    }
    return out;
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
    std::string best;
    std::size_t best_d = 3;
    for (const auto& c : candidates) {
        auto d = edit_distance(word, c);
        if (d < best_d) best_d = d, best = c;
    }
    return best;
}

std::shared_ptr<const JsonDoc> JsonDoc::load(const std::filesystem::path& file,
                                             std::string display) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        std::error_code ec;
        bool exists = std::filesystem::exists(file, ec);
        throw LabError({display, 0, ""}, exists ? "cannot read the file" : "file not found",
                       exists ? "check its permissions" : "check the path");
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return parse(ss.str(), std::move(display));
}

std::shared_ptr<const JsonDoc> JsonDoc::parse(std::string text, std::string display) {
    auto doc = std::make_shared<JsonDoc>();
    doc->display_ = std::move(display);
    try {
        doc->root_ = json::parse(text);
    } catch (const json::parse_error& e) {
        std::size_t byte = e.byte > 0 ? e.byte - 1 : 0;
        int line = 1, col = 1;
        for (std::size_t i = 0; i < byte && i < text.size(); ++i) {
            if (text[i] == '\n')
                ++line, col = 1;
            else
                ++col;
        }
        std::string msg = e.what();
        auto pos = msg.find(": ", msg.find("parse error"));
        if (pos != std::string::npos) msg = msg.substr(pos + 2);
        throw LabError({doc->display_, line, ""},
                       "invalid JSON at column " + std::to_string(col) + ": " + msg,
                       "fix the syntax (a missing comma or quote, or a trailing comma, is the "
                       "usual cause)");
    } catch (const json::exception& e) {
        // A number too big for a double (1e400) is not a parse error to
        // nlohmann, but it is one here.
        std::string msg = e.what();
        auto pos = msg.find("] ");
        if (pos != std::string::npos) msg = msg.substr(pos + 2);
        throw LabError({doc->display_, 1, ""}, "invalid JSON: " + msg,
                       "write numbers that fit a double (up to about 1.8e308)");
    }
    LineIndexer(text, doc->lines_).run();
    return doc;
}

int JsonDoc::line_of(const std::string& pointer) const {
    std::string p = pointer;
    while (true) {
        auto it = lines_.find(p);
        if (it != lines_.end()) return it->second;
        if (p.empty()) return 0;
        p = p.substr(0, p.rfind('/'));
    }
}

std::string json_type_name(const json& v) {
    switch (v.type()) {
        case json::value_t::null: return "null";
        case json::value_t::boolean: return "a boolean";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned: return "an integer";
        case json::value_t::number_float: return "a number";
        case json::value_t::string: return "a string";
        case json::value_t::array: return "an array";
        case json::value_t::object: return "an object";
        default: return "a value";
    }
}

Spec::Spec(std::shared_ptr<const JsonDoc> doc, const json& value, std::string pointer,
           std::string what)
    : doc_(std::move(doc)), obj_(&value), pointer_(std::move(pointer)), what_(std::move(what)) {
    if (!value.is_object())
        throw LabError(doc_->at(pointer_), what_ + " must be a JSON object, got " +
                                               json_type_name(value));
}

std::string Spec::pointer(const std::string& key) const {
    return key.empty() ? pointer_ : pointer_ + "/" + pointer_escape(key);
}
Location Spec::at(const std::string& key) const { return doc_->at(pointer(key)); }

void Spec::fail(const std::string& key, const std::string& what, const std::string& fix) const {
    throw LabError(at(key), what, fix);
}

const json* Spec::get(const std::string& key) {
    known_.insert(key);
    auto it = obj_->find(key);
    return it == obj_->end() ? nullptr : &*it;
}

const json& Spec::required(const std::string& key) {
    const json* v = get(key);
    if (!v) fail("", what_ + " is missing the required key \"" + key + "\"");
    return *v;
}

std::string Spec::string(const std::string& key) {
    const json& v = required(key);
    if (!v.is_string()) {
        if (const std::string* t = doc_->param_text(pointer(key))) return *t;
        fail(key, "\"" + key + "\" must be a string, got " + json_type_name(v));
    }
    return v.get<std::string>();
}

std::string Spec::string(const std::string& key, const std::string& def) {
    auto v = opt_string(key);
    return v ? *v : def;
}

std::optional<std::string> Spec::opt_string(const std::string& key) {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) {
        if (const std::string* t = doc_->param_text(pointer(key))) return *t;
        fail(key, "\"" + key + "\" must be a string, got " + json_type_name(*v));
    }
    return v->get<std::string>();
}

std::optional<std::int64_t> Spec::opt_integer(const std::string& key, std::int64_t lo,
                                              std::int64_t hi) {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_number_integer())
        fail(key, "\"" + key + "\" must be an integer, got " + json_type_name(*v));
    auto n = v->get<std::int64_t>();
    if (n < lo || n > hi)
        fail(key, "\"" + key + "\" must be between " + std::to_string(lo) + " and " +
                      std::to_string(hi) + ", got " + std::to_string(n));
    return n;
}

std::int64_t Spec::integer(const std::string& key, std::int64_t def, std::int64_t lo,
                           std::int64_t hi) {
    auto v = opt_integer(key, lo, hi);
    return v ? *v : def;
}

double Spec::number(const std::string& key, double def, double lo, double hi) {
    const json* v = get(key);
    if (!v) return def;
    if (!v->is_number()) fail(key, "\"" + key + "\" must be a number, got " + json_type_name(*v));
    double d = v->get<double>();
    if (d < lo || d > hi) {
        std::ostringstream m;
        m << "\"" << key << "\" must be between " << lo << " and " << hi << ", got " << d;
        fail(key, m.str());
    }
    return d;
}

bool Spec::boolean(const std::string& key, bool def) {
    const json* v = get(key);
    if (!v) return def;
    if (!v->is_boolean())
        fail(key, "\"" + key + "\" must be true or false, got " + json_type_name(*v));
    return v->get<bool>();
}

std::vector<std::string> Spec::strings(const std::string& key) {
    const json* v = get(key);
    std::vector<std::string> out;
    if (!v) return out;
    if (v->is_string()) return {v->get<std::string>()};
    if (!v->is_array())
        fail(key, "\"" + key + "\" must be a string or an array of strings, got " +
                      json_type_name(*v));
    for (std::size_t i = 0; i < v->size(); ++i) {
        if (const std::string* t = (*v)[i].is_string() ? nullptr : doc_->param_text(pointer(key) + "/" + std::to_string(i))) {
            out.push_back(*t);
            continue;
        }
        if (!(*v)[i].is_string())
            throw LabError(doc_->at(pointer(key) + "/" + std::to_string(i)),
                           "\"" + key + "\" must hold strings only, got " +
                               json_type_name((*v)[i]));
        out.push_back((*v)[i].get<std::string>());
    }
    return out;
}

Spec Spec::object(const std::string& key) {
    return Spec(doc_, required(key), pointer(key), "\"" + key + "\"");
}

void Spec::allow(std::initializer_list<const char*> keys) {
    for (auto* k : keys) known_.insert(k);
}

void Spec::finish() const {
    std::vector<std::string> known(known_.begin(), known_.end());
    for (auto it = obj_->begin(); it != obj_->end(); ++it) {
        if (known_.count(it.key())) continue;
        std::string guess = did_you_mean(it.key(), known);
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        fail(it.key(), "unknown key \"" + it.key() + "\" in " + what_,
             guess.empty() ? "the keys allowed here are: " + list
                           : "did you mean \"" + guess + "\"?");
    }
}

}  // namespace wirelab
