// SPDX-License-Identifier: MIT
// System V shared memory: attach/detach, IPC_STAT/IPC_SET, IPC_RMID's remove-after-last-detach.
#include "ipcx/sysv_shm.hpp"

#include <signal.h>
#include <sys/ipc.h>
#include <unistd.h>

#include <cstring>

#include <gtest/gtest.h>

#include "shmsync_helpers.hpp"
#include "support/test_support.hpp"

namespace ipcx {
namespace {

using test::Child;
using test::Signal;

TEST(SysvShm, RemovedSegmentLivesUntilTheLastDetachButItsKeyIsGoneAtOnce) {
  const key_t key = test::unique_key();
  auto seg = SysvShm::create(key, 4096);
  ASSERT_TRUE(seg) << seg.error().message();
  const int id = seg->id();

  Signal attached = Signal::make();
  Signal removed = Signal::make();
  Signal written = Signal::make();
  auto child = Child::spawn([&] {
    auto s = SysvShm::open(key);
    if (!s) return 1;
    auto at = s->attach();
    if (!at) return 2;
    attached.notify();
    if (removed.wait() != 'x') return 3;
    // After IPC_RMID the attachment still works.
    std::memcpy(at->data(), "still here", 11);
    written.notify();
    return 0;  // detaches at exit
  });
  // Attached after the fork, so that the child does not inherit this attachment.
  auto mine = seg->attach();
  ASSERT_TRUE(mine) << mine.error().message();
  ASSERT_EQ(attached.wait(), 'x');
  auto before = SysvShm::stat(id);
  ASSERT_TRUE(before);
  EXPECT_EQ(before->attached, 2u);
  EXPECT_FALSE(before->removed);
  EXPECT_EQ(before->key, key);

  ASSERT_TRUE(seg->remove());
  // The key is gone at once ...
  auto by_key = SysvShm::open(key);
  ASSERT_FALSE(by_key);
  EXPECT_EQ(by_key.error().code(), ENOENT);
  // ... but the segment is not: marked, still attached twice, found by id.
  auto after = SysvShm::stat(id);
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_TRUE(after->removed);
  EXPECT_EQ(after->attached, 2u);
  EXPECT_EQ(after->key, IPC_PRIVATE);
  // And the key can name a new segment already.
  auto fresh = SysvShm::create(key, 4096);
  ASSERT_TRUE(fresh) << fresh.error().message();
  EXPECT_NE(fresh->id(), id);
  fresh = SysvShm();  // removes it

  removed.notify();
  ASSERT_EQ(written.wait(), 'x');
  EXPECT_EQ(std::memcmp(mine->data(), "still here", 11), 0);
  ASSERT_EQ(child.wait(), 0);
  auto one = SysvShm::stat(id);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->attached, 1u);
  ASSERT_TRUE(mine->detach());
  // The last detach destroyed it.
  auto gone = SysvShm::stat(id);
  ASSERT_FALSE(gone);
  EXPECT_TRUE(gone.error().code() == EINVAL || gone.error().code() == EIDRM) << gone.error().message();
}

TEST(SysvShm, StatReportsSizeModeOwnersAndPids) {
  const key_t key = test::unique_key();
  auto seg = SysvShm::create(key, 10000);
  ASSERT_TRUE(seg);
  EXPECT_EQ(seg->size(), 10000u);
  auto info = seg->stat();
  ASSERT_TRUE(info);
  EXPECT_EQ(info->id, seg->id());
  EXPECT_EQ(info->key, key);
  EXPECT_EQ(info->size, 10000u);
  EXPECT_EQ(info->mode, 0600u);
  EXPECT_EQ(info->uid, ::geteuid());
  EXPECT_EQ(info->cuid, ::geteuid());
  EXPECT_EQ(info->creator_pid, ::getpid());
  EXPECT_EQ(info->attached, 0u);
  EXPECT_FALSE(info->removed);

  Signal attached = Signal::make();
  Signal done = Signal::make();
  auto child = Child::spawn([&] {
    auto at = seg->attach(Access::read_only);
    if (!at) return 1;
    attached.notify();
    return done.wait() == 'x' ? 0 : 2;
  });
  ASSERT_EQ(attached.wait(), 'x');
  auto during = SysvShm::stat_key(key);
  ASSERT_TRUE(during);
  EXPECT_EQ(during->attached, 1u);
  EXPECT_EQ(during->last_pid, child.pid());
  done.notify();
  ASSERT_EQ(child.wait(), 0);

  ASSERT_TRUE(seg->set_permissions({.uid = ::geteuid(), .gid = ::getegid(), .mode = 0640}));
  EXPECT_EQ(seg->stat()->mode, 0640u);
  EXPECT_FALSE(seg->set_permissions({.uid = ::geteuid(), .gid = ::getegid(), .mode = 04777}));
}

TEST(SysvShm, ReadOnlyAttachFaultsOnWrite) {
  auto seg = SysvShm::create(test::unique_key(), 4096);
  ASSERT_TRUE(seg);
  {
    auto rw = seg->attach();
    ASSERT_TRUE(rw);
    std::memcpy(rw->data(), "abc", 4);
  }
  auto child = Child::spawn([&] {
    auto ro = seg->attach(Access::read_only);
    if (!ro || ro->writable()) return 1;
    if (std::memcmp(ro->data(), "abc", 4) != 0) return 2;
    ::signal(SIGSEGV, SIG_DFL);  // a sanitizer's handler would turn the signal into exit(1)
    volatile char* p = static_cast<char*>(ro->data());
    p[0] = 'x';
    return 0;
  });
  EXPECT_EQ(child.wait(), 128 + SIGSEGV);
}

TEST(SysvShm, ExclusiveCreateOpenByKeyOrIdAndTheCreatorRemovesIt) {
  const key_t key = test::unique_key();
  int id = -1;
  {
    auto seg = SysvShm::create(key, 4096);
    ASSERT_TRUE(seg);
    EXPECT_TRUE(seg->owns());
    id = seg->id();
    auto again = SysvShm::create(key, 4096);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code(), EEXIST);
    auto shared = SysvShm::create(key, 4096, {.exclusive = false});
    ASSERT_TRUE(shared);
    EXPECT_FALSE(shared->owns());
    EXPECT_EQ(shared->id(), id);
    auto bigger = SysvShm::create(key, 8192, {.exclusive = false});
    ASSERT_FALSE(bigger);  // an existing segment smaller than asked
    EXPECT_NE(bigger.error().message().find("kernel.shmmax"), std::string::npos) << bigger.error().message();
    auto opened = SysvShm::open(key);
    ASSERT_TRUE(opened);
    EXPECT_EQ(opened->size(), 4096u);
    auto by_id = SysvShm::open_id(id);
    ASSERT_TRUE(by_id);
    EXPECT_EQ(by_id->key(), key);
  }
  EXPECT_FALSE(SysvShm::stat(id));
  EXPECT_FALSE(SysvShm::open(key));

  {
    auto seg = SysvShm::create(key, 4096);
    ASSERT_TRUE(seg);
    seg->keep();
  }
  auto kept = SysvShm::stat_key(key);
  ASSERT_TRUE(kept);
  ASSERT_TRUE(SysvShm::remove_key(key));
  EXPECT_FALSE(SysvShm::stat(kept->id));
  auto twice = SysvShm::remove_key(key);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code(), ENOENT);
  EXPECT_FALSE(SysvShm::remove(kept->id));
}

TEST(SysvShm, PrivateSegmentIsSharedWithAForkedChild) {
  auto seg = SysvShm::create_private(4096);
  ASSERT_TRUE(seg);
  EXPECT_TRUE(seg->owns());
  auto at = seg->attach();
  ASSERT_TRUE(at);
  auto child = Child::spawn([&] {
    std::memcpy(at->data(), "child", 6);  // inherited across fork
    return 0;
  });
  ASSERT_EQ(child.wait(), 0);
  EXPECT_EQ(std::memcmp(at->data(), "child", 6), 0);
  const int id = seg->id();
  EXPECT_EQ(seg->stat()->key, IPC_PRIVATE);
  EXPECT_FALSE(SysvShm::remove_key(IPC_PRIVATE));
  *seg = SysvShm();  // marks it removed; our attachment keeps it alive
  auto info = SysvShm::stat(id);
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->removed);
  at->reset();
  EXPECT_FALSE(SysvShm::stat(id));
}

TEST(SysvShm, HugePagesEitherWorkOrSayWhatIsMissing) {
  auto seg = SysvShm::create(test::unique_key(), 2u << 20, {.huge_pages = true, .huge_page_shift = 21});
  if (seg) {
    auto at = seg->attach();
    ASSERT_TRUE(at) << at.error().message();
    return;
  }
  const auto msg = seg.error().message();
  EXPECT_TRUE(msg.find("vm.nr_hugepages") != std::string::npos || msg.find("hugetlb_shm_group") != std::string::npos)
      << msg;
}

TEST(SysvShm, BadArgumentsAreRefused) {
  EXPECT_FALSE(SysvShm::create(test::unique_key(), 0));
  EXPECT_FALSE(SysvShm::create(test::unique_key(), 4096, {.mode = 01600}));
  auto missing = SysvShm::open(test::unique_key());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ENOENT);
  SysvShm none;
  EXPECT_FALSE(none.attach());
}

// An attachment is a Mapping that gives its region back with shmdt, which detaches the
// whole attachment whatever size the Mapping holds; munmap of a part would leave the rest
// attached. The way out survives moves, release() and adopt().
TEST(SysvShm, AnAttachmentIsAMappingThatDetachesWithShmdt) {
  auto seg = SysvShm::create_private(8192);
  ASSERT_TRUE(seg) << seg.error().message();
  auto at = seg->attach();
  ASSERT_TRUE(at) << at.error().message();
  EXPECT_EQ(at->how(), Mapped::shmat);
  Mapping moved = std::move(*at);
  EXPECT_EQ(moved.how(), Mapped::shmat);
  auto [addr, size] = moved.release();
  ASSERT_EQ(size, 8192u);
  Mapping part = Mapping::adopt(addr, 4096, Access::read_write, Mapped::shmat);
  EXPECT_EQ(seg->stat()->attached, 1u);
  ASSERT_TRUE(part.unmap());
  EXPECT_FALSE(part.valid());
  EXPECT_EQ(seg->stat()->attached, 0u);
  ASSERT_TRUE(part.unmap());  // nothing left to give back
}

}  // namespace
}  // namespace ipcx
