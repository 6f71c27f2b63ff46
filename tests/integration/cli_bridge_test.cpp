// SPDX-License-Identifier: MIT
// ipcx bridge through the installed binary: a thousand messages from one channel to
// another with none lost or reordered, counts on exit, stopping on a signal, and the
// errors that keep a bridge from echoing into a mailbox.
#include <signal.h>

#include <sys/syscall.h>

#include "cli_support.hpp"
#include "mq_test_support.hpp"
#include "ipcx/channel.hpp"
#include "ipcx/ring.hpp"

namespace ipcx::test {
namespace {

using namespace std::chrono_literals;

class CliBridge : public InstalledCli {};

std::string payload(int i) {
  // Sizes from 5 to ~300 bytes, so frames straddle the bridge's reads.
  return fmt::format("msg-{}-{}", i, std::string(static_cast<std::size_t>(i * 7 % 293), static_cast<char>('a' + i % 26)));
}

// A process that receives `n` messages on `url`, checks each against payload(i), then
// expects the bridge's hang-up. Exit 0 when all matched.
Child receiver(const std::string& url, int n) {
  return Child::spawn([url, n] {
    auto ch = Channel::open(url);
    if (!ch) return 10;
    for (int i = 0; i < n; ++i) {
      auto m = ch->receive_message(Deadline::after(10s));
      if (!m) return 11;
      if (m->text() != payload(i)) return 12;
    }
    auto end = ch->receive_message(Deadline::after(10s));
    return !end && end.error().peer_gone() ? 0 : 13;
  });
}

TEST_F(CliBridge, ForwardsAThousandMessagesFifoToFifoWithNoneLost) {
  const std::string a = unique_path("a"), b = unique_path("b");
  ASSERT_EQ(::mkfifo(a.c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo(b.c_str(), 0600), 0);
  const std::string ua = "fifo://" + a, ub = "fifo://" + b;
  auto bridge = Child::exec({bin(), "bridge", "-u", ua, ub});
  auto rx = receiver(ub, 1000);
  {
    auto tx = Channel::open(ua);
    ASSERT_TRUE(tx) << tx.error().message();
    for (int i = 0; i < 1000; ++i) {
      auto s = tx->send(as_bytes(payload(i)), Deadline::after(10s));
      ASSERT_TRUE(s) << i << ": " << s.error().message();
    }
  }  // the writer closes: the bridge sees A go away and ends
  EXPECT_EQ(rx.wait(), 0) << "receiver: 11 receive failed, 12 wrong message, 13 no hang-up";
  EXPECT_EQ(bridge.wait(), 0) << bridge.output();
  std::size_t bytes = 0;
  for (int i = 0; i < 1000; ++i) bytes += payload(i).size();
  EXPECT_NE(bridge.output().find(fmt::format("{} -> {}: 1000 messages, {} bytes", ua, ub, bytes)), std::string::npos)
      << bridge.output();
  EXPECT_NE(bridge.output().find(fmt::format("{} -> {}: 0 messages", ub, ua)), std::string::npos) << bridge.output();
  EXPECT_NE(bridge.output().find("ended: " + ua + " went away"), std::string::npos) << bridge.output();
  ::unlink(a.c_str());
  ::unlink(b.c_str());
}

TEST_F(CliBridge, ReverseDirectionAndStopOnSignalWithJsonCounts) {
  const std::string a = unique_path("a"), b = unique_path("b");
  ASSERT_EQ(::mkfifo(a.c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo(b.c_str(), 0600), 0);
  const std::string ua = "fifo://" + a, ub = "fifo://" + b;
  // -U: from URL_B to URL_A.
  auto bridge = Child::exec({bin(), "bridge", "-U", "--json", ua, ub});
  auto rx = Channel::open(ua);
  ASSERT_TRUE(rx);
  auto tx = Channel::open(ub);
  ASSERT_TRUE(tx);
  ASSERT_TRUE(tx->send(as_bytes("one"), Deadline::after(10s)));
  auto m = rx->receive_message(Deadline::after(10s));  // through the bridge: it is running
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->text(), "one");
  bridge.kill(SIGTERM);
  EXPECT_EQ(bridge.wait(), 0) << bridge.output();
  auto j = nlohmann::json::parse(bridge.output(), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << bridge.output();
  EXPECT_EQ(j["b_to_a"]["messages"], 1);
  EXPECT_EQ(j["b_to_a"]["bytes"], 3);
  EXPECT_EQ(j["a_to_b"]["messages"], 0);
  EXPECT_EQ(j["ended"], "stopped by a signal");
  ::unlink(a.c_str());
  ::unlink(b.c_str());
}

TEST_F(CliBridge, UnixToUnixBothWaysAThousandEachWay) {
  // Two listeners; the bridge connects to both. Side B lives in a child that echoes what it
  // gets, tagged, so each direction carries a thousand messages.
  const std::string ua = "unix:@" + unique_name("a"), ub = "unix:@" + unique_name("b");
  auto la = Listener::listen(ua);
  ASSERT_TRUE(la) << la.error().message();
  auto lb = Listener::listen(ub);
  ASSERT_TRUE(lb) << lb.error().message();
  auto side_b = Child::spawn([&] {
    auto c = lb->accept(Deadline::after(10s));
    if (!c) return 10;
    for (int i = 0; i < 1000; ++i) {
      auto m = c->receive_message(Deadline::after(10s));
      if (!m || m->text() != fmt::format("a{}", i)) return 11;
      if (!c->send(as_bytes(fmt::format("b{}", i)), Deadline::after(10s))) return 12;
    }
    auto end = c->receive_message(Deadline::after(10s));
    return !end && end.error().peer_gone() ? 0 : 13;
  });
  auto bridge = Child::exec({bin(), "bridge", ua, ub});
  auto ca = la->accept(Deadline::after(10s));
  ASSERT_TRUE(ca) << ca.error().message();
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(ca->send(as_bytes(fmt::format("a{}", i)), Deadline::after(10s))) << i;
    auto m = ca->receive_message(Deadline::after(10s));
    ASSERT_TRUE(m) << i << ": " << m.error().message();
    ASSERT_EQ(m->text(), fmt::format("b{}", i));
  }
  ca = Channel();  // side A hangs up: the bridge ends and hangs up on B
  EXPECT_EQ(bridge.wait(), 0) << bridge.output();
  EXPECT_EQ(side_b.wait(), 0) << "side B: 11 wrong message, 12 send failed, 13 no hang-up";
  EXPECT_NE(bridge.output().find(fmt::format("{} -> {}: 1000 messages", ua, ub)), std::string::npos) << bridge.output();
  EXPECT_NE(bridge.output().find(fmt::format("{} -> {}: 1000 messages", ub, ua)), std::string::npos) << bridge.output();
}

TEST_F(CliBridge, PosixMqToSysvMqCarriesAThousand) {
  const std::string mq = "posixmq://" + unique_posix_name("mq");
  const std::string sq = fmt::format("sysvmq://0x{:08x}", static_cast<std::uint32_t>(unique_key()));
  auto rxq = Channel::open(sq + "?remove=1");  // this side made it: removed when it closes
  ASSERT_TRUE(rxq) << rxq.error().message();
  auto txq = Channel::open(mq + "?unlink=1");
  ASSERT_TRUE(txq) << txq.error().message();
  auto bridge = Child::exec({bin(), "bridge", "-u", "--json", mq, sq});
  auto sender = Child::spawn([&] {
    auto ch = Channel::open(mq + "?create=0");
    if (!ch) return 10;
    for (int i = 0; i < 1000; ++i) {
      if (!ch->send(as_bytes(payload(i).substr(0, 100)), Deadline::after(10s))) return 11;
    }
    return 0;
  });
  for (int i = 0; i < 1000; ++i) {
    auto m = rxq->receive_message(Deadline::after(10s));
    ASSERT_TRUE(m) << i << ": " << m.error().message();
    ASSERT_EQ(m->text(), payload(i).substr(0, 100)) << i;
  }
  EXPECT_EQ(sender.wait(), 0);
  // Message queues have no hang-up: a mailbox bridge runs until it is stopped.
  bridge.kill(SIGTERM);
  EXPECT_EQ(bridge.wait(), 0) << bridge.output();
  auto j = nlohmann::json::parse(bridge.output(), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << bridge.output();
  EXPECT_EQ(j["a_to_b"]["messages"], 1000);
}

TEST_F(CliBridge, ListenAcceptsOneConnectionAndForwardsARing) {
  // shm:// ring (the bridge consumes) -> a unix connection the bridge accepts.
  const std::string ring = "shm://" + unique_name("ring");
  const std::string at = "unix:@" + unique_name("listen");
  auto bridge = Child::exec({bin(), "bridge", "-u", ring, at, "--listen"});
  auto rx = Channel::open(at + "?wait=1&timeout=10");
  ASSERT_TRUE(rx) << rx.error().message();
  {
    auto tx = Channel::open(ring);
    ASSERT_TRUE(tx) << tx.error().message();
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(tx->send(as_bytes(payload(i)), Deadline::after(10s))) << i;
    for (int i = 0; i < 1000; ++i) {
      auto m = rx->receive_message(Deadline::after(10s));
      ASSERT_TRUE(m) << i << ": " << m.error().message();
      ASSERT_EQ(m->text(), payload(i));
    }
  }  // the producer detaches: the bridge's consumer sees peer_gone
  EXPECT_EQ(bridge.wait(), 0) << bridge.output();
  EXPECT_NE(bridge.output().find("listening on unix:@"), std::string::npos) << bridge.output();
  EXPECT_NE(bridge.output().find(fmt::format("{} -> ", ring)), std::string::npos) << bridge.output();
  EXPECT_NE(bridge.output().find(": 1000 messages"), std::string::npos) << bridge.output();
  (void)remove_ring(ring.substr(6));  // normally gone with its last side
}

TEST_F(CliBridge, ASignalWhileTheDestinationIsFullCountsTheMessagesInHandAsLost) {
  // shm://in -> shm://out, whose consumer (this test) reads nothing until the bridge stops:
  // the bridge fills out, then waits to send the rest of the batch it took from in, and
  // SIGTERM ends that wait. Every message is counted once: forwarded (in out), lost (taken
  // from in, never delivered), or still in in.
  const std::string in = "shm://" + unique_name("in"), out = "shm://" + unique_name("out") + "?capacity=4096";
  auto rx = Channel::bind(out);
  ASSERT_TRUE(rx) << rx.error().message();
  auto bridge = Child::exec({bin(), "bridge", "-u", "--json", in, out});
  const int n = 200;
  std::uint64_t left_in_in = 0;
  std::vector<std::string> rest;
  {
    auto tx = Channel::open(in);
    ASSERT_TRUE(tx) << tx.error().message();
    for (int i = 0; i < n; ++i) ASSERT_TRUE(tx->send(as_bytes(payload(i % 50)), Deadline::after(10s))) << i;
    // The bridge sleeps on the full ring (a futex), not in its idle poll.
    EXPECT_TRUE(wait_in_syscall(bridge.pid(), {SYS_futex}));
    bridge.kill(SIGTERM);
    EXPECT_EQ(bridge.wait(), 0) << bridge.output();
    // What the bridge did not take is still in in (its producer is open), for the next consumer.
    auto again = Channel::bind(in);
    ASSERT_TRUE(again) << again.error().message();
    for (auto m = again->try_receive_message(); m; m = again->try_receive_message()) rest.emplace_back(m->text());
    left_in_in = rest.size();
  }
  auto j = nlohmann::json::parse(bridge.output(), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << bridge.output();
  // In hand: what the bridge took with its last receive batch (tools/ipcx/bridge.cpp, kBatch)
  // and could not deliver.
  std::uint64_t lost = j["a_to_b"]["lost"].get<std::uint64_t>();
  EXPECT_GE(lost, 1u) << bridge.output();
  EXPECT_LE(lost, 64u) << bridge.output();
  EXPECT_EQ(j["a_to_b"]["dropped"], 0) << bridge.output();
  EXPECT_NE(j["ended"].get<std::string>().find("stopped by a signal while " + out + " was full"), std::string::npos)
      << bridge.output();
  // What it counts as forwarded is what out holds: in order, from the first.
  std::uint64_t forwarded = j["a_to_b"]["messages"].get<std::uint64_t>();
  EXPECT_GT(forwarded, 0u);
  EXPECT_LT(forwarded, static_cast<std::uint64_t>(n)) << "out holds 4096 bytes";
  for (std::uint64_t i = 0; i < forwarded; ++i) {
    auto m = rx->try_receive_message();
    ASSERT_TRUE(m) << i << ": " << m.error().message();
    ASSERT_EQ(m->text(), payload(static_cast<int>(i % 50)));
  }
  auto extra = rx->try_receive_message();
  EXPECT_FALSE(extra) << "out holds more than the bridge counted";
  // Forwarded, lost and left add up to what was sent; what is left follows the lost, in order.
  EXPECT_EQ(forwarded + lost + left_in_in, static_cast<std::uint64_t>(n)) << bridge.output();
  for (std::uint64_t k = 0; k < left_in_in; ++k) {
    ASSERT_EQ(rest[k], payload(static_cast<int>((forwarded + lost + k) % 50))) << k;
  }
  (void)remove_ring(in.substr(6));
  (void)remove_ring(out.substr(6, out.find('?') - 6));
}

TEST_F(CliBridge, MailboxBothWaysAndBadUrlsAreUsageErrors) {
  const std::string a = unique_path("a"), b = unique_path("b");
  auto both = ipcx(fmt::format("bridge fifo://{} fifo://{}", a, b));
  EXPECT_EQ(both.status, 2);
  EXPECT_NE(both.err.find("mailbox"), std::string::npos) << both.err;
  EXPECT_NE(both.err.find("-u"), std::string::npos) << both.err;
  EXPECT_NE(::access(a.c_str(), F_OK), 0) << "nothing was created";

  auto bad = ipcx(fmt::format("bridge -u fifo://{} nope://x", a));
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("unknown scheme 'nope'"), std::string::npos) << bad.err;
  auto one = ipcx("bridge fifo://" + a);
  EXPECT_EQ(one.status, 2);
  EXPECT_NE(one.err.find("URL_B"), std::string::npos) << one.err;
  auto dirs = ipcx(fmt::format("bridge -u -U fifo://{} fifo://{}", a, b));
  EXPECT_EQ(dirs.status, 2) << dirs.err;
}

TEST_F(CliBridge, OpenFailureIsARuntimeError) {
  const std::string a = unique_path("regular"), b = unique_path("b");
  { std::ofstream(a) << "not a fifo"; }
  auto r = ipcx(fmt::format("bridge -u fifo://{} fifo://{}", a, b));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(a), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not a FIFO"), std::string::npos) << r.err;
  ::unlink(a.c_str());
  ::unlink(b.c_str());
}

}  // namespace
}  // namespace ipcx::test
