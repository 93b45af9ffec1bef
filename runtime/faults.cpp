#include "runtime/faults.hpp"

#include <algorithm>
#include <cstdio>

#include "runtime/journal.hpp"

namespace wirelab {

std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b) {
    std::uint64_t z = a + 0x9e3779b97f4a7c15ULL + (b << 6) + (b >> 2) + b * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

std::uint64_t hash_name(const std::string& s) {
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
    return h;
}

namespace {
micros ms(double v) { return static_cast<micros>(v * 1000); }
}  // namespace

FaultProfile parse_fault_profile(Spec& s, std::string name) {
    FaultProfile p;
    p.name = std::move(name);
    s.allow({"latency", "drip", "slice"});  // read below only when present
    if (s.has("latency")) {
        const json& v = s.value().at("latency");
        if (v.is_number()) {
            p.latency_us = ms(s.number("latency", 0, 0, 600000));
        } else {
            Spec l = s.object("latency");
            p.latency_us = ms(l.number("ms", 0, 0, 600000));
            p.jitter_us = ms(l.number("jitter_ms", 0, 0, 600000));
            l.finish();
        }
    }
    if (s.has("drip")) {
        Spec d = s.object("drip");
        p.drip_bytes = static_cast<std::size_t>(d.integer("bytes", 1, 1, 1 << 20));
        p.drip_every_us = ms(d.number("every_ms", 20, 0, 60000));
        d.finish();
    }
    if (s.has("slice")) {
        Spec d = s.object("slice");
        p.slice_max = static_cast<std::size_t>(d.integer("max_bytes", 8, 1, 1 << 20));
        d.finish();
    }
    p.tarpit = s.boolean("tarpit", false);
    p.refuse = s.boolean("refuse", false);
    if (auto n = s.opt_integer("reset_after_bytes", 0, 1LL << 40)) p.reset_after = static_cast<std::uint64_t>(*n);
    p.slow_close_us = ms(s.number("slow_close_ms", 0, 0, 600000));
    p.bandwidth = static_cast<std::uint64_t>(s.integer("bandwidth", 0, 0, 1LL << 40));
    p.strict = s.boolean("strict", false);
    p.drop = s.number("drop", 0, 0, 1);
    p.drop_in = s.number("drop_in", 0, 0, 1);
    p.duplicate = s.number("duplicate", 0, 0, 1);
    p.reorder = s.number("reorder", 0, 0, 1);
    p.truncate = static_cast<std::size_t>(s.integer("truncate", 0, 0, 65507));
    if (const json* st = s.get("status")) {
        if (!st->is_array())
            s.fail("status", "\"status\" must be an array of status faults",
                   "e.g. [{\"status\": 503, \"nth\": [2]}, {\"status\": 429, \"rate\": 0.3, "
                   "\"retry_after\": 1}]");
        for (std::size_t i = 0; i < st->size(); ++i) {
            Spec f(s.doc(), (*st)[i], s.pointer("status") + "/" + std::to_string(i), "status fault");
            StatusFault sf;
            sf.status = static_cast<int>(f.integer("status", 503, 100, 599));
            if (f.has("nth")) {
                const json& n = f.value().at("nth");
                if (n.is_number_integer())
                    sf.nth.push_back(n.get<std::int64_t>());
                else if (n.is_array() && std::all_of(n.begin(), n.end(), [](const json& x) {
                             return x.is_number_integer() && x.get<std::int64_t>() >= 1;
                         }))
                    for (const auto& x : n) sf.nth.push_back(x.get<std::int64_t>());
                else
                    f.fail("nth", "\"nth\" must be a request number (1 = the first) or a list of them");
                f.get("nth");
            }
            sf.every = f.integer("every", 0, 0, 1000000);
            sf.rate = f.number("rate", 0, 0, 1);
            sf.retry_after = f.opt_integer("retry_after", 0, 86400);
            if (sf.nth.empty() && sf.every == 0 && sf.rate == 0)
                f.fail("", "a status fault needs \"nth\", \"every\" or \"rate\" to say which requests it hits");
            f.finish();
            p.status.push_back(std::move(sf));
        }
    }
    if (p.tarpit && p.refuse)
        s.fail("tarpit", "a profile cannot both accept-and-stall (\"tarpit\") and refuse connections");
    p.description = s.string("description", "");
    s.finish();
    return p;
}

nlohmann::json FaultProfile::describe() const {
    nlohmann::json d = nlohmann::json::object();
    if (!name.empty()) d["profile"] = name;
    if (!description.empty()) d["description"] = description;
    if (latency_us) d["latency_ms"] = latency_us / 1000.0;
    if (jitter_us) d["jitter_ms"] = jitter_us / 1000.0;
    if (drip_bytes) d["drip"] = {{"bytes", drip_bytes}, {"every_ms", drip_every_us / 1000.0}};
    if (slice_max) d["slice_max_bytes"] = slice_max;
    if (tarpit) d["tarpit"] = true;
    if (refuse) d["refuse"] = true;
    if (reset_after) d["reset_after_bytes"] = *reset_after;
    if (slow_close_us) d["slow_close_ms"] = slow_close_us / 1000.0;
    if (bandwidth) d["bandwidth"] = bandwidth;
    if (strict) d["strict"] = true;
    if (drop) d["drop"] = drop;
    if (drop_in) d["drop_in"] = drop_in;
    if (duplicate) d["duplicate"] = duplicate;
    if (reorder) d["reorder"] = reorder;
    if (truncate) d["truncate"] = truncate;
    for (const auto& s : status) {
        nlohmann::json f = {{"status", s.status}};
        if (!s.nth.empty()) f["nth"] = s.nth;
        if (s.every) f["every"] = s.every;
        if (s.rate) f["rate"] = s.rate;
        if (s.retry_after) f["retry_after"] = *s.retry_after;
        d["status"].push_back(f);
    }
    return d;
}

std::string fault_words(const nlohmann::json& d) {
    if (d.contains("description")) return d["description"].get<std::string>();
    std::string out;
    auto add = [&](const std::string& s) { out += (out.empty() ? "" : ", ") + s; };
    auto num = [](const nlohmann::json& v) {
        double x = v.get<double>();
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", x);
        return std::string(buf);
    };
    if (d.contains("latency_ms")) add("answers after " + num(d["latency_ms"]) + " ms" +
                                      (d.contains("jitter_ms") ? " (+ up to " + num(d["jitter_ms"]) + " ms)" : ""));
    if (d.contains("drip"))
        add("sends " + num(d["drip"]["bytes"]) + " byte(s) every " + num(d["drip"]["every_ms"]) + " ms");
    if (d.contains("slice_max_bytes")) add("cuts what it sends into pieces of 1-" + num(d["slice_max_bytes"]) + " bytes");
    if (d.contains("tarpit")) add("accepts connections and never answers");
    if (d.contains("refuse")) add("refuses connections (the port is closed)");
    if (d.contains("reset_after_bytes")) add("resets the connection after sending " + num(d["reset_after_bytes"]) + " bytes");
    if (d.contains("slow_close_ms")) add("waits " + num(d["slow_close_ms"]) + " ms before closing");
    if (d.contains("bandwidth")) add("sends at most " + num(d["bandwidth"]) + " bytes/s");
    if (d.contains("strict")) add("parses requests strictly");
    auto pct = [&](const char* k) { return num(nlohmann::json(d[k].get<double>() * 100)) + "%"; };
    if (d.contains("drop")) add("loses " + pct("drop") + " of the datagrams it sends");
    if (d.contains("drop_in")) add("loses " + pct("drop_in") + " of the datagrams it receives");
    if (d.contains("duplicate")) add("sends " + pct("duplicate") + " of its datagrams twice");
    if (d.contains("reorder")) add("swaps " + pct("reorder") + " of its datagrams with the next");
    if (d.contains("truncate")) add("cuts datagrams to " + num(d["truncate"]) + " bytes");
    if (d.contains("status"))
        for (const auto& f : d["status"]) add("answers " + num(f["status"]) + " to some requests");
    return out;
}

FaultPlan::FaultPlan(FaultProfile profile, std::uint64_t seed, Journal* journal, std::string service,
                     std::int64_t conn)
    : p_(std::move(profile)), rng_(seed), journal_(journal), service_(std::move(service)), conn_(conn) {}

void FaultPlan::note(const std::string& fault, nlohmann::json detail) {
    if (std::find(noted_.begin(), noted_.end(), fault) != noted_.end()) return;
    noted_.push_back(fault);
    if (!journal_) return;
    detail["fault"] = fault;
    if (!p_.name.empty()) detail["profile"] = p_.name;
    journal_->event("fault", service_, detail, conn_);
}

FaultPlan::Step FaultPlan::next_write(std::size_t available) {
    Step s;
    s.bytes = available;
    if (!answered_) {
        answered_ = true;
        if (p_.latency_us || p_.jitter_us) {
            micros j = p_.jitter_us ? static_cast<micros>(rng_() % static_cast<std::uint64_t>(p_.jitter_us)) : 0;
            s.delay_us += p_.latency_us + j;
            note("latency", {{"ms", p_.latency_us / 1000.0}, {"jitter_ms", p_.jitter_us / 1000.0}});
        }
    } else if (p_.drip_bytes) {
        s.delay_us += p_.drip_every_us;
    }
    if (p_.drip_bytes) {
        s.bytes = std::min(s.bytes, p_.drip_bytes);
        note("drip", {{"bytes", p_.drip_bytes}, {"every_ms", p_.drip_every_us / 1000.0}});
    }
    if (p_.slice_max) {
        std::size_t hi = std::min(s.bytes, p_.slice_max);
        s.bytes = 1 + static_cast<std::size_t>(rng_() % hi);
        note("slice", {{"max_bytes", p_.slice_max}});
    }
    if (p_.bandwidth) {
        // Pieces of at most a 50th of a second's worth, each paced.
        std::size_t piece = std::max<std::size_t>(1, p_.bandwidth / 50);
        s.bytes = std::min(s.bytes, piece);
        s.delay_us += static_cast<micros>(s.bytes * 1000000ULL / p_.bandwidth);
        note("bandwidth", {{"bytes_per_s", p_.bandwidth}});
    }
    if (p_.reset_after) {
        std::uint64_t left = *p_.reset_after > sent_ ? *p_.reset_after - sent_ : 0;
        if (left <= s.bytes) {
            s.bytes = static_cast<std::size_t>(left);
            s.reset_after = true;
            note("reset", {{"after_bytes", *p_.reset_after}});
        }
    }
    return s;
}

}  // namespace wirelab
