// SPDX-License-Identifier: MIT
// System V semaphore sets: atomic multi-operation semop, SEM_UNDO after SIGKILL, semctl.
#include "ipcx/sysv_sem.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sys/ipc.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "shmsync_helpers.hpp"
#include "support/test_support.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::Child;
using test::Signal;

SysvSemSet make(std::size_t n) {
  auto s = SysvSemSet::create(test::unique_key(), n);
  if (!s) {
    ADD_FAILURE() << s.error().message();
    std::abort();
  }
  return std::move(*s);
}

TEST(SysvSemSet, UnitHeldWithSemUndoByAKilledProcessIsGivenBack) {
  auto set = make(1);
  ASSERT_TRUE(set.set_value(0, 1));
  Signal holding = Signal::make();
  auto holder = Child::spawn([&] {
    if (!set.wait(0, Deadline::after(10s), {.undo = true})) return 1;
    holding.notify();
    for (;;) ::pause();
  });
  ASSERT_EQ(holding.wait(), 'x');
  EXPECT_EQ(*set.value(0), 0);
  EXPECT_EQ(*set.last_pid(0), holder.pid());
  holder.kill(SIGKILL);
  ASSERT_EQ(holder.wait(), 128 + SIGKILL);
  // The kernel undid the child's -1 at its exit.
  EXPECT_EQ(*set.value(0), 1);
  auto got = set.wait(0, Deadline::after(1s));
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(*set.value(0), 0);
}

TEST(SysvSemSet, WithoutUndoAKilledHolderKeepsItsUnit) {
  auto set = make(1);
  ASSERT_TRUE(set.set_value(0, 1));
  Signal holding = Signal::make();
  auto holder = Child::spawn([&] {
    if (!set.wait(0, Deadline::after(10s), {.undo = false})) return 1;
    holding.notify();
    for (;;) ::pause();
  });
  ASSERT_EQ(holding.wait(), 'x');
  holder.kill(SIGKILL);
  ASSERT_EQ(holder.wait(), 128 + SIGKILL);
  EXPECT_EQ(*set.value(0), 0);
  EXPECT_TRUE(set.wait(0, Deadline::immediate()).error().would_block());
}

TEST(SysvSemSet, SeveralOperationsApplyAtomicallyOrNotAtAll) {
  auto set = make(2);
  const unsigned short init[] = {1, 0};
  ASSERT_TRUE(set.set_values(init));
  // Taking from both cannot complete (semaphore 1 is 0): nothing is taken, not even from 0.
  auto r = set.op({{.index = 0, .delta = -1}, {.index = 1, .delta = -1}}, Deadline::immediate());
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().would_block());
  EXPECT_EQ(*set.values(), (std::vector<unsigned short>{1, 0}));

  // Another process blocks on the pair; it completes, as a whole, when 1 is given.
  auto child = Child::spawn([&] {
    auto c = set.op({{.index = 0, .delta = -1}, {.index = 1, .delta = -1}}, Deadline::after(10s));
    return c ? 0 : 1;
  });
  ASSERT_TRUE(test::wait_until_blocked_in(child.pid(), SYS_semtimedop));
  EXPECT_EQ(*set.value(0), 1);  // still untouched while it waits
  EXPECT_EQ(*set.waiting_for_increase(1) + *set.waiting_for_increase(0), 1);
  ASSERT_TRUE(set.post(1, {.undo = false}));
  const pid_t child_pid = child.pid();
  EXPECT_EQ(child.wait(), 0);
  EXPECT_EQ(*set.values(), (std::vector<unsigned short>{0, 0}));
  EXPECT_EQ(*set.last_pid(0), child_pid);  // the child's operation was the last on both
  EXPECT_EQ(*set.last_pid(1), child_pid);
}

TEST(SysvSemSet, WaitForZeroAndItsCount) {
  auto set = make(1);
  ASSERT_TRUE(set.set_value(0, 1));
  auto child = Child::spawn([&] { return set.wait_zero(0, Deadline::after(10s)) ? 0 : 1; });
  ASSERT_TRUE(test::wait_until_blocked_in(child.pid(), SYS_semtimedop));
  EXPECT_EQ(*set.waiting_for_zero(0), 1);
  EXPECT_EQ(*set.waiting_for_increase(0), 0);
  auto info = set.stat();
  ASSERT_TRUE(info);
  EXPECT_EQ(info->semaphores[0].waiting_zero, 1);
  ASSERT_TRUE(set.wait(0, Deadline::immediate(), {.undo = false}));
  EXPECT_EQ(child.wait(), 0);
  EXPECT_EQ(*set.waiting_for_zero(0), 0);
}

TEST(SysvSemSet, TimedOperationTimesOut) {
  auto set = make(1);
  auto r = set.wait(0, Deadline::after(20ms));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().timed_out());
  auto past = set.wait(0, Deadline::at(Deadline::Clock::now() - 1s));
  ASSERT_FALSE(past);
  EXPECT_TRUE(past.error().timed_out());
  auto nowait = set.op({{.index = 0, .delta = -1, .nowait = true}}, Deadline::after(10s));
  ASSERT_FALSE(nowait);
  EXPECT_TRUE(nowait.error().would_block());
}

TEST(SysvSemSet, ControlCalls) {
  auto key = test::unique_key();
  auto set = SysvSemSet::create(key, 3);
  ASSERT_TRUE(set);
  EXPECT_EQ(set->size(), 3u);
  EXPECT_EQ(*set->values(), (std::vector<unsigned short>{0, 0, 0}));  // Linux zero-fills
  const unsigned short vals[] = {5, 6, 7};
  ASSERT_TRUE(set->set_values(vals));
  EXPECT_EQ(*set->value(2), 7);
  ASSERT_TRUE(set->set_value(1, 32767));
  auto big = set->set_value(1, 32768);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code(), ERANGE);
  const unsigned short two[] = {1, 2};
  EXPECT_FALSE(set->set_values(two));  // wrong count
  EXPECT_FALSE(set->value(3));         // out of range
  ASSERT_TRUE(set->post(0, {.undo = false}));
  EXPECT_EQ(*set->last_pid(0), ::getpid());

  auto info = SysvSemSet::stat_key(key);
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(info->id, set->id());
  EXPECT_EQ(info->key, key);
  EXPECT_EQ(info->count, 3u);
  EXPECT_EQ(info->mode, 0600u);
  EXPECT_EQ(info->uid, ::geteuid());
  EXPECT_EQ(info->cuid, ::geteuid());
  EXPECT_EQ(info->semaphores[0].value, 6);
  EXPECT_EQ(info->semaphores[1].value, 32767);
  EXPECT_EQ(info->semaphores[0].last_pid, ::getpid());

  ASSERT_TRUE(set->set_permissions({.uid = ::geteuid(), .gid = ::getegid(), .mode = 0640}));
  EXPECT_EQ(SysvSemSet::stat(set->id())->mode, 0640u);
}

TEST(SysvSemSet, CreateIsExclusiveOpenFindsItAndTheCreatorRemovesIt) {
  auto key = test::unique_key();
  int id = -1;
  {
    auto set = SysvSemSet::create(key, 2);
    ASSERT_TRUE(set);
    EXPECT_TRUE(set->owns());
    id = set->id();
    auto again = SysvSemSet::create(key, 2);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code(), EEXIST);
    EXPECT_NE(again.error().message().find(fmt::format("0x{:08x}", static_cast<std::uint32_t>(key))), std::string::npos)
        << again.error().message();
    auto shared = SysvSemSet::create(key, 2, {.exclusive = false});
    ASSERT_TRUE(shared);
    EXPECT_FALSE(shared->owns());
    EXPECT_EQ(shared->id(), id);
    auto opened = SysvSemSet::open(key);
    ASSERT_TRUE(opened);
    EXPECT_EQ(opened->id(), id);
    EXPECT_EQ(opened->size(), 2u);
    auto by_id = SysvSemSet::open_id(id);
    ASSERT_TRUE(by_id);
    EXPECT_EQ(by_id->key(), key);
  }
  auto gone = SysvSemSet::open(key);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ENOENT);
  EXPECT_FALSE(SysvSemSet::stat(id));

  {
    auto set = SysvSemSet::create(key, 1);
    ASSERT_TRUE(set);
    set->keep();
  }
  ASSERT_TRUE(SysvSemSet::open(key));
  ASSERT_TRUE(SysvSemSet::remove_key(key));
  EXPECT_FALSE(SysvSemSet::open(key));
  EXPECT_FALSE(SysvSemSet::remove_key(key));
}

TEST(SysvSemSet, RemovalWakesWaitersWithPeerGone) {
  auto set = make(1);
  auto child = Child::spawn([&] {
    auto r = set.wait(0, Deadline::after(10s));
    if (r) return 1;
    return r.error().peer_gone() ? 0 : 2;
  });
  ASSERT_TRUE(test::wait_until_blocked_in(child.pid(), SYS_semtimedop));
  ASSERT_TRUE(set.remove());
  EXPECT_FALSE(set.owns());
  EXPECT_EQ(child.wait(), 0);
  EXPECT_FALSE(SysvSemSet::stat(set.id()));
}

TEST(SysvSemSet, PrivateSetsAndFtokKeys) {
  auto p = SysvSemSet::create_private(1);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->owns());
  int pid_id = p->id();
  auto info = SysvSemSet::stat(pid_id);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->key, IPC_PRIVATE);
  p = SysvSemSet();  // move-assign removes the old set
  EXPECT_FALSE(SysvSemSet::stat(pid_id));
  EXPECT_FALSE(SysvSemSet::remove_key(IPC_PRIVATE));

  auto path = test::unique_path("ftok");
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
  auto k1 = SysvSemSet::key_for(path.c_str(), 7);
  auto k2 = SysvSemSet::key_for(path.c_str(), 8);
  ASSERT_TRUE(k1 && k2);
  EXPECT_NE(*k1, *k2);
  EXPECT_FALSE(SysvSemSet::key_for(path.c_str(), 0));
  EXPECT_FALSE(SysvSemSet::key_for(path.c_str(), 256));
  ::unlink(path.c_str());
  auto missing = SysvSemSet::key_for(path.c_str(), 7);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ENOENT);
}

TEST(SysvSemSet, SizesAreChecked) {
  EXPECT_FALSE(SysvSemSet::create(test::unique_key(), 0));
  auto huge = SysvSemSet::create(test::unique_key(), 65535);
  if (!huge) {
    EXPECT_NE(huge.error().message().find("kernel.sem"), std::string::npos) << huge.error().message();
  }
}

}  // namespace
}  // namespace ipcx
