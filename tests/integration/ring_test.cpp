// SPDX-License-Identifier: MIT
// shm:// between two (or more) real processes: every pattern and wait strategy, zero-copy,
// peer death at the worst moments, hostile memory, epoll, and the CLI.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ipcx/channel.hpp"
#include "ipcx/detail/ring_layout.hpp"
#include "ipcx/ring.hpp"
#include "support/test_support.hpp"

using namespace std::chrono_literals;
using ipcx::Deadline;
using ipcx::Errc;
using ipcx::test::Child;

namespace {

// A one-byte-per-event pipe between parent and child, for ordering without sleeps.
struct Signal {
  int fds[2] = {-1, -1};
  Signal() { EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0); }
  ~Signal() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
  void post() const { EXPECT_EQ(::write(fds[1], "x", 1), 1); }
  // True if a byte came before the timeout.
  bool wait(std::chrono::milliseconds t = 10s) const {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(t.count())) != 1) return false;
    char c;
    return ::read(fds[0], &c, 1) == 1;
  }
};

// Message i: its index, then a size and bytes derived from it.
std::size_t size_of(std::uint32_t i, std::size_t max) { return 4 + (i * 7919u) % (max - 4); }
std::vector<std::byte> make_message(std::uint32_t i, std::size_t max) {
  std::vector<std::byte> m(size_of(i, max));
  std::memcpy(m.data(), &i, 4);
  for (std::size_t k = 4; k < m.size(); ++k) m[k] = static_cast<std::byte>((i + k) & 0xff);
  return m;
}
bool check_message(std::span<const std::byte> m, std::uint32_t expect, std::size_t max) {
  if (m.size() < 4) return false;
  std::uint32_t i;
  std::memcpy(&i, m.data(), 4);
  if (i != expect || m.size() != size_of(i, max)) return false;
  for (std::size_t k = 4; k < m.size(); ++k)
    if (m[k] != static_cast<std::byte>((i + k) & 0xff)) return false;
  return true;
}

ipcx::RingOptions with_capacity(std::size_t c, ipcx::WaitStrategy w = ipcx::WaitStrategy::sleep) {
  ipcx::RingOptions o;
  o.capacity = c;
  o.wait = w;
  return o;
}

bool ring_exists(const std::string& name) {
  struct stat st {};
  return ::stat(ipcx::ring_path(name).c_str(), &st) == 0;
}

class RingWait : public ::testing::TestWithParam<const char*> {};

// spsc across processes, in each wait strategy, with a ring small enough to wrap and fill
// many times; the consumer then hears peer_gone once the producer has closed.
TEST_P(RingWait, SpscCopiesEveryMessageInOrder) {
  const std::string name = ipcx::test::unique_name("spsc");
  const std::string opts = fmt::format("?capacity=16k&wait={}", GetParam());
  constexpr std::uint32_t kCount = 3000;
  constexpr std::size_t kMax = 1500;
  auto consumer = Child::spawn([&]() -> int {
    auto ch = ipcx::Channel::bind("shm://" + name + opts);
    if (!ch) return 10;
    std::vector<std::byte> buf(kMax);
    for (std::uint32_t i = 0; i < kCount; ++i) {
      auto r = ch->receive(buf, Deadline::after(10s));
      if (!r) return 11;
      if (!check_message(std::span(buf).first(r->size), i, kMax)) return 12;
    }
    auto end = ch->receive(buf, Deadline::after(10s));
    if (end || !end.error().peer_gone()) return 13;
    return 0;
  });
  {
    auto ch = ipcx::Channel::open("shm://" + name + opts);
    ASSERT_TRUE(ch) << ch.error().message();
    for (std::uint32_t i = 0; i < kCount; ++i) {
      auto r = ch->send(make_message(i, kMax), Deadline::after(10s));
      ASSERT_TRUE(r) << r.error().message();
    }
  }
  EXPECT_EQ(consumer.wait(), 0);
  EXPECT_FALSE(ring_exists(name));
}

INSTANTIATE_TEST_SUITE_P(Strategies, RingWait, ::testing::Values("spin", "yield", "sleep", "poll"));

// Zero-copy both ways: the producer writes in place and commits less than it loaned; the
// consumer reads in place.
TEST(Ring, ZeroCopyLoanCommitReadRelease) {
  const std::string name = ipcx::test::unique_name("zc");
  constexpr std::uint32_t kCount = 500;
  constexpr std::size_t kMax = 4000;
  auto consumer = Child::spawn([&]() -> int {
    auto rx = ipcx::RingConsumer::open(name, with_capacity(64 * 1024));
    if (!rx) return 10;
    for (std::uint32_t i = 0; i < kCount; ++i) {
      auto v = rx->read(Deadline::after(10s));
      if (!v) return 11;
      if (!check_message(v->data(), i, kMax)) return 12;
      if (reinterpret_cast<std::uintptr_t>(v->data().data()) % 16 != 0) return 14;
    }
    return 0;
  });
  auto tx = ipcx::RingProducer::open(name, with_capacity(64 * 1024));
  ASSERT_TRUE(tx) << tx.error().message();
  for (std::uint32_t i = 0; i < kCount; ++i) {
    auto m = make_message(i, kMax);
    if (i % 10 == 3) {
      // An abandoned loan in between: written, dropped, never delivered.
      auto dropped = tx->loan(kMax, Deadline::after(10s));
      ASSERT_TRUE(dropped) << dropped.error().message();
      std::memset(dropped->data().data(), 0xee, kMax);
    }
    auto loan = tx->loan(kMax, Deadline::after(10s));
    ASSERT_TRUE(loan) << loan.error().message();
    ASSERT_GE(loan->data().size(), m.size());
    std::memcpy(loan->data().data(), m.data(), m.size());
    ASSERT_TRUE(tx->commit(std::move(*loan), m.size()));
  }
  EXPECT_EQ(consumer.wait(), 0);
  tx = ipcx::RingProducer();
  EXPECT_FALSE(ring_exists(name));
}

// A loan is committed to the ring that lent it. Two fresh rings both lend at position 0,
// so the position alone cannot tell their loans apart: the other ring refuses it, and
// both loans still go where they belong.
TEST(Ring, ALoanCommittedToAnotherRingIsRefused) {
  const std::string a_name = ipcx::test::unique_name("loana");
  const std::string b_name = ipcx::test::unique_name("loanb");
  auto a_rx = ipcx::RingConsumer::open(a_name, with_capacity(4096));
  auto b_rx = ipcx::RingConsumer::open(b_name, with_capacity(4096));
  ASSERT_TRUE(a_rx && b_rx);
  auto a = ipcx::RingProducer::open(a_name);
  auto b = ipcx::RingProducer::open(b_name);
  ASSERT_TRUE(a && b);
  auto a_loan = a->loan(8);
  auto b_loan = b->loan(8);
  ASSERT_TRUE(a_loan && b_loan);
  ASSERT_EQ(a_loan->token(), b_loan->token());  // what made the mix-up pass before
  std::memcpy(a_loan->data().data(), "from-a", 6);
  std::memcpy(b_loan->data().data(), "from-b", 6);
  auto wrong = b->commit(std::move(*a_loan), 6);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().kind(), Errc::invalid_argument);
  EXPECT_TRUE(a_loan->active());  // still a's, still outstanding
  auto nothing = b_rx->try_read();
  ASSERT_FALSE(nothing);
  EXPECT_EQ(nothing.error().kind(), Errc::would_block);
  ASSERT_TRUE(b->commit(std::move(*b_loan), 6));
  ASSERT_TRUE(a->commit(std::move(*a_loan), 6));
  auto got_a = a_rx->read(Deadline::after(10s));
  auto got_b = b_rx->read(Deadline::after(10s));
  ASSERT_TRUE(got_a && got_b);
  EXPECT_EQ(ipcx::as_text(got_a->data()), "from-a");
  EXPECT_EQ(ipcx::as_text(got_b->data()), "from-b");
  // The same through the Channel API.
  auto ca = std::move(*a).into_channel();
  auto cb = std::move(*b).into_channel();
  auto c_loan = ca.loan(4);
  ASSERT_TRUE(c_loan);
  auto c_wrong = cb.commit(std::move(*c_loan), 4);
  ASSERT_FALSE(c_wrong);
  EXPECT_EQ(c_wrong.error().kind(), Errc::invalid_argument);
}

// wait=poll makes an eventfd (and a thread) per consumer: when the eventfd cannot be
// made, the open fails and says why, rather than handing out a consumer whose
// pollable_fd() is -1. The child leaves itself room for exactly one more descriptor: the
// ring's file.
TEST(Ring, PollOpenFailsWhenItsEventfdCannotBeMade) {
  const std::string name = ipcx::test::unique_name("noefd");
  auto child = Child::spawn([&]() -> int {
    const int lowest = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (lowest < 0) return 9;
    ::close(lowest);
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 10;
    lim.rlim_cur = static_cast<rlim_t>(lowest) + 1;
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) return 10;
    auto rx = ipcx::RingConsumer::open(name, with_capacity(4096, ipcx::WaitStrategy::poll));
    if (rx) return 11;  // opened, with no pollable descriptor
    if (rx.error().code() != EMFILE) return 12;
    if (rx.error().message().find("wait=poll") == std::string::npos) return 13;
    // Room for the eventfd again: the same open works, and the failed one left no trace.
    lim.rlim_cur = static_cast<rlim_t>(lowest) + 2;
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) return 14;
    auto ok = ipcx::RingConsumer::open(name, with_capacity(4096, ipcx::WaitStrategy::poll));
    if (!ok) return 15;
    if (!ok->info().created) return 16;
    if (ok->pollable_fd() < 0) return 17;
    return 0;
  });
  EXPECT_EQ(child.wait(), 0);
  EXPECT_FALSE(ring_exists(name));
}

// Many producers, one consumer: every producer's messages arrive complete and in its order.
TEST(Ring, MpscKeepsEachProducersOrder) {
  const std::string name = ipcx::test::unique_name("mpsc");
  const std::string url = "shm://" + name + "?pattern=mpsc&capacity=8k&slots=4";
  constexpr int kProducers = 3;
  constexpr std::uint32_t kEach = 2000;
  auto rx = ipcx::Channel::bind(url);
  ASSERT_TRUE(rx) << rx.error().message();
  // All attach before any sends: once every producer has gone, the consumer is told so.
  Signal attached, go;
  std::vector<Child> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.push_back(Child::spawn([&, p]() -> int {
      auto tx = ipcx::Channel::open(url);
      if (!tx) return 10;
      attached.post();
      if (!go.wait()) return 12;
      for (std::uint32_t i = 0; i < kEach; ++i) {
        std::uint32_t msg[4] = {static_cast<std::uint32_t>(p), i, ~i, i};
        std::size_t len = 8 + (i % 3) * 4;
        if (!tx->send(std::span(reinterpret_cast<const std::byte*>(msg), len), Deadline::after(10s))) return 11;
      }
      return 0;
    }));
  }
  for (int p = 0; p < kProducers; ++p) ASSERT_TRUE(attached.wait());
  for (int p = 0; p < kProducers; ++p) go.post();
  std::vector<std::uint32_t> next(kProducers, 0);
  for (std::uint32_t n = 0; n < kProducers * kEach; ++n) {
    auto m = rx->receive_message(Deadline::after(10s));
    ASSERT_TRUE(m) << m.error().message();
    ASSERT_GE(m->data.size(), 8u);
    std::uint32_t msg[4] = {};
    std::memcpy(msg, m->data.data(), m->data.size());
    ASSERT_LT(msg[0], static_cast<std::uint32_t>(kProducers));
    ASSERT_EQ(msg[1], next[msg[0]]++);
    ASSERT_EQ(m->data.size(), 8 + (msg[1] % 3) * 4);
    if (m->data.size() == 12) {
      ASSERT_EQ(msg[2], ~msg[1]);
    }
  }
  for (auto& p : producers) EXPECT_EQ(p.wait(), 0);
  auto end = rx->receive_message(Deadline::after(10s));
  ASSERT_FALSE(end);
  EXPECT_EQ(end.error().kind(), Errc::peer_gone) << end.error().message();
}

// Publish/subscribe, block policy: every subscriber sees every message, none lost.
TEST(Ring, PubsubBlockDeliversEverythingToEverySubscriber) {
  const std::string name = ipcx::test::unique_name("pubsub");
  const std::string url = "shm://" + name + "?pattern=pubsub&capacity=8k";
  constexpr int kSubs = 3;
  constexpr std::uint32_t kCount = 3000;
  constexpr std::size_t kMax = 600;
  Signal ready;
  auto pub = ipcx::Channel::open(url);
  ASSERT_TRUE(pub) << pub.error().message();
  std::vector<Child> subs;
  for (int s = 0; s < kSubs; ++s) {
    subs.push_back(Child::spawn([&]() -> int {
      auto rx = ipcx::Channel::bind(url);
      if (!rx) return 10;
      ready.post();
      std::vector<std::byte> buf(kMax);
      for (std::uint32_t i = 0; i < kCount; ++i) {
        auto r = rx->receive(buf, Deadline::after(10s));
        if (!r) return 11;
        if (r->lost != 0) return 12;
        if (!check_message(std::span(buf).first(r->size), i, kMax)) return 13;
      }
      auto end = rx->receive(buf, Deadline::after(10s));
      return !end && end.error().peer_gone() ? 0 : 14;
    }));
  }
  for (int s = 0; s < kSubs; ++s) ASSERT_TRUE(ready.wait());
  for (std::uint32_t i = 0; i < kCount; ++i) ASSERT_TRUE(pub->send(make_message(i, kMax), Deadline::after(10s)));
  pub = ipcx::Channel();
  for (auto& s : subs) EXPECT_EQ(s.wait(), 0);
  EXPECT_FALSE(ring_exists(name));
}

// Publish/subscribe, drop policy: a subscriber that does not keep up falls behind and is
// told exactly how many messages it missed, at the place it missed them.
TEST(Ring, PubsubDropTellsTheSlowSubscriberWhatItLost) {
  const std::string name = ipcx::test::unique_name("drop");
  const std::string url = "shm://" + name + "?pattern=pubsub&policy=drop&capacity=4k";
  constexpr std::uint32_t kCount = 1000;
  Signal joined, published;
  auto sub = Child::spawn([&]() -> int {
    auto rx = ipcx::Channel::bind(url);
    if (!rx) return 10;
    joined.post();
    if (!published.wait()) return 11;
    std::uint64_t expect = 0, received = 0, lost = 0;
    for (;;) {
      auto m = rx->receive_message(Deadline::after(10s));
      if (!m) {
        if (!m.error().peer_gone()) return 12;
        break;
      }
      std::uint32_t i;
      std::memcpy(&i, m->data.data(), 4);
      if (i != expect + m->lost) return 13;  // the loss is reported where it happened
      expect = i + 1;
      lost += m->lost;
      ++received;
    }
    if (received + lost != kCount) return 14;
    if (lost == 0) return 15;  // 1000 x 64 bytes cannot fit in 4 KiB
    return 0;
  });
  ASSERT_TRUE(joined.wait());
  {
    auto pub = ipcx::Channel::open(url);
    ASSERT_TRUE(pub) << pub.error().message();
    std::vector<std::byte> m(64);
    for (std::uint32_t i = 0; i < kCount; ++i) {
      std::memcpy(m.data(), &i, 4);
      ASSERT_TRUE(pub->send(m, Deadline::after(5s)));
    }
  }
  published.post();
  EXPECT_EQ(sub.wait(), 0);
  EXPECT_FALSE(ring_exists(name));
}

// A producer killed between loan and commit: the consumer gets what was committed, never
// the half-written message, hears peer_gone, and the name works again afterwards.
TEST(Ring, ProducerKilledBetweenLoanAndCommit) {
  for (const char* pattern : {"spsc", "mpsc"}) {
    SCOPED_TRACE(pattern);
    const std::string name = ipcx::test::unique_name("killp");
    const std::string url = fmt::format("shm://{}?pattern={}", name, pattern);
    Signal loaned;
    auto rx = ipcx::Channel::bind(url);
    ASSERT_TRUE(rx) << rx.error().message();
    auto producer = Child::spawn([&]() -> int {
      auto tx = ipcx::Channel::open(url);
      if (!tx) return 10;
      for (int i = 0; i < 3; ++i)
        if (!tx->send(ipcx::as_bytes(fmt::format("m{}", i)))) return 11;
      auto loan = tx->loan(100);
      if (!loan) return 12;
      std::memset(loan->data().data(), 'X', 100);
      loaned.post();
      ::pause();  // killed here, loan outstanding
      return 13;
    });
    ASSERT_TRUE(loaned.wait());
    producer.kill(SIGKILL);
    EXPECT_EQ(producer.wait(), 128 + SIGKILL);
    for (int i = 0; i < 3; ++i) {
      auto m = rx->receive_message(Deadline::after(5s));
      ASSERT_TRUE(m) << m.error().message();
      EXPECT_EQ(m->text(), fmt::format("m{}", i));
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto end = rx->receive_message(Deadline::after(5s));
    ASSERT_FALSE(end) << "delivered a half-written message: " << end->text();
    EXPECT_EQ(end.error().kind(), Errc::peer_gone) << end.error().message();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    rx = ipcx::Channel();
    // The name is usable again.
    auto rx2 = ipcx::Channel::bind(url);
    ASSERT_TRUE(rx2) << rx2.error().message();
    auto tx2 = ipcx::Channel::open(url);
    ASSERT_TRUE(tx2) << tx2.error().message();
    ASSERT_TRUE(tx2->send(ipcx::as_bytes("again")));
    auto m = rx2->receive_message(Deadline::after(5s));
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(m->text(), "again");
  }
}

// mpsc: a producer dies holding a reservation while another keeps sending; the consumer
// skips the dead one's space and keeps receiving the live one's messages.
TEST(Ring, MpscSkipsADeadProducersReservation) {
  const std::string name = ipcx::test::unique_name("mpscdead");
  const std::string url = "shm://" + name + "?pattern=mpsc&capacity=4k";
  Signal loaned;
  auto rx = ipcx::Channel::bind(url);
  ASSERT_TRUE(rx) << rx.error().message();
  auto dead = Child::spawn([&]() -> int {
    auto tx = ipcx::Channel::open(url);
    if (!tx) return 10;
    auto loan = tx->loan(200);
    if (!loan) return 11;
    loaned.post();
    ::pause();
    return 12;
  });
  ASSERT_TRUE(loaned.wait());
  Signal attached;
  auto live = Child::spawn([&]() -> int {
    auto tx = ipcx::Channel::open(url);
    if (!tx) return 10;
    attached.post();
    for (std::uint32_t i = 0; i < 200; ++i)  // more than the ring holds: needs the dead space back
      if (!tx->send(ipcx::as_bytes(fmt::format("live{}", i)), Deadline::after(10s))) return 11;
    return 0;
  });
  ASSERT_TRUE(attached.wait());  // else "every producer is gone" would be right
  dead.kill(SIGKILL);
  EXPECT_EQ(dead.wait(), 128 + SIGKILL);
  for (std::uint32_t i = 0; i < 200; ++i) {
    auto m = rx->receive_message(Deadline::after(10s));
    ASSERT_TRUE(m) << m.error().message();
    ASSERT_EQ(m->text(), fmt::format("live{}", i));
  }
  EXPECT_EQ(live.wait(), 0);
  auto end = rx->receive_message(Deadline::after(5s));
  ASSERT_FALSE(end);
  EXPECT_EQ(end.error().kind(), Errc::peer_gone) << end.error().message();
}

// A consumer killed while it holds a message in place: the producer hears peer_gone; the
// message it was reading is still there for the next consumer. Restarting just works: the
// new consumer drains what was left, then waits for the next producer (it used to call the
// producers that left before it came "gone" and exit, stranding the next one's messages),
// and the name goes away when the last side leaves.
TEST(Ring, ConsumerKilledMidRead) {
  const std::string name = ipcx::test::unique_name("killc");
  const std::string url = "shm://" + name + "?capacity=4k";
  Signal reading;
  auto tx = ipcx::Channel::open(url);
  ASSERT_TRUE(tx) << tx.error().message();
  ASSERT_TRUE(tx->send(ipcx::as_bytes("first")));
  auto consumer = Child::spawn([&]() -> int {
    auto rx = ipcx::Channel::bind(url);
    if (!rx) return 10;
    auto v = rx->read(Deadline::after(5s));
    if (!v || ipcx::as_text(v->data()) != "first") return 11;
    reading.post();
    ::pause();  // killed here, view outstanding
    return 12;
  });
  ASSERT_TRUE(reading.wait());
  consumer.kill(SIGKILL);
  EXPECT_EQ(consumer.wait(), 128 + SIGKILL);
  // Keep sending: the ring fills, and the producer learns that nobody will drain it.
  std::vector<std::byte> m(100, std::byte{'y'});
  ipcx::Result<void> r;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000 && (r = tx->send(m, Deadline::after(5s))); ++i) {
  }
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), Errc::peer_gone) << r.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  tx = ipcx::Channel();
  ASSERT_TRUE(ring_exists(name));  // messages wait in it
  {
    auto rx = ipcx::Channel::bind(url);
    ASSERT_TRUE(rx) << rx.error().message();
    auto first = rx->receive_message(Deadline::after(5s));
    ASSERT_TRUE(first) << first.error().message();
    EXPECT_EQ(first->text(), "first");
    for (;;) {
      auto n = rx->try_receive_message();
      if (!n) {
        EXPECT_EQ(n.error().kind(), Errc::would_block) << n.error().message();
        break;
      }
      EXPECT_EQ(n->data, m);
    }
    // The next producer's messages reach the restarted consumer.
    auto next = Child::spawn([&]() -> int {
      auto tx2 = ipcx::Channel::open(url);
      if (!tx2) return 20;
      return tx2->send(ipcx::as_bytes("again")) ? 0 : 21;
    });
    auto again = rx->receive_message(Deadline::after(10s));
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(again->text(), "again");
    EXPECT_EQ(next.wait(), 0);
    // That producer has left: now the consumer is told so.
    auto end = rx->receive_message(Deadline::after(10s));
    ASSERT_FALSE(end);
    EXPECT_EQ(end.error().kind(), Errc::peer_gone) << end.error().message();
  }
  EXPECT_FALSE(ring_exists(name));
}

// A corrupt record is told from "not yet written" (issue 13): a scribbled stamp read as
// "not yet written", so the reader ended with half the messages gone or both sides slept
// forever; a scribbled length delivered neighbouring records as one message. Now each is
// Errc::corrupt, on the ring and in what ipcx stat reads.
TEST(Ring, CorruptRecordsAreReportedNotWaitedFor) {
  namespace layout = ipcx::detail::ring;
  for (const bool scribble_stamp : {true, false}) {
    const std::string name = ipcx::test::unique_name(scribble_stamp ? "cstamp" : "clen");
    auto tx = ipcx::RingProducer::open(name, with_capacity(8192));
    ASSERT_TRUE(tx) << tx.error().message();
    auto rx = ipcx::RingConsumer::open(name, with_capacity(8192));
    ASSERT_TRUE(rx) << rx.error().message();
    for (const char* m : {"first", "second", "third"}) ASSERT_TRUE(tx->send(ipcx::as_bytes(m)));
    // Scribble over the first record, at position 0: as another process with the file could.
    auto file = ipcx::test::map_ring_file(name);
    ASSERT_TRUE(file) << file.error().message();
    auto* rec = static_cast<unsigned char*>(file->data()) + layout::kHeaderSize;
    if (scribble_stamp) {
      std::uint64_t junk = 0x5a5a5a5a5a5a5a50ULL;
      std::memcpy(rec, &junk, sizeof junk);  // no longer "position 0 | message"
    } else {
      // A length that still fits the ring and a message, but swallows "second" and more.
      std::uint32_t len = static_cast<std::uint32_t>(layout::record_span(5) + layout::record_span(6) - layout::kRecordHeader + 5);
      std::memcpy(rec + 8, &len, sizeof len);
    }
    std::vector<std::byte> buf(8192);
    auto r = rx->receive(buf, Deadline::after(5s));
    ASSERT_FALSE(r) << "delivered " << r->size << " bytes from a corrupt record";
    EXPECT_EQ(r.error().kind(), Errc::corrupt) << r.error().message();
    // ipcx stat reads the same records with the same code: it says so too.
    auto stat = ipcx::test::run(fmt::format("{} stat 'shm://{}'", ipcx::test::cli_path(), name));
    EXPECT_NE(stat.output.find("corrupt: "), std::string::npos) << stat.output;
    file = ipcx::Mapping();
    rx = ipcx::RingConsumer();
    tx = ipcx::RingProducer();
    (void)ipcx::remove_ring(name);
  }
}

// Hostile memory: another process scribbles random bytes over the header and the data
// while this one sends and receives. Every outcome is allowed except a crash or an
// out-of-bounds access (run under ASan).
TEST(Ring, SurvivesScribblingOverHeaderAndData) {
  const std::string name = ipcx::test::unique_name("scribble");
  auto tx = ipcx::RingProducer::open(name, with_capacity(8192));
  ASSERT_TRUE(tx) << tx.error().message();
  auto rx = ipcx::RingConsumer::open(name, with_capacity(8192, ipcx::WaitStrategy::spin));
  ASSERT_TRUE(rx) << rx.error().message();
  Signal started;
  int done[2];
  ASSERT_EQ(::pipe2(done, O_CLOEXEC), 0);
  auto scribbler = Child::spawn([&]() -> int {
    ::close(done[0]);
    auto file = ipcx::test::map_ring_file(name);
    if (!file) return 10;
    auto* p = static_cast<unsigned char*>(file->data());
    const std::size_t size = file->size();
    std::mt19937_64 rng(42);
    started.post();
    for (int i = 0; i < 400000; ++i) {
      std::size_t off = rng() % size;
      if (rng() % 4 == 0) off = rng() % 12288;  // the header, often
      if (rng() % 8 == 0) {
        std::uint64_t v = rng() % 3 == 0 ? (rng() & ~std::uint64_t{0xf}) | (rng() % 4) : rng();
        std::memcpy(p + (off & ~std::size_t{7}), &v, 8);
      } else {
        p[off] = static_cast<unsigned char>(rng());
      }
    }
    return 0;  // exit closes done[1]: the parent stops
  });
  ::close(done[1]);
  ASSERT_TRUE(started.wait());
  std::vector<std::byte> buf(8192);
  std::size_t ok = 0, bad = 0;
  for (;;) {
    pollfd p{done[0], POLLIN, 0};
    if (::poll(&p, 1, 0) == 1) break;
    auto s = tx->try_send(std::span(buf).first(ok % 300));
    if (!s && s.error().kind() == Errc::corrupt) ++bad;
    auto v = rx->try_read();
    if (v) {
      volatile std::byte sink{};
      for (auto b : v->data()) sink = b;  // touch every byte of what we were handed
      (void)sink;
      ++ok;
    } else if (v.error().kind() == Errc::corrupt) {
      ++bad;
    }
  }
  ::close(done[0]);
  EXPECT_EQ(scribbler.wait(), 0);
  RecordProperty("delivered", static_cast<int>(ok));
  RecordProperty("corrupt", static_cast<int>(bad));
  tx = ipcx::RingProducer();
  rx = ipcx::RingConsumer();
  (void)ipcx::remove_ring(name);  // whatever state the scribbler left, take the name away
  EXPECT_FALSE(ring_exists(name));
}

// wait=poll: the consumer's descriptor joins an epoll loop; it turns readable for
// messages and for the producer going away.
TEST(Ring, PollableDescriptorWithEpoll) {
  const std::string name = ipcx::test::unique_name("epoll");
  constexpr int kCount = 300;
  Signal go;
  auto rx = ipcx::Channel::bind("shm://" + name + "?wait=poll&capacity=4k");
  ASSERT_TRUE(rx) << rx.error().message();
  ASSERT_GE(rx->pollable_fd(), 0);
  auto producer = Child::spawn([&]() -> int {
    auto tx = ipcx::Channel::open("shm://" + name);
    if (!tx) return 10;
    if (!go.wait()) return 11;
    for (int i = 0; i < kCount; ++i)
      if (!tx->send(ipcx::as_bytes(fmt::format("p{}", i)), Deadline::after(10s))) return 12;
    return 0;
  });
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  ASSERT_GE(ep, 0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ASSERT_EQ(::epoll_ctl(ep, EPOLL_CTL_ADD, rx->pollable_fd(), &ev), 0);
  // Nothing yet: not readable (the producer waits for `go`).
  auto none = rx->try_receive_message();
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().kind(), Errc::would_block);
  EXPECT_EQ(::epoll_wait(ep, &ev, 1, 0), 0);
  go.post();
  int got = 0;
  bool gone = false;
  while (!gone) {
    int n = ::epoll_wait(ep, &ev, 1, 10000);
    ASSERT_EQ(n, 1) << "epoll timed out after " << got << " messages";
    for (;;) {  // drain until would_block, as the API asks
      auto m = rx->try_receive_message();
      if (m) {
        ASSERT_EQ(m->text(), fmt::format("p{}", got));
        ++got;
        continue;
      }
      if (m.error().peer_gone()) gone = true;
      else ASSERT_EQ(m.error().kind(), Errc::would_block) << m.error().message();
      break;
    }
  }
  EXPECT_EQ(got, kCount);
  EXPECT_EQ(producer.wait(), 0);
  ::close(ep);
}

// The CLI: `ipcx send` and `ipcx recv` over shm://, in both orders; the first side to open
// creates the ring.
// ---- batches (ring.cpp: an spsc producer publishes a run at once; consumers take every
// message that is ready and release them at once) ----------------------------------------

std::vector<std::span<const std::byte>> spans_of(const std::vector<std::vector<std::byte>>& msgs) {
  return {msgs.begin(), msgs.end()};
}
std::vector<std::byte> filled(std::size_t n, char c) { return std::vector<std::byte>(n, static_cast<std::byte>(c)); }

// A batch whose run wraps past the end of the buffer (padding in the middle of it) arrives
// whole and in order, and all at once: the run is published by one store, so the
// consumer's first receive_batch sees every message of it.
TEST(Ring, BatchWrapsInTheMiddleAndIsPublishedAtOnce) {
  const std::string name = ipcx::test::unique_name("bwrap");
  const std::string url = "shm://" + name + "?capacity=4k";
  auto tx = ipcx::Channel::open(url);
  ASSERT_TRUE(tx) << tx.error().message();
  // Three 1000-byte messages take positions 0 .. 3072 (1024 each); once read, a run of
  // 500-byte messages (528 each) from 3072 needs padding after its first.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(tx->send(filled(1000, 'a')));
  Signal drained, sent;
  auto consumer = Child::spawn([&]() -> int {
    auto rx = ipcx::Channel::bind(url);
    if (!rx) return 10;
    std::vector<std::byte> buf(1000);
    for (int i = 0; i < 3; ++i)
      if (!rx->receive(buf, Deadline::after(5s))) return 11;
    drained.post();
    if (!sent.wait()) return 12;
    ipcx::MessageBatch batch(8, 600);
    auto n = rx->receive_batch(batch, Deadline::after(5s));
    if (!n) return 13;
    if (*n != 4) return 14;  // the whole run at once
    for (std::size_t i = 0; i < 4; ++i)
      if (batch.data(i).size() != 500 || batch.data(i)[0] != static_cast<std::byte>('p' + i) ||
          batch.data(i)[499] != static_cast<std::byte>('p' + i)) {
        return 15;
      }
    auto more = rx->try_receive_batch(batch);
    return !more && more.error().would_block() ? 0 : 16;
  });
  ASSERT_TRUE(drained.wait());
  std::vector<std::vector<std::byte>> msgs;
  for (int i = 0; i < 4; ++i) msgs.push_back(filled(500, static_cast<char>('p' + i)));
  const auto b = tx->send_batch(spans_of(msgs), Deadline::after(5s));
  ASSERT_TRUE(b.all()) << b.error.error().message();
  EXPECT_EQ(b.sent, 4u);
  sent.post();
  EXPECT_EQ(consumer.wait(), 0);
  tx = ipcx::Channel();
  EXPECT_FALSE(ring_exists(name));
}

// A message larger than the ring's maximum in the middle of a batch: the ones before it
// are delivered, send_batch says how many went and why the next did not, nothing after it
// was tried.
TEST(Ring, BatchStopsAtAMessageTooLarge) {
  const std::string name = ipcx::test::unique_name("bbig");
  const std::string url = "shm://" + name + "?capacity=4k&max=256";
  auto tx = ipcx::Channel::open(url);
  ASSERT_TRUE(tx) << tx.error().message();
  const std::vector<std::vector<std::byte>> msgs = {filled(10, 'a'), filled(20, 'b'), filled(300, 'c'), filled(10, 'd')};
  const auto b = tx->send_batch(spans_of(msgs), Deadline::after(5s));
  EXPECT_EQ(b.sent, 2u);
  ASSERT_FALSE(b.all());
  EXPECT_EQ(b.error.error().kind(), Errc::message_too_large) << b.error.error().message();
  EXPECT_EQ(b.error.error().size(), 300u);
  auto consumer = Child::spawn([&]() -> int {
    auto rx = ipcx::Channel::bind(url);
    if (!rx) return 10;
    ipcx::MessageBatch batch(8, 256);
    auto n = rx->receive_batch(batch, Deadline::after(5s));
    if (!n || *n != 2) return 11;
    if (batch.data(0).size() != 10 || batch.data(1).size() != 20) return 12;
    auto more = rx->try_receive_batch(batch);
    return !more && more.error().would_block() ? 0 : 13;
  });
  EXPECT_EQ(consumer.wait(), 0);
  tx = ipcx::Channel();
  EXPECT_FALSE(ring_exists(name));
}

// A batch larger than the ring's free space: try_send_batch sends what fits (a 4 KiB ring
// holds exactly eight 512-byte records), says so, and the consumer gets exactly those; the
// rest goes once they were read.
TEST(Ring, BatchLargerThanTheFreeSpaceIsSentInPart) {
  const std::string name = ipcx::test::unique_name("bpart");
  const std::string url = "shm://" + name + "?capacity=4k";
  auto tx = ipcx::Channel::open(url);
  ASSERT_TRUE(tx) << tx.error().message();
  std::vector<std::vector<std::byte>> msgs;
  for (int i = 0; i < 16; ++i) msgs.push_back(filled(496, static_cast<char>('A' + i)));  // 16 + 496 = 512
  const auto views = spans_of(msgs);
  const auto b = tx->try_send_batch(views);
  EXPECT_EQ(b.sent, 8u);
  ASSERT_FALSE(b.all());
  EXPECT_TRUE(b.error.error().would_block()) << b.error.error().message();
  Signal read, rest_sent;
  auto consumer = Child::spawn([&]() -> int {
    auto rx = ipcx::Channel::bind(url);
    if (!rx) return 10;
    ipcx::MessageBatch batch(32, 496);
    for (char first : {'A', 'I'}) {
      auto n = rx->receive_batch(batch, Deadline::after(5s));
      if (!n || *n != 8) return 11;
      for (std::size_t i = 0; i < 8; ++i)
        if (batch.data(i)[0] != static_cast<std::byte>(first + i)) return 12;
      auto more = rx->try_receive_batch(batch);
      if (more || !more.error().would_block()) return 13;
      if (first == 'A') {
        read.post();
        if (!rest_sent.wait()) return 14;
      }
    }
    return 0;
  });
  ASSERT_TRUE(read.wait());
  const auto rest = tx->try_send_batch(std::span(views).subspan(8));
  EXPECT_TRUE(rest.all()) << rest.error.error().message();
  EXPECT_EQ(rest.sent, 8u);
  rest_sent.post();
  EXPECT_EQ(consumer.wait(), 0);
  tx = ipcx::Channel();
  EXPECT_FALSE(ring_exists(name));
}

// A consumer killed while a batch is being sent to it: the producer, waiting for space in
// the middle of its batch, hears peer_gone, and says how many went before.
TEST(Ring, ConsumerKilledInTheMiddleOfABatch) {
  const std::string name = ipcx::test::unique_name("bkill");
  const std::string url = "shm://" + name + "?capacity=4k";
  auto tx = ipcx::Channel::open(url);
  ASSERT_TRUE(tx) << tx.error().message();
  Signal reading;
  auto consumer = Child::spawn([&]() -> int {
    auto rx = ipcx::Channel::bind(url);
    if (!rx) return 10;
    ipcx::MessageBatch batch(4, 100);
    if (!rx->receive_batch(batch, Deadline::after(5s))) return 11;
    reading.post();
    ::pause();  // killed here
    return 12;
  });
  std::thread killer([&] {
    if (reading.wait()) consumer.kill(SIGKILL);
  });
  std::vector<std::vector<std::byte>> msgs(500, filled(100, 'k'));
  const auto t0 = std::chrono::steady_clock::now();
  const auto b = tx->send_batch(spans_of(msgs), Deadline::after(10s));
  killer.join();
  EXPECT_EQ(consumer.wait(), 128 + SIGKILL);
  ASSERT_FALSE(b.all());
  EXPECT_EQ(b.error.error().kind(), Errc::peer_gone) << b.error.error().message();
  EXPECT_GE(b.sent, 1u);
  EXPECT_LT(b.sent, msgs.size());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  tx = ipcx::Channel();
  EXPECT_TRUE(ring_exists(name));  // what was not read waits in it
  EXPECT_TRUE(ipcx::remove_ring(name));
}

// Publish/subscribe: every subscriber receives every message of the publisher's batches,
// in order, in batches of its own.
TEST(Ring, PubsubSubscribersEachSeeTheBatches) {
  const std::string name = ipcx::test::unique_name("bpubsub");
  const std::string url = "shm://" + name + "?pattern=pubsub&capacity=8k";
  constexpr int kSubs = 2;
  constexpr std::uint32_t kCount = 2000;
  constexpr std::size_t kMax = 300;
  Signal ready;
  auto pub = ipcx::Channel::open(url);
  ASSERT_TRUE(pub) << pub.error().message();
  std::vector<Child> subs;
  for (int s = 0; s < kSubs; ++s) {
    subs.push_back(Child::spawn([&]() -> int {
      auto rx = ipcx::Channel::bind(url);
      if (!rx) return 10;
      ready.post();
      ipcx::MessageBatch batch(64, kMax);
      std::uint32_t next = 0;
      while (next < kCount) {
        auto n = rx->receive_batch(batch, Deadline::after(10s));
        if (!n) return 11;
        for (std::size_t i = 0; i < *n; ++i, ++next) {
          if (batch.info(i).lost != 0) return 12;
          if (!check_message(batch.data(i), next, kMax)) return 13;
        }
      }
      auto end = rx->receive_batch(batch, Deadline::after(10s));
      return !end && end.error().peer_gone() ? 0 : 14;
    }));
  }
  for (int s = 0; s < kSubs; ++s) ASSERT_TRUE(ready.wait());
  for (std::uint32_t i = 0; i < kCount; i += 50) {
    std::vector<std::vector<std::byte>> msgs;
    for (std::uint32_t k = i; k < i + 50; ++k) msgs.push_back(make_message(k, kMax));
    const auto b = pub->send_batch(spans_of(msgs), Deadline::after(10s));
    ASSERT_TRUE(b.all()) << b.error.error().message();
  }
  pub = ipcx::Channel();
  for (auto& s : subs) EXPECT_EQ(s.wait(), 0);
  EXPECT_FALSE(ring_exists(name));
}

// A producer that died in the middle of a batch can leave the later records of its run
// stamped and the first not (the first stamp is stored last). A new producer clears them
// when it attaches: its own records must not lead the consumer into them, which would
// deliver messages never sent. Here a hostile child plants two such stamps where the next
// records will start.
TEST(Ring, StampsLeftAheadOfTheTailAreNeverDelivered) {
  namespace rl = ipcx::detail::ring;
  const std::string name = ipcx::test::unique_name("bghost");
  const std::string url = "shm://" + name + "?capacity=4k";
  auto rx = ipcx::Channel::bind(url);
  ASSERT_TRUE(rx) << rx.error().message();
  auto planter = Child::spawn([&]() -> int {
    auto file = ipcx::test::map_ring_file(name);
    if (!file) return 10;
    auto* data = file->bytes() + static_cast<rl::Header*>(file->data())->identity.header_size;
    // A 16-byte message at 0 spans 32 bytes: the next records start at 32 and 64.
    for (std::uint64_t pos : {32u, 64u}) {
      auto* r = reinterpret_cast<rl::RecordHeader*>(data + pos);
      r->len.store(5);
      std::memcpy(data + pos + rl::kRecordHeader, "ghost", 5);
      r->stamp.store(pos | rl::kKindMessage);
    }
    return 0;
  });
  ASSERT_EQ(planter.wait(), 0);
  auto producer = Child::spawn([&]() -> int {
    auto tx = ipcx::Channel::open(url);
    if (!tx) return 20;
    return tx->send(ipcx::as_bytes("0123456789abcdef")) ? 0 : 21;
  });
  ASSERT_EQ(producer.wait(), 0);
  ipcx::MessageBatch batch(8, 64);
  auto n = rx->receive_batch(batch, Deadline::after(5s));
  ASSERT_TRUE(n) << n.error().message();
  ASSERT_EQ(*n, 1u);
  EXPECT_EQ(batch.text(0), "0123456789abcdef");
  auto more = rx->try_receive_message();
  ASSERT_FALSE(more) << "delivered '" << more->text() << "', never sent";
  EXPECT_TRUE(more.error().would_block() || more.error().peer_gone()) << more.error().message();
  rx = ipcx::Channel();
  EXPECT_FALSE(ring_exists(name));
}

TEST(Ring, CliSendAndRecv) {
  const std::string cli = ipcx::test::cli_path();
  {
    const std::string url = "shm://" + ipcx::test::unique_name("cli1");
    auto s = ipcx::test::run(fmt::format("{} send '{}' alpha beta gamma", cli, url));
    ASSERT_EQ(s.status, 0) << s.output;
    auto r = ipcx::test::run(fmt::format("{} recv '{}' --timeout 10", cli, url));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output, "alpha\nbeta\ngamma\n");
  }
  {
    const std::string url = "shm://" + ipcx::test::unique_name("cli2");
    auto recv = Child::exec({cli, "recv", url, "--count", "2", "--timeout", "10"});
    auto s = ipcx::test::run(fmt::format("printf 'one\\ntwo\\n' | {} send '{}'", cli, url));
    ASSERT_EQ(s.status, 0) << s.output;
    EXPECT_EQ(recv.wait(), 0);
    EXPECT_EQ(recv.output(), "one\ntwo\n");
  }
}

}  // namespace
