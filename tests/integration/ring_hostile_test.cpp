// SPDX-License-Identifier: MIT
// A hostile writer: another process maps a live ring's file and writes what no ipcx peer
// would (a position that is not a record's, one laps ahead, a record whose length or kind
// is impossible) while a consumer is attached and messages wait. A scribbled record is
// refused as corrupt at the read that reaches it; a scribbled write position is refused by
// the producer; nothing scribbled is delivered, no wait outlasts its deadline, and nothing
// touches memory outside the ring (this test runs in the ASan build too, scripts/test.sh --asan).
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ipcx/detail/ring_layout.hpp"
#include "ipcx/ring.hpp"
#include "support/test_support.hpp"

using namespace std::chrono_literals;
using ipcx::test::Child;
namespace rl = ipcx::detail::ring;

namespace {

enum class Scribble { tail_misaligned, tail_laps_ahead, record_too_long, record_unknown_kind };

struct Case {
  ipcx::RingPattern pattern;
  Scribble scribble;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  static const char* scribbles[] = {"TailMisaligned", "TailLapsAhead", "RecordTooLong", "RecordUnknownKind"};
  return fmt::format("{}_{}", ipcx::to_string(info.param.pattern), scribbles[static_cast<int>(info.param.scribble)]);
}

// In a child process: maps the ring's file and applies `s` to the first waiting record
// (at the consumer's read position; for pub/sub the first record, position 0).
int scribble(const std::string& name, Scribble s) {
  auto file = ipcx::test::map_ring_file(name);
  if (!file) return 10;
  auto* h = static_cast<rl::Header*>(file->data());
  auto* data = file->bytes() + h->identity.header_size;
  const std::uint64_t cap = h->identity.capacity;
  const std::uint64_t head = h->consumer.head.load();
  auto* rec = reinterpret_cast<rl::RecordHeader*>(data + (head & (cap - 1)));
  switch (s) {
    case Scribble::tail_misaligned:
      h->producer.tail.store(h->producer.tail.load() + 8);
      break;
    case Scribble::tail_laps_ahead:
      h->producer.tail.store(h->producer.tail.load() + 4 * cap);
      break;
    case Scribble::record_too_long:
      rec->len.store(0xfffffff0u);
      break;
    case Scribble::record_unknown_kind:
      rec->stamp.store((rec->stamp.load() & ~rl::kKindMask) | 0xe);
      break;
  }
  return 0;
}

class RingHostile : public ::testing::TestWithParam<Case> {};

TEST_P(RingHostile, TheAttachedConsumerReportsCorruption) {
  const Case c = GetParam();
  const std::string name = ipcx::test::unique_name("hostile");
  // Removed however the test ends (declared first: it goes after the ring's ends close).
  struct RemoveRing {
    std::string name;
    ~RemoveRing() { (void)ipcx::remove_ring(name); }
  } cleanup{name};
  ipcx::RingOptions o;
  o.capacity = 64 * 1024;
  o.pattern = c.pattern;
  auto rx = ipcx::RingConsumer::open(name, o);
  ASSERT_TRUE(rx) << rx.error().message();
  auto tx = ipcx::RingProducer::open(name, o);
  ASSERT_TRUE(tx) << tx.error().message();
  const std::string msg = "a message that waits";
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(tx->send(std::as_bytes(std::span(msg))));

  auto hostile = Child::spawn([&] { return scribble(name, c.scribble); });
  ASSERT_EQ(hostile.wait(), 0);

  std::vector<std::byte> buf(o.capacity.value());
  const bool tail_scribbled = c.scribble == Scribble::tail_misaligned || c.scribble == Scribble::tail_laps_ahead;
  if (tail_scribbled && c.pattern == ipcx::RingPattern::spsc) {
    // spsc: the reader checks each record's length against the next complete record or the
    // published tail, so a tail that is no record boundary is corrupt, said at the latest
    // where the intact records end: never a hang, never neighbours delivered as one.
    int delivered = 0;
    for (;;) {
      auto r = rx->receive(buf, ipcx::Deadline::after(5s));
      if (!r) {
        EXPECT_EQ(r.error().kind(), ipcx::Errc::corrupt) << r.error().message();
        EXPECT_NE(r.error().message().find(name), std::string::npos) << r.error().message();
        break;
      }
      ASSERT_EQ(std::string(reinterpret_cast<const char*>(buf.data()), r->size), msg);
      ASSERT_LT(++delivered, 3) << "more messages than were sent";
    }
  } else if (tail_scribbled) {
    // The write position is the producer's line: the records already written stay intact
    // and are delivered whole, then the consumer finds nothing more (bounded by its
    // deadline). An mpsc producer shares the position with the others and refuses one that
    // is not a position; the one writer of pub/sub keeps its own and never reads it back,
    // so its next message overwrites the scribble and arrives intact.
    for (int i = 0; i < 2; ++i) {
      auto r = rx->receive(buf, ipcx::Deadline::after(5s));
      ASSERT_TRUE(r) << r.error().message();
      ASSERT_EQ(std::string(reinterpret_cast<const char*>(buf.data()), r->size), msg);
    }
    auto r = rx->receive(buf, ipcx::Deadline::after(100ms));
    ASSERT_FALSE(r) << "delivered " << r->size << " bytes from a scribbled ring";
    EXPECT_TRUE(r.error().timed_out() || r.error().kind() == ipcx::Errc::corrupt) << r.error().message();
    auto s = tx->try_send(std::as_bytes(std::span(msg)));
    if (c.pattern == ipcx::RingPattern::mpsc) {
      ASSERT_FALSE(s) << "the producer wrote at a scribbled position";
      EXPECT_EQ(s.error().kind(), ipcx::Errc::corrupt) << s.error().message();
      EXPECT_NE(s.error().message().find(name), std::string::npos) << s.error().message();
    } else {
      ASSERT_TRUE(s) << s.error().message();
      auto again = rx->receive(buf, ipcx::Deadline::after(5s));
      ASSERT_TRUE(again) << again.error().message();
      EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf.data()), again->size), msg);
    }
  } else {
    // A scribbled record is refused at the read that reaches it.
    auto r = rx->receive(buf, ipcx::Deadline::after(5s));
    ASSERT_FALSE(r) << "delivered " << r->size << " bytes from a scribbled ring";
    EXPECT_EQ(r.error().kind(), ipcx::Errc::corrupt) << r.error().message();
    EXPECT_NE(r.error().message().find(name), std::string::npos) << r.error().message();
  }

}

INSTANTIATE_TEST_SUITE_P(
    Scribbles, RingHostile,
    ::testing::Values(Case{ipcx::RingPattern::spsc, Scribble::tail_misaligned},
                      Case{ipcx::RingPattern::spsc, Scribble::tail_laps_ahead},
                      Case{ipcx::RingPattern::spsc, Scribble::record_too_long},
                      Case{ipcx::RingPattern::spsc, Scribble::record_unknown_kind},
                      Case{ipcx::RingPattern::mpsc, Scribble::tail_misaligned},
                      Case{ipcx::RingPattern::mpsc, Scribble::tail_laps_ahead},
                      Case{ipcx::RingPattern::mpsc, Scribble::record_too_long},
                      Case{ipcx::RingPattern::mpsc, Scribble::record_unknown_kind},
                      Case{ipcx::RingPattern::pubsub, Scribble::tail_misaligned},
                      Case{ipcx::RingPattern::pubsub, Scribble::tail_laps_ahead},
                      Case{ipcx::RingPattern::pubsub, Scribble::record_too_long},
                      Case{ipcx::RingPattern::pubsub, Scribble::record_unknown_kind}),
    case_name);

}  // namespace
