// SPDX-License-Identifier: MIT
// The Channels and the Listener over sockets (socket.hpp describes what they do), and the
// URL options the unix*, tcp and udp openers share.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "framing.hpp"
#include "ipcx/detail/transport.hpp"
#include "ipcx/socket.hpp"

namespace ipcx::detail {

inline constexpr std::uint32_t kRefusalMarker = 0xffffffffu;  // framed refusal: never a valid length
inline constexpr std::size_t kRefusalReasonMax = 4096;

// allow_uid / allow_gid: a peer passes if its uid or its gid is listed.
struct AllowList {
  std::vector<uid_t> uids;
  std::vector<gid_t> gids;
  std::string text;  // as the URL said it, for errors: "allow_uid=0,1000"

  bool empty() const noexcept { return uids.empty() && gids.empty(); }
  bool allows(const PeerCredentials& c) const noexcept;
};

// The URL options of the socket schemes, parsed and checked.
struct SocketUrlOptions {
  bool raw = false;
  std::optional<std::uint64_t> max;
  unsigned mode = 0600;
  bool mode_given = false;
  std::string dir;  // resolved; empty: the URL's path as it is
  AllowList allow;
  // An abstract listener with no allow-list: only its own user (an abstract name has no
  // file mode, so the credential check is the guard). Used by accept only.
  bool owner_only = false;
  bool nodelay = true;
  bool keepalive = false;
  std::size_t sndbuf = 0;
  std::size_t rcvbuf = 0;
  std::optional<std::chrono::nanoseconds> timeout;
  bool wait = false;
  int backlog = SOMAXCONN;

  Deadline connect_deadline() const;
};
Result<SocketUrlOptions> parse_socket_options(const Url& url);
// The query options worth passing to the other side (framing, max), as "?a=b&c=d" or "".
std::string peer_query(const Url& url);
// Applies sndbuf / rcvbuf (and, for TCP, nodelay / keepalive).
Result<void> apply_socket_options(Socket& s, const SocketUrlOptions& o);
// Connects a fresh socket to each address in turn (a unixgram one autobound first); if
// none answers and `wait` is set, starts again until the `timeout`.
Result<Socket> connect_with_retry(std::span<const SocketAddress> addrs, SocketType type, const SocketUrlOptions& o,
                                  const std::string& object);

// The part every socket channel shares.
class SocketChannel : public ChannelImpl {
 public:
  int pollable_fd() const noexcept override { return sock_.fd(); }
  std::size_t max_message_size() const noexcept override { return max_; }
  std::optional<PeerCredentials> peer() const override { return peer_; }
  const Socket& socket() const noexcept { return sock_; }
  // A socket file this channel bound (bound unixgram); unlinked when the channel closes.
  void own_path(SocketPath p) { path_ = std::move(p); }

 protected:
  SocketChannel(Socket s, std::size_t max, std::string object, std::optional<PeerCredentials> peer)
      : sock_(std::move(s)), max_(max), object_(std::move(object)), peer_(peer) {
    // Connected or bound: from here a receive or send with no deadline waits inside its
    // one system call, as the plain blocking loop does (Socket::set_blocking); finite
    // deadlines pass MSG_DONTWAIT. fcntl cannot fail on an open descriptor, and if it did
    // the socket would stay non-blocking, which only costs a poll.
    (void)sock_.set_blocking(true);
  }

  std::unexpected<Error> refused(const char* op, std::string_view reason) const;
  std::unexpected<Error> with_context(Error e) const;

  SocketPath path_;  // declared before sock_: the file goes before the socket closes
  Socket sock_;
  std::size_t max_;
  std::string object_;
  std::optional<PeerCredentials> peer_;
};

// Unix stream and TCP: length-framed messages through the frame codec (framing.hpp), with
// the descriptors of each frame matched back to it, or raw bytes. Nothing is consumed until
// a whole message is in hand, so a timeout or a short buffer can be retried. One thread at
// a time: a failed send reads what the peer sent to learn whether it was refused.
class StreamSocketChannel final : public SocketChannel {
 public:
  // `connecting`: this side connected, so a refusal from the listener may arrive.
  StreamSocketChannel(Socket s, bool raw, std::size_t max, std::string object, bool connecting,
                      std::optional<PeerCredentials> peer);

  Result<void> send(std::span<const std::byte> msg, Deadline d, const SendOptions& o) override;
  Result<Received> receive(std::span<std::byte> buf, Deadline d, const ReceiveOptions& o) override;
  Result<Message> receive_message(Deadline d, const ReceiveOptions& o) override;
  // Framed: the frame codec's batches (one write, one read for many frames); raw: the
  // defaults.
  BatchSent send_batch(std::span<const std::span<const std::byte>> msgs, Deadline d, const SendOptions& o) override;
  Result<std::size_t> receive_batch(MessageBatch& batch, Deadline d, const ReceiveOptions& o) override;

 private:
  // The connection as the codec reads and writes it: recvmsg and sendmsg, with descriptors.
  class End final : public StreamEnd {
   public:
    explicit End(Socket& s) noexcept
        : StreamEnd(Names{"the peer", "the peer", "connection", "option max"}), sock_(s) {}
    Result<Chunk> read(std::span<std::byte> buf, Deadline d) override;
    Result<std::size_t> write(std::span<const iovec> pieces, std::span<const int> fds, Deadline d) override;
    void broken() noexcept override;

   private:
    Socket& sock_;
  };

  Result<void> check_refusal(Deadline d);
  std::unexpected<Error> send_failed(Error e);
  std::unexpected<Error> fds_lost() const;
  Result<Received> receive_raw(std::span<std::byte> buf, Deadline d);

  bool raw_;
  bool connecting_;
  End end_;
  FrameCodec codec_;
  std::vector<FrameCodec::Frame> batch_frames_;  // receive_batch's, reused
};

// Unix datagram and seqpacket, and UDP: one datagram or packet is one message. One thread
// at a time (a receive records the sender that a send answers).
//
// A receive is one recvmsg, into the caller's buffer and, past its end, into the channel's
// spill buffer, so that together they hold `max` bytes (no peek for the size first). A
// message that does not fit the caller's buffer is then held by the channel, with its
// descriptors, and handed to the next receive whose buffer takes it (message_too_large
// until then): it stays queued as the contract says, in the channel instead of the socket.
// A poll on pollable_fd() does not see a held message; the receive that failed said so.
class PacketSocketChannel final : public SocketChannel {
 public:
  // `connected`: sends go to the connected peer; otherwise to the last sender.
  // `udp_limit`: the UDP payload limit of this socket's family, 0 for Unix sockets.
  PacketSocketChannel(Socket s, std::size_t max, std::string object, bool connected, bool connecting,
                      std::optional<PeerCredentials> peer, std::size_t udp_limit);

  Result<void> send(std::span<const std::byte> msg, Deadline d, const SendOptions& o) override;
  Result<Received> receive(std::span<std::byte> buf, Deadline d, const ReceiveOptions& o) override;
  Result<Message> receive_message(Deadline d, const ReceiveOptions& o) override;
  // sendmmsg / recvmmsg (the latter for slots of at least max_message_size(); smaller
  // ones take the default, one receive per message).
  BatchSent send_batch(std::span<const std::span<const std::byte>> msgs, Deadline d, const SendOptions& o) override;
  Result<std::size_t> receive_batch(MessageBatch& batch, Deadline d, const ReceiveOptions& o) override;

 private:
  // A message the caller's buffer could not take, with what came with it.
  struct Held {
    std::vector<std::byte> data;
    std::vector<Fd> fds;
    bool fds_lost = false;
  };

  Result<Received> receive_into(std::span<std::byte> buf, Deadline d);
  Result<Received> deliver_held(std::span<std::byte> buf);
  Result<void> check_first_packet(std::span<const std::byte> data);
  // Whether this channel takes `msg` (size, zero length, a destination), and where to.
  Result<const SocketAddress*> check_send(std::span<const std::byte> msg) const;
  std::unexpected<Error> send_failed(Error e, std::size_t size, const SocketAddress* to);
  std::unexpected<Error> receive_failed(Error e);
  Result<void> pending_refusal();

  std::vector<std::byte> spill_;  // where a message longer than the caller's buffer goes on
  std::optional<Held> held_;
  bool connected_;
  bool check_refusal_;  // seqpacket, connecting side: the first packet may be a refusal
  std::size_t udp_limit_;
  SocketAddress reply_to_;
  bool heard_from_anyone_ = false;
  std::optional<Error> broken_;
  std::vector<SocketReceived> batch_received_;  // receive_batch's, reused
  std::optional<Error> batch_error_;            // a datagram a batch had to drop, said at the next
};

// The accepting side of unix, unixpacket and tcp.
class SocketListener final : public ListenerImpl {
 public:
  SocketListener(Socket s, SocketPath path, SocketUrlOptions o, std::string object, std::string local_url);

  Result<Channel> accept(Deadline d) override;
  int pollable_fd() const noexcept override { return sock_.fd(); }
  std::string local_url() const override { return local_url_; }

 private:
  void send_refusal(Socket& c, const std::string& reason);

  SocketPath path_;
  Socket sock_;
  SocketUrlOptions o_;
  std::string object_;
  std::string local_url_;
};

// The channel for a connected (or pair) socket of any type.
std::unique_ptr<ChannelImpl> make_connected_channel(Socket s, bool raw, std::size_t max, std::string object,
                                                    bool connecting, std::optional<PeerCredentials> peer);
// The default `max` for a socket: kDefaultMaxMessage (64 MiB) for streams; SO_SNDBUF - 32 for Unix datagram
// and seqpacket (what unix_dgram_sendmsg takes); the payload limit for UDP.
std::size_t default_max(const Socket& s);
std::size_t udp_limit(int family) noexcept;
// The URL of a socket address: "unix:///p", "unixgram:@n", "tcp://[::1]:80"...
std::string url_for(const SocketAddress& a, SocketType type);

}  // namespace ipcx::detail
