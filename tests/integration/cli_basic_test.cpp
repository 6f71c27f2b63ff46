// SPDX-License-Identifier: MIT
// The first CLI commands, driven as a user would: send, recv, help, exit codes.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace ipcx {
namespace {

std::string cli() { return test::cli_path(); }

TEST(Cli, RecvPrintsWhatSendSendsOverAFifoAndTheCreatorRemovesIt) {
  const std::string path = test::unique_path("demo");
  // As in the README: a receiver in the background, a sender in the foreground. Either may
  // create the FIFO; the one that does removes it because the URL asks.
  auto r = test::run(cli() + " recv 'fifo://" + path + "?remove=1' --count 2 --timeout 10 & " + cli() + " send 'fifo://" +
                     path + "?remove=1' hello world --timeout 10; wait $!");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, "hello\nworld\n");
  struct stat st {};
  EXPECT_NE(::stat(path.c_str(), &st), 0) << "FIFO left behind";
}

TEST(Cli, SendReadsLinesFromStdin) {
  const std::string path = test::unique_path("lines");
  auto r = test::run(cli() + " recv 'fifo://" + path + "?remove=1' --timeout 10 > " + path + ".out & printf 'one\\ntwo\\nthree\\n' | " +
                     cli() + " send 'fifo://" + path + "?remove=1' --timeout 10; wait $!; cat " + path + ".out; rm -f " + path + ".out");
  EXPECT_EQ(r.status, 0) << r.output;
  // Without --count, recv ends cleanly when the sender goes away.
  EXPECT_EQ(r.output, "one\ntwo\nthree\n");
}

TEST(Cli, RecvTimeoutIsExitOneWithAMessage) {
  const std::string path = test::unique_path("quiet");
  auto r = test::run(cli() + " recv 'fifo://" + path + "?remove=1' --count 1 --timeout 0.1");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("timed out after 0 of 1 messages"), std::string::npos) << r.output;
}

TEST(Cli, PeerGoneBeforeCountIsExitOne) {
  const std::string path = test::unique_path("short");
  auto r = test::run(cli() + " recv 'fifo://" + path + "?remove=1' --count 3 --timeout 10 & " + cli() + " send 'fifo://" + path +
                     "?remove=1' only-one --timeout 10; wait $!");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("peer gone after 1 of 3 messages"), std::string::npos) << r.output;
}

// A bad URL is a usage error (2) in send as in stat (docs/cli.md, Conventions).
TEST(Cli, UsageErrorsAndBadUrlsExitTwo) {
  auto none = test::run(cli());
  EXPECT_EQ(none.status, 2) << none.output;
  auto unknown_flag = test::run(cli() + " recv fifo:///tmp/x --bogus");
  EXPECT_EQ(unknown_flag.status, 2) << unknown_flag.output;
  auto bad_count = test::run(cli() + " recv fifo:///tmp/x --count -3");
  EXPECT_EQ(bad_count.status, 2) << bad_count.output;
  auto bad_url = test::run(cli() + " send 'nope://x' hi");
  EXPECT_EQ(bad_url.status, 2);
  EXPECT_NE(bad_url.output.find("unknown scheme 'nope'"), std::string::npos) << bad_url.output;
  auto dots = test::run(cli() + " recv 'fifo:///tmp/../etc/x' --timeout 1");
  EXPECT_EQ(dots.status, 2);
  EXPECT_NE(dots.output.find("'..'"), std::string::npos) << dots.output;
}

TEST(Cli, HelpOnEveryCommandExitsZeroWithAnExample) {
  auto top = test::run(cli() + " --help");
  EXPECT_EQ(top.status, 0);
  EXPECT_NE(top.output.find("send"), std::string::npos);
  EXPECT_NE(top.output.find("recv"), std::string::npos);
  for (const char* cmd : {"send", "recv"}) {
    auto h = test::run(cli() + " " + cmd + " --help");
    EXPECT_EQ(h.status, 0) << cmd;
    EXPECT_NE(h.output.find("Example"), std::string::npos) << cmd << ": " << h.output;
  }
}

}  // namespace
}  // namespace ipcx
