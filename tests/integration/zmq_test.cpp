// SPDX-License-Identifier: MIT
// zmq+ipc:// and zmq+tcp:// Channels between processes: a publisher and two subscribers,
// one of them killed and restarted mid-stream; push/pull with two workers, each message
// to exactly one; req/rep over loopback TCP; the errors for a pattern used the wrong way.
//
// ZeroMQ connects in the background, so no side can know that a peer is in place by
// connecting. The senders here send "probe" messages until every receiver has said (on a
// pipe) that one reached it; the data comes after.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ipcx/channel.hpp"
#include "support/test_support.hpp"

namespace ipcx::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kCodes =
    "10 open failed, 11 receive failed, 12 wrong or out-of-order message, 13 send failed, 14 protocol, "
    "15 not built with ZeroMQ";

bool built_with_zmq() {
  auto c = Child::spawn([] {
    auto ch = Channel::open("zmq+ipc:///tmp/ipcx-never-used");
    return !ch && ch.error().kind() == Errc::not_supported ? 15 : 0;
  });
  return c.wait() != 15;
}

// A pipe for children to tell another process something, one byte or one number at a time.
struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) std::abort();
    r = p[0];
    w = p[1];
  }
  ~Pipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
  void put(char c) const { (void)!::write(w, &c, 1); }
  // One byte, or 0 after timeout_ms.
  char get(int timeout_ms) const {
    pollfd p{r, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return 0;
    char c = 0;
    return ::read(r, &c, 1) == 1 ? c : 0;
  }
};

// Sends "probe" every few milliseconds until `count` receivers have said so on `acks`.
bool probe_until(Channel& ch, const Pipe& acks, int count) {
  for (int tries = 0; count > 0 && tries < 4000; ++tries) {
    (void)ch.try_send(as_bytes("probe"));  // pub drops, push may be full: both fine here
    if (acks.get(5) == 'r') --count;
  }
  return count == 0;
}

TEST(Zmq, PublisherAndTwoSubscribersOneRestartedMidStream) {
  if (!built_with_zmq()) GTEST_SKIP() << "built with IPCX_WITH_ZMQ=OFF";
  const std::string path = unique_path("pubsub");
  // High-water marks 0 (no limit): once connected, no subscriber misses a message.
  const std::string pub_url = "zmq+ipc://" + path + "?pattern=pub&bind=1&sndhwm=0";
  const std::string sub_url = "zmq+ipc://" + path + "?pattern=sub&rcvhwm=0&topic=probe,data,end";
  Pipe acks;       // subscribers -> publisher: 'r' once a probe reached them
  Gate b_halfway;  // subscriber B -> test: B has had 500 messages
  Gate b2_ready;   // test -> publisher: the restarted B is running
  Gate subs_done;  // test -> publisher: both subscribers have had "end"; close now (a close
                   // drops what is still queued after linger ms, so the publisher waits)
  auto subscriber = [&](int first, int last, bool report_halfway) {
    return Child::spawn([=, &acks, &b_halfway] {
      auto ch = Channel::open(sub_url);
      if (!ch) return 10;
      bool acked = false;
      int next = first;
      for (;;) {
        auto m = ch->receive_message(Deadline::after(20s));
        if (!m) {
          fmt::print(stderr, "subscriber from {}: {} after {}\n", first, m.error().message(), next);
          return 11;
        }
        std::string_view t = m->text();
        if (t == "probe") {
          if (!acked) acks.put('r');
          acked = true;
          continue;
        }
        // Before its first probe a late subscriber may catch the tail of an earlier stretch;
        // everything after a probe is in order (one publisher: first in, first out).
        if (!acked) continue;
        if (t == "end") return next == last + 1 ? 0 : 12;
        if (t != fmt::format("data {}", next)) return 12;
        if (report_halfway && next == first + 499) b_halfway.open();
        ++next;
      }
    });
  };
  auto pub = Child::spawn([&] {
    auto ch = Channel::open(pub_url);
    if (!ch) return 10;
    if (!probe_until(*ch, acks, 2)) return 14;
    for (int i = 0; i < 1000; ++i) {
      if (!ch->send(as_bytes(fmt::format("data {}", i)), Deadline::after(10s))) return 13;
    }
    if (b2_ready.wait(20000) != 'x') return 14;
    if (!probe_until(*ch, acks, 1)) return 14;  // the restarted subscriber is connected
    for (int i = 1000; i < 2000; ++i) {
      if (!ch->send(as_bytes(fmt::format("data {}", i)), Deadline::after(10s))) return 13;
    }
    if (!ch->send(as_bytes("end"), Deadline::after(10s))) return 13;
    return subs_done.wait(60000) == 'x' ? 0 : 14;
  });
  auto a = subscriber(0, 1999, false);
  auto b = subscriber(0, 1999, true);
  ASSERT_EQ(b_halfway.wait(20000), 'x') << "pub " << pub.wait(1s) << ", b " << b.wait(1s) << "; " << kCodes;
  b.kill(SIGKILL);  // mid-stream, as a crash
  EXPECT_EQ(b.wait(), 128 + SIGKILL);
  auto b2 = subscriber(1000, 1999, false);  // everything published once it is connected
  b2_ready.open();
  EXPECT_EQ(a.wait(30s), 0) << kCodes;
  EXPECT_EQ(b2.wait(30s), 0) << kCodes;
  subs_done.open();
  EXPECT_EQ(pub.wait(30s), 0) << kCodes;
  EXPECT_NE(::access(path.c_str(), F_OK), 0) << "the bound ipc socket is removed on close";
}

TEST(Zmq, PushPullTwoWorkersEachMessageToExactlyOne) {
  if (!built_with_zmq()) GTEST_SKIP() << "built with IPCX_WITH_ZMQ=OFF";
  const std::string path = unique_path("push");
  const int n = 2000;
  Pipe acks;
  Pipe ids_a, ids_b;
  Gate stop_a, stop_b;
  Gate collected;  // test -> pusher: every id is in; close now (a close drops what is still
                   // queued after linger ms, so the pusher waits for its workers to drain it)
  auto worker = [&](const Pipe& ids, Gate& stop) {
    return Child::spawn([&] {
      auto ch = Channel::open("zmq+ipc://" + path + "?pattern=pull");
      if (!ch) return 10;
      bool acked = false;
      for (;;) {
        pollfd p{ch->pollable_fd(), POLLIN, 0};
        (void)::poll(&p, 1, 10);  // ZMQ_FD is edge-triggered: drain below either way
        for (;;) {
          auto m = ch->try_receive_message();
          if (!m) {
            if (!m.error().would_block()) return 11;
            break;
          }
          if (m->text() == "probe") {
            if (!acked) acks.put('r');
            acked = true;
            continue;
          }
          std::uint32_t id = static_cast<std::uint32_t>(std::stoul(std::string(m->text())));
          if (::write(ids.w, &id, sizeof id) != sizeof id) return 14;
        }
        if (stop.wait(0) == 'x') return 0;
      }
    });
  };
  auto a = worker(ids_a, stop_a);
  auto b = worker(ids_b, stop_b);
  auto push = Child::spawn([&] {
    auto ch = Channel::open("zmq+ipc://" + path + "?pattern=push&bind=1");
    if (!ch) return 10;
    if (!probe_until(*ch, acks, 2)) return 14;
    for (int i = 0; i < n; ++i) {
      if (!ch->send(as_bytes(std::to_string(i)), Deadline::after(10s))) return 13;
    }
    return collected.wait(60000) == 'x' ? 0 : 14;
  });
  ::close(ids_a.w);
  ::close(ids_b.w);
  ids_a.w = ids_b.w = -1;
  std::vector<std::uint32_t> got_a, got_b;
  auto until = std::chrono::steady_clock::now() + 30s;
  while (got_a.size() + got_b.size() < static_cast<std::size_t>(n) && std::chrono::steady_clock::now() < until) {
    pollfd p[2] = {{ids_a.r, POLLIN, 0}, {ids_b.r, POLLIN, 0}};
    if (::poll(p, 2, 1000) <= 0) continue;
    std::uint32_t v;
    if (p[0].revents && ::read(ids_a.r, &v, sizeof v) == sizeof v) got_a.push_back(v);
    if (p[1].revents && ::read(ids_b.r, &v, sizeof v) == sizeof v) got_b.push_back(v);
  }
  collected.open();
  EXPECT_EQ(push.wait(30s), 0) << kCodes;
  stop_a.open();
  stop_b.open();
  EXPECT_EQ(a.wait(), 0) << kCodes;
  EXPECT_EQ(b.wait(), 0) << kCodes;
  EXPECT_GT(got_a.size(), 0u) << "push shares the work between connected workers; A got none";
  EXPECT_GT(got_b.size(), 0u) << "push shares the work between connected workers; B got none";
  std::multiset<std::uint32_t> all(got_a.begin(), got_a.end());
  all.insert(got_b.begin(), got_b.end());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) ASSERT_EQ(all.count(static_cast<std::uint32_t>(i)), 1u) << "message " << i;
  EXPECT_NE(::access(path.c_str(), F_OK), 0) << "the bound ipc socket is removed on close";
}

TEST(Zmq, ReqRepOverLoopbackTcpAndPatternsUsedTheWrongWay) {
  if (!built_with_zmq()) GTEST_SKIP() << "built with IPCX_WITH_ZMQ=OFF";
  // A free loopback port: bound and released here, then bound by the replier.
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len), 0);
  ::close(s);
  const std::string at = fmt::format("zmq+tcp://127.0.0.1:{}", ntohs(a.sin_port));
  Gate bound;
  auto rep = Child::spawn([&] {
    auto ch = Channel::open(at + "?pattern=rep&bind=1");
    if (!ch) return 10;
    bound.open();
    for (int i = 0; i < 100; ++i) {
      auto m = ch->receive_message(Deadline::after(10s));
      if (!m) return 11;
      if (m->text() != fmt::format("q{}", i)) return 12;
      // rep must answer before it takes the next request
      auto again = ch->try_receive_message();
      if (again || again.error().kind() != Errc::system || again.error().code() != EPROTO) return 14;
      if (!ch->send(as_bytes(fmt::format("a{}", i)), Deadline::after(10s))) return 13;
    }
    return 0;
  });
  ASSERT_EQ(bound.wait(20000), 'x') << "rep " << rep.wait(1s);
  auto req = Child::spawn([&] {
    auto ch = Channel::open(at + "?pattern=req");
    if (!ch) return 10;
    for (int i = 0; i < 100; ++i) {
      if (!ch->send(as_bytes(fmt::format("q{}", i)), Deadline::after(10s))) return 13;
      auto m = ch->receive_message(Deadline::after(10s));
      if (!m) return 11;
      if (m->text() != fmt::format("a{}", i)) return 12;
    }
    // Wrong way round: a pull cannot send, a push cannot receive, sub's topic only on sub.
    auto pull = Channel::open("zmq+ipc:///tmp/ipcx-never-bound?pattern=pull");
    if (!pull || pull->try_send(as_bytes("x")).error().kind() != Errc::invalid_argument) return 14;
    auto push = Channel::open("zmq+ipc:///tmp/ipcx-never-bound?pattern=push");
    if (!push || push->try_receive_message().error().kind() != Errc::invalid_argument) return 14;
    auto topic = Channel::open("zmq+ipc:///tmp/ipcx-never-bound?pattern=pub&topic=x");
    if (topic || topic.error().kind() != Errc::bad_url) return 14;
    // A connecting push queues for a peer to come (up to sndhwm); with immediate=1 it
    // waits for one instead: timed_out at the deadline.
    auto lone = Channel::open("zmq+ipc:///tmp/ipcx-never-bound?pattern=push&immediate=1");
    if (!lone) return 10;
    auto none = lone->send(as_bytes("x"), Deadline::after(50ms));
    return !none && none.error().timed_out() ? 0 : 14;
  });
  EXPECT_EQ(req.wait(30s), 0) << kCodes;
  EXPECT_EQ(rep.wait(30s), 0) << kCodes;
}

}  // namespace
}  // namespace ipcx::test
