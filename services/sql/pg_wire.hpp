// The PostgreSQL frontend/backend protocol (version 3), I/O-free: a reader
// that splits what a client sends into messages (the untyped startup
// packet first, then typed messages), and writers for the backend's
// messages. The service's coroutine feeds bytes in and writes what comes
// out; nothing here touches a socket or a database.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wirelab::pg {

constexpr std::int32_t kProtocol3 = 196608;         // 3.0
constexpr std::int32_t kSslRequest = 80877103;
constexpr std::int32_t kGssRequest = 80877104;
constexpr std::int32_t kCancelRequest = 80877102;

/// One message from the client. `type` is 0 for the startup-phase packets
/// (startup, SSL/GSS request, cancel), whose code is in `code`.
struct Message {
    char type = 0;
    std::int32_t code = 0;
    std::string body;  // the payload after the type and length
};

/// Splits the client's bytes into messages. A length that cannot be right
/// (negative, under 4, or over the cap) is fatal.
class Reader {
public:
    explicit Reader(std::size_t max_message = 64 << 20) : max_(max_message) {}
    /// Appends bytes; returns the complete messages.
    std::vector<Message> feed(std::string_view bytes);
    bool in_startup() const { return startup_; }
    bool fatal() const { return !error_.empty(); }
    const std::string& error() const { return error_; }

private:
    std::size_t max_;
    bool startup_ = true;
    std::string buf_, error_;
};

/// Reads the fields of a message body in order; any overrun sets bad().
class Fields {
public:
    explicit Fields(std::string_view b) : b_(b) {}
    std::int32_t i32();
    std::int16_t i16();
    std::string cstr();
    /// `n` bytes; n == -1 is SQL NULL (nullopt).
    std::optional<std::string> bytes(std::int32_t n);
    char byte();
    bool bad() const { return bad_; }
    bool done() const { return pos_ >= b_.size(); }

private:
    std::string_view b_;
    std::size_t pos_ = 0;
    bool bad_ = false;
};

/// The startup packet's parameters: user, database, application_name, …
std::map<std::string, std::string> startup_params(const std::string& body);

/// A backend message: type byte, length, payload.
class Out {
public:
    explicit Out(char type) : type_(type) {}
    Out& i32(std::int32_t v);
    Out& i16(std::int16_t v);
    Out& byte(char c);
    Out& cstr(std::string_view s);
    Out& raw(std::string_view s);
    std::string str() const;

private:
    char type_;
    std::string body_;
};

/// One column of a RowDescription.
struct Column {
    std::string name;
    std::int32_t type_oid = 25;  // text
    std::int16_t type_size = -1;
    std::int32_t table_oid = 0;
    std::int16_t attnum = 0;
    std::int16_t format = 0;  // 0 text, 1 binary
};

std::string auth_ok();
std::string auth_cleartext();
std::string auth_md5(const std::string& salt);
std::string parameter_status(const std::string& name, const std::string& value);
std::string backend_key(std::int32_t pid, std::int32_t secret);
/// 'I' idle, 'T' in a transaction, 'E' in a failed transaction.
std::string ready(char status);
std::string row_description(const std::vector<Column>& cols);
std::string data_row(const std::vector<std::optional<std::string>>& values);
std::string command_complete(const std::string& tag);
std::string empty_query();
std::string no_data();
std::string parse_complete();
std::string bind_complete();
std::string close_complete();
std::string portal_suspended();
std::string parameter_description(const std::vector<std::int32_t>& oids);
/// ErrorResponse (or NoticeResponse with `notice`): severity, SQLSTATE,
/// message and, when given, detail and hint.
std::string error(const std::string& sqlstate, const std::string& message, const std::string& detail = {},
                  const std::string& hint = {}, bool notice = false);

/// md5 password as libpq computes it: "md5" + md5hex(md5hex(password + user) + salt).
std::string md5_password(const std::string& user, const std::string& password, const std::string& salt);

}  // namespace wirelab::pg
