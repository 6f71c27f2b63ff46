// SPDX-License-Identifier: MIT
// Futex wait/wake on a word in shared memory, across processes.
#include "ipcx/futex.hpp"

#include <sys/syscall.h>

#include <new>
#include <vector>

#include <gtest/gtest.h>

#include "ipcx/shm.hpp"
#include "shmsync_helpers.hpp"
#include "support/test_support.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::Child;

struct Shared {
  PosixShm seg;
  Mapping map;
  Futex* futex = nullptr;
};

Shared make_shared_futex(const std::string& name) {
  Shared s;
  auto seg = PosixShm::create(name, 4096);
  if (!seg) std::abort();
  s.seg = std::move(*seg);
  auto map = s.seg.map();
  if (!map) std::abort();
  s.map = std::move(*map);
  s.futex = new (s.map.data()) Futex(0);
  return s;
}

TEST(Futex, WaiterInAnotherProcessIsWokenThroughItsOwnMapping) {
  auto name = test::unique_posix_name("futex");
  auto s = make_shared_futex(name);
  auto child = Child::spawn([&] {
    // Its own open and mapping: the futex is keyed by the page, not by the address.
    auto seg = PosixShm::open(name);
    if (!seg) return 10;
    auto map = seg->map();
    if (!map) return 11;
    auto* f = std::launder(reinterpret_cast<Futex*>(map->data()));
    auto r = f->wait(0, Deadline::after(10s));
    if (r) return 0;
    return r.error().timed_out() ? 2 : 3;
  });
  // Wake until the kernel reports it woke someone: that happens only once the child sleeps
  // on this word, so a result of 1 is a cross-process wake, not a lucky ordering.
  auto d = Deadline::after(10s);
  int woken = 0;
  while (woken == 0 && !d.expired()) {
    auto r = s.futex->wake_one();
    ASSERT_TRUE(r) << r.error().message();
    woken = *r;
    if (woken == 0) ::sched_yield();
  }
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(child.wait(), 0);
}

TEST(Futex, WakeCountsOneManyAll) {
  auto name = test::unique_posix_name("futexn");
  auto s = make_shared_futex(name);
  std::vector<Child> children;
  for (int i = 0; i < 3; ++i) {
    children.push_back(Child::spawn([&] {
      auto r = s.futex->wait(0, Deadline::after(10s));
      return r ? 0 : 1;
    }));
  }
  for (auto& c : children) ASSERT_TRUE(test::wait_until_futex_waiting_on(c.pid(), s.futex));
  auto two = s.futex->wake(2);
  ASSERT_TRUE(two);
  EXPECT_EQ(*two, 2);
  auto rest = s.futex->wake_all();
  ASSERT_TRUE(rest);
  EXPECT_EQ(*rest, 1);
  for (auto& c : children) EXPECT_EQ(c.wait(), 0);
  auto none = s.futex->wake_all();
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0);
}

TEST(Futex, ValueChangeBeforeSleepIsWouldBlock) {
  Futex f(5);
  auto r = f.wait(4, Deadline::after(10s));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().would_block());
  auto im = f.wait(4, Deadline::immediate());
  ASSERT_FALSE(im);
  EXPECT_TRUE(im.error().would_block());
}

TEST(Futex, DeadlineIsAbsoluteMonotonic) {
  Futex f(0);
  auto start = Deadline::Clock::now();
  auto r = f.wait_until(0, start + 20ms);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().timed_out());
  EXPECT_GE(Deadline::Clock::now(), start + 20ms);  // not early
  auto past = f.wait_until(0, start - 1s);
  ASSERT_FALSE(past);
  EXPECT_TRUE(past.error().timed_out());
  auto now = f.wait(0, Deadline::immediate());
  ASSERT_FALSE(now);
  EXPECT_TRUE(now.error().timed_out());
}

TEST(Futex, WakeCountMustBePositive) {
  Futex f;
  EXPECT_FALSE(f.wake(0));
  std::atomic<std::uint32_t> w{0};
  auto r = futex_wake_all(w);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 0);
}

}  // namespace
}  // namespace ipcx
