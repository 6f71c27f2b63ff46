// SPDX-License-Identifier: MIT
// ipcx bridge through the installed binary: a thousand messages from one channel to
// another with none lost or reordered, counts on exit, stopping on a signal, and the
// errors that keep a bridge from echoing into a mailbox; stdio and exec:COMMAND
// endpoints, and --listen --fork with a process per client.
#include <poll.h>
#include <signal.h>

#include <sys/syscall.h>

#include <map>

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

// The installed ipcx run with its standard input, output and error on pipes the test holds.
class PipedCli {
 public:
  explicit PipedCli(std::vector<std::string> argv) {
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) std::abort();
    child_.emplace(Child::spawn([=]() mutable {
      // dup2 clears close-on-exec on 0, 1 and 2; every other descriptor goes at the exec.
      if (::dup2(in[0], 0) < 0 || ::dup2(out[1], 1) < 0 || ::dup2(err[1], 2) < 0) return 126;
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      return 127;
    }));
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    in_ = in[1];
    out_ = out[0];
    err_ = err[0];
  }
  ~PipedCli() {
    close_stdin();
    ::close(out_);
    ::close(err_);
  }
  PipedCli(const PipedCli&) = delete;
  PipedCli& operator=(const PipedCli&) = delete;

  Child& child() { return *child_; }
  void write(std::string_view text) { ASSERT_EQ(::write(in_, text.data(), text.size()), static_cast<ssize_t>(text.size())); }
  void close_stdin() {
    if (in_ >= 0) ::close(in_);
    in_ = -1;
  }
  // The next line on its standard output (without '\n'), or nullopt after 10 s or at its end.
  std::optional<std::string> line() {
    for (;;) {
      if (auto nl = buf_.find('\n'); nl != std::string::npos) {
        std::string l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return l;
      }
      pollfd pf{out_, POLLIN, 0};
      if (::poll(&pf, 1, 10000) <= 0) return std::nullopt;
      char b[4096];
      ssize_t n = ::read(out_, b, sizeof b);
      if (n <= 0) return std::nullopt;
      buf_.append(b, static_cast<std::size_t>(n));
    }
  }
  // All that is left on standard output, or on standard error, until the end (after exit).
  std::string rest_of_stdout() { return buf_ + drain(out_); }
  std::string stderr_text() { return drain(err_); }

 private:
  static std::string drain(int fd) {
    std::string s;
    char b[4096];
    for (ssize_t n; (n = ::read(fd, b, sizeof b)) > 0;) s.append(b, static_cast<std::size_t>(n));
    return s;
  }
  std::optional<Child> child_;
  int in_ = -1, out_ = -1, err_ = -1;
  std::string buf_;
};

TEST_F(CliBridge, StdioBothWaysAndTheEndOfStandardInputEndsOnlyThatWay) {
  const std::string at = "unix:@" + unique_name("stdio");
  auto l = Listener::listen(at);
  ASSERT_TRUE(l) << l.error().message();
  PipedCli bridge({bin(), "bridge", "stdio", at});
  auto c = l->accept(Deadline::after(10s));
  ASSERT_TRUE(c) << c.error().message();
  // stdin -> the channel: one message per line, the last one with no '\n' too.
  bridge.write("hello\n\nworld\nlast");
  bridge.close_stdin();
  for (const char* want : {"hello", "", "world", "last"}) {
    auto m = c->receive_message(Deadline::after(10s));
    ASSERT_TRUE(m) << want << ": " << m.error().message();
    EXPECT_EQ(m->text(), want);
  }
  // The channel -> stdout, one line each, also after standard input ended.
  for (const char* text : {"reply-1", "reply-2"}) ASSERT_TRUE(c->send(as_bytes(text), Deadline::after(10s)));
  EXPECT_EQ(bridge.line(), "reply-1");
  EXPECT_EQ(bridge.line(), "reply-2");
  *c = Channel();  // the other side goes away: nothing is left to forward
  EXPECT_EQ(bridge.child().wait(), 0);
  EXPECT_EQ(bridge.rest_of_stdout(), "") << "standard output carries the messages only";
  const std::string err = bridge.stderr_text();
  EXPECT_NE(err.find(fmt::format("stdio -> {}: 4 messages, 14 bytes", at)), std::string::npos) << err;
  EXPECT_NE(err.find(fmt::format("{} -> stdio: 2 messages, 14 bytes", at)), std::string::npos) << err;
  EXPECT_NE(err.find(fmt::format("ended: {} went away", at)), std::string::npos) << err;
}

TEST_F(CliBridge, OneWayFromStdioEndsAtTheEndOfStandardInput) {
  const std::string at = "unix:@" + unique_name("oneway");
  auto l = Listener::listen(at);
  ASSERT_TRUE(l) << l.error().message();
  // The bridge connects (the backlog takes it), forwards, and ends with its input.
  auto r = ipcx(fmt::format("bridge -u --json stdio {}", at), "a\nbb\nccc\n");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "");
  auto j = nlohmann::json::parse(r.err.substr(r.err.find('{')), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.err;
  EXPECT_EQ(j["a_to_b"]["messages"], 3);
  EXPECT_EQ(j["ended"], "stdio: end of input");
  auto c = l->accept(Deadline::after(10s));
  ASSERT_TRUE(c) << c.error().message();
  for (const char* want : {"a", "bb", "ccc"}) {
    auto m = c->receive_message(Deadline::after(10s));
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(m->text(), want);
  }
  auto end = c->receive_message(Deadline::after(10s));
  EXPECT_TRUE(!end && end.error().peer_gone());
}

TEST_F(CliBridge, ExecCatEchoesTwoThousandMessagesSentInABurst) {
  // More than a pipe and the bridge's queue for the command hold: the bridge must keep
  // reading cat's output while cat's input is full, or the three would wait for each other.
  const std::string at = "unix:@" + unique_name("cat");
  auto l = Listener::listen(at);
  ASSERT_TRUE(l) << l.error().message();
  auto bridge = Child::exec({bin(), "bridge", "--json", "exec:cat", at});
  auto c = l->accept(Deadline::after(10s));
  ASSERT_TRUE(c) << c.error().message();
  const int n = 2000;
  auto sender = Child::spawn([&] {
    for (int i = 0; i < n; ++i) {
      if (!c->send(as_bytes(payload(i)), Deadline::after(10s))) return 11;
    }
    return 0;
  });
  for (int i = 0; i < n; ++i) {
    auto m = c->receive_message(Deadline::after(10s));
    ASSERT_TRUE(m) << i << ": " << m.error().message();
    ASSERT_EQ(m->text(), payload(i));
  }
  EXPECT_EQ(sender.wait(), 0);
  *c = Channel();  // hang up: the bridge ends, and cat with it (its input closed)
  EXPECT_EQ(bridge.wait(), 0) << bridge.output();
  auto j = nlohmann::json::parse(bridge.output(), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << bridge.output();
  EXPECT_EQ(j["a_to_b"]["messages"], n);
  EXPECT_EQ(j["b_to_a"]["messages"], n);
  EXPECT_EQ(j["a_exit"]["command"], "cat");
  EXPECT_EQ(j["a_exit"]["status"], 0) << bridge.output();
  const pid_t cat = j["a_exit"]["pid"].get<pid_t>();
  EXPECT_NE(::kill(cat, 0), 0) << "cat was reaped";
}

TEST_F(CliBridge, ACommandThatExitsEarlyEndsTheBridgeWithItsStatus) {
  const std::string at = "unix:@" + unique_name("early");
  auto l = Listener::listen(at);
  ASSERT_TRUE(l) << l.error().message();
  auto bridge = Child::exec({bin(), "bridge", "--json", "exec:echo first; echo second; exit 3", at});
  auto c = l->accept(Deadline::after(10s));
  ASSERT_TRUE(c) << c.error().message();
  // What it wrote before it exited is forwarded, then the bridge ends (exit 1: status 3).
  for (const char* want : {"first", "second"}) {
    auto m = c->receive_message(Deadline::after(10s));
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(m->text(), want);
  }
  auto end = c->receive_message(Deadline::after(10s));
  EXPECT_TRUE(!end && end.error().peer_gone());
  EXPECT_EQ(bridge.wait(), 1) << bridge.output();
  const std::string out = bridge.output();
  auto j = nlohmann::json::parse(out.substr(0, out.find('\n')), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  EXPECT_EQ(j["a_exit"]["status"], 3);
  EXPECT_EQ(j["a_to_b"]["messages"], 2);
  EXPECT_EQ(j["ended"], "exec:echo first; echo second; exit 3 exited with status 3");
  EXPECT_NE(out.find("ipcx: bridge: exec:echo first; echo second; exit 3 exited with status 3"), std::string::npos)
      << out;

  // Status 0: exit 0, the counts printed.
  auto ok = ipcx("bridge exec:true stdio");
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_NE(ok.err.find("exec:true (pid "), std::string::npos) << ok.err;
  EXPECT_NE(ok.err.find("ended: exec:true exited with status 0"), std::string::npos) << ok.err;
}

TEST_F(CliBridge, ACommandThatDoesNotExistIsARuntimeError) {
  const std::string missing = unique_name("no-such-command");
  auto r = ipcx(fmt::format("bridge exec:{} stdio", missing));
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find(fmt::format("ipcx: bridge: exec:{} exited with status 127 (/bin/sh: command not found)",
                                   missing)),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(CliBridge, ACommandInheritsNoDescriptorOfTheBridge) {
  // The command lists its shell's descriptors: 0 and 1 are the bridge's pipes, 2 its
  // standard error, and any other must be one this test process has too (inherited from
  // whoever started the test), never the bridge's sockets, pipes or pidfd.
  const std::string at = "unix:@" + unique_name("fds");
  auto l = Listener::listen(at);
  ASSERT_TRUE(l) << l.error().message();
  auto bridge = Child::exec({bin(), "bridge", "exec:ls -l /proc/$$/fd", at});
  auto c = l->accept(Deadline::after(10s));
  ASSERT_TRUE(c) << c.error().message();
  std::map<int, std::string> fds;
  for (;;) {
    auto m = c->receive_message(Deadline::after(10s));
    if (!m) {
      EXPECT_TRUE(m.error().peer_gone()) << m.error().message();
      break;
    }
    const std::string line(m->text());
    const auto arrow = line.find(" -> ");
    if (arrow == std::string::npos) continue;  // "total 0"
    const auto space = line.rfind(' ', arrow - 1);
    fds[std::stoi(line.substr(space + 1, arrow - space - 1))] = line.substr(arrow + 4);
  }
  EXPECT_EQ(bridge.wait(), 0) << bridge.output();
  ASSERT_TRUE(fds.contains(0) && fds.contains(1)) << bridge.output();
  EXPECT_TRUE(fds[0].starts_with("pipe:")) << fds[0];
  EXPECT_TRUE(fds[1].starts_with("pipe:")) << fds[1];
  for (const auto& [fd, target] : fds) {
    if (fd <= 2) continue;
    std::error_code ec;
    const auto ours = std::filesystem::read_symlink(fmt::format("/proc/self/fd/{}", fd), ec);
    EXPECT_FALSE(ec) << "descriptor " << fd << " (" << target << ") came from the bridge";
    if (!ec) {
      EXPECT_EQ(ours.string(), target) << "descriptor " << fd;
    }
  }
}

TEST_F(CliBridge, BadEndpointsAndForkWithoutAListenerAreUsageErrors) {
  const std::string fifo = unique_path("fifo"), sock = unique_path("sock");
  struct Case {
    std::string args, says;
  };
  const Case cases[] = {
      {"bridge exec: stdio", "exec: needs a command"},
      {"bridge 'exec:  ' stdio", "exec: needs a command"},
      {"bridge stdio stdio", "both stdio"},
      {fmt::format("bridge --fork exec:cat unix://{}", sock), "--fork requires --listen"},
      {fmt::format("bridge --listen --fork exec:cat fifo://{}", fifo), "does not listen"},
      {fmt::format("bridge --listen exec:cat stdio"), "does not listen"},
      {fmt::format("bridge --listen --fork stdio unix://{}", sock), "share one standard input"},
  };
  for (const auto& c : cases) {
    auto r = ipcx(c.args);
    EXPECT_EQ(r.status, 2) << c.args << ": " << r.err;
    EXPECT_TRUE(r.err.starts_with("ipcx: ")) << c.args << ": " << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.args << ": " << r.err;
  }
  EXPECT_NE(::access(fifo.c_str(), F_OK), 0) << "nothing was created";
  EXPECT_NE(::access(sock.c_str(), F_OK), 0) << "nothing was created";
}

TEST_F(CliBridge, ForkGivesEachClientItsOwnCommandAndSigtermLeavesNothing) {
  const std::string path = unique_path("echo.sock");
  const std::string at = "unix://" + path;
  auto bridge = Child::exec({bin(), "bridge", "--listen", "--fork", "--json", "exec:cat", at});
  auto c1 = Channel::open(at + "?wait=1&timeout=10");
  ASSERT_TRUE(c1) << c1.error().message();
  auto c2 = Channel::open(at + "?wait=1&timeout=10");
  ASSERT_TRUE(c2) << c2.error().message();
  // Both connected at once; each gets its own echo, never the other's.
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(c1->send(as_bytes(fmt::format("one-{}", i)), Deadline::after(10s)));
    ASSERT_TRUE(c2->send(as_bytes(fmt::format("two-{}", i)), Deadline::after(10s)));
    auto m2 = c2->receive_message(Deadline::after(10s));
    ASSERT_TRUE(m2) << i << ": " << m2.error().message();
    EXPECT_EQ(m2->text(), fmt::format("two-{}", i));
    auto m1 = c1->receive_message(Deadline::after(10s));
    ASSERT_TRUE(m1) << i << ": " << m1.error().message();
    EXPECT_EQ(m1->text(), fmt::format("one-{}", i));
  }
  // The first client leaves; the second is still served by its own process.
  *c1 = Channel();
  ASSERT_TRUE(c2->send(as_bytes("two-last"), Deadline::after(10s)));
  auto last = c2->receive_message(Deadline::after(10s));
  ASSERT_TRUE(last) << last.error().message();
  EXPECT_EQ(last->text(), "two-last");

  bridge.kill(SIGTERM);
  EXPECT_EQ(bridge.wait(), 0) << bridge.output();
  auto end = c2->receive_message(Deadline::after(10s));
  EXPECT_TRUE(!end && end.error().peer_gone()) << "the second client's bridge stopped";
  EXPECT_NE(::access(path.c_str(), F_OK), 0) << "the socket file is gone";

  // One line per client, then the totals.
  std::vector<nlohmann::json> clients;
  nlohmann::json total;
  std::istringstream lines(bridge.output());
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("{")) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    if (j.contains("client")) {
      clients.push_back(j);
    } else {
      total = j;
    }
  }
  ASSERT_EQ(clients.size(), 2u) << bridge.output();
  std::uint64_t to_cat = 0;
  for (const auto& c : clients) {
    to_cat += c["b_to_a"]["messages"].get<std::uint64_t>();
    // Each client's bridge process and its cat are gone (reaped).
    EXPECT_NE(::kill(c["pid"].get<pid_t>(), 0), 0) << c;
    EXPECT_NE(::kill(c["a_exit"]["pid"].get<pid_t>(), 0), 0) << c;
  }
  EXPECT_EQ(to_cat, 101u);
  // Which is reported first is a race (the first may see its hang-up or the stop first);
  // the second client was still connected when the signal came.
  const auto& first = clients[0]["b_to_a"]["messages"] == 50 ? clients[0] : clients[1];
  const auto& second = clients[0]["b_to_a"]["messages"] == 50 ? clients[1] : clients[0];
  EXPECT_EQ(first["b_to_a"]["messages"], 50) << bridge.output();
  EXPECT_EQ(second["b_to_a"]["messages"], 51) << bridge.output();
  EXPECT_EQ(second["ended"], "stopped by a signal") << bridge.output();
  ASSERT_TRUE(total.is_object()) << bridge.output();
  EXPECT_EQ(total["clients"], 2);
  EXPECT_EQ(total["b_to_a"]["messages"], 101);
  EXPECT_EQ(total["a_to_b"]["messages"], 101);
  EXPECT_EQ(total["ended"], "stopped by a signal");
}

}  // namespace
}  // namespace ipcx::test
