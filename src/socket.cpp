// SPDX-License-Identifier: MIT
// Socket, SocketAddress, SocketPath, bind_path and runtime_directory (socket.hpp). The
// Channels over them are in socket_channel.cpp, unix_socket.cpp and inet_socket.cpp.
#include "ipcx/socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "ipcx/url.hpp"  // validate_path
#include "sys/io.hpp"
#include "sys/socket.hpp"

namespace ipcx {
namespace {

constexpr socklen_t kSunPathOffset = offsetof(sockaddr_un, sun_path);
constexpr std::size_t kSunPathMax = sizeof(sockaddr_un::sun_path);  // 108 bytes

int native_type(SocketType t) noexcept {
  switch (t) {
    case SocketType::stream: return SOCK_STREAM;
    case SocketType::datagram: return SOCK_DGRAM;
    case SocketType::seqpacket: return SOCK_SEQPACKET;
  }
  return SOCK_STREAM;
}

// Control space for the most a recvmsg can bring: SCM_MAX_FD descriptors and one set of
// credentials. Sized so that MSG_CTRUNC can only mean the process ran out of descriptors.
constexpr std::size_t kControlSpace = CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage) + CMSG_SPACE(sizeof(ucred));

// A short growing pause, for waits nothing can be polled for (a Unix listener's full
// backlog, a datagram receiver's full queue). False once the deadline has passed.
bool pause_until(Deadline d, std::chrono::microseconds& step) {
  if (d.expired()) return false;
  auto left = d.remaining();
  std::this_thread::sleep_for(std::min<Deadline::Clock::duration>(step, left));
  step = std::min<std::chrono::microseconds>(step * 2, std::chrono::milliseconds(20));
  return true;
}

// MSG_DONTWAIT unless the deadline is never: a socket made blocking (set_blocking) then
// waits inside its one sendmsg/recvmsg, as a plain blocking loop does, where a
// non-blocking socket answers EAGAIN and waits in poll(2). Every finite deadline passes
// MSG_DONTWAIT, so it is kept exactly whatever the descriptor's mode.
int dontwait(Deadline d) noexcept { return d.is_never() ? 0 : MSG_DONTWAIT; }

std::unexpected<Error> waited_out(Deadline d, const char* op, std::string_view object, std::string detail = {}) {
  return fail(d.is_immediate() ? Errc::would_block : Errc::timed_out, op, object, std::move(detail));
}

// What came beside a received message: its descriptors (owned at once, so that any early
// return closes them) and the sender's credentials. MSG_CTRUNC with room for descriptors
// means not all arrived: those that did are closed and fds_lost is set.
void take_control(msghdr& m, SocketReceived& out, bool want_fds) {
  for (cmsghdr* h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
    if (h->cmsg_level != SOL_SOCKET) continue;
    if (h->cmsg_type == SCM_RIGHTS) {
      std::size_t count = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < count; ++i) {
        int v = -1;
        std::memcpy(&v, CMSG_DATA(h) + i * sizeof(int), sizeof v);
        out.fds.emplace_back(v);
      }
    } else if (h->cmsg_type == SCM_CREDENTIALS && h->cmsg_len >= CMSG_LEN(sizeof(ucred))) {
      ucred c{};
      std::memcpy(&c, CMSG_DATA(h), sizeof c);
      out.credentials = PeerCredentials{c.pid, c.uid, c.gid};
    }
  }
  if ((m.msg_flags & MSG_CTRUNC) && want_fds) {
    out.fds.clear();  // closes those that arrived
    out.fds_lost = true;
  } else if (!want_fds) {
    out.fds.clear();
  }
}

}  // namespace

std::string_view to_string(SocketType t) noexcept {
  switch (t) {
    case SocketType::stream: return "stream";
    case SocketType::datagram: return "datagram";
    case SocketType::seqpacket: return "seqpacket";
  }
  return "?";
}

// ---- SocketAddress ----------------------------------------------------------------------

SocketAddress::SocketAddress() noexcept : addr_{} {}

Result<SocketAddress> SocketAddress::unix_path(std::string_view path) {
  if (path.empty()) return fail(Errc::invalid_argument, "socket address", path, "empty path");
  if (path.size() >= kSunPathMax) {
    return fail(Errc::invalid_argument, "socket address", path,
                fmt::format("path is {} bytes; sun_path holds at most {}", path.size(), kSunPathMax - 1));
  }
  if (path.find('\0') != std::string_view::npos) return fail(Errc::invalid_argument, "socket address", path, "NUL in path");
  SocketAddress a;
  auto* un = reinterpret_cast<sockaddr_un*>(&a.addr_);
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path.data(), path.size());
  a.size_ = static_cast<socklen_t>(kSunPathOffset + path.size() + 1);
  return a;
}

Result<SocketAddress> SocketAddress::unix_abstract(std::string_view name) {
  if (name.empty()) return fail(Errc::invalid_argument, "socket address", "@", "empty abstract name");
  if (name.size() >= kSunPathMax) {
    return fail(Errc::invalid_argument, "socket address", name,
                fmt::format("abstract name is {} bytes; at most {}", name.size(), kSunPathMax - 1));
  }
  SocketAddress a;
  auto* un = reinterpret_cast<sockaddr_un*>(&a.addr_);
  un->sun_family = AF_UNIX;
  un->sun_path[0] = '\0';
  std::memcpy(un->sun_path + 1, name.data(), name.size());
  // The abstract name is exactly the bytes given: no terminating NUL is counted.
  a.size_ = static_cast<socklen_t>(kSunPathOffset + 1 + name.size());
  return a;
}

SocketAddress SocketAddress::unix_autobind() noexcept {
  SocketAddress a;
  a.addr_.ss_family = AF_UNIX;
  a.size_ = sizeof(sa_family_t);
  return a;
}

Result<SocketAddress> SocketAddress::from_sockaddr(const sockaddr* addr, socklen_t len) {
  if (len > sizeof(sockaddr_storage)) return fail(Errc::invalid_argument, "socket address", {}, "address too long");
  SocketAddress a;
  if (len > 0) std::memcpy(&a.addr_, addr, len);
  a.size_ = len;
  return a;
}

Result<std::vector<SocketAddress>> SocketAddress::resolve(std::string_view host, std::uint16_t port, SocketType type,
                                                          bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = native_type(type);
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  const std::string h(host);
  const std::string service = std::to_string(port);
  auto list = sys::getaddrinfo(h.empty() ? nullptr : h.c_str(), service.c_str(), hints);
  if (!list) return std::unexpected(std::move(list.error()).with_object(fmt::format("{}:{}", h, port)));
  std::unique_ptr<addrinfo, sys::AddrInfoDeleter> owner(*list);
  std::vector<SocketAddress> out;
  for (addrinfo* ai = owner.get(); ai; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    auto a = from_sockaddr(ai->ai_addr, ai->ai_addrlen);
    if (a) out.push_back(*a);
  }
  if (out.empty()) return fail(Errc::system, "getaddrinfo", h, "no IPv4 or IPv6 address");
  return out;
}

int SocketAddress::family() const noexcept { return size_ == 0 ? AF_UNSPEC : addr_.ss_family; }
const sockaddr* SocketAddress::get() const noexcept { return reinterpret_cast<const sockaddr*>(&addr_); }
socklen_t SocketAddress::size() const noexcept { return size_; }

bool SocketAddress::is_unnamed() const noexcept { return family() == AF_UNIX && size_ <= kSunPathOffset; }

bool SocketAddress::is_abstract() const noexcept {
  return family() == AF_UNIX && size_ > kSunPathOffset && reinterpret_cast<const sockaddr_un*>(&addr_)->sun_path[0] == '\0';
}

std::string SocketAddress::unix_name() const {
  if (family() != AF_UNIX || is_unnamed()) return {};
  const auto* un = reinterpret_cast<const sockaddr_un*>(&addr_);
  std::size_t n = size_ - kSunPathOffset;
  if (is_abstract()) return std::string(un->sun_path + 1, n - 1);
  return std::string(un->sun_path, ::strnlen(un->sun_path, n));
}

std::uint16_t SocketAddress::port() const noexcept {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&addr_)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&addr_)->sin6_port);
  return 0;
}

std::string SocketAddress::host() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&addr_)->sin_addr, text, sizeof text);
  } else if (family() == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&addr_)->sin6_addr, text, sizeof text);
  }
  return text;
}

std::string SocketAddress::to_string() const {
  switch (family()) {
    case AF_UNIX:
      if (is_unnamed()) return "(unnamed)";
      // fmt rather than "@" + string: g++ 12 at -O3 reports a false -Wrestrict on the latter.
      return is_abstract() ? fmt::format("@{}", unix_name()) : unix_name();
    case AF_INET: return fmt::format("{}:{}", host(), port());
    case AF_INET6: return fmt::format("[{}]:{}", host(), port());
    default: return "(no address)";
  }
}

// ---- Socket -----------------------------------------------------------------------------

Result<Socket> Socket::create(int family, SocketType type) {
  auto fd = sys::socket(family, native_type(type) | SOCK_NONBLOCK, 0);
  if (!fd) return std::unexpected(std::move(fd.error()));
  return Socket(std::move(*fd), family, type);
}

Result<std::pair<Socket, Socket>> Socket::pair(SocketType type) {
  auto p = sys::socketpair(AF_UNIX, native_type(type) | SOCK_NONBLOCK, 0);
  if (!p) return std::unexpected(std::move(p.error()));
  return std::pair<Socket, Socket>{Socket(std::move(p->first), AF_UNIX, type), Socket(std::move(p->second), AF_UNIX, type)};
}

Result<Socket> Socket::adopt(Fd fd) {
  int domain = 0, type = 0;
  socklen_t len = sizeof domain;
  if (auto r = sys::getsockopt(fd.get(), SOL_SOCKET, SO_DOMAIN, &domain, &len); !r) return std::unexpected(r.error());
  len = sizeof type;
  if (auto r = sys::getsockopt(fd.get(), SOL_SOCKET, SO_TYPE, &type, &len); !r) return std::unexpected(r.error());
  SocketType t;
  switch (type) {
    case SOCK_STREAM: t = SocketType::stream; break;
    case SOCK_DGRAM: t = SocketType::datagram; break;
    case SOCK_SEQPACKET: t = SocketType::seqpacket; break;
    default: return fail(Errc::not_supported, "adopt_socket", {}, fmt::format("socket type {} is not supported", type));
  }
  if (auto r = fd.set_cloexec(true); !r) return std::unexpected(r.error());
  if (auto r = fd.set_nonblocking(true); !r) return std::unexpected(r.error());
  return Socket(std::move(fd), domain, t);
}

Result<void> Socket::set_blocking(bool on) { return fd_.set_nonblocking(!on); }

Result<void> Socket::bind(const SocketAddress& addr) {
  // An abstract name is a new name too (a path goes through bind_path's checks).
  if (addr.get()->sa_family == AF_UNIX) {
    if (auto v = validate_new_name(addr.to_string(), "bind"); !v) return v;
  }
  if (auto r = sys::bind(fd(), addr.get(), addr.size()); !r) return fail(std::move(r.error()).with_object(addr.to_string()));
  return {};
}

Result<void> Socket::listen(int backlog) { return sys::listen(fd(), backlog); }

Result<Socket> Socket::accept(Deadline d, SocketAddress* peer) {
  for (;;) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    auto c = sys::accept4(fd(), reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK);
    if (c) {
      if (peer) {
        auto a = SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
        if (a) *peer = *a;
      }
      return Socket(std::move(*c), family_, type_);
    }
    // ECONNABORTED: a client gave up while queued; wait for the next one.
    if (c.error().code() == ECONNABORTED) continue;
    if (!c.error().would_block()) return std::unexpected(std::move(c.error()));
    if (d.is_immediate()) return fail(Errc::would_block, "accept");
    auto ev = sys::poll_one(fd(), POLLIN, d);
    if (!ev) return std::unexpected(std::move(ev.error()));
    if (*ev == 0) return fail(Errc::timed_out, "accept");
  }
}

Result<void> Socket::connect(const SocketAddress& addr, Deadline d) {
  const std::string object = addr.to_string();
  std::chrono::microseconds step(500);
  for (;;) {
    auto r = sys::connect(fd(), addr.get(), addr.size());
    if (r) return {};
    const int err = r.error().code();
    if (err == EAGAIN && family_ == AF_UNIX) {
      // The listener's backlog is full. Nothing can be polled for its draining.
      if (!pause_until(d, step)) return waited_out(d, "connect", object, "the listener's backlog is full");
      continue;
    }
    if (err != EINPROGRESS && err != EINTR) return fail(std::move(r.error()).with_object(object));
    // The handshake goes on in the kernel: wait for writability, then read its outcome.
    auto ev = sys::poll_one(fd(), POLLOUT, d);
    if (!ev) return fail(std::move(ev.error()).with_object(object));
    if (*ev == 0) return waited_out(d, "connect", object, "no answer before the deadline");
    int so_error = 0;
    socklen_t len = sizeof so_error;
    if (auto g = sys::getsockopt(fd(), SOL_SOCKET, SO_ERROR, &so_error, &len); !g) return std::unexpected(g.error());
    if (so_error != 0) return fail_errno("connect", so_error, object);
    return {};
  }
}

Result<std::size_t> Socket::send(std::span<const std::byte> data, Deadline d, std::span<const int> fds,
                                 const SocketAddress* to) {
  const iovec piece{const_cast<std::byte*>(data.data()), data.size()};
  return sendv(std::span<const iovec>(&piece, 1), d, fds, to);
}

Result<std::size_t> Socket::sendv(std::span<const iovec> pieces, Deadline d, std::span<const int> fds,
                                  const SocketAddress* to) {
  if (fds.size() > kMaxFdsPerMessage) {
    return fail(Errc::invalid_argument, "sendmsg", {},
                fmt::format("{} descriptors in one message; the kernel takes at most {} (SCM_MAX_FD, fixed)",
                            fds.size(), kMaxFdsPerMessage));
  }
  if (!fds.empty() && family_ != AF_UNIX) {
    return fail(Errc::not_supported, "sendmsg", {}, "descriptors pass only over Unix sockets");
  }
  msghdr m{};
  m.msg_iov = const_cast<iovec*>(pieces.data());
  m.msg_iovlen = pieces.size();
  if (to) {
    m.msg_name = const_cast<sockaddr*>(to->get());
    m.msg_namelen = to->size();
  }
  alignas(cmsghdr) unsigned char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)];
  if (!fds.empty()) {
    std::memset(control, 0, sizeof control);
    m.msg_control = control;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* h = CMSG_FIRSTHDR(&m);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(h), fds.data(), sizeof(int) * fds.size());
  }
  std::chrono::microseconds step(500);
  bool was_writable = false;
  for (;;) {
    auto n = sys::sendmsg(fd(), &m, MSG_NOSIGNAL | dontwait(d));
    if (n) return *n;
    if (n.error().code() == ENOTCONN && type_ == SocketType::datagram && !to) {
      // A connected datagram socket whose peer closed: the kernel answers ECONNREFUSED
      // once and drops the association, so every later send finds no peer. Still gone.
      return fail(Errc::peer_gone, "sendmsg", {}, "the peer this socket was connected to is gone (ENOTCONN)");
    }
    if (!n.error().would_block()) return std::unexpected(std::move(n.error()));
    if (d.is_immediate()) return fail(Errc::would_block, "sendmsg");
    if (was_writable) {
      // poll() said writable yet the send would block: an unconnected datagram send to a
      // receiver whose queue is full (poll sees only our own buffer). Pause and retry.
      if (!pause_until(d, step)) return fail(Errc::timed_out, "sendmsg", {}, "the receiver's queue stayed full");
      was_writable = false;
      continue;
    }
    auto ev = sys::poll_one(fd(), POLLOUT, d);
    if (!ev) return std::unexpected(std::move(ev.error()));
    if (*ev == 0) return fail(Errc::timed_out, "sendmsg");
    was_writable = (*ev & POLLOUT) != 0;
  }
}

Result<SocketReceived> Socket::receive(std::span<std::byte> buf, Deadline d, ReceiveFlags f) {
  const iovec piece{buf.data(), buf.size()};
  return receivev(std::span<const iovec>(&piece, 1), d, f);
}

Result<SocketReceived> Socket::receivev(std::span<const iovec> pieces, Deadline d, ReceiveFlags f) {
  alignas(cmsghdr) unsigned char control[kControlSpace];
  for (;;) {
    sockaddr_storage from{};
    msghdr m{};
    m.msg_iov = const_cast<iovec*>(pieces.data());
    m.msg_iovlen = pieces.size();
    m.msg_name = &from;
    m.msg_namelen = sizeof from;
    if (!f.peek) {
      // A peek takes no control space: the kernel then installs no descriptors (they stay
      // with the queued message) and reports MSG_CTRUNC, which a peek ignores.
      m.msg_control = control;
      m.msg_controllen = f.want_fds ? sizeof control : CMSG_SPACE(sizeof(ucred));
    }
    const int flags = dontwait(d) | (f.peek ? MSG_PEEK : 0) | (f.trunc ? MSG_TRUNC : 0);
    auto n = sys::recvmsg(fd(), &m, flags);
    if (!n) {
      if (!n.error().would_block()) return std::unexpected(std::move(n.error()));
      if (d.is_immediate()) return fail(Errc::would_block, "recvmsg");
      auto ev = sys::poll_one(fd(), POLLIN, d);
      if (!ev) return std::unexpected(std::move(ev.error()));
      if (*ev == 0) return fail(Errc::timed_out, "recvmsg");
      continue;
    }
    SocketReceived out;
    out.size = *n;
    out.truncated = (m.msg_flags & MSG_TRUNC) != 0;
    if (m.msg_namelen > 0 && m.msg_namelen <= sizeof from) {
      auto a = SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&from), m.msg_namelen);
      if (a) out.from = *a;
    }
    if (m.msg_control) take_control(m, out, f.want_fds);
    return out;
  }
}

Result<std::size_t> Socket::send_many(std::span<const std::span<const std::byte>> msgs, Deadline d,
                                      const SocketAddress* to) {
  std::size_t sent = 0;
  while (sent < msgs.size()) {
    const std::size_t count = std::min(msgs.size() - sent, kBatchPerCall);
    std::array<mmsghdr, kBatchPerCall> hdr{};
    std::array<iovec, kBatchPerCall> iov{};
    for (std::size_t i = 0; i < count; ++i) {
      const auto msg = msgs[sent + i];
      iov[i] = {const_cast<std::byte*>(msg.data()), msg.size()};
      hdr[i].msg_hdr.msg_iov = &iov[i];
      hdr[i].msg_hdr.msg_iovlen = 1;
      if (to) {
        hdr[i].msg_hdr.msg_name = const_cast<sockaddr*>(to->get());
        hdr[i].msg_hdr.msg_namelen = to->size();
      }
    }
    auto n = sys::sendmmsg(fd(), hdr.data(), static_cast<unsigned>(count), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n && *n > 0) {
      sent += *n;
      continue;
    }
    if (sent > 0) return sent;  // what stopped the rest is for the next call to find
    // An error is sendmsg's, but ENOTCONN, which send() turns into peer_gone (it stays).
    if (!n.error().would_block() && n.error().code() != ENOTCONN) return std::unexpected(std::move(n.error()));
    // No room: send() waits for it (a full receiver's queue too), until the deadline.
    auto one = send(msgs[sent], d, {}, to);
    if (!one) return std::unexpected(std::move(one.error()));
    ++sent;
  }
  return sent;
}

Result<std::size_t> Socket::receive_many(std::span<std::byte> buf, std::size_t slot, std::span<SocketReceived> out,
                                         Deadline d) {
  const bool with_control = family_ == AF_UNIX;
  std::size_t got = 0;
  while (got < out.size()) {
    const std::size_t count = std::min(out.size() - got, kBatchPerCall);
    std::array<mmsghdr, kBatchPerCall> hdr{};
    std::array<iovec, kBatchPerCall> iov{};
    std::array<sockaddr_storage, kBatchPerCall> from;
    // Room for each message's descriptors and credentials, as receive() gives one.
    alignas(cmsghdr) static thread_local unsigned char control[kBatchPerCall][kControlSpace];
    for (std::size_t i = 0; i < count; ++i) {
      iov[i] = {buf.data() + (got + i) * slot, slot};
      msghdr& m = hdr[i].msg_hdr;
      m.msg_iov = &iov[i];
      m.msg_iovlen = 1;
      m.msg_name = &from[i];
      m.msg_namelen = sizeof from[i];
      if (with_control) {
        m.msg_control = control[i];
        m.msg_controllen = kControlSpace;
      }
    }
    auto n = sys::recvmmsg(fd(), hdr.data(), static_cast<unsigned>(count), MSG_DONTWAIT);
    if (!n) {
      if (got > 0) return got;  // an error after some: the next call finds it
      if (!n.error().would_block()) return std::unexpected(std::move(n.error()));
      if (d.is_immediate()) return fail(Errc::would_block, "recvmmsg");
      auto ev = sys::poll_one(fd(), POLLIN, d);
      if (!ev) return std::unexpected(std::move(ev.error()));
      if (*ev == 0) return fail(Errc::timed_out, "recvmmsg");
      continue;
    }
    for (std::size_t i = 0; i < *n; ++i) {
      SocketReceived& r = out[got];
      msghdr& m = hdr[i].msg_hdr;
      r.size = hdr[i].msg_len;
      r.truncated = (m.msg_flags & MSG_TRUNC) != 0;
      r.fds.clear();
      r.fds_lost = false;
      r.credentials.reset();
      r.from = {};
      if (m.msg_namelen > 0 && m.msg_namelen <= sizeof from[i]) {
        auto a = SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&from[i]), m.msg_namelen);
        if (a) r.from = *a;
      }
      if (with_control) take_control(m, r, true);
      ++got;
      // The end of a connection reads as 0 bytes, again and again: it ends the batch.
      if (r.size == 0 && !r.truncated && type_ != SocketType::datagram) return got;
    }
    if (*n < count) return got;  // nothing more is queued
  }
  return got;
}

Result<PeerCredentials> Socket::peer_credentials() const {
  ucred c{};
  socklen_t len = sizeof c;
  if (auto r = sys::getsockopt(fd(), SOL_SOCKET, SO_PEERCRED, &c, &len); !r) return std::unexpected(r.error());
  return PeerCredentials{c.pid, c.uid, c.gid};
}

Result<SocketAddress> Socket::local_address() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (auto r = sys::getsockname(fd(), reinterpret_cast<sockaddr*>(&ss), &len); !r) return std::unexpected(r.error());
  return SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

Result<SocketAddress> Socket::peer_address() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (auto r = sys::getpeername(fd(), reinterpret_cast<sockaddr*>(&ss), &len); !r) return std::unexpected(r.error());
  return SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

Result<void> Socket::shutdown(int how) { return sys::shutdown(fd(), how); }

Result<void> Socket::set_option(int level, int name, int value) {
  return sys::setsockopt(fd(), level, name, &value, sizeof value);
}

Result<int> Socket::get_option(int level, int name) const {
  int v = 0;
  socklen_t len = sizeof v;
  if (auto r = sys::getsockopt(fd(), level, name, &v, &len); !r) return std::unexpected(r.error());
  return v;
}

Result<void> Socket::set_nodelay(bool on) { return set_option(IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0); }
Result<void> Socket::set_keepalive(bool on) { return set_option(SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0); }
Result<void> Socket::set_pass_credentials(bool on) { return set_option(SOL_SOCKET, SO_PASSCRED, on ? 1 : 0); }

Result<void> Socket::set_send_buffer(std::size_t bytes) {
  if (bytes > INT_MAX / 2) return fail(Errc::invalid_argument, "setsockopt(SO_SNDBUF)", {}, "above 1 GiB");
  return set_option(SOL_SOCKET, SO_SNDBUF, static_cast<int>(bytes));
}
Result<void> Socket::set_receive_buffer(std::size_t bytes) {
  if (bytes > INT_MAX / 2) return fail(Errc::invalid_argument, "setsockopt(SO_RCVBUF)", {}, "above 1 GiB");
  return set_option(SOL_SOCKET, SO_RCVBUF, static_cast<int>(bytes));
}
Result<std::size_t> Socket::send_buffer() const {
  auto v = get_option(SOL_SOCKET, SO_SNDBUF);
  if (!v) return std::unexpected(std::move(v.error()));
  return static_cast<std::size_t>(*v);
}
Result<std::size_t> Socket::receive_buffer() const {
  auto v = get_option(SOL_SOCKET, SO_RCVBUF);
  if (!v) return std::unexpected(std::move(v.error()));
  return static_cast<std::size_t>(*v);
}

// ---- SocketPath and bind_path -------------------------------------------------------------

SocketPath::SocketPath(std::string path, const struct stat& st)
    : path_(std::move(path)), dev_(st.st_dev), ino_(st.st_ino), ctime_(st.st_ctim) {}

SocketPath::SocketPath(SocketPath&& o) noexcept
    : path_(std::exchange(o.path_, {})), dev_(o.dev_), ino_(o.ino_), ctime_(o.ctime_) {}

SocketPath& SocketPath::operator=(SocketPath&& o) noexcept {
  if (this != &o) {
    SocketPath old(std::move(*this));
    path_ = std::exchange(o.path_, {});
    dev_ = o.dev_;
    ino_ = o.ino_;
    ctime_ = o.ctime_;
  }
  return *this;
}

SocketPath::~SocketPath() {
  if (path_.empty()) return;
  auto st = sys::lstat(path_.c_str());
  if (st && S_ISSOCK(st->st_mode) && st->st_dev == dev_ && st->st_ino == ino_ && st->st_ctim.tv_sec == ctime_.tv_sec &&
      st->st_ctim.tv_nsec == ctime_.tv_nsec) {
    (void)sys::unlink(path_.c_str());
  }
}

Result<SocketPath> bind_path(Socket& s, const std::string& path, unsigned mode) {
  if (auto v = validate_path(path, "bind"); !v) return std::unexpected(v.error());
  if (auto v = validate_new_name(path, "bind"); !v) return std::unexpected(v.error());
  auto addr = SocketAddress::unix_path(path);
  if (!addr) return std::unexpected(std::move(addr.error()));
  // Linux creates the socket file with the socket inode's mode less the umask, so setting
  // it first means the file is never more open than asked, not even for an instant.
  if (auto r = sys::fchmod(s.fd(), mode & 07777); !r) return fail(std::move(r.error()).with_object(path));
  for (int attempt = 0;; ++attempt) {
    auto b = sys::bind(s.fd(), addr->get(), addr->size());
    if (b) break;
    if (b.error().code() != EADDRINUSE || attempt > 0) return fail(std::move(b.error()).with_object(path));
    auto st = sys::lstat(path.c_str());
    if (!st) {
      if (st.error().code() == ENOENT) continue;  // removed meanwhile: just bind
      return std::unexpected(std::move(st.error()));
    }
    if (!S_ISSOCK(st->st_mode)) {
      return fail(Error::from_errno("bind", EADDRINUSE, path)
                      .with_detail("the path exists and is not a socket; it was left alone"));
    }
    // Probe: does anything answer there?
    auto probe = Socket::create(AF_UNIX, s.type());
    if (!probe) return std::unexpected(std::move(probe.error()));
    auto c = probe->connect(*addr, Deadline::immediate());
    const int err = c ? 0 : c.error().code();
    if (c || err == EAGAIN) {
      return fail(Error::from_errno("bind", EADDRINUSE, path)
                      .with_detail("another process listens there (a connect to it succeeded); stop it or "
                                   "choose another path"));
    }
    if (err == EPROTOTYPE) {
      return fail(Error::from_errno("bind", EADDRINUSE, path)
                      .with_detail(fmt::format("another process listens there (with a socket that is not {})",
                                               to_string(s.type()))));
    }
    if (err == ECONNREFUSED) {
      // Stale: a socket file whose owner is gone.
      if (auto u = sys::unlink(path.c_str()); !u && u.error().code() != ENOENT) return std::unexpected(u.error());
      continue;
    }
    if (err == ENOENT) continue;
    return fail(Error::from_errno("bind", EADDRINUSE, path)
                    .with_detail(fmt::format("a socket file is there and probing it failed ({}); it was left alone",
                                             c.error().message())));
  }
  // bind() applied the umask; set exactly the mode asked for.
  if (auto r = sys::chmod(path.c_str(), mode & 07777); !r) {
    (void)sys::unlink(path.c_str());
    return std::unexpected(std::move(r.error()));
  }
  auto st = sys::lstat(path.c_str());
  if (!st) return std::unexpected(std::move(st.error()));
  return SocketPath(path, *st);
}

// ---- runtime_directory --------------------------------------------------------------------

namespace {

bool owned_directory(const std::string& dir) {
  auto st = sys::lstat(dir.c_str());
  return st && S_ISDIR(st->st_mode) && st->st_uid == ::geteuid();
}

}  // namespace

Result<std::string> runtime_directory() {
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg && xdg[0] == '/' && owned_directory(xdg)) return std::string(xdg);
  std::string run = fmt::format("/run/user/{}", ::geteuid());
  if (owned_directory(run)) return run;
  std::string tmp = fmt::format("/tmp/ipcx-{}", ::geteuid());
  if (auto m = sys::mkdir(tmp.c_str(), 0700); !m && m.error().code() != EEXIST) return std::unexpected(m.error());
  auto st = sys::lstat(tmp.c_str());
  if (!st) return std::unexpected(std::move(st.error()));
  if (!S_ISDIR(st->st_mode) || st->st_uid != ::geteuid() || (st->st_mode & 077) != 0) {
    return fail(Errc::invalid_argument, "runtime_directory", tmp,
                fmt::format("it is {} owned by uid {} with mode {:04o}; a private runtime directory must be a "
                            "directory owned by uid {} with mode 0700 — remove it or set XDG_RUNTIME_DIR",
                            S_ISDIR(st->st_mode) ? "a directory" : "not a directory", st->st_uid,
                            st->st_mode & 07777, ::geteuid()));
  }
  return tmp;
}

}  // namespace ipcx
