// SPDX-License-Identifier: MIT
// Process-shared condition variable: wake-ups across processes, deadlines, and process death.
#include "ipcx/condition.hpp"

#include <signal.h>
#include <sys/syscall.h>

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

struct State {
  Mutex m;
  Condition cv;
  std::uint32_t ready = 0;
  std::uint32_t woken = 0;
};
constexpr ObjectTag kTag{0x636f6e6474657374ull, 1};

SharedObject<State> make(const char* what) {
  auto s = SharedObject<State>::create(test::unique_posix_name(what), kTag);
  if (!s) {
    ADD_FAILURE() << s.error().message();
    std::abort();
  }
  return std::move(*s);
}

TEST(Condition, WaiterInAnotherProcessIsWokenByNotify) {
  auto s = make("cv-wake");
  auto waiter = Child::spawn([&] {
    auto g = MutexLock::acquire(s->m);
    if (!g) return 1;
    auto r = s->cv.wait(s->m, Deadline::after(10s), [&] { return s->ready != 0; });
    if (!r) return r.error().timed_out() ? 2 : 3;
    return *r == LockResult::acquired ? 0 : 4;
  });
  // The waiter sleeps in the kernel (it released the mutex) before the change is made.
  ASSERT_TRUE(test::wait_until_futex_waiting_on(waiter.pid(), &s->cv));
  {
    auto g = MutexLock::acquire(s->m, Deadline::after(10s));
    ASSERT_TRUE(g) << g.error().message();  // free: the waiter gave it up while waiting
    s->ready = 1;
  }
  ASSERT_TRUE(s->cv.notify_one());
  EXPECT_EQ(waiter.wait(), 0);
}

TEST(Condition, NotifyAllWakesEveryWaiter) {
  auto s = make("cv-all");
  std::vector<Child> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.push_back(Child::spawn([&] {
      auto g = MutexLock::acquire(s->m);
      if (!g) return 1;
      auto r = s->cv.wait(s->m, Deadline::after(10s), [&] { return s->ready != 0; });
      if (!r) return 2;
      ++s->woken;
      return 0;
    }));
  }
  for (auto& w : waiters) ASSERT_TRUE(test::wait_until_futex_waiting_on(w.pid(), &s->cv));
  {
    auto g = MutexLock::acquire(s->m);
    ASSERT_TRUE(g);
    s->ready = 1;
  }
  ASSERT_TRUE(s->cv.notify_all());
  for (auto& w : waiters) EXPECT_EQ(w.wait(), 0);
  EXPECT_EQ(s->woken, 3u);
}

// glibc's pthread_cond_t can spend a signal on a dead waiter; this one must not.
TEST(Condition, AKilledWaiterDoesNotSwallowANotify) {
  auto s = make("cv-dead-waiter");
  auto wait_once = [&] {
    auto g = MutexLock::acquire(s->m);
    if (!g) return 1;
    auto r = s->cv.wait(s->m, Deadline::after(10s));
    if (!r) return r.error().timed_out() ? 2 : 3;
    return 0;
  };
  auto doomed = Child::spawn(wait_once);
  ASSERT_TRUE(test::wait_until_futex_waiting_on(doomed.pid(), &s->cv));
  doomed.kill(SIGKILL);
  ASSERT_EQ(doomed.wait(), 128 + SIGKILL);

  auto live = Child::spawn(wait_once);
  ASSERT_TRUE(test::wait_until_futex_waiting_on(live.pid(), &s->cv));
  ASSERT_TRUE(s->cv.notify_one());
  EXPECT_EQ(live.wait(), 0);  // woken by the one notify, not by its 10 s deadline
}

TEST(Condition, SignallerKilledHoldingTheMutexWaiterGetsOwnerDied) {
  auto s = make("cv-dead-signaller");
  Signal holding = Signal::make();
  auto waiter = Child::spawn([&] {
    auto g = MutexLock::acquire(s->m);
    if (!g) return 1;
    auto r = s->cv.wait(s->m, Deadline::after(10s), [&] { return s->ready != 0; });
    if (!r) return 2;
    if (*r != LockResult::owner_died) return 3;
    // Repair (the predicate was set before the death) and carry on.
    if (!s->m.mark_consistent()) return 4;
    return s->ready == 1 ? 0 : 5;
  });
  ASSERT_TRUE(test::wait_until_futex_waiting_on(waiter.pid(), &s->cv));
  auto signaller = Child::spawn([&] {
    if (!s->m.lock()) return 1;
    s->ready = 1;
    if (!s->cv.notify_all()) return 2;
    holding.notify();  // dies holding the mutex
    for (;;) ::pause();
  });
  ASSERT_EQ(holding.wait(), 'x');
  signaller.kill(SIGKILL);
  EXPECT_EQ(signaller.wait(), 128 + SIGKILL);
  EXPECT_EQ(waiter.wait(), 0);
}

TEST(Condition, DeadlinePassesWithTheMutexHeldAgain) {
  auto s = make("cv-deadline");
  ASSERT_TRUE(s->m.lock());
  auto r = s->cv.wait_for(s->m, 20ms);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().timed_out());
  // Held again: another process cannot take it, and this thread can release it.
  auto probe = Child::spawn([&] {
    auto t = s->m.try_lock();
    return (!t && t.error().would_block()) ? 0 : 1;
  });
  EXPECT_EQ(probe.wait(), 0);
  EXPECT_TRUE(s->m.unlock());

  ASSERT_TRUE(s->m.lock());
  auto p = s->cv.wait(s->m, Deadline::after(10ms), [] { return false; });
  ASSERT_FALSE(p);
  EXPECT_TRUE(p.error().timed_out());
  EXPECT_TRUE(s->m.unlock());
}

TEST(Condition, WaitWithoutHoldingTheMutexIsRefused) {
  auto s = make("cv-misuse");
  if (!test::kUnderTsan) {
    auto r = s->cv.wait_for(s->m, 1s);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), Errc::invalid_argument);
  }
  // Notifying with nobody waiting is fine.
  EXPECT_TRUE(s->cv.notify_one());
  EXPECT_TRUE(s->cv.notify_all());
}

}  // namespace
}  // namespace ipcx
