// SPDX-License-Identifier: MIT
// Placing a typed object in a segment: construct once, find many, checked.
#include "ipcx/placement.hpp"

#include <cstring>

#include <gtest/gtest.h>

#include "ipcx/futex.hpp"
#include "ipcx/mutex.hpp"
#include "shmsync_helpers.hpp"
#include "support/test_support.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::Child;

struct Counter {
  explicit Counter(std::uint64_t start) : value(start) {}
  Mutex m;
  std::uint64_t value;
};
constexpr ObjectTag kTag{0x636f756e74657231ull, 3};

struct Bigger {
  Mutex m;
  std::uint64_t value;
  std::uint64_t more;
};

TEST(Placement, ConstructOnceOpenManyAcrossProcesses) {
  auto name = test::unique_posix_name("place");
  auto mine = SharedObject<Counter>::create(name, kTag, {}, 7u);
  ASSERT_TRUE(mine) << mine.error().message();
  EXPECT_EQ((*mine)->value, 7u);
  auto child = Child::spawn([&] {
    auto theirs = SharedObject<Counter>::open(name, kTag);
    if (!theirs) return 1;
    if ((*theirs)->value != 7u) return 2;
    auto g = MutexLock::acquire((*theirs)->m);
    if (!g) return 3;
    (*theirs)->value += 1;
    return 0;
  });
  ASSERT_EQ(child.wait(), 0);
  EXPECT_EQ((*mine)->value, 8u);

  // A second construction in the same place is refused.
  auto again = construct_object<Counter>(std::span<std::byte>(mine.value().mapping().span()), kTag, 1u);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), EEXIST);
  EXPECT_EQ((*mine)->value, 8u);
}

TEST(Placement, WrongMagicVersionOrSizeIsCorrupt) {
  auto name = test::unique_posix_name("place-check");
  auto mine = SharedObject<Counter>::create(name, kTag, {}, 1u);
  ASSERT_TRUE(mine);
  auto magic = SharedObject<Counter>::open(name, ObjectTag{kTag.magic + 1, kTag.version});
  ASSERT_FALSE(magic);
  EXPECT_EQ(magic.error().kind(), Errc::corrupt);
  EXPECT_NE(magic.error().message().find("magic"), std::string::npos) << magic.error().message();
  auto version = SharedObject<Counter>::open(name, ObjectTag{kTag.magic, kTag.version + 1});
  ASSERT_FALSE(version);
  EXPECT_EQ(version.error().kind(), Errc::corrupt);
  EXPECT_NE(version.error().message().find("version"), std::string::npos) << version.error().message();
  auto size = SharedObject<Bigger>::open(name, kTag);
  ASSERT_FALSE(size);
  EXPECT_EQ(size.error().kind(), Errc::corrupt);
}

TEST(Placement, FinderWaitsForTheCreatorToFinish) {
  auto name = test::unique_posix_name("place-wait");
  // The segment exists (zero-filled) before anything is constructed in it.
  auto seg = PosixShm::create(name, detail::placement_size(sizeof(Counter), alignof(Counter)));
  ASSERT_TRUE(seg);
  auto map = seg->map();
  ASSERT_TRUE(map);
  auto finder = Child::spawn([&] {
    auto theirs = SharedObject<Counter>::open(name, kTag, Deadline::after(10s));
    if (!theirs) return 1;
    return (*theirs)->value == 99u ? 0 : 2;
  });
  // Construct only once the finder sleeps on the header's state word.
  ASSERT_TRUE(test::wait_until_blocked_in(finder.pid(), SYS_futex));
  auto obj = construct_object<Counter>(map->span(), kTag, 99u);
  ASSERT_TRUE(obj);
  EXPECT_EQ(finder.wait(), 0);
}

TEST(Placement, CreatorThatNeverFinishesMakesFindersTimeOut) {
  auto name = test::unique_posix_name("place-dead");
  auto seg = PosixShm::create(name, 4096);
  ASSERT_TRUE(seg);
  auto map = seg->map();
  ASSERT_TRUE(map);
  // Nothing constructed: a finder times out saying so.
  auto empty = SharedObject<Counter>::open(name, kTag, Deadline::after(10ms));
  ASSERT_FALSE(empty);
  EXPECT_TRUE(empty.error().timed_out());
  // A creator that claimed the header and died before publishing.
  auto h = reinterpret_cast<ObjectHeader*>(map->data());
  h->state.store(ObjectHeader::kConstructing);
  auto half = SharedObject<Counter>::open(name, kTag, Deadline::after(10ms));
  ASSERT_FALSE(half);
  EXPECT_TRUE(half.error().timed_out());
  EXPECT_NE(half.error().message().find("died"), std::string::npos) << half.error().message();
  // Garbage in the state word.
  h->state.store(12345);
  auto junk = SharedObject<Counter>::open(name, kTag);
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().kind(), Errc::corrupt);
}

TEST(Placement, TooSmallRegionsAreRefused) {
  alignas(64) std::byte small[64] = {};
  auto c = construct_object<Counter>(std::span<std::byte>(small), kTag, 1u);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().kind(), Errc::invalid_argument);
  auto f = find_object<Counter>(std::span<std::byte>(small, 16), kTag);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().kind(), Errc::corrupt);

  auto name = test::unique_posix_name("place-small");
  auto seg = PosixShm::create(name, 32);
  ASSERT_TRUE(seg);
  auto o = SharedObject<Counter>::open(name, kTag);
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().kind(), Errc::corrupt);
}

TEST(Placement, ReadOnlyOpenFindsTheObject) {
  auto name = test::unique_posix_name("place-ro");
  auto mine = SharedObject<Counter>::create(name, kTag, {}, 5u);
  ASSERT_TRUE(mine);
  auto ro = SharedObject<Counter>::open(name, kTag, Deadline::immediate(), Access::read_only);
  ASSERT_TRUE(ro) << ro.error().message();
  EXPECT_EQ((*ro)->value, 5u);
  EXPECT_FALSE((*ro)->value != 5u);
  EXPECT_FALSE(ro.value().mapping().writable());
}

}  // namespace
}  // namespace ipcx
