// json-server 0.17 semantics over an in-memory JSON database, without I/O:
// a request (method, path, query, body) in, a response (status, headers,
// body) out. Collections (arrays) get list/filter/sort/paginate/CRUD;
// singular resources (objects) get GET/PUT/PATCH/POST; /db returns it all.
// Key order is kept (ordered_json) because json-server's pretty-printed
// bodies are what a learner prints.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <unordered_set>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace wirelab::http {

using ojson = nlohmann::ordered_json;
using Fields = std::vector<std::pair<std::string, std::string>>;

struct StoreRequest {
    std::string method;        // upper case
    std::string path;          // percent-decoded, no query
    std::string target;        // as sent (path and query), for Link/Location
    Fields query;              // decoded pairs in order
    std::string content_type;  // the request's Content-Type ("" if none)
    std::string body;
    std::string base_url;  // "http://<Host header>"
};

struct StoreResponse {
    int status = 200;
    Fields headers;  // extra headers (X-Total-Count, Link, Location, ...)
    std::string body;
    std::string content_type = "application/json; charset=utf-8";
};

class JsonStore {
public:
    /// `db` must be an object; each array member is a collection, each
    /// object member a singular resource. `seed` drives generated ids.
    explicit JsonStore(ojson db, std::uint64_t seed = 0);

    StoreResponse handle(const StoreRequest& req);
    const ojson& db() const { return db_; }
    /// What changed in a collection since the last take: every document
    /// (`all`: a delete shifts the rest, a singular resource changed), or
    /// the documents at these positions (a POST's, a PUT's).
    struct Changed {
        bool all = false;
        std::set<std::size_t> at;
    };
    /// The changes since the last call, by collection (for persistence).
    std::map<std::string, Changed> take_changes();
    /// Only the names of take_changes().
    std::set<std::string> take_dirty();

private:
    StoreResponse list(const std::string& name, const StoreRequest& req);
    StoreResponse create(const std::string& name, const StoreRequest& req);
    StoreResponse update(const std::string& name, const std::string& id, const StoreRequest& req);
    StoreResponse destroy(const std::string& name, const std::string& id);
    StoreResponse singular(const std::string& name, const StoreRequest& req);
    void remove_dependents();
    std::string new_string_id();
    void touch(const std::string& name, std::optional<std::size_t> pos = std::nullopt);

    /// A collection's ids (as String(id)) and its largest id, kept up to
    /// date by POST and rebuilt after any other change: createId and the
    /// duplicate check without a scan of the collection.
    struct IdIndex {
        bool valid = false;
        std::unordered_set<std::string> ids;
        std::optional<ojson> max;
    };
    IdIndex& index_of(const std::string& name, const ojson& coll);

    ojson db_;
    std::map<std::string, Changed> dirty_;
    std::map<std::string, IdIndex> index_;
    std::mt19937_64 rng_;
};

/// Parses a request body as json-server's body parsers would: JSON when the
/// Content-Type says JSON, form fields when it says urlencoded, else {}.
/// Returns false (and sets `error`) when the JSON is invalid.
bool parse_body(const std::string& content_type, const std::string& body, ojson& out,
                std::string& error);

/// JSON.stringify(value, null, 2), the way json-server answers.
std::string pretty(const ojson& v);

/// JavaScript's String(value) for a JSON value.
std::string js_string(const ojson& v);

/// Splits and percent-decodes a query string ('+' is a space).
Fields parse_query(const std::string& q);
std::string percent_decode(const std::string& s, bool plus_is_space);

}  // namespace wirelab::http
