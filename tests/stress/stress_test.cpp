// SPDX-License-Identifier: MIT
// Stress: several producers into one consumer, and one publisher to several subscribers,
// over every Channel that carries that pattern, each message with its producer's id, a
// sequence number and a checksum (checked_message.hpp). Per producer nothing may be lost,
// duplicated, corrupted or reordered; with policy=drop the gaps must be exactly what the
// ring reported lost. The consumer's descriptor count must not grow while it runs.
//
// Message count per channel: IPCX_STRESS_MESSAGES, else 10 million under the stress label
// (IPCX_STRESS=1), else 20000 (the default suite, which CI also runs under TSan). Each
// test prints one "stress:" line with its figures (docs/reliability.md).
#include <dirent.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ipcx/channel.hpp"
#include "ipcx/fifo.hpp"
#include "ipcx/pipe.hpp"
#include "ipcx/ring.hpp"
#include "stress/checked_message.hpp"
#include "support/test_support.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::Child;
using test::Gate;
using Clock = std::chrono::steady_clock;

std::uint64_t messages_per_channel() {
  if (const char* env = std::getenv("IPCX_STRESS_MESSAGES")) {
    const long long n = std::strtoll(env, nullptr, 10);
    if (n > 0) return static_cast<std::uint64_t>(n);
  }
  const char* stress = std::getenv("IPCX_STRESS");
  return stress && std::string_view(stress) == "1" ? 10'000'000 : 20'000;
}

std::size_t open_fd_count() {
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
  }
  return n - 1;  // the directory's own descriptor
}

// Small payloads: the point is many messages, and frames up to PIPE_BUF stay atomic on a
// pipe or FIFO that several writers share.
constexpr std::size_t kMaxPayload = 40;

std::size_t payload_of(std::uint64_t seq) { return (seq * 7) % (kMaxPayload + 1); }

// ---- several producers, one consumer ---------------------------------------------------------

enum class FanIn { shm_mpsc, posixmq, sysvmq, fifo, pipe, unixgram };

struct FanInCase {
  const char* name;
  FanIn kind;
  unsigned share = 1;  // runs messages_per_channel() / share messages
};
void PrintTo(const FanInCase& c, std::ostream* os) { *os << c.name; }

class FanInTest : public ::testing::TestWithParam<FanInCase> {};

constexpr unsigned kProducers = 4;

TEST_P(FanInTest, EveryProducersSequenceArrivesWholeAndInOrder) {
  const FanInCase& c = GetParam();
  const std::uint64_t total = messages_per_channel() / c.share;
  const std::uint64_t per_producer = total / kProducers;
  std::string rx_url, tx_url, path;
  std::optional<PipePair> pipe;
  switch (c.kind) {
    case FanIn::shm_mpsc:
      rx_url = fmt::format("shm://{}?pattern=mpsc&slots={}&capacity=256k", test::unique_name("stress-mpsc"), kProducers);
      tx_url = rx_url;
      break;
    case FanIn::posixmq: {
      const std::string name = test::unique_posix_name("stress-mq");
      rx_url = fmt::format("posixmq://{}?maxmsg=10&msgsize=128&unlink=1", name);
      tx_url = fmt::format("posixmq://{}?create=0", name);
      break;
    }
    case FanIn::sysvmq: {
      const auto key = fmt::format("0x{:08x}", static_cast<std::uint32_t>(test::unique_key()));
      rx_url = fmt::format("sysvmq://{}?remove=1", key);
      tx_url = fmt::format("sysvmq://{}?create=0", key);
      break;
    }
    case FanIn::fifo:
      path = test::unique_path("stress-fifo");
      rx_url = fmt::format("fifo://{}?remove=1", path);
      tx_url = fmt::format("fifo://{}?create=0", path);
      break;
    case FanIn::pipe: {
      auto p = make_pipe();
      ASSERT_TRUE(p) << p.error().message();
      pipe = std::move(*p);
      break;
    }
    case FanIn::unixgram:
      path = test::unique_path("stress-dgram");
      rx_url = "unixgram://" + path;
      tx_url = rx_url;
      break;
  }
  Channel rx;
  if (pipe) {
    rx = std::move(pipe->reader);
  } else {
    auto r = Channel::bind(rx_url);
    ASSERT_TRUE(r) << r.error().message();
    rx = std::move(*r);
    if (c.kind == FanIn::fifo) {
      ASSERT_GE(rx.pollable_fd(), 0);  // opens the read end
    }
  }
  std::vector<Child> producers;
  for (std::uint32_t p = 0; p < kProducers; ++p) {
    producers.push_back(Child::spawn([&, p]() -> int {
      Channel tx;
      if (pipe) {
        tx = std::move(pipe->writer);
      } else {
        auto t = Channel::open(tx_url);
        if (!t) return 10;
        tx = std::move(*t);
      }
      // The receiving Channel inherited from the parent is left alone: closing it here
      // would close the parent's consumer (a ring's close is a protocol, not just a close).
      std::vector<std::byte> buf(sizeof(test::CheckedHeader) + kMaxPayload);
      for (std::uint64_t seq = 0; seq < per_producer; ++seq) {
        const std::size_t n = test::write_checked(buf, p, seq, payload_of(seq));
        if (!tx.send(std::span(buf).first(n), Deadline::after(60s))) return 11;
      }
      return 0;
    }));
  }
  if (pipe) pipe->writer = Channel();
  const std::size_t fds_at_start = open_fd_count();
  test::Tally tally(kProducers);
  std::size_t fds_max = fds_at_start;
  const auto t0 = Clock::now();
  std::vector<std::byte> buf(sizeof(test::CheckedHeader) + kMaxPayload + 64);
  std::optional<Error> stopped;
  while (tally.received + tally.corrupt < per_producer * kProducers) {
    auto m = rx.receive(buf, Deadline::after(60s));
    if (!m) {
      stopped = m.error();
      break;
    }
    tally.take(std::span(buf).first(m->size));
    if ((tally.received & 0xffff) == 0) fds_max = std::max(fds_max, open_fd_count());
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  for (auto& p : producers) EXPECT_EQ(p.wait(120s), 0);
  const std::size_t fds_at_end = open_fd_count();
  producers.clear();
  const std::string line = fmt::format(
      "stress: {} producers={} messages={} received={} corrupt={} duplicated_or_reordered={} lost={} seconds={:.2f} "
      "msgs_per_s={:.0f} fds_start={} fds_max={} fds_end={}",
      c.name, kProducers, per_producer * kProducers, tally.received, tally.corrupt, tally.duplicated, tally.gaps, secs,
      static_cast<double>(tally.received) / secs, fds_at_start, fds_max, fds_at_end);
  std::printf("%s\n", line.c_str());
  ::testing::Test::RecordProperty("figures", line);
  EXPECT_FALSE(stopped) << stopped->message();
  EXPECT_EQ(tally.received, per_producer * kProducers);
  EXPECT_EQ(tally.corrupt, 0u);
  EXPECT_EQ(tally.duplicated, 0u);
  EXPECT_EQ(tally.gaps, 0u);
  for (std::uint32_t p = 0; p < kProducers; ++p) EXPECT_EQ(tally.next[p], per_producer) << "producer " << p;
  EXPECT_EQ(fds_max, fds_at_start) << "the consumer's descriptor count grew";
  EXPECT_EQ(fds_at_end, fds_at_start);
  rx = Channel();
  if (c.kind == FanIn::unixgram || c.kind == FanIn::fifo) ::unlink(path.c_str());
}

const FanInCase kFanIn[] = {
    {"shm_mpsc", FanIn::shm_mpsc}, {"posixmq", FanIn::posixmq}, {"sysvmq", FanIn::sysvmq},
    {"fifo", FanIn::fifo},         {"pipe", FanIn::pipe},
    // A tenth of the count: four writers into one datagram socket move about 16000
    // messages a second here (docs/reliability.md), so 10 million would take ten minutes.
    {"unixgram", FanIn::unixgram, 10},
};
INSTANTIATE_TEST_SUITE_P(SeveralProducers, FanInTest, ::testing::ValuesIn(kFanIn),
                         [](const ::testing::TestParamInfo<FanInCase>& p) { return std::string(p.param.name); });

// ---- one publisher, several subscribers -------------------------------------------------------

constexpr unsigned kSubscribers = 3;

// What a subscriber saw, written into shared memory for the parent.
struct SubscriberReport {
  std::uint64_t received;
  std::uint64_t corrupt;
  std::uint64_t duplicated;
  std::uint64_t gaps;
  std::uint64_t reported_lost;
  std::uint64_t fds_start;
  std::uint64_t fds_max;
  int error;  // 0: the stream ended with peer_gone after the last message
};

class PubSubTest : public ::testing::TestWithParam<const char*> {};

TEST_P(PubSubTest, EverySubscriberGetsEveryMessageOrExactlyWhatItWasToldItLost) {
  const std::string policy = GetParam();
  const std::uint64_t total = messages_per_channel();
  const std::string url = fmt::format("shm://{}?pattern=pubsub&policy={}&capacity=256k",
                                      test::unique_name("stress-pubsub"), policy);
  auto* reports = static_cast<SubscriberReport*>(::mmap(nullptr, sizeof(SubscriberReport) * kSubscribers,
                                                        PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(reports, MAP_FAILED);
  Gate attached;
  std::vector<Child> subscribers;
  for (unsigned s = 0; s < kSubscribers; ++s) {
    subscribers.push_back(Child::spawn([&, s]() -> int {
      SubscriberReport& rep = reports[s];
      rep = {};
      auto rx = Channel::bind(url);
      if (!rx) return 10;
      rep.fds_start = rep.fds_max = open_fd_count();
      attached.open();
      test::Tally tally(1);
      std::vector<std::byte> buf(sizeof(test::CheckedHeader) + kMaxPayload + 64);
      for (;;) {
        auto m = rx->receive(buf, Deadline::after(60s));
        if (!m) {
          rep.error = m.error().peer_gone() ? 0 : static_cast<int>(m.error().kind()) + 1;
          break;
        }
        tally.take(std::span(buf).first(m->size), m->lost);
        if ((tally.received & 0xffff) == 0) rep.fds_max = std::max<std::uint64_t>(rep.fds_max, open_fd_count());
      }
      rep.received = tally.received;
      rep.corrupt = tally.corrupt;
      rep.duplicated = tally.duplicated;
      rep.gaps = tally.gaps + (total - tally.next[0]);  // a tail dropped after the last one seen
      rep.reported_lost = tally.reported_lost;
      return 0;
    }));
  }
  // The publisher opens after the fork: the subscribers must not inherit its handle, or
  // its close would not be the last one and they would never hear that it went.
  auto tx = Channel::open(url);
  ASSERT_TRUE(tx) << tx.error().message();
  for (unsigned s = 0; s < kSubscribers; ++s) ASSERT_NE(attached.wait(20000), 0);
  const auto t0 = Clock::now();
  std::vector<std::byte> buf(sizeof(test::CheckedHeader) + kMaxPayload);
  for (std::uint64_t seq = 0; seq < total; ++seq) {
    const std::size_t n = test::write_checked(buf, 0, seq, payload_of(seq));
    auto r = tx->send(std::span(buf).first(n), Deadline::after(60s));
    ASSERT_TRUE(r) << "message " << seq << ": " << r.error().message();
  }
  *tx = Channel();  // the subscribers hear peer_gone once they have read everything
  for (auto& s : subscribers) EXPECT_EQ(s.wait(120s), 0);
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  for (unsigned s = 0; s < kSubscribers; ++s) {
    const SubscriberReport& r = reports[s];
    const std::string line = fmt::format(
        "stress: shm_pubsub_{} subscriber={} messages={} received={} corrupt={} duplicated_or_reordered={} gaps={} "
        "reported_lost={} seconds={:.2f} fds_start={} fds_max={}",
        policy, s, total, r.received, r.corrupt, r.duplicated, r.gaps, r.reported_lost, secs, r.fds_start, r.fds_max);
    std::printf("%s\n", line.c_str());
    ::testing::Test::RecordProperty(fmt::format("subscriber{}", s), line);
    EXPECT_EQ(r.error, 0) << "subscriber " << s << " ended with an error of kind " << r.error - 1;
    EXPECT_EQ(r.corrupt, 0u);
    EXPECT_EQ(r.duplicated, 0u);
    EXPECT_EQ(r.fds_max, r.fds_start) << "subscriber " << s << "'s descriptor count grew";
    if (policy == "block") {
      EXPECT_EQ(r.received, total);
      EXPECT_EQ(r.gaps, 0u);
      EXPECT_EQ(r.reported_lost, 0u);
    } else {
      EXPECT_EQ(r.gaps, r.reported_lost) << "lost messages the ring did not report, or reported ones it did not lose";
      EXPECT_EQ(r.received + r.gaps, total);
    }
  }
  ::munmap(reports, sizeof(SubscriberReport) * kSubscribers);
}

INSTANTIATE_TEST_SUITE_P(Shm, PubSubTest, ::testing::Values("block", "drop"),
                         [](const ::testing::TestParamInfo<const char*>& p) { return std::string(p.param); });

}  // namespace
}  // namespace ipcx
