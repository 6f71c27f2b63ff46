// ipcx bridge through the installed binary: a thousand messages from one channel to
// another with none lost or reordered, counts on exit, stopping on a signal, and the
// errors that keep a bridge from echoing into a mailbox.
#include <signal.h>

#include "cli_support.hpp"
#include "ipcx/channel.hpp"

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
