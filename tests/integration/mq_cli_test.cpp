// SPDX-License-Identifier: MIT
// The CLI on the message-queue schemes: `ipcx send --type/--priority` and
// `ipcx recv --type/--except`, each invocation its own process.
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "integration/mq_test_support.hpp"
#include "ipcx/posix_mq.hpp"
#include "ipcx/sysv_mq.hpp"
#include "support/test_support.hpp"

namespace ipcx {
namespace {

using test::run;

std::string cli_path() { return test::cli_path(); }

std::string quoted(const std::string& s) { return "'" + s + "'"; }

TEST(MqCli, PosixPrioritiesDecideTheOrder) {
  test::MqNameGuard g(test::unique_posix_name("cli-prio"));
  const std::string url = quoted(fmt::format("posixmq://{}?maxmsg=8&msgsize=64", g.name()));
  for (auto [text, prio] : {std::pair{"low", 1}, {"high", 30}, {"mid", 7}, {"low2", 1}}) {
    auto r = run(fmt::format("{} send {} --priority {} {}", cli_path(), url, prio, text));
    ASSERT_EQ(r.status, 0) << r.output;
  }
  auto out = run(fmt::format("{} recv {} --count 4 --timeout 5", cli_path(), url));
  ASSERT_EQ(out.status, 0) << out.output;
  EXPECT_EQ(out.output, "high\nmid\nlow\nlow2\n");
  ASSERT_TRUE(PosixMq::unlink(g.name()));
  EXPECT_FALSE(test::posix_mq_exists(g.name()));
}

TEST(MqCli, PosixRecvWaitsForASender) {
  test::MqNameGuard g(test::unique_posix_name("cli-wait"));
  const std::string url = fmt::format("posixmq://{}", g.name());
  // Created first so that the receiver, started before any sender, has a queue to wait on.
  PosixMqOptions o;
  o.create = true;
  auto q = PosixMq::open(g.name(), o);
  ASSERT_TRUE(q) << q.error().message();
  q->keep();  // the queue outlives this handle, for the two CLI processes
  auto receiver = test::Child::exec({cli_path(), "recv", url, "--count", "2", "--timeout", "10"});
  auto s = run(fmt::format("{} send {} one two", cli_path(), quoted(url)));
  ASSERT_EQ(s.status, 0) << s.output;
  EXPECT_EQ(receiver.wait(), 0);
  EXPECT_EQ(receiver.output(), "one\ntwo\n");
  ASSERT_TRUE(PosixMq::unlink(g.name()));
  EXPECT_FALSE(test::posix_mq_exists(g.name()));
}

TEST(MqCli, SysvTypesSelectWhatIsReceived) {
  const key_t key = test::unique_key();
  test::SysvGuard guard = test::SysvGuard::key(key);
  const std::string url = fmt::format("sysvmq://0x{:08x}", static_cast<std::uint32_t>(key));
  for (auto [text, type] : {std::pair{"three", 3}, {"one", 1}, {"two", 2}, {"five", 5}}) {
    auto r = run(fmt::format("{} send {} --type {} {}", cli_path(), url, type, text));
    ASSERT_EQ(r.status, 0) << r.output;
  }
  auto recv = [&](const std::string& args) {
    return run(fmt::format("{} recv {} --count 1 --timeout 2 {}", cli_path(), url, args));
  };
  auto lowest = recv("--type -2");  // lowest type up to 2
  ASSERT_EQ(lowest.status, 0) << lowest.output;
  EXPECT_EQ(lowest.output, "one\n");
  auto except = recv("--type 3 --except");  // first whose type is not 3
  ASSERT_EQ(except.status, 0) << except.output;
  EXPECT_EQ(except.output, "two\n");
  auto exact = recv("--type=5");
  ASSERT_EQ(exact.status, 0) << exact.output;
  EXPECT_EQ(exact.output, "five\n");
  auto bad = recv("--type 0 --except");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find("MSG_EXCEPT"), std::string::npos) << bad.output;
  auto first = recv("");
  ASSERT_EQ(first.status, 0) << first.output;
  EXPECT_EQ(first.output, "three\n");
  auto none = run(fmt::format("{} recv {} --count 1 --timeout 0.05", cli_path(), url));
  EXPECT_EQ(none.status, 1);
  EXPECT_NE(none.output.find("timed out"), std::string::npos) << none.output;

  auto q = SysvMq::open(key);
  ASSERT_TRUE(q) << q.error().message();
  ASSERT_TRUE(q->remove());
  EXPECT_FALSE(test::sysv_msg_id_exists(q->id()));
}

TEST(MqCli, OptionsOfTheOtherSchemeAreRefused) {
  test::MqNameGuard g(test::unique_posix_name("cli-wrong"));
  const std::string posix = quoted(fmt::format("posixmq://{}?unlink=1", g.name()));
  auto prio = run(fmt::format("{} send {} --priority 40000 x", cli_path(), posix));
  EXPECT_EQ(prio.status, 1);
  EXPECT_NE(prio.output.find("MQ_PRIO_MAX"), std::string::npos) << prio.output;
  auto type = run(fmt::format("{} send {} --type 4 x", cli_path(), posix));
  EXPECT_EQ(type.status, 1);
  EXPECT_NE(type.output.find("sysvmq"), std::string::npos) << type.output;
  auto except = run(fmt::format("{} recv {} --type 4 --count 1 --timeout 1", cli_path(), posix));
  EXPECT_EQ(except.status, 1);
  EXPECT_NE(except.output.find("priority"), std::string::npos) << except.output;
  EXPECT_FALSE(test::posix_mq_exists(g.name()));  // each run created it and unlinked it

  const key_t key = test::unique_key();
  test::SysvGuard guard = test::SysvGuard::key(key);
  const std::string sysv = fmt::format("sysvmq://0x{:08x}?remove=1", static_cast<std::uint32_t>(key));
  auto p = run(fmt::format("{} send {} --priority 3 x", cli_path(), quoted(sysv)));
  EXPECT_EQ(p.status, 1);
  EXPECT_NE(p.output.find("posixmq"), std::string::npos) << p.output;
  EXPECT_LT(::msgget(key, 0), 0);
}

}  // namespace
}  // namespace ipcx
