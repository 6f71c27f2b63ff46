// SPDX-License-Identifier: MIT
// The ring in one process: header validation over hostile bytes, options, creation rules,
// and two threads on each pattern (these are the tests TSan checks).
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <new>
#include <random>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ipcx/channel.hpp"
#include "ipcx/detail/ring_layout.hpp"
#include "ipcx/ring.hpp"
#include "ring_core.hpp"
#include "support/test_support.hpp"

using namespace std::chrono_literals;
using ipcx::Deadline;
using ipcx::Errc;
namespace rl = ipcx::detail::ring;

namespace {

ipcx::RingOptions opts(std::size_t capacity, ipcx::RingPattern pattern = ipcx::RingPattern::spsc,
                       ipcx::WaitStrategy wait = ipcx::WaitStrategy::sleep) {
  ipcx::RingOptions o;
  o.capacity = capacity;
  o.pattern = pattern;
  o.wait = wait;
  return o;
}

bool ring_exists(const std::string& name) {
  struct stat st {};
  return ::stat(ipcx::ring_path(name).c_str(), &st) == 0;
}

// Page-aligned zeroed memory, as a mapping would be.
struct Memory {
  explicit Memory(std::size_t n) : bytes(static_cast<std::byte*>(::operator new(n, std::align_val_t{4096}))), len(n) {
    std::memset(bytes, 0, n);
  }
  ~Memory() { ::operator delete(bytes, std::align_val_t{4096}); }
  Memory(const Memory&) = delete;
  Memory& operator=(const Memory&) = delete;
  std::byte* data() const { return bytes; }
  std::size_t size() const { return len; }
  std::byte* bytes;
  std::size_t len;
};

// A header made by write_identity, as bytes to break.
std::unique_ptr<Memory> fresh_ring(std::uint64_t capacity, rl::Pattern pattern = rl::Pattern::spsc,
                                   std::uint32_t slots = 1) {
  ipcx::detail::RingConfig c;
  c.capacity = capacity;
  c.pattern = pattern;
  c.slots = slots;
  c.max_message = rl::max_payload(capacity);
  c.total_size = rl::kHeaderSize + capacity;
  auto mem = std::make_unique<Memory>(c.total_size);
  ipcx::detail::write_identity(mem->data(), c);
  return mem;
}

TEST(RingLayout, FreshHeaderValidates) {
  auto mem = fresh_ring(4096);
  auto c = ipcx::detail::read_identity(mem->data(), mem->size(), "t");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->capacity, 4096u);
  EXPECT_EQ(c->max_message, 4096u / 2 - 16);
}

TEST(RingLayout, EveryBrokenIdentityFieldIsCorrupt) {
  struct Case {
    const char* what;
    std::size_t offset;
    std::uint64_t value;
    int bytes;
  };
  const Case cases[] = {
      {"magic", 0, 0x1234, 8},          {"version", 8, 1, 4},          {"header size", 12, 4096, 4},
      {"capacity not pow2", 16, 5000, 8}, {"capacity huge", 16, 1ULL << 50, 8}, {"max too big", 24, 4096, 8},
      {"max zero", 24, 0, 8},           {"total size", 32, 1, 8},      {"pattern", 40, 9, 4},
      {"policy", 44, 7, 4},             {"slots zero", 48, 0, 4},      {"slots many", 48, 65, 4},
      {"record align", 52, 8, 4},
  };
  for (const auto& k : cases) {
    auto mem = fresh_ring(4096);
    std::memcpy(mem->data() + k.offset, &k.value, k.bytes);
    auto c = ipcx::detail::read_identity(mem->data(), mem->size(), "t");
    ASSERT_FALSE(c) << k.what;
    EXPECT_EQ(c.error().kind(), Errc::corrupt) << k.what;
  }
  auto mem = fresh_ring(4096);
  auto shorter = ipcx::detail::read_identity(mem->data(), mem->size() - 1, "t");  // header claims more than mapped
  ASSERT_FALSE(shorter);
  EXPECT_EQ(shorter.error().kind(), Errc::corrupt);
}

// A reader over random bytes (with a valid identity) reports corrupt or nothing; it never
// reads outside the buffer (ASan) and never loops forever.
TEST(RingLayout, ReaderOverRandomRecordsStaysInBounds) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    auto holder = fresh_ring(4096);
    Memory& mem = *holder;
    auto cfg = ipcx::detail::read_identity(mem.data(), mem.size(), "t");
    ASSERT_TRUE(cfg);
    // Records at plausible positions with random lengths and kinds.
    for (std::size_t off = 0; off < 4096; off += 16) {
      auto* r = reinterpret_cast<rl::RecordHeader*>(mem.data() + rl::kHeaderSize + off);
      r->stamp.store(rng() % 3 ? off | (rng() % 5) : rng(), std::memory_order_relaxed);
      r->len.store(static_cast<std::uint32_t>(rng() % 3 ? rng() % 5000 : rng()), std::memory_order_relaxed);
    }
    ipcx::detail::RingReader rd(mem.data(), *cfg, 0, false);
    ASSERT_EQ(rd.attach(), ipcx::detail::Step::ok);
    for (int i = 0; i < 64; ++i) {
      ipcx::detail::RingReader::View v;
      auto s = rd.try_read(v);
      if (s != ipcx::detail::Step::ok) break;
      ASSERT_LE(v.data + v.len, mem.data() + mem.size());
      ASSERT_GE(v.data, mem.data() + rl::kHeaderSize);
      rd.finish_read(v);
    }
  }
}

// Found by the fuzz target: positions from shared memory must be record-aligned before a
// writer adopts them, for every pattern.
TEST(RingLayout, WriterRefusesMisalignedPositions) {
  for (auto pattern : {rl::Pattern::spsc, rl::Pattern::mpsc, rl::Pattern::pubsub}) {
    for (int which = 0; which < 2; ++which) {
      auto mem = fresh_ring(4096, pattern);
      auto* h = reinterpret_cast<rl::Header*>(mem->data());
      auto cfg = ipcx::detail::read_identity(mem->data(), mem->size(), "t");
      ASSERT_TRUE(cfg);
      (which == 0 ? h->consumer.head : h->producer.tail).store(40, std::memory_order_relaxed);  // 8 mod 16
      if (which == 0) h->producer.tail.store(64, std::memory_order_relaxed);
      ipcx::detail::RingWriter w(mem->data(), *cfg, 0, false);
      if (pattern == rl::Pattern::pubsub && which == 0) continue;  // the publisher ignores head
      EXPECT_EQ(w.attach(), ipcx::detail::Step::corrupt) << static_cast<int>(pattern) << " " << which;
    }
  }
}

// The one record walker (the ring's own, ipcx ls/stat's, the last side's "messages
// left?"): counts messages, steps over padding and abandoned records, stops at the first
// incomplete record, and names the record that fails a check.
TEST(RingLayout, WalkerCountsMessagesAndStopsAtTheFirstBadRecord) {
  namespace d = ipcx::detail;
  auto mem = fresh_ring(4096);
  auto cfg = d::read_identity(mem->data(), mem->size(), "t");
  ASSERT_TRUE(cfg);
  d::RingWriter w(mem->data(), *cfg, 0, false);
  ASSERT_EQ(w.attach(), d::Step::ok);
  // Three messages of 10, 100 and 1000 bytes: records of 32, 128 and 1024 bytes.
  for (std::uint64_t len : {10u, 100u, 1000u}) {
    d::RingWriter::Reservation r;
    ASSERT_EQ(w.try_reserve(len, r), d::Step::ok);
    w.commit(r, len);
  }
  const std::uint64_t tail = 32 + 128 + 1024;
  auto all = d::walk_records(mem->data(), *cfg, 0, ~std::uint64_t{0}, 100);
  EXPECT_EQ(all.step, d::Step::none);  // stops at the record not yet written
  EXPECT_EQ(all.end, tail);
  EXPECT_EQ(all.messages, 3u);
  EXPECT_EQ(all.records, 3u);
  auto bounded = d::walk_records(mem->data(), *cfg, 0, 160, 100);
  EXPECT_EQ(bounded.step, d::Step::ok);
  EXPECT_EQ(bounded.end, 160u);
  EXPECT_EQ(bounded.messages, 2u);
  auto limited = d::walk_records(mem->data(), *cfg, 0, tail, 1);
  EXPECT_EQ(limited.step, d::Step::ok);
  EXPECT_EQ(limited.messages, 1u);

  auto* second = reinterpret_cast<rl::RecordHeader*>(mem->data() + rl::kHeaderSize + 32);
  // Padding is stepped over and not counted.
  second->stamp.store(32 | rl::kKindPadding, std::memory_order_relaxed);
  auto padded = d::walk_records(mem->data(), *cfg, 0, tail, 100);
  EXPECT_EQ(padded.step, d::Step::ok);
  EXPECT_EQ(padded.messages, 2u);
  // A message longer than the ring's maximum, an unknown kind, a misaligned start: corrupt.
  second->stamp.store(32 | rl::kKindMessage, std::memory_order_relaxed);
  second->len.store(static_cast<std::uint32_t>(cfg->max_message + 1), std::memory_order_relaxed);
  auto longer = d::walk_records(mem->data(), *cfg, 0, tail, 100);
  EXPECT_EQ(longer.step, d::Step::corrupt);
  EXPECT_EQ(longer.end, 32u);
  EXPECT_EQ(longer.messages, 1u);
  EXPECT_STREQ(longer.why, "a record is longer than the ring's maximum message");
  second->len.store(100, std::memory_order_relaxed);
  second->stamp.store(32 | 7, std::memory_order_relaxed);
  EXPECT_EQ(d::walk_records(mem->data(), *cfg, 0, tail, 100).step, d::Step::corrupt);
  EXPECT_EQ(d::walk_records(mem->data(), *cfg, 8, tail, 100).step, d::Step::corrupt);
}

// A writer that found the ring full waits for an eighth of it more than it needs
// (hysteresis), but never for more than an empty ring leaves: a maximal message that must
// wrap (padding + record = 4080 of 4096 bytes) goes in once the reader has caught up.
TEST(RingLayout, AFullRingDrainedTakesAWrappingMaximalMessage) {
  namespace d = ipcx::detail;
  for (auto pattern : {rl::Pattern::spsc, rl::Pattern::mpsc, rl::Pattern::pubsub}) {
    SCOPED_TRACE(static_cast<int>(pattern));
    auto mem = fresh_ring(4096, pattern);
    auto cfg = d::read_identity(mem->data(), mem->size(), "t");
    ASSERT_TRUE(cfg);
    d::RingWriter w(mem->data(), *cfg, 0, false);
    ASSERT_EQ(w.attach(), d::Step::ok);
    d::RingReader r(mem->data(), *cfg, 0, false);
    ASSERT_EQ(r.attach(), d::Step::ok);
    // Two records end at offset 2064 (spans 1024 and 1040).
    for (std::uint64_t len : {1008u, 1024u}) {
      d::RingWriter::Reservation res;
      ASSERT_EQ(w.try_reserve(len, res), d::Step::ok);
      w.commit(res, len);
    }
    // 2032 bytes (the maximum) do not fit after them: the writer is now starved.
    d::RingWriter::Reservation big;
    ASSERT_EQ(w.try_reserve(2032, big), d::Step::none);
    for (int i = 0; i < 2; ++i) {
      d::RingReader::View v;
      ASSERT_EQ(r.try_read(v), d::Step::ok);
      r.finish_read(v);
    }
    // Empty again: the message wraps (2032 bytes of padding, a 2048-byte record) and fits.
    ASSERT_EQ(w.try_reserve(2032, big), d::Step::ok);
    w.commit(big, 2032);
    d::RingReader::View v;
    ASSERT_EQ(r.try_read(v), d::Step::ok);
    EXPECT_EQ(v.len, 2032u);
    r.finish_read(v);
  }
}

// A single writer that found the ring full sleeps until the read position it waits for is
// reached (space_wait.wake_at). A reader wakes it only with the release that crosses that
// position: each release before it, or past it, makes no system call. The reservation that
// waited fits exactly when the last reader has crossed.
TEST(RingLayout, AWriterWaitingForSpaceIsWokenByTheReleaseThatFreesIt) {
  namespace d = ipcx::detail;
  for (auto pattern : {rl::Pattern::spsc, rl::Pattern::pubsub}) {
    SCOPED_TRACE(static_cast<int>(pattern));
    const std::uint32_t readers = pattern == rl::Pattern::pubsub ? 2 : 1;
    auto mem = fresh_ring(4096, pattern, readers);
    auto* h = reinterpret_cast<rl::Header*>(mem->data());
    auto cfg = d::read_identity(mem->data(), mem->size(), "t");
    ASSERT_TRUE(cfg);
    d::RingWriter w(mem->data(), *cfg, 0, false);
    ASSERT_EQ(w.attach(), d::Step::ok);
    std::vector<std::unique_ptr<d::RingReader>> rs;
    for (std::uint32_t i = 0; i < readers; ++i) {
      rs.push_back(std::make_unique<d::RingReader>(mem->data(), *cfg, i, false));
      ASSERT_EQ(rs.back()->attach(), d::Step::ok);
    }
    d::RingWriter::Reservation res;
    int sent = 0;
    while (w.try_reserve(100, res) == d::Step::ok) {
      w.commit(res, 100);
      ++sent;
    }
    ASSERT_GT(sent, 8);
    const std::uint64_t at = h->space_wait.wake_at.load();
    ASSERT_GT(at, 0u);
    // The writer goes to sleep.
    std::uint32_t futex = ipcx::detail::announce_sleep(h->space_wait);
    for (std::uint32_t i = 0; i < readers; ++i) {
      SCOPED_TRACE(i);
      const bool last = i + 1 == readers;
      int kicks = 0;
      for (int m = 0; m < sent; ++m) {
        d::RingReader::View v;
        ASSERT_EQ(rs[i]->try_read(v), d::Step::ok);
        const bool crosses = v.pos < at && v.next >= at;
        if (last && v.pos < at) {
          // Asked again and again (a refresh, then the cached bound), it does not fit yet.
          for (int again = 0; again < 2; ++again) {
            EXPECT_EQ(w.try_reserve(100, res), d::Step::none) << "fits at " << v.pos << ", before " << at;
          }
        }
        rs[i]->finish_read(v);
        const std::uint32_t now = h->space_wait.futex.load();
        if (crosses) {
          EXPECT_EQ(now, futex + 1) << "release " << m << " crossed " << at << " without a wake-up";
          ++kicks;
          if (last) {
            EXPECT_EQ(w.try_reserve(100, res), d::Step::ok) << "does not fit after the last reader crossed";
          }
          // The writer wakes, finds (pubsub) another reader in the way and sleeps again.
          h->space_wait.waiters.fetch_sub(1);
          futex = ipcx::detail::announce_sleep(h->space_wait);
        } else {
          EXPECT_EQ(now, futex) << "release " << m << " (" << v.pos << ".." << v.next << ") woke the writer waiting for "
                                << at;
        }
      }
      EXPECT_EQ(kicks, 1);
    }
    h->space_wait.waiters.fetch_sub(1);
  }
}

TEST(RingOptions, FromUrl) {
  auto u = ipcx::Url::parse("shm://x?capacity=64k&max=1k&pattern=pubsub&policy=drop&slots=4&wait=spin&spin=5&mode=0640&excl=1");
  ASSERT_TRUE(u);
  auto o = ipcx::RingOptions::from_url(*u);
  ASSERT_TRUE(o) << o.error().message();
  EXPECT_EQ(*o->capacity, 65536u);
  EXPECT_EQ(*o->max_message, 1024u);
  EXPECT_EQ(*o->pattern, ipcx::RingPattern::pubsub);
  EXPECT_EQ(*o->policy, ipcx::SlowSubscriber::drop);
  EXPECT_EQ(*o->slots, 4u);
  EXPECT_EQ(o->wait, ipcx::WaitStrategy::spin);
  EXPECT_EQ(o->spin, 5us);
  EXPECT_EQ(o->mode, 0640u);
  EXPECT_EQ(o->create, ipcx::RingCreate::exclusive);
  for (const char* bad : {"shm://x?wait=nap", "shm://x?pattern=mpmc", "shm://x?slots=0", "shm://x?slots=65",
                          "shm://x?colour=red", "shm://x?excl=1&create=0", "shm://x?policy=maybe"}) {
    auto b = ipcx::Url::parse(bad);
    ASSERT_TRUE(b) << bad;
    auto r = ipcx::RingOptions::from_url(*b);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind(), Errc::bad_url) << bad;
  }
}

TEST(RingOpen, CreationRules) {
  const std::string name = ipcx::test::unique_name("rules");
  ipcx::RingOptions only = opts(4096);
  only.create = ipcx::RingCreate::open_only;
  auto none = ipcx::RingConsumer::open(name, only);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), ENOENT);

  auto rx = ipcx::RingConsumer::open(name, opts(4096));
  ASSERT_TRUE(rx) << rx.error().message();
  EXPECT_TRUE(rx->info().created);
  struct stat st {};
  ASSERT_EQ(::stat(ipcx::ring_path(name).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // owner-only

  ipcx::RingOptions excl = opts(4096);
  excl.create = ipcx::RingCreate::exclusive;
  auto e = ipcx::RingProducer::open(name, excl);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code(), EEXIST);

  auto second = ipcx::RingConsumer::open(name, opts(4096));  // spsc: one consumer
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), EBUSY);

  auto mismatch = ipcx::RingProducer::open(name, opts(8192));
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().kind(), Errc::invalid_argument);
  EXPECT_NE(mismatch.error().detail().find("capacity=4096"), std::string::npos) << mismatch.error().message();

  ipcx::RingOptions any;  // no layout options: takes the ring as it is
  auto tx = ipcx::RingProducer::open(name, any);
  ASSERT_TRUE(tx) << tx.error().message();
  EXPECT_FALSE(tx->info().created);
  EXPECT_EQ(tx->info().capacity, 4096u);
  auto second_tx = ipcx::RingProducer::open(name, any);  // spsc: one producer
  ASSERT_FALSE(second_tx);
  EXPECT_EQ(second_tx.error().code(), EBUSY);

  // Too large for the ring, and a short buffer: errors that say the size, nothing lost.
  std::vector<std::byte> big(tx->max_message_size() + 1);
  auto tl = tx->try_send(big);
  ASSERT_FALSE(tl);
  EXPECT_EQ(tl.error().kind(), Errc::message_too_large);
  EXPECT_EQ(tl.error().size(), big.size());
  ASSERT_TRUE(tx->try_send(ipcx::as_bytes("hello world")));
  std::array<std::byte, 4> small{};
  auto sh = rx->try_receive(small);
  ASSERT_FALSE(sh);
  EXPECT_EQ(sh.error().kind(), Errc::message_too_large);
  EXPECT_EQ(sh.error().size(), 11u);
  std::array<std::byte, 32> ok{};
  auto got = rx->try_receive(ok);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(ipcx::as_text(std::span(ok).first(got->size)), "hello world");

  // Wrong direction.
  auto wrong = std::move(*tx).into_channel().receive(ok, Deadline::immediate());
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().kind(), Errc::invalid_argument);
  rx = ipcx::RingConsumer();
  EXPECT_FALSE(ring_exists(name));
}

TEST(RingOpen, BadNamesAndSizes) {
  EXPECT_FALSE(ipcx::RingProducer::open("a/b", opts(4096)));
  EXPECT_FALSE(ipcx::RingProducer::open("..", opts(4096)));
  EXPECT_FALSE(ipcx::RingProducer::open("", opts(4096)));
  EXPECT_FALSE(ipcx::RingProducer::open(ipcx::test::unique_name("small"), opts(100)));
  ipcx::RingOptions o = opts(4096);
  o.max_message = 4096;  // a message must fit in half the ring
  auto r = ipcx::RingProducer::open(ipcx::test::unique_name("max"), o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), Errc::invalid_argument);
  o.capacity.reset();  // without a capacity, max chooses one big enough
  const std::string name = ipcx::test::unique_name("maxonly");
  auto fits = ipcx::RingProducer::open(name, o);
  ASSERT_TRUE(fits) << fits.error().message();
  EXPECT_GE(fits->max_message_size(), 4096u);
  EXPECT_TRUE(ipcx::remove_ring(name));
  EXPECT_FALSE(ipcx::remove_ring(name));
}

// The memory is reserved at creation: a ring larger than /dev/shm fails then, with ENOSPC
// and the free space named, and leaves nothing behind (not a SIGBUS on first touch).
TEST(RingOpen, FailsEarlyWhenShmIsTooSmall) {
  struct statvfs sv {};
  ASSERT_EQ(::statvfs("/dev/shm", &sv), 0);
  const std::uint64_t ask = std::uint64_t{1} << 40;
  if (static_cast<std::uint64_t>(sv.f_blocks) * sv.f_frsize >= ask) GTEST_SKIP() << "/dev/shm is at least 1 TiB";
  const std::string name = ipcx::test::unique_name("huge");
  auto r = ipcx::RingProducer::open(name, opts(ask));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ENOSPC) << r.error().message();
  EXPECT_NE(r.error().detail().find("free in /dev/shm"), std::string::npos) << r.error().message();
  EXPECT_FALSE(ring_exists(name));
}

// Two threads, every pattern. Under TSan these prove the orderings.
void run_threads(ipcx::RingPattern pattern, ipcx::WaitStrategy wait, int producers, std::uint32_t kEach = 20000) {
  const std::string name = ipcx::test::unique_name("threads");
  auto rx = ipcx::RingConsumer::open(name, opts(4096, pattern, wait));
  ASSERT_TRUE(rx) << rx.error().message();
  std::atomic<int> attached{0};
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      auto tx = ipcx::RingProducer::open(name, opts(4096, pattern, wait));
      if (!tx) {
        ++failures;
        return;
      }
      attached.fetch_add(1);
      while (attached.load() < producers) std::this_thread::yield();
      for (std::uint32_t i = 0; i < kEach; ++i) {
        std::uint32_t m[4] = {static_cast<std::uint32_t>(p), i, i * 3, ~i};
        const std::size_t len = 8 + (i % 3) * 4;
        if (i % 2) {
          if (!tx->send(std::span(reinterpret_cast<const std::byte*>(m), len), Deadline::after(10s))) ++failures;
        } else {
          auto loan = tx->loan(16, Deadline::after(10s));
          if (!loan) {
            ++failures;
            continue;
          }
          std::memcpy(loan->data().data(), m, 16);
          if (!tx->commit(std::move(*loan), len)) ++failures;
        }
      }
    });
  }
  std::vector<std::uint32_t> next(producers, 0);
  for (std::uint32_t n = 0; n < kEach * static_cast<std::uint32_t>(producers); ++n) {
    auto v = rx->read(Deadline::after(10s));
    ASSERT_TRUE(v) << v.error().message();
    std::uint32_t m[4] = {};
    ASSERT_GE(v->data().size(), 8u);
    std::memcpy(m, v->data().data(), v->data().size());
    ASSERT_LT(m[0], static_cast<std::uint32_t>(producers));
    ASSERT_EQ(m[1], next[m[0]]++);
    ASSERT_EQ(v->data().size(), 8 + (m[1] % 3) * 4);
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto end = rx->read(Deadline::after(5s));
  ASSERT_FALSE(end);
  EXPECT_EQ(end.error().kind(), Errc::peer_gone);
}

// Fewer messages: two spinning threads on a loaded two-core machine take turns slowly.
TEST(RingThreads, SpscSpin) { run_threads(ipcx::RingPattern::spsc, ipcx::WaitStrategy::spin, 1, 3000); }
TEST(RingThreads, SpscSleep) { run_threads(ipcx::RingPattern::spsc, ipcx::WaitStrategy::sleep, 1); }
TEST(RingThreads, MpscYield) { run_threads(ipcx::RingPattern::mpsc, ipcx::WaitStrategy::yield, 3); }
TEST(RingThreads, MpscSleep) { run_threads(ipcx::RingPattern::mpsc, ipcx::WaitStrategy::sleep, 2); }

// pubsub in threads: two block subscribers see everything; a drop subscriber that sleeps
// through it is told exactly how much it missed.
TEST(RingThreads, PubsubBlockAndDrop) {
  for (auto policy : {ipcx::SlowSubscriber::block, ipcx::SlowSubscriber::drop}) {
    const std::string name = ipcx::test::unique_name("pubsubt");
    constexpr std::uint32_t kCount = 20000;
    ipcx::RingOptions o = opts(4096, ipcx::RingPattern::pubsub);
    o.policy = policy;
    std::vector<ipcx::RingConsumer> subs;
    for (int s = 0; s < 2; ++s) {
      auto rx = ipcx::RingConsumer::open(name, o);
      ASSERT_TRUE(rx) << rx.error().message();
      subs.push_back(std::move(*rx));
    }
    std::thread pub([&] {
      auto tx = ipcx::RingProducer::open(name, o);
      ASSERT_TRUE(tx) << tx.error().message();
      for (std::uint32_t i = 0; i < kCount; ++i) {
        auto r = tx->send(std::span(reinterpret_cast<const std::byte*>(&i), 4), Deadline::after(10s));
        ASSERT_TRUE(r) << r.error().message();
      }
    });
    std::vector<std::thread> readers;
    std::atomic<int> bad{0};
    for (auto& sub : subs) {
      readers.emplace_back([&] {
        std::uint64_t next = 0, lost = 0;
        for (;;) {
          std::array<std::byte, 8> buf{};
          auto r = sub.receive(buf, Deadline::after(10s));
          if (!r) {
            if (!r.error().peer_gone()) ++bad;
            break;
          }
          std::uint32_t i;
          std::memcpy(&i, buf.data(), 4);
          if (i != next + r->lost) ++bad;
          lost += r->lost;
          next = i + 1;
        }
        if (next != kCount) ++bad;
        if (policy == ipcx::SlowSubscriber::block && lost != 0) ++bad;
        if (lost != sub.lost()) ++bad;
      });
    }
    pub.join();
    for (auto& t : readers) t.join();
    EXPECT_EQ(bad.load(), 0);
    subs.clear();
    EXPECT_FALSE(ring_exists(name));
  }
}

}  // namespace
