// SPDX-License-Identifier: MIT
// TCP and UDP channels across two processes, on loopback only: IPv4, IPv6, names, port 0,
// options, the UDP payload limits, datagrams larger than the buffer, and timeouts.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ipcx/channel.hpp"
#include "ipcx/socket.hpp"
#include "socket_test_util.hpp"
#include "support/test_support.hpp"

using namespace std::chrono_literals;

namespace ipcx {
namespace {

using test::Child;
using test::child_fail;

using test::pattern;

bool ipv6_loopback_available() {
  auto s = Socket::create(AF_INET6, SocketType::datagram);
  if (!s) return false;
  auto a = SocketAddress::resolve("::1", 0, SocketType::datagram);
  return a && s->bind(a->front());
}

// A port nobody uses right now: bound to 0 by the kernel, then released.
std::uint16_t free_port(SocketType type) {
  auto s = Socket::create(AF_INET, type);
  auto a = SocketAddress::resolve("127.0.0.1", 0, type);
  if (!s || !a || !s->bind(a->front())) return 0;
  auto local = s->local_address();
  return local ? local->port() : 0;
}

int option(const Channel& ch, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  ::getsockopt(socket_fd(ch), level, name, &v, &len);
  return v;
}

void tcp_exchange(const std::string& listen_url) {
  auto l = Listener::listen(listen_url);
  ASSERT_TRUE(l) << l.error().message();
  const std::string url = l->local_url();
  ASSERT_EQ(url.find(":0"), std::string::npos) << "the port chosen is reported: " << url;
  auto child = Child::spawn([&] {
    auto c = Channel::open(url);
    if (!c) return child_fail("open", c.error());
    if (c->peer()) return child_fail("tcp has no peer credentials");
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{1000}, std::size_t{300000}, std::size_t{1} << 20}) {
      auto msg = pattern(n, static_cast<unsigned>(n));
      if (auto s = c->send(msg, Deadline::after(5s)); !s) return child_fail("send", s.error());
      auto back = c->receive_message_for(5s);
      if (!back) return child_fail("receive", back.error());
      if (back->data != msg) return child_fail(fmt::format("echo of {} bytes differs", n));
    }
    return 0;
  });
  auto c = l->accept_for(5s);
  ASSERT_TRUE(c) << c.error().message();
  for (;;) {
    auto m = c->receive_message_for(5s);
    if (!m) {
      EXPECT_TRUE(m.error().peer_gone()) << m.error().message();
      break;
    }
    ASSERT_TRUE(c->send(m->data, Deadline::after(5s)));
  }
  EXPECT_EQ(child.wait(), 0);
}

TEST(Tcp, IPv4ExchangeOnAPortTheKernelChose) { tcp_exchange("tcp://127.0.0.1:0"); }

TEST(Tcp, IPv6Exchange) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback (::1) on this host";
  auto l = Listener::listen("tcp://[::1]:0");
  ASSERT_TRUE(l);
  EXPECT_TRUE(l->local_url().starts_with("tcp://[::1]:")) << l->local_url();
  tcp_exchange("tcp://[::1]:0");
}

TEST(Tcp, HostNamesAreResolvedAndEachAddressTried) {
  auto l = Listener::listen("tcp://127.0.0.1:0");
  ASSERT_TRUE(l);
  const std::string port = l->local_url().substr(l->local_url().rfind(':') + 1);
  // "localhost" may resolve to ::1 first, where nothing listens: the next address is tried.
  auto c = Channel::open("tcp://localhost:" + port);
  ASSERT_TRUE(c) << c.error().message();
  auto a = l->accept_for(1s);
  ASSERT_TRUE(a);
  ASSERT_TRUE(c->send(as_bytes("by name")));
  auto m = a->receive_message_for(1s);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->text(), "by name");
  auto bad = Channel::open("tcp://no-such-host.invalid:80");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("getaddrinfo"), std::string::npos) << bad.error().message();
}

TEST(Tcp, NodelayIsOnByDefaultAndOptionsApply) {
  auto l = Listener::listen("tcp://127.0.0.1:0");
  ASSERT_TRUE(l);
  auto plain = Channel::open(l->local_url());
  ASSERT_TRUE(plain);
  auto accepted = l->accept_for(1s);
  ASSERT_TRUE(accepted);
  EXPECT_NE(option(*plain, IPPROTO_TCP, TCP_NODELAY), 0);
  EXPECT_NE(option(*accepted, IPPROTO_TCP, TCP_NODELAY), 0);
  EXPECT_EQ(option(*plain, SOL_SOCKET, SO_KEEPALIVE), 0);

  auto tuned = Channel::open(l->local_url() + "?nodelay=0&keepalive=1&sndbuf=96k&rcvbuf=80k");
  ASSERT_TRUE(tuned) << tuned.error().message();
  EXPECT_EQ(option(*tuned, IPPROTO_TCP, TCP_NODELAY), 0);
  EXPECT_NE(option(*tuned, SOL_SOCKET, SO_KEEPALIVE), 0);
  EXPECT_GE(option(*tuned, SOL_SOCKET, SO_SNDBUF), 96 * 1024);
  EXPECT_GE(option(*tuned, SOL_SOCKET, SO_RCVBUF), 80 * 1024);
  ASSERT_TRUE(l->accept_for(1s));
}

TEST(Tcp, ListenerReusesAPortLeftInTimeWait) {
  auto l = Listener::listen("tcp://127.0.0.1:0");
  ASSERT_TRUE(l);
  const std::string url = l->local_url();
  {
    auto c = Channel::open(url);
    ASSERT_TRUE(c);
    auto a = l->accept_for(1s);
    ASSERT_TRUE(a);
    *a = Channel();  // the server closes first: its side of the port goes to TIME_WAIT
    auto gone = c->receive_message_for(1s);
    ASSERT_FALSE(gone);
    EXPECT_TRUE(gone.error().peer_gone());
  }
  *l = Listener();
  auto again = Listener::listen(url);
  EXPECT_TRUE(again) << "SO_REUSEADDR: " << again.error().message();
}

TEST(Tcp, NobodyListeningIsRefusedAtOnce) {
  const std::uint16_t port = free_port(SocketType::stream);
  ASSERT_NE(port, 0);
  auto c = Channel::open(fmt::format("tcp://127.0.0.1:{}", port));
  ASSERT_FALSE(c);
  EXPECT_TRUE(c.error().peer_gone()) << c.error().message();
  EXPECT_EQ(c.error().code(), ECONNREFUSED);
  EXPECT_NE(c.error().message().find("nothing listens there"), std::string::npos) << c.error().message();
  auto t0 = std::chrono::steady_clock::now();
  auto w = Channel::open(fmt::format("tcp://127.0.0.1:{}?wait=1&timeout=0.05", port));
  ASSERT_FALSE(w);
  EXPECT_TRUE(w.error().timed_out()) << w.error().message();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 50ms);
}

TEST(Tcp, TimeoutsOnReceiveAcceptAndConnect) {
  auto l = Listener::listen("tcp://127.0.0.1:0?backlog=0");
  ASSERT_TRUE(l);
  auto r = l->accept_for(20ms);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().timed_out());
  auto c = Channel::open(l->local_url());
  ASSERT_TRUE(c);
  std::array<std::byte, 8> buf{};
  auto t0 = std::chrono::steady_clock::now();
  auto rr = c->receive_for(buf, 30ms);
  ASSERT_FALSE(rr);
  EXPECT_TRUE(rr.error().timed_out()) << rr.error().message();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
  // Nobody accepts: once the accept queue is full the kernel drops new SYNs, and a connect
  // with a timeout gives up.
  std::vector<Channel> queued;
  bool timed_out = false;
  for (int i = 0; i < 4 && !timed_out; ++i) {
    auto more = Channel::open(l->local_url() + "?timeout=0.1");
    if (more) {
      queued.push_back(std::move(*more));
      continue;
    }
    EXPECT_TRUE(more.error().timed_out()) << more.error().message();
    timed_out = more.error().timed_out();
  }
  EXPECT_TRUE(timed_out) << "a connect to a full backlog must time out";
}

// ---- UDP ----------------------------------------------------------------------------------

void udp_exchange(const std::string& bind_url, std::size_t limit) {
  auto server = Channel::bind(bind_url);
  ASSERT_TRUE(server) << server.error().message();
  auto where = local_url(*server);
  ASSERT_TRUE(where) << where.error().message();
  ASSERT_EQ(where->find(":0"), std::string::npos) << *where;
  EXPECT_EQ(server->max_message_size(), limit);
  auto child = Child::spawn([&] {
    auto c = Channel::open(*where);
    if (!c) return child_fail("open", c.error());
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{1400}, std::size_t{9000}, limit}) {
      auto msg = pattern(n, 5);
      if (auto s = c->send(msg, Deadline::after(5s)); !s) return child_fail("send", s.error());
      auto back = c->receive_message_for(5s);
      if (!back) return child_fail("receive", back.error());
      if (back->data != msg) return child_fail(fmt::format("reply of {} bytes differs", n));
    }
    auto over = c->send(pattern(limit + 1, 1));
    if (over || over.error().kind() != Errc::message_too_large) return child_fail("limit + 1 was not refused");
    return 0;
  });
  for (int i = 0; i < 5; ++i) {
    auto m = server->receive_message_for(5s);
    ASSERT_TRUE(m) << m.error().message();
    ASSERT_TRUE(server->send(m->data, Deadline::after(5s))) << "reply to the last sender";
  }
  EXPECT_EQ(child.wait(), 0);
}

TEST(Udp, IPv4ExchangeUpToThePayloadLimit) { udp_exchange("udp://127.0.0.1:0", kUdpMaxPayloadIPv4); }

TEST(Udp, IPv6ExchangeUpToThePayloadLimit) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback (::1) on this host";
  udp_exchange("udp://[::1]:0", kUdpMaxPayloadIPv6);
}

TEST(Udp, TheIPv4LimitIsEnforcedWithAClearError) {
  auto server = Channel::bind("udp://127.0.0.1:0");
  ASSERT_TRUE(server);
  auto c = Channel::open(*local_url(*server));
  ASSERT_TRUE(c);
  auto s = c->send(pattern(65508, 1));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind(), Errc::message_too_large);
  EXPECT_EQ(s.error().size(), 65508u);
  EXPECT_NE(s.error().message().find("65,507"), std::string::npos) << s.error().message();
  // A larger max cannot lift it.
  auto big = Channel::open(*local_url(*server) + "?max=1m");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->max_message_size(), kUdpMaxPayloadIPv4);
}

TEST(Udp, ADatagramLargerThanTheBufferIsReportedAndStaysQueued) {
  auto server = Channel::bind("udp://127.0.0.1:0");
  ASSERT_TRUE(server);
  auto c = Channel::open(*local_url(*server));
  ASSERT_TRUE(c);
  auto msg = pattern(2000, 3);
  ASSERT_TRUE(c->send(msg));
  std::array<std::byte, 512> small{};
  auto r = server->receive_for(small, 1s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), Errc::message_too_large);
  EXPECT_EQ(r.error().size(), 2000u);
  std::vector<std::byte> right(r.error().size());
  auto ok = server->receive_for(right, 1s);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->size, 2000u);
  EXPECT_EQ(right, msg);
}

TEST(Udp, ADatagramAboveTheChannelMaxIsDiscardedNeverCut) {
  auto server = Channel::bind("udp://127.0.0.1:0?max=100");
  ASSERT_TRUE(server);
  EXPECT_EQ(server->max_message_size(), 100u);
  auto c = Channel::open(*local_url(*server));  // its own max is the UDP limit
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send(pattern(200, 1)));
  ASSERT_TRUE(c->send(pattern(300, 2)));
  ASSERT_TRUE(c->send(as_bytes("small")));
  // A buffer of `max` bytes receives directly; the kernel's MSG_TRUNC is reported.
  std::array<std::byte, 100> buf{};
  auto a = server->receive_for(buf, 1s);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().kind(), Errc::message_too_large);
  EXPECT_EQ(a.error().size(), 200u);
  EXPECT_NE(a.error().message().find("discarded"), std::string::npos) << a.error().message();
  auto b = server->receive_message_for(1s);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().size(), 300u);
  auto m = server->receive_message_for(1s);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->text(), "small");
}

TEST(Udp, NobodyBoundIsPeerGone) {
  const std::uint16_t port = free_port(SocketType::datagram);
  ASSERT_NE(port, 0);
  auto c = Channel::open(fmt::format("udp://127.0.0.1:{}", port));
  ASSERT_TRUE(c) << "a UDP connect only records the address";
  ASSERT_TRUE(c->send(as_bytes("anyone?")));
  auto r = c->receive_message_for(2s);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().peer_gone()) << r.error().message();
  EXPECT_NE(r.error().message().find("port unreachable"), std::string::npos) << r.error().message();
}

TEST(Udp, ReceiveTimesOut) {
  auto server = Channel::bind("udp://127.0.0.1:0");
  ASSERT_TRUE(server);
  auto t0 = std::chrono::steady_clock::now();
  auto r = server->receive_message_for(30ms);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().timed_out());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
  auto w = server->try_receive_message();
  ASSERT_FALSE(w);
  EXPECT_TRUE(w.error().would_block());
}

TEST(InetUrl, OptionsThatDoNotApplyAreRefusedByName) {
  auto a = Listener::listen("tcp://127.0.0.1:0?allow_uid=0");
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message().find("allow_uid"), std::string::npos);
  auto b = Channel::bind("udp://127.0.0.1:0?nodelay=1");
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message().find("nodelay"), std::string::npos);
  auto c = Listener::listen("udp://127.0.0.1:0");
  ASSERT_FALSE(c);
  auto d = Channel::open("tcp://127.0.0.1:1?timeout=soon");
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find("timeout"), std::string::npos);
}

}  // namespace
}  // namespace ipcx
