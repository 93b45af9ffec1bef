// The recording layer: a stream adapter that journals every chunk read or
// written on a connection, and how the connection ended (who closed first,
// FIN or reset). Any protocol session that runs over recording_stream gets
// raw capture for free.
#pragma once
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <memory>
#include <string>

#include "runtime/common.hpp"
#include "runtime/journal.hpp"

namespace wirelab {

/// The journal's view of one connection. Owns the connections row from open
/// to close; finish() (or the destructor) writes how it ended.
class ConnectionRecord {
public:
    ConnectionRecord(Journal& journal, const ConnectionInfo& info);
    ConnectionRecord(const ConnectionRecord&) = delete;
    ~ConnectionRecord() { finish(); }

    std::int64_t id() const { return id_; }
    Journal& journal() { return journal_; }
    const std::string& service() const { return service_; }

    void bytes(Dir dir, const char* data, std::size_t n);
    /// A read or write ended with `ec`: eof (on a read) means the peer
    /// half-closed, reset/broken pipe that it reset. Other errors are
    /// ignored here.
    void io_error(const error_code& ec);
    /// Our side decided to close (`why` goes to an event when not empty).
    void closing(const std::string& why = {});
    /// Our side aborts the connection with a reset.
    void resetting(const std::string& why = {});
    /// Writes closed_us/closed_by/close_kind once.
    void finish();

    /// The first `n` bytes of one read or write: one chunk, however many
    /// buffers the call was given (Beast writes a response's head as a
    /// buffer per header line; they leave in one writev).
    template <class Buffers>
    void record(Dir dir, const Buffers& buffers, std::size_t n) {
        auto it = asio::buffer_sequence_begin(buffers);
        const auto end = asio::buffer_sequence_end(buffers);
        if (it == end || n == 0) return;
        asio::const_buffer first(*it);
        if (first.size() >= n) return bytes(dir, static_cast<const char*>(first.data()), n);
        std::string joined;
        joined.reserve(n);
        for (; n > 0 && it != end; ++it) {
            asio::const_buffer b(*it);
            std::size_t take = std::min(n, b.size());
            joined.append(static_cast<const char*>(b.data()), take);
            n -= take;
        }
        journal_.chunk_owned(id_, dir, std::move(joined));
    }

private:
    Journal& journal_;
    std::string service_;
    std::string role_;
    std::int64_t id_ = 0;
    std::string closed_by_;   // who acted first: "peer" or "us"
    std::string close_kind_;  // "fin", "reset"
    bool finished_ = false;
};

/// Wraps a stream (a socket, beast::tcp_stream, ...) and records through a
/// ConnectionRecord. Satisfies AsyncReadStream and AsyncWriteStream.
template <class NextLayer>
class recording_stream {
public:
    using executor_type = typename NextLayer::executor_type;
    using next_layer_type = NextLayer;

    recording_stream(NextLayer next, std::shared_ptr<ConnectionRecord> rec)
        : next_(std::move(next)), rec_(std::move(rec)) {}

    executor_type get_executor() noexcept { return next_.get_executor(); }
    NextLayer& next_layer() noexcept { return next_; }
    ConnectionRecord& record() noexcept { return *rec_; }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, const MutableBuffers& b) {
                next_.async_read_some(
                    b, [rec = rec_, b, h = std::move(handler)](error_code ec,
                                                               std::size_t n) mutable {
                        if (n) rec->record(Dir::in, b, n);
                        if (ec) rec->io_error(ec);
                        std::move(h)(ec, n);
                    });
            },
            token, buffers);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, const ConstBuffers& b) {
                next_.async_write_some(
                    b, [rec = rec_, b, h = std::move(handler)](error_code ec,
                                                               std::size_t n) mutable {
                        if (n) rec->record(Dir::out, b, n);
                        if (ec) rec->io_error(ec);
                        std::move(h)(ec, n);
                    });
            },
            token, buffers);
    }

private:
    NextLayer next_;
    std::shared_ptr<ConnectionRecord> rec_;
};

}  // namespace wirelab
