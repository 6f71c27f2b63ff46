// SPDX-License-Identifier: MIT
// The harness's checks: a message that arrives corrupt, out of order or not at all fails
// its row (no numbers), percentiles are nearest-rank over every sample, a case that
// cannot run is skipped with its reason. The cases here are pipes whose Link misbehaves on
// purpose.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "links.hpp"

namespace ipcx::bench {
namespace {

TEST(Pattern, AcceptsWhatItMadeAndNamesWhatIsWrong) {
  Pattern p(256);
  std::vector<std::byte> m(256);
  p.fill(m, 7, Kind::rtt);
  EXPECT_EQ(p.check(m, 7, Kind::rtt), "");

  EXPECT_NE(p.check(m, 8, Kind::rtt).find("expected message 8"), std::string::npos);
  EXPECT_NE(p.check(m, 7, Kind::oneway).find("oneway"), std::string::npos);

  auto flipped = m;
  flipped[200] ^= std::byte{0x01};
  EXPECT_NE(p.check(flipped, 7, Kind::rtt).find("at byte 200"), std::string::npos);

  EXPECT_NE(p.check(std::span<const std::byte>(m.data(), 255), 7, Kind::rtt).find("255 bytes"), std::string::npos);

  // Every size has its own body: a message of another size's pattern is caught.
  Pattern other(256 + 8);
  std::vector<std::byte> o(264);
  other.fill(o, 7, Kind::rtt);
  EXPECT_NE(p.check(std::span<const std::byte>(o.data(), 256), 7, Kind::rtt), "");
}

TEST(Summarize, NearestRankOverEverySample) {
  std::vector<std::uint64_t> s(1000);
  std::iota(s.begin(), s.end(), 1);
  std::reverse(s.begin(), s.end());
  Latency l = summarize(s);
  EXPECT_EQ(l.samples, 1000u);
  EXPECT_EQ(l.p50, 500u);
  EXPECT_EQ(l.p99, 990u);
  EXPECT_EQ(l.p999, 999u);
  EXPECT_EQ(l.max, 1000u);

  std::vector<std::uint64_t> one{42};
  Latency m = summarize(one);
  EXPECT_EQ(m.p50, 42u);
  EXPECT_EQ(m.p999, 42u);
}

// declared_drop: one-way message 3 is not sent, and the server's Link says so (lost()), as
// a pubsub ring with policy=drop does.
enum class Fault { none, corrupt_echo, drop_oneway, reorder_oneway, skip_setup, declared_drop };

// Passes messages through, except the one its fault picks. With `in_place` it receives
// the zero-copy way: the message stays in the link's own buffer until released, and a
// released buffer is overwritten, so that a use after release would fail the row.
class FaultyLink final : public Link {
 public:
  FaultyLink(std::unique_ptr<Link> inner, Fault f, bool server, std::size_t in_place = 0)
      : inner_(std::move(inner)), fault_(f), server_(server), held_in_(in_place) {}
  bool in_place() const override { return !held_in_.empty(); }
  Res<std::span<const std::byte>> receive_in_place() override {
    auto n = inner_->receive(held_in_);
    if (!n) return std::unexpected(std::move(n.error()));
    Header h = read_header(held_in_);
    if (fault_ == Fault::declared_drop && h.kind == Kind::oneway && h.seq >= 4) lost_ = 1;
    return std::span<const std::byte>(held_in_.data(), *n);
  }
  void release_in_place() override { std::fill(held_in_.begin(), held_in_.end(), std::byte{0xee}); }
  std::uint64_t lost() const override { return lost_; }
  Res<void> send(std::span<const std::byte> msg) override {
    Header h = read_header(msg);
    if (fault_ == Fault::corrupt_echo && server_ && h.kind == Kind::rtt && h.seq == 5) {
      std::vector<std::byte> bad(msg.begin(), msg.end());
      bad[bad.size() - 1] ^= std::byte{0x40};
      return inner_->send(bad);
    }
    if (!server_ && h.kind == Kind::oneway && h.seq == 3) {
      if (fault_ == Fault::drop_oneway || fault_ == Fault::declared_drop) return {};
      if (fault_ == Fault::reorder_oneway) {
        held_.assign(msg.begin(), msg.end());
        return {};
      }
    }
    auto r = inner_->send(msg);
    if (r && !held_.empty() && h.seq == 4) {  // 3 goes out after 4
      r = inner_->send(held_);
      held_.clear();
    }
    return r;
  }
  Res<std::size_t> receive(std::span<std::byte> buf) override { return inner_->receive(buf); }
  Res<void> set_mode(Mode m) override { return inner_->set_mode(m); }

 private:
  std::unique_ptr<Link> inner_;
  Fault fault_;
  bool server_;
  std::vector<std::byte> held_;
  std::vector<std::byte> held_in_;
  std::uint64_t lost_ = 0;
};

// A server end that receives batches: up to three messages a batch, and after the one-way
// phase's end marker the next message too (the last round trip's, as a batch that finds
// it queued takes it).
class BatchLink final : public Link {
 public:
  BatchLink(std::unique_ptr<Link> inner, std::size_t size)
      : inner_(std::move(inner)), slots_(3, std::vector<std::byte>(size)) {}
  Res<void> send(std::span<const std::byte> msg) override { return inner_->send(msg); }
  Res<std::size_t> receive(std::span<std::byte> buf) override { return inner_->receive(buf); }
  Res<void> set_mode(Mode m) override { return inner_->set_mode(m); }
  Res<std::size_t> receive_batch() override {
    for (std::size_t n = 0; n < slots_.size(); ++n) {
      auto r = inner_->receive(slots_[n]);
      if (!r) return std::unexpected(std::move(r.error()));
      sizes_[n] = *r;
      if (read_header(slots_[n]).kind == Kind::end && n + 1 < slots_.size()) {
        auto next = inner_->receive(slots_[n + 1]);
        if (!next) return std::unexpected(std::move(next.error()));
        sizes_[n + 1] = *next;
        return n + 2;
      }
    }
    return slots_.size();
  }
  std::span<const std::byte> batch_message(std::size_t i) const override { return {slots_[i].data(), sizes_[i]}; }

 private:
  std::unique_ptr<Link> inner_;
  std::vector<std::vector<std::byte>> slots_;
  std::size_t sizes_[3] = {};
};

class PipeCase final : public Case {
 public:
  explicit PipeCase(Fault f, bool in_place = false, bool batch = false)
      : Case("pipe", "raw", "kernel"), fault_(f), in_place_(in_place), batch_(batch) {}
  Res<void> prepare(const RunSpec&) override {
    if (::pipe2(up_, O_CLOEXEC) != 0 || ::pipe2(down_, O_CLOEXEC) != 0) return failed_errno("pipe2", errno);
    return {};
  }
  void after_fork() override { close_all(); }
  void cleanup(const RunSpec&) override { close_all(); }
  Res<void> server_setup(const RunSpec&, std::string&) override {
    if (fault_ == Fault::skip_setup) return skipped("limit: this case cannot carry it");
    return {};
  }
  Res<std::unique_ptr<Link>> server_link(const RunSpec& spec) override {
    auto l = std::make_unique<StreamLink>(OwnedFd(std::exchange(up_[0], -1)), OwnedFd(std::exchange(down_[1], -1)));
    close_all();
    auto f = std::make_unique<FaultyLink>(std::move(l), fault_, true, in_place_ ? spec.size : 0);
    if (batch_) return std::make_unique<BatchLink>(std::move(f), spec.size);
    return f;
  }
  Res<std::unique_ptr<Link>> client_link(const RunSpec& spec, const std::string&) override {
    auto l = std::make_unique<StreamLink>(OwnedFd(std::exchange(down_[0], -1)), OwnedFd(std::exchange(up_[1], -1)));
    close_all();
    return std::make_unique<FaultyLink>(std::move(l), fault_, false, in_place_ ? spec.size : 0);
  }

 private:
  void close_all() {
    for (int* p : {up_, down_}) {
      for (int i = 0; i < 2; ++i) {
        if (p[i] >= 0) ::close(p[i]);
        p[i] = -1;
      }
    }
  }
  Fault fault_;
  bool in_place_;
  bool batch_;
  int up_[2] = {-1, -1};
  int down_[2] = {-1, -1};
};

RunSpec small_spec() {
  RunSpec s;
  s.size = 64;
  s.stem = name_prefix() + "test";
  s.placement.kind = Placement::Kind::none;
  s.budget.warmup = std::chrono::milliseconds(5);
  s.budget.warmup_iterations = 2;
  s.budget.rtt = std::chrono::milliseconds(200);
  s.budget.oneway = std::chrono::milliseconds(200);
  s.budget.max_round_trips = 50;
  s.budget.max_oneway = 50;
  return s;
}

TEST(Measure, AnIntactRunHasNumbersFromEverySample) {
  PipeCase c(Fault::none);
  Outcome o = measure(c, small_spec());
  ASSERT_EQ(o.status, "ok");
  ASSERT_TRUE(o.rtt);
  EXPECT_EQ(o.rtt->samples, 50u);
  EXPECT_LE(o.rtt->p50, o.rtt->max);
  ASSERT_TRUE(o.throughput);
  EXPECT_GT(o.throughput->msgs_per_s, 0);
}

TEST(Measure, ACorruptEchoFailsTheRowWithoutNumbers) {
  PipeCase c(Fault::corrupt_echo);
  Outcome o = measure(c, small_spec());
  EXPECT_EQ(o.status.rfind("failed: round trip: message 5: payload differs", 0), 0u) << o.status;
  EXPECT_FALSE(o.rtt);
  EXPECT_FALSE(o.throughput);
}

TEST(Measure, ALostOneWayMessageFailsTheRow) {
  PipeCase c(Fault::drop_oneway);
  Outcome o = measure(c, small_spec());
  EXPECT_EQ(o.status.rfind("failed: one-way: expected message 3", 0), 0u) << o.status;
  EXPECT_FALSE(o.rtt);
}

TEST(Measure, AReorderedOneWayMessageFailsTheRow) {
  PipeCase c(Fault::reorder_oneway);
  Outcome o = measure(c, small_spec());
  EXPECT_EQ(o.status.rfind("failed: one-way: expected message 3", 0), 0u) << o.status;
}

TEST(Measure, ACaseThatCannotRunIsSkippedWithItsReason) {
  PipeCase c(Fault::skip_setup);
  Outcome o = measure(c, small_spec());
  EXPECT_EQ(o.status, "skipped: limit: this case cannot carry it");
  EXPECT_FALSE(o.rtt);
}

// The zero-copy path (Link::in_place) checks exactly what the copying one does.
TEST(Measure, InPlaceReceiveMeasuresAndChecksTheSame) {
  PipeCase ok(Fault::none, true);
  Outcome o = measure(ok, small_spec());
  ASSERT_EQ(o.status, "ok");
  EXPECT_EQ(o.rtt->samples, 50u);
  ASSERT_TRUE(o.throughput);

  PipeCase corrupt(Fault::corrupt_echo, true);
  o = measure(corrupt, small_spec());
  EXPECT_EQ(o.status.rfind("failed: round trip: message 5: payload differs", 0), 0u) << o.status;
  EXPECT_FALSE(o.rtt);

  PipeCase lost(Fault::drop_oneway, true);
  o = measure(lost, small_spec());
  EXPECT_EQ(o.status.rfind("failed: one-way: expected message 3", 0), 0u) << o.status;

  PipeCase reordered(Fault::reorder_oneway, true);
  o = measure(reordered, small_spec());
  EXPECT_EQ(o.status.rfind("failed: one-way: expected message 3", 0), 0u) << o.status;
}

// A drop the transport declares is counted as sent, not received; what arrives must still
// be in order.
TEST(Measure, ADeclaredDropIsCountedAndTheRestChecked) {
  PipeCase c(Fault::declared_drop, true);
  Outcome o = measure(c, small_spec());
  ASSERT_EQ(o.status, "ok");
  ASSERT_TRUE(o.throughput);
  EXPECT_GT(o.throughput->msgs_per_s, 0);
}

// The one-way phase in batches (RunSpec::batch) checks every message as one by one does,
// and a message a batch took past the phase's end goes to the round trip it belongs to.
TEST(Measure, BatchesAreCheckedAsOneByOne) {
  RunSpec spec = small_spec();
  spec.batch = 4;
  PipeCase ok(Fault::none, false, true);
  Outcome o = measure(ok, spec);
  ASSERT_EQ(o.status, "ok");
  EXPECT_EQ(o.rtt->samples, 50u);
  ASSERT_TRUE(o.throughput);
  EXPECT_GT(o.throughput->msgs_per_s, 0);

  PipeCase lost(Fault::drop_oneway, false, true);
  o = measure(lost, spec);
  EXPECT_EQ(o.status.rfind("failed: one-way: expected message 3", 0), 0u) << o.status;
  EXPECT_FALSE(o.throughput);

  PipeCase reordered(Fault::reorder_oneway, false, true);
  o = measure(reordered, spec);
  EXPECT_EQ(o.status.rfind("failed: one-way: expected message 3", 0), 0u) << o.status;
}

}  // namespace
}  // namespace ipcx::bench
