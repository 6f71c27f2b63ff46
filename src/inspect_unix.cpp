// SPDX-License-Identifier: MIT
// ipcx::inspect: Unix sockets, from /proc/net/unix (and the socket file, for one named by
// path that nothing is bound to).
#include "inspect_internal.hpp"

#include <fcntl.h>
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

namespace ipcx::inspect::internal {
namespace {

struct UnixRow {
  unsigned flags = 0;
  unsigned type = 0;
  unsigned st = 0;
  ino_t inode = 0;
  std::string path;  // "/x" or "@name"
};

constexpr unsigned kAcceptCon = 0x10000;  // __SO_ACCEPTCON: listening

std::vector<UnixRow> read_unix_table() {
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
  if (r.path.starts_with("@")) {
    o.url = fmt::format("{}:{}", unix_scheme(r.type), r.path);
  } else {
    o.url = fmt::format("{}://{}", unix_scheme(r.type), r.path);
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
    o.url = "unix://" + u.name;
    o.path = u.name;
    o.socket_state = "unbound";
    fill_from_stat(o, *st);
    return finish(std::move(o));
  }
  return finish(std::move(*found), inodes);
}

}  // namespace ipcx::inspect::internal
