// SPDX-License-Identifier: MIT
// ipcx hz through the installed binary, against a sender in another process: the rate,
// sizes and gaps it reports (--json, and lines when not on a terminal); a pubsub ring
// watched as a subscriber; an spsc ring refused; exit codes.
#include <unistd.h>

#include <sstream>
#include <thread>

#include "cli_support.hpp"
#include "ipcx/channel.hpp"
#include "ipcx/inspect.hpp"
#include "ipcx/ring.hpp"

namespace ipcx::test {
namespace {

class CliHz : public InstalledCli {};

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> v;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
    if (!j.is_discarded()) v.push_back(std::move(j));
  }
  return v;
}

// The ring's detail `key` as stat shows it, or "" when it cannot be read.
std::string ring_detail(const std::string& url, const std::string& key) {
  auto o = inspect::stat_object(url);
  if (!o) return {};
  for (const auto& [k, v] : o->details) {
    if (k == key) return v;
  }
  return {};
}

// Ten messages of 1 to 10 bytes from `ipcx send` in another process; hz reports them all
// and ends when the sender goes away.
TEST_F(CliHz, CountsRateSizesAndGapsFromAnotherProcess) {
  const std::string fifo = unique_path("hzfifo");
  std::string msgs;
  for (int i = 1; i <= 10; ++i) msgs += " " + std::string(static_cast<std::size_t>(i), 'x');
  // Two processes; the FIFO's open waits for both sides, so nothing rests on timing.
  auto r = shell(fmt::format("({} send fifo://{}?remove=1{} & {} hz {} --json --window 30; st=$?; wait; exit $st)",
                             sh_quote(bin()), fifo, msgs, sh_quote(bin()), sh_quote("fifo://" + fifo + "?remove=1")));
  ASSERT_EQ(r.status, 0) << r.err;
  auto lines = json_lines(r.out);
  ASSERT_FALSE(lines.empty()) << r.out;
  std::uint64_t messages = 0, bytes = 0, smin = 1000, smax = 0;
  for (const auto& j : lines) {
    ASSERT_TRUE(j["messages"].is_number_unsigned()) << j.dump();
    ASSERT_TRUE(j["rate_per_s"].is_number()) << j.dump();
    ASSERT_TRUE(j["window_s"].is_number()) << j.dump();
    messages += j["messages"].get<std::uint64_t>();
    bytes += j["bytes"].get<std::uint64_t>();
    if (j.contains("size_min_bytes")) smin = std::min(smin, j["size_min_bytes"].get<std::uint64_t>());
    if (j.contains("size_max_bytes")) smax = std::max(smax, j["size_max_bytes"].get<std::uint64_t>());
    if (j.contains("gap_min_s")) {
      EXPECT_GE(j["gap_min_s"].get<double>(), 0.0);
      EXPECT_LE(j["gap_min_s"].get<double>(), j["gap_max_s"].get<double>());
    }
  }
  EXPECT_EQ(messages, 10u) << r.out;
  EXPECT_EQ(bytes, 55u) << r.out;
  EXPECT_EQ(smin, 1u);
  EXPECT_EQ(smax, 10u);
  EXPECT_EQ(lines.back()["total_messages"], 10) << r.out;
  EXPECT_TRUE(lines.back().contains("gap_avg_s")) << "nine gaps in the window: " << lines.back().dump();
  EXPECT_FALSE(std::filesystem::exists(fifo));

  // Not on a terminal and without --json: one plain line per window, no carriage return.
  const std::string fifo2 = unique_path("hzfifo");
  auto t = shell(fmt::format("({} send fifo://{}?remove=1 a bb ccc & {} hz {} -w 30; st=$?; wait; exit $st)", sh_quote(bin()),
                             fifo2, sh_quote(bin()), sh_quote("fifo://" + fifo2 + "?remove=1")));
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_EQ(t.out.find('\r'), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("msg/s  size min 1 avg 2.0 max 3 B  gap min"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("3 in all)\n"), std::string::npos) << t.out;
}

// A pubsub ring: hz is one more subscriber. The test's own subscriber still gets every
// message, so hz took none.
TEST_F(CliHz, WatchesAPubsubRingAsASubscriber) {
  const std::string name = unique_name("hzring");
  const std::string url = "shm://" + name;
  auto pub = Channel::open(url + "?pattern=pubsub&capacity=64k&slots=4");
  ASSERT_TRUE(pub) << pub.error().message();
  auto sub = Channel::bind(url);
  ASSERT_TRUE(sub) << sub.error().message();
  auto hz = Child::exec({bin(), "hz", url, "--count", "5", "--json"});
  // Publish once hz is attached (publisher, our subscriber and hz): a real condition, read
  // from the ring's liveness locks.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (ring_detail(url, "sides_attached") != "3" && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(ring_detail(url, "sides_attached"), "3");
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(pub->send(as_bytes(std::string(8, 'a')), Deadline::after(std::chrono::seconds(10))));
  ASSERT_EQ(hz.wait(), 0) << hz.output();
  auto lines = json_lines(hz.output());
  ASSERT_FALSE(lines.empty()) << hz.output();
  EXPECT_EQ(lines.back()["total_messages"], 5) << hz.output();
  for (int i = 0; i < 5; ++i) {
    auto m = sub->receive_message(Deadline::after(std::chrono::seconds(5)));
    ASSERT_TRUE(m) << i << ": " << m.error().message();
    EXPECT_EQ(m->data.size(), 8u);
  }
  *sub = Channel();
  *pub = Channel();
  (void)remove_ring(name);  // the last side closing removed it, unless something was left
}

// An spsc ring has one consumer: hz refuses it (exit 1) and says why; no ring at all is
// not created.
TEST_F(CliHz, RefusesARingItCouldOnlyConsume) {
  const std::string name = unique_name("hzspsc");
  auto rx = Channel::bind("shm://" + name + "?pattern=spsc&capacity=4k");
  ASSERT_TRUE(rx) << rx.error().message();
  auto r = ipcx("hz shm://" + name + " -t 1");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.err.find("the ring is spsc"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pubsub rings only"), std::string::npos) << r.err;
  EXPECT_TRUE(r.err.starts_with("ipcx: ")) << r.err;
  *rx = Channel();
  (void)remove_ring(name);  // the last side closing removed it, unless something was left

  const std::string absent = unique_name("hznone");
  auto none = ipcx("hz shm://" + absent + " -t 1");
  EXPECT_EQ(none.status, 1) << none.out;
  EXPECT_FALSE(std::filesystem::exists("/dev/shm/ipcx.ring." + absent));
}

TEST_F(CliHz, UsageErrorsAreTwo) {
  EXPECT_EQ(ipcx("hz").status, 2);
  EXPECT_EQ(ipcx("hz fifo:///tmp/x --window 0").status, 2);
  EXPECT_EQ(ipcx("hz bogus://x -t 1").status, 2);
  auto help = ipcx("hz --help");
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("--window"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace ipcx::test
