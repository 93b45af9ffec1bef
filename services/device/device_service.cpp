#include "services/device/device_service.hpp"

#include <fstream>
#include <sstream>
#include <regex>

#include "runtime/journal.hpp"
#include "runtime/lab.hpp"
#include "runtime/listener.hpp"
#include "runtime/sqlite.hpp"
#include "services/device/cli.hpp"
#include "services/device/restconf.hpp"
#include "services/http/http_front.hpp"

namespace wirelab::device {

namespace {

std::string upper_stem(const std::string& name) {
    std::string s;
    for (char c : name) s += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(c)) : '_';
    return s;
}

/// "10.0.0.1/24" → ("10.0.0.1", "255.255.255.0"); nullopt when malformed.
std::optional<std::pair<std::string, std::string>> cidr(const std::string& text) {
    static const std::regex re(R"((\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})/(\d{1,2}))");
    std::smatch m;
    if (!std::regex_match(text, m, re)) return std::nullopt;
    int bits = std::stoi(m[2]);
    if (bits < 1 || bits > 32) return std::nullopt;
    std::uint32_t mask = bits == 32 ? 0xffffffffu : ~((1u << (32 - bits)) - 1);
    return std::make_pair(m[1].str(), std::to_string(mask >> 24) + "." + std::to_string((mask >> 16) & 255) + "." +
                                          std::to_string((mask >> 8) & 255) + "." + std::to_string(mask & 255));
}

class DeviceService final : public Service {
public:
    explicit DeviceService(ServiceContext& ctx) : name_(ctx.name), journal_(ctx.journal) {
        Spec& s = ctx.spec;
        std::string host = s.string("host", "127.0.0.1");
        if (!is_ip_address(host)) s.fail("host", "\"" + host + "\" is not an IP address", "use \"127.0.0.1\"");
        if (!ctx.listen_host.empty()) host = ctx.listen_host;
        int base_port = static_cast<int>(s.integer("base_port", 0, 0, 65000));
        max_sessions_ = static_cast<int>(s.integer("max_sessions", 2, 1, 64));
        idle_s_ = s.integer("idle_timeout", 60, 1, 3600);
        DeviceSpec defaults;
        defaults.username = s.string("username", "admin");
        defaults.password = s.string("password", "admin");
        defaults.enable_secret = s.string("enable", "enable");
        defaults.page_lines = static_cast<std::size_t>(s.integer("page_lines", 24, 0, 512));
        defaults.echo = s.boolean("echo", false);
        int ports_default = static_cast<int>(s.integer("interfaces", 8, 1, 96));
        bool restconf = s.boolean("restconf", false);
        int restconf_base = static_cast<int>(s.integer("restconf_base_port", 0, 0, 65000));

        const json& devs = s.required("devices");
        if (!devs.is_object() || devs.empty())
            s.fail("devices", "\"devices\" must be an object: device name → its settings",
                   "e.g. \"devices\": {\"sw1\": {}, \"sw2\": {\"vlans\": {\"10\": \"users\"}}}");
        static const std::regex name_re("[a-z][a-z0-9-]{0,30}");
        int index = 0;
        for (auto it = devs.begin(); it != devs.end(); ++it, ++index) {
            Spec d(s.doc(), it.value(), s.pointer("devices") + "/" + pointer_escape(it.key()), "device \"" + it.key() + "\"");
            if (!it.value().is_object()) d.fail("", "a device's settings are an object (it may be empty: {})");
            if (!std::regex_match(it.key(), name_re))
                d.fail("", "a device name is lower-case letters, digits and -, e.g. \"sw1\"");
            DeviceSpec spec = defaults;
            spec.name = it.key();
            spec.config.hostname = d.string("hostname", it.key());
            spec.username = d.string("username", defaults.username);
            spec.password = d.string("password", defaults.password);
            spec.enable_secret = d.string("enable", defaults.enable_secret);
            spec.config.vlans[1] = "default";
            if (const json* v = d.get("vlans")) {
                Spec vs(s.doc(), *v, d.pointer("vlans"), "\"vlans\"");
                if (!v->is_object()) vs.fail("", "\"vlans\" is an object: id → name", "{\"10\": \"users\"}");
                for (auto vi = v->begin(); vi != v->end(); ++vi) {
                    int id = 0;
                    try {
                        id = std::stoi(vi.key());
                    } catch (...) {
                    }
                    if (id < 2 || id > 4094 || std::to_string(id) != vi.key())
                        vs.fail(vi.key(), "a vlan id is a number from 2 to 4094");
                    if (!vi.value().is_string()) vs.fail(vi.key(), "a vlan's name is a string");
                    spec.config.vlans[id] = vi.value().get<std::string>();
                }
            }
            int n = static_cast<int>(d.integer("interfaces", ports_default, 1, 96));
            for (int i = 1; i <= n; ++i) {
                Interface f;
                f.name = "GigabitEthernet0/" + std::to_string(i);
                spec.config.interfaces.push_back(f);
            }
            if (const json* cfg = d.get("config")) {  // per interface: description, ip, shutdown, vlan
                Spec cs(s.doc(), *cfg, d.pointer("config"), "\"config\"");
                if (!cfg->is_object()) cs.fail("", "\"config\" is an object: interface → its settings");
                for (auto ci = cfg->begin(); ci != cfg->end(); ++ci) {
                    std::string full = expand_interface(ci.key());
                    Interface* f = full.empty() ? nullptr : spec.config.find(full);
                    if (!f) cs.fail(ci.key(), "no interface \"" + ci.key() + "\" on " + it.key(),
                                    "interfaces are GigabitEthernet0/1 … GigabitEthernet0/" + std::to_string(n));
                    Spec is(s.doc(), ci.value(), cs.pointer(ci.key()), "interface \"" + ci.key() + "\"");
                    f->description = is.string("description", "");
                    f->shutdown = is.boolean("shutdown", false);
                    if (auto ip = is.opt_string("ip")) {
                        auto parsed = cidr(*ip);
                        if (!parsed) is.fail("ip", "\"ip\" is an address with its prefix length, e.g. \"10.0.0.1/24\"");
                        f->ip = parsed->first;
                        f->mask = parsed->second;
                    }
                    f->access_vlan = static_cast<int>(is.integer("vlan", 1, 1, 4094));
                    if (f->access_vlan != 1) f->mode = "access";
                    if (f->access_vlan != 1 && !spec.config.vlans.count(f->access_vlan))
                        is.fail("vlan", "vlan " + std::to_string(f->access_vlan) + " is not in the device's \"vlans\"");
                    is.finish();
                }
            }
            d.finish();
            ListenSpec listen;
            listen.host = host;
            listen.port = static_cast<unsigned short>(base_port && !ctx.ephemeral ? base_port + index : 0);
            devices_.push_back(std::make_unique<Slot>(std::move(spec)));
            Slot* slot = devices_.back().get();
            slot->listener = std::make_unique<StreamListener>(ctx, "device", listen,
                                                              [this, slot](Conn& c) { return serve(*slot, c); });
            if (restconf) {
                ListenSpec api = listen;
                api.port = static_cast<unsigned short>(restconf_base && !ctx.ephemeral ? restconf_base + index : 0);
                slot->restconf = std::make_unique<http::HttpFront>(
                    ctx, "device", api, http::HttpOptions{},
                    [this, slot](const http::HttpRequest& r) { return serve_restconf(*slot, r); });
            }
        }
        s.finish();
        state_path_ = ctx.state_dir / (name_ + ".db");
        inventory_ = std::filesystem::absolute(ctx.state_dir.parent_path() / (name_ + "-inventory.csv"));
    }

    void start() override {
        for (auto& d : devices_) {
            d->listener->start();
            if (d->restconf) d->restconf->start();
        }
        bool api = devices_.front()->restconf != nullptr;
        std::ofstream inv(inventory_);
        inv << "name,host,port,username,password,enable" << (api ? ",restconf" : "") << "\n";
        for (auto& d : devices_) {
            inv << d->device.spec.name << "," << d->listener->host() << "," << d->listener->port() << ","
                << d->device.spec.username << "," << d->device.spec.password << "," << d->device.spec.enable_secret;
            if (api) inv << "," << restconf_url(*d);
            inv << "\n";
        }
        write_state();
    }
    void stop() override {
        if (stopped_) return;
        stopped_ = true;
        for (auto& d : devices_) {
            d->listener->stop();
            if (d->restconf) d->restconf->stop();
        }
        write_state();
    }
    void flush() override { write_state(); }
    void end_case(const CaseSpec&) override { write_state(); }
    Endpoint endpoint() const override { return devices_.front()->listener->endpoint("tcp"); }
    std::filesystem::path state_file() const override { return state_path_; }
    void set_faults(const FaultProfile& p, std::uint64_t seed) override {
        for (auto& d : devices_) {
            d->listener->set_faults(p, seed);
            if (d->restconf) d->restconf->set_faults(p, seed);
        }
    }
    void add_environment(std::map<std::string, std::string>& env) const override {
        std::string stem = service_env_stem(name_);
        env[stem + "_INVENTORY"] = inventory_.string();
        std::string all;
        for (auto& d : devices_) {
            std::string dev = stem + "_" + upper_stem(d->device.spec.name);
            env[dev + "_HOST"] = d->listener->host();
            env[dev + "_PORT"] = std::to_string(d->listener->port());
            if (d->restconf) {
                env[dev + "_RESTCONF_URL"] = restconf_url(*d);
                env[dev + "_RESTCONF_PORT"] = std::to_string(d->restconf->port());
            }
            all += (all.empty() ? "" : ",") + d->device.spec.name + "=" + d->listener->host() + ":" +
                   std::to_string(d->listener->port());
        }
        env[stem + "_DEVICES"] = all;
    }

private:
    struct Slot {
        explicit Slot(DeviceSpec s) : device(std::move(s)) {}
        Device device;
        std::unique_ptr<StreamListener> listener;
        std::unique_ptr<http::HttpFront> restconf;
        int sessions = 0;
    };

    static std::string restconf_url(const Slot& d) {
        return "http://" + d.restconf->host() + ":" + std::to_string(d.restconf->port()) + "/restconf";
    }

    /// One RESTCONF request on the device's running config; a change is
    /// journaled as a `config-change` event with its diff.
    http::HttpReply serve_restconf(Slot& slot, const http::HttpRequest& req) {
        RestconfRequest rr;
        rr.method = req.method;
        rr.path = req.path;
        rr.content_type = std::string(req.header("Content-Type"));
        rr.accept = std::string(req.header("Accept"));
        rr.authorization = std::string(req.header("Authorization"));
        rr.body = req.body;
        RestconfReply r = restconf(slot.device, rr);
        if (!r.diff.empty() || r.saved) {
            journal_.event(r.saved ? "config-saved" : "config-change", name_,
                           {{"device", slot.device.spec.name}, {"via", "restconf"}, {"method", req.method},
                            {"path", req.path}, {"diff", r.diff}}, req.connection_id);
            write_state();
        }
        http::HttpReply out;
        out.status = r.status;
        out.headers = std::move(r.headers);
        out.body = std::move(r.body);
        return out;
    }

    void journal_records(Slot& slot, Conn& c, int& seq, CliSession& cli) {
        for (auto& r : cli.take_records()) {
            json detail = {{"device", slot.device.spec.name}, {"mode", r.mode}, {"diff", r.diff},
                           {"output_bytes", r.output_bytes}};
            json row = {{"service", name_}, {"connection_id", c.id()}, {"seq", ++seq}, {"dir", "in"},
                        {"protocol", "cli"}, {"data", r.line}, {"json", detail.dump()}};
            if (!r.error.empty()) row["error"] = r.error;
            journal_.message(row);
            // the same command in the commands table, for `commands` checks
            json args = json::array();
            std::istringstream words(r.line);
            std::string w;
            words >> w;  // the command word itself
            while (words >> w) args.push_back(w);
            std::string name = r.command.empty() ? "?" : r.command;
            for (auto& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
            std::string reply;
            for (const auto& d : r.diff) reply += (reply.empty() ? "" : "; ") + d;
            if (reply.size() > 200) reply = reply.substr(0, 200) + "…";
            json cmd = {{"service", name_}, {"connection_id", c.id()}, {"seq", seq}, {"db", 0}, {"name", name},
                        {"args", args.dump(-1, ' ', false, json::error_handler_t::replace)},
                        {"reply", reply.empty() ? "ok" : reply}, {"in_multi", false}};
            if (!r.error.empty()) cmd["error"] = r.error;
            journal_.command(cmd);
            dirty_ = dirty_ || !r.diff.empty() || r.line.rfind("copy", 0) == 0 || r.line.rfind("write", 0) == 0;
        }
    }

    awaitable<void> serve(Slot& slot, Conn& c) {
        if (slot.sessions >= max_sessions_) {
            journal_.event("session-refused", name_,
                           {{"device", slot.device.spec.name}, {"sessions", slot.sessions}, {"max", max_sessions_}}, c.id());
            co_await c.write_all("% Sorry, all " + std::to_string(max_sessions_) + " sessions of " +
                                 slot.device.running.hostname + " are in use\r\n");
            co_await c.close_send("too many sessions");
            co_return;
        }
        ++slot.sessions;
        struct Leave {
            Slot& s;
            ~Leave() { --s.sessions; }
        } leave{slot};
        CliSession cli(slot.device);
        int seq = 0;
        if (!co_await c.write_all(cli.start())) co_return;
        char buf[4096];
        while (!stopping_ && !cli.closed()) {
            std::size_t n = co_await c.read_some(asio::buffer(buf), std::chrono::seconds(idle_s_));
            if (n == 0) break;
            std::string out = cli.feed(std::string_view(buf, n));
            journal_records(slot, c, seq, cli);
            if (!out.empty() && !co_await c.write_all(out)) break;
        }
        journal_records(slot, c, seq, cli);
        if (cli.closed()) co_await c.close_send("the session ended (exit)");
        if (dirty_) write_state();
    }

    void write_state() {
        try {
            sql::replace_db(state_path_, [&](sql::Db& db) {
                db.exec("BEGIN;"
                        "CREATE TABLE devices(name TEXT PRIMARY KEY, hostname TEXT, saved INTEGER, running TEXT, startup TEXT);"
                        "CREATE TABLE interfaces(device TEXT, config TEXT, name TEXT, description TEXT, ip TEXT, mask TEXT,"
                        " shutdown INTEGER, mode TEXT, vlan INTEGER);"
                        "CREATE TABLE vlans(device TEXT, config TEXT, id INTEGER, name TEXT);");
                auto dev = db.prepare("INSERT INTO devices VALUES(?, ?, ?, ?, ?)");
                auto itf = db.prepare("INSERT INTO interfaces VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
                auto vl = db.prepare("INSERT INTO vlans VALUES(?, ?, ?, ?)");
                for (auto& d : devices_) {
                    const Device& x = d->device;
                    dev.bind(1, x.spec.name).bind(2, x.running.hostname).bind(3, x.saved() ? 1 : 0)
                        .bind(4, x.running.render()).bind(5, x.startup.render()).exec();
                    for (auto [which, cfg] : {std::pair<const char*, const Config*>{"running", &x.running}, {"startup", &x.startup}}) {
                        for (const auto& f : cfg->interfaces)
                            itf.bind(1, x.spec.name).bind(2, which).bind(3, f.name).bind(4, f.description)
                                .bind(5, f.ip.empty() ? std::optional<std::string>() : std::optional<std::string>(f.ip))
                                .bind(6, f.mask.empty() ? std::optional<std::string>() : std::optional<std::string>(f.mask))
                                .bind(7, f.shutdown ? 1 : 0).bind(8, f.mode.empty() ? "access" : f.mode)
                                .bind(9, f.access_vlan).exec();
                        for (const auto& [id, name] : cfg->vlans)
                            vl.bind(1, x.spec.name).bind(2, which).bind(3, id).bind(4, name).exec();
                    }
                }
                db.exec("COMMIT");
            });
            dirty_ = false;
        } catch (const std::exception& e) {
            journal_.event("state-error", name_, {{"error", e.what()}});
        }
    }

    std::string name_;
    Journal& journal_;
    int max_sessions_ = 2;
    long long idle_s_ = 60;
    bool stopping_ = false, stopped_ = false, dirty_ = false;
    std::vector<std::unique_ptr<Slot>> devices_;
    std::filesystem::path state_path_, inventory_;
};

}  // namespace

std::unique_ptr<Service> make_device_service(ServiceContext& ctx) { return std::make_unique<DeviceService>(ctx); }

}  // namespace wirelab::device
