// SPDX-License-Identifier: MIT
// The CLI over every socket scheme (ipcx send / recv / listen), and ipcx in raw mode
// talking to socat and nc both ways. Every peer is on loopback.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
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

using test::Piped;

// The CLI under test.
std::string cli() { return test::cli_path(); }

bool have(const char* tool) { return test::run(fmt::format("command -v {} >/dev/null", tool)).status == 0; }

std::string port_of(const std::string& listening_line) {
  // "ipcx: listening on tcp://127.0.0.1:PORT..." -> "PORT"
  auto at = listening_line.find("127.0.0.1:");
  if (at == std::string::npos) return {};
  auto start = at + std::string("127.0.0.1:").size();
  auto end = listening_line.find_first_not_of("0123456789", start);
  return listening_line.substr(start, end - start);
}

std::uint16_t free_port(SocketType type) {
  auto s = Socket::create(AF_INET, type);
  auto a = SocketAddress::resolve("127.0.0.1", 0, type);
  if (!s || !a || !s->bind(a->front())) return 0;
  auto local = s->local_address();
  return local ? local->port() : 0;
}

// Waits until a kernel table (/proc/net/udp, /proc/net/unix) has a line containing
// `needle`: the receiver under test prints nothing when it is ready, and a datagram sent
// before its socket is bound would be lost. Polls a condition, bounded; never a blind wait.
bool wait_for_table(const char* table, const std::string& needle, std::chrono::milliseconds limit = 10s) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    std::ifstream in(table);
    std::string line;
    while (std::getline(in, line)) {
      if (line.find(needle) != std::string::npos) return true;
    }
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

std::string udp_table_key(std::uint16_t port) { return fmt::format("0100007F:{:04X}", port); }

// ---- ipcx send / listen / recv over every scheme ---------------------------------------------

void send_to_listen(const std::string& url) {
  Piped listen({cli(), "listen", url, "--count", "3", "--timeout", "10"});
  std::string line = listen.wait_stderr_line("listening on");
  ASSERT_NE(line.find("listening on"), std::string::npos) << line;
  std::string target = line.substr(line.find("listening on ") + 13);
  target = target.substr(0, target.find('\n'));
  auto send = test::run(fmt::format("'{}' send '{}' one two 'three words'", cli(), target));
  EXPECT_EQ(send.status, 0) << send.output;
  EXPECT_EQ(listen.wait(), 0) << listen.err();
  EXPECT_EQ(listen.out(), "one\ntwo\nthree words\n");
}

TEST(CliSockets, SendToListenOverUnixPath) { send_to_listen("unix://" + test::unique_path("cli.sock")); }
TEST(CliSockets, SendToListenOverUnixAbstract) { send_to_listen("unix:@" + test::unique_name("cli")); }
TEST(CliSockets, SendToListenOverUnixPacket) { send_to_listen("unixpacket:@" + test::unique_name("cli")); }
TEST(CliSockets, SendToListenOverTcp) { send_to_listen("tcp://127.0.0.1:0"); }

TEST(CliSockets, ListenServesClientsInTurn) {
  const std::string url = "unix:@" + test::unique_name("turns");
  Piped listen({cli(), "listen", url, "--count", "4", "--timeout", "10"});
  listen.wait_stderr_line("listening on");
  for (auto msgs : {"a b", "c d"}) {
    auto send = test::run(fmt::format("'{}' send '{}' {}", cli(), url, msgs));
    EXPECT_EQ(send.status, 0) << send.output;
  }
  EXPECT_EQ(listen.wait(), 0) << listen.err();
  EXPECT_EQ(listen.out(), "a\nb\nc\nd\n");
}

TEST(CliSockets, ListenWithoutCountEndsAtTheTimeoutAndWithCountFails) {
  const std::string url = "unix:@" + test::unique_name("quiet");
  Piped quiet({cli(), "listen", url, "--timeout", "0.05"});
  EXPECT_EQ(quiet.wait(), 0) << quiet.err();
  Piped counted({cli(), "listen", url, "--count", "1", "--timeout", "0.05"});
  EXPECT_EQ(counted.wait(), 1);
  EXPECT_NE(counted.err().find("timed out after 0 of 1"), std::string::npos) << counted.err();
  Piped dgram({cli(), "listen", "udp://127.0.0.1:0"});
  EXPECT_EQ(dgram.wait(), 1);
  EXPECT_NE(dgram.err().find("not connection-oriented"), std::string::npos) << dgram.err();
}

void send_to_recv(const std::string& url, const std::string& table, const std::string& needle) {
  Piped recv({cli(), "recv", url, "--count", "2", "--timeout", "10"});
  ASSERT_TRUE(wait_for_table(table.c_str(), needle)) << "the receiver never bound " << url;
  auto send = test::run(fmt::format("'{}' send '{}' first second", cli(), url));
  EXPECT_EQ(send.status, 0) << send.output;
  EXPECT_EQ(recv.wait(), 0) << recv.err();
  EXPECT_EQ(recv.out(), "first\nsecond\n");
}

TEST(CliSockets, SendToRecvOverUnixgram) {
  const std::string name = test::unique_name("cligram");
  send_to_recv("unixgram:@" + name, "/proc/net/unix", "@" + name);
  const std::string path = test::unique_path("cligram.sock");
  send_to_recv("unixgram://" + path, "/proc/net/unix", path);
}

TEST(CliSockets, SendToRecvOverUdp) {
  const std::uint16_t port = free_port(SocketType::datagram);
  ASSERT_NE(port, 0);
  send_to_recv(fmt::format("udp://127.0.0.1:{}", port), "/proc/net/udp", udp_table_key(port));
}

TEST(CliSockets, RecvOverAStreamSchemeConnects) {
  const std::string url = "unixpacket:@" + test::unique_name("feed");
  auto l = Listener::listen(url);
  ASSERT_TRUE(l);
  Piped recv({cli(), "recv", url, "--count", "2", "--timeout", "10"});
  auto c = l->accept_for(10s);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_TRUE(c->send(as_bytes("fed")));
  ASSERT_TRUE(c->send(as_bytes("twice")));
  EXPECT_EQ(recv.wait(), 0) << recv.err();
  EXPECT_EQ(recv.out(), "fed\ntwice\n");
}

TEST(CliSockets, ARefusedClientIsToldAndTheListenerGoesOn) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root, to run a child as uid 65534";
  const std::string url = "unix:@" + test::unique_name("guarded") + "?allow_uid=0";
  Piped listen({cli(), "listen", url, "--count", "1", "--timeout", "10"});
  listen.wait_stderr_line("listening on");
  // recv as nobody: connects, then reads the refusal.
  Piped refused({cli(), "recv", url, "--count", "1", "--timeout", "10"}, {}, test::drop_to_nobody);
  EXPECT_EQ(refused.wait(), 1);
  EXPECT_NE(refused.err().find("refused by the listener"), std::string::npos) << refused.err();
  EXPECT_NE(refused.err().find("uid 65534"), std::string::npos) << refused.err();
  auto ok = test::run(fmt::format("'{}' send '{}' allowed", cli(), url));
  EXPECT_EQ(ok.status, 0) << ok.output;
  EXPECT_EQ(listen.wait(), 0) << listen.err();
  EXPECT_EQ(listen.out(), "allowed\n");
  EXPECT_NE(listen.err().find("refused a client: pid"), std::string::npos) << listen.err();
}

// ---- raw mode with socat and nc ---------------------------------------------------------------

TEST(CliRaw, SocatTalksToIpcxListenOverUnix) {
  if (!have("socat")) GTEST_SKIP() << "socat is not installed (scripts/deps.sh installs it)";
  const std::string path = test::unique_path("socat-in.sock");
  Piped listen({cli(), "listen", "unix://" + path, "--raw", "--count", "1", "--timeout", "10"});
  listen.wait_stderr_line("listening on");
  auto socat = test::run(fmt::format("printf 'hello from socat\\n' | socat -u - UNIX-CONNECT:{}", path));
  EXPECT_EQ(socat.status, 0) << socat.output;
  EXPECT_EQ(listen.wait(), 0) << listen.err();
  EXPECT_EQ(listen.out(), "hello from socat\n");
}

TEST(CliRaw, IpcxSendTalksToSocatOverUnix) {
  if (!have("socat")) GTEST_SKIP() << "socat is not installed (scripts/deps.sh installs it)";
  const std::string path = test::unique_path("socat-out.sock");
  Piped socat({"socat", "-u", "UNIX-LISTEN:" + path, "STDOUT"});
  // wait=1: retry while socat is not listening yet.
  auto send = test::run(fmt::format("'{}' send --raw 'unix://{}?wait=1&timeout=10' 'hello ' 'socat'", cli(), path));
  EXPECT_EQ(send.status, 0) << send.output;
  EXPECT_EQ(socat.wait(), 0) << socat.err();
  EXPECT_EQ(socat.out(), "hello socat");
  ::unlink(path.c_str());
}

TEST(CliRaw, NcTalksToIpcxListenOverTcp) {
  if (!have("nc")) GTEST_SKIP() << "nc is not installed (scripts/deps.sh installs netcat-openbsd)";
  Piped listen({cli(), "listen", "tcp://127.0.0.1:0", "--raw", "--count", "1", "--timeout", "10"});
  const std::string port = port_of(listen.wait_stderr_line("listening on"));
  ASSERT_FALSE(port.empty()) << listen.err();
  auto nc = test::run(fmt::format("printf 'hi from nc' | nc -N 127.0.0.1 {}", port));
  EXPECT_EQ(nc.status, 0) << nc.output;
  EXPECT_EQ(listen.wait(), 0) << listen.err();
  EXPECT_EQ(listen.out(), "hi from nc");
}

TEST(CliRaw, IpcxSendTalksToNcOverTcp) {
  if (!have("nc")) GTEST_SKIP() << "nc is not installed (scripts/deps.sh installs netcat-openbsd)";
  const std::uint16_t port = free_port(SocketType::stream);
  ASSERT_NE(port, 0);
  Piped nc({"nc", "-d", "-l", "127.0.0.1", std::to_string(port)});
  auto send = test::run(
      fmt::format("'{}' send --raw 'tcp://127.0.0.1:{}?wait=1&timeout=10' 'hello nc'", cli(), port));
  EXPECT_EQ(send.status, 0) << send.output;
  EXPECT_EQ(nc.wait(), 0) << nc.err();
  EXPECT_EQ(nc.out(), "hello nc");
}

TEST(CliRaw, NcTalksToIpcxListenOverUnix) {
  if (!have("nc")) GTEST_SKIP() << "nc is not installed (scripts/deps.sh installs netcat-openbsd)";
  const std::string path = test::unique_path("nc-in.sock");
  Piped listen({cli(), "listen", "unix://" + path, "--raw", "--count", "1", "--timeout", "10"});
  listen.wait_stderr_line("listening on");
  auto nc = test::run(fmt::format("printf 'unix nc' | nc -N -U {}", path));
  EXPECT_EQ(nc.status, 0) << nc.output;
  EXPECT_EQ(listen.wait(), 0) << listen.err();
  EXPECT_EQ(listen.out(), "unix nc");
}

TEST(CliRaw, SocatAndIpcxOverUdpBothWays) {
  if (!have("socat")) GTEST_SKIP() << "socat is not installed (scripts/deps.sh installs it)";
  {
    const std::uint16_t port = free_port(SocketType::datagram);
    ASSERT_NE(port, 0);
    Piped recv({cli(), "recv", fmt::format("udp://127.0.0.1:{}", port), "--raw", "--count", "1",
                "--timeout", "10"});
    ASSERT_TRUE(wait_for_table("/proc/net/udp", udp_table_key(port)));
    auto socat = test::run(fmt::format("printf 'datagram from socat' | socat -u - UDP-SENDTO:127.0.0.1:{}", port));
    EXPECT_EQ(socat.status, 0) << socat.output;
    EXPECT_EQ(recv.wait(), 0) << recv.err();
    EXPECT_EQ(recv.out(), "datagram from socat");
  }
  {
    const std::uint16_t port = free_port(SocketType::datagram);
    ASSERT_NE(port, 0);
    Piped socat({"socat", "-u", fmt::format("UDP-RECVFROM:{},bind=127.0.0.1", port), "STDOUT"});
    ASSERT_TRUE(wait_for_table("/proc/net/udp", udp_table_key(port)));
    auto send = test::run(fmt::format("'{}' send --raw 'udp://127.0.0.1:{}' 'datagram to socat'", cli(), port));
    EXPECT_EQ(send.status, 0) << send.output;
    EXPECT_EQ(socat.wait(), 0) << socat.err();
    EXPECT_EQ(socat.out(), "datagram to socat");
  }
}

TEST(CliRaw, SocatSendsToIpcxRecvOverUnixgram) {
  if (!have("socat")) GTEST_SKIP() << "socat is not installed (scripts/deps.sh installs it)";
  const std::string path = test::unique_path("socat-gram.sock");
  Piped recv({cli(), "recv", "unixgram://" + path, "--raw", "--count", "1", "--timeout", "10"});
  ASSERT_TRUE(wait_for_table("/proc/net/unix", path));
  auto socat = test::run(fmt::format("printf 'gram from socat' | socat -u - UNIX-SENDTO:{}", path));
  EXPECT_EQ(socat.status, 0) << socat.output;
  EXPECT_EQ(recv.wait(), 0) << recv.err();
  EXPECT_EQ(recv.out(), "gram from socat");
}

}  // namespace
}  // namespace ipcx
