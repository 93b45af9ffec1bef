#include "runtime/params.hpp"

#include <fstream>
#include <regex>
#include <sstream>

#include "runtime/faults.hpp"

namespace wirelab {

namespace fs = std::filesystem;

namespace {

// splitmix64: a small generator whose sequence is the same on every machine
// (std:: distributions are not specified exactly).
struct Rng {
    std::uint64_t s;
    std::uint64_t next() {
        std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    std::uint64_t below(std::uint64_t n) { return n ? next() % n : 0; }
};

const std::regex& placeholder_re() {
    // {{name}} (a literal), or {name} / {name.key.0}
    static const std::regex re(R"(\{\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\}\}|\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\})");
    return re;
}

std::string as_text(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

}  // namespace

std::uint64_t learner_seed(const std::string& learner, const std::string& lab_id) {
    return mix_seed(hash_name(learner), hash_name(lab_id)) & 0xffffffffULL;
}

std::uint64_t classroom_seed(const std::string& token, const std::string& lab_id) {
    return learner_seed("classroom:" + token, lab_id);
}

Params Params::draw(const std::shared_ptr<const JsonDoc>& doc, const fs::path& lab_dir, std::uint64_t seed) {
    Params p;
    auto it = doc->root().find("params");
    if (it == doc->root().end()) return p;
    if (!it->is_object())
        throw LabError(doc->at("/params"), "\"params\" must be an object of named params",
                       "e.g. \"params\": {\"car_id\": {\"int\": [5, 9]}}");
    static const std::regex name_re("[A-Za-z_][A-Za-z0-9_]*");
    std::vector<std::string> from_file;
    for (auto pit = it->begin(); pit != it->end(); ++pit) {
        const std::string& name = pit.key();
        std::string ptr = "/params/" + pointer_escape(name);
        if (!std::regex_match(name, name_re))
            throw LabError(doc->at(ptr), "param name \"" + name + "\" is not valid",
                           "use letters, digits and '_', starting with a letter");
        Spec s(doc, pit.value(), ptr, "param \"" + name + "\"");
        if (!pit.value().is_object())
            s.fail("", "a param must be an object with one of \"int\", \"choice\", \"string\", \"subset\"",
                   "e.g. {\"int\": [5, 9]}");
        Rng rng{mix_seed(seed, hash_name(name))};
        s.get("description");
        int kinds = s.has("int") + s.has("choice") + s.has("string") + s.has("subset");
        if (kinds != 1)
            s.fail("", "a param needs exactly one of \"int\", \"choice\", \"string\", \"subset\"",
                   "e.g. {\"int\": [5, 9]} or {\"choice\": [\"Volvo\", \"Fiat\"]}");
        nlohmann::json value;
        if (const json* r = s.get("int")) {
            if (!r->is_array() || r->size() != 2 || !(*r)[0].is_number_integer() || !(*r)[1].is_number_integer())
                s.fail("int", "\"int\" is a range of two integers, [lowest, highest]");
            auto lo = (*r)[0].get<std::int64_t>(), hi = (*r)[1].get<std::int64_t>();
            if (lo > hi) s.fail("int", "the range's first number must not be larger than its second");
            value = lo + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(hi - lo) + 1));
        } else if (const json* c = s.get("choice")) {
            if (!c->is_array() || c->empty()) s.fail("choice", "\"choice\" is a non-empty array of values");
            value = (*c)[rng.below(c->size())];
        } else if (s.has("string")) {
            Spec str = s.object("string");
            auto length = str.integer("length", 8, 1, 256);
            std::string alphabet = str.string("alphabet", "abcdefghijklmnopqrstuvwxyz0123456789");
            std::string prefix = str.string("prefix", "");
            str.finish();
            if (alphabet.empty()) str.fail("alphabet", "the alphabet is empty");
            std::string v = prefix;
            for (std::int64_t i = 0; i < length; ++i) v += alphabet[rng.below(alphabet.size())];
            value = v;
        } else {
            Spec sub = s.object("subset");
            const json& of = sub.required("of");
            nlohmann::json pool;
            if (of.is_array()) {
                pool = of;
            } else if (of.is_string()) {
                // "file.json#/pointer": a list in one of the lab's data files
                std::string ref = of.get<std::string>();
                std::string file = ref.substr(0, ref.find('#'));
                std::string pointer = ref.find('#') == std::string::npos ? "" : ref.substr(ref.find('#') + 1);
                std::ifstream in(lab_dir / file, std::ios::binary);
                if (!in)
                    sub.fail("of", "file \"" + file + "\" not found in " + lab_dir.string(),
                             "give a list, or \"data/file.json#/pointer/to/a/list\"");
                std::stringstream ss;
                ss << in.rdbuf();
                auto data = nlohmann::json::parse(ss.str(), nullptr, false);
                if (data.is_discarded()) sub.fail("of", "file \"" + file + "\" is not valid JSON");
                try {
                    pool = data.at(nlohmann::json::json_pointer(pointer));
                } catch (const std::exception&) {
                    sub.fail("of", "\"" + pointer + "\" is not in " + file, "use a JSON pointer such as #/cars");
                }
            } else {
                sub.fail("of", "\"of\" is a list, or \"file.json#/pointer\" naming one");
            }
            if (!pool.is_array()) sub.fail("of", "\"of\" must name a list");
            auto size = sub.integer("size", 1, 0, 100000);
            sub.finish();
            if (static_cast<std::size_t>(size) > pool.size())
                sub.fail("size", "a subset of " + std::to_string(size) + " from a list of " +
                                     std::to_string(pool.size()));
            // Choose `size` indices (a partial Fisher–Yates), keep the list's order.
            std::vector<std::size_t> idx(pool.size());
            for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
            for (std::size_t i = 0; i < static_cast<std::size_t>(size); ++i)
                std::swap(idx[i], idx[i + rng.below(idx.size() - i)]);
            idx.resize(static_cast<std::size_t>(size));
            std::sort(idx.begin(), idx.end());
            value = nlohmann::json::array();
            for (auto i : idx) value.push_back(pool[i]);
        }
        s.finish();
        p.values_[name] = value;
        if (s.has("subset") && pit.value()["subset"].value("of", nlohmann::json()).is_string()) from_file.push_back(name);
    }
    // Items taken from a data file get the other params, as the file does.
    for (const auto& name : from_file) {
        nlohmann::json v = p.values_[name];
        p.expand_json(v);
        p.values_[name] = v;
    }
    return p;
}

const nlohmann::json* Params::lookup(const std::string& ref, nlohmann::json& scratch) const {
    std::string head = ref.substr(0, ref.find('.'));
    auto it = values_.find(head);
    if (it == values_.end()) return nullptr;
    if (head.size() == ref.size()) return &it->second;
    std::string pointer;
    for (std::size_t i = head.size(); i < ref.size();) {
        std::size_t next = ref.find('.', i + 1);
        pointer += "/" + ref.substr(i + 1, next == std::string::npos ? std::string::npos : next - i - 1);
        i = next == std::string::npos ? ref.size() : next;
    }
    try {
        scratch = it->second.at(nlohmann::json::json_pointer(pointer));
    } catch (const std::exception&) {
        return nullptr;
    }
    return &scratch;
}

std::string Params::expand(const std::string& text) const {
    if (values_.empty()) return text;
    std::string out;
    auto last = text.cbegin();
    nlohmann::json scratch;
    for (std::sregex_iterator it(text.begin(), text.end(), placeholder_re()), end; it != end; ++it) {
        out.append(last, text.cbegin() + it->position());
        const nlohmann::json* v = (*it)[2].matched ? lookup((*it)[2].str(), scratch) : nullptr;
        out += v ? as_text(*v) : it->str();
        last = text.cbegin() + it->position() + it->length();
    }
    out.append(last, text.cend());
    return out;
}

std::optional<nlohmann::json> Params::whole(const std::string& text) const {
    std::smatch m;
    if (values_.empty() || !std::regex_match(text, m, placeholder_re()) || !m[2].matched) return std::nullopt;
    nlohmann::json scratch;
    const nlohmann::json* v = lookup(m[2].str(), scratch);
    if (!v) return std::nullopt;
    return *v;
}

nlohmann::json Params::expand_value(const nlohmann::json& v, const std::string& ptr, const JsonDoc& doc,
                                    std::map<std::string, std::string>& typed) const {
    if (v.is_object()) {
        nlohmann::json o = nlohmann::json::object();
        for (auto it = v.begin(); it != v.end(); ++it) {
            std::string p = ptr + "/" + pointer_escape(it.key());
            o[it.key()] = p == "/params" ? it.value() : expand_value(it.value(), p, doc, typed);
        }
        return o;
    }
    if (v.is_array()) {
        nlohmann::json a = nlohmann::json::array();
        for (std::size_t i = 0; i < v.size(); ++i) a.push_back(expand_value(v[i], ptr + "/" + std::to_string(i), doc, typed));
        return a;
    }
    if (!v.is_string()) return v;
    const std::string& text = v.get_ref<const std::string&>();
    nlohmann::json scratch;
    std::smatch whole;
    if (std::regex_match(text, whole, placeholder_re()) && whole[2].matched)
        if (const nlohmann::json* one = lookup(whole[2].str(), scratch)) {
            if (!one->is_string()) typed[ptr] = as_text(*one);
            return *one;
        }
    std::string out;
    auto last = text.cbegin();
    for (std::sregex_iterator it(text.begin(), text.end(), placeholder_re()), end; it != end; ++it) {
        out.append(last, text.cbegin() + it->position());
        if ((*it)[1].matched) {
            out += "{" + (*it)[1].str() + "}";
        } else if (const nlohmann::json* one = lookup((*it)[2].str(), scratch)) {
            out += as_text(*one);
        } else {
            std::vector<std::string> names;
            for (const auto& [k, x] : values_) names.push_back(k);
            std::string ref = (*it)[2].str(), head = ref.substr(0, ref.find('.')), guess = did_you_mean(head, names);
            std::string list;
            for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
            throw LabError(doc.at(ptr),
                           values_.count(head) ? "{" + ref + "}: param \"" + head + "\" has no part \"" +
                                                     ref.substr(head.size() + 1) + "\""
                                               : "{" + ref + "} is not a param of this lab",
                           !guess.empty() && guess != head
                               ? "did you mean {" + guess + "}? (write {{" + ref + "}} for a literal {" + ref + "})"
                               : "params: " + list + " (write {{" + ref + "}} for a literal {" + ref + "})");
        }
        last = text.cbegin() + it->position() + it->length();
    }
    out.append(last, text.cend());
    return out;
}

nlohmann::json Params::expand_lab(const nlohmann::json& root, const JsonDoc& doc,
                                  std::map<std::string, std::string>& typed) const {
    if (values_.empty()) return root;
    return expand_value(root, "", doc, typed);
}

}  // namespace wirelab
