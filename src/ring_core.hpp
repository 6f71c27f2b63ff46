// SPDX-License-Identifier: MIT
// The ring's own module: everything that reads or writes its format (ring_layout.hpp).
// The one check of a mapped ring's identity (read_identity), the one check of a record
// (check_record) and the one walk over records (walk_records), used by the ring itself,
// by `ipcx ls/stat` (inspect_ring.cpp) and by the fuzz target; then the algorithms over a
// mapped region: reserving, committing and reading records, with every value read from
// shared memory checked before use. No system calls here except futex_wake (and
// membarrier through heavy_fence): naming, locking, liveness and waiting live in
// src/ring.cpp, which drives these in loops. The fuzz target drives them over hostile bytes.
//
// A RingWriter or RingReader is one side's private state (cached indices, the position
// of its own outstanding loan or view), used by one thread at a time; the memory they
// share with other processes is made of atomics. The calls that read only shared memory
// (RingReader::readable and stalled) may run in another thread beside it: the wait=poll
// thread asks them while the consumer reads.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ipcx/detail/ring_layout.hpp"
#include "ipcx/error.hpp"
#include "ipcx/ring.hpp"

namespace ipcx::detail {

struct RingConfig {
  std::uint64_t capacity = 0;
  std::uint64_t max_message = 0;
  std::uint64_t header_size = ring::kHeaderSize;
  std::uint64_t total_size = 0;
  ring::Pattern pattern = ring::Pattern::spsc;
  ring::Policy policy = ring::Policy::block;
  std::uint32_t slots = 1;
};

// Checks the file that should hold a ring before it is mapped: a regular file of a size a
// ring can have. Returns the bytes to map; the error (Errc::corrupt) says why not.
Result<std::size_t> check_ring_file(const struct stat& st, std::string_view object);
// Checks the identity line of a mapped ring against the bytes actually mapped and copies
// it out; afterwards the identity in shared memory is never read again. The error
// (Errc::corrupt, naming `object`) says which check failed.
Result<RingConfig> read_identity(const std::byte* base, std::size_t mapped, std::string_view object);
// Writes a fresh header into zeroed memory of cfg.total_size bytes.
void write_identity(std::byte* base, const RingConfig& cfg);
// The ring as the public API describes it (RingInfo without its name).
RingInfo describe(const RingConfig& cfg);
ring::Pattern to_layout(RingPattern p) noexcept;

// The outcome of one non-blocking step.
enum class Step : std::uint8_t {
  ok,
  none,     // nothing to read / no space now: the caller waits or says would_block
  corrupt,  // shared memory failed a check; why() says which
};

// The checks every reader of a complete record makes (the reader's fast path inlines
// them): its kind is known and it lies within the buffer, a message within the ring's
// maximum. `offset` is the record's offset in the data region. nullptr if it is sound,
// else why not.
constexpr const char* check_record(std::uint64_t kind, std::uint64_t len, std::uint64_t offset,
                                   const RingConfig& cfg) noexcept {
  if (kind == ring::kKindMessage) {
    if (len > cfg.max_message) return "a record is longer than the ring's maximum message";
    if (offset + ring::kRecordHeader + len > cfg.capacity) return "a record runs past the end of the buffer";
    return nullptr;
  }
  if (kind != ring::kKindPadding && kind != ring::kKindAbandoned) return "a record has an unknown kind";
  if (offset + ring::record_span(len) > cfg.capacity) return "a padding record runs past the end of the buffer";
  return nullptr;
}

// A walk over complete records, each checked by check_record.
struct RecordWalk {
  std::uint64_t end = 0;       // where it stopped: at or past `until`, or the first record not walked
  std::uint64_t records = 0;   // records passed
  std::uint64_t messages = 0;  // of which messages (not padding, not abandoned)
  // ok: reached `until` or `max_records`; none: the record at `end` is not complete;
  // corrupt: the record at `end` (or its position) failed a check, `why` says which.
  Step step = Step::ok;
  const char* why = "";
};
// Walks the records of the ring mapped at `base` from position `from` until a record
// starts at or past `until`, one is not complete, or `max_records` were passed. Reads
// only shared memory (stamps with acquire, as a reader does); writes nothing.
RecordWalk walk_records(const std::byte* base, const RingConfig& cfg, std::uint64_t from, std::uint64_t until,
                        std::uint64_t max_records) noexcept;

// Memory ordering between a side that sleeps and one that must see its waiter count.
// When this process registered for membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED), the hot
// side (light_fence) needs only a compiler barrier and the sleeping side (heavy_fence)
// pays for a barrier on every CPU; otherwise both use a full fence.
bool register_asymmetric_fence() noexcept;  // once per process (re-done after fork)
void heavy_fence() noexcept;
// A sleeper's side of the wait protocol, before it re-checks the ring and FUTEX_WAITs on
// `w.futex` with the value returned: reads the futex word (acquire: what a waker did
// first), re-arms the wakers (kicked = 0, published by the seq_cst increment after it),
// counts itself among the waiters and makes the heavy fence. The caller decrements
// `waiters` when it stops sleeping.
std::uint32_t announce_sleep(ring::WaitLine& w) noexcept;

class RingBase {
 public:
  RingBase(std::byte* base, const RingConfig& cfg, bool asymmetric) noexcept;
  const RingConfig& config() const noexcept { return cfg_; }
  const char* why() const noexcept { return why_; }
  ring::Header* header() const noexcept { return hdr_; }

 protected:
  ring::RecordHeader* rec(std::uint64_t pos) const noexcept {
    return reinterpret_cast<ring::RecordHeader*>(data_ + (pos & mask_));
  }
  std::byte* payload(std::uint64_t pos) const noexcept { return data_ + (pos & mask_) + ring::kRecordHeader; }
  Step corrupt(const char* why) noexcept {
    why_ = why;
    return Step::corrupt;
  }
  void light_fence() const noexcept {
    // Orders this side's commit (or finish_read) before its load of the waiter count. With
    // membarrier the sleeper's heavy_fence supplies the CPU barrier, so only the compiler
    // must not reorder; otherwise a full fence here.
    if (asymmetric_) {
      std::atomic_signal_fence(std::memory_order_seq_cst);
    } else {
      std::atomic_thread_fence(std::memory_order_seq_cst);
    }
  }
  // Wakes the sleepers on `w`, if any: a load on the hot path, a system call only when
  // someone sleeps, and only the first waker of a round of sleep makes it (kicked).
  // acquire: ordered after the caller's store by light_fence (and the sleeper's
  // heavy_fence); acquire so that a waker that sees a sleeper's count also sees the
  // sleeper's earlier kicked = 0. A later waker that finds kicked set skips the call: the
  // kick it sees bumped the futex word after the sleeper read it, so the sleeper wakes.
  void notify(ring::WaitLine& w) const noexcept {
    light_fence();
    if (w.waiters.load(std::memory_order_acquire) != 0) [[unlikely]] kick(w);
  }
  // The first waker of a round of sleep wakes the sleepers; later ones need not. The
  // relaxed load only spares the exchange when another waker already kicked; the
  // exchange (acq_rel) decides who makes the call and orders it after the sleeper's reset.
  static void kick(ring::WaitLine& w) noexcept {
    if (w.kicked.load(std::memory_order_relaxed) == 0 && w.kicked.exchange(1, std::memory_order_acq_rel) == 0) wake(w);
  }
  // Bumps a wait line's futex and wakes every sleeper.
  static void wake(ring::WaitLine& w) noexcept;

  ring::Header* hdr_;
  std::byte* data_;
  RingConfig cfg_;
  std::uint64_t cap_;
  std::uint64_t mask_;
  bool asymmetric_;
  const char* why_ = "";
};

// The producer side: the spsc producer, one of the mpsc producers, or the publisher.
class RingWriter : public RingBase {
 public:
  struct Reservation {
    std::uint64_t pos = 0;         // the record's position
    std::uint64_t span = 0;        // bytes reserved for it (mpsc: fixed at reserve time)
    std::uint64_t claim_end = 0;   // mpsc: end of the reservation, padding included
    std::byte* data = nullptr;     // where the payload goes
    std::uint64_t capacity = 0;    // payload bytes reserved
  };

  // `slot`: the mpsc producer's slot (ignored otherwise). Checks the shared indices.
  RingWriter(std::byte* base, const RingConfig& cfg, std::uint32_t slot, bool asymmetric) noexcept;
  Step attach() noexcept;

  // Reserves room for a payload of `len` bytes (len <= max_message). Step::none: no room
  // now (the ring is full, or pubsub: a subscriber in the way is reading).
  Step try_reserve(std::uint64_t len, Reservation& r) noexcept {
    if (cfg_.pattern != ring::Pattern::mpsc) {
      // The common case inline: no padding needed and the cached bound says there is room.
      const std::uint64_t span = ring::record_span(len);
      const std::uint64_t p = tail_;
      if ((p & mask_) + span <= cap_ && p + span - cached_bound_ <= cap_) [[likely]] {
        r.pos = p;
        r.span = span;
        r.claim_end = p + span;
        r.data = payload(p);
        r.capacity = len;
        return Step::ok;
      }
    }
    return try_reserve_slow(len, r);
  }
  // Publishes the payload (len <= r.capacity) and wakes a sleeping reader.
  void commit(const Reservation& r, std::uint64_t len) noexcept {
    if (cfg_.pattern != ring::Pattern::spsc) return commit_slow(r, len);
    auto* h = rec(r.pos);
    h->len.store(static_cast<std::uint32_t>(len), std::memory_order_relaxed);  // relaxed: published by the stamp
    // release: the payload and the length are visible to a reader that sees the stamp.
    h->stamp.store(r.pos | ring::kKindMessage, std::memory_order_release);
    tail_ = r.pos + ring::record_span(len);
    // release: whoever reads the tail (a closing side, a new producer) sees the records.
    hdr_->producer.tail.store(tail_, std::memory_order_release);
    notify(hdr_->data_wait);
  }
  // Gives the reservation up: nothing is delivered.
  void abandon(const Reservation& r) noexcept;

  // Batches (spsc): a run of records written one after another from the tail and made
  // visible together. begin_run starts a run at the tail (after a reservation there made
  // by try_reserve); try_reserve_in_run reserves the run's next record (padding before it
  // when it wraps; Step::none: no room now); commit_in_run completes a record without
  // publishing it; publish_run publishes the whole run with one release store, the stamp
  // of its first record (the later records' stamps are stored before it, and a reader
  // reaches them only through it), then the tail, and wakes a sleeping reader at most once.
  void begin_run() noexcept {
    run_start_ = tail_;
    run_stamp_ = 0;
  }
  Step try_reserve_in_run(std::uint64_t len, Reservation& r) noexcept;
  void commit_in_run(const Reservation& r, std::uint64_t len) noexcept {
    // relaxed: published by publish_run's release store.
    rec(r.pos)->len.store(static_cast<std::uint32_t>(len), std::memory_order_relaxed);
    stamp_in_run(r.pos, r.pos | ring::kKindMessage);
    tail_ = r.pos + ring::record_span(len);
  }
  void publish_run() noexcept;

  // pubsub: the first used slot whose reader holds the publisher back, or -1.
  int blocking_slot() const noexcept { return blocking_slot_; }
  // Forgets cached bounds (after a slot was reaped).
  void invalidate() noexcept { cached_bound_ = 0; }
  // Bytes committed but not yet consumed (spsc/mpsc; a hint).
  std::uint64_t backlog() const noexcept;

 private:
  Step try_reserve_slow(std::uint64_t len, Reservation& r) noexcept;
  void commit_slow(const Reservation& r, std::uint64_t len) noexcept;
  bool load_head(std::uint64_t& head) const noexcept;
  Step refresh_bound(std::uint64_t end, std::uint64_t reserve) noexcept;
  Step refresh_subscribers(std::uint64_t end, std::uint64_t reserve) noexcept;
  // Hysteresis for a writer that found the ring full: how much more than `reserve` bytes
  // (this reservation, padding included) it waits to be free.
  std::uint64_t slack(std::uint64_t reserve) const noexcept;
  void write_padding(std::uint64_t pos, std::uint64_t bytes) noexcept;
  // A run's record at `pos` gets `stamp`: at once (relaxed) unless it is the run's first,
  // whose stamp publish_run stores last.
  void stamp_in_run(std::uint64_t pos, std::uint64_t stamp) noexcept {
    if (pos == run_start_) {
      run_stamp_ = stamp;
    } else {
      // relaxed: published by the release store of the run's first stamp (publish_run).
      rec(pos)->stamp.store(stamp, std::memory_order_relaxed);
    }
  }
  void publish_tail() noexcept;
  // No room for a reservation ending at `end` while the slowest reader is at `bound`:
  // remembers that (with the hysteresis, when `hysteresis`) and, for a single writer
  // (spsc, pubsub), the position it waits for. Returns Step::none.
  Step starve(std::uint64_t end, std::uint64_t reserve, std::uint64_t bound, bool hysteresis, bool single) noexcept;

  std::uint32_t slot_;
  std::uint64_t tail_ = 0;          // spsc/pubsub: the next record position (private copy)
  std::uint64_t seq_ = 0;           // pubsub: the next message's sequence number
  std::uint32_t version_ = 0;       // pubsub: seqlock counter
  std::uint64_t cached_bound_ = 0;  // the oldest position a reader may still need
  bool starved_ = false;            // the last refresh found no room
  std::uint64_t wake_at_ = ~0ULL;   // what this side last stored in space_wait.wake_at
  int blocking_slot_ = -1;
  std::uint64_t run_start_ = 0;     // spsc batches: where the current run starts (the published tail)
  std::uint64_t run_stamp_ = 0;     // and its first record's stamp, stored last
};

// The consumer side: the spsc/mpsc consumer, or one subscriber.
class RingReader : public RingBase {
 public:
  struct View {
    const std::byte* data = nullptr;
    std::uint64_t len = 0;
    std::uint64_t pos = 0;
    std::uint64_t next = 0;  // the position after this record
    std::uint64_t lost = 0;  // pubsub drop: messages this subscriber missed before this one
  };

  // `slot`: the subscriber's slot (pubsub), ignored otherwise.
  RingReader(std::byte* base, const RingConfig& cfg, std::uint32_t slot, bool asymmetric) noexcept;
  // Takes the consumer's position from shared memory (spsc/mpsc) or joins the publisher's
  // stream at its current end (pubsub).
  Step attach() noexcept;

  // The next message, in place; skips padding. Step::none when there is none yet.
  Step try_read(View& v) noexcept { return try_read_fast(v) ? Step::ok : try_read_slow(v); }
  // The common case, inline: a complete message at the read position, within bounds
  // (pubsub: the one expected next). False: anything else, left to try_read.
  bool try_read_fast(View& v) noexcept {
    if (!own_position_) return false;
    auto* r = rec(head_);
    // acquire: pairs with the writer's release store of the stamp.
    const std::uint64_t st = r->stamp.load(std::memory_order_acquire);
    if (!ring::stamped(st, head_)) return false;
    const std::uint64_t len = r->len.load(std::memory_order_relaxed);  // ordered by the stamp's acquire
    if ((st & ring::kKindMask) != ring::kKindMessage ||
        check_record(ring::kKindMessage, len, head_ & mask_, cfg_) != nullptr) {
      return false;
    }
    // spsc: the record after this one must be complete too, or this is the last one. Else
    // the slow path asks the tail (a length scribbled over would deliver neighbours as one
    // message). The next record is unread, so the producer cannot be rewriting it.
    if (cfg_.pattern == ring::Pattern::spsc) {
      const std::uint64_t next = head_ + ring::record_span(len);
      // acquire: as the stamp above.
      if (!ring::stamped(rec(next)->stamp.load(std::memory_order_acquire), next)) return false;
    }
    if (cfg_.pattern == ring::Pattern::pubsub) {
      // relaxed: ordered by the stamp's acquire, as the length is.
      if (r->seq32.load(std::memory_order_relaxed) != static_cast<std::uint32_t>(expected_)) return false;
      ++expected_;
    }
    v.data = payload(head_);
    v.len = len;
    v.pos = head_;
    v.next = head_ + ring::record_span(len);
    v.lost = 0;
    return true;
  }
  // Done with the view: its space may be reused.
  void finish_read(const View& v) noexcept { advance(v.pos, v.next); }
  // Batches (spsc, mpsc, pubsub with policy=block): the message at `at`, a position this
  // side reached by reading ahead (the last view's next), skipping padding and abandoned
  // records, without moving the read position; `at` moves past it. False, with `at`
  // unmoved, when none is complete there, it is longer than `max_len`, or anything else
  // (a gap, a record that fails a check) that the next try_read is left to report.
  bool try_read_ahead(std::uint64_t& at, std::uint64_t max_len, View& v) noexcept;
  // Done with every view from `from` up to `next`: one store of the read position, and
  // one wake of a waiting writer at most.
  void finish_reads(std::uint64_t from, std::uint64_t next) noexcept { advance(from, next); }
  // Puts the view back unread (its message stays next), e.g. when a buffer was too small.
  void unread(const View& v) noexcept;

  // True when records are reserved past the read position but the next is not complete
  // (mpsc: a producer is writing it, or died writing it).
  bool stalled() const noexcept;
  // mpsc: a reservation at the read position whose producer is dead (bit i of dead_slots)
  // is skipped. Step::ok if something was skipped, none if nothing could be, corrupt if
  // the claims contradict each other.
  Step skip_dead_claim(std::uint64_t dead_slots) noexcept;
  // mpsc: whether slot i has no reservation that is still ahead of the read position.
  bool claim_settled(std::uint32_t slot) const noexcept;
  // Whether committed records wait to be read (a hint; for the pollable descriptor).
  bool readable() const noexcept;

 private:
  Step try_read_slow(View& v) noexcept;
  // Moves the read position from `from` to `next` and wakes a writer waiting for space if
  // this is the progress it waits for.
  void advance(std::uint64_t from, std::uint64_t next) noexcept {
    head_ = next;
    if (cfg_.pattern == ring::Pattern::pubsub) {
      // release: our reads of the record happen before the publisher reuses its space;
      // the store also clears our pin.
      hdr_->slots[slot_].cursor.store(next, std::memory_order_release);
    } else {
      // release: as above, for the producers.
      hdr_->consumer.head.store(next, std::memory_order_release);
    }
    light_fence();
    ring::WaitLine& w = hdr_->space_wait;
    if (w.waiters.load(std::memory_order_acquire) != 0) [[unlikely]] {
      // acquire (above): a sleeper's wake_at, stored before its increment of `waiters`.
      // A writer that waits for position `at` is woken by the reader that crosses it; one
      // already past it (or still short of it) leaves the system call to that reader.
      const std::uint64_t at = w.wake_at.load(std::memory_order_relaxed);
      if (at == 0 || (from < at && next >= at)) kick(w);
    }
  }

  std::uint32_t slot_;
  // The read position. Shared memory has a copy (consumer.head, or the subscriber's
  // cursor) for the writers; this side reads its own unless it is a subscriber with
  // policy=drop, whose cursor the publisher may move (after attach, a policy=block
  // subscriber's cursor is moved by nobody else).
  std::uint64_t head_ = 0;
  bool own_position_;
  std::uint64_t expected_ = 0;   // pubsub: the next sequence number this subscriber expects
};

}  // namespace ipcx::detail
