// SPDX-License-Identifier: MIT
// nats:// Channels against a real nats-server on 127.0.0.1, started by each test: a
// publisher and two subscribers in three processes, a queue group sharing the messages,
// the only server killed under a sender, refused authorisation, no server at all, the CLI
// (send, recv, bridge to and from shm://, a burst bridged in batches), and JetStream: a stream kept while no receiver
// exists, a durable receiver that resumes where it acknowledged (closed, or killed), and a
// three-server cluster with a stream replicated three times losing its leader mid-stream.
//
// The test process never calls the NATS client (see support/nats_server.hpp): every NATS
// side is a child process.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <set>
#include <thread>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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

TEST(Nats, CliBridgeMovesABurstInBatchesWholeAndInOrderFlushingOncePerBatch) {
  auto server = NatsServer::start({"-V"});  // traces each SUB, and each PING (a flush)
  REQUIRE_NATS(server);
  const int n = 2000;
  const std::string in = "shm://" + unique_name("in"), out = "shm://" + unique_name("out");
  const std::string subject = unique_name("burst");
  // The burst waits in shm://in before its bridge starts, which so finds it all ready.
  auto tx = Channel::open(in);
  ASSERT_TRUE(tx) << tx.error().message();
  std::uint64_t bytes = 0;
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(tx->send(as_bytes(msg(0, i)), Deadline::after(10s))) << i;
    bytes += msg(0, i).size();
  }
  auto from_nats = Child::exec({cli_path(), "bridge", "-u", "--json", server.url(subject), out});
  ASSERT_TRUE(server.wait_log("SUB " + subject)) << server.log();
  auto rx = Child::spawn([&] {
    auto ch = Channel::bind(out);
    if (!ch) return 10;
    for (int i = 0; i < n; ++i) {
      auto m = ch->receive_message(Deadline::after(20s));
      if (!m) return 11;
      if (m->text() != msg(0, i)) return 12;
    }
    return 0;
  });
  // flush=1: a flush per message would be n PINGs; the bridge's batches make one each.
  auto to_nats = Child::exec({cli_path(), "bridge", "-u", "--json", in, server.url(subject, "flush=1")});
  EXPECT_EQ(rx.wait(60s), 0) << kCodes;
  tx = Channel();  // the producer of shm://in goes: that bridge ends by itself
  EXPECT_EQ(to_nats.wait(30s), 0) << to_nats.output();
  from_nats.kill(SIGTERM);
  EXPECT_EQ(from_nats.wait(), 0) << from_nats.output();
  for (Child* c : {&to_nats, &from_nats}) {
    auto j = nlohmann::json::parse(c->output(), nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << c->output();
    EXPECT_EQ(j["a_to_b"]["messages"], n) << c->output();
    EXPECT_EQ(j["a_to_b"]["bytes"], bytes) << c->output();
    EXPECT_EQ(j["a_to_b"]["lost"], 0) << c->output();
    EXPECT_EQ(j["a_to_b"]["dropped"], 0) << c->output();
  }
  // Every client's PINGs: each connects and closes with one, and the publishing bridge
  // flushes once per batch of up to 64 (tools/ipcx/bridge.cpp, kBatch).
  std::string log = server.log();
  int pings = 0;
  for (auto at = log.find("<<- [PING]"); at != std::string::npos; at = log.find("<<- [PING]", at + 1)) ++pings;
  EXPECT_GE(pings, n / 64) << "flush=1 flushed less than once per batch";
  EXPECT_LT(pings, n / 8) << "the bridge flushed about once per message, not once per batch";
  (void)remove_ring(in.substr(6));  // normally gone with their last side
  (void)remove_ring(out.substr(6));
}

TEST(Nats, CliBridgeCountsWhatItsSourceDroppedBeforeItGotThem) {
  auto server = NatsServer::start({"-V"});
  REQUIRE_NATS(server);
  // nats (pending=10) -> shm://out, whose consumer (this test) reads nothing at first: the
  // bridge fills out and waits, the subscription holds 10 and drops the rest as they come.
  const std::string subject = unique_name("drops"), out = "shm://" + unique_name("out") + "?capacity=4096";
  auto rx = Channel::bind(out);
  ASSERT_TRUE(rx) << rx.error().message();
  auto bridge = Child::exec({cli_path(), "bridge", "-u", "--json", server.url(subject, "pending=10"), out});
  ASSERT_TRUE(server.wait_log("SUB " + subject)) << server.log();
  const int n = 100;
  auto pub = Child::spawn([&] {
    auto ch = Channel::open(server.url(subject, "flush=1"));
    if (!ch) return 10;
    for (int i = 0; i < n; ++i) {
      if (!ch->send(as_bytes(msg(0, i)), Deadline::after(10s))) return 13;
    }
    return 0;
  });
  ASSERT_EQ(pub.wait(30s), 0) << kCodes;
  // Now read: what the bridge forwards comes in order, with gaps where it dropped. Three
  // seconds with nothing new ends it (the bridge moves the rest in microseconds).
  int received = 0, last = -1;
  for (;;) {
    auto m = rx->receive_message(Deadline::after(3s));
    if (!m) {
      ASSERT_TRUE(m.error().timed_out()) << m.error().message();
      break;
    }
    int i = -1;
    for (int k = last + 1; k < n && i < 0; ++k) i = m->text() == msg(0, k) ? k : -1;
    ASSERT_GE(i, 0) << "out of order or unknown: " << m->text().substr(0, 20);
    last = i;
    ++received;
  }
  bridge.kill(SIGTERM);
  EXPECT_EQ(bridge.wait(), 0) << bridge.output();
  auto j = nlohmann::json::parse(bridge.output(), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << bridge.output();
  EXPECT_EQ(j["a_to_b"]["messages"], received) << bridge.output();
  EXPECT_EQ(j["a_to_b"]["lost"], 0) << bridge.output();
  EXPECT_GT(j["a_to_b"]["dropped"].get<int>(), 0) << bridge.output();
  EXPECT_EQ(j["a_to_b"]["messages"].get<int>() + j["a_to_b"]["dropped"].get<int>(), n) << bridge.output();
  rx = Channel();
  (void)remove_ring(out.substr(6, out.find('?') - 6));
}

// ---- JetStream ----

// Numbers 0..n-1 as messages; "7" -> 7, or -1 for anything else.
long number(std::string_view text) {
  long v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc{} && end == text.data() + text.size() ? v : -1;
}

// Sends "from".."to-1", each within `each`; `longest` (if given) learns the slowest send.
int send_numbers(Channel& ch, int from, int to, std::chrono::milliseconds each = 10s,
                 Clock::duration* longest = nullptr) {
  for (int i = from; i < to; ++i) {
    auto t0 = Clock::now();
    auto s = ch.send(as_bytes(std::to_string(i)), Deadline::after(each));
    if (longest) *longest = std::max(*longest, Clock::now() - t0);
    if (!s) {
      fmt::print(stderr, "send {}: {}\n", i, s.error().message());
      return 13;
    }
  }
  return 0;
}

// A receiver in a child: binds `url`, opens `ready`, then receives and writes every number
// it gets to a pipe (4 bytes each) until it has seen all of 0..n-1 at least once, or until
// `stop` numbers were received (then it closes its channel cleanly and exits 0).
struct Receiver {
  Child child;
  int numbers = -1;  // read end
};

Receiver receiver(const std::string& url, int n, Gate& ready, int stop = -1) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) std::abort();
  auto c = Child::spawn([=, &ready] {
    ::close(p[0]);
    auto ch = Channel::bind(url);
    if (!ch) {
      fmt::print(stderr, "bind: {}\n", ch.error().message());
      return 10;
    }
    ready.open();
    std::vector<bool> seen(static_cast<std::size_t>(n), false);
    int distinct = 0, received = 0;
    while (distinct < n && received != stop) {
      auto m = ch->receive_message(Deadline::after(30s));
      if (!m) {
        fmt::print(stderr, "receive: {}\n", m.error().message());
        return 11;
      }
      long v = number(m->text());
      if (v < 0 || v >= n) return 12;
      ++received;
      if (!seen[static_cast<std::size_t>(v)]) ++distinct;
      seen[static_cast<std::size_t>(v)] = true;
      std::uint32_t w = static_cast<std::uint32_t>(v);
      if (::write(p[1], &w, sizeof w) != sizeof w) return 14;
    }
    return 0;
  });
  ::close(p[1]);
  return Receiver{std::move(c), p[0]};
}

// Reads numbers from a receiver's pipe until `count` arrived or the pipe ends (bounded).
void read_numbers(int fd, std::vector<std::uint32_t>& out, std::size_t count, std::chrono::seconds timeout = 60s) {
  auto until = Clock::now() + timeout;
  while (out.size() < count && Clock::now() < until) {
    pollfd pf{fd, POLLIN, 0};
    if (::poll(&pf, 1, 1000) <= 0) continue;
    std::uint32_t v;
    if (::read(fd, &v, sizeof v) != sizeof v) return;
    out.push_back(v);
  }
}

TEST(NatsJetStream, AStreamKeepsWhatNobodyReceivedAndARestartedDurableResumesWhereItAcknowledged) {
  auto server = NatsServer::start_jetstream();
  REQUIRE_NATS(server);
  const int n = 1000;
  const std::string subject = unique_name("js"), stream = "S" + unique_name("s").substr(6);
  // Published before any receiver exists: core NATS would drop all of it.
  auto pub = Child::spawn([&] {
    auto ch = Channel::open(server.url(subject, "stream=" + stream));
    if (!ch) {
      fmt::print(stderr, "open: {}\n", ch.error().message());
      return 10;
    }
    return send_numbers(*ch, 0, n);
  });
  ASSERT_EQ(pub.wait(60s), 0) << kCodes;
  const std::string url = server.url(subject, fmt::format("stream={}&durable=worker", stream));
  // The first receiver takes 400 and closes: 0..399 are acknowledged.
  Gate ready1, ready2;
  auto first = receiver(url, n, ready1, 400);
  std::vector<std::uint32_t> got1, got2;
  read_numbers(first.numbers, got1, 400);
  EXPECT_EQ(first.child.wait(30s), 0) << kCodes;
  ::close(first.numbers);
  ASSERT_EQ(got1.size(), 400u);
  for (std::uint32_t i = 0; i < 400; ++i) ASSERT_EQ(got1[i], i) << "in order, from the first";
  // The second resumes at 400: nothing acknowledged comes again, nothing is missing.
  auto second = receiver(url, n, ready2, n - 400);
  read_numbers(second.numbers, got2, n - 400);
  EXPECT_EQ(second.child.wait(30s), 0) << kCodes;
  ::close(second.numbers);
  ASSERT_EQ(got2.size(), static_cast<std::size_t>(n - 400)) << "first received: " << (got2.empty() ? -1 : static_cast<long>(got2[0]));
  for (std::uint32_t i = 0; i < got2.size(); ++i) ASSERT_EQ(got2[i], 400 + i) << "resumed in order at 400";
}

TEST(NatsJetStream, AReceiverKilledMidStreamLosesNothingTheNextOneGetsTheUnacknowledgedAgain) {
  auto server = NatsServer::start_jetstream();
  REQUIRE_NATS(server);
  const int n = 2000;
  const std::string subject = unique_name("jskill"), stream = "K" + unique_name("k").substr(6);
  // ack_wait=1000: what the killed receiver held unacknowledged comes again after 1 s.
  const std::string url = server.url(subject, fmt::format("stream={}&durable=worker&ack_wait=1000", stream));
  Gate ready1, ready2;
  auto first = receiver(url, n, ready1);
  ASSERT_EQ(ready1.wait(20000), 'x') << "receiver: " << first.child.wait();
  auto pub = Child::spawn([&] {
    auto ch = Channel::open(server.url(subject, "stream=" + stream));
    return ch ? send_numbers(*ch, 0, n) : 10;
  });
  std::vector<std::uint32_t> got1, got2;
  read_numbers(first.numbers, got1, 300);
  ASSERT_EQ(got1.size(), 300u);
  first.child.kill(SIGKILL);
  EXPECT_EQ(first.child.wait(), 128 + SIGKILL);
  read_numbers(first.numbers, got1, n);  // what it wrote before it died
  ::close(first.numbers);
  EXPECT_EQ(pub.wait(60s), 0) << kCodes;
  auto second = receiver(url, n, ready2);
  // The second receives until it has seen everything the first did not report (bounded).
  std::set<std::uint32_t> all(got1.begin(), got1.end());
  auto until = Clock::now() + 60s;
  while (all.size() < static_cast<std::size_t>(n) && Clock::now() < until) {
    std::size_t before = got2.size();
    read_numbers(second.numbers, got2, before + 1, 5s);
    if (got2.size() == before) break;
    all.insert(got2.back());
  }
  second.child.kill(SIGTERM);
  second.child.wait();
  ::close(second.numbers);
  EXPECT_EQ(all.size(), static_cast<std::size_t>(n)) << "every published message reached a receiver";
  // At least once: the messages the second got that the first had already had.
  std::set<std::uint32_t> first_set(got1.begin(), got1.end());
  std::size_t again = 0;
  for (auto v : got2) again += first_set.count(v);
  RecordProperty("redelivered_after_kill", static_cast<int>(again));
  std::fprintf(stderr, "first got %zu, second %zu, of which %zu the first had had\n", got1.size(), got2.size(), again);
}

TEST(NatsJetStream, OptionsThatDoNotGoTogetherAndAServerWithoutJetStreamAreClearErrors) {
  auto server = NatsServer::start();  // no -js
  REQUIRE_NATS(server);
  int result[2];
  ASSERT_EQ(::pipe2(result, O_CLOEXEC), 0);
  auto c = Child::spawn([&] {
    auto say = [&](const std::string& t) { (void)!::write(result[1], (t + "\n").data(), t.size() + 1); };
    auto no_durable = Channel::bind(server.url("x", "stream=S"));
    if (no_durable || no_durable.error().message().find("durable=NAME") == std::string::npos) return 21;
    auto no_stream = Channel::bind(server.url("x", "durable=d"));
    if (no_stream || no_stream.error().message().find("needs stream=NAME") == std::string::npos) return 22;
    auto sender_durable = Channel::open(server.url("x", "stream=S&durable=d"));
    if (sender_durable || sender_durable.error().kind() != Errc::invalid_argument) return 23;
    auto no_js = Channel::open(server.url("x", "stream=S&connect_timeout=1000"));
    if (no_js) return 24;
    say(no_js.error().message());
    return no_js.error().message().find("-js") != std::string::npos ? 0 : 25;
  });
  ::close(result[1]);
  int rc = c.wait(30s);
  std::string text(4096, '\0');
  ssize_t got = ::read(result[0], text.data(), text.size());
  ::close(result[0]);
  text.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  EXPECT_EQ(rc, 0) << "21 stream without durable, 22 durable without stream, 23 a sender's durable, "
                      "24/25 no JetStream not said; "
                   << text;
}

// The cluster: three servers, a stream replicated on all three; the server that leads the
// stream, and that both clients are connected to, is killed while the publisher sends.
// Every message whose send returned (the stream stored it) reaches the receiver; messages
// in flight come again (the publisher's with the same id, stored once; the receiver's
// unacknowledged after ack_wait), so the receiver may see some twice: counted, not failed.
TEST(NatsJetStream, ClusterOfThreeLosesTheStreamLeaderMidStreamAndNothingAcknowledgedIsLost) {
  auto cluster = NatsCluster::start();
  if (!built_with_nats()) GTEST_SKIP() << "built with IPCX_WITH_NATS=OFF";
  ASSERT_TRUE(cluster.ok()) << cluster.why();
  const int n = 3000;
  const std::string subject = unique_name("r3"), stream = "R" + unique_name("r").substr(6);
  const std::string query = fmt::format("stream={}&replicas=3&reconnect_wait=50", stream);
  // Make the stream (the cluster may still be electing its metadata leader: try for 30 s).
  auto make = Child::spawn([&] {
    for (auto until = Clock::now() + 30s; Clock::now() < until;) {
      if (auto ch = Channel::open(cluster.url(subject, query))) return 0;
      std::this_thread::sleep_for(200ms);  // retrying a setup step, not ordering
    }
    return 10;
  });
  ASSERT_EQ(make.wait(60s), 0) << "the R3 stream could not be made";
  int leader = -1;
  for (auto until = Clock::now() + 20s; leader < 0 && Clock::now() < until; std::this_thread::sleep_for(20ms)) {
    leader = cluster.stream_leader(stream);
  }
  ASSERT_GE(leader, 0) << "no server logged that it leads the stream";
  const auto first = static_cast<std::size_t>(leader);  // both clients connect to it first
  Gate ready, half;
  auto rx = receiver(cluster.url(subject, query + "&durable=worker&ack_wait=1000", first), n, ready);
  ASSERT_EQ(ready.wait(20000), 'x') << "receiver: " << rx.child.wait();
  auto pub = Child::spawn([&] {
    auto ch = Channel::open(cluster.url(subject, query, first));
    if (!ch) return 10;
    if (int rc = send_numbers(*ch, 0, n / 3); rc != 0) return rc;
    half.open();
    // Each send returns once the stream has it. The deadline covers a fail-over: the two
    // servers left elect a new stream leader once the old one has been silent for its
    // election timeout (4 to 9 s in nats-server 2.9), then the send's retry is answered.
    Clock::duration longest{};
    int rc = send_numbers(*ch, n / 3, n, 30s, &longest);
    std::fprintf(stderr, "publisher: the longest send after the kill took %lld ms\n",
                 static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(longest).count()));
    return rc;
  });
  std::vector<std::uint32_t> got;
  ASSERT_EQ(half.wait(60000), 'x') << "publisher: " << pub.wait();
  read_numbers(rx.numbers, got, static_cast<std::size_t>(n) / 4);
  auto killed_at = Clock::now();
  cluster.server(first).kill();
  EXPECT_EQ(pub.wait(60s), 0) << "a send failed across the fail-over; " << kCodes;
  auto sent_in = Clock::now() - killed_at;
  std::set<std::uint32_t> distinct(got.begin(), got.end());
  auto until = Clock::now() + 60s;
  while (distinct.size() < static_cast<std::size_t>(n) && Clock::now() < until) {
    std::size_t before = got.size();
    read_numbers(rx.numbers, got, before + 1, 10s);
    if (got.size() == before) break;
    distinct.insert(got.back());
  }
  EXPECT_EQ(rx.child.wait(30s), 0) << kCodes;
  ::close(rx.numbers);
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(n)) << "every message the stream acknowledged arrived";
  std::size_t out_of_order = 0;
  for (std::size_t i = 1; i < got.size(); ++i) out_of_order += got[i] < got[i - 1];
  RecordProperty("duplicates", static_cast<int>(got.size() - distinct.size()));
  std::fprintf(stderr, "leader n%d killed; publisher done %lld ms later; %zu received, %zu duplicates, %zu out of order\n",
               leader, static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(sent_in).count()),
               got.size(), got.size() - distinct.size(), out_of_order);
}

}  // namespace
}  // namespace ipcx::test
