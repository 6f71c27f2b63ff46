// SPDX-License-Identifier: MIT
// Sockets: Unix stream, datagram and seqpacket (path, abstract name, unnamed pair), TCP
// and UDP — the wrapper under the unix://, unixgram://, unixpacket://, tcp:// and udp://
// Channels, with descriptor passing (SCM_RIGHTS) and peer credentials (SO_PEERCRED).
//
//   auto l = ipcx::Listener::listen("unix:@demo?allow_uid=1000");  // others are refused
//   auto c = l->accept();                  // c->peer(): pid, uid and gid of the client
//   int fds[] = {memfd}; c->send(ipcx::as_bytes("hi"), ipcx::Deadline::never(), {.fds = fds});
//
// Two levels:
//  - Socket, SocketAddress, bind_path(): one call each, for a user who wants the sockets
//    themselves. Every socket is made non-blocking and close-on-exec; every wait is a
//    poll() against a Deadline, except a send or receive with Deadline::never() on a
//    socket made blocking (set_blocking), which waits inside its one system call.
//  - Channels (through Channel::open / Channel::bind / Listener::listen with a URL, or
//    make_socket_pair / adopt_socket here): whole messages, as channel.hpp describes.
//
// Channel URLs and their options (every option is checked; an unknown one is an error):
//   unix:///PATH  unix:@NAME           stream, length-framed messages (or raw bytes)
//   unixpacket:///PATH  unixpacket:@NAME  seqpacket: one packet is one message
//   unixgram:///PATH  unixgram:@NAME   datagram: one datagram is one message
//   tcp://HOST:PORT                    stream, length-framed messages (or raw bytes)
//   udp://HOST:PORT                    datagram; HOST is an IPv4 literal, [IPv6] or a name
//
//   framing=frame|raw  stream schemes: a 4-byte little-endian length before each message
//                      (default), or raw bytes for talking to socat, nc or any server: send
//                      writes the bytes as they are and a receive returns what one read
//                      delivers. Datagram schemes accept both; each datagram is a message.
//   max=SIZE           largest message (k/m/g suffixes). Stream: 64m by default, below
//                      4 GiB; a frame announcing more closes the connection with an error
//                      before anything is allocated. unixgram/unixpacket: by default what
//                      the kernel takes (SO_SNDBUF - 32). udp: 65,507 (IPv4) / 65,527 (IPv6).
//   timeout=SECONDS    bound on connecting (decimal, e.g. 0.5); default: the kernel's own
//                      (immediate for Unix sockets, minutes for TCP).
//   wait=1             keep retrying a connect while nobody listens (ENOENT, ECONNREFUSED,
//                      a full backlog) until `timeout`; default 0: fail at once.
//   sndbuf=SIZE rcvbuf=SIZE   SO_SNDBUF / SO_RCVBUF (capped by net.core.wmem_max/rmem_max).
//   backlog=N          listen() backlog (default SOMAXCONN).
//   Unix paths:
//   mode=0600          permissions of the socket file this side binds (owner-only by
//                      default; connecting needs write permission). The file is created
//                      with at most this mode (fchmod before bind) and then set exactly.
//   dir=DIR|runtime    the URL's path is taken inside DIR (unix:///app.sock?dir=/run/app
//                      is /run/app/app.sock); `runtime` is the per-user runtime directory
//                      (runtime_directory() below). DIR must exist.
//   allow_uid=LIST allow_gid=LIST   unix and unixpacket: comma-separated uids/gids (or user
//                      and group names). On a listener, a client whose uid is in allow_uid
//                      or whose gid is in allow_gid is accepted; any other is refused with
//                      an error on both sides (see "Refusal" below). On the connecting side,
//                      the listener's own credentials must pass the list.
//   TCP only:
//   nodelay=1          TCP_NODELAY (default on: messages go out at once).
//   keepalive=0        SO_KEEPALIVE.
//
// Datagram schemes: Channel::bind binds the address and receives from anyone; its sends go
// to the last sender it received from. Channel::open binds an automatic local address (an
// abstract autobind name for unixgram, an ephemeral port for udp) and connects, so replies
// find their way and only the peer's datagrams arrive. A datagram larger than the receive
// buffer is never delivered cut short: the size is learnt with MSG_PEEK|MSG_TRUNC, the
// receive fails with message_too_large and Error::size(), and the datagram stays queued. A
// datagram above the channel's `max` (only a foreign sender can make one) is discarded
// with an error. unixpacket cannot carry zero-length messages (a zero-length read is the
// end of the connection); unixgram and udp can.
//
// Stale paths: binding a path where a socket file exists first connects to it. If nothing
// answers (ECONNREFUSED) the file is stale and is replaced; if something does, bind fails
// with "another process listens there" and the file is left alone. A file that is not a
// socket is never removed. The socket file is unlinked when its listener or bound channel
// closes, if it is still the same file.
//
// Descriptor passing (Unix sockets only): SendOptions::fds goes with the message, up to
// kMaxFdsPerMessage; Received::fds / Message::fds own what arrived (close-on-exec). On a
// stream socket the descriptors ride with the first byte of their frame and are matched
// back to it. A receive that fails because the buffer is short leaves the message and its
// descriptors queued. If the kernel could not deliver all of them (MSG_CTRUNC, usually
// RLIMIT_NOFILE), the receive fails, the descriptors that did arrive are closed and the
// message is dropped.
//
// Refusal: a refused client gets, before the listener closes, a refusal it reports as an
// EACCES error whose detail starts "refused by the listener": on a framed stream a frame
// whose length field is 0xFFFFFFFF (never a valid length) followed by a 4-byte length and
// the reason; on unixpacket a first packet starting with the 16 bytes kRefusalMagic; in raw
// mode one text line "ipcx: refused by the listener: ...\n". The listener's accept() fails
// with EACCES naming the peer; the listener stays usable.
//
// Peer credentials: Channel::peer() on unix and unixpacket channels (accepted, connected
// or pair) is SO_PEERCRED, taken when the connection was made. On unixgram it is the sender
// of the last datagram received (SO_PASSCRED). TCP and UDP have none.
//
// pollable_fd() is the socket. A framed stream channel reads what is there, so it may hold
// whole messages the descriptor no longer signals: after a wake-up, receive with
// try_receive until would_block before waiting again.
//
// Thread-safety: a socket Channel, Listener or Socket is used by one thread at a time.
#pragma once

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ipcx/deadline.hpp"
#include "ipcx/error.hpp"
#include "ipcx/fd.hpp"
#include "ipcx/message.hpp"  // PeerCredentials

namespace ipcx {

enum class SocketType : std::uint8_t { stream, datagram, seqpacket };
std::string_view to_string(SocketType) noexcept;

// SCM_MAX_FD in the kernel (include/net/scm.h): descriptors one message can carry. Not a
// tunable; send more in several messages.
inline constexpr std::size_t kMaxFdsPerMessage = 253;
// Payload limits of one UDP datagram: 65,535 less the 8-byte UDP header and the 20-byte
// IPv4 header; IPv6 has no header inside its 65,535-byte payload length.
inline constexpr std::size_t kUdpMaxPayloadIPv4 = 65507;
inline constexpr std::size_t kUdpMaxPayloadIPv6 = 65527;
// The first 16 bytes of a unixpacket refusal (see "Refusal" above).
inline constexpr std::string_view kRefusalMagic{"\xffipcx-refused\xff\xff", 16};

// A socket address: a Unix path, abstract name or no name; IPv4 or IPv6. Value type.
class SocketAddress {
 public:
  SocketAddress() noexcept;
  static Result<SocketAddress> unix_path(std::string_view path);
  static Result<SocketAddress> unix_abstract(std::string_view name);
  // An AF_UNIX address with no name: bind() to it picks a unique abstract name (autobind).
  static SocketAddress unix_autobind() noexcept;
  static Result<SocketAddress> from_sockaddr(const sockaddr* addr, socklen_t len);
  // getaddrinfo: every address for HOST (a literal or a name) and PORT, in the resolver's
  // order. `passive` for binding (an empty host then means every interface).
  static Result<std::vector<SocketAddress>> resolve(std::string_view host, std::uint16_t port, SocketType type,
                                                    bool passive = false);

  int family() const noexcept;  // AF_UNSPEC when empty
  const sockaddr* get() const noexcept;
  socklen_t size() const noexcept;
  bool empty() const noexcept { return size_ == 0; }
  bool is_abstract() const noexcept;
  bool is_unnamed() const noexcept;  // AF_UNIX with no name (an unbound or autobind-less peer)
  std::string unix_name() const;     // the path, or the abstract name without its '\0'
  std::uint16_t port() const noexcept;
  std::string host() const;          // numeric host of an inet address, without brackets
  // "/run/x.sock", "@name", "(unnamed)", "127.0.0.1:80", "[::1]:80".
  std::string to_string() const;

 private:
  sockaddr_storage addr_;
  socklen_t size_ = 0;
};

// What one recvmsg got.
struct SocketReceived {
  std::size_t size = 0;      // bytes of the message; with ReceiveFlags::trunc its full length
  bool truncated = false;    // MSG_TRUNC: the datagram did not fit the buffer
  std::vector<Fd> fds;       // SCM_RIGHTS, owned and close-on-exec
  bool fds_lost = false;     // MSG_CTRUNC: not every descriptor arrived; those that did are closed
  std::optional<PeerCredentials> credentials;  // SCM_CREDENTIALS (with SO_PASSCRED)
  SocketAddress from;        // the sender (datagram sockets)
};

// One socket descriptor and what it is. Move-only; the descriptor closes with it.
class Socket {
 public:
  // socket(2), non-blocking and close-on-exec.
  static Result<Socket> create(int family, SocketType type);
  // socketpair(AF_UNIX): two connected sockets.
  static Result<std::pair<Socket, Socket>> pair(SocketType type);
  // Takes an open socket descriptor (inherited, received, or from systemd), learns its
  // family and type, and makes it non-blocking and close-on-exec.
  static Result<Socket> adopt(Fd fd);

  Socket() = default;
  Socket(Fd fd, int family, SocketType type) noexcept : fd_(std::move(fd)), family_(family), type_(type) {}

  int fd() const noexcept { return fd_.get(); }
  bool valid() const noexcept { return fd_.valid(); }
  int family() const noexcept { return family_; }
  SocketType type() const noexcept { return type_; }
  Fd release() noexcept { return std::move(fd_); }

  // O_NONBLOCK off (on: false). send, sendv and receive with Deadline::never() then wait
  // inside their one system call instead of EAGAIN, poll(2) and a second call; every other
  // deadline passes MSG_DONTWAIT, so it is kept exactly in either mode. accept and connect
  // want the socket non-blocking (their deadlines rely on it). The Channels over a socket
  // make it blocking once it is connected or bound.
  Result<void> set_blocking(bool on);

  Result<void> bind(const SocketAddress& addr);
  Result<void> listen(int backlog = SOMAXCONN);
  // accept4: waits until a connection arrives or the deadline passes (timed_out;
  // would_block for an immediate deadline). The new socket is non-blocking, close-on-exec.
  Result<Socket> accept(Deadline d, SocketAddress* peer = nullptr);
  // A non-blocking connect, then a wait for the handshake until the deadline. A Unix
  // listener with a full backlog answers EAGAIN: that is retried (with a short growing
  // pause, as nothing can be polled for it) until the deadline.
  Result<void> connect(const SocketAddress& addr, Deadline d);

  // One sendmsg with MSG_NOSIGNAL (a gone peer is an error, never SIGPIPE). Waits until
  // some bytes can go or the deadline passes, and returns how many went (a stream socket
  // may take only part). `fds` (Unix sockets) ride with the first byte; `to` addresses an
  // unconnected datagram socket.
  Result<std::size_t> send(std::span<const std::byte> data, Deadline d, std::span<const int> fds = {},
                           const SocketAddress* to = nullptr);
  // The same with the bytes gathered from several pieces (one sendmsg).
  Result<std::size_t> sendv(std::span<const iovec> pieces, Deadline d, std::span<const int> fds = {},
                            const SocketAddress* to = nullptr);

  struct ReceiveFlags {
    bool peek = false;        // MSG_PEEK: leave the message queued (descriptors are not taken)
    bool trunc = false;       // MSG_TRUNC: datagrams report their full length in `size`
                              // (never on TCP, where MSG_TRUNC discards the bytes)
    bool want_fds = true;     // give room for SCM_RIGHTS (false: any that came are dropped)
  };
  // One recvmsg, waiting until something arrives or the deadline passes. A return of 0
  // bytes on a stream or seqpacket socket is the end of the connection. On MSG_CTRUNC (not
  // every descriptor could be received, usually RLIMIT_NOFILE) the descriptors that did
  // arrive are closed and `fds_lost` is set; the bytes are returned, so a stream stays in
  // step, and the Channels turn it into an error for that message.
  Result<SocketReceived> receive(std::span<std::byte> buf, Deadline d, ReceiveFlags f);
  Result<SocketReceived> receive(std::span<std::byte> buf, Deadline d) { return receive(buf, d, ReceiveFlags{}); }
  // The same, scattering the bytes over several pieces in order (one recvmsg).
  Result<SocketReceived> receivev(std::span<const iovec> pieces, Deadline d, ReceiveFlags f);

  // Several datagrams (or seqpacket packets) in as few calls as the kernel takes
  // (sendmmsg / recvmmsg, up to kBatchPerCall a call). send_many sends msgs in order, each
  // to `to` if given, waiting until the deadline for room, and returns how many went; an
  // error comes back only when the first could not go (the kernel keeps a later one for
  // the next call). receive_many waits until the deadline for one datagram, then takes
  // those already queued, up to out.size(), each into its `slot` bytes of `buf` (a longer
  // one is cut: MSG_TRUNC sets `truncated`); a stream or seqpacket end of connection is an
  // entry of size 0, and ends what it returns. `out`'s entries are reused (their fds
  // cleared).
  static constexpr std::size_t kBatchPerCall = 32;
  Result<std::size_t> send_many(std::span<const std::span<const std::byte>> msgs, Deadline d,
                                const SocketAddress* to = nullptr);
  Result<std::size_t> receive_many(std::span<std::byte> buf, std::size_t slot, std::span<SocketReceived> out,
                                   Deadline d);

  Result<PeerCredentials> peer_credentials() const;  // SO_PEERCRED
  Result<SocketAddress> local_address() const;       // getsockname
  Result<SocketAddress> peer_address() const;        // getpeername
  Result<void> shutdown(int how);                    // SHUT_RD, SHUT_WR, SHUT_RDWR

  Result<void> set_option(int level, int name, int value);
  Result<int> get_option(int level, int name) const;
  Result<void> set_nodelay(bool on);           // TCP_NODELAY
  Result<void> set_keepalive(bool on);         // SO_KEEPALIVE
  Result<void> set_pass_credentials(bool on);  // SO_PASSCRED
  // SO_SNDBUF / SO_RCVBUF; the kernel doubles the value and caps it at
  // net.core.wmem_max / rmem_max. The getters return what the kernel set.
  Result<void> set_send_buffer(std::size_t bytes);
  Result<void> set_receive_buffer(std::size_t bytes);
  Result<std::size_t> send_buffer() const;
  Result<std::size_t> receive_buffer() const;

 private:
  Fd fd_;
  int family_ = 0;
  SocketType type_ = SocketType::stream;
};

// A socket file this process bound. Move-only: when dropped it unlinks the path, if the
// path still names the file it bound (same device, inode and change time: tmpfs reuses
// inode numbers), so a file another process has put there since is left alone.
class SocketPath {
 public:
  SocketPath() = default;
  SocketPath(std::string path, const struct stat& st);
  SocketPath(SocketPath&& o) noexcept;
  SocketPath& operator=(SocketPath&& o) noexcept;
  SocketPath(const SocketPath&) = delete;
  SocketPath& operator=(const SocketPath&) = delete;
  ~SocketPath();

  const std::string& path() const noexcept { return path_; }
  bool owns() const noexcept { return !path_.empty(); }  // fd.hpp
  // Keeps the file: nothing is unlinked when this is dropped.
  void keep() noexcept { path_.clear(); }

 private:
  std::string path_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  timespec ctime_{};
};

// Binds `s` (a Unix socket) to a filesystem path, creating the socket file with exactly
// `mode`. If a socket file is already there it is probed (a connect of the same type): a
// live one is an error saying another process listens there; a stale one is unlinked and
// the bind retried once. Anything that is not a socket is an error and is left alone.
Result<SocketPath> bind_path(Socket& s, const std::string& path, unsigned mode = 0600);

// The per-user runtime directory: $XDG_RUNTIME_DIR if it is an absolute directory owned by
// this user; else /run/user/UID if it is; else /tmp/ipcx-UID, created 0700 if missing and
// refused if it is a symlink, not ours, or open to group or others.
Result<std::string> runtime_directory();

// Channels over sockets made without a URL (make_socket_pair, adopt_socket) and the
// socket under a Channel (socket_fd, local_url) are in channel.hpp.

}  // namespace ipcx
