#include "services/hosts/hosts_service.hpp"

#include <fstream>
#include <random>
#include <set>

#include "runtime/errors.hpp"
#include "runtime/journal.hpp"
#include "runtime/lab.hpp"
#include "runtime/listener.hpp"
#include "runtime/sqlite.hpp"

namespace wirelab::hosts {

namespace {

struct Port {
    int offset = 0;
    std::string state;   // open, closed, filtered
    std::string banner;  // open ports: sent on connect ("" = silent)
};

struct Host {
    std::string address;
    std::vector<Port> ports;  // the open and filtered ones; the rest of the range is closed
    std::vector<std::unique_ptr<StreamListener>> open;
    std::vector<std::unique_ptr<tcp::socket>> reserved;      // closed ports: bound, never listening
    std::vector<std::unique_ptr<tcp::acceptor>> filtered;    // listening with a full queue
    std::vector<std::unique_ptr<tcp::socket>> fillers;       // the connections that fill those queues
    micros last_accept = -1;
    bool blocked = false;
    std::unique_ptr<asio::steady_timer> unblock;
};

class HostsService final : public Service {
public:
    explicit HostsService(ServiceContext& ctx) : name_(ctx.name), journal_(ctx.journal), io_(ctx.io) {
        Spec& s = ctx.spec;
        count_ = static_cast<int>(s.integer("ports", 20, 1, 1000));
        base_ = static_cast<int>(s.integer("base_port", 0, 0, 65535 - count_));
        min_gap_us_ = s.integer("min_gap_ms", 0, 0, 10000) * 1000;
        block_s_ = s.integer("block_s", 3, 1, 600);
        idle_s_ = s.integer("idle_timeout", 10, 1, 3600);
        const json& hosts = s.required("hosts");
        if (!hosts.is_object() || hosts.empty())
            s.fail("hosts", "\"hosts\" maps loopback addresses to their ports",
                   "e.g. \"hosts\": {\"127.0.0.11\": {\"open\": {\"3\": \"SSH-2.0-OpenSSH_9.2\"}, \"filtered\": [7]}}");
        for (auto it = hosts.begin(); it != hosts.end(); ++it) {
            Spec h(s.doc(), it.value(), s.pointer("hosts") + "/" + pointer_escape(it.key()), "host \"" + it.key() + "\"");
            if (!it.value().is_object()) h.fail("", "a host's settings are an object: {\"open\": {…}, \"filtered\": […]}");
            boost::system::error_code ec;
            auto addr = asio::ip::make_address_v4(it.key(), ec);
            if (ec || (addr.to_uint() >> 24) != 127)
                h.fail("", "a host is a loopback address 127.x.y.z (every one of them reaches this machine), got \"" +
                               it.key() + "\"");
            Host host;
            host.address = it.key();
            std::set<int> used;
            auto offset_of = [&](const std::string& text, const std::string& key) {
                int off = -1;
                try {
                    std::size_t n = 0;
                    off = std::stoi(text, &n);
                    if (n != text.size()) off = -1;
                } catch (...) {
                }
                if (off < 0 || off >= count_)
                    h.fail(key, "\"" + text + "\" is not a port offset: 0 … " + std::to_string(count_ - 1) +
                                    " (the port is the range's first plus the offset)");
                if (!used.insert(off).second) h.fail(key, "offset " + text + " is listed twice");
                return off;
            };
            if (const json* open = h.get("open")) {
                if (!open->is_object()) h.fail("open", "\"open\" maps port offsets to the banner sent on connect (\"\": silent)");
                for (auto p = open->begin(); p != open->end(); ++p) {
                    if (!p.value().is_string()) h.fail("open", "a banner is a string (\"\" for a port that waits for the client)");
                    host.ports.push_back({offset_of(p.key(), "open"), "open", p.value().get<std::string>()});
                }
            }
            if (const json* filtered = h.get("filtered")) {
                if (!filtered->is_array()) h.fail("filtered", "\"filtered\" is a list of port offsets, e.g. [7, 12]");
                for (const auto& f : *filtered) {
                    if (!f.is_number_integer()) h.fail("filtered", "a port offset is a number");
                    host.ports.push_back({offset_of(std::to_string(f.get<long long>()), "filtered"), "filtered", ""});
                }
            }
            h.finish();
            hosts_.push_back(std::move(host));
        }
        s.finish();
        state_path_ = ctx.state_dir / (name_ + ".db");
        first_ = base_ && !ctx.ephemeral ? base_ : free_base();
        for (auto& h : hosts_)  // (hosts_ is complete: the pointers below stay valid)
            for (auto& p : h.ports) {
                if (p.state != "open") continue;
                ListenSpec l;
                l.host = h.address;
                l.port = static_cast<unsigned short>(first_ + p.offset);
                Host* host = &h;
                std::string banner = p.banner;
                h.open.push_back(std::make_unique<StreamListener>(
                    ctx, "hosts", l, [this, host, banner](Conn& conn) { return serve(*host, banner, conn); }));
            }
    }

    void start() override {
        int base = first_;
        for (auto& h : hosts_) {
            auto addr = asio::ip::make_address(h.address);
            std::set<int> special;
            for (auto& l : h.open) l->start();
            for (auto& p : h.ports) {
                special.insert(p.offset);
                unsigned short port = static_cast<unsigned short>(base + p.offset);
                if (p.state != "open") {
                    auto acc = std::make_unique<tcp::acceptor>(io_);
                    tcp::endpoint ep(addr, port);
                    acc->open(ep.protocol());
                    acc->set_option(tcp::acceptor::reuse_address(true));
                    bind_or_throw(*acc, ep);
                    acc->listen(0);  // one connection fills the queue; the kernel then drops SYNs
                    auto filler = std::make_unique<tcp::socket>(io_);
                    filler->connect(ep);
                    h.filtered.push_back(std::move(acc));
                    h.fillers.push_back(std::move(filler));
                }
            }
            for (int off = 0; off < count_; ++off) {
                if (special.count(off)) continue;
                auto sock = std::make_unique<tcp::socket>(io_);
                tcp::endpoint ep(addr, static_cast<unsigned short>(base + off));
                sock->open(ep.protocol());
                bind_or_throw(*sock, ep);  // bound, not listening: a SYN gets a reset
                h.reserved.push_back(std::move(sock));
            }
        }
        write_state();
    }

    void stop() override {
        stopping_ = true;
        for (auto& h : hosts_) {
            for (auto& l : h.open) l->stop();
            if (h.unblock) h.unblock->cancel();
            boost::system::error_code ec;
            for (auto& a : h.filtered) a->close(ec);
            for (auto& f : h.fillers) f->close(ec);
            for (auto& r : h.reserved) r->close(ec);
        }
    }

    Endpoint endpoint() const override {
        Endpoint e;
        e.scheme = "tcp";
        e.host = hosts_.front().address;
        e.port = static_cast<unsigned short>(first_);
        return e;
    }
    std::filesystem::path state_file() const override { return state_path_; }
    void set_faults(const FaultProfile& p, std::uint64_t seed) override {
        for (auto& h : hosts_) {
            h.last_accept = -1;
            for (auto& l : h.open) l->set_faults(p, seed);
        }
    }
    void add_environment(std::map<std::string, std::string>& env) const override {
        std::string stem = service_env_stem(name_), all;
        for (const auto& h : hosts_) all += (all.empty() ? "" : ",") + h.address;
        env[stem + "_HOSTS"] = all;
        env[stem + "_FIRST_PORT"] = std::to_string(first_);
        env[stem + "_LAST_PORT"] = std::to_string(first_ + count_ - 1);
        env[stem + "_PORTS"] = std::to_string(first_) + "-" + std::to_string(first_ + count_ - 1);
    }

private:
    template <class Socket>
    void bind_or_throw(Socket& s, const tcp::endpoint& ep) {
        boost::system::error_code ec;
        s.bind(ep, ec);
        if (ec)
            throw EnvError("service \"" + name_ + "\" (hosts): cannot bind " + ep.address().to_string() + ":" +
                           std::to_string(ep.port()) + ": " + ec.message() +
                           (base_ ? " — another program has it; run with --ephemeral for free ports" : ""));
    }

    /// A first port such that the whole range is free on every host.
    int free_base() {
        std::mt19937 rng(std::random_device{}());
        for (int attempt = 0; attempt < 200; ++attempt) {
            int base = std::uniform_int_distribution<int>(20000, 60000 - count_)(rng);
            bool ok = true;
            for (const auto& h : hosts_) {
                auto addr = asio::ip::make_address(h.address);
                for (int off = 0; off < count_ && ok; ++off) {
                    tcp::acceptor probe(io_);
                    boost::system::error_code ec;
                    tcp::endpoint ep(addr, static_cast<unsigned short>(base + off));
                    probe.open(ep.protocol(), ec);
                    probe.set_option(tcp::acceptor::reuse_address(true), ec);
                    probe.bind(ep, ec);
                    ok = !ec;
                }
                if (!ok) break;
            }
            if (ok) return base;
        }
        throw EnvError("service \"" + name_ + "\" (hosts): found no range of " + std::to_string(count_) +
                       " free ports on every host after 200 tries");
    }

    awaitable<void> serve(Host& h, std::string banner, Conn& c) {
        micros now = journal_.now();
        bool flood = min_gap_us_ > 0 && h.last_accept >= 0 && now - h.last_accept < min_gap_us_;
        std::int64_t gap_us = h.last_accept >= 0 ? now - h.last_accept : -1;
        h.last_accept = now;
        if (flood && !h.blocked) block(h, gap_us, c);
        // A blocked host tarpits the scanner, as intrusion prevention does:
        // the connection opens, the banner never comes.
        if (h.blocked) c.record().closing("scan detected: the host tarpits this scanner for a while");
        if (!banner.empty() && !h.blocked) {
            std::string line = banner;
            if (line.size() < 2 || line.substr(line.size() - 2) != "\r\n") line += "\r\n";
            if (!co_await c.write_all(line)) co_return;
        }
        char buf[4096];
        for (;;) {  // read until the scanner hangs up (or goes quiet)
            std::size_t n = co_await c.read_some(asio::buffer(buf), std::chrono::seconds(idle_s_));
            if (n == 0) break;
        }
        if (c.timed_out()) co_await c.close_send("idle");
    }

    /// The host takes the scanner for a flood: for `block_s` its open ports
    /// send no banner.
    void block(Host& h, std::int64_t gap_us, Conn& c) {
        h.blocked = true;
        journal_.event("scan-blocked", name_,
                       {{"host", h.address}, {"gap_ms", static_cast<double>(gap_us) / 1000.0},
                        {"min_gap_ms", min_gap_us_ / 1000}, {"block_s", block_s_}},
                       c.id());
        h.unblock = std::make_unique<asio::steady_timer>(io_, std::chrono::seconds(block_s_));
        h.unblock->async_wait([this, &h](const boost::system::error_code& ec) {
            if (ec || stopping_) return;
            h.blocked = false;
            h.last_accept = -1;
            journal_.event("scan-unblocked", name_, {{"host", h.address}});
        });
    }

    void write_state() {
        try {
            sql::replace_db(state_path_, [&](sql::Db& db) {
                db.exec("BEGIN; CREATE TABLE ports(host TEXT, port INTEGER, state TEXT, banner TEXT);");
                auto ins = db.prepare("INSERT INTO ports VALUES(?, ?, ?, ?)");
                for (const auto& h : hosts_)
                    for (int off = 0; off < count_; ++off) {
                        auto p = std::find_if(h.ports.begin(), h.ports.end(), [&](const Port& x) { return x.offset == off; });
                        ins.bind(1, h.address).bind(2, first_ + off).bind(3, p == h.ports.end() ? "closed" : p->state)
                            .bind(4, p == h.ports.end() || p->state != "open" ? std::optional<std::string>()
                                                                                : std::optional<std::string>(p->banner))
                            .exec();
                    }
                db.exec("COMMIT");
            });
        } catch (const std::exception& e) {
            journal_.event("state-error", name_, {{"error", e.what()}});
        }
    }

    std::string name_;
    Journal& journal_;
    asio::io_context& io_;
    int count_ = 20, base_ = 0, first_ = 0;
    std::int64_t min_gap_us_ = 0, block_s_ = 3, idle_s_ = 10;
    std::vector<Host> hosts_;
    bool stopping_ = false;
    std::filesystem::path state_path_;
};

}  // namespace

std::unique_ptr<Service> make_hosts_service(ServiceContext& ctx) { return std::make_unique<HostsService>(ctx); }

}  // namespace wirelab::hosts
