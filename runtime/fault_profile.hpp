// What a fault profile in lab.json says a service does to its connections
// during a case (latency, drip, slices, tarpit, refuse, reset, slow close,
// bandwidth; for HTTP strict parsing and status faults). No I/O here: the
// fault layer (runtime/faults.hpp) applies it.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "runtime/json_source.hpp"

namespace wirelab {

using micros = std::int64_t;

/// An answer-level fault of an HTTP service: answer `status` instead of the
/// real response to the requests chosen by `nth` (1-based, counted per case),
/// `every` (each k-th) or `rate` (a seeded coin).
struct StatusFault {
    int status = 503;
    std::vector<std::int64_t> nth;
    std::int64_t every = 0;
    double rate = 0;
    std::optional<std::int64_t> retry_after;  // seconds, sent as Retry-After
};

/// What a service does to its connections during a case. All zero = none.
struct FaultProfile {
    std::string name;              // the profile's name in lab.json ("" inline/none)
    std::string description;       // the author's words for it, if any
    micros latency_us = 0;         // before each answer (first write after a read)
    micros jitter_us = 0;          // + uniform [0, jitter)
    std::size_t drip_bytes = 0;    // write at most this many bytes ...
    micros drip_every_us = 0;      // ... then wait this long
    std::size_t slice_max = 0;     // cut writes at random boundaries, 1..slice_max bytes
    bool tarpit = false;           // accept, read, never answer
    bool refuse = false;           // the port is closed
    std::optional<std::uint64_t> reset_after;  // send this many bytes, then reset
    micros slow_close_us = 0;      // wait before the server's own close
    std::uint64_t bandwidth = 0;   // bytes per second
    bool strict = false;           // http: reject what a strict server rejects
    // Datagram services (udp): rates from 0 to 1, per datagram.
    double drop = 0;               // datagrams the service sends that are lost
    double drop_in = 0;            // datagrams it receives that are lost
    double duplicate = 0;          // sent twice
    double reorder = 0;            // held back and sent after the next one
    std::size_t truncate = 0;      // datagrams cut to at most this many bytes
    std::vector<StatusFault> status;  // http only

    /// True when the profile changes nothing about writes (no stream faults).
    bool stream_clean() const {
        return latency_us == 0 && jitter_us == 0 && drip_bytes == 0 && slice_max == 0 &&
               !reset_after && bandwidth == 0;
    }
    bool empty() const {
        return stream_clean() && !tarpit && !refuse && slow_close_us == 0 && !strict && status.empty() &&
               datagram_clean();
    }
    bool datagram_clean() const {
        return drop == 0 && drop_in == 0 && duplicate == 0 && reorder == 0 && truncate == 0;
    }
    /// The profile as it is journaled: only the faults that are set.
    nlohmann::json describe() const;
};

/// A journaled profile (describe()) in words for a report: the author's
/// description when there is one, else the faults listed.
std::string fault_words(const nlohmann::json& described);

/// Reads a profile object ({"drip": {"bytes": 1, "every_ms": 20}, ...}).
/// Throws LabError naming the key.
FaultProfile parse_fault_profile(Spec& spec, std::string name);

}  // namespace wirelab
