// The floor of what this stack serves: a bare Boost.Beast HTTP/1.1 server
// on one thread, answering GET /cars/1 and GET /cars with fixed JSON and
// POST /cars with 201 — no journal, no state, no json-server semantics.
// bench/peers.py measures wirelab against it. Usage: beast_floor PORT CARS.json
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

struct Bodies {
    std::string all, one;
};

asio::awaitable<void> session(tcp::socket sock, const Bodies& b) {
    boost::beast::flat_buffer buf;
    try {
        for (;;) {
            http::request<http::string_body> req;
            co_await http::async_read(sock, buf, req, asio::use_awaitable);
            http::response<http::string_body> res{http::status::ok, req.version()};
            res.set(http::field::content_type, "application/json; charset=utf-8");
            if (req.method() == http::verb::post) {
                res.result(http::status::created);
                res.body() = req.body();
            } else if (req.target() == "/cars") {
                res.body() = b.all;
            } else if (req.target() == "/cars/1") {
                res.body() = b.one;
            } else {
                res.result(http::status::not_found);
                res.body() = "{}";
            }
            res.keep_alive(req.keep_alive());
            res.prepare_payload();
            co_await http::async_write(sock, res, asio::use_awaitable);
            if (!res.keep_alive()) break;
        }
    } catch (const std::exception&) {
    }
    boost::system::error_code ec;
    sock.shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> serve(tcp::acceptor& acc, const Bodies& b) {
    for (;;) {
        tcp::socket s = co_await acc.async_accept(asio::use_awaitable);
        s.set_option(tcp::no_delay(true));
        asio::co_spawn(acc.get_executor(), session(std::move(s), b), asio::detached);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: beast_floor PORT CARS.json\n";
        return 2;
    }
    std::ifstream in(argv[2]);
    std::stringstream ss;
    ss << in.rdbuf();
    Bodies b;
    b.all = ss.str();
    // the first object of the array, as json-server answers GET /cars/1
    auto start = b.all.find('{'), end = b.all.find('}', start);
    b.one = start == std::string::npos ? "{}" : b.all.substr(start, end - start + 1);
    asio::io_context io(1);
    tcp::acceptor acc(io, {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::stoi(argv[1]))});
    std::cout << acc.local_endpoint().port() << std::endl;
    asio::co_spawn(io, serve(acc, b), asio::detached);
    asio::signal_set sig(io, SIGINT, SIGTERM);
    sig.async_wait([&](auto, int) { io.stop(); });
    io.run();
}
