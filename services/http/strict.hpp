// Strict HTTP/1.1 request heads (RFC 9112), for labs where the learner
// writes HTTP by hand: what a strict server answers 400 to, said in words a
// learner can act on. I/O-free.
#pragma once
#include <string>
#include <string_view>

namespace wirelab::http {

/// Offset just past the blank line that ends a request head (CRLF CRLF, or
/// the bare-LF forms a lenient reader would accept), or npos.
std::size_t head_end(std::string_view bytes);

/// What is wrong with `head` (request line and header lines, up to and
/// including the blank line) for a strict server, or "" when nothing is.
std::string strict_violation(std::string_view head);

}  // namespace wirelab::http
