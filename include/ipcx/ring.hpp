// SPDX-License-Identifier: MIT
// ipcx::RingProducer / RingConsumer — the shm:// channel: a ring of variable-size messages
// in shared memory, zero-copy, one producer or many, or publish/subscribe.
//
//   auto tx = ipcx::RingProducer::open("orders");              // creates it if absent
//   auto loan = tx->loan(64); std::memcpy(loan->data().data(), msg, 64); tx->commit(std::move(*loan), 64);
//   auto rx = ipcx::RingConsumer::open("orders");              // elsewhere
//   auto v = rx->read(); use(v->data());                       // in place; released when v dies
//
// The same ring is a Channel: Channel::open("shm://orders") is a producer,
// Channel::bind("shm://orders") a consumer (or say ?role=send|recv), and the copying calls
// (send, receive, receive_message) work on it too. URL options, all optional:
//   capacity=SIZE   data bytes (k/m/g suffixes), rounded up to a power of two; default 1m,
//                   or enough for max
//   max=SIZE        largest message; default and upper bound: capacity/2 - 16
//   pattern=spsc|mpsc|pubsub   default spsc
//   policy=block|drop          pubsub: a slow subscriber blocks the publisher (default),
//                              or falls behind and is told how many messages it lost
//   slots=N         mpsc: producers at once; pubsub: subscribers at once (1..64, default 16)
//   wait=spin|yield|sleep|poll how this side waits (default sleep: spin, then futex);
//                              poll (consumers): pollable_fd() is an eventfd for epoll,
//                              rung by a thread that each such handle starts and joins
//                              when closed; the open fails if the eventfd cannot be made
//   spin=MICROSECONDS          how long sleep/poll/yield spin first (default 20)
//   mode=0600       permissions at create (owner-only unless asked)
//   create=1|0      create the ring if absent (default 1); excl=1: it must not exist
// capacity, max, pattern, policy and slots are fixed when the ring is created; when given
// to an existing ring they must match it (an error says which differs).
//
// Batches (Channel::send_batch / receive_batch, channel.hpp's rule): an spsc producer
// copies a run of messages in and publishes the run with one release store (and wakes a
// sleeping consumer once); a batch that does not fit goes as runs, each published as soon
// as no more fits. spsc and mpsc consumers and pubsub subscribers with policy=block take
// every message that is ready, up to the batch's capacity, and release them with one
// store (one wake of a waiting producer at most). mpsc producers, the pubsub publisher and
// policy=drop subscribers send or receive one message at a time (the Channel's loop).
//
// Lifetime: the first side to open creates the ring (exactly one creator wins); the last
// side to close removes its name, unless messages wait to be read (spsc/mpsc), which keeps
// it for the next consumer, as a message queue would. remove_ring() removes it by hand.
// Each side holds an OFD lock on the segment; when a side dies the kernel drops it, and the
// other side is told Errc::peer_gone within about 200 ms of waiting (a producer that is not
// waiting learns within 32 sends, or at once if the consumer closed cleanly). A loan that
// was never committed is never delivered.
//
// Thread-safety: a handle is used by one thread at a time; different handles (in threads
// or processes) are independent. A wait=poll consumer runs one thread of its own besides. One loan (producer) or one view (consumer) is
// outstanding at a time; loans and views must not outlive their handle.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ipcx/channel.hpp"
#include "ipcx/deadline.hpp"
#include "ipcx/error.hpp"
#include "ipcx/url.hpp"

namespace ipcx {

namespace detail {
class ShmRing;
}  // namespace detail

enum class RingPattern : std::uint8_t { spsc, mpsc, pubsub };
enum class SlowSubscriber : std::uint8_t { block, drop };
enum class WaitStrategy : std::uint8_t { spin, yield, sleep, poll };
enum class RingCreate : std::uint8_t {
  open_or_create,  // the first side to open creates (default)
  exclusive,       // create; EEXIST if the name exists
  open_only,       // open; ENOENT if it does not exist
};

std::string_view to_string(RingPattern) noexcept;
std::string_view to_string(SlowSubscriber) noexcept;
std::string_view to_string(WaitStrategy) noexcept;

struct RingOptions {
  // Fixed at creation; unset means "the default when creating, whatever the ring has when
  // opening". Set, they must match an existing ring.
  std::optional<std::size_t> capacity;      // default 1 MiB (or enough for max_message)
  std::optional<std::size_t> max_message;   // default capacity/2 - 16
  std::optional<RingPattern> pattern;       // default spsc
  std::optional<SlowSubscriber> policy;     // pubsub only; default block
  std::optional<unsigned> slots;            // mpsc/pubsub; default 16, at most 64
  // This side's own choices.
  WaitStrategy wait = WaitStrategy::sleep;
  std::chrono::microseconds spin{20};
  unsigned mode = 0600;
  RingCreate create = RingCreate::open_or_create;
  // A ring that exists and belongs to another user is refused (it may have been made
  // first to read what this side sends) unless this is set: owner=any in a URL.
  bool any_owner = false;

  // The options of a shm:// URL (see the top of this file); unknown ones are an error.
  static Result<RingOptions> from_url(const Url& url);
};

// What a ring is, as read from its header.
struct RingInfo {
  std::string name;
  std::size_t capacity = 0;
  std::size_t max_message = 0;
  RingPattern pattern = RingPattern::spsc;
  SlowSubscriber policy = SlowSubscriber::block;
  unsigned slots = 0;
  bool created = false;  // this handle created the ring
};

// The sending side: the spsc producer, one of the mpsc producers, or the publisher.
class RingProducer {
 public:
  static Result<RingProducer> open(std::string_view name, const RingOptions& o = {});

  RingProducer();
  RingProducer(RingProducer&&) noexcept;
  RingProducer& operator=(RingProducer&&) noexcept;
  ~RingProducer();

  // Space for a message of up to `size` bytes, written in place and then committed (with
  // its final size, <= size). Dropping the loan abandons it: nothing is delivered.
  Result<Loan> loan(std::size_t size, Deadline d = Deadline::never());
  Result<Loan> try_loan(std::size_t size) { return loan(size, Deadline::immediate()); }
  Result<void> commit(Loan&& loan, std::size_t size);
  // Copies `msg` in: a loan, a memcpy and a commit.
  Result<void> send(std::span<const std::byte> msg, Deadline d = Deadline::never());
  Result<void> try_send(std::span<const std::byte> msg) { return send(msg, Deadline::immediate()); }

  const RingInfo& info() const noexcept;
  std::size_t max_message_size() const noexcept;
  bool valid() const noexcept { return impl_ != nullptr; }
  // The handle as a Channel (the same ring; this handle is emptied).
  Channel into_channel() &&;

 private:
  explicit RingProducer(std::unique_ptr<detail::ShmRing> impl);
  std::unique_ptr<detail::ShmRing> impl_;
};

// The receiving side: the spsc/mpsc consumer, or one subscriber.
class RingConsumer {
 public:
  static Result<RingConsumer> open(std::string_view name, const RingOptions& o = {});

  RingConsumer();
  RingConsumer(RingConsumer&&) noexcept;
  RingConsumer& operator=(RingConsumer&&) noexcept;
  ~RingConsumer();

  // The next message in place; its space is released when the view is dropped.
  // ReadView::lost() (pubsub, policy=drop): messages missed just before this one.
  Result<ReadView> read(Deadline d = Deadline::never());
  Result<ReadView> try_read() { return read(Deadline::immediate()); }
  // Copies the next message into buf; a short buffer is message_too_large (with the
  // message's size in Error::size()) and the message stays next.
  Result<Received> receive(std::span<std::byte> buf, Deadline d = Deadline::never());
  Result<Received> try_receive(std::span<std::byte> buf) { return receive(buf, Deadline::immediate()); }

  // wait=poll: an eventfd, readable when a read may make progress (a message, or the
  // peer gone), rung by this handle's own thread. Drain with try_read until would_block
  // before polling again. Else -1.
  int pollable_fd() const noexcept;
  // Messages lost so far (pubsub, policy=drop), over the handle's life.
  std::uint64_t lost() const noexcept;
  const RingInfo& info() const noexcept;
  std::size_t max_message_size() const noexcept;
  bool valid() const noexcept { return impl_ != nullptr; }
  Channel into_channel() &&;

 private:
  explicit RingConsumer(std::unique_ptr<detail::ShmRing> impl);
  std::unique_ptr<detail::ShmRing> impl_;
};

using RingPublisher = RingProducer;
using RingSubscriber = RingConsumer;

// Removes the ring's name (for rings kept because messages were left in them, or left by
// a crash). Those attached keep using the memory; ENOENT if there is no such ring.
Result<void> remove_ring(std::string_view name);
// The file that holds the ring: /dev/shm/ipcx.ring.NAME (the POSIX shm name
// "/ipcx.ring.NAME").
std::string ring_path(std::string_view name);
// How the ring is named as a Channel and to ipcx ls/stat/rm: "shm://NAME".
std::string ring_url(std::string_view name);

}  // namespace ipcx
