// SPDX-License-Identifier: MIT
// Length-prefixed framing on stream sockets, attacked and stressed from a second process:
// a huge announced length, a frame cut short, zero-length messages, partial writes with a
// timeout in the middle, EINTR, and the raw mode.
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
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
using test::Gate;

using test::pattern;

std::vector<std::byte> le32(std::uint32_t v) {
  return {std::byte(v & 0xff), std::byte((v >> 8) & 0xff), std::byte((v >> 16) & 0xff), std::byte(v >> 24)};
}

long max_rss_kib() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// A framed listener (unix or tcp) and its URL for a raw client, which writes whatever bytes
// an attack needs.
struct Server {
  Listener listener;
  std::string raw_url;
};

Server framed_server(const std::string& kind, const std::string& query = "") {
  std::string url = kind == "tcp" ? "tcp://127.0.0.1:0" + query : "unix:@" + test::unique_name("frame") + query;
  auto l = Listener::listen(url);
  if (!l) {
    ADD_FAILURE() << l.error().message();
    return {};
  }
  std::string local = l->local_url();
  std::string raw = local + (local.find('?') == std::string::npos ? "?framing=raw" : "&framing=raw");
  return Server{std::move(*l), raw};
}

class Framing : public ::testing::TestWithParam<const char*> {};

TEST_P(Framing, AHugeAnnouncedLengthClosesTheConnectionWithoutAllocating) {
  for (std::uint32_t huge : {0xfffffff0u, 0xffffffffu, (64u << 20) + 1}) {
    Server s = framed_server(GetParam());
    Gate sent;
    auto child = Child::spawn([&] {
      auto c = Channel::open(s.raw_url);
      if (!c) return child_fail("open", c.error());
      if (auto r = c->send(le32(huge), Deadline::after(5s)); !r) return child_fail("send", r.error());
      sent.open();
      // The server closes the connection: this side sees it end.
      auto m = c->receive_message_for(5s);
      if (m) return child_fail("the server answered a hostile frame");
      return m.error().peer_gone() ? 0 : child_fail("expected peer gone", m.error());
    });
    auto c = s.listener.accept_for(5s);
    ASSERT_TRUE(c) << c.error().message();
    ASSERT_EQ(sent.wait(), 'x');
    const long rss = max_rss_kib();
    auto m = c->receive_message_for(5s);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().kind(), Errc::corrupt) << m.error().message();
    EXPECT_NE(m.error().message().find(fmt::format("announced a {}-byte message", huge)), std::string::npos)
        << m.error().message();
    EXPECT_NE(m.error().message().find("maximum is 67108864"), std::string::npos) << m.error().message();
    EXPECT_LT(max_rss_kib() - rss, 32 * 1024) << "the announced length must not be allocated";
    // The stream stays broken: later receives say so again.
    std::array<std::byte, 16> buf{};
    auto again = c->receive_for(buf, 1s);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().kind(), Errc::corrupt);
    EXPECT_EQ(child.wait(), 0);
  }
}

TEST_P(Framing, TheMaxOptionBoundsBothSides) {
  Server s = framed_server(GetParam(), "?max=1k");
  auto child = Child::spawn([&] {
    // The raw URL carries max=1k too; a framed client without it may try a larger frame.
    std::string url = s.raw_url.substr(0, s.raw_url.find('?'));
    auto small = Channel::open(url + "?max=1k");
    if (!small) return child_fail("open", small.error());
    auto refused = small->send(pattern(2000, 1));
    if (refused || refused.error().kind() != Errc::message_too_large) return child_fail("sender ignored max");
    auto big = Channel::open(url);
    if (!big) return child_fail("open", big.error());
    if (auto r = big->send(pattern(2000, 1)); !r) return child_fail("send", r.error());
    return 0;
  });
  auto first = s.listener.accept_for(5s);
  ASSERT_TRUE(first);
  auto second = s.listener.accept_for(5s);
  ASSERT_TRUE(second);
  auto m = second->receive_message_for(5s);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().kind(), Errc::corrupt);
  EXPECT_NE(m.error().message().find("maximum is 1024"), std::string::npos) << m.error().message();
  EXPECT_EQ(child.wait(), 0);
}

TEST_P(Framing, AFrameCutShortIsAnErrorThatSaysSo) {
  struct Cut {
    std::vector<std::byte> bytes;
    std::string says;
  };
  std::vector<Cut> cuts;
  {
    auto b = le32(100);
    auto body = pattern(10, 2);
    b.insert(b.end(), body.begin(), body.end());
    cuts.push_back({b, "inside a message (14 of 104 bytes arrived)"});
  }
  cuts.push_back({{std::byte{5}, std::byte{0}}, "inside a message (2 of 4 bytes arrived)"});
  for (const Cut& cut : cuts) {
    Server s = framed_server(GetParam());
    auto child = Child::spawn([&] {
      auto c = Channel::open(s.raw_url);
      if (!c) return child_fail("open", c.error());
      return c->send(cut.bytes) ? 0 : 1;  // then exit: the connection closes mid-frame
    });
    auto c = s.listener.accept_for(5s);
    ASSERT_TRUE(c);
    EXPECT_EQ(child.wait(), 0);
    auto m = c->receive_message_for(5s);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().kind(), Errc::corrupt) << m.error().message();
    EXPECT_NE(m.error().message().find(cut.says), std::string::npos) << m.error().message();
  }
}

TEST_P(Framing, ZeroLengthMessagesAreMessagesAndEndOfStreamIsPeerGone) {
  Server s = framed_server(GetParam());
  const std::string url = s.raw_url.substr(0, s.raw_url.rfind("framing=raw") - 1);
  auto child = Child::spawn([&] {
    auto c = Channel::open(url);
    if (!c) return child_fail("open", c.error());
    for (auto text : {"", "after empty", "", ""}) {
      if (auto r = c->send(as_bytes(text)); !r) return child_fail("send", r.error());
    }
    return 0;
  });
  auto c = s.listener.accept_for(5s);
  ASSERT_TRUE(c);
  auto a = c->receive_message_for(5s);
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_TRUE(a->data.empty());
  auto b = c->receive_message_for(5s);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->text(), "after empty");
  std::array<std::byte, 4> buf{};
  auto z = c->receive_for(buf, 5s);
  ASSERT_TRUE(z) << z.error().message();
  EXPECT_EQ(z->size, 0u);
  auto z2 = c->receive_for(std::span<std::byte>{}, 5s);  // an empty buffer holds an empty message
  ASSERT_TRUE(z2) << z2.error().message();
  EXPECT_EQ(z2->size, 0u);
  auto end = c->receive_message_for(5s);
  ASSERT_FALSE(end);
  EXPECT_TRUE(end.error().peer_gone()) << end.error().message();
  EXPECT_EQ(child.wait(), 0);
}

TEST_P(Framing, AShortBufferLeavesTheMessageQueued) {
  Server s = framed_server(GetParam());
  const std::string url = s.raw_url.substr(0, s.raw_url.rfind("framing=raw") - 1);
  auto c = Channel::open(url);
  ASSERT_TRUE(c);
  auto a = s.listener.accept_for(1s);
  ASSERT_TRUE(a);
  auto msg = pattern(5000, 4);
  ASSERT_TRUE(c->send(msg));
  std::array<std::byte, 100> small{};
  auto r = a->receive_for(small, 1s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), Errc::message_too_large);
  EXPECT_EQ(r.error().size(), 5000u);
  std::vector<std::byte> right(r.error().size());
  auto ok = a->receive_for(right, 1s);
  ASSERT_TRUE(ok);
  EXPECT_EQ(right, msg);
}

TEST_P(Framing, ASendThatTimesOutMidFrameFinishesItBeforeTheNext) {
  Server s = framed_server(GetParam(), "?sndbuf=16k&rcvbuf=16k");
  const std::string url = s.raw_url.substr(0, s.raw_url.rfind("framing=raw") - 1);
  const auto big = pattern(4u << 20, 9);
  Gate start_reading;
  auto child = Child::spawn([&] {
    auto c = Channel::open(url + (url.find('?') == std::string::npos ? "?" : "&") + "rcvbuf=16k");
    if (!c) return child_fail("open", c.error());
    if (start_reading.wait() != 'x') return child_fail("gate");
    auto m = c->receive_message_for(10s);
    if (!m) return child_fail("receive", m.error());
    if (m->data != big) return child_fail("the big message differs");
    auto next = c->receive_message_for(10s);
    if (!next) return child_fail("next", next.error());
    return next->text() == "next" ? 0 : child_fail("next text");
  });
  auto c = s.listener.accept_for(5s);
  ASSERT_TRUE(c);
  // Nobody reads yet: the 4 MiB frame cannot all go out within 20 ms.
  auto partial = c->send_for(big, 20ms);
  ASSERT_FALSE(partial);
  EXPECT_TRUE(partial.error().timed_out()) << partial.error().message();
  EXPECT_NE(partial.error().message().find("the rest goes out before the next message"), std::string::npos)
      << partial.error().message();
  start_reading.open();
  auto next = c->send(as_bytes("next"), Deadline::after(10s));
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_EQ(child.wait(), 0);
}

INSTANTIATE_TEST_SUITE_P(UnixAndTcp, Framing, ::testing::Values("unix", "tcp"));

// ---- EINTR ----------------------------------------------------------------------------------

int g_alarm_fd = -1;
std::atomic<int> g_alarms{0};  // lock-free: safe in a signal handler

extern "C" void on_alarm(int) {
  // The third interruption lets the child send; write() is async-signal-safe.
  if (g_alarms.fetch_add(1) + 1 == 3) (void)!::write(g_alarm_fd, "x", 1);
}

TEST(FramingSignals, ABlockedReceiveSurvivesInterruptions) {
  int gate[2];
  ASSERT_EQ(::pipe2(gate, O_CLOEXEC), 0);
  auto pair = make_socket_pair(SocketType::stream);
  ASSERT_TRUE(pair);
  auto child = Child::spawn([&] {
    ::close(gate[1]);
    char c = 0;
    if (::read(gate[0], &c, 1) != 1) return child_fail("gate");
    return pair->second.send(pattern(100000, 1)) ? 0 : 1;
  });
  ::close(gate[0]);
  g_alarm_fd = gate[1];
  g_alarms.store(0);
  struct sigaction sa {}, old {};
  sa.sa_handler = on_alarm;  // no SA_RESTART: every interrupted call returns EINTR
  ::sigemptyset(&sa.sa_mask);
  ASSERT_EQ(::sigaction(SIGALRM, &sa, &old), 0);
  itimerval every{{0, 2000}, {0, 2000}};
  ::setitimer(ITIMER_REAL, &every, nullptr);
  auto m = pair->first.receive_message_for(10s);
  itimerval off{};
  ::setitimer(ITIMER_REAL, &off, nullptr);
  ::sigaction(SIGALRM, &old, nullptr);
  ::close(gate[1]);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->data, pattern(100000, 1));
  EXPECT_GE(g_alarms.load(), 3);
  EXPECT_EQ(child.wait(), 0);
}

// ---- raw mode ----------------------------------------------------------------------------

TEST(RawMode, BytesGoAsTheyAreAndAReceiveReturnsOneRead) {
  const std::string url = "unix:@" + test::unique_name("raw") + "?framing=raw";
  auto l = Listener::listen(url);
  ASSERT_TRUE(l);
  auto child = Child::spawn([&] {
    auto c = Channel::open(url);
    if (!c) return child_fail("open", c.error());
    for (auto text : {"abc", "def", "ghij"}) {
      if (!c->send(as_bytes(text))) return child_fail("send");
    }
    return 0;
  });
  auto c = l->accept_for(5s);
  ASSERT_TRUE(c);
  EXPECT_EQ(child.wait(), 0);  // all bytes are queued now, with no framing between them
  std::array<std::byte, 4> buf{};
  auto r = c->receive_for(buf, 1s);
  ASSERT_TRUE(r);
  EXPECT_EQ(as_text(std::span<const std::byte>(buf.data(), r->size)), "abcd");
  std::string rest;
  for (;;) {
    auto m = c->receive_message_for(1s);
    if (!m) {
      EXPECT_TRUE(m.error().peer_gone()) << m.error().message();
      break;
    }
    rest += m->text();
  }
  EXPECT_EQ(rest, "efghij");
}

}  // namespace
}  // namespace ipcx
