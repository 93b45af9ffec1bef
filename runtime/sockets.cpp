#include "runtime/sockets.hpp"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

namespace wirelab {

namespace {

struct Addr {
    int family = AF_INET;
    unsigned char bytes[16] = {};
    unsigned short port = 0;
};

std::optional<Addr> parse(const std::string& s) {
    auto colon = s.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    std::string host = s.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    Addr a;
    a.port = static_cast<unsigned short>(std::atoi(s.c_str() + colon + 1));
    if (::inet_pton(AF_INET, host.c_str(), a.bytes) == 1) return a;
    a.family = AF_INET6;
    if (::inet_pton(AF_INET6, host.c_str(), a.bytes) == 1) {
        // A v4-mapped address is an IPv4 socket in the kernel's table.
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(a.bytes, mapped, 12) == 0) {
            a.family = AF_INET;
            std::memmove(a.bytes, a.bytes + 12, 4);
            std::memset(a.bytes + 4, 0, 12);
        }
        return a;
    }
    return std::nullopt;
}

std::optional<unsigned long> by_netlink(const Addr& l, const Addr& r) {
    int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) return std::nullopt;
    timeval tv{0, 200000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct {
        nlmsghdr nlh;
        inet_diag_req_v2 req;
    } msg{};
    msg.nlh.nlmsg_len = sizeof msg;
    msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nlh.nlmsg_flags = NLM_F_REQUEST;
    msg.req.sdiag_family = static_cast<unsigned char>(l.family);
    msg.req.sdiag_protocol = IPPROTO_TCP;
    msg.req.idiag_states = ~0U;
    msg.req.id.idiag_sport = htons(l.port);
    msg.req.id.idiag_dport = htons(r.port);
    std::memcpy(msg.req.id.idiag_src, l.bytes, l.family == AF_INET ? 4 : 16);
    std::memcpy(msg.req.id.idiag_dst, r.bytes, r.family == AF_INET ? 4 : 16);
    msg.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
    msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    std::optional<unsigned long> out;
    if (::sendto(fd, &msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == sizeof msg) {
        alignas(nlmsghdr) char buf[8192];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf); n > 0 && NLMSG_OK(h, static_cast<unsigned>(n));
             h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) break;
            if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
            auto* d = reinterpret_cast<inet_diag_msg*>(NLMSG_DATA(h));
            out = d->idiag_inode;
            break;
        }
    }
    ::close(fd);
    return out;
}

/// "0100007F:1F90" as /proc/net/tcp writes an address (host byte order
/// per 32-bit word).
std::string proc_form(const Addr& a) {
    char buf[64];
    std::string out;
    int words = a.family == AF_INET ? 1 : 4;
    for (int w = 0; w < words; ++w) {
        std::uint32_t v;
        std::memcpy(&v, a.bytes + 4 * w, 4);
        std::snprintf(buf, sizeof buf, "%08X", v);
        out += buf;
    }
    std::snprintf(buf, sizeof buf, ":%04X", a.port);
    return out + buf;
}

std::optional<unsigned long> by_proc(const Addr& l, const Addr& r) {
    std::string lf = proc_form(l), rf = proc_form(r);
    std::ifstream in(l.family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6");
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string sl, local, rem, st, queues, tr, retr, uid, timeout, inode;
        f >> sl >> local >> rem >> st >> queues >> tr >> retr >> uid >> timeout >> inode;
        if (local == lf && rem == rf) return std::strtoul(inode.c_str(), nullptr, 10);
    }
    return std::nullopt;
}

}  // namespace

std::optional<unsigned long> tcp_socket_inode(const std::string& local, const std::string& remote) {
    auto l = parse(local), r = parse(remote);
    if (!l || !r || l->family != r->family) return std::nullopt;
    if (auto i = by_netlink(*l, *r); i && *i) return i;
    if (auto i = by_proc(*l, *r); i && *i) return i;
    return std::nullopt;
}

}  // namespace wirelab
