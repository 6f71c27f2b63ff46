// SPDX-License-Identifier: MIT
// Injected faults (inject.hpp): each system call that can fail for want of a resource is
// made to fail, at every point of an operation in turn, and the operation must answer with
// an error that names the call and the cause (the limit, where one is the cause) and leave
// nothing behind: no descriptor, no mapping, no name. A small tmpfs mounted over /dev/shm in
// a private mount namespace is the real "full /dev/shm".
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "faults/inject.hpp"
#include "ipcx/channel.hpp"
#include "ipcx/ipcx.h"
#include "ipcx/pipe.hpp"
#include "ipcx/posix_mq.hpp"
#include "ipcx/ring.hpp"
#include "ipcx/shm.hpp"
#include "support/test_support.hpp"

using namespace std::chrono_literals;
using ipcx::test::Child;
using ipcx::test::fault::Call;
using ::testing::HasSubstr;
namespace fault = ipcx::test::fault;

namespace {

// Open descriptors of this process.
int open_fds() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return -1;
  while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  return n - 1;  // the directory's own
}

// Mappings of this process (lines of /proc/self/maps).
int mappings() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  int n = 0;
  while (std::getline(maps, line)) ++n;
  return n;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Fails the 1st, then the 2nd, ... call of `call` that `op` makes, until `op` gets through
// without reaching the fault. `op` returns the error's text ("" for success); each failure
// must name `name` and the errno's text, and leave the descriptors and mappings as they
// were. Returns how many failing points were tried.
int sweep(Call call, int err, const char* name, const std::function<std::string()>& op,
          const std::function<void()>& after_each = [] {}) {
  for (int n = 0; n < 64; ++n) {
    const int fds = open_fds();
    const int maps = mappings();
    fault::arm(call, err, n);
    const std::string msg = op();
    const long failed = fault::disarm(call);
    after_each();
    if (failed == 0) {
      EXPECT_EQ(msg, "") << "the op failed without reaching the fault";
      return n;
    }
    EXPECT_NE(msg, "") << name << " failure " << n << " was swallowed";
    if (!msg.empty()) {
      EXPECT_THAT(msg, HasSubstr(name)) << "failure " << n;
      EXPECT_THAT(msg, HasSubstr(std::strerror(err))) << "failure " << n;
    }
    EXPECT_EQ(open_fds(), fds) << name << " failure " << n << " leaked a descriptor: " << msg;
    EXPECT_EQ(mappings(), maps) << name << " failure " << n << " leaked a mapping: " << msg;
  }
  ADD_FAILURE() << "more than 64 calls of " << name;
  return 64;
}

template <class T>
std::string text_of(const ipcx::Result<T>& r) {
  return r ? std::string() : r.error().message();
}

}  // namespace

// A ring is made whole or not at all: mmap and fallocate failing at each point of the first
// open (which creates the file) leave no file in /dev/shm and no descriptor or mapping.
TEST(Faults, RingCreationFailsCleanlyAtEveryPoint) {
  for (auto [call, err, name] : {std::tuple{Call::fallocate, ENOSPC, "fallocate"},
                                 std::tuple{Call::mmap, ENOMEM, "mmap"}}) {
    const std::string ring = ipcx::test::unique_name("faultring");
    ipcx::RingOptions o;
    o.capacity = 64 * 1024;
    int points = sweep(call, err, name, [&] {
      auto r = ipcx::RingProducer::open(ring, o);
      std::string msg = text_of(r);
      if (r) {
        r = ipcx::RingProducer();
        (void)ipcx::remove_ring(ring);
      }
      return msg;
    }, [&] {
      EXPECT_FALSE(exists(ipcx::ring_path(ring))) << name << " left the ring's file";
    });
    RecordProperty(fmt::format("ring_{}_points", name), points);
  }
}

// A full /dev/shm when a ring's file is reserved: the error says how much was asked, how
// much is free and how to raise it.
TEST(Faults, RingOnAFullDevShmNamesTheSpace) {
  const std::string ring = ipcx::test::unique_name("fullring");
  fault::arm(Call::fallocate, ENOSPC);
  auto r = ipcx::Channel::open(fmt::format("shm://{}?capacity=65536", ring));
  EXPECT_EQ(fault::disarm(Call::fallocate), 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ENOSPC);
  EXPECT_THAT(r.error().message(), HasSubstr("bytes asked"));
  EXPECT_THAT(r.error().message(), HasSubstr("/dev/shm"));
  EXPECT_FALSE(exists(ipcx::ring_path(ring)));
}

// POSIX shared memory: a failed create unlinks the name it made.
TEST(Faults, PosixShmCreationFailsCleanly) {
  for (auto [call, err, name] : {std::tuple{Call::fallocate, ENOSPC, "fallocate"},
                                 std::tuple{Call::ftruncate, EFBIG, "ftruncate"}}) {
    const std::string shm = ipcx::test::unique_posix_name("faultshm");
    sweep(call, err, name, [&] {
      auto s = ipcx::PosixShm::create(shm, 1 << 20);
      return text_of(s);
    }, [&] {
      EXPECT_FALSE(exists("/dev/shm" + shm)) << name << " left the segment";
      (void)::shm_unlink(shm.c_str());
    });
  }
}

// posixmq://: each way mq_open runs out names the limit that ran out.
TEST(Faults, PosixMqOpenNamesTheLimit) {
  for (auto [err, limit] : {std::pair{EMFILE, "RLIMIT_MSGQUEUE"}, std::pair{ENOSPC, "fs.mqueue.queues_max"},
                            std::pair{ENFILE, "fs.file-max"}, std::pair{ENOMEM, "Cannot allocate memory"}}) {
    const std::string q = ipcx::test::unique_posix_name("faultmq");
    const int fds = open_fds();
    fault::arm(Call::mq_open, err);
    auto ch = ipcx::Channel::open(fmt::format("posixmq://{}?maxmsg=8&msgsize=256", q));
    EXPECT_EQ(fault::disarm(Call::mq_open), 1);
    ASSERT_FALSE(ch);
    EXPECT_EQ(ch.error().code(), err);
    EXPECT_THAT(ch.error().message(), HasSubstr("mq_open"));
    EXPECT_THAT(ch.error().message(), HasSubstr(limit)) << ch.error().message();
    EXPECT_EQ(open_fds(), fds);
    EXPECT_FALSE(exists("/dev/mqueue" + q));
  }
}

// The real RLIMIT_MSGQUEUE (root is held to it too): a child lowers it below one queue's
// size and asks for the queue.
TEST(Faults, PosixMqBeyondRlimitMsgqueue) {
  const std::string q = ipcx::test::unique_posix_name("rlimq");
  auto child = Child::spawn([&]() -> int {
    rlimit rl{1024, 1024};
    if (::setrlimit(RLIMIT_MSGQUEUE, &rl) != 0) return 10;
    auto ch = ipcx::Channel::open(fmt::format("posixmq://{}?maxmsg=8&msgsize=4096", q));
    if (ch) return 11;
    if (ch.error().code() != EMFILE) return 12;
    if (ch.error().message().find("RLIMIT_MSGQUEUE") == std::string::npos) return 13;
    return exists("/dev/mqueue" + q) ? 14 : 0;
  });
  EXPECT_EQ(child.wait(), 0);
}

// A write that fails (ENOSPC, EIO) on a pipe or a stream socket is an error naming the call;
// the stream stays whole: the next message arrives intact, as the only one.
TEST(Faults, StreamWriteErrorsAreReportedAndTheStreamStaysWhole) {
  struct Case {
    const char* what;
    Call call;
    const char* name;
  };
  for (auto c : {Case{"pipe", Call::writev, "writev"}, Case{"socketpair", Call::sendmsg, "sendmsg"}}) {
    for (int err : {ENOSPC, EIO}) {
      ipcx::Channel tx, rx;
      if (std::string(c.what) == "pipe") {
        auto p = ipcx::make_pipe();
        ASSERT_TRUE(p) << p.error().message();
        tx = std::move(p->writer);
        rx = std::move(p->reader);
      } else {
        auto p = ipcx::make_socket_pair(ipcx::SocketType::stream);
        ASSERT_TRUE(p) << p.error().message();
        tx = std::move(p->first);
        rx = std::move(p->second);
      }
      const std::string lost = "lost", kept = "kept";
      fault::arm(c.call, err);
      auto s = tx.send(std::as_bytes(std::span(lost)));
      EXPECT_EQ(fault::disarm(c.call), 1) << c.what;
      ASSERT_FALSE(s) << c.what;
      EXPECT_EQ(s.error().code(), err);
      EXPECT_THAT(s.error().message(), HasSubstr(c.name));
      EXPECT_THAT(s.error().message(), HasSubstr(std::strerror(err)));
      ASSERT_TRUE(tx.send(std::as_bytes(std::span(kept))));
      auto m = rx.receive_message(ipcx::Deadline::after(5s));
      ASSERT_TRUE(m) << m.error().message();
      EXPECT_EQ(std::string(reinterpret_cast<const char*>(m->data.data()), m->data.size()), kept) << c.what;
    }
  }
}

// accept4 out of descriptors: the error names the limit; the listener goes on and the
// waiting client is accepted next time.
TEST(Faults, AcceptOutOfDescriptorsNamesTheLimit) {
  const std::string path = ipcx::test::unique_path("accept.sock");
  auto l = ipcx::Listener::listen("unix://" + path);
  ASSERT_TRUE(l) << l.error().message();
  auto client = ipcx::Channel::open("unix://" + path);
  ASSERT_TRUE(client) << client.error().message();
  const int fds = open_fds();
  fault::arm(Call::accept4, EMFILE);
  auto c = l->accept(ipcx::Deadline::after(5s));
  EXPECT_EQ(fault::disarm(Call::accept4), 1);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), EMFILE);
  EXPECT_THAT(c.error().message(), HasSubstr("accept"));
  EXPECT_THAT(c.error().message(), HasSubstr("RLIMIT_NOFILE")) << c.error().message();
  EXPECT_EQ(open_fds(), fds);
  auto again = l->accept(ipcx::Deadline::after(5s));
  ASSERT_TRUE(again) << again.error().message();
  const std::string hi = "hi";
  ASSERT_TRUE(client->send(std::as_bytes(std::span(hi))));
  auto m = again->receive_message(ipcx::Deadline::after(5s));
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->data.size(), 2u);
}

// The C API out of memory: every allocation inside an open, a send and a receive fails in
// turn; each call returns NULL or -1 with IPCX_SYSTEM/ENOMEM (no C++ exception escapes, no
// abort) and leaves nothing behind.
TEST(Faults, CApiOutOfMemoryAtEveryAllocation) {
  const std::string ring = ipcx::test::unique_name("capiring");
  const std::string q = ipcx::test::unique_posix_name("capimq");
  const std::string fifo = ipcx::test::unique_path("capi.fifo");
  for (const std::string& url : {fmt::format("shm://{}?capacity=4096", ring),
                                fmt::format("posixmq://{}?maxmsg=4&msgsize=64&unlink=1", q),
                                fmt::format("fifo://{}?remove=1", fifo)}) {
    // The receiving side first (a FIFO's writer needs a reader), made without faults.
    ipcx_error err;
    ipcx_channel* rx = ipcx_bind(url.c_str(), &err);
    ASSERT_NE(rx, nullptr) << err.message;
    // One receive first: a side may open what it keeps at its first receive (a FIFO's
    // reader), which is not a leak of the calls below.
    char first[64];
    (void)ipcx_receive(rx, first, sizeof first, 0, &err);
    int points = 0;
    for (int n = 0; n < 200; ++n, ++points) {
      const int fds = open_fds();
      fault::arm(Call::malloc, ENOMEM, n);
      ipcx_channel* tx = ipcx_open(url.c_str(), &err);
      int sent = tx ? ipcx_send(tx, "abc", 3, 1000, &err) : -1;
      const long failed = fault::disarm(Call::malloc);
      if (!tx || sent != 0) {
        EXPECT_EQ(err.kind, IPCX_SYSTEM) << url << " at " << n << ": " << err.message;
        EXPECT_EQ(err.code, ENOMEM) << url << " at " << n << ": " << err.message;
        EXPECT_GT(failed, 0);
      }
      if (tx) ipcx_close(tx);
      // Whatever was sent is taken out, so the next round starts empty.
      char buf[64];
      while (ipcx_receive(rx, buf, sizeof buf, 0, &err) >= 0) {
      }
      EXPECT_EQ(open_fds(), fds) << url << " at " << n;
      if (failed == 0) break;
    }
    RecordProperty(fmt::format("capi_malloc_points_{}", url.substr(0, url.find(':'))), points);
    ipcx_close(rx);
  }
  (void)ipcx::remove_ring(ring);
  EXPECT_FALSE(exists(ipcx::ring_path(ring)));
  EXPECT_FALSE(exists("/dev/mqueue" + q));
}

// The real thing: /dev/shm is a 1 MiB tmpfs (a private mount namespace, in a child). A ring
// or a segment that does not fit fails at creation with ENOSPC and the sizes; rings that fit
// fill the space and then the next one fails the same way; nothing ever dies of SIGBUS.
TEST(Faults, SmallDevShmFailsAtCreationNeverLater) {
  auto child = Child::spawn([&]() -> int {
    if (::unshare(CLONE_NEWNS) != 0) return errno == EPERM ? 77 : 10;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 11;
    if (::mount("ipcxt-small", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=1777") != 0) return 12;
    // Too big at once.
    ipcx::RingOptions big;
    big.capacity = 4 << 20;
    auto r = ipcx::RingProducer::open("big", big);
    if (r) return 20;
    if (r.error().code() != ENOSPC) return 21;
    if (r.error().message().find("/dev/shm") == std::string::npos) return 22;
    if (exists(ipcx::ring_path("big"))) return 23;
    auto s = ipcx::PosixShm::create("/bigseg", 4 << 20);
    if (s || s.error().code() != ENOSPC || exists("/dev/shm/bigseg")) return 24;
    // Rings that fit, until one does not: each either works in full or fails at open.
    ipcx::RingOptions o;
    o.capacity = 128 * 1024;
    std::vector<ipcx::RingProducer> rings;
    std::vector<std::byte> msg(1000, std::byte{7});
    for (int i = 0; i < 64; ++i) {
      auto p = ipcx::RingProducer::open(fmt::format("fit{}", i), o);
      if (!p) {
        if (p.error().code() != ENOSPC) return 30;
        if (exists(ipcx::ring_path(fmt::format("fit{}", i)))) return 31;
        break;
      }
      rings.push_back(std::move(*p));
    }
    if (rings.empty() || rings.size() >= 64) return 32;
    // Every page of every ring that was made is there: fill each one (no SIGBUS).
    for (auto& p : rings) {
      while (p.try_send(msg)) {
      }
    }
    return 0;
  });
  const int rc = child.wait();
  if (rc == 77) GTEST_SKIP() << "no permission to make a mount namespace";
  EXPECT_EQ(rc, 0);
}
