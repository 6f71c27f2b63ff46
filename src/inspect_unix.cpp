// SPDX-License-Identifier: MIT
// ipcx::inspect: Unix sockets, from the kernel's sock_diag netlink interface (and the
// socket file, for one named by path that nothing is bound to). sock_diag gives each
// socket's name as bytes and its owner's uid; /proc/net/unix, read line by line, let a
// name holding a newline add fake rows and has no owner, so it is only the fallback where
// sock_diag is not available (a kernel without unix_diag).
#include "inspect_internal.hpp"

#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

#include "sys/io.hpp"
#include "sys/socket.hpp"

namespace ipcx::inspect::internal {
namespace {

struct UnixRow {
  unsigned flags = 0;
  unsigned type = 0;
  unsigned st = 0;
  ino_t inode = 0;
  std::string path;  // "/x" or "@name"
  std::optional<uid_t> uid;  // the socket's owner (sock_diag only)
};

constexpr unsigned kAcceptCon = 0x10000;  // __SO_ACCEPTCON: listening

// One sock_diag dump of every named Unix socket: its type, state, inode, name and owner.
// Empty optional when the interface is not there (then /proc/net/unix is read).
std::optional<std::vector<UnixRow>> read_unix_diag() {
  auto fd = sys::socket(AF_NETLINK, SOCK_DGRAM, NETLINK_SOCK_DIAG);
  if (!fd) return std::nullopt;
  struct {
    nlmsghdr nlh;
    unix_diag_req req;
  } request{};
  request.nlh.nlmsg_len = sizeof request;
  request.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  request.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  request.req.sdiag_family = AF_UNIX;
  request.req.udiag_states = ~0u;  // every state
  request.req.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_UID;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  iovec iov{&request, sizeof request};
  msghdr mh{};
  mh.msg_name = &kernel;
  mh.msg_namelen = sizeof kernel;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (!sys::sendmsg(fd->get(), &mh, 0)) return std::nullopt;
  std::vector<UnixRow> rows;
  std::vector<char> storage(32768);
  const char* buf = storage.data();
  // Netlink messages and attributes are 4-byte aligned; read by copying (the kernel's
  // macros cast in C style, which this build refuses).
  const auto align4 = [](std::size_t n) { return (n + 3) & ~std::size_t{3}; };
  const std::size_t hdr = align4(sizeof(nlmsghdr));
  for (;;) {
    auto n = sys::recv(fd->get(), storage.data(), storage.size(), 0);
    if (!n) return std::nullopt;
    const std::size_t total = *n;
    std::size_t off = 0;
    while (total - off >= sizeof(nlmsghdr)) {
      nlmsghdr h{};
      std::memcpy(&h, buf + off, sizeof h);
      if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > total - off) break;
      if (h.nlmsg_type == NLMSG_DONE) return rows;
      if (h.nlmsg_type == NLMSG_ERROR) return std::nullopt;
      const std::size_t end = off + h.nlmsg_len;
      if (h.nlmsg_len >= hdr + sizeof(unix_diag_msg)) {
        unix_diag_msg d{};
        std::memcpy(&d, buf + off + hdr, sizeof d);
        UnixRow r;
        r.type = d.udiag_type;
        // As /proc/net/unix says them: listening is __SO_ACCEPTCON, and St 3 is connected.
        r.flags = d.udiag_state == TCP_LISTEN ? kAcceptCon : 0;
        r.st = d.udiag_state == TCP_ESTABLISHED ? 3 : 1;
        r.inode = d.udiag_ino;
        bool named = false;
        for (std::size_t at = off + hdr + align4(sizeof d); end - at >= sizeof(nlattr);) {
          nlattr a{};
          std::memcpy(&a, buf + at, sizeof a);
          if (a.nla_len < sizeof(nlattr) || a.nla_len > end - at) break;
          const char* data = buf + at + align4(sizeof(nlattr));
          const std::size_t len = a.nla_len - align4(sizeof(nlattr));
          if (a.nla_type == UNIX_DIAG_NAME && len > 0) {
            named = true;
            if (data[0] == '\0') {
              r.path = "@" + std::string(data + 1, len - 1);  // abstract: every byte is the name
            } else {
              r.path.assign(data, ::strnlen(data, len));  // a path ends at its NUL
            }
          } else if (a.nla_type == UNIX_DIAG_UID && len >= sizeof(uid_t)) {
            uid_t uid = 0;
            std::memcpy(&uid, data, sizeof uid);
            r.uid = uid;
          }
          at += align4(a.nla_len);
        }
        if (named) rows.push_back(std::move(r));
      }
      off += align4(h.nlmsg_len);
      if (off > total) break;
    }
  }
}

std::vector<UnixRow> read_unix_table() {
  if (auto diag = read_unix_diag()) return std::move(*diag);
  std::vector<UnixRow> rows;
  auto text = read_file("/proc/net/unix");
  if (!text) return rows;
  auto lines = lines_of(*text);
  for (std::size_t i = 1; i < lines.size(); ++i) {
    auto f = split_ws(lines[i]);
    if (f.size() < 8) continue;  // no path: unnamed
    UnixRow r;
    r.flags = parse_num<unsigned>(f[3], 16).value_or(0);
    r.type = parse_num<unsigned>(f[4], 16).value_or(0);
    r.st = parse_num<unsigned>(f[5], 16).value_or(0);
    r.inode = parse_num<ino_t>(f[6]).value_or(0);
    // The path is the rest of the line (it may hold spaces).
    r.path = lines[i].substr(static_cast<std::size_t>(f[7].data() - lines[i].data()));
    rows.push_back(std::move(r));
  }
  return rows;
}

std::string_view unix_type_name(unsigned t) {
  switch (t) {
    case 1: return "stream";
    case 2: return "dgram";
    case 5: return "seqpacket";
    default: return "?";
  }
}

std::string_view unix_scheme(unsigned t) {
  switch (t) {
    case 2: return "unixgram";
    case 5: return "unixpacket";
    default: return "unix";
  }
}

bool is_autobind(std::string_view path) {
  // autobind(2) names: '@' and five hex digits, given to unbound datagram clients.
  if (path.size() != 6 || path[0] != '@') return false;
  return std::all_of(path.begin() + 1, path.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

Object unix_object(const UnixRow& r) {
  Object o;
  o.kind = Kind::unix_socket;
  o.name = r.path;
  o.socket_type = std::string(unix_type_name(r.type));
  o.socket_state = (r.flags & kAcceptCon) ? "listening" : "bound";
  if (r.uid) o.uid = *r.uid;
  if (r.path.starts_with("@")) {
    o.url = fmt::format("{}:@{}", unix_scheme(r.type), url_escape(std::string_view(r.path).substr(1)));
  } else {
    o.url = fmt::format("{}://{}", unix_scheme(r.type), url_escape(r.path));
    o.path = r.path;
    if (auto st = sys::lstat(r.path.c_str()); st && S_ISSOCK(st->st_mode)) {
      o.uid = st->st_uid;
      o.gid = st->st_gid;
      o.mode = st->st_mode & 07777;
    }
  }
  o.details.emplace_back("inode", std::to_string(r.inode));
  return o;
}

}  // namespace

// Listening sockets and bound datagram sockets that have a name.
void list_unix(std::vector<Object>& out, std::vector<ino_t>& inodes) {
  for (const auto& r : read_unix_table()) {
    bool listening = (r.flags & kAcceptCon) != 0;
    bool bound_dgram = r.type == 2 && r.st == 1 && !is_autobind(r.path);
    if (!listening && !bound_dgram) continue;
    out.push_back(unix_object(r));
    inodes.push_back(r.inode);
  }
}

void add_socket_users(Object& o, const ProcessIndex& idx, ino_t inode) {
  auto it = idx.sockets.find(inode);
  if (it == idx.sockets.end()) return;
  for (pid_t p : it->second) add_process(o, p, o.socket_state == "listening" ? "listening" : "open");
}

Result<Object> stat_unix(const Url& u) {
  const std::string want = u.abstract ? "@" + u.name : u.name;
  std::optional<Object> found;
  std::vector<ino_t> inodes;
  for (const auto& r : read_unix_table()) {
    if (r.path != want) continue;
    // Prefer the listening/bound socket over connected ones that share the name.
    bool better = !found || ((r.flags & kAcceptCon) && found->socket_state != "listening");
    if (better) {
      found = unix_object(r);
      inodes = {r.inode};
    }
  }
  if (!found) {
    if (u.abstract) return not_found(u, fmt::format("no socket is bound to the abstract name @{}", u.name));
    auto st = sys::lstat(u.name.c_str());
    if (!st) {
      if (st.error().code() == ENOENT) return not_found(u, fmt::format("no socket at {}", u.name));
      return fail_errno("stat", st.error().code(), u.name);
    }
    if (!S_ISSOCK(st->st_mode)) return fail(Errc::invalid_argument, "stat", u.text, fmt::format("{} is not a socket", u.name));
    Object o;
    o.kind = Kind::unix_socket;
    o.name = u.name;
    o.url = "unix://" + url_escape(u.name);
    o.path = u.name;
    o.socket_state = "unbound";
    fill_from_stat(o, *st);
    return finish(std::move(o));
  }
  return finish(std::move(*found), inodes);
}

}  // namespace ipcx::inspect::internal
