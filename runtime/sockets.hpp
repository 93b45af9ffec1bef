// The kernel's table of TCP sockets, for attribution: which socket (by
// inode) has a given pair of endpoints. Uses sock_diag netlink, with
// /proc/net/tcp{,6} as the fallback.
#pragma once
#include <optional>
#include <string>

namespace wirelab {

/// The inode of the TCP socket whose own address is `local` and whose other
/// end is `remote` ("127.0.0.1:5000", "[::1]:5000"), if the kernel has one.
std::optional<unsigned long> tcp_socket_inode(const std::string& local, const std::string& remote);

}  // namespace wirelab
