// SPDX-License-Identifier: MIT
// Regression tests for the defects found by probing ipcx as an attacker and a clumsy user
// would (issue 13), each through the installed binary as a user meets it: rm --stale short
// of descriptors and with unread data, ls -q URLs that round-trip, names that cannot spoof
// a listing, huge or NaN timeouts, sysvmq://0, 255-byte POSIX names, a bridge from a queue
// to itself, loose modes and types, control characters, long URLs, and recv/listen
// cleaning up after SIGINT/SIGTERM.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <set>
#include <sstream>
#include <thread>

#include "cli_support.hpp"
#include "ipcx/ring.hpp"

namespace ipcx::test {
namespace {

class CliDefects : public InstalledCli {};

std::string matches() { return fmt::format("--match {} --match {}", sh_quote(sysv_glob()), sh_quote(name_glob())); }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::set<std::string> listed() {
  auto r = InstalledCli::ipcx("ls -q " + matches());
  EXPECT_EQ(r.status, 0) << r.err;
  auto l = lines_of(r.out);
  return {l.begin(), l.end()};
}

// A POSIX queue made with the plain calls, holding `messages` messages; closed again.
bool make_queue(const std::string& name, int messages) {
  mq_attr attr{};
  attr.mq_maxmsg = 4;
  attr.mq_msgsize = 64;
  mqd_t q = ::mq_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
  if (q == static_cast<mqd_t>(-1)) return false;
  for (int i = 0; i < messages; ++i) {
    if (::mq_send(q, "m", 1, 0) != 0) return false;
  }
  ::mq_close(q);
  return true;
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// Waits for a real condition (a file appearing or going), bounded; no fixed sleep orders
// anything.
bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// `prlimit --nofile=4 ipcx rm --stale --yes` removed a ring and a queue both in use: a
// failed inspection is "unknown", and unknown is never stale.
TEST_F(CliDefects, RmStaleShortOfDescriptorsRemovesNothingInUse) {
  PlainObjects objs;
  const std::string ring = unique_name("ring");
  Holder live(
      [&] {
        if (int rc = objs.create_and_use(); rc != 0) return rc;
        auto rx = RingConsumer::open(ring);
        if (!rx) return 20;
        static std::optional<RingConsumer> keep;  // attached until the child exits
        keep.emplace(std::move(*rx));
        return 0;
      },
      true);
  ASSERT_EQ(live.result(), 0);
  auto before = listed();
  std::vector<std::string> used = objs.object_urls();
  used.push_back("shm://" + ring);
  for (const auto& url : used) ASSERT_TRUE(before.contains(url)) << url;

  for (int n : {4, 5, 6, 7, 8, 10, 12, 16}) {
    auto r = shell(fmt::format("prlimit --nofile={}:{} {} rm --stale --yes {}", n, n, sh_quote(bin()), matches()));
    EXPECT_EQ(r.out.find("removed"), std::string::npos) << "nofile=" << n << ": " << r.out << r.err;
    auto now = listed();
    for (const auto& url : used) EXPECT_TRUE(now.contains(url)) << url << " in use was removed at nofile=" << n;
  }
  live.release();
  objs.remove_all();
  (void)remove_ring(ring);
}

// rm --stale offered to delete a POSIX queue holding 2 messages and a ring holding 2: what
// holds data nobody has read is never stale. Once read, the queue is stale and goes.
TEST_F(CliDefects, UnreadDataIsNeverStale) {
  const std::string mq = unique_posix_name("mq");
  ASSERT_TRUE(make_queue(mq, 2));
  const std::string ring = unique_name("ring");
  Holder producer(
      [&] {
        auto tx = RingProducer::open(ring);
        if (!tx) return 1;
        return tx->send(as_bytes("one")) && tx->send(as_bytes("two")) ? 0 : 2;
      },
      false);  // sent, detached and gone
  ASSERT_EQ(producer.result(), 0);

  for (const std::string& url : {"posixmq://" + mq, "shm://" + ring}) {
    auto st = ipcx("stat --json " + url);
    ASSERT_EQ(st.status, 0) << st.err;
    auto j = json_of(st);
    EXPECT_EQ(j["state"], "unknown") << url;
    EXPECT_NE(j["state_reason"].get<std::string>().find("2 unread messages"), std::string::npos) << st.out;
  }
  auto r = ipcx("rm --stale --yes " + matches());
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(exists("/dev/mqueue" + mq));
  EXPECT_TRUE(exists(ring_path(ring)));

  // Read both messages: the queue holds nothing, nobody has it open: stale, and removed.
  auto drained = ipcx(fmt::format("recv --count 2 --timeout 10 posixmq://{}", mq));
  ASSERT_EQ(drained.status, 0) << drained.err;
  auto again = ipcx("rm --stale --yes " + matches());
  EXPECT_EQ(again.status, 0) << again.err;
  EXPECT_NE(again.out.find("removed posixmq://" + mq), std::string::npos) << again.out;
  EXPECT_FALSE(exists("/dev/mqueue" + mq));
  ::mq_unlink(mq.c_str());
  (void)remove_ring(ring);
}

// ls -q printed names raw, parsed percent-decoded: `ipcx rm "$(ipcx ls -q …)"` on a name
// holding %41 removed the queue named …A. Whatever ls prints names the same object.
TEST_F(CliDefects, LsQuietUrlsRoundTripThroughStatAndRm) {
  const std::string base = unique_posix_name("rt");
  const std::string percent = base + "-%41", plain = base + "-A", question = base + "-q?x", space = base + "-s p";
  for (const auto& n : {percent, plain, question, space}) ASSERT_TRUE(make_queue(n, 0)) << n;
  auto q = ipcx(fmt::format("ls -q --type posixmq --match {}", sh_quote("*" + base.substr(1) + "*")));
  ASSERT_EQ(q.status, 0) << q.err;
  auto urls = lines_of(q.out);
  ASSERT_EQ(urls.size(), 4u) << q.out;
  for (const auto& url : urls) {
    auto st = ipcx("stat --json " + sh_quote(url));
    ASSERT_EQ(st.status, 0) << url << ": " << st.err;
    EXPECT_EQ(json_of(st)["url"], url);
  }
  std::string percent_url;
  for (const auto& url : urls) {
    if (url.ends_with("-%2541")) percent_url = url;
  }
  ASSERT_FALSE(percent_url.empty()) << q.out;
  auto rm = ipcx("rm " + sh_quote(percent_url));
  EXPECT_EQ(rm.status, 0) << rm.err;
  EXPECT_FALSE(exists("/dev/mqueue" + percent)) << "the queue ls named is gone";
  EXPECT_TRUE(exists("/dev/mqueue" + plain)) << "the queue named …A is untouched";
  for (const auto& n : {percent, plain, question, space}) ::mq_unlink(n.c_str());
}

// A name holding a newline added fake rows to ls, and escape sequences went raw to the
// terminal. Names are printed escaped: one row per object, no control byte.
TEST_F(CliDefects, LsPrintsNoControlBytes) {
  const std::string base = unique_posix_name("esc");
  const std::string nl = base + "-\nsysvshm:0x00000001  0  root  0600  1 B  -  -  stale";
  const std::string esc = base + "-\x1b]0;owned\x07\x1b[2J";
  ASSERT_TRUE(make_queue(nl, 0));
  ASSERT_TRUE(make_queue(esc, 0));
  auto t = ipcx(fmt::format("ls --type posixmq --match {}", sh_quote("*" + base.substr(1) + "*")));
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_EQ(lines_of(t.out).size(), 3u) << "a header and two rows: " << t.out;
  for (char c : t.out) {
    auto b = static_cast<unsigned char>(c);
    EXPECT_TRUE(c == '\n' || (b >= 0x20 && b < 0x7f)) << "raw byte " << int(b) << " in: " << t.out;
  }
  auto q = ipcx(fmt::format("ls -q --type posixmq --match {}", sh_quote("*" + base.substr(1) + "*")));
  EXPECT_EQ(lines_of(q.out).size(), 2u) << q.out;
  for (const auto& url : lines_of(q.out)) {
    auto rm = ipcx("rm " + sh_quote(url));
    EXPECT_EQ(rm.status, 0) << url << ": " << rm.err;
  }
  EXPECT_FALSE(exists("/dev/mqueue" + nl));
  EXPECT_FALSE(exists("/dev/mqueue" + esc));
  ::mq_unlink(nl.c_str());
  ::mq_unlink(esc.c_str());
}

// Timeouts of ~9.2e9 s or NaN overflowed a signed integer, then failed at once or with a
// bare "Invalid argument".
TEST_F(CliDefects, HugeTimeoutWaitsAndNanIsAUsageError) {
  const std::string mq = unique_posix_name("dl");
  ASSERT_TRUE(make_queue(mq, 1));
  for (const char* t : {"9.3e9", "1e300"}) {
    auto r = ipcx(fmt::format("recv --count 1 --timeout {} posixmq://{}", t, mq));
    EXPECT_EQ(r.status, 0) << t << ": " << r.err;
    EXPECT_EQ(r.out, "m\n") << t;
    ASSERT_EQ(::mq_unlink(mq.c_str()), 0);
    ASSERT_TRUE(make_queue(mq, 1));
  }
  for (const char* t : {"nan", "-nan", "NaN"}) {
    auto r = ipcx(fmt::format("recv --count 1 --timeout {} posixmq://{}", t, mq));
    EXPECT_EQ(r.status, 2) << t << ": " << r.err;
    auto s = ipcx(fmt::format("send --timeout {} posixmq://{} x", t, mq));
    EXPECT_EQ(s.status, 2) << t << ": " << s.err;
  }
  ::mq_unlink(mq.c_str());
}

std::size_t private_queues() {
  auto text = read_text_file("/proc/sysvipc/msg");
  std::size_t n = 0;
  for (const auto& l : lines_of(text)) {
    std::istringstream in(l);
    std::string key;
    in >> key;
    if (key == "0") ++n;
  }
  return n;
}

// sysvmq://0 made a new unreachable IPC_PRIVATE queue at every call.
TEST_F(CliDefects, SysvKeyZeroIsRefused) {
  const auto before = private_queues();
  for (const char* url : {"sysvmq://0", "sysvmq://0x0", "sysvmq://00"}) {
    auto r = ipcx(fmt::format("send {} x", url));
    EXPECT_EQ(r.status, 2) << url << ": " << r.err;  // a bad URL is a usage error (exit 2) in every subcommand
    EXPECT_NE(r.err.find("IPC_PRIVATE"), std::string::npos) << r.err;
  }
  EXPECT_EQ(private_queues(), before) << "no queue was made";
}

// A 255-byte POSIX queue name was refused as "at most 254" (the kernel takes 255), and such
// a queue showed as stale but rm --stale --yes silently skipped it.
TEST_F(CliDefects, PosixQueueNameOf255Bytes) {
  std::string name = unique_posix_name("n255");
  name += std::string(256 - name.size(), 'x');
  ASSERT_EQ(name.size(), 256u);  // '/' and 255 bytes
  auto s = ipcx(fmt::format("send posixmq://{} hello", name));
  ASSERT_EQ(s.status, 0) << s.err;
  auto st = ipcx(fmt::format("stat --json posixmq://{}", name));
  ASSERT_EQ(st.status, 0) << st.err;
  EXPECT_EQ(json_of(st)["depth"], 1);
  auto r = ipcx(fmt::format("recv --count 1 --timeout 10 posixmq://{}", name));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "hello\n");
  auto rm = ipcx("rm --stale --yes " + matches());
  EXPECT_EQ(rm.status, 0) << rm.err;
  EXPECT_NE(rm.out.find("removed posixmq://" + name), std::string::npos) << rm.out << rm.err;
  EXPECT_FALSE(exists("/dev/mqueue" + name));
  auto too_long = ipcx(fmt::format("send posixmq://{}y x", name));
  EXPECT_EQ(too_long.status, 2) << too_long.err;  // a bad URL: exit 2
  EXPECT_NE(too_long.err.find("at most 255"), std::string::npos) << too_long.err;
  ::mq_unlink(name.c_str());
}

// A bridge from a queue to itself spun at 100% CPU and swallowed the first SIGTERM.
TEST_F(CliDefects, BridgeFromAQueueToItselfIsAUsageError) {
  const std::string mq = unique_posix_name("self");
  for (const auto& args : {fmt::format("-u posixmq://{0} posixmq://{0}", mq), fmt::format("-U posixmq://{0} posixmq://{0}", mq),
                           fmt::format("-u sysvmq://{0} sysvmq://{0}", unique_key())}) {
    auto r = ipcx("bridge " + args, {}, std::chrono::seconds(10));
    EXPECT_EQ(r.status, 2) << args << ": " << r.err;
    EXPECT_NE(r.err.find("same channel"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(exists("/dev/mqueue" + mq));
}

// mode=7777 on shm:// made a setuid/setgid/sticky file; mode=1777 on posixmq:// was
// accepted. Only permission bits belong there.
TEST_F(CliDefects, ModeBeyondPermissionBitsIsRefused) {
  const std::string ring = unique_name("mode");
  const std::string mq = unique_posix_name("mode");
  for (const auto& url : {fmt::format("shm://{}?mode=7777", ring), fmt::format("posixmq://{}?mode=1777", mq),
                          fmt::format("posixmq://{}?mode=4600", mq), fmt::format("fifo://{}?mode=2600", unique_path("m"))}) {
    auto r = ipcx(fmt::format("send {} x", sh_quote(url)), {}, std::chrono::seconds(10));
    EXPECT_EQ(r.status, 2) << url << ": " << r.err;
    EXPECT_NE(r.err.find("beyond 0777"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(exists(ring_path(ring)));
  EXPECT_FALSE(exists("/dev/mqueue" + mq));
}

// --type beyond long was clamped silently.
TEST_F(CliDefects, TypeBeyondLongIsAUsageError) {
  const std::string url = sysv_url("sysvmq", unique_key());
  for (const char* t : {"9223372036854775808", "99999999999999999999", "-9223372036854775809"}) {
    auto s = ipcx(fmt::format("send --type {} {} x", t, url));
    EXPECT_EQ(s.status, 2) << t << ": " << s.err;
    auto r = ipcx(fmt::format("recv --type {} --timeout 0 {}", t, url));
    EXPECT_EQ(r.status, 2) << t << ": " << r.err;
  }
  auto id = ::msgget(static_cast<key_t>(std::stoul(url.substr(9), nullptr, 16)), 0);
  EXPECT_LT(id, 0) << "no queue was made";
}

// Control characters were accepted in the names of new objects.
TEST_F(CliDefects, ControlCharactersInNewNamesAreRefused) {
  const std::string mq = unique_posix_name("cc");
  const std::string path = unique_path("cc");
  for (const auto& cmd : {fmt::format("send --timeout 1 {} x", sh_quote(fmt::format("posixmq://{}%0Afake", mq))),
                          fmt::format("send --timeout 1 {} x", sh_quote(fmt::format("posixmq://{}%1B[2J", mq))),
                          fmt::format("send --timeout 1 {} x", sh_quote(fmt::format("fifo://{}%0A", path))),
                          fmt::format("listen --timeout 1 {}", sh_quote(fmt::format("unix://{}%07", path))),
                          fmt::format("listen --timeout 1 {}", sh_quote(fmt::format("unix:@{}%0A", mq.substr(1))))}) {
    const std::string& url = cmd;
    auto r = ipcx(cmd, {}, std::chrono::seconds(10));
    EXPECT_NE(r.status, 0) << url;
    EXPECT_NE(r.err.find("control character"), std::string::npos) << url << ": " << r.err;
    EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << "the error itself shows no raw escape";
  }
  auto left = run(fmt::format("ls /dev/mqueue | grep -c {} ; ls {} | grep -c {}", sh_quote(mq.substr(1)),
                              sh_quote(path.substr(0, path.rfind('/'))), sh_quote(path.substr(path.rfind('/') + 1))));
  EXPECT_NE(left.output.find("0\n0"), std::string::npos) << "nothing was made: " << left.output;
}

// An error repeated the whole URL: a 130 KB URL gave 260 KB of stderr.
TEST_F(CliDefects, LongUrlsAreShortenedInErrors) {
  std::string url = "shm://" + std::string(130'000, 'a') + "?x=1";
  auto r = ipcx("send " + sh_quote(url) + " x");
  EXPECT_EQ(r.status, 2);  // a bad URL: exit 2
  EXPECT_LT(r.err.size(), 1000u) << r.err.size();
  EXPECT_NE(r.err.find("at most 200"), std::string::npos) << r.err.substr(0, 500);
  EXPECT_NE(r.err.find("130010 bytes"), std::string::npos) << r.err.substr(0, 500);
}

// recv and listen ignored SIGINT/SIGTERM's cleanup: unlink=1/remove=1 were not honoured and
// the listener's socket file stayed. Now each ends through its destructors.
struct StopCase {
  std::string args;
  std::string leftover;  // the path that must be gone after the signal
  int signal;
};

TEST_F(CliDefects, RecvAndListenCleanUpOnSigintAndSigterm) {
  std::vector<StopCase> cases;
  for (int sig : {SIGINT, SIGTERM}) {
    std::string mq = unique_posix_name("stop");
    cases.push_back({fmt::format("recv posixmq://{}?unlink=1", mq), "/dev/mqueue" + mq, sig});
    std::string fifo = unique_path("stopfifo");
    cases.push_back({fmt::format("recv fifo://{}?remove=1", fifo), fifo, sig});
    std::string sock = unique_path("stopsock");
    cases.push_back({fmt::format("listen unix://{}", sock), sock, sig});
  }
  for (const auto& c : cases) {
    std::vector<std::string> argv{bin()};
    std::istringstream in(c.args);
    for (std::string w; in >> w;) argv.push_back(w);
    auto child = Child::exec(argv);
    ASSERT_TRUE(wait_for([&] { return exists(c.leftover); })) << c.args << " never made " << c.leftover;
    // And it catches the signal (SigCgt in /proc/PID/status): the signal is not sent into
    // the moment before the command installed its handler.
    const std::uint64_t bit = std::uint64_t{1} << (c.signal - 1);
    ASSERT_TRUE(wait_for([&] {
      std::istringstream st(read_text_file(fmt::format("/proc/{}/status", child.pid())));
      for (std::string l; std::getline(st, l);) {
        if (l.starts_with("SigCgt:")) return (std::stoull(l.substr(7), nullptr, 16) & bit) != 0;
      }
      return false;
    })) << c.args << " never caught signal " << c.signal;
    child.kill(c.signal);
    int status = child.wait(std::chrono::seconds(10));
    EXPECT_NE(status, -1) << c.args << " did not stop";
    EXPECT_NE(status, 128 + c.signal) << c.args << " died of the signal instead of cleaning up";
    EXPECT_FALSE(exists(c.leftover)) << c.args << " left " << c.leftover << "; " << child.output();
    ::unlink(c.leftover.c_str());
    if (c.leftover.starts_with("/dev/mqueue")) ::mq_unlink(c.leftover.substr(11).c_str());
  }
}

}  // namespace
}  // namespace ipcx::test
