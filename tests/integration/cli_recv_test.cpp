// SPDX-License-Identifier: MIT
// ipcx recv --json through the installed binary: one JSON object per line, the message as
// text when it is UTF-8 and as base64 when it is not.
#include <sstream>

#include "cli_support.hpp"
#include "ipcx/channel.hpp"

namespace ipcx::test {
namespace {

using namespace std::chrono_literals;

class CliRecv : public InstalledCli {};

std::string from_base64(const std::string& in) {
  static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned v = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    v = v << 6 | static_cast<unsigned>(kAlphabet.find(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((v >> bits) & 0xff);
    }
  }
  return out;
}

TEST_F(CliRecv, JsonLinesTextOrBase64) {
  const std::string path = unique_path("fifo");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  const std::string url = "fifo://" + path;
  const std::vector<std::string> messages = {
      "hello", "line\nwith \"quotes\" and \\", std::string("\xff\x00\x01", 3), "h\xc3\xa9llo", std::string("\xc3", 1)};
  auto sender = Child::spawn([&] {
    auto ch = Channel::open(url);
    if (!ch) return 10;
    for (const auto& m : messages) {
      if (!ch->send(as_bytes(m), Deadline::after(10s))) return 11;
    }
    return 0;
  });
  auto r = ipcx(fmt::format("recv {} --json --count {} --timeout 10", url, messages.size()));
  EXPECT_EQ(sender.wait(), 0);
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream in(r.out);
  std::vector<nlohmann::json> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(nlohmann::json::parse(l));
  ASSERT_EQ(lines.size(), messages.size()) << r.out;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto& j = lines[i];
    EXPECT_EQ(j["n"], i + 1);
    EXPECT_EQ(j["size"], messages[i].size());
    EXPECT_FALSE(j.contains("type")) << "a FIFO has no message types";
  }
  EXPECT_EQ(lines[0]["text"], "hello");
  EXPECT_EQ(lines[1]["text"], messages[1]);
  EXPECT_FALSE(lines[2].contains("text"));
  EXPECT_EQ(lines[2]["base64"], "/wAB");
  EXPECT_EQ(from_base64(lines[2]["base64"]), messages[2]);
  EXPECT_EQ(lines[3]["text"], "h\xc3\xa9llo");
  EXPECT_EQ(from_base64(lines[4]["base64"]), messages[4]) << "a truncated UTF-8 sequence is not text";
  ::unlink(path.c_str());
}

TEST_F(CliRecv, JsonCarriesTypePriorityAndPeer) {
  // System V: the message type.
  const std::string sq = fmt::format("sysvmq://0x{:08x}", static_cast<std::uint32_t>(unique_key()));
  auto q = Channel::open(sq + "?remove=1");
  ASSERT_TRUE(q) << q.error().message();
  SendOptions typed;
  typed.type = 42;
  ASSERT_TRUE(q->send(as_bytes("typed"), Deadline::after(10s), typed));
  auto r = ipcx(fmt::format("recv {} --json --count 1 --timeout 10", sq));
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["text"], "typed");
  EXPECT_EQ(j["type"], 42);
  EXPECT_FALSE(j.contains("priority"));

  // POSIX: the priority.
  const std::string pq = "posixmq://" + unique_posix_name("mq");
  auto p = Channel::open(pq + "?unlink=1");
  ASSERT_TRUE(p) << p.error().message();
  SendOptions urgent;
  urgent.priority = 7;
  ASSERT_TRUE(p->send(as_bytes("urgent"), Deadline::after(10s), urgent));
  auto rp = ipcx(fmt::format("recv {} --json --count 1 --timeout 10", pq));
  ASSERT_EQ(rp.status, 0) << rp.err;
  auto jp = nlohmann::json::parse(rp.out);
  EXPECT_EQ(jp["priority"], 7);
  EXPECT_FALSE(jp.contains("type"));

  // Unix stream: the peer's credentials. A child listens (SO_PEERCRED names the process
  // that listened); ipcx recv connects, retrying until it does (wait=1).
  const std::string at = "unix:@" + unique_name("recv");
  auto server = Child::spawn([&] {
    auto l = Listener::listen(at);
    if (!l) return 2;
    auto c = l->accept(Deadline::after(10s));
    return c && c->send(as_bytes("from the server"), Deadline::after(10s)) ? 0 : 1;
  });
  const pid_t server_pid = server.pid();
  auto ru = ipcx(fmt::format("recv '{}?wait=1&timeout=10' --json --count 1 --timeout 10", at));
  EXPECT_EQ(server.wait(), 0);
  ASSERT_EQ(ru.status, 0) << ru.err;
  auto ju = nlohmann::json::parse(ru.out);
  EXPECT_EQ(ju["text"], "from the server");
  ASSERT_TRUE(ju.contains("peer")) << ru.out;
  EXPECT_EQ(ju["peer"]["pid"], server_pid);
  EXPECT_EQ(ju["peer"]["uid"], ::geteuid());
}

TEST_F(CliRecv, PlainOutputAndTimeout) {
  const std::string path = unique_path("fifo");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  auto sender = Child::spawn([&] {
    auto ch = Channel::open("fifo://" + path);
    return ch && ch->send(as_bytes("plain"), Deadline::after(10s)) ? 0 : 1;
  });
  auto r = ipcx(fmt::format("recv fifo://{} --count 1 --timeout 10", path));
  EXPECT_EQ(sender.wait(), 0);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "plain\n");
  // Nobody sends: a timeout is a runtime error that says so.
  auto t = ipcx(fmt::format("recv fifo://{} --count 1 --timeout 0.05 --json", path));
  EXPECT_EQ(t.status, 1);
  EXPECT_NE(t.err.find("timed out"), std::string::npos) << t.err;
  EXPECT_TRUE(t.out.empty());
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace ipcx::test
