#include "runtime/journal.hpp"

#include "runtime/journal_reader.hpp"
#include "runtime/text.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <future>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace wirelab {

using json = nlohmann::json;

namespace {
// One transaction: fourteen statements committed one by one were a third
// of a lab's start-up.
//
// Version 2: `http` is a view. The writer stores a header list it has
// written recently once (the same few lists come back on every request and
// response: they were 60% of an exchange's row), and `http_exchanges` holds
// their ids. The view reads as version 1's table; an INSERT into it
// (another tool's) goes through its trigger, which stores the row's lists
// as new ones (a new list takes the next id: max + 1).
//
// Version 3: a list is the ids of its fields, `header_fields` holding each
// (name, value) the writer has stored recently once. A POST's response list
// is new each time (its Location and ETag are), and was stored whole: 587
// of the 803 bytes of rows of a POST /cars. Now its two new fields and the
// list of ids are. The view rebuilds the JSON text of version 1. No index
// on the fields' or the lists' text: for the many that are all different it
// would store each twice. A body of 256 bytes or more is stored in
// `bodies`, once while the writer remembers it (GET /cars answers the same
// 12 KB every time), and the row holds its id in <column>_id.
//
// Version 4: a read or write of an HTTP connection that is exactly its
// exchange's request or response is not stored as a row of its own: the
// exchange's row holds its id, time and offset (req_chunk_id, ...) and the
// `chunks` view, over `chunk_rows` and those, rebuilds its bytes from the
// exchange (an exchange was three rows and its bytes twice: 688 bytes on
// disk for a GET /cars/1, of which 363 the bytes again). A field whose
// value names one message (a POST's Location and ETag) is stored once with
// no value, its value kept in the row (<side>_values, by the field's place
// in the list): a POST's list is the same list each time instead of a new
// list and two new fields.
// The view's and the trigger's SQL for one header list column and one body
// column (each written once for the request's and the response's).
//
// A field's value: its own, or the row's for the field's place in the list.
#define FIELD_VALUE(c) "coalesce(f.value, json_extract(e." c "_values, '$.\"' || j.key || '\"'))"
// The fields of the list in e.<c>_headers_id, in their order, as `expr`.
#define LIST_FIELDS(c, expr)                                                                         \
    "SELECT " expr " AS p FROM header_lists l, json_each(l.fields) j, header_fields f\n"            \
    "    WHERE l.id = e." c "_headers_id AND f.id = j.value ORDER BY j.key"
// The list's JSON text, rebuilt from its fields in their order.
#define LIST_JSON(c)                                                                                 \
    "CASE WHEN e." c "_headers_id IS NOT NULL THEN (SELECT json_group_array(json(p)) FROM (\n    " \
    LIST_FIELDS(c, "json_array(f.name, " FIELD_VALUE(c) ")") ")) END"
// The list's lines as they went over the wire: "Name: value\r\n" each.
#define LIST_WIRE(c) \
    "coalesce((SELECT group_concat(p, '') FROM (" LIST_FIELDS(c, "f.name || ': ' || " FIELD_VALUE(c) " || char(13, 10)") ")), '')"
// The body, in its row or in `bodies`.
#define BODY(c) "coalesce(e." c ", (SELECT b.data FROM bodies b WHERE b.id = e." c "_id))"
// A request and a response as they went over the wire.
#define REQUEST_WIRE                                                                                       \
    "CAST(e.method || ' ' || e.target || ' HTTP/' || e.version || char(13, 10) || " LIST_WIRE("req")     \
    " || char(13, 10) || coalesce(" BODY("req_body") ", '') AS BLOB)"
#define RESPONSE_WIRE                                                                                      \
    "CAST('HTTP/' || e.version || ' ' || e.status || ' ' || e.reason || char(13, 10) || " LIST_WIRE("resp") \
    " || char(13, 10) || coalesce(" BODY("resp_body") ", '') AS BLOB)"
// NEW.<c>'s fields stored as new ones, in order, and a new list of their ids
// (the last json_array_length fields stored).
#define STORE_LIST(c)                                                                                         \
    "  INSERT INTO header_fields(name, value)\n"                                                               \
    "    SELECT coalesce(json_extract(j.value, '$[0]'), ''), coalesce(json_extract(j.value, '$[1]'), '')\n"    \
    "    FROM json_each(NEW." c ") j ORDER BY j.key;\n"                                                        \
    "  INSERT INTO header_lists(fields) SELECT x FROM (SELECT '[' || coalesce(group_concat(id, ','), '') || ']' AS x\n" \
    "    FROM (SELECT id FROM header_fields\n"                                                                  \
    "          WHERE id > (SELECT max(id) FROM header_fields) - json_array_length(NEW." c ") ORDER BY id))\n"  \
    "    WHERE NEW." c " IS NOT NULL;\n"
const char* kSchema = R"sql(
BEGIN;
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE cases(
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, command TEXT,
  started_us INTEGER, ended_us INTEGER, pid INTEGER,
  exit_code INTEGER, signal INTEGER, timed_out INTEGER NOT NULL DEFAULT 0,
  start_error TEXT,
  stdout BLOB, stderr BLOB, stdout_bytes INTEGER, stderr_bytes INTEGER,
  stdout_truncated INTEGER, stderr_truncated INTEGER,
  cpu_user_us INTEGER, cpu_sys_us INTEGER,
  limit_hit TEXT, limit_detail TEXT, processes_peak INTEGER);
CREATE TABLE processes(
  id INTEGER PRIMARY KEY, case_id INTEGER, pid INTEGER NOT NULL, ppid INTEGER,
  cmdline TEXT, started_us INTEGER, ended_us INTEGER, exit_code INTEGER, signal INTEGER,
  threads_max INTEGER, is_root INTEGER NOT NULL DEFAULT 0, orphaned INTEGER NOT NULL DEFAULT 0,
  reaped_by_wirelab INTEGER NOT NULL DEFAULT 0, left_running INTEGER NOT NULL DEFAULT 0);
CREATE TABLE connections(
  id INTEGER PRIMARY KEY, case_id INTEGER, service TEXT NOT NULL,
  transport TEXT NOT NULL, role TEXT NOT NULL, local TEXT, peer TEXT, pid INTEGER,
  opened_us INTEGER NOT NULL, closed_us INTEGER, closed_by TEXT, close_kind TEXT,
  bytes_in INTEGER NOT NULL DEFAULT 0, bytes_out INTEGER NOT NULL DEFAULT 0,
  in_truncated INTEGER NOT NULL DEFAULT 0, out_truncated INTEGER NOT NULL DEFAULT 0, replica INTEGER);
CREATE TABLE chunk_rows(
  id INTEGER PRIMARY KEY, connection_id INTEGER NOT NULL,
  dir TEXT NOT NULL CHECK (dir IN ('in', 'out')), t_us INTEGER NOT NULL,
  offset INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE header_fields(id INTEGER PRIMARY KEY, name TEXT NOT NULL, value TEXT);
CREATE TABLE header_lists(id INTEGER PRIMARY KEY, fields TEXT NOT NULL);
CREATE TABLE http_exchanges(
  id INTEGER PRIMARY KEY, case_id INTEGER, service TEXT NOT NULL,
  connection_id INTEGER, seq INTEGER, started_us INTEGER, ended_us INTEGER,
  method TEXT, target TEXT, path TEXT, query TEXT, version TEXT,
  req_headers_id INTEGER, req_body BLOB, req_body_truncated INTEGER NOT NULL DEFAULT 0,
  status INTEGER, reason TEXT, resp_headers_id INTEGER, resp_body BLOB,
  resp_body_truncated INTEGER NOT NULL DEFAULT 0, error TEXT, req_body_id INTEGER, resp_body_id INTEGER,
  req_values TEXT, resp_values TEXT,
  req_chunk_id INTEGER, req_chunk_us INTEGER, req_chunk_offset INTEGER,
  resp_chunk_id INTEGER, resp_chunk_us INTEGER, resp_chunk_offset INTEGER);
CREATE TABLE bodies(id INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE VIEW http AS SELECT
  e.id AS id, e.case_id AS case_id, e.service AS service, e.connection_id AS connection_id, e.seq AS seq,
  e.started_us AS started_us, e.ended_us AS ended_us, e.method AS method, e.target AS target, e.path AS path,
  e.query AS query, e.version AS version,
  )sql" LIST_JSON("req") R"sql( AS req_headers,
  )sql" BODY("req_body") R"sql( AS req_body,
  e.req_body_truncated AS req_body_truncated, e.status AS status, e.reason AS reason,
  )sql" LIST_JSON("resp") R"sql( AS resp_headers,
  )sql" BODY("resp_body") R"sql( AS resp_body,
  e.resp_body_truncated AS resp_body_truncated, e.error AS error
  FROM http_exchanges e;
CREATE VIEW chunks AS
  SELECT id, connection_id, dir, t_us, offset, data FROM chunk_rows
  UNION ALL
  SELECT e.req_chunk_id, e.connection_id, 'in', e.req_chunk_us, e.req_chunk_offset, )sql" REQUEST_WIRE R"sql(
    FROM http_exchanges e WHERE e.req_chunk_id IS NOT NULL
  UNION ALL
  SELECT e.resp_chunk_id, e.connection_id, 'out', e.resp_chunk_us, e.resp_chunk_offset, )sql" RESPONSE_WIRE R"sql(
    FROM http_exchanges e WHERE e.resp_chunk_id IS NOT NULL;
CREATE TRIGGER http_insert INSTEAD OF INSERT ON http BEGIN
)sql" STORE_LIST("req_headers") STORE_LIST("resp_headers")
R"sql(  INSERT INTO http_exchanges(id, case_id, service, connection_id, seq, started_us, ended_us, method, target,
    path, query, version, req_headers_id, req_body, req_body_truncated, status, reason, resp_headers_id,
    resp_body, resp_body_truncated, error)
  VALUES (NEW.id, NEW.case_id, NEW.service, NEW.connection_id, NEW.seq, NEW.started_us, NEW.ended_us,
    NEW.method, NEW.target, NEW.path, NEW.query, NEW.version,
    CASE WHEN NEW.req_headers IS NULL THEN NULL
         ELSE (SELECT max(id) FROM header_lists) - (NEW.resp_headers IS NOT NULL) END,
    NEW.req_body, coalesce(NEW.req_body_truncated, 0), NEW.status, NEW.reason,
    CASE WHEN NEW.resp_headers IS NULL THEN NULL ELSE (SELECT max(id) FROM header_lists) END,
    NEW.resp_body, coalesce(NEW.resp_body_truncated, 0), NEW.error);
END;
CREATE TABLE messages(
  id INTEGER PRIMARY KEY, case_id INTEGER, service TEXT NOT NULL, connection_id INTEGER,
  seq INTEGER, dir TEXT NOT NULL CHECK (dir IN ('in', 'out')), t_us INTEGER NOT NULL,
  protocol TEXT NOT NULL, data BLOB, json TEXT, error TEXT, peer TEXT, fault TEXT, pid INTEGER);
CREATE INDEX messages_by_connection ON messages(connection_id, seq);
CREATE TABLE steps(
  id INTEGER PRIMARY KEY, case_id INTEGER, client TEXT NOT NULL, connection_id INTEGER,
  idx INTEGER, action TEXT NOT NULL, ok INTEGER NOT NULL, expected TEXT, got BLOB,
  started_us INTEGER, ended_us INTEGER);
CREATE TABLE invocations(
  id INTEGER PRIMARY KEY, case_id INTEGER, service TEXT NOT NULL, tool TEXT NOT NULL,
  argv TEXT NOT NULL, pid INTEGER, ppid INTEGER, parent_cmdline TEXT, cwd TEXT,
  started_us INTEGER NOT NULL, ended_us INTEGER, outcome TEXT NOT NULL DEFAULT 'running',
  exit_code INTEGER, hang INTEGER NOT NULL DEFAULT 0,
  stdout_bytes INTEGER NOT NULL DEFAULT 0, stderr_bytes INTEGER NOT NULL DEFAULT 0,
  stdout_written INTEGER NOT NULL DEFAULT 0, stderr_written INTEGER NOT NULL DEFAULT 0);
CREATE TABLE sql(
  id INTEGER PRIMARY KEY, case_id INTEGER, service TEXT NOT NULL, connection_id INTEGER,
  seq INTEGER, t_us INTEGER NOT NULL, duration_us INTEGER, text TEXT NOT NULL, params TEXT,
  parameterised INTEGER NOT NULL DEFAULT 0, protocol TEXT NOT NULL, verb TEXT, tag TEXT, rows INTEGER,
  sqlstate TEXT, error TEXT, tx_before TEXT, tx_after TEXT);
CREATE TABLE commands(
  id INTEGER PRIMARY KEY, case_id INTEGER, service TEXT NOT NULL, connection_id INTEGER,
  seq INTEGER, t_us INTEGER NOT NULL, db INTEGER, name TEXT NOT NULL, args TEXT NOT NULL,
  reply TEXT, error TEXT, in_multi INTEGER NOT NULL DEFAULT 0);
CREATE TABLE events(
  id INTEGER PRIMARY KEY, t_us INTEGER NOT NULL, case_id INTEGER, service TEXT,
  connection_id INTEGER, kind TEXT NOT NULL, detail TEXT);
COMMIT;
)sql";
#undef FIELD_VALUE
#undef LIST_FIELDS
#undef LIST_JSON
#undef LIST_WIRE
#undef BODY
#undef REQUEST_WIRE
#undef RESPONSE_WIRE
#undef STORE_LIST

// Made at the end of each case and of the run (Journal::index_now), not
// kept up while traffic flows: with 50 connections each commit rewrote a
// leaf of it per connection and direction (GET /cars/1 at 50 connections,
// A/B: 27k/s with it, 30k/s without).
// The exchanges' index serves the `chunks` view's rows rebuilt from them.
const char* kChunkIndex =
    "CREATE INDEX IF NOT EXISTS chunks_by_connection ON chunk_rows(connection_id, dir, offset);"
    "CREATE INDEX IF NOT EXISTS http_by_connection ON http_exchanges(connection_id)";

// http_exchanges' columns: req_headers and resp_headers are bound as
// <column>_id, as the bodies stored apart are.
const char* kHttpColumns[] = {"service", "connection_id", "seq", "started_us", "ended_us",
                              "method", "target", "path", "query", "version",
                              "req_headers", "req_body", "req_body_truncated", "status",
                              "reason", "resp_headers", "resp_body", "resp_body_truncated",
                              "error", "req_values", "resp_values",
                              "req_chunk_id", "req_chunk_us", "req_chunk_offset",
                              "resp_chunk_id", "resp_chunk_us", "resp_chunk_offset"};
// Their places, for the masks of the columns a row gives.
enum HttpColumn : unsigned {
    kService, kConnectionId, kSeq, kStartedUs, kEndedUs, kMethod, kTarget, kPath, kQuery, kVersion,
    kReqHeaders, kReqBody, kReqCut, kStatus, kReason, kRespHeaders, kRespBody, kRespCut, kError,
    kReqValues, kRespValues, kReqChunk, kRespChunk = kReqChunk + 3  // id, us, offset each
};
constexpr std::uint64_t bits(std::initializer_list<HttpColumn> cs) {
    std::uint64_t m = 0;
    for (auto c : cs) m |= std::uint64_t{1} << c;
    return m;
}
const char* kFieldColumns[] = {"name", "value"};
const char* kListColumns[] = {"fields"};
const char* kStepColumns[] = {"client", "connection_id", "idx", "action", "ok",
                              "expected", "got", "started_us", "ended_us"};
const char* kSqlColumns[] = {"service", "connection_id", "seq", "t_us", "duration_us", "text", "params",
                             "parameterised", "protocol", "verb", "tag", "rows", "sqlstate", "error",
                             "tx_before", "tx_after"};
const char* kCommandColumns[] = {"service", "connection_id", "seq", "t_us", "db", "name",
                                 "args", "reply", "error", "in_multi"};
const char* kInvocationColumns[] = {"case_id", "service", "tool", "argv", "pid", "ppid",
                                    "parent_cmdline", "cwd", "started_us", "exit_code", "hang",
                                    "stdout_bytes", "stderr_bytes"};
const char* kMessageColumns[] = {"service", "connection_id", "seq", "dir", "t_us", "protocol",
                                 "data", "json", "error", "peer", "fault", "pid"};
}  // namespace

Journal::Journal(const std::filesystem::path& file, std::optional<std::chrono::steady_clock::time_point> origin)
    : file_(file), start_(origin ? *origin : std::chrono::steady_clock::now()) {
    std::error_code ec;
    std::filesystem::remove(file, ec);
    std::filesystem::remove(file.string() + "-wal", ec);
    std::filesystem::remove(file.string() + "-shm", ec);
    // Opened and given its schema on the writer thread, the first thing it
    // does: its ~1.5 ms can overlap the Session making its services where a
    // second core is free. opened() waits for it and says why it failed;
    // what is written before waits in the queue behind it.
    chunk_ids_ = &last_id_["chunks"];
    exchange_ids_ = &last_id_["http_exchanges"];
    hand_over([this] { open(); });
    writer_ = std::thread([this] { writer_loop(); });
    set_meta("schema_version", std::to_string(schema_version));
    set_meta("status", "running");
}

void Journal::open() {
    db_ = std::make_unique<sql::Db>(file_);
    db_->exec("PRAGMA journal_mode=WAL;");
    db_->exec(kSchema);
    // Made without an fsync (sql::Db); from now on the WAL is synced at
    // each checkpoint, so even a power cut leaves a journal that opens.
    // A small page cache: the journal is appended to, not searched. With
    // the chunks' index kept up under load, 2 MB was faster than 256 KB
    // (its pages spilled to the WAL before each commit); without it they
    // measure the same (GET /cars/1 at 50 connections for 10 s, 2 runs
    // each: 46.9k/53.8k/s with 256 KB, 51.0k/45.5k/s with 2 MB), and RSS
    // under load is 15.4-16.6 MB against 18.0-18.4 MB.
    db_->exec("PRAGMA synchronous=NORMAL; PRAGMA cache_size=-256;");
    ins_chunk_ = std::make_unique<sql::Stmt>(
        *db_, "INSERT INTO chunk_rows(id, connection_id, dir, t_us, offset, data) VALUES (?,?,?,?,?,?)");
    ins_conn_ = std::make_unique<sql::Stmt>(
        *db_,
        "INSERT INTO connections(id, case_id, service, transport, role, local, peer, opened_us, pid) "
        "VALUES (?,?,?,?,?,?,?,?,?)");
    ins_event_ = std::make_unique<sql::Stmt>(
        *db_,
        "INSERT INTO events(t_us, case_id, service, connection_id, kind, detail) "
        "VALUES (?,?,?,?,?,?)");
}

void Journal::opened() {
    flush();
    std::string why = error();
    if (!why.empty()) throw std::runtime_error(why);
}

Journal::~Journal() {
    flush();
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    work_cv_.notify_one();
    writer_.join();
}

micros Journal::now() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now() - start_)
        .count();
}

std::string Journal::error() const {
    std::lock_guard lock(mu_);
    return error_;
}

std::int64_t Journal::next_id(const char* table) {
    auto it = last_id_.find(std::string_view(table));
    if (it == last_id_.end()) it = last_id_.emplace(table, 0).first;
    return ++it->second;
}

template <class F>
void Journal::write(F&& f, std::size_t bytes) {
    stage(bytes, [&](Op& op) {
        op.run = [this, f = std::forward<F>(f)]() mutable {
            begin();
            f();
        };
    });
}

template <class Fill>
void Journal::stage(std::size_t bytes, Fill&& fill) {
    // Checked without the lock: a write staged as the writer fails is
    // dropped when it is handed over.
    if (failed_.load(std::memory_order_relaxed)) return;
    staged_.bytes += bytes;
    // Made in its place: an op is large, and most of its members are not
    // this kind's.
    Op& op = staged_.ops.emplace_back();
    op.bytes = bytes;
    fill(op);
    // The writer is woken for a batch, not for each row (a wake-up per row
    // would cost a context switch per row, and the lock taken per row cost
    // 3% of the serving thread under load); the tick's commit() hands over
    // whatever is left.
    if (staged_.ops.size() >= kBatchOps || staged_.bytes >= kQueueBytes / 8) hand_over();
}

void Journal::hand_over(std::function<void()> op) {
    if (op) staged_.ops.emplace_back().run = std::move(op);
    if (staged_.ops.empty()) return;
    std::vector<std::vector<Op>> done;  // freed here, after the lock
    bool handed = false;
    {
        std::unique_lock lock(mu_);
        done.swap(done_ops_);
        std::size_t n = staged_.ops.size();
        room_cv_.wait(lock, [&] {
            return (queued_ops_ + n <= kQueueOps && queued_bytes_ + staged_.bytes <= kQueueBytes) ||
                   queue_.empty() || !error_.empty();
        });
        if (error_.empty()) {
            queued_ops_ += n;
            queued_bytes_ += staged_.bytes;
            pushed_ += n;
            queue_.push_back(std::move(staged_));
            handed = true;
        }
    }
    // The exchanges the writer has run, for the next ones.
    for (auto& batch : done)
        for (Op& op : batch)
            if (op.http && spare_exchanges_.size() < kBatchOps) spare_exchanges_.push_back(std::move(op.http));
    // The next batch in a vector the writer has run, its room kept.
    staged_.ops.clear();
    staged_.bytes = 0;
    if (staged_.ops.capacity() == 0 && !done.empty()) {
        staged_.ops = std::move(done.back());
        done.pop_back();
        staged_.ops.clear();
    }
    if (handed) work_cv_.notify_one();
}

void Journal::write_and_wait(std::function<void()> f) {
    hand_over(std::move(f));
    std::unique_lock lock(mu_);
    // A failed journal took no more; what was queued before it ran or was dropped.
    std::uint64_t mine = pushed_;
    done_cv_.wait(lock, [&] { return done_ >= mine; });
}

void Journal::writer_loop() {
    std::unique_lock lock(mu_);
    for (;;) {
        work_cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
        if (queue_.empty()) return;
        // A batch at a time: a producer waiting for room (the queue full)
        // waits for one such batch, not for the queue.
        std::vector<Op> batch = std::move(queue_.front().ops);
        queued_bytes_ -= queue_.front().bytes;
        queued_ops_ -= batch.size();
        queue_.pop_front();
        lock.unlock();
        room_cv_.notify_all();
        for (std::size_t k = 0; k < batch.size(); ++k) {
            Op& op = batch[k];
            // The next exchange was made on the serving thread's core: its
            // cache lines are fetched while this one is written.
            if (k + 1 < batch.size() && batch[k + 1].http) {
                const char* next = reinterpret_cast<const char*>(batch[k + 1].http.get());
                for (std::size_t line = 0; line < sizeof(Exchange); line += 64) __builtin_prefetch(next + line);
            }
            // A failed journal takes no more writes; what waits is told.
            if (!failed_.load(std::memory_order_relaxed)) {
                try {
                    run_op(op);
                } catch (const std::exception& e) {
                    fail(e.what());
                }
            }
        }
        lock.lock();
        done_ += batch.size();
        // What the writes hold was allocated by the producer: it frees them
        // at its next hand-over. Freed here, each free took the producer's
        // malloc arena lock, and the producer waited on it (futex waits:
        // 4.5% of wirelab's samples under load).
        done_ops_.push_back(std::move(batch));
        done_cv_.notify_all();
    }
}

void Journal::run_op(Op& op) {
    switch (op.kind) {
    case Op::Run:
        op.run();
        break;
    case Op::Chunk: {
        begin();
        auto& s = *ins_chunk_;
        s.bind(1, op.d).bind(2, op.a).bind_borrowed(3, op.dir == 0 ? "in" : "out").bind(4, op.b).bind(5, op.c);
        s.bind_blob_borrowed(6, op.data);
        s.exec_rebound();
        break;
    }
    case Op::Insert:
        begin();
        insert_now(op.row, op.a, op.b);
        break;
    case Op::Http:
        begin();
        insert_exchange(*op.http, op.a, op.b);
        break;
    }
}

void Journal::fail(std::string why) {
    std::lock_guard lock(mu_);
    if (error_.empty()) error_ = std::move(why);
    failed_ = true;
    room_cv_.notify_all();
}

void Journal::begin() {
    if (!in_tx_) {
        db_->exec("BEGIN");
        in_tx_ = true;
    }
}

void Journal::commit_now() {
    // Deleted under us, the file would take every write and keep none.
    std::error_code ec;
    if (!std::filesystem::exists(file_, ec)) {
        fail("the journal " + file_.string() + " was deleted during the run");
        return;
    }
    if (!in_tx_) return;
    in_tx_ = false;
    db_->exec("COMMIT");
}

void Journal::commit() {
    // A chunk held since before the last tick goes as it is: its exchange
    // is slow, and a killed run loses at most the last tick.
    release_held(tick_++);
    hand_over([this] { commit_now(); });
}

void Journal::flush() {
    release_held();
    write_and_wait([this] {
        if (!failed_) commit_now();
    });
}

void Journal::index_now() {
    if (indexed_) return;
    db_->exec(kChunkIndex);
    indexed_ = true;
}

void Journal::finish(const std::string& status) {
    write([this] { index_now(); });
    set_meta("status", status);
    set_meta("ended_us", std::to_string(now()));
    flush();
    // The WAL copied into the database now, on the writer thread, while the
    // caller reads the run (a check grades it): closing the connection then
    // finds nothing left to copy, and its two fdatasyncs (a few ms, tens
    // when the disk is busy) are not what the learner waits for. PASSIVE
    // never waits on a reader; what it leaves, the close copies.
    hand_over([this] {
        if (!failed_) sqlite3_wal_checkpoint_v2(db_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    });
}

void Journal::set_meta(const std::string& key, const std::string& value) {
    write([this, key, value] {
        db_->prepare("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)").bind(1, key).bind(2, value).exec();
    });
}

std::int64_t Journal::begin_case(const std::string& name, const std::string& command) {
    case_id_ = next_id("cases");
    write([this, id = case_id_, name, command, t = now()] {
        db_->prepare("INSERT INTO cases(id, name, command, started_us) VALUES (?,?,?,?)")
            .bind(1, id)
            .bind(2, name)
            .bind(3, command)
            .bind(4, t)
            .exec();
    });
    return case_id_;
}

void Journal::end_case(std::int64_t id, const CaseOutcome& outcome) {
    write(
        [this, id, o = outcome, t = now()] {
            auto s = db_->prepare(
                "UPDATE cases SET ended_us=?, pid=?, exit_code=?, signal=?, timed_out=?, "
                "start_error=?, stdout=?, stderr=?, stdout_bytes=?, stderr_bytes=?, "
                "stdout_truncated=?, stderr_truncated=?, cpu_user_us=?, cpu_sys_us=?, "
                "limit_hit=?, limit_detail=?, processes_peak=? WHERE id=?");
            s.bind(1, t).bind(2, o.pid).bind(3, o.exit_code).bind(4, o.signal);
            s.bind(5, o.timed_out ? 1 : 0);
            if (o.start_error.empty())
                s.bind_null(6);
            else
                s.bind(6, o.start_error);
            s.bind_blob(7, o.out).bind_blob(8, o.err).bind(9, o.out_bytes).bind(10, o.err_bytes);
            s.bind(11, o.out_truncated ? 1 : 0).bind(12, o.err_truncated ? 1 : 0);
            s.bind(13, o.cpu_user_us).bind(14, o.cpu_sys_us);
            if (o.limit.empty())
                s.bind_null(15).bind_null(16);
            else
                s.bind(15, o.limit).bind(16, o.limit_detail);
            s.bind(17, static_cast<std::int64_t>(o.processes_peak)).bind(18, id);
            s.exec();
            index_now();  // the checks read the case's bytes by connection next
            auto p = db_->prepare(
                "INSERT INTO processes(case_id, pid, ppid, cmdline, started_us, ended_us, exit_code, signal, "
                "threads_max, is_root, orphaned, reaped_by_wirelab, left_running) VALUES "
                "(?,?,?,?,?,?,?,?,?,?,?,?,?)");
            for (const ProcRecord& r : o.processes) {
                p.bind(1, id).bind(2, r.pid).bind(3, r.ppid).bind(4, r.cmdline).bind(5, r.started_us);
                if (r.ended_us >= 0)
                    p.bind(6, r.ended_us);
                else
                    p.bind_null(6);
                p.bind(7, r.exit_code).bind(8, r.signal).bind(9, r.threads_max);
                p.bind(10, r.root ? 1 : 0).bind(11, r.orphaned ? 1 : 0).bind(12, r.reaped_by_wirelab ? 1 : 0);
                p.bind(13, r.left_running ? 1 : 0);
                p.exec();
            }
        },
        outcome.out.size() + outcome.err.size());
}

void Journal::attribute(std::int64_t id, Conn& c) {
    if (c.attribution_tries <= 0 || !attributor_) return;
    --c.attribution_tries;
    auto pid = attributor_(c.local, c.peer);
    if (!pid) return;
    c.attribution_tries = 0;
    write([this, id, pid = *pid] {
        db_->prepare("UPDATE connections SET pid=? WHERE id=?").bind(1, pid).bind(2, id).exec();
    });
}

std::int64_t Journal::open_connection(const ConnectionInfo& c) {
    if (!traffic_) return ++untracked_id_;
    std::int64_t id = next_id("connections");
    write([this, id, c, case_id = case_id_, t = c.opened_us >= 0 ? c.opened_us : now()] {
        auto& s = *ins_conn_;
        s.bind(1, id);
        if (case_id)
            s.bind(2, case_id);
        else
            s.bind_null(2);
        s.bind(3, c.service).bind(4, c.transport).bind(5, c.role).bind(6, c.local);
        s.bind(7, c.peer).bind(8, t);
        if (c.pid)
            s.bind(9, *c.pid);
        else
            s.bind_null(9);
        s.exec();
    });
    Conn& conn = conns_[id];
    if (!c.pid && c.transport == "tcp" && attributor_) {
        conn.local = c.local, conn.peer = c.peer;
        conn.attribution_tries = 4;
        attribute(id, conn);
    }
    return id;
}

void Journal::chunk(std::int64_t conn, Dir dir, std::string_view bytes, micros t_us) {
    chunk_from(conn, dir, bytes, nullptr, t_us);
}

void Journal::chunk_owned(std::int64_t conn, Dir dir, std::string&& bytes, micros t_us) {
    chunk_from(conn, dir, bytes, &bytes, t_us);
}

void Journal::chunk_from(std::int64_t conn, Dir dir, std::string_view bytes, std::string* owned, micros t_us) {
    if (!traffic_) return;
    auto it = conns_.find(conn);
    if (it == conns_.end() || bytes.empty()) return;
    int d = dir == Dir::in ? 0 : 1;
    Conn& c = it->second;
    if (d == 0 && c.attribution_tries > 1) attribute(conn, c);
    std::int64_t offset = c.bytes[d];
    c.bytes[d] += static_cast<std::int64_t>(bytes.size());
    if (offset >= static_cast<std::int64_t>(chunk_cap_)) {
        c.truncated[d] = true;
        return;
    }
    std::size_t room = chunk_cap_ - static_cast<std::size_t>(offset);
    bool cut = bytes.size() > room;
    if (cut) {
        bytes = bytes.substr(0, room);
        c.truncated[d] = true;
    }
    std::int64_t id = ++*chunk_ids_;
    micros t = t_us >= 0 ? t_us : now();
    if (c.http && !cut) {
        // Held until the exchange: most are its request or response.
        Held& h = c.held[d];
        if (h.held) release(conn, c, d);
        h.data.assign(bytes);
        h.id = id, h.offset = offset, h.t_us = t, h.tick = tick_, h.held = true;
        ++held_count_;
        return;
    }
    if (owned)
        owned->resize(bytes.size());
    stage_chunk(conn, d, owned ? std::move(*owned) : std::string(bytes), t, offset, id);
}

void Journal::stage_chunk(std::int64_t conn, int dir, std::string data, micros t_us, std::int64_t offset,
                          std::int64_t id) {
    stage(data.size(), [&](Op& op) {
        op.kind = Op::Chunk;
        op.data = std::move(data);
        op.dir = dir;
        op.a = conn, op.b = t_us, op.c = offset, op.d = id;
    });
}

void Journal::release(std::int64_t conn, Conn& c, int dir) {
    Held& h = c.held[dir];
    if (!h.held) return;
    stage_chunk(conn, dir, h.data, h.t_us, h.offset, h.id);
    let_go(h);
}

void Journal::let_go(Held& h) {
    h.held = false;
    --held_count_;
    // The room of a large one is not kept.
    if (h.data.capacity() > kHeldRoom) std::string().swap(h.data);
}

void Journal::release_held(std::uint64_t before_tick) {
    if (held_count_ == 0) return;
    for (auto& [id, c] : conns_)
        for (int d = 0; d < 2; ++d)
            if (c.held[d].held && c.held[d].tick < before_tick) release(id, c, d);
}

void Journal::derive_http(std::int64_t conn) {
    if (auto it = conns_.find(conn); it != conns_.end()) it->second.http = true;
}

void Journal::close_connection(std::int64_t conn, const std::string& closed_by,
                               const std::string& close_kind) {
    if (!traffic_) return;
    auto it = conns_.find(conn);
    if (it == conns_.end()) return;
    attribute(conn, it->second);
    release(conn, it->second, 0);
    release(conn, it->second, 1);
    Conn c = std::move(it->second);
    conns_.erase(it);
    write([this, conn, closed_by, close_kind, t = now(), in = c.bytes[0], out = c.bytes[1],
           tin = c.truncated[0], tout = c.truncated[1]] {
        db_->prepare(
               "UPDATE connections SET closed_us=?, closed_by=?, close_kind=?, bytes_in=?, "
               "bytes_out=?, in_truncated=?, out_truncated=? WHERE id=?")
            .bind(1, t)
            .bind(2, closed_by)
            .bind(3, close_kind)
            .bind(4, in)
            .bind(5, out)
            .bind(6, tin ? 1 : 0)
            .bind(7, tout ? 1 : 0)
            .bind(8, conn)
            .exec();
    });
}

void Journal::http(const json& f) {
    if (!traffic_) return;
    // A column not given (or null) is NULL, as it was when these rows went
    // through insert(): the http client's rows have no query, a connection
    // it could not make has no id.
    std::uint64_t absent = 0;
    auto given = [&](std::size_t k) {
        auto it = f.find(kHttpColumns[k]);
        if (it != f.end() && !it->is_null()) return &*it;
        absent |= std::uint64_t{1} << k;
        return static_cast<const json*>(nullptr);
    };
    auto text = [&](std::size_t k) -> std::string {
        const json* v = given(k);
        if (!v) return {};
        return v->is_string() ? v->get<std::string>() : v->dump(-1, ' ', false, json::error_handler_t::replace);
    };
    auto integer = [&](std::size_t k) -> std::int64_t {
        const json* v = given(k);
        if (v && v->is_boolean()) return v->get<bool>() ? 1 : 0;
        return v && v->is_number_integer() ? v->get<std::int64_t>() : 0;
    };
    // A list as an array of pairs or as its JSON text (a value that is not
    // UTF-8 mended, as the list is stored).
    HeaderList req, resp;
    HeaderViews req_views, resp_views;
    auto list = [&](std::size_t k, HeaderList& l, HeaderViews& v) -> const HeaderViews* {
        const json* j = given(k);
        if (!j) return nullptr;
        l = parse_header_list(j->is_string() ? j->get<std::string>()
                                             : j->dump(-1, ' ', false, json::error_handler_t::replace));
        for (const auto& [n, val] : l) v.emplace_back(n, val);
        return &v;
    };
    // In kHttpColumns' order.
    HttpExchange x;
    x.service = text(kService);
    x.connection_id = integer(kConnectionId);
    x.seq = integer(kSeq);
    x.started_us = integer(kStartedUs);
    x.ended_us = integer(kEndedUs);
    x.method = text(kMethod);
    x.target = text(kTarget);
    x.path = text(kPath);
    x.query = text(kQuery);
    x.version = text(kVersion);
    x.req_headers = list(kReqHeaders, req, req_views);
    x.req_body = text(kReqBody);
    x.status = static_cast<int>(integer(kStatus));
    x.reason = text(kReason);
    x.resp_headers = list(kRespHeaders, resp, resp_views);
    x.resp_body = text(kRespBody);
    x.error = text(kError);
    auto id = http_row(std::move(x), absent);
    if (row_hook_) row_hook_("http", id, f);
}

void Journal::message(json row) {
    if (!row.contains("t_us")) row["t_us"] = now();
    if (!row_hook_) {
        insert("messages", kMessageColumns, std::move(row));
        return;
    }
    auto id = insert("messages", kMessageColumns, row);
    row_hook_("messages", id, row);
}

void Journal::step(json row) {
    if (!row.contains("ended_us")) row["ended_us"] = now();
    insert("steps", kStepColumns, std::move(row));
}

namespace {
// The last chunk id, of a row of its own or of one an exchange holds (read
// from the tables: the view would rebuild every exchange's bytes).
std::string max_chunk_id(const std::string& schema) {
    return "SELECT max(coalesce((SELECT max(id) FROM " + schema + "chunk_rows), 0), coalesce((SELECT max(req_chunk_id) FROM " +
           schema + "http_exchanges), 0), coalesce((SELECT max(resp_chunk_id) FROM " + schema + "http_exchanges), 0))";
}
}  // namespace

void Journal::reload_ids() {
    for (const char* t : {"connections", "http_exchanges", "messages", "commands", "sql", "steps", "invocations", "cases",
                          "header_fields", "header_lists", "chunks"}) {
        auto s = db_->prepare(std::string_view(t) == "chunks" ? max_chunk_id("")
                                                              : std::string("SELECT coalesce(max(id), 0) FROM ") + t);
        if (s.step()) last_id_[t] = std::max(last_id_[t], s.integer(0));
    }
}

void Journal::merge_replica(const std::filesystem::path& other, int replica) {
    flush();
    // On the writer thread (the only one using the database), this thread
    // waiting: the ids it hands out next come after the merged rows.
    write_and_wait([&] {
        if (!error().empty()) return;
        merge_replica_now(other, replica);
        reload_ids();
    });
}

void Journal::merge_replica_now(const std::filesystem::path& other, int replica) {
    try {
        auto columns = [&](const std::string& table, const std::vector<std::string>& skip) {
            std::vector<std::string> out;
            auto s = db_->prepare("SELECT name FROM pragma_table_info('" + table + "')");
            while (s.step()) {
                std::string c = s.text(0);
                if (std::find(skip.begin(), skip.end(), c) == skip.end()) out.push_back(c);
            }
            return out;
        };
        auto max_id = [&](const std::string& table) -> std::int64_t {
            auto s = db_->prepare("SELECT coalesce(max(id), 0) FROM " + table);
            return s.step() ? s.integer(0) : 0;
        };
        auto join = [](const std::vector<std::string>& cols, const std::string& prefix) {
            std::string o;
            for (const auto& c : cols) o += "," + prefix + c;
            return o;
        };
        // A row belongs to the case that had started when it happened.
        auto case_of = [](const std::string& t) {
            return "(SELECT c.id FROM main.cases c WHERE c.started_us <= r." + t +
                   " ORDER BY c.started_us DESC LIMIT 1)";
        };
        auto q = db_->prepare("ATTACH DATABASE ? AS replica");
        q.bind(1, other.string());
        q.exec();
        db_->exec("BEGIN");
        std::string o = std::to_string(max_id("main.connections")), rep = std::to_string(replica);
        // The replica's header lists, fields and bodies keep their ids, shifted past ours.
        std::string h = std::to_string(max_id("main.header_lists")), f = std::to_string(max_id("main.header_fields")),
                    b = std::to_string(max_id("main.bodies")), k;
        {
            auto s = db_->prepare(max_chunk_id("main."));
            k = std::to_string(s.step() ? s.integer(0) : 0);
        }
        db_->exec("INSERT INTO main.bodies(id, data) SELECT id+" + b + ", data FROM replica.bodies");
        db_->exec("INSERT INTO main.header_fields(id, name, value) SELECT id+" + f +
                  ", name, value FROM replica.header_fields");
        db_->exec("INSERT INTO main.header_lists(id, fields) SELECT l.id+" + h +
                  ", (SELECT '[' || coalesce(group_concat(j.value+" + f +
                  ", ','), '') || ']' FROM json_each(l.fields) j) FROM replica.header_lists l");
        auto conn = columns("connections", {"id", "case_id", "replica"});
        db_->exec("INSERT INTO main.connections(id,case_id,replica" + join(conn, "") + ") SELECT r.id+" + o + "," +
                  case_of("opened_us") + "," + rep + join(conn, "r.") + " FROM replica.connections r");
        auto chunk = columns("chunk_rows", {"id", "connection_id"});
        db_->exec("INSERT INTO main.chunk_rows(id,connection_id" + join(chunk, "") + ") SELECT id+" + k +
                  ",connection_id+" + o + join(chunk, "") + " FROM replica.chunk_rows ORDER BY id");
        struct Merged {
            const char* table;
            const char* t;                      // when a row happened
            std::vector<std::pair<std::string, std::string>> ids;  // ids into another table, and their shift
        };
        for (const auto& [table, t, ids] :
             {Merged{"http_exchanges", "started_us",
                     {{"req_headers_id", h}, {"resp_headers_id", h}, {"req_body_id", b}, {"resp_body_id", b},
                      {"req_chunk_id", k}, {"resp_chunk_id", k}}},
              Merged{"messages", "t_us", {}}, Merged{"commands", "t_us", {}}, Merged{"sql", "t_us", {}},
              Merged{"events", "t_us", {}}}) {
            std::vector<std::string> skip = {"id", "case_id", "connection_id"};
            for (const auto& [c, shift] : ids) skip.push_back(c);
            auto cols = columns(table, skip);
            std::string into, from;
            for (const auto& [c, shift] : ids) into += "," + c, from += ",r." + c + "+" + shift;
            // What a replica says of its own start and stop is the Session's
            // "replica" events already.
            std::string where = std::string(table) == "events"
                                    ? " WHERE kind NOT IN ('signal', 'service-start', 'service-stop')"
                                    : "";
            db_->exec(std::string("INSERT INTO main.") + table + "(case_id,connection_id" + into + join(cols, "") +
                      ") SELECT " + case_of(t) + ",CASE WHEN r.connection_id > 0 THEN r.connection_id+" + o +
                      " END" + from + join(cols, "r.") + " FROM replica." + table + " r" + where + " ORDER BY r.id");
        }
        db_->exec("COMMIT");
        db_->exec("DETACH DATABASE replica");
    } catch (const std::exception& e) {
        fail(std::string("merging the journal of replica ") + std::to_string(replica) + ": " + e.what());
        try {
            db_->exec("ROLLBACK");
        } catch (...) {
        }
        try {
            db_->exec("DETACH DATABASE replica");
        } catch (...) {
        }
    }
}

void Journal::statement(json row) {
    if (!row.contains("t_us")) row["t_us"] = now();
    if (!row_hook_) {
        insert("sql", kSqlColumns, std::move(row));
        return;
    }
    auto id = insert("sql", kSqlColumns, row);
    row_hook_("sql", id, row);
}

void Journal::command(json row) {
    if (!row.contains("t_us")) row["t_us"] = now();
    if (!row_hook_) {
        insert("commands", kCommandColumns, std::move(row));
        return;
    }
    auto id = insert("commands", kCommandColumns, row);
    row_hook_("commands", id, row);
}

std::int64_t Journal::invocation(json row) {
    if (!row.contains("started_us")) row["started_us"] = now();
    if (!row.contains("case_id")) row["case_id"] = case_id_ ? json(case_id_) : json();
    return insert("invocations", kInvocationColumns, std::move(row));
}

void Journal::end_invocation(std::int64_t id, const std::string& outcome, std::optional<int> exit_code,
                             std::int64_t stdout_written, std::int64_t stderr_written) {
    write([this, id, outcome, exit_code, stdout_written, stderr_written, t = now()] {
        auto s = db_->prepare(
            "UPDATE invocations SET ended_us=?, outcome=?, exit_code=coalesce(?, exit_code), stdout_written=?, "
            "stderr_written=? WHERE id=?");
        s.bind(1, t);
        s.bind(2, outcome);
        if (exit_code)
            s.bind(3, static_cast<std::int64_t>(*exit_code));
        else
            s.bind_null(3);
        s.bind(4, stdout_written);
        s.bind(5, stderr_written);
        s.bind(6, id);
        s.exec();
    });
}

void append_json_string(std::string& out, std::string_view s) {
    // ASCII is escaped here as nlohmann escapes it (an ETag's quotes, a
    // tab); text with other bytes goes through nlohmann, which checks its
    // UTF-8. Most values have nothing to escape: runs are appended whole.
    static constexpr auto plain = [] {
        std::array<bool, 256> t{};
        for (int c = 0x20; c < 0x80; ++c) t[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
        return t;
    }();
    const std::size_t start = out.size();
    out += '"';
    std::size_t from = 0;
    for (std::size_t k = 0; k < s.size(); ++k) {
        auto u = static_cast<unsigned char>(s[k]);
        if (plain[u]) continue;
        if (u >= 0x80) {
            out.resize(start);
            out += json(s).dump(-1, ' ', false, json::error_handler_t::replace);
            return;
        }
        out.append(s, from, k - from);
        from = k + 1;
        switch (s[k]) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default: {
                char esc[8];
                std::snprintf(esc, sizeof esc, "\\u%04x", u);
                out += esc;
            }
        }
    }
    out.append(s, from, s.size() - from);
    out += '"';
}

Journal::RowMaker::RowMaker(const char* table, std::span<const char* const> columns) {
    row.table = table;
    row.columns = columns;
    row.cells.reserve(columns.size());
}

void Journal::RowMaker::add(std::size_t k, std::int64_t i) {
    row.mask |= std::uint64_t{1} << k;
    row.cells.push_back(Cell{Cell::Int, i, {}});
}

void Journal::RowMaker::add(std::size_t k, std::string s) {
    row.mask |= std::uint64_t{1} << k;
    bytes += s.size();
    row.cells.push_back(Cell{Cell::Text, 0, std::move(s)});
}

void Journal::command(CommandEntry r) {
    RowMaker m("commands", kCommandColumns);  // in kCommandColumns' order
    m.add(0, std::move(r.service));
    m.add(1, r.connection_id);
    m.add(2, r.seq);
    m.add(3, now());
    m.add(4, r.db);
    m.add(5, std::move(r.name));
    m.add(6, std::move(r.args));
    m.add(7, std::move(r.reply));
    if (!r.error.empty()) m.add(8, std::move(r.error));
    m.add(9, r.in_multi);
    auto id = queue_row(std::move(m.row), m.bytes);
    if (row_hook_) row_hook_("commands", id, json());
}

void Journal::statement(StatementEntry r) {
    RowMaker m("sql", kSqlColumns);  // in kSqlColumns' order
    m.add(0, std::move(r.service));
    m.add(1, r.connection_id);
    m.add(2, r.seq);
    m.add(3, now());
    m.add(4, r.duration_us);
    m.add(5, std::move(r.text));
    if (r.params) m.add(6, std::move(*r.params)), m.add(7, r.parameterised);
    m.add(8, std::move(r.protocol));
    m.add(9, std::move(r.verb));
    if (r.ok) {
        m.add(10, std::move(r.tag));
        m.add(11, r.rows);
    } else {
        m.add(12, std::move(r.sqlstate));
        m.add(13, std::move(r.error));
    }
    m.add(14, std::move(r.tx_before));
    m.add(15, std::move(r.tx_after));
    auto id = queue_row(std::move(m.row), m.bytes);
    if (row_hook_) row_hook_("sql", id, json());
}

std::int64_t Journal::insert(const char* table, std::span<const char* const> columns, json f) {
    // The row's values leave the JSON here, on the producer's thread: its
    // strings are moved, not copied, and the JSON is freed by the thread
    // that made it (a free from the writer's thread takes the producer's
    // malloc arena lock). Only the columns given are written: the others
    // keep their defaults.
    Row row;
    row.table = table;
    row.columns = columns;
    row.cells.reserve(columns.size());
    std::size_t bytes = 0;
    for (std::size_t k = 0; k < columns.size() && k < 64; ++k) {
        auto it = f.find(columns[k]);
        if (it == f.end() || it->is_null()) continue;
        row.mask |= std::uint64_t{1} << k;
        Cell c;
        std::string_view name(columns[k]);
        bool blob = name.find("body") != std::string_view::npos || name == "data" || name == "got";
        if (it->is_number_integer()) {
            c.kind = Cell::Int, c.i = it->get<std::int64_t>();
        } else if (it->is_boolean()) {
            c.kind = Cell::Int, c.i = it->get<bool>() ? 1 : 0;
        } else if (it->is_string()) {
            c.kind = blob ? Cell::Blob : Cell::Text;
            c.s = std::move(it->get_ref<std::string&>());
            if (blob && c.s.size() > body_cap_) c.s.resize(body_cap_);
        } else {
            c.kind = Cell::Text, c.s = it->dump(-1, ' ', false, json::error_handler_t::replace);
        }

        bytes += c.s.size();
        row.cells.push_back(std::move(c));
    }
    return queue_row(std::move(row), bytes);
}

std::int64_t Journal::queue_row(Row row, std::size_t bytes) {
    std::int64_t id = next_id(row.table);
    queue_row(std::move(row), bytes, id);
    return id;
}

void Journal::queue_row(Row row, std::size_t bytes, std::int64_t id) {
    stage(bytes, [&](Op& op) {
        op.kind = Op::Insert;
        op.a = id, op.b = case_id_;
        op.row = std::move(row);
    });
}

void Journal::http(HttpExchange x) {
    if (!traffic_) return;
    auto id = http_row(std::move(x));
    if (row_hook_) row_hook_("http", id, json());
}

std::int64_t Journal::http_row(HttpExchange x, std::uint64_t absent) {
    // What a request that could not be read lacks, and what the `chunks`
    // view rebuilds a request or a response from besides the lists and bodies.
    constexpr std::uint64_t unread = bits({kMethod, kTarget, kPath, kQuery, kVersion}),
                            wire = bits({kMethod, kTarget, kVersion, kStatus, kReason});
    if (!x.parsed) absent |= unread;
    // An exchange the writer has run, its strings' room kept.
    std::unique_ptr<Exchange> e;
    if (spare_exchanges_.empty()) {
        e = std::make_unique<Exchange>();
    } else {
        e = std::move(spare_exchanges_.back());
        spare_exchanges_.pop_back();
    }
    auto it = conns_.find(x.connection_id);
    Conn* c = it != conns_.end() && it->second.http ? &it->second : nullptr;
    for (int d = 0; d < 2; ++d) {
        std::string& body = d == 0 ? x.req_body : x.resp_body;
        e->cut[d] = body.size() > body_cap_;
        if (e->cut[d]) body.resize(body_cap_);
        e->list[d] = 0, e->chunk[d][0] = 0;
        e->values[d].clear();
        const HeaderViews* h = d == 0 ? x.req_headers : x.resp_headers;
        if (!h) continue;
        const RecentList& l = intern(*h, e->values[d]);
        e->list[d] = l.id;
        // A chunk held is this request or response, or stored as it is
        // (before the next list is interned: `l` is one of the recent lists).
        if (!c || !c->held[d].held) continue;
        if (!(!(absent & wire) && !e->cut[d] && l.exact && derive(*c, d, x, l, e->chunk[d])))
            release(x.connection_id, *c, d);
    }
    std::size_t bytes = x.req_body.size() + x.resp_body.size() + x.target.size() + 64;
    // Copied into the room of the strings kept, moved where there is none.
    auto take = [](std::string& to, std::string& from) {
        if (from.size() <= to.capacity())
            to.assign(from);
        else
            to = std::move(from);
    };
    HttpExchange& to = e->x;
    take(to.service, x.service), take(to.method, x.method), take(to.target, x.target), take(to.path, x.path);
    take(to.query, x.query), take(to.version, x.version), take(to.req_body, x.req_body);
    take(to.reason, x.reason), take(to.resp_body, x.resp_body), take(to.error, x.error);
    to.connection_id = x.connection_id, to.seq = x.seq, to.started_us = x.started_us, to.ended_us = x.ended_us;
    to.parsed = x.parsed, to.status = x.status;
    e->absent = absent;
    std::int64_t id = ++*exchange_ids_;
    stage(bytes, [&](Op& op) {
        op.kind = Op::Http;
        op.a = id, op.b = case_id_;
        op.http = std::move(e);
    });
    return id;
}

namespace {
/// a == b, inline: most of the journal's comparisons are of short strings
/// that are equal.
inline bool same(std::string_view a, std::string_view b) {
    return a.size() == b.size() && (a.empty() || __builtin_memcmp(a.data(), b.data(), a.size()) == 0);
}
/// Appends pieces and tells whether they add up to `want`, without making
/// the string (a held chunk compared with the exchange's bytes).
struct WireMatch {
    std::string_view want;
    std::size_t at = 0;
    bool ok = true;
    WireMatch& operator<<(std::string_view piece) {
        if (ok && want.size() - at >= piece.size() && same(want.substr(at, piece.size()), piece))
            at += piece.size();
        else
            ok = false;
        return *this;
    }
    bool whole() const { return ok && at == want.size(); }
};
}  // namespace

bool Journal::derive(Conn& c, int dir, const HttpExchange& x, const RecentList& list, std::int64_t (&chunk)[3]) {
    // What the `chunks` view makes of the row (REQUEST_WIRE, RESPONSE_WIRE).
    Held& h = c.held[dir];
    WireMatch w{h.data};
    const HeaderViews& fields = dir == 0 ? *x.req_headers : *x.resp_headers;
    if (dir == 0) {
        w << x.method << " " << x.target << " HTTP/" << x.version << "\r\n";
    } else {
        char status[16];
        auto end = std::to_chars(status, status + sizeof status, x.status).ptr;
        w << "HTTP/" << x.version << " " << std::string_view(status, static_cast<std::size_t>(end - status)) << " "
          << x.reason << "\r\n";
    }
    // The lines of the fields the list stores, a run at a time; a value
    // kept in the row, the exchange's own.
    for (std::size_t k = 0, n = fields.size(); k < n && w.ok;) {
        if (list.hole(k)) {
            w << fields[k].first << ": " << fields[k].second << "\r\n";
            ++k;
            continue;
        }
        std::size_t from = k ? list.line_end[k - 1] : 0;
        while (k < n && !list.hole(k)) ++k;
        w << std::string_view(list.wire).substr(from, list.line_end[k - 1] - from);
    }
    w << "\r\n" << (dir == 0 ? x.req_body : x.resp_body);
    if (!w.whole()) return false;
    chunk[0] = h.id, chunk[1] = h.t_us, chunk[2] = h.offset;
    let_go(h);
    return true;
}

namespace {
/// Fields whose value names one message (or one client): kept in the row
/// when it changes from one list to the next, not stored as a field of its
/// own that no other list would share.
bool names_one_message(std::string_view name) {
    static constexpr std::string_view names[] = {"Location", "ETag", "Last-Modified", "Content-Length",
                                                 "Set-Cookie", "Cookie", "Authorization", "If-None-Match",
                                                 "If-Match", "X-Request-Id"};
    for (auto n : names)
        if (iequals(n, name)) return true;
    return false;
}
/// A value the row can keep: printable ASCII, so that its JSON text reads
/// back byte for byte.
bool keepable(std::string_view v) {
    return v.size() <= 1024 && std::all_of(v.begin(), v.end(), [](char ch) {
               auto u = static_cast<unsigned char>(ch);
               return u >= 0x20 && u < 0x7f;
           });
}
/// `s` as stored: UTF-8, what is not replaced as nlohmann's dump replaces it.
bool ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x80; });
}
std::string mended(std::string_view s) {
    if (ascii(s)) return std::string(s);
    return json::parse(json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace)).get<std::string>();
}
/// Whether `s` is stored byte for byte (no copy made for ASCII).
bool stored_as_is(std::string_view s) {
    return ascii(s) || mended(s) == s;
}
}  // namespace

const Journal::RecentList& Journal::intern(const HeaderViews& fields, std::string& values) {
    // The lists seen last first: a request's and a response's come back
    // again and again, compared field by field without hashing (a field
    // kept in the row matches any value it can keep).
    const std::size_t n = fields.size();
    auto values_of = [&](const RecentList& l) -> const RecentList& {
        if (!l.holes) return l;
        values = "{";
        for (std::size_t k = 0; k < n; ++k) {
            if (!l.hole(k)) continue;
            if (values.size() > 1) values += ',';
            values += '"', values += std::to_string(k), values += "\":";
            append_json_string(values, fields[k].second);
        }
        values += '}';
        return l;
    };
    for (unsigned r = 0; r < std::size(recent_lists_); ++r) {
        RecentList& l = recent_lists_[(next_recent_ + std::size(recent_lists_) - 1 - r) % std::size(recent_lists_)];
        if (l.id == 0 || l.fields.size() != n) continue;
        bool match = true;
        for (std::size_t k = 0; k < n && match; ++k) {
            const auto& [name, value] = fields[k];
            match = same(l.fields[k].first, name) && (l.hole(k) ? keepable(value) : same(l.fields[k].second, value));
        }
        if (match) return values_of(l);
    }
    // A list not seen lately: each field's id, most of them the same as the
    // last such list's at the same place (a POST's list but for its
    // Location and ETag), then the list's own.
    std::string ids = "[";
    std::uint64_t holes = 0;
    bool exact = true;
    if (last_fields_.size() < n) last_fields_.resize(n);
    for (std::size_t k = 0; k < n; ++k) {
        const auto& [name, value] = fields[k];
        LastField& last = last_fields_[k];
        bool same_name = last.id != 0 && same(last.name, name);
        if (!(same_name && same(last.value, value))) {
            // A value that names one message, changed: kept in the row.
            bool hole = same_name && n <= 64 && names_one_message(name) && keepable(value);
            last.exact = true;
            last.id = hole ? hole_id(name) : field_id(name, value, last.exact);
            last.hole = hole;
            last.name = name, last.value = value;
        }
        if (last.hole) holes |= std::uint64_t{1} << k;
        exact = exact && last.exact;
        if (ids.size() > 1) ids += ',';
        ids += std::to_string(last.id);
    }
    ids += ']';
    std::int64_t id;
    if (auto known = list_ids_.find(ids)) {
        id = *known;
    } else {
        id = next_id("header_lists");
        RowMaker m("header_lists", kListColumns);
        m.row.caseless = true;
        m.add(0, ids);
        queue_row(std::move(m.row), m.bytes, id);
        list_ids_.add(std::move(ids), id);
    }
    RecentList& slot = recent_lists_[next_recent_++ % std::size(recent_lists_)];
    slot.fields.assign(fields.begin(), fields.end());
    slot.holes = holes, slot.id = id, slot.exact = exact;
    slot.wire.clear();
    slot.line_end.clear();
    for (const auto& [name, value] : fields) {
        slot.wire += name, slot.wire += ": ", slot.wire += value, slot.wire += "\r\n";
        slot.line_end.push_back(slot.wire.size());
    }
    return values_of(slot);
}

std::int64_t Journal::field_id(std::string_view name, std::string_view value, bool& exact) {
    // The name's length first: no name and value run into another pair's.
    std::string key = std::to_string(name.size()) + ':';
    key += name, key += value;
    if (auto id = field_ids_.find(key)) {
        exact = stored_as_is(name) && stored_as_is(value);
        return *id;
    }
    std::string n = mended(name), v = mended(value);
    exact = n == name && v == value;
    std::int64_t id = new_field(std::move(n), std::move(v));
    field_ids_.add(std::move(key), id);
    return id;
}

std::int64_t Journal::hole_id(std::string_view name) {
    std::string key(name);
    if (auto id = hole_ids_.find(key)) return *id;
    std::int64_t id = new_field(key, std::nullopt);  // no value: the row has it
    hole_ids_.add(std::move(key), id);
    return id;
}

std::int64_t Journal::new_field(std::string name, std::optional<std::string> value) {
    std::int64_t id = next_id("header_fields");
    RowMaker m("header_fields", kFieldColumns);
    m.row.caseless = true;
    m.add(0, std::move(name));
    if (value) m.add(1, std::move(*value));
    queue_row(std::move(m.row), m.bytes, id);
    return id;
}

Journal::Insert& Journal::insert_statement(const char* table, std::span<const char* const> columns,
                                           std::uint64_t mask, std::uint64_t ids, bool caseless) {
    // One prepared statement per table and set of columns, kept: most rows
    // of a table name the same columns.
    // Most rows are of the kind the last one was.
    InsertKey key{columns.data(), mask, ids};
    if (!last_insert_ || last_insert_key_ != key) last_insert_ = &inserts_[key], last_insert_key_ = key;
    auto& cached = *last_insert_;
    if (!cached.stmt) {
        // A row names its own case_id when it outlives the case it began in.
        cached.bind_case = !caseless;
        std::string cols, qs;
        for (std::size_t k = 0; k < columns.size() && k < 64; ++k) {
            if (std::string_view(columns[k]) == "case_id") cached.bind_case = false;
            if (!(mask & (std::uint64_t{1} << k))) continue;
            cols += ",", cols += columns[k], qs += ",?";
            if (ids & (std::uint64_t{1} << k)) cols += "_id";
        }
        cached.stmt = std::make_unique<sql::Stmt>(
            *db_, std::string("INSERT INTO ") + table + "(id" + (cached.bind_case ? ",case_id" : "") + cols +
                      ") VALUES (?" + (cached.bind_case ? ",?" : "") + qs + ")");
    }
    return cached;
}

void Journal::insert_exchange(const Exchange& e, std::int64_t id, std::int64_t case_id) {
    const HttpExchange& x = e.x;
    // The columns this row gives, in kHttpColumns' order; the lists and the
    // bodies kept in `bodies` as <column>_id.
    std::uint64_t mask = bits({kService, kConnectionId, kSeq, kStartedUs, kEndedUs, kMethod, kTarget, kPath, kQuery,
                               kVersion, kReqBody, kReqCut, kStatus, kReason, kRespBody, kRespCut});
    std::uint64_t ids = 0;
    if (e.list[0]) mask |= bits({kReqHeaders}), ids |= bits({kReqHeaders});
    if (e.list[1]) mask |= bits({kRespHeaders}), ids |= bits({kRespHeaders});
    if (x.req_body.size() >= kSharedBody) ids |= bits({kReqBody});
    if (x.resp_body.size() >= kSharedBody) ids |= bits({kRespBody});
    if (!x.error.empty()) mask |= bits({kError});
    if (!e.values[0].empty()) mask |= bits({kReqValues});
    if (!e.values[1].empty()) mask |= bits({kRespValues});
    constexpr std::uint64_t chunk = 0b111;
    if (e.chunk[0][0]) mask |= chunk << kReqChunk;
    if (e.chunk[1][0]) mask |= chunk << kRespChunk;
    mask &= ~e.absent;
    ids &= mask;
    auto& cached = insert_statement("http_exchanges", kHttpColumns, mask, ids, false);
    sql::Stmt& s = *cached.stmt;
    int i = 1;
    s.bind(i++, id);
    if (case_id)
        s.bind(i++, case_id);
    else
        s.bind_null(i++);
    // Each column the mask gives, in order. Borrowed: `e` outlives the exec below.
    auto has = [&](unsigned k) { return (mask >> k & 1) != 0; };
    auto text = [&](unsigned k, std::string_view v) {
        if (has(k)) s.bind_borrowed(i++, v);
    };
    auto num = [&](unsigned k, std::int64_t v) {
        if (has(k)) s.bind(i++, v);
    };
    auto body = [&](unsigned k, const std::string& b) {
        if (!has(k)) return;
        if (ids >> k & 1)
            s.bind(i++, body_id(b));
        else
            s.bind_blob_borrowed(i++, b);
    };
    text(kService, x.service), num(kConnectionId, x.connection_id), num(kSeq, x.seq);
    num(kStartedUs, x.started_us), num(kEndedUs, x.ended_us);
    text(kMethod, x.method), text(kTarget, x.target), text(kPath, x.path), text(kQuery, x.query);
    text(kVersion, x.version), num(kReqHeaders, e.list[0]), body(kReqBody, x.req_body), num(kReqCut, e.cut[0]);
    num(kStatus, x.status), text(kReason, x.reason), num(kRespHeaders, e.list[1]), body(kRespBody, x.resp_body);
    num(kRespCut, e.cut[1]), text(kError, x.error), text(kReqValues, e.values[0]), text(kRespValues, e.values[1]);
    for (unsigned c = 0; c < 3; ++c) num(kReqChunk + c, e.chunk[0][c]);
    for (unsigned c = 0; c < 3; ++c) num(kRespChunk + c, e.chunk[1][c]);
    s.exec_rebound();
}

void Journal::insert_now(const Row& row, std::int64_t id, std::int64_t case_id) {
    auto& cached = insert_statement(row.table, row.columns, row.mask, 0, row.caseless);
    // Every parameter is bound again for each row, and a failed step resets
    // the statement itself: nothing to clear afterwards.
    sql::Stmt& s = *cached.stmt;
    int i = 1;
    s.bind(i++, id);
    if (cached.bind_case) {
        if (case_id)
            s.bind(i, case_id);
        else
            s.bind_null(i);
        ++i;
    }
    for (const Cell& c : row.cells) {
        if (c.kind == Cell::Int)
            s.bind(i, c.i);
        else if (c.kind == Cell::Blob)
            s.bind_blob_borrowed(i, c.s);  // `row` outlives the exec below
        else
            s.bind_borrowed(i, c.s);
        ++i;
    }
    s.exec_rebound();
}

std::optional<std::int64_t> RecentIds::find(const std::string& text) {
    auto it = ids_.find(text);
    if (it == ids_.end()) return std::nullopt;
    it->second.again = true;
    return it->second.id;
}

void RecentIds::add(std::string text, std::int64_t id) {
    if (ids_.size() >= bound_ || bytes_ + text.size() > bytes_bound_) {
        std::erase_if(ids_, [](const auto& e) { return !e.second.again; });
        bytes_ = 0;
        for (const auto& e : ids_) bytes_ += e.first.size();
        if (ids_.size() >= bound_ / 2 || bytes_ + text.size() > bytes_bound_ / 2) {
            ids_.clear();
            bytes_ = 0;
        } else {
            for (auto& e : ids_) e.second.again = false;
        }
    }
    bytes_ += text.size();
    ids_.emplace(std::move(text), Entry{id, false});
}

std::int64_t Journal::body_id(const std::string& data) {
    if (auto id = body_ids_.find(data)) return *id;
    if (!ins_body_) ins_body_ = std::make_unique<sql::Stmt>(*db_, "INSERT INTO bodies(data) VALUES (?)");
    ins_body_->bind_blob_borrowed(1, data);
    ins_body_->exec();
    std::int64_t id = db_->last_rowid();
    // Remembered while small enough to keep: its text is the key.
    if (data.size() <= kBodyKeptBytes / 8) body_ids_.add(data, id);
    return id;
}

void Journal::event(const std::string& kind, const std::string& service, const json& detail,
                    std::int64_t conn) {
    write([this, t = now(), case_id = case_id_, service, conn, kind,
           d = detail.dump(-1, ' ', false, json::error_handler_t::replace)] {
        auto& s = *ins_event_;
        s.bind(1, t);
        if (case_id)
            s.bind(2, case_id);
        else
            s.bind_null(2);
        s.bind(3, service);
        if (conn)
            s.bind(4, conn);
        else
            s.bind_null(4);
        s.bind(5, kind).bind(6, d);
        s.exec();
    });
}

}  // namespace wirelab
