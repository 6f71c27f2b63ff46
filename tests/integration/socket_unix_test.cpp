// SPDX-License-Identifier: MIT
// Unix stream, seqpacket and datagram sockets across two processes: paths, abstract names,
// socketpairs, peer credentials, the allow-list, file modes, stale paths and timeouts.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
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

const std::vector<std::size_t> kSizes = {0, 1, 100, 4096, 70000, 1u << 20};

// Parent accepts, child connects; the child sends messages of each size, the parent
// echoes each, the child checks the echo. Peer credentials are checked on both sides.
void exchange_over_listener(const std::string& url, bool zero_ok, std::size_t max_size) {
  auto l = Listener::listen(url);
  ASSERT_TRUE(l) << l.error().message();
  const pid_t parent = ::getpid();
  auto child = Child::spawn([&] {
    auto c = Channel::open(url);
    if (!c) return child_fail("open", c.error());
    auto p = c->peer();
    if (!p || p->pid != parent || p->uid != ::getuid()) return child_fail("peer() of the listener");
    for (std::size_t n : kSizes) {
      if (n > max_size || (n == 0 && !zero_ok)) continue;
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
  auto p = c->peer();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->pid, child.pid());
  EXPECT_EQ(p->uid, ::getuid());
  EXPECT_EQ(p->gid, ::getgid());
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

TEST(UnixStream, PathExchangeBothWaysWithPeerCredentials) {
  exchange_over_listener("unix://" + test::unique_path("s.sock"), true, SIZE_MAX);
}

TEST(UnixStream, AbstractExchangeBothWays) { exchange_over_listener("unix:@" + test::unique_name("s"), true, SIZE_MAX); }

TEST(UnixPacket, PathAndAbstractExchange) {
  // Seqpacket messages are bounded by SO_SNDBUF - 32 (about 208 KiB by default).
  exchange_over_listener("unixpacket://" + test::unique_path("p.sock"), false, 100000);
  exchange_over_listener("unixpacket:@" + test::unique_name("p"), false, 100000);
}

TEST(UnixPacket, ZeroLengthIsRefusedClearly) {
  auto pair = make_socket_pair(SocketType::seqpacket);
  ASSERT_TRUE(pair);
  auto s = pair->first.send({});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind(), Errc::invalid_argument);
  EXPECT_NE(s.error().message().find("zero-length"), std::string::npos) << s.error().message();
}

TEST(UnixPacket, MessageUpToTheKernelLimitPassesAndAboveIsRefused) {
  auto pair = make_socket_pair(SocketType::seqpacket);
  ASSERT_TRUE(pair);
  const std::size_t max = pair->first.max_message_size();
  ASSERT_GT(max, 4096u);
  auto msg = pattern(max, 7);
  ASSERT_TRUE(pair->first.send(msg, Deadline::after(5s))) << "the advertised maximum must go through";
  auto m = pair->second.receive_message_for(5s);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->data, msg);
  msg.push_back(std::byte{1});
  auto s = pair->first.send(msg, Deadline::after(1s));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind(), Errc::message_too_large);
  EXPECT_EQ(s.error().size(), max + 1);
}

void datagram_exchange(const std::string& url) {
  auto server = Channel::bind(url);
  ASSERT_TRUE(server) << server.error().message();
  auto child = Child::spawn([&] {
    auto c = Channel::open(url);
    if (!c) return child_fail("open", c.error());
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{5000}, std::size_t{60000}}) {
      auto msg = pattern(n, 3);
      if (auto s = c->send(msg, Deadline::after(5s)); !s) return child_fail("send", s.error());
      auto back = c->receive_message_for(5s);
      if (!back) return child_fail("receive", back.error());
      if (back->data != msg) return child_fail(fmt::format("reply of {} bytes differs", n));
      auto p = c->peer();  // SCM_CREDENTIALS of the server's reply
      if (!p || p->pid != ::getppid()) return child_fail("peer() of the server");
    }
    return 0;
  });
  for (int i = 0; i < 4; ++i) {
    auto m = server->receive_message_for(5s);
    ASSERT_TRUE(m) << m.error().message();
    auto p = server->peer();
    ASSERT_TRUE(p);
    EXPECT_EQ(p->pid, child.pid());
    // A bound datagram channel answers the last sender (the child autobound a name).
    ASSERT_TRUE(server->send(m->data, Deadline::after(5s)));
  }
  EXPECT_EQ(child.wait(), 0);
}

TEST(UnixGram, PathBindAndRepliesFindTheirWay) { datagram_exchange("unixgram://" + test::unique_path("g.sock")); }
TEST(UnixGram, AbstractBindAndReplies) { datagram_exchange("unixgram:@" + test::unique_name("g")); }

TEST(UnixGram, BoundChannelWithNoSenderYetCannotSend) {
  auto server = Channel::bind("unixgram:@" + test::unique_name("g"));
  ASSERT_TRUE(server);
  auto s = server->send(as_bytes("x"));
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("last sender"), std::string::npos) << s.error().message();
}

TEST(UnixGram, ShortBufferLeavesTheDatagramQueued) {
  const std::string url = "unixgram:@" + test::unique_name("g");
  auto server = Channel::bind(url);
  ASSERT_TRUE(server);
  auto client = Channel::open(url);
  ASSERT_TRUE(client) << client.error().message();
  auto msg = pattern(3000, 9);
  ASSERT_TRUE(client->send(msg));
  std::vector<std::byte> small(100);
  auto r = server->receive_for(small, 1s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), Errc::message_too_large);
  EXPECT_EQ(r.error().size(), 3000u);
  std::vector<std::byte> big(r.error().size());
  auto again = server->receive_for(big, 1s);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->size, 3000u);
  EXPECT_EQ(big, msg);
}

TEST(UnixGram, SendToAGoneReceiverIsPeerGone) {
  const std::string url = "unixgram:@" + test::unique_name("g");
  auto server = Channel::bind(url);
  ASSERT_TRUE(server);
  auto client = Channel::open(url);
  ASSERT_TRUE(client);
  *server = Channel();
  auto s = client->send(as_bytes("anyone?"), Deadline::after(1s));
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().peer_gone()) << s.error().message();
}

// ---- socketpair ----------------------------------------------------------------------------

class SocketPairTypes : public ::testing::TestWithParam<SocketType> {};

TEST_P(SocketPairTypes, ParentAndChildTalkAndKnowEachOther) {
  auto pair = make_socket_pair(GetParam());
  ASSERT_TRUE(pair) << pair.error().message();
  const pid_t parent = ::getpid();
  auto child = Child::spawn([&] {
    pair->first = Channel();
    auto m = pair->second.receive_message_for(5s);
    if (!m) return child_fail("receive", m.error());
    if (m->text() != "ping") return child_fail("payload");
    auto p = pair->second.peer();
    if (!p || p->pid != parent) return child_fail("peer() is not the parent");
    if (auto s = pair->second.send(as_bytes("pong")); !s) return child_fail("send", s.error());
    return 0;
  });
  pair->second = Channel();
  ASSERT_TRUE(pair->first.send(as_bytes("ping")));
  auto m = pair->first.receive_message_for(5s);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->text(), "pong");
  auto p = pair->first.peer();
  ASSERT_TRUE(p);
  // A socketpair's SO_PEERCRED is its creator's; for datagrams it is each message's sender.
  EXPECT_EQ(p->pid, GetParam() == SocketType::datagram ? child.pid() : parent);
  EXPECT_EQ(child.wait(), 0);
}

INSTANTIATE_TEST_SUITE_P(All, SocketPairTypes,
                         ::testing::Values(SocketType::stream, SocketType::seqpacket, SocketType::datagram),
                         [](const auto& p) { return std::string(to_string(p.param)); });

TEST_P(SocketPairTypes, UntimedWaitsBlockInTheCallAndDeadlinesStayExact) {
  // The Channel's socket is blocking (an untimed receive waits inside recvmsg); try_ and
  // timed receives still never wait past their deadline.
  auto pair = make_socket_pair(GetParam());
  ASSERT_TRUE(pair) << pair.error().message();
  const int fd = socket_fd(pair->first);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
  auto child = Child::spawn([&] {
    pair->first = Channel();
    auto m = pair->second.receive_message();  // no deadline: blocks until the parent sends
    if (!m || m->text() != "ping") return child_fail("no ping");
    return pair->second.send(as_bytes("pong")) ? 0 : child_fail("pong not sent");
  });
  pair->second = Channel();
  std::array<std::byte, 16> b{};
  auto early = pair->first.try_receive(b);
  ASSERT_FALSE(early);
  EXPECT_TRUE(early.error().would_block()) << early.error().message();
  auto late = pair->first.receive_for(b, 20ms);
  ASSERT_FALSE(late);
  EXPECT_TRUE(late.error().timed_out()) << late.error().message();
  ASSERT_TRUE(pair->first.send(as_bytes("ping")));
  auto r = pair->first.receive(b);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(as_text(std::span(b).first(r->size)), "pong");
  EXPECT_EQ(child.wait(), 0);
}

TEST(UnixGram, AHeldDatagramGoesToReceiveMessageAndTheNextFollows) {
  // A datagram too long for the buffer is held by the channel (one recvmsg, no peek):
  // receive_message takes it whole, and the next one comes after it.
  auto pair = make_socket_pair(SocketType::datagram);
  ASSERT_TRUE(pair) << pair.error().message();
  auto first = pattern(3000, 4);
  ASSERT_TRUE(pair->second.send(first));
  ASSERT_TRUE(pair->second.send(as_bytes("next")));
  std::vector<std::byte> small(10);
  auto r = pair->first.receive(small);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), Errc::message_too_large) << r.error().message();
  EXPECT_EQ(r.error().size(), 3000u);
  auto m = pair->first.receive_message_for(1s);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->data, first);
  auto n = pair->first.receive_for(small, 1s);
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(as_text(std::span(small).first(n->size)), "next");
}

TEST(SocketPair, PeerGoneWhenTheOtherEndCloses) {
  auto pair = make_socket_pair(SocketType::stream);
  ASSERT_TRUE(pair);
  auto child = Child::spawn([&] {
    pair->first = Channel();
    return pair->second.send(as_bytes("last words")) ? 0 : 1;
  });
  pair->second = Channel();
  auto m = pair->first.receive_message_for(5s);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->text(), "last words");
  auto gone = pair->first.receive_message_for(5s);
  ASSERT_FALSE(gone);
  EXPECT_TRUE(gone.error().peer_gone()) << gone.error().message();
  auto s = pair->first.send(as_bytes("hello?"));
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().peer_gone()) << s.error().message();
  EXPECT_EQ(child.wait(), 0);
}

TEST(SocketPair, AdoptSocketWrapsAnInheritedEnd) {
  auto p = Socket::pair(SocketType::stream);
  ASSERT_TRUE(p);
  auto a = adopt_socket(std::move(p->first));
  auto b = adopt_socket(std::move(p->second));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->send(as_bytes("adopted")));
  auto m = b->receive_message_for(1s);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->text(), "adopted");
  EXPECT_EQ(b->peer()->pid, ::getpid());
}

// ---- files: mode, dir, runtime directory ----------------------------------------------------

unsigned file_mode(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

TEST(UnixPath, SocketFileIsOwnerOnlyByDefaultOrTheModeAsked) {
  const std::string a = test::unique_path("a.sock");
  const std::string b = test::unique_path("b.sock");
  const mode_t old = ::umask(027);  // the mode asked must win over the umask
  auto la = Listener::listen("unix://" + a);
  auto lb = Listener::listen("unix://" + b + "?mode=0666");
  ::umask(old);
  ASSERT_TRUE(la) << la.error().message();
  ASSERT_TRUE(lb) << lb.error().message();
  EXPECT_EQ(file_mode(a), 0600u);
  EXPECT_EQ(file_mode(b), 0666u);
  struct stat st {};
  ASSERT_EQ(::lstat(a.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  *la = Listener();
  *lb = Listener();
  EXPECT_NE(::access(a.c_str(), F_OK), 0) << "a closed listener removes its socket file";
  EXPECT_NE(::access(b.c_str(), F_OK), 0);
}

TEST(UnixPath, ModeIsEnforcedOnAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root, to run a child as uid 65534";
  const std::string closed = "unix://" + test::unique_path("closed.sock");
  const std::string open = "unix://" + test::unique_path("open.sock") + "?mode=0666";
  auto lc = Listener::listen(closed);
  auto lo = Listener::listen(open);
  ASSERT_TRUE(lc && lo);
  auto child = Child::spawn([&] {
    if (!test::drop_to_nobody()) return child_fail("setresuid");
    auto c = Channel::open(closed);
    if (c) return child_fail("connected to an owner-only socket as another user");
    if (c.error().code() != EACCES) return child_fail("expected EACCES", c.error());
    auto o = Channel::open(open);
    if (!o) return child_fail("open 0666", o.error());
    return o->send(as_bytes("nobody here")) ? 0 : 1;
  });
  auto c = lo->accept_for(5s);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->peer()->uid, 65534u);
  auto m = c->receive_message_for(5s);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->text(), "nobody here");
  EXPECT_EQ(child.wait(), 0);
}

TEST(UnixPath, DirOptionPlacesTheSocketInsideIt) {
  const std::string dir = test::unique_path("dir");
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  {
    auto l = Listener::listen("unix:///app.sock?dir=" + dir);
    ASSERT_TRUE(l) << l.error().message();
    EXPECT_EQ(l->local_url(), "unix://" + dir + "/app.sock");
    EXPECT_EQ(file_mode(dir + "/app.sock"), 0600u);
    auto c = Channel::open("unix:///app.sock?dir=" + dir);
    ASSERT_TRUE(c) << c.error().message();
    auto a = l->accept_for(1s);
    ASSERT_TRUE(a);
  }
  EXPECT_EQ(::rmdir(dir.c_str()), 0) << "the socket file must be gone";
}

TEST(UnixPath, RuntimeDirectoryComesFromXdgRuntimeDir) {
  const std::string dir = test::unique_path("xdg");
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  const char* old = std::getenv("XDG_RUNTIME_DIR");
  std::string saved = old ? old : "";
  ::setenv("XDG_RUNTIME_DIR", dir.c_str(), 1);
  {
    auto r = runtime_directory();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, dir);
    auto l = Listener::listen("unix:///rt.sock?dir=runtime");
    ASSERT_TRUE(l) << l.error().message();
    EXPECT_EQ(l->local_url(), "unix://" + dir + "/rt.sock");
  }
  if (old) {
    ::setenv("XDG_RUNTIME_DIR", saved.c_str(), 1);
  } else {
    ::unsetenv("XDG_RUNTIME_DIR");
  }
  EXPECT_EQ(::rmdir(dir.c_str()), 0);
}

TEST(UnixPath, BadOptionsAreNamed) {
  auto a = Channel::open("unix:@x?mode=0600");
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message().find("abstract"), std::string::npos) << a.error().message();
  auto b = Channel::open("unix:///tmp/x.sock?colour=red");
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message().find("colour"), std::string::npos) << b.error().message();
  auto c = Channel::bind("unixgram:///tmp/x.sock?allow_uid=0");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("allow_uid"), std::string::npos) << c.error().message();
  auto d = Listener::listen("unix:///tmp/x.sock?dir=relative");
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find("absolute"), std::string::npos) << d.error().message();
  auto e = Listener::listen("unix:@x?allow_uid=no-such-user-here");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("no-such-user-here"), std::string::npos) << e.error().message();
  auto f = Listener::listen("unixgram:@x");
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message().find("not connection-oriented"), std::string::npos) << f.error().message();
  auto g = Channel::open("unix:@x?framing=zip");
  ASSERT_FALSE(g);
  EXPECT_NE(g.error().message().find("framing"), std::string::npos) << g.error().message();
}

// ---- stale paths ---------------------------------------------------------------------------

// Leaves a socket file with nobody behind it: bind, then close without unlinking.
void make_stale_socket(const std::string& path, int type) {
  int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::close(fd);
}

// Which file a path names: inode and change time (tmpfs reuses inode numbers).
std::string identity_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return "none";
  return fmt::format("{}:{}.{}", st.st_ino, st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

TEST(StalePath, AStaleSocketFileIsReplaced) {
  for (auto [scheme, type] : {std::pair{"unix", SOCK_STREAM}, std::pair{"unixpacket", SOCK_SEQPACKET},
                              std::pair{"unixgram", SOCK_DGRAM}}) {
    const std::string path = test::unique_path("stale.sock");
    make_stale_socket(path, type);
    ASSERT_NE(identity_of(path), "none");
    const std::string url = fmt::format("{}://{}", scheme, path);
    if (type == SOCK_DGRAM) {
      auto ch = Channel::bind(url);
      ASSERT_TRUE(ch) << ch.error().message();
      // Connecting works: the stale file (which refuses connections) was replaced.
      auto c = Channel::open(url);
      ASSERT_TRUE(c) << c.error().message();
      ASSERT_TRUE(c->send(as_bytes("fresh")));
      auto m = ch->receive_message_for(1s);
      ASSERT_TRUE(m);
      EXPECT_EQ(m->text(), "fresh");
    } else {
      auto l = Listener::listen(url);
      ASSERT_TRUE(l) << scheme << ": " << l.error().message();
      auto c = Channel::open(url);
      ASSERT_TRUE(c) << c.error().message();
      ASSERT_TRUE(l->accept_for(1s));
    }
    EXPECT_NE(::access(path.c_str(), F_OK), 0);
  }
}

TEST(StalePath, ALiveListenerIsNeverTakenOver) {
  for (const char* scheme : {"unix", "unixpacket", "unixgram"}) {
    const std::string url = fmt::format("{}://{}", scheme, test::unique_path("live.sock"));
    const bool dgram = std::string_view(scheme) == "unixgram";
    Gate ready, done;
    auto child = Child::spawn([&] {
      if (dgram) {
        auto ch = Channel::bind(url);
        if (!ch) return child_fail("bind", ch.error());
        ready.open();
        auto m = ch->receive_message_for(5s);
        if (!m) return child_fail("receive", m.error());
        return m->text() == "still yours" ? 0 : 2;
      }
      auto l = Listener::listen(url);
      if (!l) return child_fail("listen", l.error());
      ready.open();
      // The parent's probe may be accepted first: it sends nothing. Serve until the message.
      for (;;) {
        auto c = l->accept_for(5s);
        if (!c) return child_fail("accept", c.error());
        auto m = c->receive_message_for(5s);
        if (m) return m->text() == "still yours" ? 0 : 2;
        if (!m.error().peer_gone()) return child_fail("receive", m.error());
      }
    });
    ASSERT_EQ(ready.wait(), 'x');
    const std::string path = url.substr(url.find("://") + 3);
    const std::string live = identity_of(path);
    Result<void> taken;
    if (dgram) {
      auto ch = Channel::bind(url);
      ASSERT_FALSE(ch) << scheme;
      taken = std::unexpected(ch.error());
    } else {
      auto l = Listener::listen(url);
      ASSERT_FALSE(l) << scheme;
      taken = std::unexpected(l.error());
    }
    EXPECT_NE(taken.error().message().find("another process listens there"), std::string::npos)
        << taken.error().message();
    EXPECT_EQ(taken.error().code(), EADDRINUSE);
    EXPECT_EQ(identity_of(path), live) << "the live socket file must be left alone";
    auto c = Channel::open(url);
    ASSERT_TRUE(c) << c.error().message();
    ASSERT_TRUE(c->send(as_bytes("still yours")));
    EXPECT_EQ(child.wait(), 0) << scheme;
  }
}

TEST(StalePath, AnAbstractNameInUseIsRefused) {
  const std::string url = "unix:@" + test::unique_name("live");
  auto l = Listener::listen(url);
  ASSERT_TRUE(l);
  auto child = Child::spawn([&] {
    auto again = Listener::listen(url);
    if (again) return child_fail("took over a live abstract name");
    return again.error().message().find("another process listens there") != std::string::npos ? 0 : 2;
  });
  EXPECT_EQ(child.wait(), 0);
}

TEST(StalePath, AFileThatIsNotASocketIsLeftAlone) {
  const std::string path = test::unique_path("plain");
  { std::ofstream(path) << "precious"; }
  auto l = Listener::listen("unix://" + path);
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message().find("not a socket"), std::string::npos) << l.error().message();
  std::ifstream in(path);
  std::string text;
  in >> text;
  EXPECT_EQ(text, "precious");
  ::unlink(path.c_str());
}

TEST(StalePath, ClosingDoesNotRemoveASocketFileThatReplacedOurs) {
  const std::string path = test::unique_path("replaced.sock");
  auto l = Listener::listen("unix://" + path);
  ASSERT_TRUE(l);
  ASSERT_EQ(::unlink(path.c_str()), 0);
  make_stale_socket(path, SOCK_STREAM);  // someone else's file now
  const std::string theirs = identity_of(path);
  *l = Listener();
  EXPECT_EQ(identity_of(path), theirs);
  ::unlink(path.c_str());
}

// ---- allow-list -------------------------------------------------------------------------

// A child that becomes nobody, connects, sends and expects to learn it was refused.
Child refused_client(const std::string& url) {
  return Child::spawn([url] {
    if (!test::drop_to_nobody()) return child_fail("setresuid");
    auto c = Channel::open(url);
    if (!c) return child_fail("open", c.error());
    (void)c->send(as_bytes("let me in"), Deadline::after(1s));  // may be queued before the refusal
    auto m = c->receive_message_for(5s);
    if (m) return child_fail("a refused client received a message");
    const std::string text = m.error().message();
    if (m.error().code() != EACCES) return child_fail("expected EACCES", m.error());
    if (text.find("refused by the listener") == std::string::npos) return child_fail("no 'refused'", m.error());
    if (text.find("uid 65534") == std::string::npos) return child_fail("reason lacks the uid", m.error());
    // Sending again says the same, not merely "peer gone".
    auto s = c->send(as_bytes("again"), Deadline::after(1s));
    if (s || s.error().code() != EACCES) return child_fail("a later send does not say refused");
    return 0;
  });
}

class AllowList : public ::testing::TestWithParam<const char*> {};

TEST_P(AllowList, OtherUidsAreRefusedOnBothSidesAndAllowedOnesServed) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root, to run a child as uid 65534";
  const std::string url = fmt::format("{}:@{}?allow_uid=0", GetParam(), test::unique_name("allow"));
  auto l = Listener::listen(url);
  ASSERT_TRUE(l) << l.error().message();
  auto bad = refused_client(url);
  auto refused = l->accept_for(5s);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), EACCES);
  EXPECT_NE(refused.error().message().find("uid 65534"), std::string::npos) << refused.error().message();
  EXPECT_NE(refused.error().message().find("allow_uid=0"), std::string::npos) << refused.error().message();
  EXPECT_EQ(bad.wait(), 0);

  // The listener goes on: an allowed client is served.
  auto good = Child::spawn([&] {
    auto c = Channel::open(url);
    if (!c) return child_fail("open", c.error());
    return c->send(as_bytes("welcome")) ? 0 : 1;
  });
  auto c = l->accept_for(5s);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->peer()->uid, 0u);
  auto m = c->receive_message_for(5s);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->text(), "welcome");
  EXPECT_EQ(good.wait(), 0);
}

INSTANTIATE_TEST_SUITE_P(StreamAndPacket, AllowList, ::testing::Values("unix", "unixpacket"));

TEST(AllowListRaw, ARefusedRawClientReadsTheReason) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root, to run a child as uid 65534";
  const std::string url = "unix:@" + test::unique_name("allow") + "?allow_uid=0&framing=raw";
  auto l = Listener::listen(url);
  ASSERT_TRUE(l);
  auto child = Child::spawn([&] {
    if (!test::drop_to_nobody()) return child_fail("setresuid");
    auto c = Channel::open(url);
    if (!c) return child_fail("open", c.error());
    std::string text;
    for (;;) {
      auto m = c->receive_message_for(5s);
      if (!m) break;
      text += std::string(m->text());
    }
    return text.starts_with("ipcx: refused by the listener: ") && text.find("uid 65534") != std::string::npos ? 0 : 2;
  });
  auto refused = l->accept_for(5s);
  ASSERT_FALSE(refused);
  EXPECT_EQ(child.wait(), 0);
}

TEST(AllowListGid, AGidInTheListIsEnough) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root, to run a child as uid 65534";
  const std::string url = "unix:@" + test::unique_name("gid") + "?allow_uid=0&allow_gid=65534";
  auto l = Listener::listen(url);
  ASSERT_TRUE(l);
  auto child = Child::spawn([&] {
    if (!test::drop_to_nobody()) return child_fail("setresuid");
    auto c = Channel::open(url);
    if (!c) return child_fail("open", c.error());
    return c->send(as_bytes("by group")) ? 0 : 1;
  });
  auto c = l->accept_for(5s);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->peer()->uid, 65534u);
  EXPECT_EQ(c->peer()->gid, 65534u);
  EXPECT_EQ(c->peer()->pid, child.pid());
  auto m = c->receive_message_for(5s);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->text(), "by group");
  EXPECT_EQ(child.wait(), 0);
}

TEST(AllowListClient, AClientRefusesAListenerOfAnotherUid) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root, to run a child as uid 65534";
  const std::string name = test::unique_name("impostor");
  auto l = Listener::listen("unix:@" + name);  // runs as root
  ASSERT_TRUE(l);
  auto c = Channel::open("unix:@" + name + "?allow_uid=65534");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), EACCES);
  EXPECT_NE(c.error().message().find("uid 0"), std::string::npos) << c.error().message();
  auto ok = Channel::open("unix:@" + name + "?allow_uid=65534,0");
  EXPECT_TRUE(ok) << ok.error().message();
}

// ---- timeouts ----------------------------------------------------------------------------

TEST(UnixTimeouts, ReceiveAcceptAndTryCallsGiveUpOnTime) {
  const std::string url = "unix:@" + test::unique_name("t");
  auto l = Listener::listen(url);
  ASSERT_TRUE(l);
  auto r0 = l->try_accept();
  ASSERT_FALSE(r0);
  EXPECT_TRUE(r0.error().would_block());
  auto t0 = std::chrono::steady_clock::now();
  auto r1 = l->accept_for(30ms);
  ASSERT_FALSE(r1);
  EXPECT_TRUE(r1.error().timed_out()) << r1.error().message();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);

  auto c = Channel::open(url);
  ASSERT_TRUE(c);
  auto s = l->accept_for(1s);
  ASSERT_TRUE(s);
  std::array<std::byte, 16> buf{};
  auto r2 = s->try_receive(buf);
  ASSERT_FALSE(r2);
  EXPECT_TRUE(r2.error().would_block());
  t0 = std::chrono::steady_clock::now();
  auto r3 = s->receive_for(buf, 30ms);
  ASSERT_FALSE(r3);
  EXPECT_TRUE(r3.error().timed_out()) << r3.error().message();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
  auto r4 = s->receive_message_for(10ms);
  ASSERT_FALSE(r4);
  EXPECT_TRUE(r4.error().timed_out());
}

TEST(UnixTimeouts, ConnectToAFullBacklogTimesOut) {
  const std::string url = "unix:@" + test::unique_name("backlog");
  auto l = Listener::listen(url + "?backlog=0");
  ASSERT_TRUE(l);
  // Backlog 0 queues one connection; the next connect waits until the timeout.
  auto first = Channel::open(url);
  ASSERT_TRUE(first) << first.error().message();
  auto t0 = std::chrono::steady_clock::now();
  auto second = Channel::open(url + "?timeout=0.05");
  ASSERT_FALSE(second);
  EXPECT_TRUE(second.error().timed_out()) << second.error().message();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 50ms);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  // Once the queue drains, the next connect goes through.
  ASSERT_TRUE(l->accept_for(1s));
  auto third = Channel::open(url + "?timeout=1");
  EXPECT_TRUE(third) << third.error().message();
}

TEST(UnixTimeouts, NobodyListeningFailsAtOnceOrWaitsWithWait) {
  const std::string url = "unix://" + test::unique_path("nobody.sock");
  auto now = Channel::open(url);
  ASSERT_FALSE(now);
  EXPECT_EQ(now.error().code(), ENOENT);
  EXPECT_NE(now.error().message().find("nothing listens there"), std::string::npos) << now.error().message();
  auto t0 = std::chrono::steady_clock::now();
  auto waited = Channel::open(url + "?wait=1&timeout=0.05");
  ASSERT_FALSE(waited);
  EXPECT_TRUE(waited.error().timed_out()) << waited.error().message();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 50ms);
}

TEST(UnixTimeouts, WaitConnectsOnceTheListenerAppears) {
  const std::string url = "unix://" + test::unique_path("later.sock");
  Gate go;
  auto child = Child::spawn([&] {
    go.open();
    auto c = Channel::open(url + "?wait=1&timeout=10");
    if (!c) return child_fail("open", c.error());
    return c->send(as_bytes("made it")) ? 0 : 1;
  });
  ASSERT_EQ(go.wait(), 'x');
  auto l = Listener::listen(url);
  ASSERT_TRUE(l);
  auto c = l->accept_for(10s);
  ASSERT_TRUE(c) << c.error().message();
  auto m = c->receive_message_for(5s);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->text(), "made it");
  EXPECT_EQ(child.wait(), 0);
}

TEST(UnixListener, LocalUrlNamesTheEndpointAndKeepsFraming) {
  const std::string name = test::unique_name("url");
  auto l = Listener::listen("unixpacket:@" + name + "?framing=raw&backlog=4");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->local_url(), "unixpacket:@" + name + "?framing=raw");
}

}  // namespace
}  // namespace ipcx
