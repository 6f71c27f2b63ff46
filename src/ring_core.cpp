// SPDX-License-Identifier: MIT
// The ring's algorithms (ring_core.hpp); the format is docs/shm-ring-layout.md.
//
// Positions are absolute byte counts (u64, never wrapping in practice: 2^64 bytes); the
// offset in the data region is pos & (capacity - 1). A record is complete when its stamp
// equals its own position plus a kind, stored last with release; a reader loads the
// stamp with acquire and then everything the writer wrote before it is visible.
#include "ring_core.hpp"

#include <linux/membarrier.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

#include "sys/futex.hpp"
#include "sys/membarrier.hpp"

namespace ipcx::detail {

using namespace ring;

namespace {

bool is_pow2(std::uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

std::mutex g_membarrier_mutex;
pid_t g_membarrier_pid = 0;  // the process that registered (a forked child must register again)
bool g_membarrier_global = false;  // the kernel offers MEMBARRIER_CMD_GLOBAL_EXPEDITED

}  // namespace

Result<std::size_t> check_ring_file(const struct stat& st, std::string_view object) {
  if (!S_ISREG(st.st_mode)) return fail(Errc::corrupt, "open", object, "the ring's file is not a regular file");
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (st.st_size < 0 || size < kHeaderSize || size > kHeaderSize + kMaxCapacity) {
    return fail(Errc::corrupt, "open", object, fmt::format("the ring's file has {} bytes, not a ring's size", size));
  }
  return static_cast<std::size_t>(size);
}

Result<RingConfig> read_identity(const std::byte* base, std::size_t mapped, std::string_view object) {
  auto bad = [&](std::string why) { return fail(Errc::corrupt, "open", object, std::move(why)); };
  if (mapped < kHeaderSize) return bad(fmt::format("the segment is {} bytes, smaller than a ring header ({})", mapped, kHeaderSize));
  Identity id;
  std::memcpy(&id, base, sizeof id);  // one copy; the shared identity is never read again
  if (id.magic != kMagic) return bad("bad magic: not an ipcx ring");
  if (id.version != kLayoutVersion) {
    return bad(fmt::format("layout version {}; this ipcx reads version {}", id.version, kLayoutVersion));
  }
  if (id.header_size != kHeaderSize) return bad(fmt::format("header size {} (expected {})", id.header_size, kHeaderSize));
  if (!is_pow2(id.capacity) || id.capacity < kMinCapacity || id.capacity > kMaxCapacity) {
    return bad(fmt::format("capacity {} is not a power of two in [{}, {}]", id.capacity, kMinCapacity, kMaxCapacity));
  }
  if (id.max_message == 0 || id.max_message > max_payload(id.capacity)) {
    return bad(fmt::format("max message {} outside [1, {}]", id.max_message, max_payload(id.capacity)));
  }
  if (id.total_size != id.header_size + id.capacity) return bad("total size does not match header + capacity");
  if (id.total_size > mapped) {
    return bad(fmt::format("the header claims {} bytes but the segment has {}", id.total_size, mapped));
  }
  if (id.pattern < 1 || id.pattern > 3) return bad(fmt::format("unknown pattern {}", id.pattern));
  if (id.policy > 1) return bad(fmt::format("unknown slow-subscriber policy {}", id.policy));
  if (id.slots < 1 || id.slots > kMaxSlots) return bad(fmt::format("slot count {} outside [1, {}]", id.slots, kMaxSlots));
  if (id.record_align != kRecordAlign) return bad(fmt::format("record alignment {} (expected {})", id.record_align, kRecordAlign));
  RingConfig c;
  c.capacity = id.capacity;
  c.max_message = id.max_message;
  c.header_size = id.header_size;
  c.total_size = id.total_size;
  c.pattern = static_cast<Pattern>(id.pattern);
  c.policy = static_cast<Policy>(id.policy);
  c.slots = id.slots;
  return c;
}

void write_identity(std::byte* base, const RingConfig& cfg) {
  auto* h = reinterpret_cast<Header*>(base);
  Identity id{};
  id.magic = kMagic;
  id.version = kLayoutVersion;
  id.header_size = static_cast<std::uint32_t>(kHeaderSize);
  id.capacity = cfg.capacity;
  id.max_message = cfg.max_message;
  id.total_size = kHeaderSize + cfg.capacity;
  id.pattern = static_cast<std::uint32_t>(cfg.pattern);
  id.policy = static_cast<std::uint32_t>(cfg.policy);
  id.slots = cfg.slots;
  id.record_align = kRecordAlign;
  std::memcpy(&h->identity, &id, sizeof id);
  // Everything else starts at zero (a fresh segment is zero-filled) except the claims.
  // Relaxed: nobody else can see the segment before its name is published.
  for (auto& s : h->slots) s.claim_pos.store(kClaimIdle, std::memory_order_relaxed);
}

RingInfo describe(const RingConfig& cfg) {
  RingInfo i;
  i.capacity = cfg.capacity;
  i.max_message = cfg.max_message;
  i.pattern = static_cast<RingPattern>(static_cast<int>(cfg.pattern) - 1);
  i.policy = cfg.policy == Policy::block ? SlowSubscriber::block : SlowSubscriber::drop;
  i.slots = cfg.slots;
  return i;
}

Pattern to_layout(RingPattern p) noexcept { return static_cast<Pattern>(static_cast<int>(p) + 1); }

RecordWalk walk_records(const std::byte* base, const RingConfig& cfg, std::uint64_t from, std::uint64_t until,
                        std::uint64_t max_records) noexcept {
  const std::byte* data = base + cfg.header_size;
  const std::uint64_t mask = cfg.capacity - 1;
  RecordWalk w;
  w.end = from;
  while (w.end < until && w.records < max_records) {
    if ((w.end & (kRecordAlign - 1)) != 0) {
      w.step = Step::corrupt;
      w.why = "a record position is not record-aligned";
      return w;
    }
    const std::uint64_t off = w.end & mask;
    const auto* r = reinterpret_cast<const RecordHeader*>(data + off);
    // acquire: pairs with the writer's release store of the stamp (the length is then its own).
    const std::uint64_t st = r->stamp.load(std::memory_order_acquire);
    if (!stamped(st, w.end)) {
      w.step = Step::none;
      return w;
    }
    const std::uint64_t len = r->len.load(std::memory_order_relaxed);  // ordered by the stamp's acquire
    const std::uint64_t kind = st & kKindMask;
    if (const char* why = check_record(kind, len, off, cfg)) {
      w.step = Step::corrupt;
      w.why = why;
      return w;
    }
    if (kind == kKindMessage) ++w.messages;
    ++w.records;
    w.end += record_span(len);
  }
  return w;
}

bool register_asymmetric_fence() noexcept {
  std::lock_guard lock(g_membarrier_mutex);
  const pid_t self = ::getpid();
  if (g_membarrier_pid == self) return true;
  auto q = sys::membarrier(MEMBARRIER_CMD_QUERY);
  if (!q || !(*q & MEMBARRIER_CMD_GLOBAL_EXPEDITED) || !(*q & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED)) return false;
  g_membarrier_global = true;
  if (!sys::membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED)) return false;
  g_membarrier_pid = self;
  return true;
}

void heavy_fence() noexcept {
  // seq_cst: orders this thread's waiter-count increment before its re-check of the ring.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // And a barrier on every CPU running a registered process, so that their plain
  // (compiler-fenced) "any sleepers?" loads are ordered after their commits too. Without
  // the kernel's support, peers fall back to full fences on their side (light_fence).
  bool global = false;
  {
    std::lock_guard lock(g_membarrier_mutex);
    global = g_membarrier_global;
  }
  if (global) (void)sys::membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED);
}

std::uint32_t announce_sleep(WaitLine& w) noexcept {
  // acquire: what a waker did before it bumped the futex word is seen by our re-check.
  const std::uint32_t seen = w.futex.load(std::memory_order_acquire);
  // relaxed: published to wakers by the seq_cst increment below.
  w.kicked.store(0, std::memory_order_relaxed);
  w.waiters.fetch_add(1, std::memory_order_seq_cst);  // seq_cst: before the caller's re-check
  heavy_fence();
  return seen;
}

RingBase::RingBase(std::byte* base, const RingConfig& cfg, bool asymmetric) noexcept
    : hdr_(reinterpret_cast<Header*>(base)),
      data_(base + cfg.header_size),
      cfg_(cfg),
      cap_(cfg.capacity),
      mask_(cfg.capacity - 1),
      asymmetric_(asymmetric) {}

void RingBase::wake(WaitLine& w) noexcept {
  // release: a woken sleeper that reads the new futex value also sees what came before.
  w.futex.fetch_add(1, std::memory_order_release);
  (void)sys::futex_wake(&w.futex, INT_MAX);
}

// ---------------------------------------------------------------------------------------
// Writer

RingWriter::RingWriter(std::byte* base, const RingConfig& cfg, std::uint32_t slot, bool asymmetric) noexcept
    : RingBase(base, cfg, asymmetric), slot_(slot) {}

Step RingWriter::attach() noexcept {
  if (cfg_.pattern == Pattern::mpsc) {
    std::uint64_t head = 0;
    // relaxed: only its alignment is checked here; load_head loads it again with acquire.
    if ((hdr_->producer.tail.load(std::memory_order_relaxed) & (kRecordAlign - 1)) != 0 || !load_head(head)) {
      return corrupt("the reservation end and the read position are more than a capacity apart");
    }
    cached_bound_ = head;
    return Step::ok;
  }
  // acquire: the positions published by the previous holder of this side and by readers.
  const std::uint64_t head = hdr_->consumer.head.load(std::memory_order_acquire);
  tail_ = hdr_->producer.tail.load(std::memory_order_acquire);
  seq_ = hdr_->producer.tail_seq.load(std::memory_order_acquire);
  // relaxed: only this side writes it, and the previous holder's last store came before our lock.
  version_ = hdr_->producer.version.load(std::memory_order_relaxed);
  if ((tail_ & (kRecordAlign - 1)) != 0 || (head & (kRecordAlign - 1)) != 0) {
    return corrupt("the producer or consumer position is not record-aligned");
  }
  // A previous producer may have died between completing a record and publishing the
  // position past it: walk over complete records so that nothing is written over.
  const RecordWalk w = walk_records(reinterpret_cast<const std::byte*>(hdr_), cfg_, tail_, tail_ + cap_ + 1, ~std::uint64_t{0});
  if (w.step == Step::corrupt) return corrupt(w.why);
  seq_ += w.messages;
  tail_ = w.end;
  if (cfg_.pattern == Pattern::spsc) {
    if (tail_ - head > cap_ && head - tail_ > cap_) return corrupt("the read and write positions are more than a capacity apart");
    if (head > tail_) tail_ = head;  // nothing past the read position is complete
    cached_bound_ = head;
    // A producer that died in the middle of a batch may have stamped the later records of
    // its run and not the first (publish_run stores that one last): stamps of positions
    // past the tail, to which a record written here later could lead a reader, delivering
    // what was never sent. Clear them. Nobody reads past the first incomplete record (the
    // tail), and a record written here later is published by its own release store.
    for (std::uint64_t p = tail_; p - head < cap_; p += kRecordAlign) {
      auto& st = rec(p)->stamp;
      // relaxed: see above.
      if (stamped(st.load(std::memory_order_relaxed), p)) st.store(0, std::memory_order_relaxed);
    }
  } else {
    cached_bound_ = 0;  // pubsub: scan the subscribers on the first reservation
  }
  publish_tail();
  return Step::ok;
}

void RingWriter::publish_tail() noexcept {
  if (cfg_.pattern == Pattern::spsc) {
    // release: whoever reads the tail (a closing side, a new producer) sees the records.
    hdr_->producer.tail.store(tail_, std::memory_order_release);
    return;
  }
  // pubsub: a seqlock so that a joining subscriber reads (tail, tail_seq) as one pair.
  auto& p = hdr_->producer;
  p.version.store(++version_, std::memory_order_relaxed);  // odd: update in progress
  std::atomic_thread_fence(std::memory_order_release);     // the odd version is seen before the new values
  p.tail.store(tail_, std::memory_order_relaxed);          // relaxed: ordered by the fence and the even version
  p.tail_seq.store(seq_, std::memory_order_relaxed);
  p.version.store(++version_, std::memory_order_release);  // even: the values before it are complete
}

void RingWriter::write_padding(std::uint64_t pos, std::uint64_t bytes) noexcept {
  auto* r = rec(pos);
  // relaxed: both published by the stamp's release store.
  r->len.store(static_cast<std::uint32_t>(bytes - kRecordHeader), std::memory_order_relaxed);
  r->seq32.store(static_cast<std::uint32_t>(seq_), std::memory_order_relaxed);
  // release: the length is visible to whoever sees the stamp.
  r->stamp.store(pos | kKindPadding, std::memory_order_release);
}

bool RingWriter::load_head(std::uint64_t& head) const noexcept {
  // The read position must lie within a capacity behind the write position. In mpsc other
  // producers move the shared tail between our two loads (we may be preempted there for a
  // whole ring's worth of reservations), so a violation is only believed if it persists.
  for (int attempt = 0; attempt < 8; ++attempt) {
    // acquire: the consumer's reads of the records before `head` happened before we reuse them.
    head = hdr_->consumer.head.load(std::memory_order_acquire);
    // acquire: other producers' reservations up to it (only the distance is checked).
    const std::uint64_t t =
        cfg_.pattern == Pattern::spsc ? tail_ : hdr_->producer.tail.load(std::memory_order_acquire);
    if ((head & (kRecordAlign - 1)) != 0) return false;
    if (t - head <= cap_) return true;
    if (cfg_.pattern == Pattern::spsc) return false;  // our own tail is exact: no race to wait out
  }
  return false;
}

Step RingWriter::refresh_bound(std::uint64_t end, std::uint64_t reserve) noexcept {
  if (cfg_.pattern == Pattern::pubsub) return refresh_subscribers(end, reserve);
  std::uint64_t head = 0;
  if (!load_head(head)) return corrupt("the consumer's read position is outside the ring");
  // Hysteresis: once the ring was found full, wait until an eighth of it is free again
  // rather than taking each record's worth as the consumer frees it. Otherwise both sides
  // touch the consumer's line on every message while the ring stays full.
  if (end + slack(reserve) - head > cap_) return starve(end, reserve, head, true, cfg_.pattern == Pattern::spsc);
  cached_bound_ = head;
  starved_ = false;
  return Step::ok;
}

Step RingWriter::starve(std::uint64_t end, std::uint64_t reserve, std::uint64_t bound, bool hysteresis,
                        bool single) noexcept {
  starved_ = true;
  const std::uint64_t extra = hysteresis ? slack(reserve) : 0;
  // The cached bound stands `extra` behind the slowest reader, so that try_reserve's fast
  // check takes no less room than a refresh would.
  cached_bound_ = bound > extra ? bound - extra : 0;
  // A single writer sleeps until every reader has reached the position that gives that
  // room; each reader wakes it as it crosses (space_wait.wake_at; 0: any progress). Fixed
  // while the same reservation waits, so stored once, before the sleeper's seq_cst
  // increment of `waiters` publishes it.
  if (single) {
    const std::uint64_t at = hysteresis ? end + extra - cap_ : 0;
    if (at != wake_at_) {
      wake_at_ = at;
      hdr_->space_wait.wake_at.store(at, std::memory_order_relaxed);  // relaxed: see above
    }
  }
  return Step::none;
}

std::uint64_t RingWriter::slack(std::uint64_t reserve) const noexcept {
  // At most what an empty ring leaves beside this reservation (padding included, which can
  // take the ring to within 16 bytes of full): the wait must end once every reader caught up.
  return starved_ ? std::min(cap_ / 8, cap_ - std::min(reserve, cap_)) : 0;
}

Step RingWriter::refresh_subscribers(std::uint64_t end, std::uint64_t reserve) noexcept {
  const std::uint64_t need = end > cap_ ? end - cap_ : 0;  // positions below this are overwritten
  // seq_cst: pairs with a joining subscriber's fence, so that either we see its slot or
  // it sees our current tail (see RingReader::attach).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  std::uint64_t bound = tail_;
  blocking_slot_ = -1;
  for (std::uint32_t i = 0; i < cfg_.slots; ++i) {
    Slot& s = hdr_->slots[i];
    // acquire: a subscriber sets its cursor before it marks the slot used.
    if (s.state.load(std::memory_order_acquire) != kSlotUsed) continue;
    // acquire: the subscriber's reads of the records before its cursor are done.
    std::uint64_t c = s.cursor.load(std::memory_order_acquire);
    for (int attempt = 0; attempt < 8; ++attempt) {
      if (c == kCursorJoining) {
        // Assign the joiner our tail; join_seq first, published by the release CAS.
        s.join_seq.store(seq_, std::memory_order_relaxed);
        // acq_rel: publishes join_seq; on failure, acquire as the load above.
        if (s.cursor.compare_exchange_strong(c, tail_, std::memory_order_acq_rel, std::memory_order_acquire)) c = tail_;
        continue;
      }
      const std::uint64_t pos = c & ~kCursorPinned;
      if ((pos & (kRecordAlign - 1)) != 0 || tail_ - pos > cap_) {
        return corrupt("a subscriber's cursor is outside the ring");
      }
      if (pos >= need) break;
      if (cfg_.policy == Policy::block || (c & kCursorPinned) != 0) {
        if (blocking_slot_ < 0) blocking_slot_ = static_cast<int>(i);
        break;
      }
      // Drop policy: move the subscriber forward to the first record boundary at or past
      // `need` and an eighth of the ring beyond it, walking our own records. It learns how
      // many it lost from the sequence numbers of what it reads next. The extra eighth is
      // hysteresis: a subscriber that cannot keep up loses a few more messages at once,
      // and the publisher scans the subscribers once per eighth of the ring instead of on
      // every message while that subscriber lags.
      const std::uint64_t target = std::min<std::uint64_t>(need + cap_ / 8, tail_);
      const RecordWalk w = walk_records(reinterpret_cast<const std::byte*>(hdr_), cfg_, pos, target, ~std::uint64_t{0});
      // Our own records broken: drop everything before the tail.
      const std::uint64_t q = w.step == Step::ok ? w.end : tail_;
      // release: pairs with the subscriber's acquire when it pins or reloads its cursor.
      if (s.cursor.compare_exchange_strong(c, q, std::memory_order_acq_rel, std::memory_order_acquire)) c = q;
    }
    const std::uint64_t pos = c == kCursorJoining ? tail_ : (c & ~kCursorPinned);
    if (tail_ - pos <= cap_ && pos < bound) bound = pos;
  }
  // Blocking subscribers: the same hysteresis as refresh_bound, so that while the slowest
  // subscriber holds the publisher back, the publisher does not scan every subscriber's
  // line (and fence) for each record's worth that it frees. Drop: only a pinned
  // subscriber holds us back, until it unpins, so any progress may be the one awaited.
  const bool block = cfg_.policy == Policy::block;
  if (end + (block ? slack(reserve) : 0) - bound > cap_) return starve(end, reserve, bound, block, true);
  cached_bound_ = bound;
  starved_ = false;
  return Step::ok;
}

Step RingWriter::try_reserve_slow(std::uint64_t len, Reservation& r) noexcept {
  const std::uint64_t span = record_span(len);
  if (cfg_.pattern == Pattern::mpsc) {
    Slot& me = hdr_->slots[slot_];
    // relaxed: the CAS below (acq_rel) is what publishes and orders.
    std::uint64_t t = hdr_->producer.tail.load(std::memory_order_relaxed);
    for (;;) {
      if ((t & (kRecordAlign - 1)) != 0) return corrupt("the reservation end is not record-aligned");
      const std::uint64_t o = t & mask_;
      const std::uint64_t pad = o + span > cap_ ? cap_ - o : 0;
      const std::uint64_t need = pad + span;
      if (t + need - cached_bound_ > cap_) {
        const Step s = refresh_bound(t + need, need);
        if (s != Step::ok) return s;
      }
      // The claim is visible before the reservation is (release CAS): a consumer that
      // finds the reservation incomplete and this producer dead skips exactly it.
      me.claim_len.store(need, std::memory_order_relaxed);  // relaxed: published by the CAS
      me.claim_pos.store(t, std::memory_order_relaxed);
      // acq_rel: publishes the claim, and sees the reservations before ours; relaxed on
      // failure: the new value is only a starting point, checked again next round.
      if (hdr_->producer.tail.compare_exchange_weak(t, t + need, std::memory_order_acq_rel, std::memory_order_relaxed)) {
        if (pad != 0) write_padding(t, pad);
        r.pos = t + pad;
        r.span = span;
        r.claim_end = t + need;
        r.data = payload(r.pos);
        r.capacity = len;
        return Step::ok;
      }
    }
  }
  std::uint64_t p = tail_;
  const std::uint64_t o = p & mask_;
  const std::uint64_t pad = o + span > cap_ ? cap_ - o : 0;
  const std::uint64_t end = p + pad + span;
  if (end - cached_bound_ > cap_) {
    const Step s = refresh_bound(end, pad + span);
    if (s != Step::ok) return s;
  }
  if (pad != 0) {
    write_padding(p, pad);
    p += pad;
    tail_ = p;
    publish_tail();
  }
  r.pos = p;
  r.span = span;
  r.claim_end = end;
  r.data = payload(p);
  r.capacity = len;
  return Step::ok;
}

void RingWriter::commit_slow(const Reservation& r, std::uint64_t len) noexcept {
  auto* h = rec(r.pos);
  const std::uint64_t span = record_span(len);
  if (cfg_.pattern == Pattern::mpsc && span < r.span) write_padding(r.pos + span, r.span - span);
  // relaxed: both published by the stamp's release store.
  h->len.store(static_cast<std::uint32_t>(len), std::memory_order_relaxed);
  h->seq32.store(static_cast<std::uint32_t>(seq_), std::memory_order_relaxed);
  // release: the payload and the header fields are visible to a reader that sees the stamp.
  h->stamp.store(r.pos | kKindMessage, std::memory_order_release);
  if (cfg_.pattern == Pattern::mpsc) {
    // release: the claim is over only after the record is complete.
    hdr_->slots[slot_].claim_pos.store(kClaimIdle, std::memory_order_release);
  } else {
    tail_ = r.pos + span;
    if (cfg_.pattern == Pattern::pubsub) ++seq_;
    publish_tail();
  }
  notify(hdr_->data_wait);
}

Step RingWriter::try_reserve_in_run(std::uint64_t len, Reservation& r) noexcept {
  const std::uint64_t span = record_span(len);
  std::uint64_t p = tail_;
  const std::uint64_t o = p & mask_;
  const std::uint64_t pad = o + span > cap_ ? cap_ - o : 0;
  const std::uint64_t end = p + pad + span;
  // The bound is at or before the run's start (the consumer has not passed the published
  // tail), so a run that fits never reaches its own unpublished start.
  if (end - cached_bound_ > cap_) {
    const Step s = refresh_bound(end, pad + span);
    if (s != Step::ok) return s;
  }
  if (pad != 0) {
    // relaxed: published with the run.
    rec(p)->len.store(static_cast<std::uint32_t>(pad - kRecordHeader), std::memory_order_relaxed);
    stamp_in_run(p, p | kKindPadding);
    p += pad;
    tail_ = p;
  }
  r.pos = p;
  r.span = span;
  r.claim_end = end;
  r.data = payload(p);
  r.capacity = len;
  return Step::ok;
}

void RingWriter::publish_run() noexcept {
  if (tail_ == run_start_) return;
  // release: the run's payloads, lengths and later stamps are visible to a reader that
  // sees its first stamp.
  rec(run_start_)->stamp.store(run_stamp_, std::memory_order_release);
  // release: whoever reads the tail (a closing side, a new producer) sees the records.
  hdr_->producer.tail.store(tail_, std::memory_order_release);
  run_start_ = tail_;
  notify(hdr_->data_wait);
}

void RingWriter::abandon(const Reservation& r) noexcept {
  if (cfg_.pattern != Pattern::mpsc) return;  // the position was never published: nothing to undo
  // mpsc: the space is reserved; mark it skipped so the consumer moves past it.
  auto* h = rec(r.pos);
  // relaxed: published by the stamp's release store.
  h->len.store(static_cast<std::uint32_t>(r.claim_end - r.pos - kRecordHeader), std::memory_order_relaxed);
  h->stamp.store(r.pos | kKindAbandoned, std::memory_order_release);  // release: len first
  hdr_->slots[slot_].claim_pos.store(kClaimIdle, std::memory_order_release);
  notify(hdr_->data_wait);
}

std::uint64_t RingWriter::backlog() const noexcept {
  if (cfg_.pattern == Pattern::pubsub) return 0;
  // acquire: the same pairing as the sides' own loads (a hint; nothing is read through them).
  const std::uint64_t t = hdr_->producer.tail.load(std::memory_order_acquire);
  const std::uint64_t h = hdr_->consumer.head.load(std::memory_order_acquire);
  return t - h <= cap_ ? t - h : 0;
}

// ---------------------------------------------------------------------------------------
// Reader

RingReader::RingReader(std::byte* base, const RingConfig& cfg, std::uint32_t slot, bool asymmetric) noexcept
    : RingBase(base, cfg, asymmetric),
      slot_(slot),
      own_position_(cfg.pattern != Pattern::pubsub || cfg.policy == Policy::block) {}

Step RingReader::attach() noexcept {
  if (cfg_.pattern != Pattern::pubsub) {
    // acquire: the previous consumer's position and the producers' records before the tail.
    head_ = hdr_->consumer.head.load(std::memory_order_acquire);
    const std::uint64_t t = hdr_->producer.tail.load(std::memory_order_acquire);
    if ((head_ & (kRecordAlign - 1)) != 0) return corrupt("the read position is not record-aligned");
    if (t - head_ > cap_ && head_ - t > cap_) return corrupt("the read and write positions are more than a capacity apart");
    return Step::ok;
  }
  Slot& s = hdr_->slots[slot_];
  s.cursor.store(kCursorJoining, std::memory_order_relaxed);  // relaxed: published by the state's release
  // release: the publisher that sees the slot used sees the joining cursor.
  s.state.store(kSlotUsed, std::memory_order_release);
  // seq_cst: pairs with the publisher's fence before it scans the slots: either it sees
  // this slot (and assigns a cursor), or we see every tail it published before scanning.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  auto& p = hdr_->producer;
  std::uint64_t t = 0, seq = 0;
  for (int i = 0; i < 10000; ++i) {
    const std::uint32_t v1 = p.version.load(std::memory_order_acquire);  // acquire: values after it are at least this new
    t = p.tail.load(std::memory_order_relaxed);  // relaxed: the seqlock's version checks order them
    seq = p.tail_seq.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);  // the loads above happen before the re-check
    if ((v1 & 1) == 0 && p.version.load(std::memory_order_relaxed) == v1) break;  // relaxed: after the fence
  }
  if ((t & (kRecordAlign - 1)) != 0) return corrupt("the publisher's position is not record-aligned");
  std::uint64_t c = kCursorJoining;
  // acq_rel: our cursor is published to the publisher; acquire on failure: its join_seq.
  if (s.cursor.compare_exchange_strong(c, t, std::memory_order_acq_rel, std::memory_order_acquire)) {
    expected_ = seq;
    head_ = t;
  } else {
    // The publisher assigned the cursor first; acquire (failed CAS) made its join_seq visible.
    if ((c & (kRecordAlign - 1)) != 0) return corrupt("the publisher assigned a misaligned cursor");
    expected_ = s.join_seq.load(std::memory_order_relaxed);  // relaxed: ordered by that acquire
    head_ = c;
  }
  return Step::ok;
}

Step RingReader::try_read_slow(View& v) noexcept {
  // acquire: pairs with an spsc producer's release store of its tail, made after the stamp.
  const auto published_tail = [this] { return hdr_->producer.tail.load(std::memory_order_acquire); };
  // Bounded: a hostile writer could chain padding records forever.
  for (std::uint64_t guard = 0; guard <= cap_ / kRecordAlign; ++guard) {
    std::uint64_t pos = head_;
    if (!own_position_) {
      // acquire: a cursor moved by the publisher (eviction) is seen with what it implies.
      pos = hdr_->slots[slot_].cursor.load(std::memory_order_acquire);
      if ((pos & (kRecordAlign - 1)) != 0) return corrupt("this subscriber's cursor is misaligned");
    }
    auto* r = rec(pos);
    // acquire: pairs with the writer's release store of the stamp.
    const std::uint64_t st = r->stamp.load(std::memory_order_acquire);
    if (!stamped(st, pos)) {
      // "Not yet written", or overwritten? An spsc producer publishes its tail only after
      // the stamp, so a record below the published tail that has no stamp was scribbled
      // over. (mpsc reserves before it writes; pubsub laps its readers by design.)
      if (cfg_.pattern != Pattern::spsc) return Step::none;
      const std::uint64_t t = published_tail();
      if (t == pos || t - pos > cap_) return Step::none;
      if (stamped(r->stamp.load(std::memory_order_acquire), pos)) continue;  // acquire: as above; completed meanwhile
      return corrupt("a record below the producer's published tail has no valid stamp (overwritten)");
    }
    if (cfg_.pattern == Pattern::pubsub && cfg_.policy == Policy::drop) {
      // Pin the cursor so the publisher cannot move past this record while we read it.
      // acq_rel: fails if the publisher evicted us since the load (then start over).
      std::uint64_t expect = pos;
      if (!hdr_->slots[slot_].cursor.compare_exchange_strong(expect, pos | kCursorPinned, std::memory_order_acq_rel,
                                                            std::memory_order_acquire)) {
        continue;
      }
      if (r->stamp.load(std::memory_order_acquire) != st) return corrupt("a pinned record changed under its reader");
    }
    const std::uint64_t kind = st & kKindMask;
    const std::uint64_t len = r->len.load(std::memory_order_relaxed);  // ordered by the stamp's acquire
    if (const char* why = check_record(kind, len, pos & mask_, cfg_)) return corrupt(why);
    if (cfg_.pattern == Pattern::spsc) {
      // The record must end where the next complete record starts, or at the tail.
      const std::uint64_t next = pos + record_span(len);
      // acquire: as the stamp above.
      if (!stamped(rec(next)->stamp.load(std::memory_order_acquire), next)) {
        const std::uint64_t t = published_tail();
        // Stamped, the tail not yet published past it: a moment (a commit stamps before it
        // publishes the tail; a batch's run stamps all its records first).
        if (pos - t <= cap_) return Step::none;
        if (t - pos < next - pos || (t != next && !stamped(rec(next)->stamp.load(std::memory_order_acquire), next))) {
          return corrupt("a record's length does not lead to the next record (overwritten)");
        }
      }
    }
    if (kind == kKindMessage) {
      v.data = payload(pos);
      v.len = len;
      v.pos = pos;
      v.next = pos + record_span(len);
      v.lost = 0;
      if (cfg_.pattern == Pattern::pubsub) {
        const std::uint32_t s32 = r->seq32.load(std::memory_order_relaxed);  // relaxed: ordered by the stamp's acquire
        std::uint64_t full = expected_;
        if (s32 != static_cast<std::uint32_t>(expected_)) {
          // A gap: rebuild the 64-bit number from the publisher's count, which is at most a
          // ring's worth of records ahead of this one (acquire: at least this record's).
          const std::uint64_t ts = hdr_->producer.tail_seq.load(std::memory_order_acquire);
          full = ts - static_cast<std::uint32_t>(static_cast<std::uint32_t>(ts) - s32);
          if (full < expected_) return corrupt("a message's sequence number went backwards");
        }
        v.lost = full - expected_;
        expected_ = full + 1;
      }
      return Step::ok;
    }
    advance(pos, pos + record_span(len));
  }
  return Step::none;
}

bool RingReader::try_read_ahead(std::uint64_t& at, std::uint64_t max_len, View& v) noexcept {
  if (!own_position_) return false;
  std::uint64_t pos = at;
  // Bounded: a hostile writer could chain padding records forever.
  for (int skipped = 0; skipped < 64; ++skipped) {
    auto* r = rec(pos);
    // acquire: pairs with the writer's release store of the stamp (or of its run's first).
    const std::uint64_t st = r->stamp.load(std::memory_order_acquire);
    if (!stamped(st, pos)) return false;
    const std::uint64_t len = r->len.load(std::memory_order_relaxed);  // ordered by the stamp's acquire
    const std::uint64_t kind = st & kKindMask;
    if (check_record(kind, len, pos & mask_, cfg_) != nullptr) return false;
    const std::uint64_t next = pos + record_span(len);
    // spsc: as try_read_fast, the next record is complete or this one ends at the tail.
    // acquire: as the stamp above; the tail's pairs with the producer's release store.
    if (cfg_.pattern == Pattern::spsc && !stamped(rec(next)->stamp.load(std::memory_order_acquire), next) &&
        hdr_->producer.tail.load(std::memory_order_acquire) != next) {
      return false;
    }
    if (kind != kKindMessage) {
      pos = next;
      continue;
    }
    if (len > max_len) return false;
    if (cfg_.pattern == Pattern::pubsub) {
      // relaxed: ordered by the stamp's acquire, as the length is.
      if (r->seq32.load(std::memory_order_relaxed) != static_cast<std::uint32_t>(expected_)) return false;
      ++expected_;
    }
    v.data = payload(pos);
    v.len = len;
    v.pos = pos;
    v.next = next;
    v.lost = 0;
    at = next;
    return true;
  }
  return false;
}

void RingReader::unread(const View& v) noexcept {
  if (cfg_.pattern != Pattern::pubsub) return;  // nothing moved yet
  expected_ -= v.lost + 1;
  // release: drops our pin; the record may be read again (or evicted) later.
  if (cfg_.policy == Policy::drop) {
    hdr_->slots[slot_].cursor.store(v.pos, std::memory_order_release);
    notify(hdr_->space_wait);  // a publisher held back by the pin may go on (evicting us)
  }
}

bool RingReader::stalled() const noexcept {
  if (cfg_.pattern != Pattern::mpsc) return false;
  // Shared state only (the pollable descriptor's thread asks too); equal to head_ in the
  // consumer's own thread. acquire: as the sides load them; the stamp's acquire below is
  // what the answer rests on.
  const std::uint64_t head = hdr_->consumer.head.load(std::memory_order_acquire);
  const std::uint64_t t = hdr_->producer.tail.load(std::memory_order_acquire);
  if ((head & (kRecordAlign - 1)) != 0 || t == head || t - head > cap_) return false;
  return !stamped(rec(head)->stamp.load(std::memory_order_acquire), head);
}

Step RingReader::skip_dead_claim(std::uint64_t dead_slots) noexcept {
  if (cfg_.pattern != Pattern::mpsc || !stalled()) return Step::none;
  bool live_cover = false, ambiguous = false;
  int best = -1;
  std::uint64_t best_pos = 0, best_len = 0;
  for (std::uint32_t i = 0; i < cfg_.slots; ++i) {
    const Slot& s = hdr_->slots[i];
    // acquire: pairs with the producer's release CAS that made the claim's reservation real.
    const std::uint64_t cp = s.claim_pos.load(std::memory_order_acquire);
    if (cp == kClaimIdle) continue;
    const std::uint64_t cl = s.claim_len.load(std::memory_order_relaxed);  // relaxed: ordered by the claim_pos acquire
    if (cl == 0 || cl > cap_ || cp > head_ || head_ - cp >= cl) continue;  // does not cover the read position
    if (((dead_slots >> i) & 1) == 0) {
      live_cover = true;
      continue;
    }
    if (best < 0 || cp > best_pos) {
      best = static_cast<int>(i);
      best_pos = cp;
      best_len = cl;
      ambiguous = false;
    } else if (cp == best_pos && cl != best_len) {
      ambiguous = true;
    }
  }
  if (live_cover || best < 0) return Step::none;
  if (ambiguous) return corrupt("two dead producers claim the same reservation");
  const std::uint64_t end = best_pos + best_len;
  // acquire: the reservations up to the tail are real (only the distance is checked).
  const std::uint64_t t = hdr_->producer.tail.load(std::memory_order_acquire);
  if ((end & (kRecordAlign - 1)) != 0 || end - head_ > cap_ || t - end > cap_) {
    return corrupt("a dead producer's claim is outside the ring");
  }
  // It may have completed the record just before it died (acquire: as a reader's stamp load).
  if (stamped(rec(head_)->stamp.load(std::memory_order_acquire), head_)) return Step::ok;
  // release: the claim is settled before a producer that reaps the slot sees it idle.
  hdr_->slots[best].claim_pos.store(kClaimIdle, std::memory_order_release);
  advance(head_, end);
  return Step::ok;
}

bool RingReader::claim_settled(std::uint32_t slot) const noexcept {
  if (cfg_.pattern != Pattern::mpsc || slot >= cfg_.slots) return true;
  const Slot& s = hdr_->slots[slot];
  // acquire: pairs with the producer's release CAS (the claim) or release store (its end).
  const std::uint64_t cp = s.claim_pos.load(std::memory_order_acquire);
  if (cp == kClaimIdle) return true;
  const std::uint64_t cl = s.claim_len.load(std::memory_order_relaxed);  // relaxed: ordered by that acquire
  return cl <= cap_ && cp + cl <= head_;
}

bool RingReader::readable() const noexcept {
  // Only shared state: the pollable descriptor's thread calls this beside the reader's.
  std::uint64_t pos = 0;
  if (cfg_.pattern == Pattern::pubsub) {
    // acquire: a cursor moved by the publisher, as try_read_slow loads it.
    pos = hdr_->slots[slot_].cursor.load(std::memory_order_acquire) & ~kCursorPinned;
    if ((pos & (kRecordAlign - 1)) != 0) return false;  // joining, or scribbled over
  } else {
    pos = hdr_->consumer.head.load(std::memory_order_acquire);  // acquire: as the consumer's release stores it
  }
  return stamped(rec(pos)->stamp.load(std::memory_order_acquire), pos);
}

}  // namespace ipcx::detail
