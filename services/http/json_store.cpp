#include "services/http/json_store.hpp"

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <regex>

namespace wirelab::http {

namespace {

// ---- JavaScript value semantics, for json-server's comparisons ----------

double js_number_of_string(const std::string& s) {
    std::size_t a = s.find_first_not_of(" \t\n\r\f\v");
    if (a == std::string::npos) return 0;  // Number("") === 0
    std::size_t b = s.find_last_not_of(" \t\n\r\f\v");
    std::string t = s.substr(a, b - a + 1);
    if (t == "Infinity" || t == "+Infinity") return INFINITY;
    if (t == "-Infinity") return -INFINITY;
    char* end = nullptr;
    double d;
    if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X'))
        d = static_cast<double>(std::strtoull(t.c_str() + 2, &end, 16));
    else if (t.find_first_of("xXpP") != std::string::npos || t.find("nan") != std::string::npos ||
             t.find("inf") != std::string::npos)
        return NAN;
    else
        d = std::strtod(t.c_str(), &end);
    return (end && *end == '\0') ? d : NAN;
}

double js_number(const ojson& v) {
    if (v.is_number()) return v.get<double>();
    if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
    if (v.is_null()) return 0;
    return js_number_of_string(js_string(v));
}

// JS `a < b` for two defined values (ToPrimitive, then string or number).
bool js_lt(const ojson& a, const ojson& b) {
    bool as = a.is_string() || a.is_object() || a.is_array();
    bool bs = b.is_string() || b.is_object() || b.is_array();
    if (as && bs) return js_string(a) < js_string(b);
    double x = js_number(a), y = js_number(b);
    return x < y;  // NaN compares false
}

// JS `a <= b`: false when either side is NaN.
bool js_le(const ojson& a, const ojson& b) {
    bool as = a.is_string() || a.is_object() || a.is_array();
    bool bs = b.is_string() || b.is_object() || b.is_array();
    if (as && bs) return !(js_string(b) < js_string(a));
    return js_number(a) <= js_number(b);
}

// lodash's compareAscending; nullptr is `undefined`.
int compare_ascending(const ojson* value, const ojson* other) {
    bool same = (value == nullptr && other == nullptr) ||
                (value && other && value->type() == other->type() && !value->is_structured() &&
                 *value == *other) ||
                (value && other && value->is_number() && other->is_number() &&
                 value->get<double>() == other->get<double>());
    if (same) return 0;
    bool val_def = value != nullptr, val_null = value && value->is_null();
    bool oth_def = other != nullptr, oth_null = other && other->is_null();
    bool gt = val_def && oth_def && js_lt(*other, *value);
    bool lt = val_def && oth_def && js_lt(*value, *other);
    if ((!oth_null && gt) || (val_null && oth_def) || !val_def) return 1;
    if ((!val_null && lt) || (oth_null && val_def) || !oth_def) return -1;
    return 0;
}

// lodash _.get(obj, "a.b").
const ojson* get_path(const ojson& obj, const std::string& path) {
    const ojson* cur = &obj;
    std::size_t start = 0;
    while (true) {
        std::size_t dot = path.find('.', start);
        std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (cur->is_object()) {
            auto it = cur->find(key);
            if (it == cur->end()) return nullptr;
            cur = &*it;
        } else if (cur->is_array() && !key.empty() &&
                   key.find_first_not_of("0123456789") == std::string::npos) {
            std::size_t i = std::stoul(key);
            if (i >= cur->size()) return nullptr;
            cur = &(*cur)[i];
        } else {
            return nullptr;
        }
        if (dot == std::string::npos) return cur;
        start = dot + 1;
    }
}

// JS parseInt(s, 10); nullopt is NaN.
std::optional<long long> parse_int(const std::string& s) {
    std::size_t i = 0;
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    bool neg = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    std::size_t d = i;
    long long v = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && i - d < 15)
        v = v * 10 + (s[i++] - '0');
    if (i == d) return std::nullopt;
    return neg ? -v : v;
}

// JS truthiness of an optional query value.
bool truthy(const std::string* v) { return v && !v->empty(); }

// Array.prototype.slice / lodash slice index normalisation.
std::size_t slice_index(long long i, std::size_t n) {
    if (i < 0) i = std::max(0LL, static_cast<long long>(n) + i);
    return static_cast<std::size_t>(std::min<long long>(i, static_cast<long long>(n)));
}

ojson slice(const ojson& arr, long long start, long long end) {
    std::size_t a = slice_index(start, arr.size()), b = slice_index(end, arr.size());
    ojson out = ojson::array();
    for (std::size_t i = a; i < b; ++i) out.push_back(arr[i]);
    return out;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// json-server's deepQuery: full-text search of every primitive, skipping
// falsy values as JavaScript does.
bool deep_query(const ojson& v, const std::string& q) {
    if (v.is_null() || (v.is_boolean() && !v.get<bool>()) ||
        (v.is_number() && v.get<double>() == 0) || (v.is_string() && v.get_ref<const std::string&>().empty()))
        return false;
    if (v.is_array() || v.is_object()) {
        for (const auto& x : v)
            if (deep_query(x, q)) return true;
        return false;
    }
    return lower(js_string(v)).find(q) != std::string::npos;
}

std::string singular_of(const std::string& plural) {
    if (ends_with(plural, "ies")) return plural.substr(0, plural.size() - 3) + "y";
    for (const char* e : {"sses", "shes", "ches", "xes", "zes"})
        if (ends_with(plural, e)) return plural.substr(0, plural.size() - 2);
    if (ends_with(plural, "s") && !ends_with(plural, "ss")) return plural.substr(0, plural.size() - 1);
    return plural;
}

std::string plural_of(const std::string& s) {
    if (ends_with(s, "y") && s.size() > 1 && !std::strchr("aeiou", s[s.size() - 2]))
        return s.substr(0, s.size() - 1) + "ies";
    for (const char* e : {"s", "sh", "ch", "x", "z"})
        if (ends_with(s, e)) return s + "es";
    return s + "s";
}

bool js_falsy(const ojson* v) {
    return !v || v->is_null() || (v->is_boolean() && !v->get<bool>()) ||
           (v->is_number() && v->get<double>() == 0) ||
           (v->is_string() && v->get_ref<const std::string&>().empty());
}

// lodash-id getById: String(doc.id) === String(id).
ojson::iterator find_by_id(ojson& coll, const std::string& id) {
    // As JavaScript compares String(doc.id) with the path's id, without
    // formatting every id of the collection: an integer id equals only the
    // canonical decimal text of itself, a string id only the same text.
    std::optional<std::int64_t> as_int;
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), v);
    if (ec == std::errc() && end == id.data() + id.size() && std::to_string(v) == id) as_int = v;
    return std::find_if(coll.begin(), coll.end(), [&](const ojson& d) {
        if (!d.is_object()) return false;
        auto it = d.find("id");
        if (it == d.end() || it->is_null()) return false;
        if (it->is_number_integer() && !it->is_number_unsigned()) return as_int && it->get<std::int64_t>() == *as_int;
        if (it->is_string()) return it->get_ref<const std::string&>() == id;
        return js_string(*it) == id;
    });
}

StoreResponse json_response(int status, const ojson& body) {
    StoreResponse r;
    r.status = status;
    r.body = pretty(body);
    return r;
}

StoreResponse not_found() { return json_response(404, ojson::object()); }

const std::string* query_value(const Fields& q, const std::string& key) {
    for (const auto& [k, v] : q)
        if (k == key) return &v;
    return nullptr;
}

// JS numbers have no integer/float distinction: 1.0 is 1.
void normalise_numbers(ojson& v) {
    if (v.is_number_float()) {
        double d = v.get<double>();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0)
            v = static_cast<std::int64_t>(d);
    } else if (v.is_structured()) {
        for (auto& x : v) normalise_numbers(x);
    }
}

StoreResponse bad_body(const std::string& error) {
    StoreResponse r;
    r.status = 400;
    r.content_type = "text/html; charset=utf-8";
    r.body = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
             "<title>Error</title>\n</head>\n<body>\n<pre>SyntaxError: " +
             error + "</pre>\n</body>\n</html>\n";
    return r;
}

}  // namespace

std::string js_string(const ojson& v) {
    switch (v.type()) {
        case ojson::value_t::string: return v.get<std::string>();
        case ojson::value_t::boolean: return v.get<bool>() ? "true" : "false";
        case ojson::value_t::null: return "null";
        case ojson::value_t::number_integer: return std::to_string(v.get<std::int64_t>());
        case ojson::value_t::number_unsigned: return std::to_string(v.get<std::uint64_t>());
        case ojson::value_t::number_float: {
            double d = v.get<double>();
            if (std::isnan(d)) return "NaN";
            if (d == std::floor(d) && std::fabs(d) < 1e21) {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%.0f", d);
                return buf;
            }
            return v.dump();
        }
        case ojson::value_t::array: {
            std::string out;
            bool first = true;
            for (const auto& x : v) {
                if (!first) out += ',';
                first = false;
                if (!x.is_null()) out += js_string(x);
            }
            return out;
        }
        case ojson::value_t::object: return "[object Object]";
        default: return "";
    }
}

std::string pretty(const ojson& v) { return v.dump(2, ' ', false, ojson::error_handler_t::replace); }

std::string percent_decode(const std::string& s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '+' && plus_is_space) {
            out += ' ';
        } else if (c == '%' && i + 2 < s.size() + 0 && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
                   std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += c;
        }
    }
    return out;
}

Fields parse_query(const std::string& q) {
    Fields out;
    std::size_t start = 0;
    while (start <= q.size()) {
        std::size_t amp = q.find('&', start);
        if (amp == std::string::npos) amp = q.size();
        std::string part = q.substr(start, amp - start);
        if (!part.empty()) {
            auto eq = part.find('=');
            std::string k = percent_decode(part.substr(0, eq), true);
            std::string v = eq == std::string::npos ? "" : percent_decode(part.substr(eq + 1), true);
            out.emplace_back(k, v);
        }
        start = amp + 1;
    }
    return out;
}

bool parse_body(const std::string& content_type, const std::string& body, ojson& out,
                std::string& error) {
    std::string mime = lower(content_type.substr(0, content_type.find(';')));
    mime.erase(std::remove_if(mime.begin(), mime.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); }), mime.end());
    out = ojson::object();
    if (mime == "application/json") {
        if (body.find_first_not_of(" \t\r\n") == std::string::npos) return true;
        try {
            out = ojson::parse(body);
        } catch (const ojson::parse_error& e) {
            error = "Unexpected token in JSON at position " + std::to_string(e.byte > 0 ? e.byte - 1 : 0);
            return false;
        }
        if (!out.is_object() && !out.is_array()) {
            error = "Unexpected token in JSON at position 0";
            return false;
        }
        normalise_numbers(out);
    } else if (mime == "application/x-www-form-urlencoded") {
        for (auto& [k, v] : parse_query(body)) {
            auto it = out.find(k);
            if (it == out.end())
                out[k] = v;
            else if (it->is_array())
                it->push_back(v);
            else
                *it = ojson::array({*it, v});
        }
    }
    return true;
}

JsonStore::JsonStore(ojson db, std::uint64_t seed) : db_(std::move(db)), rng_(seed) {
    normalise_numbers(db_);
}

std::map<std::string, JsonStore::Changed> JsonStore::take_changes() { return std::exchange(dirty_, {}); }

std::set<std::string> JsonStore::take_dirty() {
    std::set<std::string> names;
    for (const auto& [name, c] : take_changes()) names.insert(name);
    return names;
}

void JsonStore::touch(const std::string& name, std::optional<std::size_t> pos) {
    Changed& c = dirty_[name];
    if (pos)
        c.at.insert(*pos);
    else
        c.all = true;
    if (!pos) index_[name].valid = false;  // anything but a POST: rebuilt when next needed
}

JsonStore::IdIndex& JsonStore::index_of(const std::string& name, const ojson& coll) {
    IdIndex& ix = index_[name];
    if (ix.valid) return ix;
    ix = IdIndex{};
    for (const auto& d : coll) {
        if (!d.is_object() || !d.contains("id")) continue;
        const ojson& v = d["id"];
        if (!ix.max || js_lt(*ix.max, v)) ix.max = v;
        if (!v.is_null()) ix.ids.insert(js_string(v));
    }
    ix.valid = true;
    return ix;
}

std::string JsonStore::new_string_id() {
    static const char alphabet[] =
        "useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict";
    std::string id;
    for (int i = 0; i < 7; ++i) id += alphabet[rng_() % 64];
    return id;
}

StoreResponse JsonStore::handle(const StoreRequest& req) {
    // Express matches routes case-insensitively and ignores one trailing slash.
    std::string path = req.path;
    if (path.size() > 1 && path.back() == '/') path.pop_back();
    std::vector<std::string> seg;
    for (std::size_t i = 1; i <= path.size();) {
        std::size_t j = path.find('/', i);
        if (j == std::string::npos) j = path.size();
        seg.push_back(path.substr(i, j - i));
        i = j + 1;
    }
    const std::string& m = req.method;
    bool get = m == "GET" || m == "HEAD";

    if (seg.size() == 1 && lower(seg[0]) == "db" && get) return json_response(200, db_);
    if (seg.empty() || (seg.size() == 1 && seg[0].empty())) return not_found();

    std::string name;
    for (auto it = db_.begin(); it != db_.end(); ++it)
        if (lower(it.key()) == lower(seg[0])) name = it.key();
    if (name.empty()) return not_found();
    ojson& res = db_[name];

    if (!res.is_array()) {
        if (seg.size() != 1) return not_found();
        return singular(name, req);
    }
    if (seg.size() == 1) {
        if (get) return list(name, req);
        if (m == "POST") return create(name, req);
        return not_found();
    }
    if (seg.size() == 2) {
        const std::string& id = seg[1];
        if (get) {
            auto it = find_by_id(res, id);
            return it == res.end() ? not_found() : json_response(200, *it);
        }
        if (m == "PUT" || m == "PATCH") return update(name, id, req);
        if (m == "DELETE") return destroy(name, id);
        return not_found();
    }
    if (seg.size() == 3) {
        // Nested: /posts/1/comments is /comments?postId=1 (GET) or a POST
        // with postId set.
        std::string nested;
        for (auto it = db_.begin(); it != db_.end(); ++it)
            if (lower(it.key()) == lower(seg[2]) && it->is_array()) nested = it.key();
        if (nested.empty()) return not_found();
        std::string fk = singular_of(name) + "Id";
        StoreRequest sub = req;
        if (get) {
            sub.query.insert(sub.query.begin(), {fk, seg[1]});
            return list(nested, sub);
        }
        if (m == "POST") {
            ojson body;
            std::string error;
            if (!parse_body(req.content_type, req.body, body, error)) return bad_body(error);
            if (body.is_object()) {
                auto n = parse_int(seg[1]);
                body[fk] = (n && std::to_string(*n) == seg[1]) ? ojson(*n) : ojson(seg[1]);
            }
            sub.content_type = "application/json";
            sub.body = body.dump();
            return create(nested, sub);
        }
    }
    return not_found();
}

StoreResponse JsonStore::list(const std::string& name, const StoreRequest& req) {
    const ojson& coll = db_[name];
    static const std::set<std::string> special = {"q", "_start", "_end", "_page", "_sort",
                                                  "_order", "_limit", "_embed", "_expand"};
    const std::string* q = query_value(req.query, "q");
    const std::string* start_s = query_value(req.query, "_start");
    const std::string* end_s = query_value(req.query, "_end");
    const std::string* page_s = query_value(req.query, "_page");
    const std::string* sort_s = query_value(req.query, "_sort");
    const std::string* order_s = query_value(req.query, "_order");
    const std::string* limit_s = query_value(req.query, "_limit");

    // Filters, grouped by key in first-seen order; keys no item has are
    // dropped, as json-server does.
    std::vector<std::pair<std::string, std::vector<std::string>>> filters;
    for (const auto& kv : req.query) {
        const std::string& k = kv.first;  // (not a structured binding: clang 14 cannot capture one)
        const std::string& v = kv.second;
        if (special.count(k)) continue;
        auto f = std::find_if(filters.begin(), filters.end(), [&](auto& p) { return p.first == k; });
        if (f != filters.end()) {
            f->second.push_back(v);
            continue;
        }
        bool keep = k == "callback" || k == "_" || ends_with(k, "_lte") || ends_with(k, "_gte") ||
                    ends_with(k, "_ne") || ends_with(k, "_like");
        for (const auto& item : coll)
            if (!keep && get_path(item, k)) keep = true;
        if (keep) filters.push_back({k, {v}});
    }

    std::vector<const ojson*> items;
    for (const auto& item : coll) items.push_back(&item);

    if (q) {
        std::string needle = lower(*q);
        std::erase_if(items, [&](const ojson* obj) {
            if (!obj->is_object()) return true;
            for (const auto& v : *obj)
                if (deep_query(v, needle)) return false;
            return true;
        });
    }

    for (const auto& filter : filters) {
        const std::string& key = filter.first;
        const std::vector<std::string>& values = filter.second;
        if (key == "callback" || key == "_") continue;
        bool ne = ends_with(key, "_ne"), like = ends_with(key, "_like");
        bool gte = ends_with(key, "_gte"), lte = ends_with(key, "_lte");
        std::string path = key;
        for (const char* suf : {"_lte", "_gte", "_ne", "_like"})
            if (ends_with(path, suf)) {
                path.resize(path.size() - std::strlen(suf));
                break;
            }
        std::vector<std::regex> regexes;
        if (like)
            for (const auto& v : values) {
                try {
                    regexes.emplace_back(v, std::regex::ECMAScript | std::regex::icase);
                } catch (const std::regex_error&) {
                    StoreResponse r;
                    r.status = 500;
                    r.content_type = "text/html; charset=utf-8";
                    r.body = "SyntaxError: Invalid regular expression: /" + v + "/";
                    return r;
                }
            }
        std::erase_if(items, [&](const ojson* item) {
            const ojson* ev = get_path(*item, path);
            bool acc = ne;  // AND for _ne, OR otherwise
            for (std::size_t i = 0; i < values.size(); ++i) {
                bool r = false;
                if (ev && !ev->is_null()) {
                    ojson value = values[i];
                    if (gte) r = js_le(value, *ev);  // value <= elementValue
                    else if (lte) r = js_le(*ev, value);
                    else if (ne) r = values[i] != js_string(*ev);
                    else if (like) r = std::regex_search(js_string(*ev), regexes[i]);
                    else r = values[i] == js_string(*ev);
                }
                acc = ne ? (acc && r) : (acc || r);
            }
            return !acc;
        });
    }

    ojson result = ojson::array();
    if (sort_s) {
        std::vector<std::string> fields, orders;
        for (std::size_t s = 0; s <= sort_s->size();) {
            auto c = sort_s->find(',', s);
            if (c == std::string::npos) c = sort_s->size();
            fields.push_back(sort_s->substr(s, c - s));
            s = c + 1;
        }
        std::string o = order_s ? lower(*order_s) : "";
        for (std::size_t s = 0; s <= o.size();) {
            auto c = o.find(',', s);
            if (c == std::string::npos) c = o.size();
            orders.push_back(o.substr(s, c - s));
            s = c + 1;
        }
        std::stable_sort(items.begin(), items.end(), [&](const ojson* a, const ojson* b) {
            for (std::size_t i = 0; i < fields.size(); ++i) {
                int c = compare_ascending(get_path(*a, fields[i]), get_path(*b, fields[i]));
                if (c) return (i < orders.size() && orders[i] == "desc" ? -c : c) < 0;
            }
            return false;
        });
    }
    for (const ojson* i : items) result.push_back(*i);

    StoreResponse r;
    if (truthy(end_s) || truthy(limit_s) || truthy(page_s)) {
        r.headers.emplace_back("X-Total-Count", std::to_string(result.size()));
        r.headers.emplace_back("Access-Control-Expose-Headers",
                               truthy(page_s) ? "X-Total-Count, Link" : "X-Total-Count");
    }
    if (truthy(page_s)) {
        long long page = parse_int(*page_s).value_or(0);
        if (page < 1) page = 1;
        long long per = limit_s ? parse_int(*limit_s).value_or(0) : 0;
        if (per == 0) per = 10;
        long long total = static_cast<long long>(result.size());
        ojson items_page = slice(result, (page - 1) * per, page * per);
        std::vector<std::pair<std::string, long long>> links;
        if (!items_page.empty()) {
            bool partial = static_cast<long long>(items_page.size()) != total;
            if (partial) links.emplace_back("first", 1);
            if (page > 1) links.emplace_back("prev", page - 1);
            if (page * per < total) links.emplace_back("next", page + 1);
            if (partial) links.emplace_back("last", (total + per - 1) / per);
        }
        std::string full = req.base_url + req.target, link;
        std::string from = "page=" + std::to_string(page);
        for (auto& [rel, n] : links) {
            std::string url = full;
            auto at = url.find(from);
            if (at != std::string::npos) url.replace(at, from.size(), "page=" + std::to_string(n));
            if (!link.empty()) link += ", ";
            link += "<" + url + ">; rel=\"" + rel + "\"";
        }
        r.headers.emplace_back("Link", link);
        result = std::move(items_page);
    } else if (truthy(end_s)) {
        long long start = start_s ? parse_int(*start_s).value_or(0) : 0;
        auto end = parse_int(*end_s);
        result = slice(result, start, end.value_or(0));
    } else if (truthy(limit_s)) {
        long long start = start_s ? parse_int(*start_s).value_or(0) : 0;
        auto lim = parse_int(*limit_s);
        result = lim ? slice(result, start, start + *lim) : ojson::array();
    }
    r.body = pretty(result);
    return r;
}

StoreResponse JsonStore::create(const std::string& name, const StoreRequest& req) {
    ojson body;
    std::string error;
    if (!parse_body(req.content_type, req.body, body, error)) return bad_body(error);
    ojson& coll = db_[name];
    if (!body.is_object()) return json_response(500, ojson::object());
    const ojson* id = body.contains("id") ? &body["id"] : nullptr;
    IdIndex& ix = index_of(name, coll);
    if (js_falsy(id)) {
        // createId: max id + 1 when it is a number, else a random string.
        ojson next;
        if (coll.empty())
            next = 1;
        else if (ix.max && ix.max->is_number())
            next = ix.max->is_number_float() ? ojson(ix.max->get<double>() + 1)
                                             : ojson(ix.max->get<std::int64_t>() + 1);
        else
            next = new_string_id();
        body["id"] = next;
    }
    std::string sid = js_string(body["id"]);
    if (ix.ids.count(sid)) {
        StoreResponse r;
        r.status = 500;
        r.content_type = "text/html; charset=utf-8";
        r.body = "Error: Insert failed, duplicate id";
        return r;
    }
    coll.push_back(body);
    if (!ix.max || js_lt(*ix.max, body["id"])) ix.max = body["id"];
    if (!body["id"].is_null()) ix.ids.insert(sid);
    touch(name, coll.size() - 1);
    StoreResponse r = json_response(201, body);
    r.headers.emplace_back("Access-Control-Expose-Headers", "Location");
    r.headers.emplace_back("Location", req.base_url + req.target + "/" + sid);
    return r;
}

StoreResponse JsonStore::update(const std::string& name, const std::string& id,
                                const StoreRequest& req) {
    ojson body;
    std::string error;
    if (!parse_body(req.content_type, req.body, body, error)) return bad_body(error);
    ojson& coll = db_[name];
    auto it = find_by_id(coll, id);
    if (it == coll.end()) return not_found();
    if (!body.is_object()) body = ojson::object();
    ojson& doc = *it;
    if (req.method == "PUT") {
        ojson keep_id = doc["id"];
        doc = body;
        doc["id"] = keep_id;
    } else {
        for (auto f = body.begin(); f != body.end(); ++f) doc[f.key()] = f.value();
    }
    touch(name, static_cast<std::size_t>(it - coll.begin()));
    if (!req.method.empty() && req.method != "PUT") index_[name].valid = false;  // a PATCH may change the id
    return json_response(200, doc);
}

StoreResponse JsonStore::destroy(const std::string& name, const std::string& id) {
    ojson& coll = db_[name];
    auto it = find_by_id(coll, id);
    if (it == coll.end()) return not_found();
    coll.erase(it);
    touch(name);
    remove_dependents();
    return json_response(200, ojson::object());
}

void JsonStore::remove_dependents() {
    // Items whose <name>Id points at an item that no longer exists go too.
    bool again = true;
    while (again) {
        again = false;
        for (auto c = db_.begin(); c != db_.end(); ++c) {
            if (!c->is_array()) continue;
            for (auto d = c->begin(); d != c->end();) {
                bool dangling = false;
                if (d->is_object())
                    for (auto f = d->begin(); f != d->end(); ++f) {
                        if (!ends_with(f.key(), "Id") || f.key().size() == 2) continue;
                        std::string ref = plural_of(f.key().substr(0, f.key().size() - 2));
                        auto r = db_.find(ref);
                        if (r == db_.end() || !r->is_array()) continue;
                        if (find_by_id(*r, js_string(f.value())) == r->end()) dangling = true;
                    }
                if (dangling) {
                    d = c->erase(d);
                    touch(c.key());
                    again = true;
                } else {
                    ++d;
                }
            }
        }
    }
}

StoreResponse JsonStore::singular(const std::string& name, const StoreRequest& req) {
    const std::string& m = req.method;
    if (m == "GET" || m == "HEAD") return json_response(200, db_[name]);
    if (m != "PUT" && m != "PATCH" && m != "POST") return not_found();
    ojson body;
    std::string error;
    if (!parse_body(req.content_type, req.body, body, error)) return bad_body(error);
    if (m == "PATCH" && body.is_object()) {
        for (auto f = body.begin(); f != body.end(); ++f) db_[name][f.key()] = f.value();
    } else {
        db_[name] = body;
    }
    touch(name);
    return json_response(m == "POST" ? 201 : 200, db_[name]);
}

}  // namespace wirelab::http
