// SPDX-License-Identifier: MIT
// The unix://, unixgram:// and unixpacket:// openers and listener (socket.hpp).
#include <sys/un.h>

#include <fmt/format.h>

#include "ipcx/socket.hpp"
#include "socket_channel.hpp"

namespace ipcx::detail {
namespace {

SocketType type_of(Scheme s) {
  switch (s) {
    case Scheme::unix_dgram: return SocketType::datagram;
    case Scheme::unix_seqpacket: return SocketType::seqpacket;
    default: return SocketType::stream;
  }
}

struct UnixTarget {
  SocketAddress addr;
  std::string path;  // empty for an abstract name
};

Result<UnixTarget> target_of(const Url& url, const SocketUrlOptions& o) {
  UnixTarget t;
  if (url.abstract) {
    auto a = SocketAddress::unix_abstract(url.name);
    if (!a) return std::unexpected(std::move(a.error()).with_object(url.text));
    t.addr = *a;
    return t;
  }
  if (o.dir.empty()) {
    t.path = url.name;
  } else {
    std::string dir = o.dir;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    t.path = dir == "/" ? url.name : dir + url.name;  // url.name starts with '/'
  }
  auto a = SocketAddress::unix_path(t.path);
  if (!a) return fail(Errc::bad_url, "url", url.text, a.error().detail());
  t.addr = *a;
  return t;
}

// Binds a socket at the target: a path with stale-file probing and the mode asked for, or
// an abstract name (which lives exactly as long as its socket, so in use means live).
Result<SocketPath> bind_target(Socket& s, const UnixTarget& t, const SocketUrlOptions& o, const Url& url) {
  if (!t.path.empty()) {
    auto p = bind_path(s, t.path, o.mode);
    if (!p) return fail(std::move(p.error()).with_object(url.text));
    return std::move(*p);
  }
  auto b = s.bind(t.addr);
  if (!b) {
    Error e = std::move(b.error()).with_object(url.text);
    if (e.code() != EADDRINUSE) return fail(std::move(e));
    return fail(std::move(e).with_detail("another process listens there (an abstract name lives as long as its socket)"));
  }
  return SocketPath();
}

}  // namespace

Result<std::unique_ptr<ChannelImpl>> open_unix(const Url& url, bool bind) {
  auto o = parse_socket_options(url);
  if (!o) return std::unexpected(std::move(o.error()));
  auto t = target_of(url, *o);
  if (!t) return std::unexpected(std::move(t.error()));
  const SocketType type = type_of(url.scheme);

  if (type == SocketType::datagram && bind) {
    auto s = Socket::create(AF_UNIX, type);
    if (!s) return fail(std::move(s.error()).with_object(url.text));
    if (auto r = apply_socket_options(*s, *o); !r) return fail(std::move(r.error()).with_object(url.text));
    // Each datagram then says who sent it: peer() is the last sender.
    if (auto r = s->set_pass_credentials(true); !r) return fail(std::move(r.error()).with_object(url.text));
    auto path = bind_target(*s, *t, *o, url);
    if (!path) return std::unexpected(std::move(path.error()));
    const std::size_t max = o->max ? static_cast<std::size_t>(*o->max) : default_max(*s);
    auto ch = std::make_unique<PacketSocketChannel>(std::move(*s), max, url.text, false, false, std::nullopt, 0);
    ch->own_path(std::move(*path));
    return ch;
  }

  // Stream and seqpacket connect for open() and bind() alike; a datagram open() connects.
  auto s = connect_with_retry(std::span<const SocketAddress>(&t->addr, 1), type, *o, url.text);
  if (!s) return std::unexpected(std::move(s.error()));
  std::optional<PeerCredentials> creds;
  if (type != SocketType::datagram) {
    auto c = s->peer_credentials();
    if (!c) return fail(std::move(c.error()).with_object(url.text));
    creds = *c;
    if (!o->allow.empty() && !o->allow.allows(*c)) {
      return fail(Error::from_errno("connect", EACCES, url.text)
                      .with_detail(fmt::format("the listener there runs as pid {} uid {} gid {}, which is not in the "
                                               "allow-list ({})",
                                               c->pid, c->uid, c->gid, o->allow.text)));
    }
  }
  const std::size_t max = o->max ? static_cast<std::size_t>(*o->max) : default_max(*s);
  return make_connected_channel(std::move(*s), o->raw, max, url.text, true, creds);
}

Result<std::unique_ptr<ListenerImpl>> listen_unix(const Url& url) {
  auto o = parse_socket_options(url);
  if (!o) return std::unexpected(std::move(o.error()));
  auto t = target_of(url, *o);
  if (!t) return std::unexpected(std::move(t.error()));
  const SocketType type = type_of(url.scheme);
  auto s = Socket::create(AF_UNIX, type);
  if (!s) return fail(std::move(s.error()).with_object(url.text));
  if (auto r = apply_socket_options(*s, *o); !r) return fail(std::move(r.error()).with_object(url.text));
  // Nobody can connect between bind() and listen(): the file's mode is final before then.
  auto path = bind_target(*s, *t, *o, url);
  if (!path) return std::unexpected(std::move(path.error()));
  if (auto r = s->listen(o->backlog); !r) return fail(std::move(r.error()).with_object(url.text));
  std::string local = url_for(t->addr, type) + peer_query(url);
  return std::make_unique<SocketListener>(std::move(*s), std::move(*path), std::move(*o), url.text, std::move(local));
}

}  // namespace ipcx::detail
