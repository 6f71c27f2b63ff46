// SPDX-License-Identifier: MIT
// The other-user matrix (issue 13): an object made by this process with the defaults is
// refused to a second process running as another user (nobody/nogroup, by fork +
// setresuid), on every mechanism; invited by the URL's mode (or the allow-list, for an
// abstract socket, which has no file mode) — and, for an object that exists already, by
// owner=any, the squatting guard — the same process is let in. Needs root (to become
// another user); skipped otherwise.
//
// docs/reliability.md ("Another user") shows the table this test prints (IPCX_MATRIX=1).
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ipcx/channel.hpp"
#include "ipcx/fifo.hpp"
#include "ipcx/ring.hpp"
#include "ipcx/semaphore.hpp"
#include "ipcx/shm.hpp"
#include "ipcx/sysv_sem.hpp"
#include "ipcx/sysv_shm.hpp"
#include "support/test_support.hpp"

namespace ipcx::test {
namespace {

using namespace std::chrono_literals;

struct Other {
  uid_t uid;
  gid_t gid;
};

std::optional<Other> nobody() {
  passwd* pw = ::getpwnam("nobody");
  if (!pw) return std::nullopt;
  gid_t gid = pw->pw_gid;
  if (group* g = ::getgrnam("nogroup")) gid = g->gr_gid;
  return Other{pw->pw_uid, gid};
}

// Outcomes a child reports as its exit status.
constexpr int kAllowed = 0;
constexpr int kRefused = 1;  // EACCES or EPERM, or a listener's refusal
// Anything else: an unexpected failure (2..).

int become(const Other& o) {
  if (::setgroups(0, nullptr) != 0) return 90;
  if (::setresgid(o.gid, o.gid, o.gid) != 0) return 91;
  if (::setresuid(o.uid, o.uid, o.uid) != 0) return 92;
  return 0;
}

int judge(const Error& e) {
  if (e.code() == EACCES || e.code() == EPERM) return kRefused;
  std::fprintf(stderr, "unexpected: %s\n", e.message().c_str());
  return 3;
}

// Runs `body` as the other user in a child; returns its exit status.
int as_other(const Other& o, const std::function<int()>& body) {
  auto child = Child::spawn([&] {
    if (int rc = become(o); rc != 0) return rc;
    return body();
  });
  return child.wait(20s);
}

// One mechanism: `make(mode, invite)` makes the object in this process (kept until the
// returned guard goes) and returns a function the other user runs to use it.
struct Mechanism {
  const char* name;
  // Makes the object with `mode`; `invite` also widens what a mode cannot (allow-list).
  std::function<std::function<int()>(unsigned mode, bool invite, bool owner_any)> make;
  std::function<void()> cleanup;
};

class OtherUser : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a process as another user";
    auto o = nobody();
    if (!o) GTEST_SKIP() << "no user 'nobody'";
    other_ = *o;
  }
  Other other_{};
};

std::string suffix(bool owner_any) { return owner_any ? "owner=any" : ""; }
std::string with(std::string url, const std::string& opt) {
  if (opt.empty()) return url;
  return url + (url.find('?') == std::string::npos ? "?" : "&") + opt;
}

// Each row: the default (owner-only: mode 0600, or an abstract listener's own user)
// refuses the other user — for the Channel schemes even with owner=any, so that the mode
// itself is what refuses; invited by mode (and owner=any, as the object exists already) it
// is allowed; invited by mode but without owner=any it is refused again (the squatting
// guard: the object belongs to another user).
TEST_F(OtherUser, RefusedOnEveryMechanismUnlessInvited) {
  const Other o = other_;
  std::string table =
      "| mechanism | default (mode 0600 / owner-only) | invited | mode 0666, no owner=any |\n| --- | --- | --- | --- |\n";
  auto word = [](int rc) { return rc == kAllowed ? std::string("allowed") : rc == kRefused ? std::string("refused") : fmt::format("error {}", rc); };

  // --- shm:// ring
  {
    const std::string name = unique_name("ou-ring");
    auto run_case = [&](unsigned mode, bool owner_any) {
      RingOptions ro;
      ro.mode = mode;
      auto rx = RingConsumer::open(name, ro);
      EXPECT_TRUE(rx) << rx.error().message();
      int rc = as_other(o, [&] {
        auto tx = Channel::open(with("shm://" + name, suffix(owner_any)));
        if (!tx) return judge(tx.error());
        return tx->send(as_bytes("hi")) ? kAllowed : 4;
      });
      rx = RingConsumer();
      (void)remove_ring(name);
      return rc;
    };
    int def = run_case(0600, true), inv = run_case(0666, true), squat = run_case(0666, false);
    EXPECT_EQ(def, kRefused) << "ring default";
    EXPECT_EQ(inv, kAllowed) << "ring invited";
    EXPECT_EQ(squat, kRefused) << "ring owned by another user, no owner=any";
    table += fmt::format("| shm:// ring | {} | {} (mode=0666, owner=any) | {} |\n", word(def), word(inv), word(squat));
  }
  // --- posixmq://
  {
    const std::string name = unique_posix_name("ou-mq");
    auto run_case = [&](unsigned mode, bool owner_any) {
      auto q = Channel::open(fmt::format("posixmq://{}?mode={:04o}&unlink=1", name, mode));
      EXPECT_TRUE(q) << q.error().message();
      return as_other(o, [&] {
        auto c = Channel::open(with("posixmq://" + name, suffix(owner_any)));
        if (!c) return judge(c.error());
        return c->send(as_bytes("hi")) ? kAllowed : 4;
      });
    };
    int def = run_case(0600, true), inv = run_case(0666, true), squat = run_case(0666, false);
    EXPECT_EQ(def, kRefused);
    EXPECT_EQ(inv, kAllowed);
    EXPECT_EQ(squat, kRefused);
    table += fmt::format("| posixmq:// | {} | {} (mode=0666, owner=any) | {} |\n", word(def), word(inv), word(squat));
  }
  // --- sysvmq://
  {
    auto run_case = [&](unsigned mode, bool owner_any) {
      const std::string url = fmt::format("sysvmq://0x{:08x}", static_cast<std::uint32_t>(unique_key()));
      auto q = Channel::open(fmt::format("{}?mode={:04o}&remove=1", url, mode));
      EXPECT_TRUE(q) << q.error().message();
      return as_other(o, [&] {
        auto c = Channel::open(with(url, suffix(owner_any)));
        if (!c) return judge(c.error());
        auto s = c->send(as_bytes("hi"));
        return s ? kAllowed : judge(s.error());
      });
    };
    int def = run_case(0600, true), inv = run_case(0666, true), squat = run_case(0666, false);
    EXPECT_EQ(def, kRefused);
    EXPECT_EQ(inv, kAllowed);
    EXPECT_EQ(squat, kRefused);
    table += fmt::format("| sysvmq:// | {} | {} (mode=0666, owner=any) | {} |\n", word(def), word(inv), word(squat));
  }
  // --- fifo://
  {
    auto run_case = [&](unsigned mode, bool owner_any) {
      const std::string path = unique_path("ou-fifo");
      EXPECT_TRUE(make_fifo(path, mode));
      // A reader holds it open, so that a writer's open does not wait.
      int reader = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      int rc = as_other(o, [&] {
        auto c = Channel::open(with("fifo://" + path, suffix(owner_any)));
        if (!c) return judge(c.error());
        auto s = c->send_for(as_bytes("hi"), 5s);
        return s ? kAllowed : judge(s.error());
      });
      ::close(reader);
      ::unlink(path.c_str());
      return rc;
    };
    int def = run_case(0600, true), inv = run_case(0666, true), squat = run_case(0666, false);
    EXPECT_EQ(def, kRefused);
    EXPECT_EQ(inv, kAllowed);
    EXPECT_EQ(squat, kRefused);
    table += fmt::format("| fifo:// | {} | {} (mode=0666, owner=any) | {} |\n", word(def), word(inv), word(squat));
  }
  // --- unix:// socket file (the file's mode guards it)
  {
    auto run_case = [&](unsigned mode) {
      const std::string path = unique_path("ou-sock");
      auto l = Listener::listen(fmt::format("unix://{}?mode={:04o}", path, mode));
      EXPECT_TRUE(l) << l.error().message();
      return as_other(o, [&] {
        auto c = Channel::open("unix://" + path);
        return c ? kAllowed : judge(c.error());
      });
    };
    int def = run_case(0600), inv = run_case(0666);
    EXPECT_EQ(def, kRefused);
    EXPECT_EQ(inv, kAllowed);
    table += fmt::format("| unix:// socket file | {} | {} (mode=0666) | - |\n", word(def), word(inv));
  }
  // --- unix:@ abstract socket (no file mode: the listener's credential check guards it)
  {
    auto run_case = [&](bool invite) {
      const std::string name = unique_name("ou-abs");
      auto l = Listener::listen(invite ? fmt::format("unix:@{}?allow_uid={}", name, o.uid) : "unix:@" + name);
      EXPECT_TRUE(l) << l.error().message();
      auto child = Child::spawn([&] {
        if (int rc = become(o); rc != 0) return rc;
        auto c = Channel::open("unix:@" + name);
        if (!c) return judge(c.error());
        auto m = c->receive_message_for(10s);
        if (m && m->text() == "welcome") return kAllowed;
        if (!m && m.error().code() == EACCES) return kRefused;  // the listener's refusal
        std::fprintf(stderr, "unexpected: %s\n", m ? m->text().data() : m.error().message().c_str());
        return 5;
      });
      auto a = l->accept_for(10s);
      if (a) {
        EXPECT_TRUE(a->send(as_bytes("welcome")));
      } else {
        EXPECT_EQ(a.error().code(), EACCES) << a.error().message();
      }
      int rc = child.wait(20s);
      return rc;
    };
    int def = run_case(false), inv = run_case(true);
    EXPECT_EQ(def, kRefused);
    EXPECT_EQ(inv, kAllowed);
    table += fmt::format("| unix:@ abstract socket | {} | {} (allow_uid={}) | - |\n", word(def), word(inv), o.uid);
  }
  // --- POSIX shared memory segment
  {
    auto run_case = [&](unsigned mode) {
      const std::string name = unique_posix_name("ou-shm");
      PosixShmOptions so;
      so.mode = mode;
      auto s = PosixShm::create(name, 4096, so);
      EXPECT_TRUE(s) << s.error().message();
      int rc = as_other(o, [&] {
        auto x = PosixShm::open(name);
        if (!x) return judge(x.error());
        auto m = x->map();
        return m ? kAllowed : judge(m.error());
      });
      (void)PosixShm::unlink(name);
      return rc;
    };
    int def = run_case(0600), inv = run_case(0666);
    EXPECT_EQ(def, kRefused);
    EXPECT_EQ(inv, kAllowed);
    table += fmt::format("| POSIX shm segment | {} | {} (mode 0666) | - |\n", word(def), word(inv));
  }
  // --- System V shared memory segment
  {
    auto run_case = [&](unsigned mode) {
      const key_t key = unique_key();
      SysvShmOptions so;
      so.mode = mode;
      auto s = SysvShm::create(key, 4096, so);
      EXPECT_TRUE(s) << s.error().message();
      int rc = as_other(o, [&] {
        auto x = SysvShm::open(key);
        if (!x) return judge(x.error());
        auto a = x->attach();
        return a ? kAllowed : judge(a.error());
      });
      (void)SysvShm::remove_key(key);
      return rc;
    };
    int def = run_case(0600), inv = run_case(0666);
    EXPECT_EQ(def, kRefused);
    EXPECT_EQ(inv, kAllowed);
    table += fmt::format("| System V shm segment | {} | {} (mode 0666) | - |\n", word(def), word(inv));
  }
  // --- POSIX named semaphore
  {
    auto run_case = [&](unsigned mode) {
      const std::string name = unique_posix_name("ou-sem");
      PosixSemaphoreOptions so;
      so.mode = mode;
      auto s = PosixSemaphore::create(name, 0, so);
      EXPECT_TRUE(s) << s.error().message();
      int rc = as_other(o, [&] {
        auto x = PosixSemaphore::open(name);
        if (!x) return judge(x.error());
        auto p = x->post();
        return p ? kAllowed : judge(p.error());
      });
      (void)PosixSemaphore::unlink(name);
      return rc;
    };
    int def = run_case(0600), inv = run_case(0666);
    EXPECT_EQ(def, kRefused);
    EXPECT_EQ(inv, kAllowed);
    table += fmt::format("| POSIX named semaphore | {} | {} (mode 0666) | - |\n", word(def), word(inv));
  }
  // --- System V semaphore set
  {
    auto run_case = [&](unsigned mode) {
      const key_t key = unique_key();
      SysvSemOptions so;
      so.mode = mode;
      auto s = SysvSemSet::create(key, 1, so);
      EXPECT_TRUE(s) << s.error().message();
      int rc = as_other(o, [&] {
        auto x = SysvSemSet::open(key);
        if (!x) return judge(x.error());
        auto p = x->post(0);
        return p ? kAllowed : judge(p.error());
      });
      (void)SysvSemSet::remove_key(key);
      return rc;
    };
    int def = run_case(0600), inv = run_case(0666);
    EXPECT_EQ(def, kRefused);
    EXPECT_EQ(inv, kAllowed);
    table += fmt::format("| System V semaphore set | {} | {} (mode 0666) | - |\n", word(def), word(inv));
  }
  if (std::getenv("IPCX_MATRIX")) std::fputs(table.c_str(), stdout);
}

// Names cannot escape where the user put them: no traversal through fifo:// or unix://
// paths, no '/' inside POSIX names, '..' and NUL refused — at the URL and at the wrappers.
TEST(Names, TraversalSlashDotDotAndNulAreRefused) {
  for (const char* url : {"fifo:///tmp/../etc/x", "fifo:///tmp/a/../../etc/passwd", "unix:///tmp/../run/x.sock",
                          "unixpacket:///a/b/../c", "posixmq:///a/b", "posixshm:///a/b", "posixsem:///../x",
                          "posixmq:///..", "posixmq:///.", "fifo:///tmp/x%00y", "posixmq:///a%00b", "unix:@a%00b",
                          "shm://../x", "shm://a/b", "shm://..", "sysvmq:///tmp/../x?proj=1"}) {
    auto u = Url::parse(url);
    EXPECT_FALSE(u) << url << " parsed";
  }
  // The wrappers check the same, whatever the caller passes them.
  EXPECT_FALSE(make_fifo("/tmp/../tmp/x", 0600));
  EXPECT_FALSE(make_fifo(std::string("/tmp/x\0y", 8), 0600));
  EXPECT_FALSE(PosixShm::create("/a/b", 4096));
  EXPECT_FALSE(PosixShm::create(std::string("/a\0b", 4), 4096));
  EXPECT_FALSE(PosixSemaphore::create("/..", 0));
  EXPECT_FALSE(PosixShm::open("/../etc"));
}

}  // namespace
}  // namespace ipcx::test
