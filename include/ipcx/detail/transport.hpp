// SPDX-License-Identifier: MIT
// The interface every transport implements behind Channel and Listener. Users do not
// name it; transports in src/ derive from it.
#pragma once

#include <memory>

#include "ipcx/channel.hpp"

namespace ipcx::detail {

class ChannelImpl {
 public:
  virtual ~ChannelImpl() = default;

  virtual Result<void> send(std::span<const std::byte> msg, Deadline d, const SendOptions& o) = 0;
  virtual Result<Received> receive(std::span<std::byte> buf, Deadline d, const ReceiveOptions& o) = 0;
  // Default: receive into a buffer of max_message_size() and shrink it.
  virtual Result<Message> receive_message(Deadline d, const ReceiveOptions& o);
  virtual int pollable_fd() const noexcept = 0;
  virtual std::size_t max_message_size() const noexcept = 0;
  virtual std::optional<PeerCredentials> peer() const { return std::nullopt; }

  // Zero-copy; the defaults say the transport does not do it.
  virtual Result<Loan> loan(std::size_t size, Deadline d);
  virtual Result<void> commit(Loan& loan, std::size_t size, const SendOptions& o);
  virtual void abandon(Loan& loan) noexcept;
  virtual Result<ReadView> read(Deadline d);
  // Done with a view read() gave: its space may be reused. Called by ReadView when dropped.
  virtual void finish_read(ReadView& view) noexcept;

  // Batches (channel.hpp, docs/channel.md). The defaults make one send or receive per
  // message, so every transport has them; a transport with a cheaper way overrides them.
  virtual BatchSent send_batch(std::span<const std::span<const std::byte>> msgs, Deadline d, const SendOptions& o);
  virtual Result<std::size_t> receive_batch(MessageBatch& batch, Deadline d, const ReceiveOptions& o);

 protected:
  // What only a transport does to a Loan. The Result is built in place (no move of the
  // Loan on the zero-copy path).
  Result<Loan> lend(std::span<std::byte> data, std::uint64_t token) noexcept {
    Result<Loan> l(std::in_place);
    l->owner_ = this;
    l->data_ = data;
    l->token_ = token;
    return l;
  }
  // What only a transport does to a ReadView; built in place, as by lend().
  Result<ReadView> make_view(std::span<const std::byte> data, std::uint64_t token, std::uint64_t lost = 0) noexcept {
    Result<ReadView> v(std::in_place);
    v->owner_ = this;
    v->data_ = data;
    v->token_ = token;
    v->lost_ = lost;
    return v;
  }
  // What only a transport does to a MessageBatch: start filling it (the last fill's
  // descriptors are closed, its count is 0), reach slot i, and say how many were filled.
  static void batch_begin(MessageBatch& b) noexcept {
    for (std::size_t i = 0; i < b.count_; ++i) {
      Received& r = b.info_[i];
      r.size = 0;
      r.type = 0;
      r.priority = 0;
      r.fds.clear();  // keeps the capacity: no allocation when the next one brings some
      r.lost = 0;
    }
    b.count_ = 0;
  }
  static std::span<std::byte> batch_slot(MessageBatch& b, std::size_t i) noexcept {
    return {b.bytes_.data() + i * b.slot_, b.slot_};
  }
  static std::span<std::byte> batch_bytes(MessageBatch& b) noexcept { return b.bytes_; }
  static Received& batch_info(MessageBatch& b, std::size_t i) noexcept { return b.info_[i]; }
  static void batch_end(MessageBatch& b, std::size_t n) noexcept { b.count_ = n; }
  // The first check of every receive_batch: a batch with no room is invalid_argument.
  static Result<void> check_batch(const MessageBatch& b, std::string_view object);

  // Whether this channel lent `l` (and it is not committed or abandoned yet).
  bool lent(const Loan& l) const noexcept { return l.owner_ == this; }
  // Once committed or abandoned: the Loan's destructor then does nothing.
  static void disarm(Loan& l) noexcept { l.owner_ = nullptr; }
};

class ListenerImpl {
 public:
  virtual ~ListenerImpl() = default;
  virtual Result<Channel> accept(Deadline d) = 0;
  virtual int pollable_fd() const noexcept = 0;
  virtual std::string local_url() const = 0;
};

// The one door between the public Channel and Listener and the transports: their
// constructors from a transport and their transport accessors are private, and friends
// of this.
struct ChannelAccess {
  static Channel make(std::unique_ptr<ChannelImpl> impl, std::string url) {
    return Channel(std::move(impl), std::move(url));
  }
  static ChannelImpl* impl(const Channel& ch) noexcept { return ch.impl(); }
  static Listener make_listener(std::unique_ptr<ListenerImpl> impl) { return Listener(std::move(impl)); }
};

// One opener per scheme, defined in that transport's source file. `bind` is true for
// Channel::bind (the receiving side of datagram schemes).
Result<std::unique_ptr<ChannelImpl>> open_fifo(const Url& url, bool bind);
Result<std::unique_ptr<ChannelImpl>> open_unix(const Url& url, bool bind);      // unix, unixgram, unixpacket
Result<std::unique_ptr<ChannelImpl>> open_inet(const Url& url, bool bind);      // tcp, udp
Result<std::unique_ptr<ChannelImpl>> open_posixmq(const Url& url, bool bind);
Result<std::unique_ptr<ChannelImpl>> open_sysvmq(const Url& url, bool bind);
Result<std::unique_ptr<ChannelImpl>> open_shm_ring(const Url& url, bool bind);
// Built only with their client libraries (IPCX_WITH_NATS, IPCX_WITH_ZMQ).
Result<std::unique_ptr<ChannelImpl>> open_nats(const Url& url, bool bind);
Result<std::unique_ptr<ChannelImpl>> open_zmq(const Url& url, bool bind);        // zmq+tcp, zmq+ipc
Result<std::unique_ptr<ListenerImpl>> listen_unix(const Url& url);             // unix, unixpacket
Result<std::unique_ptr<ListenerImpl>> listen_tcp(const Url& url);

}  // namespace ipcx::detail
