// The journal: one SQLite file per Session recording every case, connection,
// chunk of bytes, HTTP exchange and event. Schema v1 is documented in
// docs/journal.md and is a public interface.
//
// The Journal is used from one thread (the Session's io_context); SQLite
// runs on a writer thread of its own. Each call formats its row, takes its
// id from a counter of ours and queues the write, so serving never waits
// for SQLite unless the queue is full (then it waits: nothing is dropped).
// Writes go into one open transaction that commit() (every tick) and
// flush() (at the end of a case and on stop: it waits) commit, so a killed
// run leaves a journal that opens, missing at most the last tick.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "runtime/common.hpp"
#include "runtime/proctree.hpp"
#include "runtime/sqlite.hpp"

namespace wirelab {

enum class Dir { in, out };  // relative to wirelab: in = received, out = sent

/// What a new connection row says.
struct ConnectionInfo {
    std::string service;
    std::string transport = "tcp";
    std::string role = "server";  // wirelab accepted it ("server") or made it ("client")
    std::string local;
    std::string peer;
    micros opened_us = -1;  // when it opened, if not now (recorded after the fact)
    std::optional<int> pid = std::nullopt;  // the learner's process at the other end, when known already (SO_PEERCRED)
};

/// Finds the learner's process holding the other end of a TCP connection
/// (our local and peer addresses); nullopt when it cannot tell.
using Attributor = std::function<std::optional<int>(const std::string& local, const std::string& peer)>;


/// The outcome of one run of the learner's program.
struct CaseOutcome {
    std::optional<int> pid;
    std::optional<int> exit_code;
    std::optional<int> signal;
    bool timed_out = false;
    std::string start_error;
    std::string out, err;
    std::int64_t out_bytes = 0, err_bytes = 0;
    bool out_truncated = false, err_truncated = false;
    std::int64_t cpu_user_us = 0, cpu_sys_us = 0;  // CPU time the program used
    /// A limit that stopped the program ("processes", "output", "cpu",
    /// "memory", "file_size", "open_files") and what to tell the learner.
    std::string limit, limit_detail;
    std::vector<ProcRecord> processes;  // the program's process tree
    std::size_t processes_peak = 0;      // most processes alive at once
};

/// Appends `s` to `out` as a JSON string, as nlohmann's dump writes it
/// (bytes that are not UTF-8 replaced): for the JSON-valued columns a
/// service writes as text, without building a JSON tree for every row.
void append_json_string(std::string& out, std::string_view s);

/// A commands row as the nosql service makes one for each command, without
/// building JSON (Journal::command(CommandEntry)). `args` is the JSON text of
/// the arguments after the name.
struct CommandEntry {
    std::string service;
    std::int64_t connection_id = 0, seq = 0, db = 0;
    std::string name, args, reply, error;  // error: empty when none
    bool in_multi = false;
};

/// A sql row as the sql service makes one for each statement, without
/// building JSON (Journal::statement(StatementEntry)). `params`: the JSON
/// text of the parameters sent apart from the text, if any were.
struct StatementEntry {
    std::string service;
    std::int64_t connection_id = 0, seq = 0, duration_us = 0;
    std::string text, protocol, verb, tx_before, tx_after;
    std::optional<std::string> params;
    bool parameterised = false;
    bool ok = true;         // tag and rows, or sqlstate and error
    std::string tag, sqlstate, error;
    std::int64_t rows = 0;
};

/// A header list as its name and value pairs, in the order sent: views
/// into the message they belong to.
using HeaderViews = std::vector<std::pair<std::string_view, std::string_view>>;

/// An http row as the http service makes one for each exchange, without
/// building JSON (Journal::http(HttpExchange)). The header lists are viewed,
/// not copied: they need to live only through the call.
struct HttpExchange {
    std::string service;
    std::int64_t connection_id = 0, seq = 0;
    micros started_us = 0, ended_us = 0;
    bool parsed = true;  // false: a request that could not be read (no method, target, path, query, version)
    std::string method, target, path;
    std::string query;  // JSON text of the query's object
    std::string version;
    const HeaderViews* req_headers = nullptr;  // null: none (the column is NULL)
    std::string req_body;
    int status = 0;
    std::string reason;
    const HeaderViews* resp_headers = nullptr;
    std::string resp_body;
    std::string error;  // empty: none
};

/// Ids of stored texts by text, remembered up to a bound. When it is
/// reached, the texts not looked up again since they were stored are
/// forgotten (a POST's own Location, the list it is in) and the ones that
/// came back are kept (the fields and lists every exchange has); if nearly
/// all came back, all are forgotten. A text forgotten is stored again,
/// under a new id.
class RecentIds {
public:
    /// At most `bound` texts, `bytes_bound` bytes of them.
    explicit RecentIds(std::size_t bound, std::size_t bytes_bound = SIZE_MAX) : bound_(bound), bytes_bound_(bytes_bound) {}
    std::optional<std::int64_t> find(const std::string& text);
    void add(std::string text, std::int64_t id);
    std::size_t size() const { return ids_.size(); }

private:
    struct Entry {
        std::int64_t id;
        bool again;  // looked up since stored or since the last forgetting
    };
    std::unordered_map<std::string, Entry> ids_;
    std::size_t bound_, bytes_bound_, bytes_ = 0;
};

class Journal {
public:
    static constexpr int schema_version = 4;

    /// Creates (or truncates) the journal at `file`; its writer thread
    /// writes the schema while the caller goes on (opened() waits for it).
    /// `origin`: the instant times count from (a replica uses its Session's,
    /// so that its journal merges on one clock); default now.
    explicit Journal(const std::filesystem::path& file,
                     std::optional<std::chrono::steady_clock::time_point> origin = std::nullopt);
    ~Journal();
    /// Waits until the file is made and has its schema; throws
    /// std::runtime_error saying why it could not be.
    void opened();

    micros now() const;
    std::chrono::steady_clock::time_point start() const { return start_; }
    const std::filesystem::path& file() const { return file_; }

    void set_meta(const std::string& key, const std::string& value);
    /// Off: connections, bytes and HTTP exchanges are not recorded (ids are
    /// still handed out). Only for measuring what recording costs
    /// (`wirelab up --no-traffic-journal`, bench/); checks need it on.
    void set_traffic(bool on) { traffic_ = on; }

    std::int64_t begin_case(const std::string& name, const std::string& command);
    void end_case(std::int64_t id, const CaseOutcome& outcome);
    std::int64_t current_case() const { return case_id_; }

    std::int64_t open_connection(const ConnectionInfo& info);
    /// Attribution of TCP connections to the learner's processes: tried when
    /// a connection opens and, until it succeeds, on the first bytes
    /// received and at close (a server accepts after we connect).
    void set_attributor(Attributor a) { attributor_ = std::move(a); }
    /// Asks the attributor now (a replica's connection, told by the replica).
    std::optional<int> attribute_peer(const std::string& local, const std::string& peer) const {
        return attributor_ ? attributor_(local, peer) : std::nullopt;
    }
    /// Called after an http or messages row is written, with the table,
    /// the row's id and its fields (a replica counts its requests).
    using RowHook = std::function<void(std::string_view table, std::int64_t id, const nlohmann::json& row)>;
    void set_row_hook(RowHook h) { row_hook_ = std::move(h); }
    /// The connection speaks HTTP/1 through http(): each read or write is
    /// held until the next one, and one that is exactly the request or the
    /// response of the exchange http() records next is stored as part of
    /// that exchange's row (the `chunks` view rebuilds its bytes) instead of
    /// as a row of its own. Bytes that are not (a pipelined read, a request
    /// in two writes, a fault's slices) are stored as they were.
    void derive_http(std::int64_t conn);
    /// Records bytes; beyond the per-direction cap only the counters grow.
    void chunk(std::int64_t conn, Dir dir, std::string_view bytes, micros t_us = -1);
    /// The same, taking the string that holds the bytes instead of a copy.
    void chunk_owned(std::int64_t conn, Dir dir, std::string&& bytes, micros t_us = -1);
    void close_connection(std::int64_t conn, const std::string& closed_by,
                          const std::string& close_kind);
    std::size_t open_connections() const { return conns_.size(); }

    /// Inserts an http row; `fields` is a JSON object whose keys are the
    /// `http` view's column names (see docs/journal.md); a column not given
    /// (or null) is NULL. `req_headers` and `resp_headers` are arrays of
    /// [name, value] or their JSON text (bytes that are not UTF-8 replaced).
    /// Bodies beyond body_cap() are cut and flagged.
    void http(const nlohmann::json& fields);
    /// The same for a row made without JSON. Bodies beyond body_cap() are
    /// cut and flagged. Each distinct header list is stored once, as the ids
    /// of its fields: a field's value that names one message (a Location,
    /// an ETag) and changed since the list before is kept in the row
    /// instead. A row hook is given null for its fields.
    void http(HttpExchange x);

    /// Inserts a messages row (one protocol message: a line, a frame, a
    /// datagram): service, connection_id, seq, dir ("in"/"out"), protocol,
    /// data (the bytes), json (parsed, when it is JSON), error. t_us defaults
    /// to now.
    void message(nlohmann::json fields);

    /// Inserts a sql row (one statement a PostgreSQL client ran): service,
    /// connection_id, seq, duration_us, text, params (JSON array or null),
    /// parameterised, protocol ("simple"/"extended"), verb, tag, rows,
    /// sqlstate, error, tx_before, tx_after ('I', 'T', 'E').
    void statement(nlohmann::json fields);

    /// Inserts a commands row (one command of a RESP client): service,
    /// connection_id, seq, db, name (upper case), args (JSON array of the
    /// arguments after the name), reply (its short form), error, in_multi.
    void command(nlohmann::json fields);
    /// The same for a row made without JSON; t_us is now. A row hook is
    /// given null for its fields.
    void command(CommandEntry r);
    /// The same for a sql row; t_us is now.
    void statement(StatementEntry r);

    /// Inserts a steps row (one action of a simulated client): client,
    /// connection_id, idx, action, ok, expected, got, started_us,
    /// ended_us (defaults to now).
    void step(nlohmann::json fields);

    /// Inserts an invocations row (one run of a simulated command-line
    /// tool) and returns its id: service, tool, argv (JSON array), pid, ppid,
    /// parent_cmdline (JSON array), cwd, exit_code (planned), hang,
    /// stdout_bytes, stderr_bytes (planned). case_id and started_us default
    /// to the current case and now.
    std::int64_t invocation(nlohmann::json fields);
    /// The tool ended ("exited", reporting `exit_code`) or vanished before
    /// saying so ("killed"), having written this much.
    void end_invocation(std::int64_t id, const std::string& outcome, std::optional<int> exit_code,
                        std::int64_t stdout_written, std::int64_t stderr_written);

    void event(const std::string& kind, const std::string& service,
               const nlohmann::json& detail, std::int64_t conn = 0);

    /// Copies the connections, chunks, http, messages and events of another
    /// journal (a replica's, on the same clock) into this one: connections
    /// get new ids and `replica`, rows the case that had started when they
    /// happened. Commits first. A failure is kept and reported by error().
    void merge_replica(const std::filesystem::path& other, int replica);

    /// Asks the writer to commit what is queued; does not wait (the tick).
    void commit();
    /// Commits everything written so far and waits until it is on disk (a
    /// reader opening the file sees it). Never throws: a failure is kept
    /// and reported by error().
    void flush();
    /// Marks the run finished ("finished" or "interrupted") and flushes.
    void finish(const std::string& status);
    /// Why the journal cannot be written (empty while it can).
    std::string error() const;

    std::size_t chunk_cap() const { return chunk_cap_; }
    void set_chunk_cap(std::size_t cap) { chunk_cap_ = cap; }
    std::size_t body_cap() const { return body_cap_; }

private:
    /// A read or write of an HTTP connection held until the exchange it
    /// belongs to is recorded (derive_http()).
    struct Held {
        std::string data;  // kept for its room between chunks
        std::int64_t id = 0, offset = 0;
        micros t_us = 0;
        std::uint64_t tick = 0;  // the tick it came in
        bool held = false;
    };
    struct Conn {
        std::int64_t bytes[2] = {0, 0};
        bool truncated[2] = {false, false};
        int attribution_tries = 0;  // left; 0 = attributed or given up
        bool http = false;          // derive_http()
        std::string local, peer;
        Held held[2];  // by direction
    };
    void attribute(std::int64_t id, Conn& c);
    /// chunk(): `owned`, when given, holds `bytes` and is taken.
    void chunk_from(std::int64_t conn, Dir dir, std::string_view bytes, std::string* owned, micros t_us);
    /// Queues a chunks row.
    void stage_chunk(std::int64_t conn, int dir, std::string data, micros t_us, std::int64_t offset, std::int64_t id);
    /// Queues the chunk `c` holds in direction `dir` as a row of its own.
    void release(std::int64_t conn, Conn& c, int dir);
    /// Forgets the chunk `h` held (queued, or part of its exchange).
    void let_go(Held& h);
    /// Queues every chunk held (`before_tick`: those held since before that tick).
    void release_held(std::uint64_t before_tick = UINT64_MAX);
    /// Whether the chunk held in direction `dir` is byte for byte the
    /// exchange's request (0) or response (1) as the `chunks` view rebuilds
    /// it; if so it is taken (not stored apart) and its id, time and offset
    /// set in `chunk`.
    struct RecentList;
    bool derive(Conn& c, int dir, const HttpExchange& x, const RecentList& list, std::int64_t (&chunk)[3]);
    /// Interns a header list on the serving thread: returns the recent list
    /// it is (valid until the next call) and sets `values` to the JSON
    /// object of the values kept in the row ({"7": "..."}; left alone when
    /// none are).
    const RecentList& intern(const HeaderViews& fields, std::string& values);
    /// http(): queues the row, returns its id. `absent`: the columns (bits
    /// of kHttpColumns) left NULL (a JSON row's missing ones).
    std::int64_t http_row(HttpExchange x, std::uint64_t absent = 0);
    std::int64_t field_id(std::string_view name, std::string_view value, bool& exact);
    std::int64_t hole_id(std::string_view name);
    /// Queues a header_fields row (no value: a field whose value each row keeps).
    std::int64_t new_field(std::string name, std::optional<std::string> value);
    Attributor attributor_;
    RowHook row_hook_;
    /// Inserts a row with the next id of its table (returned); the values
    /// of `fields` are taken here and bound by the writer.
    std::int64_t insert(const char* table, std::span<const char* const> columns, nlohmann::json fields);
    struct Row;
    /// Queues `row` with the next id of its table (returned); `bytes`: what it holds.
    std::int64_t queue_row(Row row, std::size_t bytes);
    /// The same with the id given.
    void queue_row(Row row, std::size_t bytes, std::int64_t id);
    /// A row of insert() on its way to the writer: the values of the
    /// columns given (bit k of `mask`: columns[k] is), in column order.
    struct Cell {
        enum Kind : unsigned char { Int, Text, Blob } kind = Int;
        std::int64_t i = 0;
        std::string s;
    };
    struct Row {
        const char* table = nullptr;
        std::span<const char* const> columns;  // a static list per table
        std::uint64_t mask = 0;
        bool caseless = false;  // the table has no case_id (header_fields, header_lists)
        std::vector<Cell> cells;
    };
    /// A row of a service's own kind being made without JSON: add() the
    /// cells in the columns' order, k being the column's place among them
    /// (a column not added keeps its default).
    struct RowMaker {
        Row row;
        std::size_t bytes = 0;
        RowMaker(const char* table, std::span<const char* const> columns);
        void add(std::size_t k, std::int64_t i);
        void add(std::size_t k, std::string s);
    };
    void insert_now(const Row& row, std::int64_t id, std::int64_t case_id);  // writer thread
    struct Exchange;
    void insert_exchange(const Exchange& e, std::int64_t id, std::int64_t case_id);  // writer thread
    struct Insert;
    /// The cached INSERT for a row of `table` giving the columns in `mask`
    /// (those in `ids` as <column>_id); writer thread.
    Insert& insert_statement(const char* table, std::span<const char* const> columns, std::uint64_t mask,
                             std::uint64_t ids, bool caseless);
    /// Queues `f` for the writer thread (it runs in the open transaction;
    /// not at all once the journal has failed): staged, and handed over
    /// with kBatchOps others (or kQueueBytes / 8 of them) or at the next
    /// commit() or flush(). Waits while the queue is full: at most
    /// kQueueOps writes or kQueueBytes (`bytes` is what f holds).
    template <class F>
    void write(F&& f, std::size_t bytes = 0);
    static constexpr std::size_t kQueueOps = 4096, kQueueBytes = 4u << 20, kBatchOps = 256;
    /// Queues `f` and waits until the writer has run it.
    void write_and_wait(std::function<void()> f);
    void writer_loop();
    void open();            // writer thread, first
    void begin();           // writer thread
    void commit_now();      // writer thread
    void index_now();       // writer thread: makes the chunks' index, once
    void fail(std::string why);  // writer thread
    std::int64_t next_id(const char* table);
    void reload_ids();      // writer thread, the io thread waiting
    void merge_replica_now(const std::filesystem::path& other, int replica);  // writer thread

    /// An http row on its way to the writer, bound from its strings as
    /// they are (one per exchange: a row of cells was a sixth of what the
    /// journal cost the serving thread).
    struct Exchange {
        HttpExchange x;  // its header lists are the ids below
        std::int64_t list[2] = {0, 0};  // req_headers_id, resp_headers_id; 0: none
        std::string values[2];          // req_values, resp_values; empty: none
        bool cut[2] = {false, false};   // req_body_truncated, resp_body_truncated
        /// A chunk derived from the request (0) or the response (1): its id
        /// (0: none), time and offset.
        std::int64_t chunk[2][3] = {{0, 0, 0}, {0, 0, 0}};
        std::uint64_t absent = 0;  // columns left NULL (http_row())
    };
    /// A write on its way to the writer. A chunk and a row are held as
    /// they are, without a std::function around them (which allocated for
    /// each, on the serving thread).
    struct Op {
        enum Kind : unsigned char { Run, Chunk, Insert, Http } kind = Run;
        int dir = 0;                            // Chunk: 0 in, 1 out
        std::int64_t a = 0, b = 0, c = 0, d = 0;  // Chunk: connection, t_us, offset, id; Insert, Http: id, case_id
        std::size_t bytes = 0;                  // what it holds
        std::function<void()> run;              // Run
        std::string data;                       // Chunk
        Row row;                                // Insert
        std::unique_ptr<Exchange> http;         // Http
    };
    /// Queues an op made in its place by `fill` (`bytes`: what it holds).
    template <class Fill>
    void stage(std::size_t bytes, Fill&& fill);
    void run_op(Op& op);  // writer thread
    struct Batch {
        std::vector<Op> ops;
        std::size_t bytes = 0;  // what they hold
    };

    // The io thread's side.
    /// write()s not yet handed to the writer: given a batch at a time, the
    /// lock is taken once per batch, not once per row.
    Batch staged_;
    /// Hands the staged writes to the writer, with `op` after them if
    /// given (waiting for room); wakes the writer.
    void hand_over(std::function<void()> op = nullptr);
    std::filesystem::path file_;
    std::chrono::steady_clock::time_point start_;
    bool traffic_ = true;
    std::int64_t untracked_id_ = 1'000'000'000;
    std::int64_t case_id_ = 0;
    std::map<std::int64_t, Conn> conns_;
    std::map<std::string, std::int64_t, std::less<>> last_id_;  // by table
    std::int64_t *chunk_ids_ = nullptr, *exchange_ids_ = nullptr;  // last_id_'s, of the tables written most
    std::vector<std::unique_ptr<Exchange>> spare_exchanges_;  // run by the writer, to be filled again
    std::uint64_t tick_ = 0;     // commit()s so far
    std::size_t held_count_ = 0;  // chunks held, over all connections
    // Header lists interned (the serving thread's): fields' and lists' ids
    // by text, the last lists seen (most come back at once), and the fields
    // of the last list that was not one of them, by place.
    RecentIds field_ids_{4096};  // header_fields' ids by "length:name" value
    RecentIds list_ids_{256};    // header_lists' ids by the JSON text of their fields' ids
    RecentIds hole_ids_{256};    // the ids of fields whose value is in the row, by name
    struct RecentList {
        std::vector<std::pair<std::string, std::string>> fields;
        std::uint64_t holes = 0;  // bit k: field k's value is kept in the row (a list of 64 fields at most has any)
        bool hole(std::size_t k) const { return k < 64 && (holes >> k & 1); }
        std::int64_t id = 0;
        bool exact = true;  // stored as given (a name or value that is not UTF-8 is stored mended)
        /// The fields' lines as on the wire, "Name: value\r\n" each, and
        /// where each ends: what derive() compares a chunk with.
        std::string wire;
        std::vector<std::size_t> line_end;
    };
    RecentList recent_lists_[4];
    unsigned next_recent_ = 0;
    struct LastField {
        std::string name, value;
        std::int64_t id = 0;
        bool hole = false, exact = true;
    };
    std::vector<LastField> last_fields_;
    std::size_t chunk_cap_ = 1 << 20;
    std::size_t body_cap_ = 1 << 20;

    // The writer's side (db_ and the statements only on the writer thread).
    std::unique_ptr<sql::Db> db_;
    bool in_tx_ = false, indexed_ = false;
    std::unique_ptr<sql::Stmt> ins_chunk_, ins_conn_, ins_event_;
    struct Insert {
        std::unique_ptr<sql::Stmt> stmt;
        bool bind_case = true;  // the row's case_id is bound (the table has one, and the row's columns do not name it)
    };
    using InsertKey = std::tuple<const char* const*, std::uint64_t, std::uint64_t>;  // columns, mask, ids
    std::map<InsertKey, Insert> inserts_;
    Insert* last_insert_ = nullptr;  // inserts_[last_insert_key_]
    InsertKey last_insert_key_{};
    std::int64_t body_id(const std::string& data);  // writer thread
    std::unique_ptr<sql::Stmt> ins_body_;
    static constexpr std::size_t kSharedBody = 256, kBodyKeptBytes = 1 << 20;
    static constexpr std::size_t kHeldRoom = 64 * 1024;  // a held chunk's room kept between chunks, at most
    RecentIds body_ids_{256, kBodyKeptBytes};  // bodies' ids by their bytes

    // Between them.
    mutable std::mutex mu_;
    std::condition_variable work_cv_, room_cv_, done_cv_;
    std::deque<Batch> queue_;
    std::vector<std::vector<Op>> done_ops_;  // run by the writer, for the producer to free
    std::size_t queued_ops_ = 0, queued_bytes_ = 0;
    std::uint64_t pushed_ = 0, done_ = 0;
    bool stopping_ = false;
    std::string error_;
    std::atomic<bool> failed_{false};  // error_ is set: read by the writer without the lock
    std::thread writer_;
};

}  // namespace wirelab
