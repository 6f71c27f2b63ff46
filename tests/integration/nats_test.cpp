// SPDX-License-Identifier: MIT
// nats:// Channels against a real nats-server on 127.0.0.1, started by each test: a
// publisher and two subscribers in three processes, a queue group sharing the messages,
// the only server killed under a sender, refused authorisation, no server at all, and the
// CLI (send, recv, bridge to and from shm://).
//
// The test process never calls the NATS client (see support/nats_server.hpp): every NATS
// side is a child process.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <set>
#include <thread>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ipcx/channel.hpp"
#include "ipcx/ring.hpp"
#include "support/nats_server.hpp"
#include "support/test_support.hpp"

namespace ipcx::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Exit codes of the children, for the failure messages.
constexpr const char* kCodes = "10 open/bind failed, 11 receive failed, 12 wrong message, 13 send failed, "
                               "14 unexpected outcome, 15 not built with NATS";

std::string msg(int publisher, int i) { return fmt::format("p{}-{}-{}", publisher, i, std::string(i % 97, 'x')); }

// The build may leave NATS out (IPCX_WITH_NATS=OFF): then nats:// must say so, and the
// rest of this file has nothing to test.
bool built_with_nats() {
  auto c = Child::spawn([] {
    auto ch = Channel::open("nats://127.0.0.1:1/x?connect_timeout=100&reconnect=0");
    return !ch && ch.error().kind() == Errc::not_supported ? 15 : 0;
  });
  return c.wait() != 15;
}

#define REQUIRE_NATS(server)                                            \
  if (!built_with_nats()) GTEST_SKIP() << "built with IPCX_WITH_NATS=OFF"; \
  ASSERT_TRUE((server).ok()) << (server).why()

// A subscriber: binds, opens the gate, then takes `n` messages from each of `publishers`
// and checks that each publisher's arrive whole and in order.
Child subscriber(const std::string& url, int publishers, int n, Gate& ready) {
  return Child::spawn([=, &ready] {
    auto ch = Channel::bind(url);
    if (!ch) return 10;
    ready.open();
    std::vector<int> next(static_cast<std::size_t>(publishers), 0);
    for (int k = 0; k < publishers * n; ++k) {
      auto m = ch->receive_message(Deadline::after(20s));
      if (!m) return 11;
      int p = m->text()[1] - '0';
      if (p < 0 || p >= publishers) return 12;
      auto& i = next[static_cast<std::size_t>(p)];
      if (m->text() != msg(p, i)) return 12;
      ++i;
    }
    auto extra = ch->try_receive_message();
    return !extra && extra.error().would_block() ? 0 : 14;
  });
}

Child publisher(const std::string& url, int id, int n) {
  return Child::spawn([=] {
    auto ch = Channel::open(url);
    if (!ch) return 10;
    for (int i = 0; i < n; ++i) {
      if (!ch->send(as_bytes(msg(id, i)), Deadline::after(10s))) return 13;
    }
    return 0;  // closing flushes what the client still buffers
  });
}

TEST(Nats, TwoPublishersAndTwoSubscribersEveryMessageInOrderPerPublisher) {
  auto server = NatsServer::start();
  REQUIRE_NATS(server);
  const std::string subject = unique_name("fanout");
  Gate ready_a, ready_b;
  auto a = subscriber(server.url(subject), 2, 2000, ready_a);
  auto b = subscriber(server.url(subject), 2, 2000, ready_b);
  ASSERT_EQ(ready_a.wait(20000), 'x');
  ASSERT_EQ(ready_b.wait(20000), 'x');
  auto p0 = publisher(server.url(subject), 0, 2000);
  auto p1 = publisher(server.url(subject), 1, 2000);
  EXPECT_EQ(p0.wait(30s), 0) << kCodes;
  EXPECT_EQ(p1.wait(30s), 0) << kCodes;
  EXPECT_EQ(a.wait(30s), 0) << kCodes;
  EXPECT_EQ(b.wait(30s), 0) << kCodes;
}

TEST(Nats, WildcardSubscriberSeesEverySubjectUnderIt) {
  auto server = NatsServer::start();
  REQUIRE_NATS(server);
  const std::string root = unique_name("wild");
  Gate ready;
  auto sub = subscriber(server.url(root + ".>"), 1, 100, ready);
  ASSERT_EQ(ready.wait(20000), 'x');
  auto pub = Child::spawn([&] {
    auto ch = Channel::open(server.url(root + ".a.b"));
    if (!ch) return 10;
    for (int i = 0; i < 100; ++i) {
      if (!ch->send(as_bytes(msg(0, i)))) return 13;
    }
    // Publishing to a wildcard is refused, by name.
    auto w = Channel::open(server.url(root + ".*"));
    return !w && w.error().kind() == Errc::invalid_argument ? 0 : 14;
  });
  EXPECT_EQ(pub.wait(30s), 0) << kCodes;
  EXPECT_EQ(sub.wait(30s), 0) << kCodes;
}

std::vector<std::uint32_t> drain(int fd) {
  std::vector<std::uint32_t> out;
  std::uint32_t v;
  while (::read(fd, &v, sizeof v) == sizeof v) out.push_back(v);
  ::close(fd);
  return out;
}

// A queue-group member: takes messages on the group's subject, waiting on its pollable
// descriptor, and tells the test each number it got through a pipe, until `stop` opens.
struct Member {
  Child child;
  int ids = -1;  // read end: the numbers this member received, 4 bytes each
};

Member member(const std::string& work_url, Gate& ready, Gate& stop) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) std::abort();
  auto c = Child::spawn([=, &ready, &stop] {
    ::close(p[0]);
    auto work = Channel::bind(work_url);
    if (!work) return 10;
    ready.open();
    for (;;) {
      pollfd pf{work->pollable_fd(), POLLIN, 0};
      if (::poll(&pf, 1, 10) < 0) return 11;
      for (;;) {
        auto m = work->try_receive_message();
        if (!m) {
          if (!m.error().would_block()) return 11;
          break;
        }
        std::uint32_t id = static_cast<std::uint32_t>(std::stoul(std::string(m->text())));
        if (::write(p[1], &id, sizeof id) != sizeof id) return 14;
      }
      if (stop.wait(0) == 'x') return 0;
    }
  });
  ::close(p[1]);
  return Member{std::move(c), p[0]};
}

TEST(Nats, QueueGroupGivesEachMessageToExactlyOneMember) {
  auto server = NatsServer::start();
  REQUIRE_NATS(server);
  const std::string work = unique_name("work");
  const int n = 2000;
  Gate ready_a, ready_b, stop_a, stop_b;
  auto a = member(server.url(work, "queue=workers"), ready_a, stop_a);
  auto b = member(server.url(work, "queue=workers"), ready_b, stop_b);
  ASSERT_EQ(ready_a.wait(20000), 'x');
  ASSERT_EQ(ready_b.wait(20000), 'x');
  auto jobs = Child::spawn([&] {
    auto ch = Channel::open(server.url(work, "flush=1"));
    if (!ch) return 10;
    for (int i = 0; i < n; ++i) {
      if (!ch->send(as_bytes(std::to_string(i)), Deadline::after(10s))) return 13;
    }
    return 0;
  });
  EXPECT_EQ(jobs.wait(30s), 0) << kCodes;
  // n numbers in all, from both members. Each was published once, so a duplicate would
  // leave another number missing; and nothing more may come after the n-th.
  std::vector<std::uint32_t> got_a, got_b;
  auto until = Clock::now() + 30s;
  while (got_a.size() + got_b.size() < static_cast<std::size_t>(n) && Clock::now() < until) {
    pollfd p[2] = {{a.ids, POLLIN, 0}, {b.ids, POLLIN, 0}};
    if (::poll(p, 2, 1000) <= 0) continue;
    std::uint32_t v;
    if (p[0].revents && ::read(a.ids, &v, sizeof v) == sizeof v) got_a.push_back(v);
    if (p[1].revents && ::read(b.ids, &v, sizeof v) == sizeof v) got_b.push_back(v);
  }
  stop_a.open();
  stop_b.open();
  EXPECT_EQ(a.child.wait(30s), 0) << kCodes;
  EXPECT_EQ(b.child.wait(30s), 0) << kCodes;
  auto late_a = drain(a.ids), late_b = drain(b.ids);
  EXPECT_TRUE(late_a.empty() && late_b.empty()) << "more than " << n << " deliveries";
  EXPECT_GT(got_a.size(), 0u) << "a queue group shares the work; member A got none";
  EXPECT_GT(got_b.size(), 0u) << "a queue group shares the work; member B got none";
  std::multiset<std::uint32_t> all(got_a.begin(), got_a.end());
  all.insert(got_b.begin(), got_b.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(n)) << "messages delivered";
  for (int i = 0; i < n; ++i) ASSERT_EQ(all.count(static_cast<std::uint32_t>(i)), 1u) << "message " << i;
}

TEST(Nats, KillingTheOnlyServerGivesTheSenderAClearErrorWithinItsDeadline) {
  auto server = NatsServer::start();
  REQUIRE_NATS(server);
  Gate connected, killed;
  const std::string url = server.url(unique_name("gone"), "reconnect=forever&reconnect_wait=100");
  const std::string address = server.address();
  int result[2];
  ASSERT_EQ(::pipe2(result, O_CLOEXEC), 0);
  auto sender = Child::spawn([&] {
    auto ch = Channel::open(url);
    if (!ch || !ch->send(as_bytes("before"), Deadline::after(5s))) return 10;
    connected.open();
    if (killed.wait(20000) != 'x') return 14;
    // The client may not have seen the loss yet: the first sends can still be buffered.
    // Soon one must fail, each send taking no longer than its deadline (+ slack).
    for (auto until = Clock::now() + 10s; Clock::now() < until;) {
      auto t0 = Clock::now();
      auto s = ch->send(as_bytes("after"), Deadline::after(500ms));
      auto took = Clock::now() - t0;
      if (took > 2500ms) return 20;  // a hang, bounded
      if (!s) {
        std::string text = s.error().message();
        (void)!::write(result[1], text.data(), text.size());
        return s.error().timed_out() ? 0 : 21;
      }
    }
    return 22;
  });
  ::close(result[1]);
  ASSERT_EQ(connected.wait(20000), 'x') << "sender: " << sender.wait();
  server.kill();
  killed.open();
  EXPECT_EQ(sender.wait(60s), 0) << "20 a send outlived its deadline, 21 not timed_out, 22 never failed; " << kCodes;
  std::string text(4096, '\0');
  ssize_t got = ::read(result[0], text.data(), text.size());
  ::close(result[0]);
  text.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  EXPECT_NE(text.find("not connected to a NATS server"), std::string::npos) << text;
  EXPECT_NE(text.find(address), std::string::npos) << "the error names the server: " << text;
}

TEST(Nats, NoServerReachableNamesEveryAddressTried) {
  if (!built_with_nats()) GTEST_SKIP() << "built with IPCX_WITH_NATS=OFF";
  // Two loopback ports bound but not listening: connecting is refused at once.
  int s1 = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), s2 = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(s1, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::bind(s2, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  auto port = [](int s) {
    sockaddr_in b{};
    socklen_t len = sizeof b;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&b), &len);
    return ntohs(b.sin_port);
  };
  const std::string one = fmt::format("127.0.0.1:{}", port(s1)), two = fmt::format("127.0.0.1:{}", port(s2));
  int result[2];
  ASSERT_EQ(::pipe2(result, O_CLOEXEC), 0);
  auto c = Child::spawn([&] {
    auto ch = Channel::open(fmt::format("nats://{},{}/x?connect_timeout=500", one, two));
    if (ch) return 14;
    std::string text = ch.error().message();
    (void)!::write(result[1], text.data(), text.size());
    return ch.error().peer_gone() ? 0 : 21;
  });
  ::close(result[1]);
  EXPECT_EQ(c.wait(), 0) << "21 not peer_gone; " << kCodes;
  std::string text(4096, '\0');
  ssize_t got = ::read(result[0], text.data(), text.size());
  text.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  ::close(result[0]);
  ::close(s1);
  ::close(s2);
  EXPECT_NE(text.find("no NATS server reachable"), std::string::npos) << text;
  EXPECT_NE(text.find(one), std::string::npos) << text;
  EXPECT_NE(text.find(two), std::string::npos) << text;
}

TEST(Nats, AWrongTokenIsRefusedAsAuthorisationAndTheRightOneWorks) {
  const std::string token = "s3cret-" + unique_name("t");
  auto server = NatsServer::start({"--auth", token});
  REQUIRE_NATS(server);
  const std::string good = unique_path("good-token"), bad = unique_path("bad-token");
  std::ofstream(good) << token << "\n";
  std::ofstream(bad) << "wrong\n";
  auto c = Child::spawn([&] {
    auto no = Channel::open(server.url("x", "token_file=" + bad + "&connect_timeout=1000"));
    if (no || no.error().message().find("authorisation refused") == std::string::npos) return 21;
    auto yes = Channel::open(server.url("x", "token_file=" + good));
    return yes ? 0 : 22;
  });
  EXPECT_EQ(c.wait(), 0) << "21 the wrong token was not refused as authorisation, 22 the right one failed";
  ::unlink(good.c_str());
  ::unlink(bad.c_str());
}

TEST(Nats, ABoundSubscriberThatFallsBehindCountsWhatItLost) {
  auto server = NatsServer::start();
  REQUIRE_NATS(server);
  const std::string subject = unique_name("slow");
  Gate ready, sent;
  auto sub = Child::spawn([&] {
    auto ch = Channel::bind(server.url(subject, "pending=10"));
    if (!ch) return 10;
    ready.open();
    if (sent.wait(20000) != 'x') return 14;
    // 100 published while nobody took any, at most 10 held: the messages taken say how
    // many were lost before each; in all, received + lost = 100, and some were lost.
    std::uint64_t received = 0, lost = 0;
    while (received + lost < 100) {
      auto m = ch->receive_message(Deadline::after(10s));
      if (!m) return 11;
      ++received;
      lost += m->lost;
    }
    return received < 100 && received + lost == 100 ? 0 : 21;
  });
  ASSERT_EQ(ready.wait(20000), 'x');
  auto pub = Child::spawn([&] {
    auto ch = Channel::open(server.url(subject, "flush=1"));
    if (!ch) return 10;
    for (int i = 0; i < 100; ++i) {
      if (!ch->send(as_bytes(msg(0, i)))) return 13;
    }
    return 0;
  });
  EXPECT_EQ(pub.wait(30s), 0) << kCodes;
  sent.open();
  EXPECT_EQ(sub.wait(30s), 0) << "21 received + lost != published; " << kCodes;
}

TEST(Nats, CliSendAndRecv) {
  auto server = NatsServer::start({"-V"});  // traces each SUB: the test sees recv subscribe
  REQUIRE_NATS(server);
  const std::string subject = unique_name("cli");
  auto recv = Child::exec({cli_path(), "recv", server.url(subject), "--count", "3", "--timeout", "20"});
  ASSERT_TRUE(server.wait_log("SUB " + subject)) << server.log();
  auto send = run(fmt::format("{} send {} one two three", cli_path(), server.url(subject)));
  EXPECT_EQ(send.status, 0) << send.output;
  EXPECT_EQ(recv.wait(30s), 0) << recv.output();
  EXPECT_EQ(recv.output(), "one\ntwo\nthree\n");
}

TEST(Nats, CliBridgeFromShmToNatsAndBackToShm) {
  auto server = NatsServer::start({"-V"});
  REQUIRE_NATS(server);
  // shm://in -> nats subject -> shm://out: two bridges, one each way.
  const std::string in = "shm://" + unique_name("in"), out = "shm://" + unique_name("out");
  const std::string subject = unique_name("hop");
  auto to_nats = Child::exec({cli_path(), "bridge", "-u", in, server.url(subject)});
  auto from_nats = Child::exec({cli_path(), "bridge", "-u", server.url(subject), out});
  ASSERT_TRUE(server.wait_log("SUB " + subject)) << server.log();
  auto rx = Child::spawn([&] {
    auto ch = Channel::bind(out);  // the ring's consumer
    if (!ch) return 10;
    for (int i = 0; i < 500; ++i) {
      auto m = ch->receive_message(Deadline::after(20s));
      if (!m) return 11;
      if (m->text() != msg(0, i)) return 12;
    }
    return 0;
  });
  auto tx = Child::spawn([&] {
    auto ch = Channel::open(in);
    if (!ch) return 10;
    for (int i = 0; i < 500; ++i) {
      if (!ch->send(as_bytes(msg(0, i)), Deadline::after(20s))) return 13;
    }
    return 0;
  });
  EXPECT_EQ(tx.wait(60s), 0) << kCodes;
  EXPECT_EQ(rx.wait(60s), 0) << kCodes;
  // The producer of shm://in is gone: that bridge ends by itself. The other is stopped.
  EXPECT_EQ(to_nats.wait(30s), 0) << to_nats.output();
  from_nats.kill(SIGTERM);
  EXPECT_EQ(from_nats.wait(), 0) << from_nats.output();
  EXPECT_NE(to_nats.output().find(fmt::format("{} -> {}: 500 messages", in, server.url(subject))), std::string::npos)
      << to_nats.output();
  EXPECT_NE(from_nats.output().find(fmt::format("{} -> {}: 500 messages", server.url(subject), out)),
            std::string::npos)
      << from_nats.output();
  (void)remove_ring(in.substr(6));  // normally gone with their last side
  (void)remove_ring(out.substr(6));
}

}  // namespace
}  // namespace ipcx::test
