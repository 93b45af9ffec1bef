// Common includes for every file that touches Asio. Boost 1.74's
// awaitable.hpp uses std::exchange without including <utility>, so it comes
// first, once, here.
#pragma once
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdint>

namespace wirelab {
namespace asio = boost::asio;
using error_code = boost::system::error_code;
using tcp = asio::ip::tcp;
template <class T>
using awaitable = asio::awaitable<T>;
using asio::use_awaitable;

/// Microseconds on the Session's monotonic clock (0 = Session start).
using micros = std::int64_t;
}  // namespace wirelab
