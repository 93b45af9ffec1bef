// The `tcp` service's protocols, I/O-free: splitting a byte stream into
// lines or length-prefixed frames, and the dialogue rules a lab declares
// (expect → respond). The service's coroutine feeds bytes in and writes
// what comes out.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/json_source.hpp"
#include "runtime/match.hpp"

namespace wirelab::tcp_proto {

/// One message taken off the stream.
struct Message {
    std::string data;   // a line without its terminator, or a frame's payload
    std::string error;  // what is wrong with it ("" = fine)
    std::optional<nlohmann::json> json;  // frames: the payload parsed
};

/// Splits a byte stream into lines ending in LF (a CR before it is
/// dropped). With `want_crlf`, a bare LF is flagged on the message.
class LineSplitter {
public:
    LineSplitter(std::size_t max_line, bool want_crlf) : max_(max_line), want_crlf_(want_crlf) {}
    /// Appends bytes; returns the complete lines. A line longer than the
    /// limit yields one message with an error and fatal() becomes true.
    std::vector<Message> feed(std::string_view bytes);
    bool fatal() const { return fatal_; }
    /// Bytes received but not yet a whole line.
    const std::string& pending() const { return buf_; }

private:
    std::size_t max_;
    bool want_crlf_;
    std::string buf_;
    bool fatal_ = false;
};

/// Splits a byte stream into frames: a 4-byte big-endian length, then that
/// many bytes of UTF-8 JSON. A length over the limit is fatal (the stream
/// cannot be resynchronised); invalid UTF-8 or JSON is flagged on the frame.
class FrameSplitter {
public:
    explicit FrameSplitter(std::uint32_t max_frame) : max_(max_frame) {}
    std::vector<Message> feed(std::string_view bytes);
    bool fatal() const { return fatal_; }
    const std::string& pending() const { return buf_; }

private:
    std::uint32_t max_;
    std::string buf_;
    bool fatal_ = false;
};

/// A frame on the wire: length prefix + payload.
std::string encode_frame(std::string_view payload);
/// True when `s` is valid UTF-8.
bool valid_utf8(std::string_view s);

/// One dialogue rule: when a message matches `expect`, answer `respond`
/// (zero or more messages), then close if `close`.
struct Rule {
    std::optional<Pattern> line;           // lines: a regex over the line
    std::optional<nlohmann::json> frame;   // frames: a JSON subset of the message
    std::vector<nlohmann::json> respond;   // strings (lines) or JSON values (frames)
    bool close = false;
    std::string pointer;                   // where it is in lab.json
};

enum class Kind { lines, frames };

/// What to send back for one message.
struct Reply {
    std::vector<std::string> messages;  // lines (without terminator) or frame payloads
    bool close = false;
    int rule = -1;  // index of the rule that matched, -1 = "otherwise"
};

class Dialogue {
public:
    /// Reads "rules" and "otherwise" from the service spec.
    Dialogue(Spec& spec, Kind kind);
    Reply answer(const Message& m) const;
    Kind kind() const { return kind_; }

private:
    Rule read_rule(Spec& r) const;
    Kind kind_;
    std::vector<Rule> rules_;
    Rule otherwise_;
};

/// "$0".."$9" in `tpl` replaced by the regex captures.
std::string substitute(const std::string& tpl, const std::smatch& m);
/// Every string value "$.a.b" (or "$" for the whole message) in `tpl`
/// replaced by that value of `msg`; other values copied.
nlohmann::json substitute(const nlohmann::json& tpl, const nlohmann::json& msg);

}  // namespace wirelab::tcp_proto
