// SPDX-License-Identifier: MIT
// ipcx::Channel — one message API over every transport, addressed by URL.
//
//   auto ch = ipcx::Channel::open("fifo:///tmp/demo?create=1");
//   if (!ch) die(ch.error().message());
//   ch->send(ipcx::as_bytes("hello"));
//   std::array<std::byte, 4096> buf;
//   auto r = ch->receive_for(buf, 100ms);     // r->size bytes in buf, or an Error
//   if (!r && r.error().timed_out()) …;       // would_block / timed_out / peer_gone
//
// Messages are whole: boundaries are kept, and a message larger than the receiver's buffer
// or the transport's limit is an error that says both sizes (Errc::message_too_large),
// never a silent truncation. When a receive fails because the buffer is short, the message
// stays queued: call again with a buffer of Error::size() bytes, or use receive_message().
// Every blocking call takes a Deadline: plain = forever, _for = duration, _until = time
// point, try_ = never blocks. pollable_fd() joins an epoll loop.
//
// Connection-oriented transports (unix, unixpacket, tcp) are accepted with a Listener;
// Channel::open connects. Datagram receivers (unixgram, udp) use Channel::bind. For the
// other schemes open() and bind() are the same. The full feature set of each mechanism
// lives in its own wrapper (posix_mq.hpp, sysv_mq.hpp, socket.hpp, …); the Channel is a
// convenience over them, never a replacement.
//
// Thread-safety: a Channel is used by one thread at a time (one sender thread and one
// receiver thread at once is safe only where a transport says so).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "ipcx/deadline.hpp"
#include "ipcx/error.hpp"
#include "ipcx/fd.hpp"
#include "ipcx/message.hpp"  // as_bytes, as_text, PeerCredentials
#include "ipcx/socket.hpp"   // Socket, SocketType: the socket Channels made without a URL
#include "ipcx/url.hpp"

namespace ipcx {

class RingProducer;
class RingConsumer;

namespace detail {
class ChannelImpl;
class ListenerImpl;
struct ChannelAccess;  // transport.hpp: how the library builds and looks inside a Channel
}  // namespace detail

struct SendOptions {
  long type = 1;              // sysvmq: the message type, > 0
  unsigned priority = 0;      // posixmq: 0 .. MQ_PRIO_MAX-1, highest delivered first
  std::span<const int> fds;   // unix sockets: descriptors to pass (SCM_RIGHTS); borrowed
};

struct ReceiveOptions {
  long type = 0;              // sysvmq msgtyp: 0 first, >0 first of that type, <0 lowest type <= |type|
  bool except = false;        // sysvmq MSG_EXCEPT: first message whose type is not `type`
};

// What a receive into a caller's buffer got.
struct Received {
  std::size_t size = 0;       // bytes written to the buffer
  long type = 0;              // sysvmq type
  unsigned priority = 0;      // posixmq priority
  std::vector<Fd> fds;        // descriptors that came with the message (unix sockets)
  std::uint64_t lost = 0;     // shm pubsub, policy=drop: messages missed just before this one
};

// A received message that owns its bytes.
struct Message {
  std::vector<std::byte> data;
  long type = 0;
  unsigned priority = 0;
  std::vector<Fd> fds;
  std::uint64_t lost = 0;     // shm pubsub, policy=drop: messages missed just before this one
  std::string_view text() const noexcept { return as_text(data); }
};

// Zero-copy send: space loaned from the transport, written in place, then committed with
// Channel::commit to the channel that lent it (another channel refuses it). Dropping a
// Loan without committing abandons it: nothing is delivered. Only a transport makes one.
class Loan {
 public:
  Loan() = default;
  Loan(Loan&& o) noexcept;
  Loan& operator=(Loan&& o) noexcept;
  Loan(const Loan&) = delete;
  Loan& operator=(const Loan&) = delete;
  ~Loan();

  std::span<std::byte> data() const noexcept { return data_; }
  std::uint64_t token() const noexcept { return token_; }
  bool active() const noexcept { return owner_ != nullptr; }

 private:
  friend class detail::ChannelImpl;  // lends, checks the lender and disarms (transport.hpp)
  detail::ChannelImpl* owner_ = nullptr;
  std::span<std::byte> data_;
  std::uint64_t token_ = 0;
};

// Zero-copy receive: a message read in place; its space goes back to the transport when
// the view is dropped. Only a transport makes one.
class ReadView {
 public:
  ReadView() = default;
  ReadView(ReadView&& o) noexcept;
  ReadView& operator=(ReadView&& o) noexcept;
  ReadView(const ReadView&) = delete;
  ReadView& operator=(const ReadView&) = delete;
  ~ReadView();

  std::span<const std::byte> data() const noexcept { return data_; }
  std::uint64_t token() const noexcept { return token_; }
  // shm pubsub, policy=drop: messages missed just before this one.
  std::uint64_t lost() const noexcept { return lost_; }

 private:
  friend class detail::ChannelImpl;  // makes it (transport.hpp)
  detail::ChannelImpl* owner_ = nullptr;
  std::span<const std::byte> data_;
  std::uint64_t token_ = 0;
  std::uint64_t lost_ = 0;
};

// What a send_batch did: the messages from the first that went, and why the rest did not.
// `error` is success when all went; otherwise it is the error of msgs[sent], exactly as a
// send of that message alone would have returned it.
struct BatchSent {
  std::size_t sent = 0;
  Result<void> error;
  bool all() const noexcept { return error.has_value(); }
};

// Room for a batch of received messages: `capacity` slots of `message_size` bytes each,
// allocated once and reused by every receive_batch into it (no allocation per message in
// the steady state; a message's descriptors are the one exception). What the last
// receive_batch put here stays until the next one: data(i) and info(i) for i < size().
// A message larger than message_size() is not taken into the batch: it stays queued (see
// Channel::receive_batch). Not thread-safe; one receiver at a time fills it.
//
//   ipcx::MessageBatch batch(64, 4096);
//   auto n = ch->receive_batch_for(batch, 100ms);   // *n >= 1 messages, or an Error
//   for (std::size_t i = 0; i < batch.size(); ++i) use(batch.data(i));
class MessageBatch {
 public:
  MessageBatch(std::size_t capacity, std::size_t message_size);

  std::size_t capacity() const noexcept { return info_.size(); }
  std::size_t message_size() const noexcept { return slot_; }
  // Messages the last receive_batch put here.
  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  std::span<const std::byte> data(std::size_t i) const noexcept { return {bytes_.data() + i * slot_, info_[i].size}; }
  std::string_view text(std::size_t i) const noexcept { return as_text(data(i)); }
  // Its size, type, priority, descriptors and lost count. Take the descriptors (move them
  // out) to keep them: the next receive_batch into this batch closes any left here.
  Received& info(std::size_t i) noexcept { return info_[i]; }
  const Received& info(std::size_t i) const noexcept { return info_[i]; }

 private:
  friend class detail::ChannelImpl;  // fills it (transport.hpp)
  std::vector<std::byte> bytes_;
  std::vector<Received> info_;
  std::size_t slot_;
  std::size_t count_ = 0;
};

class Channel {
 public:
  using Clock = Deadline::Clock;

  // Connects to / opens the object the URL names.
  static Result<Channel> open(std::string_view url);
  static Result<Channel> open(const Url& url);
  // For datagram schemes: binds the address and receives there. Otherwise as open().
  static Result<Channel> bind(std::string_view url);
  static Result<Channel> bind(const Url& url);

  Channel();
  Channel(Channel&&) noexcept;
  Channel& operator=(Channel&&) noexcept;
  ~Channel();

  bool valid() const noexcept { return impl_ != nullptr; }
  const std::string& url() const noexcept { return url_; }

  // Sending.
  Result<void> send(std::span<const std::byte> msg, Deadline d = Deadline::never(), const SendOptions& o = {});
  template <typename Rep, typename Period>
  Result<void> send_for(std::span<const std::byte> msg, std::chrono::duration<Rep, Period> t, const SendOptions& o = {}) {
    return send(msg, Deadline::after(t), o);
  }
  Result<void> send_until(std::span<const std::byte> msg, Clock::time_point t, const SendOptions& o = {}) {
    return send(msg, Deadline::at(t), o);
  }
  Result<void> try_send(std::span<const std::byte> msg, const SendOptions& o = {}) {
    return send(msg, Deadline::immediate(), o);
  }

  // Receiving into a caller's buffer.
  Result<Received> receive(std::span<std::byte> buf, Deadline d = Deadline::never(), const ReceiveOptions& o = {});
  template <typename Rep, typename Period>
  Result<Received> receive_for(std::span<std::byte> buf, std::chrono::duration<Rep, Period> t, const ReceiveOptions& o = {}) {
    return receive(buf, Deadline::after(t), o);
  }
  Result<Received> receive_until(std::span<std::byte> buf, Clock::time_point t, const ReceiveOptions& o = {}) {
    return receive(buf, Deadline::at(t), o);
  }
  Result<Received> try_receive(std::span<std::byte> buf, const ReceiveOptions& o = {}) {
    return receive(buf, Deadline::immediate(), o);
  }

  // Receiving a message of any size (up to max_message_size()) into owned memory.
  Result<Message> receive_message(Deadline d = Deadline::never(), const ReceiveOptions& o = {});
  template <typename Rep, typename Period>
  Result<Message> receive_message_for(std::chrono::duration<Rep, Period> t, const ReceiveOptions& o = {}) {
    return receive_message(Deadline::after(t), o);
  }
  Result<Message> try_receive_message(const ReceiveOptions& o = {}) { return receive_message(Deadline::immediate(), o); }

  // Batches (docs/channel.md, "Batches"). send_batch sends msgs in order, and says how
  // many went and, when not all did, why msgs[sent] did not (nothing after it was tried).
  // `o` applies to every message, except o.fds, which go with msgs[0] only.
  BatchSent send_batch(std::span<const std::span<const std::byte>> msgs, Deadline d = Deadline::never(),
                       const SendOptions& o = {});
  template <typename Rep, typename Period>
  BatchSent send_batch_for(std::span<const std::span<const std::byte>> msgs, std::chrono::duration<Rep, Period> t,
                           const SendOptions& o = {}) {
    return send_batch(msgs, Deadline::after(t), o);
  }
  BatchSent try_send_batch(std::span<const std::span<const std::byte>> msgs, const SendOptions& o = {}) {
    return send_batch(msgs, Deadline::immediate(), o);
  }
  // Waits until the deadline for one message, then takes the messages already waiting
  // behind it, without waiting for more, up to batch.capacity(); returns how many (>= 1;
  // also batch.size()). It stops before a message larger than batch.message_size() (it
  // stays queued, and the next receive reports it as receive does) and before an error
  // (peer gone, ...), which the next receive reports. `o` applies to every message.
  Result<std::size_t> receive_batch(MessageBatch& batch, Deadline d = Deadline::never(), const ReceiveOptions& o = {});
  template <typename Rep, typename Period>
  Result<std::size_t> receive_batch_for(MessageBatch& batch, std::chrono::duration<Rep, Period> t,
                                        const ReceiveOptions& o = {}) {
    return receive_batch(batch, Deadline::after(t), o);
  }
  Result<std::size_t> try_receive_batch(MessageBatch& batch, const ReceiveOptions& o = {}) {
    return receive_batch(batch, Deadline::immediate(), o);
  }

  // Zero-copy, where the transport supports it (shm://); Errc::not_supported elsewhere.
  Result<Loan> loan(std::size_t size, Deadline d = Deadline::never());
  Result<void> commit(Loan&& loan, std::size_t size, const SendOptions& o = {});
  Result<ReadView> read(Deadline d = Deadline::never());

  // Readable (EPOLLIN) when a receive may make progress; -1 if the transport has none.
  int pollable_fd() const noexcept;
  // The largest message this channel can carry.
  std::size_t max_message_size() const noexcept;
  // The connected peer's credentials, where the transport knows them (unix sockets).
  std::optional<PeerCredentials> peer() const;

  // The transport underneath is reached through its wrapper's accessor (posix_mq(ch),
  // sysv_mq(ch), socket_fd(ch), pipe_ends(ch), ...), never directly.

 private:
  // Only the library makes a Channel from a transport or looks inside one, through
  // detail::ChannelAccess.
  friend struct detail::ChannelAccess;
  explicit Channel(std::unique_ptr<detail::ChannelImpl> impl, std::string url = {});
  detail::ChannelImpl* impl() const noexcept { return impl_.get(); }

  std::unique_ptr<detail::ChannelImpl> impl_;
  std::string url_;
};

// The accepting side of connection-oriented transports (unix, unixpacket, tcp).
class Listener {
 public:
  static Result<Listener> listen(std::string_view url);
  static Result<Listener> listen(const Url& url);

  Listener();
  Listener(Listener&&) noexcept;
  Listener& operator=(Listener&&) noexcept;
  ~Listener();

  Result<Channel> accept(Deadline d = Deadline::never());
  template <typename Rep, typename Period>
  Result<Channel> accept_for(std::chrono::duration<Rep, Period> t) { return accept(Deadline::after(t)); }
  Result<Channel> try_accept() { return accept(Deadline::immediate()); }

  int pollable_fd() const noexcept;
  // The bound address as a URL, e.g. with the port the kernel chose for tcp://…:0.
  std::string local_url() const;

 private:
  friend struct detail::ChannelAccess;  // as for Channel
  explicit Listener(std::unique_ptr<detail::ListenerImpl> impl);

  std::unique_ptr<detail::ListenerImpl> impl_;
};

// Channels over sockets made without a URL.
struct SocketChannelOptions {
  bool raw = false;                 // stream sockets: no framing
  std::size_t max_message_size = 0; // 0: the transport's default (see socket.hpp)
};
struct SocketPair {
  Channel first;
  Channel second;
};
// socketpair(AF_UNIX, type): two connected Channels, e.g. one for a parent and one for the
// child it forks. Each end's peer() is the other's credentials; descriptors pass.
Result<SocketPair> make_socket_pair(SocketType type = SocketType::stream, const SocketChannelOptions& o = {});
// A Channel over a connected socket (stream or seqpacket; or a datagram socket, which then
// sends to its connected peer), e.g. a socketpair end inherited across exec.
Result<Channel> adopt_socket(Socket s, const SocketChannelOptions& o = {});

// From a Channel to the wrapper underneath, for its full feature set. Each gives nothing
// (-1, nullptr, an error) for a Channel of another transport; what it returns is owned by
// the Channel.
// The socket under a socket Channel, e.g. to read options.
int socket_fd(const Channel& ch) noexcept;
// The local address of a socket Channel as a URL, e.g. the port udp://127.0.0.1:0 got.
Result<std::string> local_url(const Channel& ch);
// The queue under a posixmq:// or sysvmq:// Channel (posix_mq.hpp, sysv_mq.hpp).
class PosixMq;
class SysvMq;
PosixMq* posix_mq(const Channel& ch) noexcept;
SysvMq* sysv_mq(const Channel& ch) noexcept;

}  // namespace ipcx
