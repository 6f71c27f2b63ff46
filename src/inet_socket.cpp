// SPDX-License-Identifier: MIT
// The tcp:// and udp:// openers and the TCP listener (socket.hpp).
#include <netinet/in.h>

#include <fmt/format.h>

#include "ipcx/socket.hpp"
#include "socket_channel.hpp"

namespace ipcx::detail {

Result<std::unique_ptr<ChannelImpl>> open_inet(const Url& url, bool bind) {
  auto o = parse_socket_options(url);
  if (!o) return std::unexpected(std::move(o.error()));
  const SocketType type = url.scheme == Scheme::tcp ? SocketType::stream : SocketType::datagram;
  const bool bind_udp = bind && type == SocketType::datagram;
  auto addrs = SocketAddress::resolve(url.host, url.port, type, bind_udp);
  if (!addrs) return fail(std::move(addrs.error()).with_object(url.text));

  if (bind_udp) {
    std::optional<Error> last;
    for (const SocketAddress& a : *addrs) {
      auto s = Socket::create(a.family(), type);
      if (!s) return fail(std::move(s.error()).with_object(url.text));
      if (auto r = apply_socket_options(*s, *o); !r) return fail(std::move(r.error()).with_object(url.text));
      if (auto b = s->bind(a); !b) {
        last = std::move(b.error()).with_object(url.text);
        continue;
      }
      const std::size_t limit = udp_limit(a.family());
      const std::size_t max = o->max ? std::min<std::size_t>(*o->max, limit) : limit;
      return std::make_unique<PacketSocketChannel>(std::move(*s), max, url.text, false, false, std::nullopt, limit);
    }
    return fail(std::move(*last));
  }

  // tcp (open and bind alike) and a udp open(): connect, each address in turn.
  auto s = connect_with_retry(*addrs, type, *o, url.text);
  if (!s) return std::unexpected(std::move(s.error()));
  std::size_t max = o->max ? static_cast<std::size_t>(*o->max) : default_max(*s);
  if (type == SocketType::datagram) max = std::min(max, udp_limit(s->family()));
  return make_connected_channel(std::move(*s), o->raw, max, url.text, true, std::nullopt);
}

Result<std::unique_ptr<ListenerImpl>> listen_tcp(const Url& url) {
  auto o = parse_socket_options(url);
  if (!o) return std::unexpected(std::move(o.error()));
  auto addrs = SocketAddress::resolve(url.host, url.port, SocketType::stream, true);
  if (!addrs) return fail(std::move(addrs.error()).with_object(url.text));
  std::optional<Error> last;
  for (const SocketAddress& a : *addrs) {
    auto s = Socket::create(a.family(), SocketType::stream);
    if (!s) return fail(std::move(s.error()).with_object(url.text));
    // SO_REUSEADDR: a restarted server can bind its port while old connections linger in
    // TIME_WAIT; it never lets two listeners share a port.
    if (auto r = s->set_option(SOL_SOCKET, SO_REUSEADDR, 1); !r) return fail(std::move(r.error()).with_object(url.text));
    if (auto r = apply_socket_options(*s, *o); !r) return fail(std::move(r.error()).with_object(url.text));
    if (auto b = s->bind(a); !b) {
      last = std::move(b.error()).with_object(url.text);
      continue;
    }
    if (auto r = s->listen(o->backlog); !r) return fail(std::move(r.error()).with_object(url.text));
    auto local = s->local_address();
    if (!local) return fail(std::move(local.error()).with_object(url.text));
    std::string local_url = url_for(*local, SocketType::stream) + peer_query(url);
    return std::make_unique<SocketListener>(std::move(*s), SocketPath(), std::move(*o), url.text, std::move(local_url));
  }
  return fail(std::move(*last));
}

}  // namespace ipcx::detail
