// SPDX-License-Identifier: MIT
// POSIX shared-memory segments and mappings, across two processes.
#include "ipcx/shm.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstring>

#include <gtest/gtest.h>

#include "shmsync_helpers.hpp"
#include "support/test_support.hpp"

namespace ipcx {
namespace {

using test::Child;
using test::unique_posix_name;

bool name_exists(const std::string& name) {
  struct stat st {};
  return ::stat(("/dev/shm" + name).c_str(), &st) == 0;
}

TEST(PosixShm, CreateMapAndSeeChildWritesInAnotherProcess) {
  auto name = unique_posix_name("shm");
  auto seg = PosixShm::create(name, 8192);
  ASSERT_TRUE(seg) << seg.error().message();
  EXPECT_EQ(seg->size(), 8192u);
  EXPECT_TRUE(seg->owns());
  auto map = seg->map();
  ASSERT_TRUE(map) << map.error().message();
  std::memcpy(map->bytes() + 4096, "from parent", 12);

  auto child = Child::spawn([&] {
    auto s = PosixShm::open(name);
    if (!s || s->size() != 8192u) return 1;
    auto m = s->map();
    if (!m) return 2;
    if (std::memcmp(m->bytes() + 4096, "from parent", 12) != 0) return 3;
    std::memcpy(m->bytes(), "from child", 11);
    return 0;
  });
  ASSERT_EQ(child.wait(), 0);
  EXPECT_EQ(std::memcmp(map->bytes(), "from child", 11), 0);
}

TEST(PosixShm, CreateIsExclusive) {
  auto name = unique_posix_name("excl");
  auto a = PosixShm::create(name, 4096);
  ASSERT_TRUE(a) << a.error().message();
  auto b = PosixShm::create(name, 4096);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code(), EEXIST);
  EXPECT_NE(b.error().message().find(name), std::string::npos) << b.error().message();
  // The failed create must not have removed the first one's name.
  EXPECT_TRUE(name_exists(name));
}

TEST(PosixShm, ModeIsOwnerOnlyByDefaultAndExactWhenAsked) {
  mode_t old = ::umask(077);
  auto n1 = unique_posix_name("mode1");
  auto n2 = unique_posix_name("mode2");
  auto a = PosixShm::create(n1, 4096);
  auto b = PosixShm::create(n2, 4096, {.mode = 0640});
  ::umask(old);
  ASSERT_TRUE(a && b);
  auto ia = PosixShm::stat(n1);
  auto ib = PosixShm::stat(n2);
  ASSERT_TRUE(ia && ib);
  EXPECT_EQ(ia->mode, 0600u);
  EXPECT_EQ(ib->mode, 0640u);  // the umask 077 did not narrow it
  EXPECT_EQ(ia->uid, ::geteuid());
  EXPECT_EQ(ia->size, 4096u);
  EXPECT_EQ(ia->path, "/dev/shm" + n1);
  EXPECT_GE(ia->allocated, 4096u);  // reserved at create
  EXPECT_FALSE(PosixShm::create(unique_posix_name("badmode"), 4096, {.mode = 01777}));
}

TEST(PosixShm, CreatorUnlinksTheNameUnlessItKeepsIt) {
  auto name = unique_posix_name("guard");
  {
    auto seg = PosixShm::create(name, 4096);
    ASSERT_TRUE(seg);
    ASSERT_TRUE(name_exists(name));
    // An opener does not own the name.
    auto other = PosixShm::open(name);
    ASSERT_TRUE(other);
    EXPECT_FALSE(other->owns());
  }
  EXPECT_FALSE(name_exists(name));

  {
    auto seg = PosixShm::create(name, 4096);
    ASSERT_TRUE(seg);
    seg->keep();
  }
  EXPECT_TRUE(name_exists(name));
  ASSERT_TRUE(PosixShm::unlink(name));
  EXPECT_FALSE(name_exists(name));
  auto again = PosixShm::unlink(name);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ENOENT);
}

TEST(PosixShm, NameGuardCanOutliveTheSegmentObject) {
  auto name = unique_posix_name("take");
  ShmNameGuard guard;
  Mapping map;
  {
    auto seg = PosixShm::create(name, 4096);
    ASSERT_TRUE(seg);
    guard = seg->take_name_guard();
    EXPECT_FALSE(seg->owns());
    auto m = seg->map();
    ASSERT_TRUE(m);
    map = std::move(*m);
  }
  EXPECT_TRUE(name_exists(name));
  map.bytes()[0] = std::byte{7};  // the mapping outlives its PosixShm
  guard.reset();
  EXPECT_FALSE(name_exists(name));
  EXPECT_EQ(map.bytes()[0], std::byte{7});  // unlinking the name does not free the memory
}

TEST(PosixShm, ReadOnlyOpenMapsReadOnlyAndAWriteFaults) {
  auto name = unique_posix_name("ro");
  auto seg = PosixShm::create(name, 4096);
  ASSERT_TRUE(seg);
  auto ro = PosixShm::open(name, Access::read_only);
  ASSERT_TRUE(ro);
  auto bad = ro->map(Access::read_write);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind(), Errc::invalid_argument);
  auto bad_resize = ro->resize(8192);
  EXPECT_FALSE(bad_resize);
  // And the kernel agrees: mapping an O_RDONLY descriptor writable is EACCES.
  auto raw = Mapping::map(ro->fd(), 4096, Access::read_write);
  ASSERT_FALSE(raw);
  EXPECT_EQ(raw.error().code(), EACCES);

  auto child = Child::spawn([&] {
    auto m = ro->map(Access::read_only);
    if (!m || m->writable()) return 1;
    ::signal(SIGSEGV, SIG_DFL);  // a sanitizer's handler would turn the signal into exit(1)
    volatile std::byte* p = m->bytes();
    p[0] = std::byte{1};  // must SIGSEGV
    return 0;
  });
  EXPECT_EQ(child.wait(), 128 + SIGSEGV);
}

TEST(PosixShm, ResizeGrowsAndShrinks) {
  auto name = unique_posix_name("resize");
  auto seg = PosixShm::create(name, 4096);
  ASSERT_TRUE(seg);
  ASSERT_TRUE(seg->resize(3 * 4096));
  EXPECT_EQ(seg->size(), 3 * 4096u);
  auto cur = seg->current_size();
  ASSERT_TRUE(cur);
  EXPECT_EQ(*cur, 3 * 4096u);
  auto info = PosixShm::stat(name);
  ASSERT_TRUE(info);
  EXPECT_GE(info->allocated, 3 * 4096u);  // the growth was reserved
  auto m = seg->map(2 * 4096, 4096, Access::read_write);
  ASSERT_TRUE(m) << m.error().message();
  m->bytes()[4095] = std::byte{1};
  ASSERT_TRUE(seg->resize(4096));
  EXPECT_EQ(*seg->current_size(), 4096u);
  auto opened = PosixShm::open(name);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->size(), 4096u);
}

TEST(PosixShm, MapChecksRangeAndAlignment) {
  auto name = unique_posix_name("range");
  auto seg = PosixShm::create(name, 8192);
  ASSERT_TRUE(seg);
  EXPECT_FALSE(seg->map(4096, 8192, Access::read_write));
  EXPECT_FALSE(seg->map(100, 4096, Access::read_write));
  EXPECT_FALSE(seg->map(0, 0, Access::read_write));
  EXPECT_TRUE(seg->map(4096, 4096, Access::read_only));
}

TEST(PosixShm, NamesAreValidated) {
  for (const char* bad : {"noslash", "/", "/a/b", "/..", ""}) {
    auto r = PosixShm::create(bad, 4096);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind(), Errc::invalid_argument) << bad;
    EXPECT_FALSE(PosixShm::open(bad)) << bad;
    EXPECT_FALSE(PosixShm::stat(bad)) << bad;
    EXPECT_FALSE(PosixShm::unlink(bad)) << bad;
  }
  EXPECT_FALSE(PosixShm::create("/" + std::string(300, 'x'), 4096));
}

TEST(PosixShm, OpenOfAMissingNameIsENOENT) {
  auto r = PosixShm::open(unique_posix_name("missing"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ENOENT);
  auto s = PosixShm::stat(unique_posix_name("missing"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ENOENT);
}

TEST(PosixShm, TooLargeForDevShmFailsAtCreateWithTheSpaceNamed) {
  struct statvfs vfs {};
  ASSERT_EQ(::statvfs("/dev/shm", &vfs), 0);
  const std::uint64_t total = static_cast<std::uint64_t>(vfs.f_blocks) * vfs.f_frsize;
  auto name = unique_posix_name("huge");
  auto r = PosixShm::create(name, total + (1u << 20));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ENOSPC);
  const auto msg = r.error().message();
  EXPECT_NE(msg.find("/dev/shm"), std::string::npos) << msg;
  EXPECT_NE(msg.find("free"), std::string::npos) << msg;
  EXPECT_FALSE(name_exists(name));  // a failed create leaves no name
}

// A /dev/shm that is full (not merely too small): the free space is less than asked but the
// filesystem is larger. Done in a child with its own mount namespace and a 1 MiB tmpfs over
// /dev/shm, so nothing on the host changes; skipped where mounts are not allowed.
TEST(PosixShm, FullDevShmFailsAtCreateNotWithSigbusLater) {
  auto child = Child::spawn([] {
    if (::unshare(CLONE_NEWNS) != 0) return 77;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 77;
    if (::mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=1m,mode=1777") != 0) return 77;
    auto first = PosixShm::create("/fill", 768 * 1024);
    if (!first) return 1;
    auto map = first->map();
    if (!map) return 2;
    std::memset(map->data(), 1, map->size());
    auto second = PosixShm::create("/over", 512 * 1024);
    if (second) return 3;  // must fail here, at create
    if (second.error().code() != ENOSPC) return 4;
    if (second.error().message().find("free") == std::string::npos) return 5;
    struct stat st {};
    if (::stat("/dev/shm/over", &st) == 0) return 6;  // and leave no name
    // The same answer from fallocate itself (the path a race past the statvfs check takes).
    auto raw = PosixShm::create("/raw", 0, {.reserve = false});
    if (!raw) return 9;
    auto direct = detail::reserve_backing(raw->fd(), 0, 512 * 1024, "/raw", nullptr);
    if (direct || direct.error().code() != ENOSPC || direct.error().op() != std::string_view("fallocate")) return 10;
    // Without the reservation the create "works" and the touch SIGBUSes.
    auto sparse = PosixShm::create("/sparse", 512 * 1024, {.reserve = false});
    if (!sparse) return 7;
    auto toucher = Child::spawn([&] {
      auto m = sparse->map();
      if (!m) return 1;
      ::signal(SIGBUS, SIG_DFL);  // a sanitizer's handler would turn the signal into exit(1)
      std::memset(m->data(), 1, m->size());
      return 0;
    });
    if (toucher.wait() != 128 + SIGBUS) return 8;
    return 0;
  });
  int rc = child.wait();
  if (rc == 77) GTEST_SKIP() << "no permission to mount a tmpfs in a new mount namespace";
  EXPECT_EQ(rc, 0);
}

TEST(Mapping, MoveTransfersOwnership) {
  auto name = unique_posix_name("move");
  auto seg = PosixShm::create(name, 4096);
  ASSERT_TRUE(seg);
  auto m = seg->map();
  ASSERT_TRUE(m);
  void* addr = m->data();
  Mapping a = std::move(*m);
  EXPECT_FALSE(m->valid());
  EXPECT_EQ(a.data(), addr);
  Mapping b;
  b = std::move(a);
  EXPECT_EQ(b.data(), addr);
  EXPECT_EQ(b.size(), 4096u);
  ASSERT_TRUE(b.make_read_only());
  EXPECT_FALSE(b.writable());
  ASSERT_TRUE(b.sync());
  b.reset();
  EXPECT_FALSE(b.valid());
}

}  // namespace
}  // namespace ipcx
