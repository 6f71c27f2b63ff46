// SPDX-License-Identifier: MIT
// ipcx-bench runs, writes JSON in the documented schema, reports every row as ok,
// skipped or failed (never a silent gap), and leaves nothing behind. No timing is judged:
// only shapes, statuses and consistency (p50 <= p99 <= p99.9 <= max).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/nats_launch.hpp"
#include "support/test_support.hpp"

namespace {

using json = nlohmann::json;
using ipcx::test::Child;

const std::set<std::string> kCases = {"floor",   "futex-floor", "pipe",     "fifo",    "unix",    "unixgram",
                                      "unixpacket", "tcp",      "udp",      "posixmq", "sysvmq",  "eventfd",
                                      "shm",     "shm-zc",      "shm-pubsub", "boost-mq", "zmq-ipc", "zmq-tcp",
                                      "nats",    "bridge-nats", "nng-ipc",  "iceoryx"};
const std::set<std::string> kImpls = {"ipcx", "raw", "peer"};
const std::set<std::string> kWaits = {"spin", "yield", "sleep", "poll", "kernel"};

struct Run {
  int status = -1;
  std::string output;
  json doc;
  pid_t pid = -1;
};

Run run_bench(std::vector<std::string> args) {
  std::string file = ipcx::test::unique_path("bench.json");
  std::vector<std::string> argv = {IPCX_BENCH_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--json", file});
  auto child = Child::exec(argv);
  Run r;
  r.pid = child.pid();
  r.status = child.wait(std::chrono::seconds(100));
  r.output = child.output();
  std::ifstream in(file);
  if (in) {
    try {
      r.doc = json::parse(in);
    } catch (const json::exception& e) {
      ADD_FAILURE() << "the JSON does not parse: " << e.what();
    }
  }
  ::unlink(file.c_str());
  return r;
}

// Everything the run named (its names contain "ipcxb-<pid>-") that still exists.
std::vector<std::string> left_by(pid_t pid) {
  std::vector<std::string> out;
  std::string tag = fmt::format("ipcxb-{}-", pid);
  for (const char* dir : {"/tmp", "/dev/shm", "/dev/mqueue"}) {
    auto r = ipcx::test::run(fmt::format("ls -1 {} 2>/dev/null", dir));
    std::istringstream ls(r.output);
    std::string name;
    while (std::getline(ls, name)) {
      if (name.find(tag) != std::string::npos) out.push_back(fmt::format("{}/{}", dir, name));
    }
  }
  // SysV queues keyed 0x5 | pid << 6 | counter.
  std::ifstream msg("/proc/sysvipc/msg");
  std::string line;
  std::getline(msg, line);
  const std::uint32_t mine = 0x50000000u | ((static_cast<std::uint32_t>(pid) & 0x3fffffu) << 6);
  while (std::getline(msg, line)) {
    std::istringstream ls(line);
    long long key = 0;
    ls >> key;
    if ((static_cast<std::uint32_t>(key) & 0xffffffc0u) == mine) out.push_back("sysv msg " + line);
  }
  std::ifstream unix_table("/proc/net/unix");
  while (std::getline(unix_table, line)) {
    if (line.find(tag) != std::string::npos) out.push_back("socket " + line);
  }
  return out;
}

// Checks the document's shape; returns the results.
const json& check_schema(const json& doc) {
  static const json empty = json::array();
  EXPECT_TRUE(doc.is_object());
  if (!doc.is_object()) return empty;
  EXPECT_EQ(doc.size(), doc.contains("idle_cpu") ? 3u : 2u) << "top level: machine, results and idle_cpu only";
  if (doc.contains("idle_cpu")) {
    const json& idle = doc.at("idle_cpu");
    EXPECT_EQ(idle.size(), 4u) << "one per wait strategy";
    for (const json& i : idle) {
      SCOPED_TRACE(i.dump());
      EXPECT_EQ(i.size(), 6u);
      EXPECT_EQ(i.at("case"), "shm");
      EXPECT_TRUE(kWaits.count(i.at("wait").get<std::string>()));
      EXPECT_EQ(i.at("status"), "ok");
      EXPECT_GT(i.at("idle_s").get<double>(), 0.0);
      EXPECT_GE(i.at("cpu_s").get<double>(), 0.0);
      EXPECT_TRUE(i.at("cpu_share").is_number());
    }
  }
  const json& m = doc.at("machine");
  EXPECT_EQ(m.size(), 4u);
  EXPECT_TRUE(m.at("cpu").is_string());
  EXPECT_TRUE(m.at("cores").is_number_integer());
  EXPECT_GE(m.at("cores").get<int>(), 1);
  EXPECT_TRUE(m.at("kernel").is_string());
  EXPECT_NE(m.at("kernel").get<std::string>().find("Linux"), std::string::npos);
  EXPECT_TRUE(m.at("date").is_string());
  EXPECT_EQ(m.at("date").get<std::string>().size(), 20u) << "ISO 8601 UTC, e.g. 2025-01-31T12:00:00Z";
  const json& results = doc.at("results");
  EXPECT_TRUE(results.is_array());
  for (const json& r : results) {
    SCOPED_TRACE(r.dump());
    EXPECT_EQ(r.size(), 10u);
    EXPECT_TRUE(r.at("batch").is_number_unsigned()) << "messages per batch, 0 for one at a time";
    EXPECT_TRUE(kCases.count(r.at("case").get<std::string>()));
    EXPECT_TRUE(kImpls.count(r.at("impl").get<std::string>()));
    EXPECT_TRUE(kWaits.count(r.at("wait").get<std::string>()));
    EXPECT_TRUE(r.at("size").is_number_unsigned());
    EXPECT_TRUE(r.at("pinned").is_string());
    const std::string status = r.at("status").get<std::string>();
    const bool ok = status == "ok";
    EXPECT_TRUE(ok || status.rfind("skipped: ", 0) == 0 || status.rfind("failed: ", 0) == 0) << status;
    const json& rtt = r.at("rtt_ns");
    EXPECT_EQ(rtt.size(), 5u);
    const json& tp = r.at("throughput");
    EXPECT_EQ(tp.size(), 2u);
    if (ok) {
      EXPECT_TRUE(r.at("floor_ns").is_number());
      for (const char* k : {"p50", "p99", "p999", "max", "samples"}) EXPECT_TRUE(rtt.at(k).is_number_unsigned()) << k;
      EXPECT_GT(rtt.at("samples").get<std::uint64_t>(), 0u);
      EXPECT_LE(rtt.at("p50").get<std::uint64_t>(), rtt.at("p99").get<std::uint64_t>());
      EXPECT_LE(rtt.at("p99").get<std::uint64_t>(), rtt.at("p999").get<std::uint64_t>());
      EXPECT_LE(rtt.at("p999").get<std::uint64_t>(), rtt.at("max").get<std::uint64_t>());
      EXPECT_TRUE(tp.at("msgs_per_s").is_number());
      EXPECT_TRUE(tp.at("mb_per_s").is_number());
    } else {
      EXPECT_TRUE(r.at("floor_ns").is_null());
      EXPECT_TRUE(rtt.at("p50").is_null());
      EXPECT_EQ(rtt.at("samples").get<std::uint64_t>(), 0u);
      EXPECT_TRUE(tp.at("msgs_per_s").is_null());
    }
  }
  return results;
}

const json* find(const json& results, const std::string& c, const std::string& impl, std::size_t batch = 0) {
  for (const json& r : results) {
    if (r.at("case") == c && r.at("impl") == impl && r.at("batch") == batch) return &r;
  }
  return nullptr;
}

TEST(BenchSmoke, FloorAndPipeWriteTheSchemaAndLeaveNothing) {
  auto r = run_bench({"--cases", "floor,pipe", "--sizes", "64", "--iterations", "200"});
  ASSERT_EQ(r.status, 0) << r.output;
  const json& results = check_schema(r.doc);
  EXPECT_EQ(results.size(), 4u) << "floor raw, pipe raw, pipe ipcx, pipe ipcx in batches";
  // Pipes and shared memory exist on every Linux host: these three must measure.
  for (auto [c, impl, batch] : {std::tuple{"floor", "raw", 0u}, {"pipe", "raw", 0u}, {"pipe", "ipcx", 0u},
                                {"pipe", "ipcx", 64u}}) {
    const json* row = find(results, c, impl, batch);
    ASSERT_NE(row, nullptr) << c << " " << impl << " batch " << batch;
    EXPECT_EQ(row->at("status"), "ok") << c << " " << impl;
    EXPECT_EQ(row->at("size"), 64u);
    EXPECT_LE(row->at("rtt_ns").at("samples").get<std::uint64_t>(), 200u) << "--iterations caps the samples";
  }
  // The table names every row too.
  EXPECT_NE(r.output.find("floor"), std::string::npos);
  EXPECT_NE(r.output.find("kernel:"), std::string::npos) << "machine facts are printed";
  EXPECT_NE(r.output.find("ipcx b64"), std::string::npos) << "the batch row is marked: " << r.output;
  EXPECT_EQ(left_by(r.pid), std::vector<std::string>{});
}

TEST(BenchSmoke, RepeatReportsMediansOfEveryRound) {
  // --iterations 100 caps a round's samples at 100, so three rounds hold at most 300, and
  // more than 100 shows that later rounds were measured and counted.
  auto r = run_bench({"--cases", "floor,pipe", "--sizes", "64", "--iterations", "100", "--repeat", "3"});
  ASSERT_EQ(r.status, 0) << r.output;
  const json& results = check_schema(r.doc);
  EXPECT_EQ(results.size(), 4u);
  for (const json& row : results) {
    SCOPED_TRACE(row.dump());
    ASSERT_EQ(row.at("status"), "ok");
    const auto n = row.at("rtt_ns").at("samples").get<std::uint64_t>();
    EXPECT_GT(n, 100u);
    EXPECT_LE(n, 300u);
  }
  EXPECT_NE(r.output.find("each row measured 3 times"), std::string::npos) << r.output;
  auto bad = Child::exec({IPCX_BENCH_PATH, "--repeat", "0"});
  EXPECT_EQ(bad.wait(), 2);
  EXPECT_EQ(left_by(r.pid), std::vector<std::string>{});
}

TEST(BenchSmoke, EveryOtherLocalCaseRunsOrSaysWhyNotAndLeavesNothing) {
  // Everything but iceoryx (its RouDi is one per host, and takes 200 MB of /dev/shm).
  auto r = run_bench({"--cases",
                      "futex-floor,fifo,unix,unixgram,unixpacket,tcp,udp,posixmq,sysvmq,eventfd,shm,boost-mq,zmq-ipc,"
                      "zmq-tcp,nng-ipc",
                      "--sizes", "64", "--iterations", "100"});
  ASSERT_EQ(r.status, 0) << r.output;
  const json& results = check_schema(r.doc);
  EXPECT_TRUE(r.doc.contains("idle_cpu")) << "the shm case ran: its idle receiver is measured";
  EXPECT_GE(results.size(), 22u);
  for (const json& row : results) {
    EXPECT_EQ(row.at("status").get<std::string>().rfind("failed", 0), std::string::npos) << row.dump();
  }
  for (auto [c, impl] : {std::pair{"futex-floor", "raw"}, {"fifo", "raw"}, {"fifo", "ipcx"}, {"unix", "raw"},
                         {"tcp", "raw"}, {"udp", "raw"}, {"sysvmq", "raw"}, {"eventfd", "raw"}}) {
    const json* row = find(results, c, impl);
    ASSERT_NE(row, nullptr) << c << " " << impl;
    EXPECT_EQ(row->at("status"), "ok") << c << " " << impl;
  }
  // Every kernel mechanism and the ring have a batch row, which measures (--iterations 100
  // with batches of 64: a whole batch and a partial one), beside the row without batches.
  for (const char* c : {"fifo", "unix", "unixgram", "unixpacket", "tcp", "udp", "posixmq", "sysvmq", "shm"}) {
    const json* single = find(results, c, "ipcx");
    const json* batched = find(results, c, "ipcx", 64);
    ASSERT_NE(single, nullptr) << c;
    ASSERT_NE(batched, nullptr) << c;
    EXPECT_EQ(batched->at("status"), single->at("status")) << c;
    if (batched->at("status") == "ok") {
      EXPECT_TRUE(batched->at("throughput").at("msgs_per_s").is_number()) << c;
    }
  }
  for (const char* c : {"fifo", "unix", "unixgram", "unixpacket", "tcp", "udp", "shm"}) {
    EXPECT_EQ(find(results, c, "ipcx", 64)->at("status"), "ok") << c;
  }
  EXPECT_EQ(left_by(r.pid), std::vector<std::string>{});
}

// --batch sets the batch rows' size; the one-way phase checks every message of them as it
// does one by one (a batch larger than the whole phase included).
TEST(BenchSmoke, BatchSizeIsAnOption) {
  auto r = run_bench({"--cases", "pipe,shm", "--sizes", "64,64k", "--iterations", "50", "--batch", "7"});
  ASSERT_EQ(r.status, 0) << r.output;
  const json& results = check_schema(r.doc);
  std::size_t batched = 0;
  for (const json& row : results) {
    if (row.at("batch") == 0u) continue;
    ++batched;
    EXPECT_EQ(row.at("batch"), 7u) << row.dump();
    EXPECT_EQ(row.at("status"), "ok") << row.dump();
  }
  EXPECT_EQ(batched, 4u) << "pipe and shm wait=sleep, at two sizes";
  EXPECT_NE(r.output.find("ipcx b7"), std::string::npos) << r.output;
  auto big = run_bench({"--cases", "unix", "--sizes", "64", "--iterations", "20", "--batch", "100"});
  ASSERT_EQ(big.status, 0) << big.output;
  const json* row = find(check_schema(big.doc), "unix", "ipcx", 100);
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->at("status"), "ok") << row->dump();
  EXPECT_EQ(left_by(r.pid), std::vector<std::string>{});
  EXPECT_EQ(left_by(big.pid), std::vector<std::string>{});
  auto bad = Child::exec({IPCX_BENCH_PATH, "--batch", "0"});
  EXPECT_EQ(bad.wait(), 2);
}

// The ring's own-API rows: zero-copy, and publish/subscribe with 1 and 4 subscribers under
// both policies, each at 64 B and 1 MiB. Every row must measure (the extra subscribers
// check every message too, and a failure of theirs fails the row) and leave no ring and no
// process behind.
TEST(BenchSmoke, RingZeroCopyAndPubSubRowsRunAndLeaveNothing) {
  auto r = run_bench({"--cases", "shm-zc,shm-pubsub", "--sizes", "64,1m", "--iterations", "100"});
  ASSERT_EQ(r.status, 0) << r.output;
  const json& results = check_schema(r.doc);
  EXPECT_EQ(results.size(), 10u) << "shm-zc and four shm-pubsub rows, two sizes each";
  std::size_t zc = 0, pubsub = 0;
  for (const json& row : results) {
    EXPECT_EQ(row.at("status"), "ok") << row.dump();
    EXPECT_EQ(row.at("impl"), "ipcx");
    if (row.at("case") == "shm-zc") {
      ++zc;
      EXPECT_EQ(row.at("wait"), "spin");
    } else {
      ++pubsub;
      EXPECT_EQ(row.at("case"), "shm-pubsub");
      EXPECT_EQ(row.at("wait"), "sleep");
    }
  }
  EXPECT_EQ(zc, 2u);
  EXPECT_EQ(pubsub, 8u);
  for (const char* note : {"pubsub, 1 subscriber, policy=block", "pubsub, 4 subscribers, policy=block",
                           "pubsub, 1 subscriber, policy=drop", "pubsub, 4 subscribers, policy=drop",
                           "each of subscribers 2-4 checked all"}) {
    EXPECT_NE(r.output.find(note), std::string::npos) << note << "\n" << r.output;
  }
  EXPECT_EQ(left_by(r.pid), std::vector<std::string>{});
}

// Processes still running whose command line names the run (the bridges of bridge-nats).
std::vector<std::string> processes_of(pid_t pid) {
  std::vector<std::string> out;
  std::string tag = fmt::format("ipcxb-{}-", pid);
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    std::ifstream in(e.path() / "cmdline");
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmd.find(tag) != std::string::npos) out.push_back(e.path().filename().string());
  }
  return out;
}

// Beyond one host: nats (raw client and Channel) and bridge-nats against a nats-server the
// run starts and stops itself, and zmq-ipc/zmq-tcp through ipcx beside raw libzmq, at 64 B
// and 256 KiB (the bridges take messages over 64 KiB one at a time, outside their receive
// batches). Without nats-server the NATS rows say so; with it, every row measures.
TEST(BenchSmoke, RemoteRowsMeasureAgainstTheirOwnServerAndLeaveNothing) {
  auto r = run_bench({"--cases", "nats,bridge-nats,zmq-ipc,zmq-tcp", "--sizes", "64,256k", "--iterations", "100"});
  ASSERT_EQ(r.status, 0) << r.output;
  const json& results = check_schema(r.doc);
  EXPECT_EQ(results.size(), 14u) << "nats raw and ipcx, bridge-nats, zmq-ipc and zmq-tcp raw and ipcx; two sizes";
  const bool have_server = !ipcx::nats_launch::server_path().empty();
  for (auto [c, impl] : {std::pair{"nats", "raw"}, {"nats", "ipcx"}, {"bridge-nats", "ipcx"}, {"zmq-ipc", "raw"},
                         {"zmq-ipc", "ipcx"}, {"zmq-tcp", "raw"}, {"zmq-tcp", "ipcx"}}) {
    for (const json& row : results) {
      if (row.at("case") != c || row.at("impl") != impl) continue;
      const std::string status = row.at("status").get<std::string>();
      if (std::string_view(c).find("nats") != std::string_view::npos && !have_server) {
        EXPECT_EQ(status, "skipped: nats-server is not installed (apt-get install nats-server)") << row.dump();
      } else if (status.find("built without") != std::string::npos) {
        // IPCX_WITH_NATS / IPCX_WITH_ZMQ off: the ipcx row says so, and only an ipcx row may.
        EXPECT_EQ(impl, std::string("ipcx")) << row.dump();
        EXPECT_EQ(status.rfind("skipped: ", 0), 0u) << row.dump();
      } else {
        EXPECT_EQ(status, "ok") << row.dump();
      }
    }
    EXPECT_NE(find(results, c, impl), nullptr) << c << " " << impl;
  }
  // The ipcx zmq rows are compared with raw libzmq, as the kernel rows with their system calls.
  EXPECT_NE(r.output.find("zmq+tcp:// pattern=req/rep + push/pull"), std::string::npos) << r.output;
  EXPECT_EQ(left_by(r.pid), std::vector<std::string>{});
  EXPECT_EQ(processes_of(r.pid), std::vector<std::string>{}) << "a bridge outlived the run";
}

TEST(BenchSmoke, BadArgumentsAreUsageErrors) {
  auto a = Child::exec({IPCX_BENCH_PATH, "--cases", "carrier-pigeon"});
  EXPECT_EQ(a.wait(), 2);
  EXPECT_NE(a.output().find("carrier-pigeon"), std::string::npos) << a.output();
  auto b = Child::exec({IPCX_BENCH_PATH, "--sizes", "8"});
  EXPECT_EQ(b.wait(), 2);
  EXPECT_NE(b.output().find("out of range"), std::string::npos) << b.output();
}

// `ipcx bench` finds ipcx-bench next to itself (the build tree) and passes everything on.
TEST(BenchCli, IpcxBenchRunsTheBenchmarkWithItsArguments) {
  auto r = ipcx::test::run(fmt::format("{} bench --cases floor --sizes 64 --iterations 50", ipcx::test::cli_path()));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("command:   ipcx bench --cases floor --sizes 64 --iterations 50"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("\nfloor "), std::string::npos) << r.output;
  auto help = ipcx::test::run(fmt::format("{} bench --help", ipcx::test::cli_path()));
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.output.find("--iterations"), std::string::npos) << "ipcx-bench's own help: " << help.output;
}

// Away from the build tree, with nothing installed, it says where it looked; IPCX_BENCH
// points it at a benchmark anywhere.
TEST(BenchCli, IpcxBenchSaysWhereItLookedAndHonoursIpcxBench) {
  std::string dir = ipcx::test::unique_path("cli");
  ASSERT_EQ(ipcx::test::run(fmt::format("mkdir {0} && cp {1} {0}/ipcx", dir, ipcx::test::cli_path())).status, 0);
  auto missing = ipcx::test::run(fmt::format("env -u IPCX_BENCH {}/ipcx bench --quick", dir));
  auto found = ipcx::test::run(
      fmt::format("IPCX_BENCH={} {}/ipcx bench --cases floor --sizes 64 --iterations 20", IPCX_BENCH_PATH, dir));
  ipcx::test::run(fmt::format("rm -rf {}", dir));
  if (missing.output.find("Round trip") != std::string::npos) {
    GTEST_SKIP() << "an ipcx-bench is installed on this host; the not-found path cannot be seen";
  }
  EXPECT_EQ(missing.status, 1) << missing.output;
  EXPECT_NE(missing.output.find("ipcx-bench is not installed"), std::string::npos) << missing.output;
  EXPECT_NE(missing.output.find(dir + "/ipcx-bench"), std::string::npos) << missing.output;
  EXPECT_EQ(found.status, 0) << found.output;
  EXPECT_NE(found.output.find("\nfloor "), std::string::npos) << found.output;
}

}  // namespace
