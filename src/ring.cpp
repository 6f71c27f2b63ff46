// SPDX-License-Identifier: MIT
// shm:// — the ring of ring_core.hpp in a named shared-memory file, with the lifetime,
// liveness and waiting around it, as a Channel (ShmRing) and as RingProducer / RingConsumer.
//
// Naming: ring NAME lives in /dev/shm/ipcx.ring.NAME (the POSIX shm name
// "/ipcx.ring.NAME"; ring_layout.hpp's kFileDir and kFilePrefix). Creation builds the whole header in an unnamed O_TMPFILE file and
// then links it under the name, so an opener never sees a half-made ring and exactly one
// creator wins (link fails with EEXIST for the others, who then open the winner's).
//
// Liveness: every side holds an OFD write lock on one byte of the file (its role byte or
// its slot byte; see ring_layout.hpp). The kernel drops it when the side dies, in any PID
// namespace; a survivor tests it with F_OFD_GETLK, or takes it (F_OFD_SETLK) to reap a
// dead slot. Attaching holds a shared lock on byte 0; removing the name takes byte 0 and
// every role byte exclusively, so nobody attaches to a name that is being removed.
#include "ipcx/ring.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "ipcx/detail/transport.hpp"
#include "ipcx/mapping.hpp"
#include "ipcx/shm.hpp"  // detail::reserve_backing
#include "ownership.hpp"
#include "ring_core.hpp"
#include "sys/eventfd.hpp"
#include "sys/file.hpp"
#include "sys/futex.hpp"
#include "sys/io.hpp"
#include "sys/ofd_lock.hpp"
#include "sys/shm.hpp"

namespace ipcx {

std::string_view to_string(RingPattern p) noexcept {
  switch (p) {
    case RingPattern::spsc: return "spsc";
    case RingPattern::mpsc: return "mpsc";
    case RingPattern::pubsub: return "pubsub";
  }
  return "?";
}
std::string_view to_string(SlowSubscriber p) noexcept { return p == SlowSubscriber::block ? "block" : "drop"; }
std::string_view to_string(WaitStrategy w) noexcept {
  switch (w) {
    case WaitStrategy::spin: return "spin";
    case WaitStrategy::yield: return "yield";
    case WaitStrategy::sleep: return "sleep";
    case WaitStrategy::poll: return "poll";
  }
  return "?";
}

std::string ring_url(std::string_view name) { return fmt::format("{}://{}", to_string(Scheme::shm), name); }

std::string ring_path(std::string_view name) {
  return fmt::format("{}/{}{}", detail::ring::kFileDir, detail::ring::kFilePrefix, name);
}

namespace detail {
namespace {

using namespace ring;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kDefaultCapacity = 1 << 20;
constexpr unsigned kDefaultSlots = 16;
// How often a side that spins or yields (or calls try_) asks the kernel whether its peer
// lives; a sleeper asks each time it wakes, at least every kSleepChunk. Both keep
// "peer gone" well within a second, and an idle sleeper wakes only five times a second.
constexpr auto kLivenessInterval = std::chrono::milliseconds(50);
constexpr auto kSleepChunk = std::chrono::milliseconds(200);
// Liveness costs a system call; a producer that never waits asks every this many sends.
constexpr unsigned kSendsPerCheck = 32;

Result<void> validate_ring_name(std::string_view name) {
  auto bad = [&](std::string why) { return fail(Errc::invalid_argument, "open", name, std::move(why)); };
  if (name.empty()) return bad("a ring needs a name");
  if (name.size() > 200) return bad(fmt::format("ring name is {} bytes; at most 200", name.size()));
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return bad("a ring name may hold only letters, digits, '-', '_' and '.'");
  }
  if (name.find("..") != std::string_view::npos) return bad("a ring name may not contain '..'");
  return {};
}

std::uint64_t next_pow2(std::uint64_t v) {
  std::uint64_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

Clock::time_point coarse_now() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return Clock::time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
}

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// MAP_POPULATE: fault every page in now, not on the data path.
Result<Mapping> map_ring(int fd, std::size_t n, const std::string& object) {
  return Mapping::map(fd, n, Access::read_write, 0, MAP_POPULATE, object);
}

// Makes a complete ring file in /dev/shm and links it as `path`. EEXIST (kept as the
// error's code) if someone else linked first.
Result<void> create_segment(const std::string& path, const RingConfig& cfg, unsigned mode, const std::string& object) {
  const std::uint64_t total = cfg.total_size;
  std::string tmp_path;
  // O_TMPFILE: the file has no name until linkat; a crash before then leaves nothing.
  auto opened = sys::open(std::string(kFileDir).c_str(), O_TMPFILE | O_RDWR, mode & 07777);
  if (!opened) {
    // No O_TMPFILE here: a temporary name, removed once linked.
    static std::atomic<unsigned> counter{0};
    tmp_path = fmt::format("{}.tmp.{}.{}", path, ::getpid(), counter.fetch_add(1));
    opened = sys::open(tmp_path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW, mode & 07777);
    if (!opened) return fail(std::move(opened.error()));
  }
  Fd fd = std::move(*opened);
  auto cleanup = [&] {
    if (!tmp_path.empty()) (void)sys::unlink(tmp_path.c_str());
  };
  // Exactly the mode asked: open() applied the umask.
  if (auto r = sys::fchmod(fd.get(), mode & 07777); !r) {
    cleanup();
    return fail(std::move(r.error()).with_object(object));
  }
  // Reserve every byte now, so a full /dev/shm fails here and not as SIGBUS later (the
  // same reservation, and the same words for a full /dev/shm, as every POSIX segment).
  const std::string dir(kFileDir);
  if (auto r = detail::reserve_backing(fd.get(), 0, total, object, dir.c_str()); !r) {
    cleanup();
    return fail(std::move(r.error()));
  }
  {
    auto m = map_ring(fd.get(), total, object);
    if (!m) {
      cleanup();
      return fail(std::move(m.error()));
    }
    write_identity(m->bytes(), cfg);
  }
  if (tmp_path.empty()) {
    std::string proc = fmt::format("/proc/self/fd/{}", fd.get());
    auto l = sys::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW);
    if (!l) return fail(std::move(l.error()).with_object(object));
    return {};
  }
  auto l = sys::link(tmp_path.c_str(), path.c_str());
  cleanup();
  if (!l) return fail(std::move(l.error()).with_object(object));
  return {};
}

}  // namespace

// One side of a ring: a producer (RingWriter) or a consumer (RingReader).
class ShmRing final : public ChannelImpl {
 public:
  struct Params {
    std::string name;
    std::string object;  // how errors name it: the URL, or shm://NAME
    RingOptions opt;
    bool consumer = false;
  };

  static Result<std::unique_ptr<ShmRing>> open(const Params& p);
  ~ShmRing() override;

  // ChannelImpl
  Result<void> send(std::span<const std::byte> msg, Deadline d, const SendOptions& o) override;
  Result<Received> receive(std::span<std::byte> buf, Deadline d, const ReceiveOptions& o) override;
  Result<Message> receive_message(Deadline d, const ReceiveOptions& o) override;
  // Batches: spsc producers write a run of records and publish it at once; spsc, mpsc and
  // policy=block consumers take every message that is ready and release them at once. The
  // others (mpsc producers, the publisher, policy=drop subscribers) send or receive one by
  // one (ChannelImpl's loop).
  BatchSent send_batch(std::span<const std::span<const std::byte>> msgs, Deadline d, const SendOptions& o) override;
  Result<std::size_t> receive_batch(MessageBatch& batch, Deadline d, const ReceiveOptions& o) override;
  int pollable_fd() const noexcept override { return efd_.get(); }
  std::size_t max_message_size() const noexcept override { return info_.max_message; }
  Result<Loan> loan(std::size_t size, Deadline d) override;
  Result<void> commit(Loan& loan, std::size_t size, const SendOptions& o) override;
  void abandon(Loan& loan) noexcept override;
  Result<ReadView> read(Deadline d) override;
  void finish_read(ReadView& view) noexcept override;

  const RingInfo& info() const noexcept { return info_; }
  std::uint64_t lost() const noexcept { return lost_total_; }
  const std::string& object() const noexcept { return object_; }

 private:
  ShmRing() = default;
  Result<void> attach_role(bool& busy);
  void detach() noexcept;
  // Removes the name if no side is attached or attaching and no message waits (the last
  // side out; an open that created the ring and then failed).
  void remove_if_unused() noexcept;

  enum class Got : std::uint8_t { value, again, error };
  // The next view into `v`, waiting by the deadline; Got::error with err_ set otherwise.
  // A message that is there already is taken inline, so that a caller in this file keeps
  // the view in registers: a View written through memory by a call and read back at once
  // costs a store-forwarding stall on the hot path.
  // next_view_slow does the rest: the checks, records the fast path leaves (padding, a
  // gap, a drop subscriber's cursor) and the wait.
  Got next_view(Deadline d, const char* op, RingReader::View& v) {
    if (reader_ && !view_active_ && reader_->try_read_fast(v)) [[likely]] return Got::value;
    return next_view_slow(d, op, v);
  }
  Got next_view_slow(Deadline d, const char* op, RingReader::View& v);
  // A view too large for a buffer of `room` bytes: put back (it stays next), and the error.
  std::unexpected<Error> too_large(const RingReader::View& v, std::size_t room);
  Got reserve(std::size_t len, Deadline d, const char* op, RingWriter::Reservation& r);
  Got read_attempt(bool force, RingReader::View& v, const char* op);
  Got reserve_attempt(bool force, std::size_t len, RingWriter::Reservation& r, const char* op);
  template <class Attempt>
  Got wait_loop(Deadline d, WaitLine& wl, const char* op, Attempt&& attempt);

  // Liveness. `force`: ask the kernel (rate-limited by the caller).
  Result<bool> producer_side_gone(bool force, const char* op);
  Result<bool> consumer_side_gone(bool force, const char* op);
  std::uint64_t reap_slots() noexcept;  // returns the dead slots that could not be reaped yet
  bool single_alive() const noexcept;
  bool due() noexcept;
  std::unexpected<Error> corrupt(const char* op, const char* why) const {
    return fail(Errc::corrupt, op, object_, why);
  }
  // Whether messages wait for a consumer (spsc/mpsc): then the last side out keeps the name.
  bool undelivered() const noexcept;
  // Marks slot i free and counts one side fewer attached (a clean detach or a reaped death).
  void free_slot(std::uint32_t i) noexcept;
  // Whether the ring's name still leads to the file this side opened (`mine`, its fstat).
  bool still_named(const struct stat& mine) const noexcept;

  // The pollable descriptor's thread (wait=poll consumers).
  Result<void> start_bridge();
  void bridge_main();
  bool bridge_should_signal(Clock::time_point& last_check) const noexcept;
  void rearm_bridge() noexcept;

  std::string name_;
  std::string object_;
  std::string path_;
  Fd fd_;
  Mapping map_;
  RingConfig cfg_;
  RingInfo info_;
  RingOptions opt_;
  bool consumer_ = false;
  bool asymmetric_ = false;
  long lock_byte_ = -1;
  std::uint32_t slot_ = 0;
  Header* hdr_ = nullptr;
  std::unique_ptr<RingWriter> writer_;
  std::unique_ptr<RingReader> reader_;

  bool loan_active_ = false;
  RingWriter::Reservation res_;
  bool view_active_ = false;
  RingReader::View view_;
  std::uint64_t lost_total_ = 0;
  unsigned sends_ = 0;
  Clock::time_point last_check_{};
  Error err_;  // the error of the last attempt that failed

  Fd efd_;
  std::thread bridge_;
  std::atomic<std::uint32_t> bridge_armed_{1};
  std::atomic<bool> bridge_stop_{false};
};

Result<std::unique_ptr<ShmRing>> ShmRing::open(const Params& p) {
  if (auto v = validate_ring_name(p.name); !v) return fail(std::move(v.error()));
  const RingOptions& o = p.opt;
  // The ring this side would create.
  RingConfig want;
  want.pattern = to_layout(o.pattern.value_or(RingPattern::spsc));
  if (o.policy && want.pattern != Pattern::pubsub) {
    return fail(Errc::invalid_argument, "open", p.object, "policy= applies to pattern=pubsub only");
  }
  want.policy = o.policy.value_or(SlowSubscriber::block) == SlowSubscriber::block ? Policy::block : Policy::drop;
  if (o.slots && (*o.slots < 1 || *o.slots > kMaxSlots)) {
    return fail(Errc::invalid_argument, "open", p.object, fmt::format("slots={} outside 1..{}", *o.slots, kMaxSlots));
  }
  want.slots = want.pattern == Pattern::spsc ? 1 : o.slots.value_or(kDefaultSlots);
  if (o.capacity && (*o.capacity < kMinCapacity || *o.capacity > kMaxCapacity)) {
    return fail(Errc::invalid_argument, "open", p.object,
                fmt::format("capacity={} outside [{}, {}]", *o.capacity, kMinCapacity, kMaxCapacity));
  }
  if (o.max_message && (*o.max_message == 0 || *o.max_message > max_payload(kMaxCapacity))) {
    return fail(Errc::invalid_argument, "open", p.object, fmt::format("max={} is out of range", *o.max_message));
  }
  if (o.capacity) {
    want.capacity = next_pow2(*o.capacity);
  } else {
    want.capacity = kDefaultCapacity;
    if (o.max_message) want.capacity = std::max<std::uint64_t>(want.capacity, next_pow2(2 * record_span(*o.max_message)));
  }
  want.max_message = o.max_message.value_or(max_payload(want.capacity));
  if (want.max_message > max_payload(want.capacity)) {
    return fail(Errc::invalid_argument, "open", p.object,
                fmt::format("max={} needs capacity of at least {} (a message takes at most half the ring)",
                            want.max_message, next_pow2(2 * record_span(want.max_message))));
  }
  want.header_size = kHeaderSize;
  want.total_size = kHeaderSize + want.capacity;

  std::unique_ptr<ShmRing> r(new ShmRing());
  r->name_ = p.name;
  r->object_ = p.object;
  r->path_ = ring_path(p.name);
  r->opt_ = o;
  r->consumer_ = p.consumer;
  r->asymmetric_ = register_asymmetric_fence();

  for (int attempt = 0; attempt < 100; ++attempt) {
    bool created = false;
    auto opened = sys::open(r->path_.c_str(), O_RDWR | O_NOFOLLOW);
    if (!opened) {
      if (opened.error().code() != ENOENT) return fail(std::move(opened.error()).with_object(p.object));
      if (o.create == RingCreate::open_only) {
        return fail(Error::from_errno("open", ENOENT, p.object).with_detail("no such ring, and create=0"));
      }
      auto c = create_segment(r->path_, want, o.mode, p.object);
      if (!c) {
        if (c.error().code() == EEXIST) continue;  // another side created it first: open that one
        return fail(std::move(c.error()));
      }
      opened = sys::open(r->path_.c_str(), O_RDWR | O_NOFOLLOW);
      if (!opened) {
        if (opened.error().code() == ENOENT) continue;  // already removed again; start over
        return fail(std::move(opened.error()).with_object(p.object));
      }
      created = true;
    } else if (o.create == RingCreate::exclusive) {
      return fail(Error::from_errno("open", EEXIST, p.object).with_detail("the ring exists, and excl=1"));
    }
    r->fd_ = std::move(*opened);
    // An open that created the ring and fails before it is attached removes it again, so
    // that a failed open leaves no name behind (unless another side attached meanwhile).
    struct UndoCreate {
      ShmRing* ring;
      bool armed;
      ~UndoCreate() {
        if (armed) ring->remove_if_unused();
      }
    } undo{r.get(), created};
    // Attach under a shared gate lock: a closing side that removes the name takes it
    // exclusively, so the name we opened cannot be removed while we attach.
    if (auto g = sys::ofd_lock(r->fd_.get(), sys::LockKind::read, kLockGate, 1); !g) {
      return fail(std::move(g.error()).with_object(p.object));
    }
    auto mine = sys::fstat(r->fd_.get());
    if (!mine) return fail(std::move(mine.error()).with_object(p.object));
    if (!r->still_named(*mine)) {
      r->fd_.reset();  // removed (and maybe re-created) between our open and our lock
      continue;
    }
    // Before anything is read or attached: a ring another user made first is not ours.
    if (auto own = check_owner(mine->st_uid, o.any_owner, p.object, "open"); !own) return fail(std::move(own.error()));
    auto size = check_ring_file(*mine, p.object);
    if (!size) return fail(std::move(size.error()));
    auto m = map_ring(r->fd_.get(), *size, p.object);
    if (!m) return fail(std::move(m.error()));
    r->map_ = std::move(*m);
    auto cfg = read_identity(r->map_.bytes(), r->map_.size(), p.object);
    if (!cfg) return fail(std::move(cfg.error()));
    r->cfg_ = *cfg;
    auto mismatch = [&](const char* what, auto have, auto asked) {
      return fail(Errc::invalid_argument, "open", p.object,
                  fmt::format("the ring exists with {}={}, not {}; open it without {}=, or remove it first", what, have,
                              asked, what));
    };
    if (o.pattern && want.pattern != cfg->pattern) {
      return mismatch("pattern", to_string(describe(*cfg).pattern), to_string(*o.pattern));
    }
    if (o.capacity && want.capacity != cfg->capacity) return mismatch("capacity", cfg->capacity, want.capacity);
    if (o.max_message && want.max_message != cfg->max_message) return mismatch("max", cfg->max_message, want.max_message);
    if (o.policy && want.policy != cfg->policy) {
      return mismatch("policy", to_string(describe(*cfg).policy), to_string(*o.policy));
    }
    if (o.slots && cfg->pattern != Pattern::spsc && want.slots != cfg->slots) return mismatch("slots", cfg->slots, want.slots);
    r->hdr_ = reinterpret_cast<Header*>(r->map_.bytes());
    r->info_ = describe(*cfg);
    r->info_.name = p.name;
    r->info_.created = created;
    bool busy = false;
    auto a = r->attach_role(busy);
    (void)sys::ofd_lock(r->fd_.get(), sys::LockKind::unlock, kLockGate, 1);
    if (!a) return fail(std::move(a.error()));
    undo.armed = false;  // attached: from here on the ring is detach()'s to remove
    if (r->consumer_ && o.wait == WaitStrategy::poll) {
      if (auto b = r->start_bridge(); !b) return fail(std::move(b.error()));  // ~ShmRing detaches
    }
    return r;
  }
  return fail(Errc::system, "open", p.object, "the ring kept being removed and re-created while opening; gave up");
}

// Takes this side's role lock, marks the session, and attaches the writer or reader.
// Runs under the gate lock.
Result<void> ShmRing::attach_role(bool& busy) {
  const bool pubsub = cfg_.pattern == Pattern::pubsub;
  const bool single = pubsub ? !consumer_ : consumer_;
  SessionLine& ses = hdr_->session;
  if (single) {
    auto got = sys::ofd_try_lock(fd_.get(), sys::LockKind::write, kLockSingle, 1);
    if (!got) return fail(std::move(got.error()).with_object(object_));
    if (!*got) {
      busy = true;
      return fail(Error::from_errno("open", EBUSY, object_)
                      .with_detail(fmt::format("the ring already has a {}", pubsub ? "publisher" : "consumer")));
    }
    lock_byte_ = kLockSingle;
  } else {
    for (std::uint32_t i = 0; i < cfg_.slots && lock_byte_ < 0; ++i) {
      auto got = sys::ofd_try_lock(fd_.get(), sys::LockKind::write, kLockSlot0 + i, 1);
      if (!got) return fail(std::move(got.error()).with_object(object_));
      if (!*got) continue;
      Slot& s = hdr_->slots[i];
      // acquire: a previous holder's last stores to the slot.
      if (s.state.load(std::memory_order_acquire) == kSlotUsed) {
        // Its holder died. An mpsc reservation it left behind is the consumer's to skip
        // first; otherwise reap the slot and take it.
        const std::uint64_t cp = s.claim_pos.load(std::memory_order_acquire);  // acquire: as the consumer loads claims
        if (cfg_.pattern == Pattern::mpsc && cp != kClaimIdle) {
          (void)sys::ofd_lock(fd_.get(), sys::LockKind::unlock, kLockSlot0 + i, 1);
          continue;
        }
        free_slot(i);
      }
      lock_byte_ = kLockSlot0 + i;
      slot_ = i;
    }
    if (lock_byte_ < 0) {
      busy = true;
      return fail(Error::from_errno("open", EBUSY, object_)
                      .with_detail(cfg_.pattern == Pattern::spsc
                                       ? std::string("the spsc ring already has a producer (pattern=mpsc takes many)")
                                       : fmt::format("all {} slots are taken (slots= at creation sets how many)", cfg_.slots)));
    }
  }
  Step s = Step::ok;
  if (consumer_) {
    reader_ = std::make_unique<RingReader>(map_.bytes(), cfg_, slot_, asymmetric_);
    s = reader_->attach();  // pubsub: marks the slot used and joins
    if (s == Step::corrupt) {
      auto e = corrupt("open", reader_->why());
      reader_.reset();
      (void)sys::ofd_lock(fd_.get(), sys::LockKind::unlock, lock_byte_, 1);
      lock_byte_ = -1;
      return e;
    }
  } else {
    if (!single) {
      Slot& sl = hdr_->slots[slot_];
      sl.claim_pos.store(kClaimIdle, std::memory_order_relaxed);  // relaxed: published by the state's release
      sl.state.store(kSlotUsed, std::memory_order_release);  // release: the idle claim first
    }
    writer_ = std::make_unique<RingWriter>(map_.bytes(), cfg_, slot_, asymmetric_);
    s = writer_->attach();
    if (s == Step::corrupt) {
      auto e = corrupt("open", writer_->why());
      writer_.reset();
      if (!single) hdr_->slots[slot_].state.store(kSlotFree, std::memory_order_release);  // release: as free_slot; never counted live
      (void)sys::ofd_lock(fd_.get(), sys::LockKind::unlock, lock_byte_, 1);
      lock_byte_ = -1;
      return e;
    }
  }
  // release: the attachment (and for a reader, its join) is visible with the state.
  if (single) {
    // acquire: the previous holder's last state, and what it did before.
    const std::uint32_t before = ses.single_state.exchange(kSingleAttached, std::memory_order_acq_rel);
    if (!pubsub && before != kSingleNever) {
      // A consumer that takes over from an earlier one (killed or closed) counts only the
      // producers of its own session: after what was left for it, it waits for the next
      // producer instead of calling producers that left before it came "gone" (which
      // stranded the next producer's messages). A first consumer still counts those (send,
      // then recv). seq_cst with the producer's two stores below: if a producer attaches
      // meanwhile, either our reset comes first or we see its count and undo it.
      std::uint32_t one = 1;
      if (ses.many_live.load(std::memory_order_seq_cst) == 0 &&
          ses.many_ever.compare_exchange_strong(one, 0, std::memory_order_seq_cst) &&
          ses.many_live.load(std::memory_order_seq_cst) != 0) {
        ses.many_ever.store(1, std::memory_order_seq_cst);
      }
    }
  } else {
    // seq_cst (also orders with free_slot's CAS): see the consumer's reset above.
    ses.many_live.fetch_add(1, std::memory_order_seq_cst);
    ses.many_ever.store(1, std::memory_order_seq_cst);
  }
  return {};
}

void ShmRing::free_slot(std::uint32_t i) noexcept {
  // release: everything the slot's holder did happens before a peer sees the slot free.
  hdr_->slots[i].state.store(kSlotFree, std::memory_order_release);
  SessionLine& ses = hdr_->session;
  // relaxed: a first guess for the CAS, which (acq_rel) orders the count with the state.
  std::uint32_t live = ses.many_live.load(std::memory_order_relaxed);
  while (live > 0 && !ses.many_live.compare_exchange_weak(live, live - 1, std::memory_order_acq_rel)) {
  }
}

bool ShmRing::undelivered() const noexcept {
  if (cfg_.pattern == Pattern::pubsub) return false;  // publish/subscribe keeps nothing for later
  // acquire: the consumer's last release of a record (its reads of it) came before.
  const std::uint64_t head = hdr_->consumer.head.load(std::memory_order_acquire);
  // A message among the first records after the read position. Past 64 padding or
  // abandoned records, or records that fail a check, the name is kept too: removing it
  // is the one step that cannot be undone (ipcx rm removes it by hand).
  const RecordWalk w = walk_records(map_.bytes(), cfg_, head, ~std::uint64_t{0}, 64);
  return w.messages > 0 || w.step != Step::none;
}

bool ShmRing::still_named(const struct stat& mine) const noexcept {
  auto named = sys::stat(path_.c_str());
  return named && named->st_ino == mine.st_ino && named->st_dev == mine.st_dev;
}

void ShmRing::detach() noexcept {
  if (!hdr_ || lock_byte_ < 0) return;
  SessionLine& ses = hdr_->session;
  if (loan_active_ && writer_) {
    writer_->abandon(res_);
    loan_active_ = false;
  }
  const bool pubsub = cfg_.pattern == Pattern::pubsub;
  if (lock_byte_ == kLockSingle) {
    // release: everything this side did happens before a peer sees it gone.
    ses.single_state.store(kSingleDetached, std::memory_order_release);
    // Wake those waiting on us, so they see it now rather than at their next check.
    WaitLine& wl = pubsub ? hdr_->data_wait : hdr_->space_wait;
    wl.futex.fetch_add(1, std::memory_order_release);  // release: as RingBase::wake
    (void)sys::futex_wake(&wl.futex, INT_MAX);
  } else {
    free_slot(slot_);
    WaitLine& wl = pubsub ? hdr_->space_wait : hdr_->data_wait;
    wl.futex.fetch_add(1, std::memory_order_release);  // release: as RingBase::wake
    (void)sys::futex_wake(&wl.futex, INT_MAX);
  }
  (void)sys::ofd_lock(fd_.get(), sys::LockKind::unlock, lock_byte_, 1);
  lock_byte_ = -1;
  remove_if_unused();
}

void ShmRing::remove_if_unused() noexcept {
  if (!fd_) return;
  // The last side out removes the name, unless messages wait for a consumer. Nobody can
  // be attached or attaching while we hold every byte exclusively. (No header: an open
  // that failed before mapping the ring it created; nothing was ever sent into it.)
  auto all = sys::ofd_try_lock(fd_.get(), sys::LockKind::write, kLockGate, kLockSlot0 + kMaxSlots);
  if (all && *all) {
    if (!hdr_ || !undelivered()) {
      // Only our own file: the name may have been removed and made again by another ring.
      auto mine = sys::fstat(fd_.get());
      if (mine && still_named(*mine)) (void)sys::unlink(path_.c_str());
    }
    (void)sys::ofd_lock(fd_.get(), sys::LockKind::unlock, kLockGate, kLockSlot0 + kMaxSlots);
  }
}

ShmRing::~ShmRing() {
  if (bridge_.joinable()) {
    // release: the thread that sees the stop (acquire) or either futex word change stops.
    bridge_stop_.store(true, std::memory_order_release);
    bridge_armed_.store(1, std::memory_order_release);
    (void)sys::futex_wake(&bridge_armed_, INT_MAX);
    hdr_->data_wait.futex.fetch_add(1, std::memory_order_release);
    (void)sys::futex_wake(&hdr_->data_wait.futex, INT_MAX);
    bridge_.join();
  }
  detach();
}

// ---------------------------------------------------------------------------------------
// Liveness

bool ShmRing::due() noexcept {
  const auto now = coarse_now();
  if (now - last_check_ < kLivenessInterval) return false;
  last_check_ = now;
  return true;
}

bool ShmRing::single_alive() const noexcept {
  auto c = sys::ofd_conflict(fd_.get(), sys::LockKind::write, kLockSingle, 1);
  return !c || *c;  // when in doubt, alive
}

std::uint64_t ShmRing::reap_slots() noexcept {
  std::uint64_t dead = 0;
  for (std::uint32_t i = 0; i < cfg_.slots; ++i) {
    Slot& s = hdr_->slots[i];
    // acquire: the slot holder's attach (release) and what it did before.
    if (s.state.load(std::memory_order_acquire) != kSlotUsed) continue;
    auto got = sys::ofd_try_lock(fd_.get(), sys::LockKind::write, kLockSlot0 + i, 1);
    if (!got || !*got) continue;  // alive (or attaching)
    if (reader_ && !reader_->claim_settled(i)) {
      dead |= std::uint64_t{1} << i;  // a reservation of its is still ahead of us
    } else {
      free_slot(i);
      if (writer_) writer_->invalidate();
    }
    (void)sys::ofd_lock(fd_.get(), sys::LockKind::unlock, kLockSlot0 + i, 1);
  }
  return dead;
}

// A producer (spsc/mpsc) asks: is the consumer gone? The publisher never is told so.
Result<bool> ShmRing::producer_side_gone(bool force, const char* op) {
  if (cfg_.pattern == Pattern::pubsub) {
    if (force) reap_slots();  // dead subscribers must not hold the publisher back
    return false;
  }
  // acquire: a consumer's detach is seen with everything it did before.
  const std::uint32_t st = hdr_->session.single_state.load(std::memory_order_acquire);
  if (st == kSingleDetached) {
    return fail(Errc::peer_gone, op, object_, "the consumer closed the ring");
  }
  if (st == kSingleAttached && force && !single_alive()) {
    // Keep the finding without a flag on the fast path: the next send makes the forced
    // check again, and goes on only if a consumer has attached since.
    sends_ = kSendsPerCheck - 1;
    last_check_ = {};
    return fail(Errc::peer_gone, op, object_, "the consumer died");
  }
  return false;
}

// A consumer or subscriber asks: is the producing side gone (after the ring is drained)?
// Returns true if it made progress (skipped a dead producer's reservation).
Result<bool> ShmRing::consumer_side_gone(bool force, const char* op) {
  SessionLine& ses = hdr_->session;
  if (cfg_.pattern == Pattern::pubsub) {
    // acquire: the publisher's last commit happens before its detach is seen.
    const std::uint32_t st = ses.single_state.load(std::memory_order_acquire);
    if (st == kSingleDetached) return fail(Errc::peer_gone, op, object_, "the publisher closed the ring");
    if (st == kSingleAttached && force && !single_alive()) return fail(Errc::peer_gone, op, object_, "the publisher died");
    return false;
  }
  if (ses.many_ever.load(std::memory_order_acquire) == 0) return false;  // no producer yet: wait for one
  if (force) {
    const std::uint64_t dead = reap_slots();
    if (dead != 0) {
      const Step s = reader_->skip_dead_claim(dead);
      if (s == Step::corrupt) return corrupt(op, reader_->why());
      if (s == Step::ok) return true;
    }
  }
  // acquire: a producer's last commit happens before its detach is seen.
  if (ses.many_live.load(std::memory_order_acquire) == 0) {
    return fail(Errc::peer_gone, op, object_, cfg_.pattern == Pattern::spsc ? "the producer is gone" : "every producer is gone");
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// Waiting

// attempt(force) returns Got::value, Got::again ("not yet"), or Got::error with err_ set.
// Waits by this side's strategy until the deadline; on timeout (or "not yet" for an
// immediate deadline) err_ is set without allocating: these are data-path outcomes.
template <class Attempt>
ShmRing::Got ShmRing::wait_loop(Deadline d, WaitLine& wl, const char* op, Attempt&& attempt) {
  Got g = attempt(false);
  if (g != Got::again) return g;
  if (d.is_immediate()) {
    g = attempt(due());
    if (g == Got::again) err_ = Error::make(Errc::would_block, op);
    return g;
  }
  const WaitStrategy ws = opt_.wait;
  const auto timed_out = [&] {
    err_ = Error::make(Errc::timed_out, op);
    return Got::error;
  };
  // Spin: the peer is probably about to act, and a wake-up costs far more than this.
  const auto spin_end = Clock::now() + (ws == WaitStrategy::spin ? std::chrono::microseconds(0) : opt_.spin);
  // wait=spin polls without `pause` (it costs ~50 ns on recent AMD cores, added to every
  // wake-up): that strategy burns its core by choice. The others' spin phase is polite.
  // Waiting for space is a throughput matter, not a latency one: always polite there.
  const bool polite = ws != WaitStrategy::spin || &wl == &hdr_->space_wait;
  for (unsigned i = 1;; ++i) {
    if (polite) cpu_relax();
    const bool periodic = (i & 255) == 0;
    g = attempt(periodic && due());
    if (g != Got::again) return g;
    if (!periodic) continue;
    const auto now = Clock::now();
    if (!d.is_never() && now >= d.time_point()) return timed_out();
    if (ws != WaitStrategy::spin && now >= spin_end) break;
  }
  if (ws == WaitStrategy::yield) {
    for (;;) {
      ::sched_yield();
      g = attempt(due());
      if (g != Got::again) return g;
      if (d.expired()) return timed_out();
    }
  }
  // Sleep on the futex: announce ourselves, make sure the peer's "any sleepers?" load
  // sees that or we see its work, then sleep until woken or the next liveness check.
  for (;;) {
    Deadline chunk = Deadline::after(kSleepChunk);
    if (!d.is_never() && d.time_point() < chunk.time_point()) chunk = d;
    const std::uint32_t seen = announce_sleep(wl);
    g = attempt(false);
    if (g != Got::again) {
      wl.waiters.fetch_sub(1, std::memory_order_relaxed);  // relaxed: only a hint for wakers
      return g;
    }
    auto w = sys::futex_wait(&wl.futex, seen, chunk);
    wl.waiters.fetch_sub(1, std::memory_order_relaxed);  // relaxed: only a hint for wakers
    if (!w && !w.error().would_block() && !w.error().timed_out()) {
      err_ = std::move(w.error()).with_object(object_);
      return Got::error;
    }
    g = attempt(due());
    if (g != Got::again) return g;
    if (d.expired()) return timed_out();
  }
}

ShmRing::Got ShmRing::read_attempt(bool force, RingReader::View& v, const char* op) {
  for (int round = 0; round < 2; ++round) {
    const Step s = reader_->try_read(v);
    if (s == Step::ok) return Got::value;
    if (s == Step::corrupt) {
      err_ = Error::make(Errc::corrupt, op, object_, reader_->why());
      return Got::error;
    }
    auto gone = consumer_side_gone(force, op);
    if (gone && *gone) continue;  // skipped a dead producer's reservation: look again
    if (!gone) {
      // Drain first: what was committed before the peer left is still delivered.
      if (gone.error().peer_gone() && reader_->try_read(v) == Step::ok) return Got::value;
      err_ = std::move(gone.error());
      return Got::error;
    }
    break;
  }
  return Got::again;
}

ShmRing::Got ShmRing::next_view_slow(Deadline d, const char* op, RingReader::View& v) {
  if (!reader_) [[unlikely]] {
    err_ = Error::make(Errc::invalid_argument, op, object_,
                       "this side of the ring sends; receive on a side opened with Channel::bind or ?role=recv");
    return Got::error;
  }
  if (view_active_) [[unlikely]] {
    err_ = Error::make(Errc::invalid_argument, op, object_, "release the previous view first");
    return Got::error;
  }
  // The wait looks first (read_attempt: try_read, then whether the peer is gone).
  Got g = wait_loop(d, hdr_->data_wait, op, [&](bool force) { return read_attempt(force, v, op); });
  if (g != Got::value && efd_ && (err_.would_block() || err_.timed_out())) {
    // Poll mode: the caller goes back to epoll; re-arm the doorbell, then look once more
    // so that a message that came in between is not left unsignalled.
    rearm_bridge();
    if (read_attempt(false, v, op) == Got::value) g = Got::value;
  }
  if (g != Got::value) return g;
  lost_total_ += v.lost;
  return Got::value;
}

ShmRing::Got ShmRing::reserve_attempt(bool force, std::size_t len, RingWriter::Reservation& r, const char* op) {
  if (cfg_.pattern != Pattern::pubsub || force) {
    auto gone = producer_side_gone(force, op);
    if (!gone) {
      err_ = std::move(gone.error());
      return Got::error;
    }
  }
  const Step s = writer_->try_reserve(len, r);
  if (s == Step::ok) return Got::value;
  if (s == Step::corrupt) {
    err_ = Error::make(Errc::corrupt, op, object_, writer_->why());
    return Got::error;
  }
  return Got::again;  // full
}

ShmRing::Got ShmRing::reserve(std::size_t len, Deadline d, const char* op, RingWriter::Reservation& r) {
  if (!writer_) [[unlikely]] {
    err_ = Error::make(Errc::invalid_argument, op, object_,
                       "this side of the ring receives; send on a side opened with Channel::open or ?role=send");
    return Got::error;
  }
  if (loan_active_) [[unlikely]] {
    err_ = Error::make(Errc::invalid_argument, op, object_, "commit or drop the previous loan first");
    return Got::error;
  }
  if (len > cfg_.max_message) [[unlikely]] {
    err_ = Error::make(Errc::message_too_large, op, object_,
                       fmt::format("{} bytes; the ring's maximum message is {} (max= at creation)", len, cfg_.max_message))
               .with_size(len);
    return Got::error;
  }
  if (++sends_ % kSendsPerCheck == 0 && due()) [[unlikely]] {
    auto gone = producer_side_gone(true, op);
    if (!gone) {
      err_ = std::move(gone.error());
      return Got::error;
    }
  }
  // Fast path: room now and the consumer has not left.
  if ((cfg_.pattern == Pattern::pubsub ||
       hdr_->session.single_state.load(std::memory_order_acquire) != kSingleDetached) &&  // acquire: as in producer_side_gone
      writer_->try_reserve(len, r) == Step::ok) [[likely]] {
    return Got::value;
  }
  return wait_loop(d, hdr_->space_wait, op, [&](bool force) { return reserve_attempt(force, len, r, op); });
}

// ---------------------------------------------------------------------------------------
// Channel

Result<void> ShmRing::send(std::span<const std::byte> msg, Deadline d, const SendOptions&) {
  RingWriter::Reservation r;
  if (reserve(msg.size(), d, "send", r) != Got::value) return fail(std::move(err_));
  if (!msg.empty()) std::memcpy(r.data, msg.data(), msg.size());
  writer_->commit(r, msg.size());
  return {};
}

Result<Received> ShmRing::receive(std::span<std::byte> buf, Deadline d, const ReceiveOptions&) {
  RingReader::View v;
  if (next_view(d, "receive", v) != Got::value) return fail(std::move(err_));
  if (v.len > buf.size()) return too_large(v, buf.size());
  if (v.len != 0) std::memcpy(buf.data(), v.data, v.len);
  reader_->finish_read(v);
  Result<Received> out(std::in_place);
  out->size = v.len;
  out->lost = v.lost;
  return out;
}

std::unexpected<Error> ShmRing::too_large(const RingReader::View& v, std::size_t room) {
  reader_->unread(v);
  lost_total_ -= v.lost;
  return fail(Error::make(Errc::message_too_large, "receive", object_,
                          fmt::format("the message is {} bytes, the buffer {}", v.len, room))
                  .with_size(v.len));
}

BatchSent ShmRing::send_batch(std::span<const std::span<const std::byte>> msgs, Deadline d, const SendOptions& o) {
  // Runs are the single producer's: mpsc producers claim each record on the shared tail,
  // and the publisher's runs are not written yet.
  if (!writer_ || cfg_.pattern != Pattern::spsc) return ChannelImpl::send_batch(msgs, d, o);
  std::size_t i = 0;
  while (i < msgs.size()) {
    // A run's first record is reserved as a send's: by the deadline, its size and the
    // consumer checked. The rest join the run while they fit now; then the run is
    // published and the next message (a wait for space, a size error) starts another.
    RingWriter::Reservation r;
    if (reserve(msgs[i].size(), d, "send", r) != Got::value) return BatchSent{.sent = i, .error = fail(std::move(err_))};
    writer_->begin_run();
    do {
      if (!msgs[i].empty()) std::memcpy(r.data, msgs[i].data(), msgs[i].size());
      writer_->commit_in_run(r, msgs[i].size());
      ++i;
    } while (i < msgs.size() && msgs[i].size() <= cfg_.max_message &&
             writer_->try_reserve_in_run(msgs[i].size(), r) == Step::ok);
    writer_->publish_run();
  }
  return BatchSent{.sent = msgs.size(), .error = {}};
}

Result<std::size_t> ShmRing::receive_batch(MessageBatch& b, Deadline d, const ReceiveOptions& o) {
  // A policy=drop subscriber pins each record it reads (the publisher may move its cursor).
  if (!reader_ || (cfg_.pattern == Pattern::pubsub && cfg_.policy == Policy::drop)) {
    return ChannelImpl::receive_batch(b, d, o);
  }
  if (auto c = check_batch(b, object_); !c) return fail(std::move(c.error()));
  batch_begin(b);
  RingReader::View v;
  if (next_view(d, "receive", v) != Got::value) return fail(std::move(err_));
  const std::size_t room = b.message_size();
  if (v.len > room) return too_large(v, room);
  // Then every message that is ready behind it, up to the batch's capacity, read ahead
  // and released together at the end.
  const std::uint64_t from = v.pos;
  std::uint64_t at = v.next;
  std::size_t n = 0;
  for (;;) {
    if (v.len != 0) std::memcpy(batch_slot(b, n).data(), v.data, v.len);
    Received& info = batch_info(b, n);
    info.size = v.len;
    info.lost = v.lost;
    if (++n == b.capacity() || !reader_->try_read_ahead(at, room, v)) break;
  }
  reader_->finish_reads(from, at);
  batch_end(b, n);
  return n;
}

Result<Message> ShmRing::receive_message(Deadline d, const ReceiveOptions&) {
  RingReader::View v;
  if (next_view(d, "receive", v) != Got::value) return fail(std::move(err_));
  Result<Message> m(std::in_place);
  m->data.assign(v.data, v.data + v.len);
  m->lost = v.lost;
  reader_->finish_read(v);
  return m;
}

Result<Loan> ShmRing::loan(std::size_t size, Deadline d) {
  if (reserve(size, d, "loan", res_) != Got::value) return fail(std::move(err_));
  loan_active_ = true;
  return lend(std::span<std::byte>(res_.data, size), res_.pos);
}

Result<void> ShmRing::commit(Loan& loan, std::size_t size, const SendOptions&) {
  // The token alone does not tell two rings' loans apart: both lend at position 0 first.
  if (!loan_active_ || !lent(loan) || loan.token() != res_.pos) [[unlikely]] {
    return fail(Errc::invalid_argument, "commit", object_, "the loan is not this channel's outstanding loan");
  }
  if (size > res_.capacity) [[unlikely]] {
    return fail(Error::make(Errc::message_too_large, "commit", object_,
                            fmt::format("committing {} bytes of a {}-byte loan", size, res_.capacity))
                    .with_size(size));
  }
  writer_->commit(res_, size);
  loan_active_ = false;
  disarm(loan);
  return {};
}

void ShmRing::abandon(Loan& loan) noexcept {
  if (!loan_active_ || !lent(loan) || loan.token() != res_.pos) return;
  writer_->abandon(res_);
  loan_active_ = false;
  disarm(loan);
}

Result<ReadView> ShmRing::read(Deadline d) {
  const auto take = [this](const RingReader::View& v) {
    view_ = v;
    view_active_ = true;
    return make_view(std::span<const std::byte>(v.data, v.len), v.pos, v.lost);
  };
  if (reader_ && !view_active_) [[likely]] {
    // Its own local, never passed to a call, so the compiler keeps it in registers.
    RingReader::View v;
    if (reader_->try_read_fast(v)) return take(v);
  }
  RingReader::View v;
  if (next_view_slow(d, "read", v) != Got::value) return fail(std::move(err_));
  return take(v);
}

void ShmRing::finish_read(ReadView& view) noexcept {
  if (!view_active_ || view.token() != view_.pos) return;
  reader_->finish_read(view_);
  view_active_ = false;
}

// ---------------------------------------------------------------------------------------
// The pollable descriptor (wait=poll): one thread per consumer handle that sleeps on the
// ring for the consumer and rings an eventfd when there is something to read (or the
// peer is gone), then waits to be re-armed by the consumer once it has drained the ring.
// The eventfd is this process's own, so no descriptor has to cross to the producer. It
// reads only shared memory (RingReader::readable, stalled) beside the consumer's thread.

Result<void> ShmRing::start_bridge() {
  auto e = sys::eventfd(0, EFD_NONBLOCK);
  if (!e) {
    return fail(std::move(e.error())
                    .with_object(object_)
                    .with_detail("wait=poll needs an eventfd for pollable_fd(); open without wait=poll to wait in the call"));
  }
  efd_ = std::move(*e);
  bridge_ = std::thread([this] { bridge_main(); });
  return {};
}

void ShmRing::rearm_bridge() noexcept {
  (void)sys::eventfd_take(efd_.get());  // would_block when already clear: fine
  // release: the drain above happens before the thread looks at the ring again.
  bridge_armed_.store(1, std::memory_order_release);
  (void)sys::futex_wake(&bridge_armed_, 1);
}

bool ShmRing::bridge_should_signal(Clock::time_point& last_check) const noexcept {
  if (reader_->readable()) return true;
  const auto now = coarse_now();
  if (now - last_check < kLivenessInterval) return false;
  last_check = now;
  // Read-only checks (the consumer's thread does the reaping).
  const SessionLine& ses = hdr_->session;
  if (cfg_.pattern == Pattern::pubsub) {
    // acquire: as consumer_side_gone reads them.
    const std::uint32_t st = ses.single_state.load(std::memory_order_acquire);
    return st == kSingleDetached || (st == kSingleAttached && !single_alive());
  }
  if (ses.many_ever.load(std::memory_order_acquire) == 0) return false;
  if (ses.many_live.load(std::memory_order_acquire) == 0) return true;
  bool any_dead = false, any_alive = false;
  for (std::uint32_t i = 0; i < cfg_.slots; ++i) {
    if (hdr_->slots[i].state.load(std::memory_order_acquire) != kSlotUsed) continue;
    auto c = sys::ofd_conflict(fd_.get(), sys::LockKind::write, kLockSlot0 + i, 1);
    if (c && !*c) any_dead = true; else any_alive = true;
  }
  return any_dead && (!any_alive || reader_->stalled());
}

void ShmRing::bridge_main() {
  Clock::time_point last_check{};
  WaitLine& wl = hdr_->data_wait;
  while (!bridge_stop_.load(std::memory_order_acquire)) {
    // acquire: the consumer's drain of the eventfd happened before it re-armed us.
    if (bridge_armed_.load(std::memory_order_acquire) == 0) {
      (void)sys::futex_wait(&bridge_armed_, 0, Deadline::after(std::chrono::milliseconds(500)));
      continue;
    }
    if (bridge_should_signal(last_check)) {
      bridge_armed_.store(0, std::memory_order_relaxed);  // relaxed: only this thread clears it
      (void)sys::eventfd_add(efd_.get(), 1);
      continue;
    }
    const std::uint32_t seen = announce_sleep(wl);
    if (!reader_->readable() && !bridge_stop_.load(std::memory_order_acquire)) {
      (void)sys::futex_wait(&wl.futex, seen, Deadline::after(kSleepChunk));
    }
    wl.waiters.fetch_sub(1, std::memory_order_relaxed);
  }
}

// ---------------------------------------------------------------------------------------
// The opener for Channel::open / Channel::bind.

Result<std::unique_ptr<ChannelImpl>> open_shm_ring(const Url& url, bool bind) {
  auto o = RingOptions::from_url(url);
  if (!o) return fail(std::move(o.error()));
  bool consumer = bind;
  if (auto role = url.option("role")) {
    if (*role == "send") {
      consumer = false;
    } else if (*role == "recv") {
      consumer = true;
    } else {
      return fail(Errc::bad_url, "url", url.text, fmt::format("option role='{}' is not send or recv", *role));
    }
  }
  ShmRing::Params p{url.name, url.text, *o, consumer};
  auto r = ShmRing::open(p);
  if (!r) return fail(std::move(r.error()));
  return std::unique_ptr<ChannelImpl>(std::move(*r));
}

}  // namespace detail

// ---------------------------------------------------------------------------------------
// Options and handles

Result<RingOptions> RingOptions::from_url(const Url& url) {
  if (auto c = url.check_options({"capacity", "max", "pattern", "policy", "slots", "wait", "spin", "mode", "create",
                                  "excl", "role", "owner"});
      !c) {
    return fail(std::move(c.error()));
  }
  auto bad = [&](std::string why) { return fail(Errc::bad_url, "url", url.text, std::move(why)); };
  RingOptions o;
  if (url.option("capacity")) {
    auto v = url.option_size("capacity", 0);
    if (!v) return fail(std::move(v.error()));
    o.capacity = *v;
  }
  if (url.option("max")) {
    auto v = url.option_size("max", 0);
    if (!v) return fail(std::move(v.error()));
    o.max_message = *v;
  }
  if (auto v = url.option("pattern")) {
    if (*v == "spsc") o.pattern = RingPattern::spsc;
    else if (*v == "mpsc") o.pattern = RingPattern::mpsc;
    else if (*v == "pubsub") o.pattern = RingPattern::pubsub;
    else return bad(fmt::format("option pattern='{}' is not spsc, mpsc or pubsub", *v));
  }
  if (auto v = url.option("policy")) {
    if (*v == "block") o.policy = SlowSubscriber::block;
    else if (*v == "drop") o.policy = SlowSubscriber::drop;
    else return bad(fmt::format("option policy='{}' is not block or drop", *v));
  }
  if (url.option("slots")) {
    auto v = url.option_uint("slots", 0);
    if (!v) return fail(std::move(v.error()));
    if (*v < 1 || *v > detail::ring::kMaxSlots) return bad(fmt::format("option slots={} is not 1..{}", *v, detail::ring::kMaxSlots));
    o.slots = static_cast<unsigned>(*v);
  }
  if (auto v = url.option("wait")) {
    if (*v == "spin") o.wait = WaitStrategy::spin;
    else if (*v == "yield") o.wait = WaitStrategy::yield;
    else if (*v == "sleep") o.wait = WaitStrategy::sleep;
    else if (*v == "poll") o.wait = WaitStrategy::poll;
    else return bad(fmt::format("option wait='{}' is not spin, yield, sleep or poll", *v));
  }
  auto spin = url.option_uint("spin", 20);
  if (!spin) return fail(std::move(spin.error()));
  if (*spin > 10'000'000) return bad("option spin= is in microseconds, at most 10000000");
  o.spin = std::chrono::microseconds(*spin);
  auto mode = url.option_mode("mode", 0600);
  if (!mode) return fail(std::move(mode.error()));
  o.mode = *mode;
  auto any = detail::owner_any(url);
  if (!any) return fail(std::move(any.error()));
  o.any_owner = *any;
  auto create = url.option_bool("create", true);
  if (!create) return fail(std::move(create.error()));
  auto excl = url.option_bool("excl", false);
  if (!excl) return fail(std::move(excl.error()));
  if (*excl && !*create) return bad("excl=1 asks to create and create=0 forbids it");
  o.create = *excl ? RingCreate::exclusive : *create ? RingCreate::open_or_create : RingCreate::open_only;
  return o;
}

RingProducer::RingProducer() = default;
RingProducer::RingProducer(std::unique_ptr<detail::ShmRing> impl) : impl_(std::move(impl)) {}
RingProducer::RingProducer(RingProducer&&) noexcept = default;
RingProducer& RingProducer::operator=(RingProducer&&) noexcept = default;
RingProducer::~RingProducer() = default;

Result<RingProducer> RingProducer::open(std::string_view name, const RingOptions& o) {
  detail::ShmRing::Params p{std::string(name), ring_url(name), o, false};
  auto r = detail::ShmRing::open(p);
  if (!r) return fail(std::move(r.error()));
  return RingProducer(std::move(*r));
}

namespace {
std::unexpected<Error> empty_handle(const char* op) {
  return fail(Errc::invalid_argument, op, {}, "the ring handle is empty (moved from or default-constructed)");
}
}  // namespace

Result<Loan> RingProducer::loan(std::size_t size, Deadline d) {
  if (!impl_) return empty_handle("loan");
  return impl_->loan(size, d);
}
Result<void> RingProducer::commit(Loan&& loan, std::size_t size) {
  if (!impl_) return empty_handle("commit");
  return impl_->commit(loan, size, {});
}
Result<void> RingProducer::send(std::span<const std::byte> msg, Deadline d) {
  if (!impl_) return empty_handle("send");
  return impl_->send(msg, d, {});
}
const RingInfo& RingProducer::info() const noexcept {
  static const RingInfo kEmpty;
  return impl_ ? impl_->info() : kEmpty;
}
std::size_t RingProducer::max_message_size() const noexcept { return impl_ ? impl_->max_message_size() : 0; }
Channel RingProducer::into_channel() && {
  if (!impl_) return Channel();
  std::string url = impl_->object();
  return detail::ChannelAccess::make(std::move(impl_), std::move(url));
}

RingConsumer::RingConsumer() = default;
RingConsumer::RingConsumer(std::unique_ptr<detail::ShmRing> impl) : impl_(std::move(impl)) {}
RingConsumer::RingConsumer(RingConsumer&&) noexcept = default;
RingConsumer& RingConsumer::operator=(RingConsumer&&) noexcept = default;
RingConsumer::~RingConsumer() = default;

Result<RingConsumer> RingConsumer::open(std::string_view name, const RingOptions& o) {
  detail::ShmRing::Params p{std::string(name), ring_url(name), o, true};
  auto r = detail::ShmRing::open(p);
  if (!r) return fail(std::move(r.error()));
  return RingConsumer(std::move(*r));
}
Result<ReadView> RingConsumer::read(Deadline d) {
  if (!impl_) return empty_handle("read");
  return impl_->read(d);
}
Result<Received> RingConsumer::receive(std::span<std::byte> buf, Deadline d) {
  if (!impl_) return empty_handle("receive");
  return impl_->receive(buf, d, {});
}
int RingConsumer::pollable_fd() const noexcept { return impl_ ? impl_->pollable_fd() : -1; }
std::uint64_t RingConsumer::lost() const noexcept { return impl_ ? impl_->lost() : 0; }
const RingInfo& RingConsumer::info() const noexcept {
  static const RingInfo kEmpty;
  return impl_ ? impl_->info() : kEmpty;
}
std::size_t RingConsumer::max_message_size() const noexcept { return impl_ ? impl_->max_message_size() : 0; }
Channel RingConsumer::into_channel() && {
  if (!impl_) return Channel();
  std::string url = impl_->object();
  return detail::ChannelAccess::make(std::move(impl_), std::move(url));
}

Result<void> remove_ring(std::string_view name) {
  if (auto v = detail::validate_ring_name(name); !v) return fail(std::move(v.error()));
  std::string path = ring_path(name);
  if (auto u = sys::unlink(path.c_str()); !u) return fail(std::move(u.error()).with_object(ring_url(name)));
  return {};
}

}  // namespace ipcx
