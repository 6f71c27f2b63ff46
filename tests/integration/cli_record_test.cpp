// SPDX-License-Identifier: MIT
// ipcx record and replay through the installed binary, each against another process: the
// file's format as documented, the round trip, the timing kept and scaled by --speed, and
// clear errors for a file that is not a whole recording.
#include <chrono>

#include "cli_support.hpp"

namespace ipcx::test {
namespace {

class CliRecord : public InstalledCli {
 protected:
  void TearDown() override {
    for (const auto& f : files_) std::filesystem::remove(f);
  }
  std::string file(const char* what) {
    files_.push_back(unique_path(what));
    return files_.back();
  }
  std::vector<std::string> files_;
};

std::uint64_t le(const std::string& s, std::size_t at, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
  return v;
}

void put(std::string& s, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}

// A recording as docs/cli.md describes it, written by hand: messages at these times.
std::string recording(const std::vector<std::pair<std::uint64_t, std::string>>& msgs, std::uint32_t version = 1) {
  std::string s("IPCXREC\0", 8);
  put(s, version, 4);
  put(s, 24, 4);
  put(s, 1700000000ULL * 1000000000ULL, 8);
  for (const auto& [ns, payload] : msgs) {
    put(s, ns, 8);
    put(s, payload.size(), 4);
    put(s, 0, 4);
    put(s, 0, 8);
    s += payload;
  }
  return s;
}

void write_file(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

// record writes what `ipcx send` (another process) sent, in the documented format; replay
// sends it to `ipcx recv` (a third), byte for byte.
TEST_F(CliRecord, RecordsInTheDocumentedFormatAndReplays) {
  const std::string fifo = unique_path("recfifo"), rec = file("rec");
  auto r = shell(fmt::format("({} send fifo://{}?remove=1 one two three & {} record {} {}; st=$?; wait; exit $st)", sh_quote(bin()),
                             fifo, sh_quote(bin()), sh_quote("fifo://" + fifo + "?remove=1"), sh_quote(rec)));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("recorded 3 messages (11 bytes)"), std::string::npos) << r.out;
  const std::string bytes = read_text_file(rec);
  ASSERT_GE(bytes.size(), 24u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("IPCXREC\0", 8));
  EXPECT_EQ(le(bytes, 8, 4), 1u);
  EXPECT_EQ(le(bytes, 12, 4), 24u);
  const auto now_ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  EXPECT_LE(le(bytes, 16, 8), now_ns);
  EXPECT_GT(le(bytes, 16, 8), now_ns - 600ULL * 1000000000ULL) << "started within the last ten minutes";
  std::size_t at = 24;
  std::uint64_t last = 0;
  std::vector<std::string> payloads;
  while (at < bytes.size()) {
    ASSERT_LE(at + 24, bytes.size());
    const auto t = le(bytes, at, 8);
    const auto n = le(bytes, at + 8, 4);
    EXPECT_GE(t, last);
    last = t;
    ASSERT_LE(at + 24 + n, bytes.size());
    payloads.push_back(bytes.substr(at + 24, n));
    at += 24 + n;
  }
  EXPECT_EQ(payloads, (std::vector<std::string>{"one", "two", "three"}));

  const std::string out = file("recv-out"), fifo2 = unique_path("playfifo");
  auto p = shell(fmt::format("({} recv {} -n 3 > {} & {} replay {} fifo://{}?remove=1 --speed 0; st=$?; wait; exit $st)",
                             sh_quote(bin()), sh_quote("fifo://" + fifo2 + "?remove=1"), sh_quote(out), sh_quote(bin()),
                             sh_quote(rec), fifo2));
  ASSERT_EQ(p.status, 0) << p.err;
  EXPECT_NE(p.out.find("replayed 3 messages (11 bytes)"), std::string::npos) << p.out;
  EXPECT_EQ(read_text_file(out), "one\ntwo\nthree\n");
}

// The recorded gaps are kept (300 ms here), divided by --speed; --count sends the first N.
TEST_F(CliRecord, ReplayKeepsTheGapsScaledBySpeed) {
  const std::string rec = file("timed");
  write_file(rec, recording({{0, "a"}, {300'000'000, "b"}}));
  auto timed = [&](const std::string& extra, const std::string& expect) {
    const std::string fifo = unique_path("gapfifo"), out = file("gap-out");
    const auto t0 = std::chrono::steady_clock::now();
    auto p = shell(fmt::format("({} recv {} > {} & {} replay {} fifo://{}?remove=1 {}; st=$?; wait; exit $st)", sh_quote(bin()),
                               sh_quote("fifo://" + fifo + "?remove=1"), sh_quote(out), sh_quote(bin()), sh_quote(rec), fifo,
                               extra));
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(p.status, 0) << extra << ": " << p.err;
    EXPECT_EQ(read_text_file(out), expect) << extra;
    return took;
  };
  EXPECT_GE(timed("", "a\nb\n"), std::chrono::milliseconds(300));
  EXPECT_GE(timed("--speed 3", "a\nb\n"), std::chrono::milliseconds(100));
  timed("--count 1", "a\n");
}

// A file that is not a whole recording is refused before anything is sent: exit 1 and
// where it goes wrong. The target FIFO has no reader, so a replay that sent would hang.
TEST_F(CliRecord, RefusesCorruptAndTruncatedFiles) {
  const std::string good = recording({{0, "hello"}, {10, "world"}});
  const std::string fifo = "fifo://" + unique_path("nofifo");
  struct Case {
    std::string bytes, says;
  };
  std::string backwards = recording({{10, "a"}, {5, "b"}});
  const Case cases[] = {
      {"#!/bin/sh\necho not a recording\n", "not an ipcx recording"},
      {good.substr(0, 20), "truncated: the header needs 24 bytes"},
      {recording({{0, "x"}}, 2), "recording version 2; this ipcx reads version 1"},
      {good.substr(0, good.size() - 2), "truncated at byte"},
      {good.substr(0, 24 + 29 + 10), "message 2 needs a 24-byte header"},
      {backwards, "is before the one before it"},
  };
  for (const auto& c : cases) {
    const std::string path = file("bad");
    write_file(path, c.bytes);
    auto r = ipcx(fmt::format("replay {} {} -t 2", sh_quote(path), sh_quote(fifo)));
    EXPECT_EQ(r.status, 1) << c.says << ": " << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(path), std::string::npos) << "names the file: " << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  auto missing = ipcx("replay " + sh_quote(unique_path("absent")) + " " + sh_quote(fifo));
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("No such file"), std::string::npos) << missing.err;
}

TEST_F(CliRecord, UsageErrorsAreTwo) {
  const std::string rec = file("usage");
  write_file(rec, recording({}));
  EXPECT_EQ(ipcx("replay " + sh_quote(rec) + " fifo:///tmp/x --speed -1").status, 2);
  EXPECT_EQ(ipcx("replay " + sh_quote(rec) + " bogus://x").status, 2);
  EXPECT_EQ(ipcx("record fifo:///tmp/x").status, 2);
  EXPECT_EQ(ipcx("record bogus://x " + sh_quote(rec)).status, 2);
  EXPECT_EQ(ipcx("record --help").status, 0);
  EXPECT_EQ(ipcx("replay --help").status, 0);
}

}  // namespace
}  // namespace ipcx::test
