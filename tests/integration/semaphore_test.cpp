// SPDX-License-Identifier: MIT
// POSIX semaphores, named and unnamed, across processes.
#include "ipcx/semaphore.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <climits>
#include <vector>

#include <gtest/gtest.h>

#include "ipcx/placement.hpp"
#include "shmsync_helpers.hpp"
#include "support/test_support.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::Child;
using test::Signal;

bool sem_exists(const std::string& name) {
  struct stat st {};
  return ::stat(("/dev/shm/sem." + name.substr(1)).c_str(), &st) == 0;
}

TEST(PosixSemaphore, PostInOneProcessWakesAWaiterInAnother) {
  auto name = test::unique_posix_name("sem");
  auto s = PosixSemaphore::create(name, 0);
  ASSERT_TRUE(s) << s.error().message();
  auto waiter = Child::spawn([&] {
    auto t = PosixSemaphore::open(name);
    if (!t) return 1;
    auto r = t->wait_for(10s);
    if (!r) return r.error().timed_out() ? 2 : 3;
    return 0;
  });
  ASSERT_TRUE(test::wait_until_blocked_in(waiter.pid(), SYS_futex));
  ASSERT_TRUE(s->post());
  EXPECT_EQ(waiter.wait(), 0);
  auto v = s->value();
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, 0);  // the waiter took the unit
}

TEST(PosixSemaphore, TryWaitDeadlineAndValue) {
  auto name = test::unique_posix_name("semtry");
  auto s = PosixSemaphore::create(name, 2);
  ASSERT_TRUE(s);
  EXPECT_EQ(*s->value(), 2);
  ASSERT_TRUE(s->try_wait());
  ASSERT_TRUE(s->wait());
  auto t = s->try_wait();
  ASSERT_FALSE(t);
  EXPECT_TRUE(t.error().would_block());
  auto d = s->wait_for(20ms);
  ASSERT_FALSE(d);
  EXPECT_TRUE(d.error().timed_out());
  auto past = s->wait_until(Deadline::Clock::now() - 1s);
  ASSERT_FALSE(past);
  EXPECT_TRUE(past.error().timed_out());
  ASSERT_TRUE(s->post());
  EXPECT_EQ(*s->value(), 1);
}

TEST(PosixSemaphore, PostAtTheMaximumOverflows) {
  auto name = test::unique_posix_name("semmax");
  auto s = PosixSemaphore::create(name, SEM_VALUE_MAX);
  ASSERT_TRUE(s);
  auto p = s->post();
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code(), EOVERFLOW);
  EXPECT_FALSE(PosixSemaphore::create(test::unique_posix_name("semover"), static_cast<unsigned>(SEM_VALUE_MAX) + 1u));
}

TEST(PosixSemaphore, ExclusiveCreateExactModeAndStat) {
  mode_t old = ::umask(077);
  auto name = test::unique_posix_name("semmode");
  auto s = PosixSemaphore::create(name, 3, {.mode = 0640});
  ::umask(old);
  ASSERT_TRUE(s);
  auto again = PosixSemaphore::create(name, 0);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), EEXIST);
  auto info = PosixSemaphore::stat(name);
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(info->mode, 0640u);
  EXPECT_EQ(info->uid, ::geteuid());
  ASSERT_TRUE(info->value.has_value());
  EXPECT_EQ(*info->value, 3);
  EXPECT_EQ(info->path, "/dev/shm/sem." + name.substr(1));

  auto dflt_name = test::unique_posix_name("semdflt");
  auto dflt = PosixSemaphore::create(dflt_name, 0);
  ASSERT_TRUE(dflt);
  EXPECT_EQ(PosixSemaphore::stat(dflt_name)->mode, 0600u);
}

TEST(PosixSemaphore, CreatorUnlinksUnlessItKeepsTheName) {
  auto name = test::unique_posix_name("semguard");
  {
    auto s = PosixSemaphore::create(name, 0);
    ASSERT_TRUE(s);
    EXPECT_TRUE(sem_exists(name));
    auto o = PosixSemaphore::open(name);
    ASSERT_TRUE(o);
    EXPECT_FALSE(o->owns());
  }
  EXPECT_FALSE(sem_exists(name));
  {
    auto s = PosixSemaphore::create(name, 0);
    ASSERT_TRUE(s);
    s->keep();
  }
  EXPECT_TRUE(sem_exists(name));
  ASSERT_TRUE(PosixSemaphore::unlink(name));
  EXPECT_FALSE(sem_exists(name));
  auto gone = PosixSemaphore::unlink(name);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ENOENT);
  auto open_gone = PosixSemaphore::open(name);
  ASSERT_FALSE(open_gone);
  EXPECT_EQ(open_gone.error().code(), ENOENT);
  EXPECT_FALSE(PosixSemaphore::stat(name));
}

TEST(PosixSemaphore, NamesAreValidated) {
  for (std::string bad : std::vector<std::string>{"x", "/", "/a/b", "/..", "/" + std::string(252, 'n')}) {
    auto r = PosixSemaphore::create(bad, 0);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind(), Errc::invalid_argument) << bad;
    EXPECT_FALSE(PosixSemaphore::open(bad));
    EXPECT_FALSE(PosixSemaphore::unlink(bad));
  }
  EXPECT_TRUE(PosixSemaphore::validate_name("/" + std::string(251, 'n')));
}

// Documented behaviour, not a virtue: a POSIX semaphore does not give back a dead holder's unit.
TEST(PosixSemaphore, AKilledHolderDoesNotGiveItsUnitBack) {
  auto name = test::unique_posix_name("semdead");
  auto s = PosixSemaphore::create(name, 1);
  ASSERT_TRUE(s);
  Signal holding = Signal::make();
  auto holder = Child::spawn([&] {
    if (!s->wait()) return 1;
    holding.notify();
    for (;;) ::pause();
  });
  ASSERT_EQ(holding.wait(), 'x');
  holder.kill(SIGKILL);
  ASSERT_EQ(holder.wait(), 128 + SIGKILL);
  EXPECT_EQ(*s->value(), 0);
  EXPECT_TRUE(s->try_wait().error().would_block());
}

struct Pair {
  UnnamedSemaphore ping{0};
  UnnamedSemaphore pong{0};
};
constexpr ObjectTag kPairTag{0x73656d7061697231ull, 1};

TEST(UnnamedSemaphore, PingPongBetweenProcesses) {
  auto name = test::unique_posix_name("usem");
  auto p = SharedObject<Pair>::create(name, kPairTag);
  ASSERT_TRUE(p) << p.error().message();
  Pair* pair = p->get();
  constexpr int kRounds = 200;
  auto child = Child::spawn([&] {
    auto mine = SharedObject<Pair>::open(name, kPairTag);  // its own mapping
    if (!mine) return 1;
    for (int i = 0; i < kRounds; ++i) {
      if (!(*mine)->ping.wait_for(10s)) return 2;
      if (!(*mine)->pong.post()) return 3;
    }
    return 0;
  });
  for (int i = 0; i < kRounds; ++i) {
    ASSERT_TRUE(pair->ping.post());
    auto r = pair->pong.wait_for(10s);
    ASSERT_TRUE(r) << r.error().message();
  }
  EXPECT_EQ(child.wait(), 0);
  EXPECT_EQ(*pair->ping.value(), 0);
  EXPECT_EQ(*pair->pong.value(), 0);
}

TEST(UnnamedSemaphore, TryWaitDeadlineAndBadInitialValue) {
  UnnamedSemaphore s(1);
  ASSERT_TRUE(s.try_wait());
  EXPECT_TRUE(s.try_wait().error().would_block());
  EXPECT_TRUE(s.wait_for(10ms).error().timed_out());
  ASSERT_TRUE(s.post());
  EXPECT_EQ(*s.value(), 1);
  UnnamedSemaphore bad(static_cast<unsigned>(SEM_VALUE_MAX) + 1u);
  auto r = bad.post();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), Errc::invalid_argument);
}

}  // namespace
}  // namespace ipcx
