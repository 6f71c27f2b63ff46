// SPDX-License-Identifier: MIT
// ipcx rm through the installed binary: --stale removes only the objects of dead
// processes; objects in use are refused unless --force; by URL, key, id and ipcrm options;
// the question on a terminal; exit codes and errors.
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>

#include <set>
#include <sstream>

#include "cli_support.hpp"
#include "ipcx/channel.hpp"
#include "ipcx/ring.hpp"

namespace ipcx::test {
namespace {

class CliRm : public InstalledCli {};

std::string matches() { return fmt::format("--match {} --match {}", sh_quote(sysv_glob()), sh_quote(name_glob())); }

std::set<std::string> listed(const std::string& extra = {}) {
  auto r = InstalledCli::ipcx(fmt::format("ls -q {} {}", matches(), extra));
  EXPECT_EQ(r.status, 0) << r.err;
  std::set<std::string> out;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) out.insert(l);
  return out;
}

TEST_F(CliRm, StaleRemovesOnlyTheObjectsOfDeadProcesses) {
  PlainObjects dead_objs, live_objs;
  Holder dead([&] { return dead_objs.create_and_use(); }, /*stay=*/false);  // made them, then exited
  ASSERT_EQ(dead.result(), 0);
  Holder live([&] { return live_objs.create_and_use(); }, /*stay=*/true);
  ASSERT_EQ(live.result(), 0);

  auto r = ipcx(fmt::format("rm --stale --yes {}", matches()));
  ASSERT_EQ(r.status, 0) << r.err;
  auto now = listed();
  for (const auto& url : dead_objs.no_unread_urls()) {
    EXPECT_FALSE(now.contains(url)) << url << " of the dead child is still there";
    EXPECT_NE(r.out.find("removed " + url + "\n"), std::string::npos) << r.out;
  }
  // A queue holding a message nobody read is kept for a reader, whoever made it.
  for (const auto& url : dead_objs.unread_urls()) EXPECT_TRUE(now.contains(url)) << url << " held unread data";
  for (const auto& url : live_objs.object_urls()) EXPECT_TRUE(now.contains(url)) << url << " of the live child was removed";
  EXPECT_TRUE(now.contains(live_objs.socket_url()));

  // Once the second child exits, its objects are stale in turn.
  live.release();
  auto again = ipcx(fmt::format("rm --stale -y {}", matches()));
  ASSERT_EQ(again.status, 0) << again.err;
  auto left = listed();
  for (const auto& url : live_objs.no_unread_urls()) EXPECT_FALSE(left.contains(url)) << url;
  for (const auto& url : live_objs.unread_urls()) EXPECT_TRUE(left.contains(url)) << url << " held unread data";
  // Nothing stale is left: a third run says so and succeeds.
  auto none = ipcx(fmt::format("rm --stale -y {}", matches()));
  EXPECT_EQ(none.status, 0);
  EXPECT_NE(none.err.find("no stale objects"), std::string::npos) << none.err;
  dead_objs.remove_all();
  live_objs.remove_all();
}

TEST_F(CliRm, DryRunRemovesNothing) {
  PlainObjects objs;
  Holder dead([&] { return objs.create_and_use(); }, false);
  ASSERT_EQ(dead.result(), 0);
  auto r = ipcx(fmt::format("rm --stale --dry-run {}", matches()));
  ASSERT_EQ(r.status, 0) << r.err;
  auto now = listed();
  for (const auto& url : objs.no_unread_urls()) EXPECT_NE(r.out.find("would remove " + url), std::string::npos) << r.out;
  for (const auto& url : objs.unread_urls()) EXPECT_EQ(r.out.find("would remove " + url), std::string::npos) << r.out;
  for (const auto& url : objs.object_urls()) EXPECT_TRUE(now.contains(url)) << url;
  objs.remove_all();
}

// Runs `args` on a pseudo-terminal, answers the question with `answer`, returns the exit
// status and everything the terminal showed.
std::pair<int, std::string> on_terminal(const std::string& args, const std::string& answer) {
  int master = -1;
  std::string bin = InstalledCli::bin();
  std::string command = fmt::format("exec {} {}", sh_quote(bin), args);
  pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::string seen;
  bool answered = false;
  for (;;) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) break;
    char buf[512];
    ssize_t n = ::read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO once the child is gone
    seen.append(buf, static_cast<std::size_t>(n));
    if (!answered && seen.find("[y/N]") != std::string::npos) {
      std::string a = answer + "\n";
      if (::write(master, a.data(), a.size()) != static_cast<ssize_t>(a.size())) break;
      answered = true;
    }
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  ::close(master);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, seen};
}

TEST_F(CliRm, StaleAsksOnATerminal) {
  PlainObjects objs;
  Holder dead([&] { return objs.create_and_use(); }, false);
  ASSERT_EQ(dead.result(), 0);

  auto [no_status, no_seen] = on_terminal(fmt::format("rm --stale {}", matches()), "n");
  EXPECT_EQ(no_status, 1) << no_seen;
  EXPECT_NE(no_seen.find("posixshm://" + objs.shm_name), std::string::npos) << "lists what it would remove: " << no_seen;
  auto still = listed();
  for (const auto& url : objs.object_urls()) EXPECT_TRUE(still.contains(url)) << url << " removed after 'n'";

  auto [yes_status, yes_seen] = on_terminal(fmt::format("rm --stale {}", matches()), "y");
  EXPECT_EQ(yes_status, 0) << yes_seen;
  auto left = listed();
  for (const auto& url : objs.no_unread_urls()) EXPECT_FALSE(left.contains(url)) << url << " kept after 'y'";
  for (const auto& url : objs.unread_urls()) EXPECT_TRUE(left.contains(url)) << url << " held unread data";
  objs.remove_all();
}

TEST_F(CliRm, InUseIsRefusedUnlessForce) {
  PlainObjects objs;
  Holder live([&] { return objs.create_and_use(); }, true);
  ASSERT_EQ(live.result(), 0);
  const std::string shm = "posixshm://" + objs.shm_name;
  const std::string seg = sysv_url("sysvshm", objs.shm_key);

  auto r = ipcx(fmt::format("rm {} {}", shm, seg));
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find(shm + ": in use"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(std::to_string(live.pid())), std::string::npos) << "names the user: " << r.err;
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_TRUE(listed().contains(shm));
  EXPECT_TRUE(listed().contains(seg));

  auto f = ipcx(fmt::format("rm --force -v {} {}", shm, seg));
  EXPECT_EQ(f.status, 0) << f.err;
  EXPECT_NE(f.out.find("removed " + shm), std::string::npos) << f.out;
  auto now = listed();
  EXPECT_FALSE(now.contains(shm));
  // A segment still attached is only marked: its key is gone at once (it becomes
  // IPC_PRIVATE) and it is destroyed at the last detach.
  EXPECT_FALSE(now.contains(seg));
  live.release();
  objs.remove_all();
}

TEST_F(CliRm, ByKeyIdAndIpcrmOptions) {
  PlainObjects objs;
  Holder dead([&] { return objs.create_and_use(); }, false);
  ASSERT_EQ(dead.result(), 0);
  int shmid = ::shmget(objs.shm_key, 0, 0);
  int semid = ::semget(objs.sem_key, 0, 0);
  ASSERT_GE(shmid, 0);
  ASSERT_GE(semid, 0);

  // A key as ipcs prints it.
  auto k = ipcx(fmt::format("rm 0x{:08x}", static_cast<std::uint32_t>(objs.msg_key)));
  EXPECT_EQ(k.status, 0) << k.err;
  EXPECT_EQ(::msgget(objs.msg_key, 0), -1);
  // ipcrm -m ID; a URL by id.
  auto m = ipcx(fmt::format("rm -m {} sysvsem://id:{}", shmid, semid));
  EXPECT_EQ(m.status, 0) << m.err;
  EXPECT_EQ(::shmget(objs.shm_key, 0, 0), -1);
  EXPECT_EQ(::semget(objs.sem_key, 0, 0), -1);
  // POSIX by URL.
  auto p = ipcx(fmt::format("rm posixsem://{} posixshm://{}", objs.sem_name, objs.shm_name));
  EXPECT_EQ(p.status, 0) << p.err;
  EXPECT_NE(::access(("/dev/shm/sem." + objs.sem_name.substr(1)).c_str(), F_OK), 0);
  EXPECT_NE(::access(("/dev/shm" + objs.shm_name).c_str(), F_OK), 0);
  // The socket file its listener left: stale, removed by path.
  auto sock = ipcx("rm " + objs.sock_path);
  EXPECT_EQ(sock.status, 0) << sock.err;
  EXPECT_NE(::access(objs.sock_path.c_str(), F_OK), 0);
  objs.remove_all();
}

TEST_F(CliRm, RingsByLivenessLock) {
  // A producer attaches and leaves a message for a consumer that never came.
  const std::string name = unique_name("ring");
  const std::string url = "shm://" + name;
  Holder producer(
      [&] {
        auto tx = RingProducer::open(name);
        if (!tx) return 1;
        static std::optional<RingProducer> keep;  // attached until the child exits
        keep.emplace(std::move(*tx));
        return keep->send(as_bytes("left for later")) ? 0 : 2;
      },
      true);
  ASSERT_EQ(producer.result(), 0);

  auto ls = ipcx("ls --json --type shm");
  ASSERT_EQ(ls.status, 0) << ls.err;
  auto o = find_url(json_of(ls), url);
  ASSERT_FALSE(o.is_null()) << ls.out;
  EXPECT_EQ(o["state"], "in-use");
  EXPECT_EQ(o["depth"], 1);
  EXPECT_EQ(o["details"]["pattern"], "spsc");
  EXPECT_EQ(o["details"]["consumer"], "never attached");
  EXPECT_EQ(o["details"]["producers"], "1 attached of 1");
  auto refused = ipcx("rm " + url);
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.err.find("in use"), std::string::npos) << refused.err;

  producer.release();
  // The child _exits holding its handle: its slot is still marked used, but the kernel
  // dropped its lock. The ring outlives it: a message waits for the next consumer, so it is
  // not stale, and rm --stale keeps it.
  auto st = ipcx("stat --json " + url);
  ASSERT_EQ(st.status, 0) << st.err;
  auto j = json_of(st);
  EXPECT_EQ(j["state"], "unknown");
  EXPECT_NE(j["state_reason"].get<std::string>().find("1 unread message"), std::string::npos) << st.out;
  EXPECT_EQ(j["details"]["producers"], "0 attached of 1, 1 died attached");
  auto kept = ipcx(fmt::format("rm --stale --yes --type shm --match {}", sh_quote(name_glob())));
  EXPECT_EQ(kept.status, 0) << kept.err;
  EXPECT_EQ(kept.out.find("removed " + url), std::string::npos) << kept.out;
  EXPECT_EQ(::access(ring_path(name).c_str(), F_OK), 0);
  // Named, it goes.
  auto rm = ipcx("rm -v " + url);
  EXPECT_EQ(rm.status, 0) << rm.err;
  EXPECT_NE(rm.out.find("removed " + url), std::string::npos) << rm.out;
  EXPECT_NE(::access(ring_path(name).c_str(), F_OK), 0);
  (void)remove_ring(name);
}

TEST_F(CliRm, FifoByUrl) {
  std::string path = unique_path("fifo");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  auto r = ipcx("rm -v fifo://" + path);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "removed fifo://" + path + "\n");
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
  ::unlink(path.c_str());
}

TEST_F(CliRm, ErrorsAndExitCodes) {
  auto none = ipcx("rm");
  EXPECT_EQ(none.status, 2);
  EXPECT_NE(none.err.find("nothing to remove"), std::string::npos) << none.err;
  auto both = ipcx("rm --stale posixshm:///x");
  EXPECT_EQ(both.status, 2) << both.err;
  auto bad = ipcx("rm nope://x");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("unknown scheme 'nope'"), std::string::npos) << bad.err;
  // Not there: a runtime error that says what was looked for.
  std::string name = unique_posix_name("missing");
  auto missing = ipcx("rm posixshm://" + name);
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find(name), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("No such file"), std::string::npos) << missing.err;
  auto key = ipcx(fmt::format("rm 0x{:08x}", static_cast<std::uint32_t>(unique_key())));
  EXPECT_EQ(key.status, 1);
  EXPECT_NE(key.err.find("no System V"), std::string::npos) << key.err;
  // A typo among good targets removes nothing.
  std::string fifo = unique_path("keep");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto mixed = ipcx("rm fifo://" + fifo + " bad://x");
  EXPECT_EQ(mixed.status, 2);
  EXPECT_EQ(::access(fifo.c_str(), F_OK), 0);
  ::unlink(fifo.c_str());
}

}  // namespace
}  // namespace ipcx::test
