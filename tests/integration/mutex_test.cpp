// SPDX-License-Identifier: MIT
// Robust process-shared mutex: owner death, recovery, deadlines, exclusion across processes.
#include "ipcx/mutex.hpp"

#include <signal.h>
#include <sys/syscall.h>

#include <gtest/gtest.h>

#include "ipcx/placement.hpp"
#include "shmsync_helpers.hpp"
#include "support/test_support.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::Child;
using test::Signal;

// The invariant the mutex protects: a == b. A writer sets a, then b.
struct Guarded {
  Mutex m;
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  std::uint64_t counter = 0;
  std::atomic<std::uint32_t> ready{0};
};
constexpr ObjectTag kTag{0x6d75746578746573ull, 1};

SharedObject<Guarded> make(const char* what) {
  auto s = SharedObject<Guarded>::create(test::unique_posix_name(what), kTag);
  if (!s) {
    ADD_FAILURE() << s.error().message();
    std::abort();
  }
  return std::move(*s);
}

// The owner is SIGKILLed half-way through an update, while holding the lock.
Child spawn_dying_owner(Guarded* g, Signal& holding) {
  return Child::spawn([g, &holding] {
    auto r = g->m.lock();
    if (!r) return 1;
    g->a = 42;  // ... and dies before writing b
    holding.notify();
    for (;;) ::pause();
  });
}

TEST(Mutex, OwnerKilledWhileHoldingNextLockerIsToldAndRecovers) {
  auto s = make("mtx-died");
  Signal holding = Signal::make();
  auto owner = spawn_dying_owner(s.get(), holding);
  ASSERT_EQ(holding.wait(), 'x');
  owner.kill(SIGKILL);
  ASSERT_EQ(owner.wait(), 128 + SIGKILL);

  // The kernel released it at the owner's death: a 1 s deadline is plenty.
  auto g = MutexLock::acquire(s->m, Deadline::after(1s));
  ASSERT_TRUE(g) << g.error().message();
  ASSERT_TRUE(g->owner_died());
  EXPECT_NE(s->a, s->b);  // the half-done update is visible: that is why we are told
  s->b = s->a;            // repair
  ASSERT_TRUE(g->mark_consistent());
  EXPECT_FALSE(g->owner_died());
  ASSERT_TRUE(g->unlock());

  // Back to normal, for this process and another one.
  auto again = s->m.lock_for(1s);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, LockResult::acquired);
  ASSERT_TRUE(s->m.unlock());
  auto other = Child::spawn([&] {
    auto r = s->m.lock_for(1s);
    if (!r || *r != LockResult::acquired) return 1;
    return s->m.unlock() ? 0 : 2;
  });
  EXPECT_EQ(other.wait(), 0);
}

TEST(Mutex, WaiterBlockedWhenTheOwnerDiesIsWokenWithOwnerDied) {
  auto s = make("mtx-blocked");
  Signal holding = Signal::make();
  auto owner = spawn_dying_owner(s.get(), holding);
  ASSERT_EQ(holding.wait(), 'x');
  auto waiter = Child::spawn([&] {
    auto r = s->m.lock_for(10s);
    if (!r) return r.error().timed_out() ? 2 : 3;
    if (*r != LockResult::owner_died) return 4;
    if (!s->m.mark_consistent()) return 5;
    return s->m.unlock() ? 0 : 6;
  });
  // Kill the owner only once the waiter sleeps in the kernel on the mutex.
  ASSERT_TRUE(test::wait_until_futex_waiting_on(waiter.pid(), s->m.native_handle()));
  owner.kill(SIGKILL);
  EXPECT_EQ(owner.wait(), 128 + SIGKILL);
  EXPECT_EQ(waiter.wait(), 0);
}

TEST(Mutex, LeftInconsistentItBecomesUnrecoverableUntilReinitialized) {
  auto s = make("mtx-unrec");
  Signal holding = Signal::make();
  auto owner = spawn_dying_owner(s.get(), holding);
  ASSERT_EQ(holding.wait(), 'x');
  owner.kill(SIGKILL);
  ASSERT_EQ(owner.wait(), 128 + SIGKILL);

  auto r = s->m.lock_for(1s);
  ASSERT_TRUE(r);
  ASSERT_EQ(*r, LockResult::owner_died);
  ASSERT_TRUE(s->m.unlock());  // without mark_consistent: give up on the data

  auto after = s->m.lock_for(1s);
  ASSERT_FALSE(after);
  EXPECT_TRUE(Mutex::is_unrecoverable(after.error())) << after.error().message();
  auto elsewhere = Child::spawn([&] {
    auto t = s->m.try_lock();
    return (!t && Mutex::is_unrecoverable(t.error())) ? 0 : 1;
  });
  EXPECT_EQ(elsewhere.wait(), 0);

  ASSERT_TRUE(s->m.reinitialize());
  auto fresh = s->m.try_lock();
  ASSERT_TRUE(fresh);
  EXPECT_EQ(*fresh, LockResult::acquired);
  ASSERT_TRUE(s->m.unlock());
}

TEST(Mutex, TryLockAndDeadlineAgainstAnotherProcess) {
  auto s = make("mtx-try");
  Signal holding = Signal::make();
  Signal release = Signal::make();
  auto owner = Child::spawn([&] {
    if (!s->m.lock()) return 1;
    holding.notify();
    if (release.wait() != 'x') return 2;
    return s->m.unlock() ? 0 : 3;
  });
  ASSERT_EQ(holding.wait(), 'x');
  auto t = s->m.try_lock();
  ASSERT_FALSE(t);
  EXPECT_TRUE(t.error().would_block());
  auto d = s->m.lock_for(30ms);
  ASSERT_FALSE(d);
  EXPECT_TRUE(d.error().timed_out());
  auto past = s->m.lock_until(Deadline::Clock::now() - 1s);
  ASSERT_FALSE(past);
  EXPECT_TRUE(past.error().timed_out());
  release.notify();
  auto got = s->m.lock_for(10s);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(*got, LockResult::acquired);
  ASSERT_TRUE(s->m.unlock());
  EXPECT_EQ(owner.wait(), 0);
}

TEST(Mutex, ExcludesAcrossProcesses) {
  auto s = make("mtx-excl");
  constexpr int kPerChild = 100000;
  auto body = [&] {
    // Start together, so that the two loops really overlap.
    s->ready.fetch_add(1);
    while (s->ready.load() < 2) {
    }
    for (int i = 0; i < kPerChild; ++i) {
      auto g = MutexLock::acquire(s->m);
      if (!g) return 1;
      // A plain read-modify-write: lost updates unless the lock excludes.
      volatile std::uint64_t* c = &s->counter;
      *c = *c + 1;
    }
    return 0;
  };
  auto c1 = Child::spawn(body);
  auto c2 = Child::spawn(body);
  EXPECT_EQ(c1.wait(), 0);
  EXPECT_EQ(c2.wait(), 0);
  EXPECT_EQ(s->counter, 2u * kPerChild);
}

TEST(Mutex, MisuseIsReported) {
  auto s = make("mtx-misuse");
  if (!test::kUnderTsan) {
    auto u = s->m.unlock();  // not held
    ASSERT_FALSE(u);
    EXPECT_EQ(u.error().kind(), Errc::invalid_argument);
  }
  ASSERT_TRUE(s->m.lock());
  auto twice = s->m.try_lock();  // error-checking: a relock by the owner
  ASSERT_FALSE(twice);
  auto again = s->m.lock();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind(), Errc::invalid_argument);
  auto mc = s->m.mark_consistent();  // nothing to mark
  EXPECT_FALSE(mc);
  ASSERT_TRUE(s->m.unlock());
  MutexLock empty;
  EXPECT_FALSE(empty.mark_consistent());
  EXPECT_TRUE(empty.unlock());
}

TEST(Mutex, LockGuardUnlocksAndMoves) {
  auto s = make("mtx-guard");
  {
    auto g = MutexLock::acquire(s->m);
    ASSERT_TRUE(g);
    MutexLock moved = std::move(*g);
    EXPECT_FALSE(g->owns_lock());
    EXPECT_TRUE(moved.owns_lock());
    EXPECT_FALSE(MutexLock::try_acquire(s->m));
  }
  auto t = MutexLock::try_acquire(s->m);
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->owner_died());
}

}  // namespace
}  // namespace ipcx
