// The fault layer: a stream adapter that makes a server behave like a real
// network — slow, fragmented, silent, resetting — seeded so that a run
// replays exactly. A FaultProfile says what to do (read from lab.json); a
// FaultPlan is one connection's seeded instance of it; fault_stream applies
// the plan to every write of the protocol session above it.
#pragma once
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "runtime/common.hpp"
#include "runtime/fault_profile.hpp"

namespace wirelab {

class Journal;

/// Mixes seeds (splitmix64): used to derive a connection's seed from the
/// Session's seed, the service and the connection's ordinal.
std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b);
/// A stable hash of a string (FNV-1a), for mixing names into seeds.
std::uint64_t hash_name(const std::string& s);

/// One connection's faults: the profile plus a seeded generator. Decides,
/// write by write, how many bytes go out and after what delay, and journals
/// each fault the first time it acts on the connection.
class FaultPlan {
public:
    FaultPlan(FaultProfile profile, std::uint64_t seed, Journal* journal, std::string service,
              std::int64_t conn);

    const FaultProfile& profile() const { return p_; }
    bool clean() const { return p_.stream_clean(); }

    struct Step {
        std::size_t bytes = 0;  // how many of the offered bytes to write now
        micros delay_us = 0;    // wait before writing them
        bool reset_after = false;  // reset the connection once they are written
    };
    /// The next write of `available` bytes (> 0).
    Step next_write(std::size_t available);
    void wrote(std::size_t n) { sent_ += n; }
    void read_done() { answered_ = false; }
    micros slow_close_us() const { return p_.slow_close_us; }
    /// Journals a fault once per connection and kind.
    void note(const std::string& fault, nlohmann::json detail = nlohmann::json::object());

private:
    FaultProfile p_;
    std::mt19937_64 rng_;
    Journal* journal_;
    std::string service_;
    std::int64_t conn_;
    std::uint64_t sent_ = 0;
    bool answered_ = false;  // a write happened since the last read
    std::vector<std::string> noted_;
};

/// Wraps a stream and applies a FaultPlan to its writes. With no plan (or a
/// clean one) writes pass straight through. `reset` is called to abort the
/// connection when the plan says so (it sets SO_LINGER 0 and closes).
template <class NextLayer>
class fault_stream {
public:
    using executor_type = typename NextLayer::executor_type;
    using next_layer_type = NextLayer;

    fault_stream(NextLayer next, std::shared_ptr<FaultPlan> plan, std::function<void()> reset)
        : next_(std::move(next)),
          plan_(std::move(plan)),
          timer_(std::make_shared<asio::steady_timer>(next_.get_executor())),
          reset_(std::make_shared<std::function<void()>>(std::move(reset))) {}

    executor_type get_executor() noexcept { return next_.get_executor(); }
    NextLayer& next_layer() noexcept { return next_; }
    FaultPlan* plan() noexcept { return plan_.get(); }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        if (!plan_ || plan_->clean()) return next_.async_read_some(buffers, std::forward<Token>(token));
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, const MutableBuffers& b) {
                next_.async_read_some(b, [plan = plan_, h = std::move(handler)](error_code ec,
                                                                               std::size_t n) mutable {
                    if (n) plan->read_done();
                    std::move(h)(ec, n);
                });
            },
            token, buffers);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        if (!plan_ || plan_->clean()) return next_.async_write_some(buffers, std::forward<Token>(token));
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, const ConstBuffers& b) {
                std::size_t total = asio::buffer_size(b);
                if (total == 0) return next_.async_write_some(b, std::move(handler));
                auto step = plan_->next_write(total);
                auto piece = std::make_shared<std::vector<asio::const_buffer>>(prefix(b, step.bytes));
                auto write = [this, piece, step, plan = plan_, reset = reset_,
                              h = std::move(handler)](error_code ec) mutable {
                    if (ec) return std::move(h)(ec, std::size_t{0});
                    next_.async_write_some(*piece, [piece, step, plan, reset, h = std::move(h)](
                                                       error_code ec2, std::size_t n) mutable {
                        plan->wrote(n);
                        if (!ec2 && step.reset_after) {
                            (*reset)();
                            ec2 = asio::error::connection_reset;
                        }
                        std::move(h)(ec2, n);
                    });
                };
                if (step.delay_us <= 0) return write(error_code{});
                timer_->expires_after(std::chrono::microseconds(step.delay_us));
                timer_->async_wait([t = timer_, w = std::move(write)](error_code ec) mutable {
                    std::move(w)(ec == asio::error::operation_aborted ? ec : error_code{});
                });
            },
            token, buffers);
    }

    /// Cancels a pending delayed write (on stop).
    void cancel() { timer_->cancel(); }

private:
    template <class Buffers>
    static std::vector<asio::const_buffer> prefix(const Buffers& b, std::size_t n) {
        std::vector<asio::const_buffer> out;
        for (auto it = asio::buffer_sequence_begin(b); n > 0 && it != asio::buffer_sequence_end(b); ++it) {
            asio::const_buffer cb(*it);
            std::size_t take = std::min(n, cb.size());
            if (take) out.emplace_back(cb.data(), take);
            n -= take;
        }
        return out;
    }

    NextLayer next_;
    std::shared_ptr<FaultPlan> plan_;
    std::shared_ptr<asio::steady_timer> timer_;
    std::shared_ptr<std::function<void()>> reset_;
};

}  // namespace wirelab
