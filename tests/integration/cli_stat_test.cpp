// SPDX-License-Identifier: MIT
// ipcx stat through the installed binary: segments and semaphores by URL (issue 5's
// posixshm:///NAME, sysvshm://KEY, sysvshm://id:N, posixsem:///NAME, sysvsem://KEY),
// queues, FIFOs and sockets, whoever made them; the table and --json; errors.
#include <sstream>

#include "cli_support.hpp"
#include "ipcx/channel.hpp"
#include "ipcx/ring.hpp"

namespace ipcx::test {
namespace {

class CliStat : public InstalledCli {};

// The value column of the table row named `key` ("size       4096 (4 KiB)" -> "4096 (4 KiB)").
std::string field(const std::string& table, const std::string& key) {
  std::istringstream in(table);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(key + " ")) {
      auto v = line.find_first_not_of(' ', key.size());
      return v == std::string::npos ? "" : line.substr(v);
    }
  }
  return {};
}

TEST_F(CliStat, SegmentsAndSemaphoresByUrlWhoeverMadeThem) {
  PlainObjects objs;
  Holder child([&] { return objs.create_and_use(); }, true);
  ASSERT_EQ(child.result(), 0);
  const std::string pid = std::to_string(child.pid());

  // System V segment by key, then by id: the same object.
  auto byKey = ipcx("stat " + sysv_url("sysvshm", objs.shm_key));
  ASSERT_EQ(byKey.status, 0) << byKey.err;
  EXPECT_EQ(field(byKey.out, "type"), "System V shared memory segment");
  EXPECT_EQ(field(byKey.out, "size"), "4096 (4 KiB)");
  EXPECT_EQ(field(byKey.out, "attached"), "1");
  EXPECT_EQ(field(byKey.out, "mode"), "0600 rw-------");
  EXPECT_TRUE(field(byKey.out, "state").starts_with("in-use: attached by 1 process")) << byKey.out;
  EXPECT_NE(byKey.out.find(pid + " creator, alive"), std::string::npos) << byKey.out;
  EXPECT_NE(byKey.out.find(pid + " attached, alive"), std::string::npos) << byKey.out;
  EXPECT_NE(field(byKey.out, "limits").find("kernel.shmmax"), std::string::npos) << byKey.out;
  const std::string id = field(byKey.out, "id");
  ASSERT_FALSE(id.empty());
  auto byId = ipcx("stat --json sysvshm://id:" + id);
  ASSERT_EQ(byId.status, 0) << byId.err;
  auto j = json_of(byId);
  EXPECT_EQ(j["key"], static_cast<std::uint32_t>(objs.shm_key));
  EXPECT_EQ(j["size"], 4096);
  EXPECT_EQ(j["attached"], 1);
  EXPECT_TRUE(j["limits"].contains("kernel.shmmax")) << j.dump();
  // Limits are numbers, not the table's text.
  EXPECT_TRUE(j["limits"]["kernel.shmmax"].is_number_unsigned()) << j.dump();
  EXPECT_TRUE(j["limits"]["kernel.shmall"].is_number_unsigned()) << j.dump();
  // A bare key or id, as ipcs prints them, names the same segment. Ids are numbered per
  // kind, so a bare id may also name a semaphore set or a queue: then it is a usage error
  // that lists each object it names.
  auto bare_key = ipcx(fmt::format("stat --json 0x{:08x}", static_cast<std::uint32_t>(objs.shm_key)));
  ASSERT_EQ(bare_key.status, 0) << bare_key.err;
  EXPECT_EQ(json_of(bare_key)["url"], sysv_url("sysvshm", objs.shm_key));
  auto bare = ipcx("stat --json " + id);
  if (bare.status == 0) {
    EXPECT_EQ(json_of(bare)["url"], sysv_url("sysvshm", objs.shm_key));
  } else {
    EXPECT_EQ(bare.status, 2) << bare.err;
    EXPECT_NE(bare.err.find("give one URL"), std::string::npos) << bare.err;
    EXPECT_NE(bare.err.find(sysv_url("sysvshm", objs.shm_key)), std::string::npos) << bare.err;
  }

  // POSIX segment.
  auto pshm = ipcx("stat posixshm://" + objs.shm_name);
  ASSERT_EQ(pshm.status, 0) << pshm.err;
  EXPECT_EQ(field(pshm.out, "size"), "8192 (8 KiB)");
  EXPECT_EQ(field(pshm.out, "path"), "/dev/shm" + objs.shm_name);
  EXPECT_NE(pshm.out.find(pid + " open (rw), alive"), std::string::npos) << pshm.out;
  EXPECT_NE(pshm.out.find(pid + " mapped, alive"), std::string::npos) << pshm.out;

  // POSIX named semaphore: its value; System V set: every value and who last changed it.
  auto psem = ipcx("stat --json posixsem://" + objs.sem_name);
  ASSERT_EQ(psem.status, 0) << psem.err;
  EXPECT_EQ(json_of(psem)["values"], nlohmann::json::array({1}));
  auto ssem = ipcx("stat " + sysv_url("sysvsem", objs.sem_key));
  ASSERT_EQ(ssem.status, 0) << ssem.err;
  EXPECT_EQ(field(ssem.out, "semaphores"), "2");
  EXPECT_EQ(field(ssem.out, "values"), "1 0");
  EXPECT_EQ(field(ssem.out, "waiters"), "0");
  EXPECT_NE(ssem.out.find(pid + " last, alive"), std::string::npos) << ssem.out;

  child.release();
  // The user gone, the same objects read as stale.
  auto after = ipcx("stat --json posixshm://" + objs.shm_name);
  ASSERT_EQ(after.status, 0) << after.err;
  EXPECT_EQ(json_of(after)["state"], "stale");
  objs.remove_all();
}

TEST_F(CliStat, QueuesFifosAndSockets) {
  PlainObjects objs;
  Holder child([&] { return objs.create_and_use(); }, true);
  ASSERT_EQ(child.result(), 0);

  auto msq = ipcx("stat --json " + sysv_url("sysvmq", objs.msg_key));
  ASSERT_EQ(msq.status, 0) << msq.err;
  auto m = json_of(msq);
  EXPECT_EQ(m["depth"], 1);
  EXPECT_EQ(m["size"], 6);
  EXPECT_TRUE(m["limits"].contains("kernel.msgmax")) << m.dump();
  EXPECT_TRUE(m["limits"]["kernel.msgmax"].is_number_unsigned()) << m.dump();
  EXPECT_EQ(m["limits"]["msg_qbytes"], m["max_message"]) << m.dump();

  if (PlainObjects::mqueue_mounted() || ::geteuid() == 0) {
    auto pmq = ipcx("stat posixmq://" + objs.mq_name);
    ASSERT_EQ(pmq.status, 0) << pmq.err;
    EXPECT_EQ(field(pmq.out, "messages"), "1 of 4");
    EXPECT_NE(pmq.out.find("mq_msgsize 64"), std::string::npos) << pmq.out;
  }

  auto sock = ipcx("stat --json " + objs.socket_url());
  ASSERT_EQ(sock.status, 0) << sock.err;
  auto s = json_of(sock);
  EXPECT_EQ(s["socket_state"], "listening");
  EXPECT_EQ(s["state"], "in-use");
  EXPECT_EQ(s["processes"][0]["pid"], child.pid());
  EXPECT_TRUE(s["details"]["inode"].is_number_unsigned()) << s.dump();
  auto abs = ipcx("stat " + objs.abstract_url());
  ASSERT_EQ(abs.status, 0) << abs.err;
  EXPECT_EQ(field(abs.out, "socket"), "seqpacket, listening");

  // A FIFO held open for reading by another process.
  std::string fifo = unique_path("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0640), 0);
  Holder reader([&] { return ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK) >= 0 ? 0 : 1; }, true);
  ASSERT_EQ(reader.result(), 0);
  auto f = ipcx("stat fifo://" + fifo);
  ASSERT_EQ(f.status, 0) << f.err;
  EXPECT_EQ(field(f.out, "type"), "FIFO (named pipe)");
  EXPECT_EQ(field(f.out, "mode"), "0640 rw-r-----");
  EXPECT_NE(f.out.find(std::to_string(reader.pid()) + " open (r), alive"), std::string::npos) << f.out;
  reader.release();
  ::unlink(fifo.c_str());

  child.release();
  // The listener gone, its socket file is stale and says so.
  auto stale = ipcx("stat " + objs.socket_url());
  ASSERT_EQ(stale.status, 0) << stale.err;
  EXPECT_EQ(field(stale.out, "socket"), "unbound");
  EXPECT_TRUE(field(stale.out, "state").starts_with("stale")) << stale.out;
  objs.remove_all();
}

TEST_F(CliStat, ErrorsSayWhatAndWhy) {
  std::string name = unique_posix_name("absent");
  auto missing = ipcx("stat posixsem://" + name);
  EXPECT_EQ(missing.status, 1);
  EXPECT_TRUE(missing.out.empty());
  EXPECT_NE(missing.err.find("posixsem://" + name), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("No such file"), std::string::npos) << missing.err;

  auto key = ipcx(fmt::format("stat sysvsem://0x{:08x}", static_cast<std::uint32_t>(unique_key())));
  EXPECT_EQ(key.status, 1);
  EXPECT_NE(key.err.find("no System V semaphore set with key"), std::string::npos) << key.err;

  auto priv = ipcx("stat sysvshm://private");
  EXPECT_EQ(priv.status, 2);
  EXPECT_NE(priv.err.find("id:N"), std::string::npos) << priv.err;

  auto tcp = ipcx("stat tcp://127.0.0.1:80");
  EXPECT_EQ(tcp.status, 1);
  EXPECT_NE(tcp.err.find("ss -tlnp"), std::string::npos) << tcp.err;

  auto bad = ipcx("stat posixshm://no-slash");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("posixshm://no-slash"), std::string::npos) << bad.err;

  auto none = ipcx("stat");
  EXPECT_EQ(none.status, 2);
  EXPECT_NE(none.err.find("TARGET"), std::string::npos) << none.err;
}

// A ring's details in --json: counts and sizes are numbers (the unit in the key), facts in
// words are text; the table keeps its text.
TEST_F(CliStat, RingDetailsAreNumbersInJson) {
  const std::string name = unique_name("statring");
  auto rx = Channel::bind("shm://" + name + "?pattern=mpsc&capacity=4k&slots=3");
  ASSERT_TRUE(rx) << rx.error().message();
  auto tx = Channel::open("shm://" + name);
  ASSERT_TRUE(tx) << tx.error().message();
  ASSERT_TRUE(tx->send(as_bytes("hello"), Deadline::never()));

  auto r = ipcx("stat --json shm://" + name);
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = json_of(r);
  const auto& d = j["details"];
  EXPECT_EQ(d["pattern"], "mpsc") << j.dump();
  EXPECT_EQ(d["slots"], 3) << j.dump();
  EXPECT_EQ(d["sides_attached"], 2) << j.dump();
  ASSERT_TRUE(d["queued_bytes"].is_number_unsigned()) << j.dump();
  EXPECT_GE(d["queued_bytes"].get<std::uint64_t>(), 5u) << j.dump();
  EXPECT_TRUE(j["limits"]["/dev/shm size_bytes"].is_number_unsigned()) << j.dump();
  EXPECT_TRUE(j["limits"]["/dev/shm free_bytes"].is_number_unsigned()) << j.dump();

  auto t = ipcx("stat shm://" + name);
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_EQ(field(t.out, "slots"), "3") << t.out;
  // A ring stays for the next consumer once its sides are gone; take the name away.
  *tx = Channel();
  *rx = Channel();
  EXPECT_TRUE(remove_ring(name)) << "the ring was there to remove";
}

}  // namespace
}  // namespace ipcx::test
