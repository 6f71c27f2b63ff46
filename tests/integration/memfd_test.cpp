// SPDX-License-Identifier: MIT
// memfd with seals, passed to another process over a Unix socket (SCM_RIGHTS) and mapped there.
#include "ipcx/memfd.hpp"

#include <unistd.h>

#include <cstring>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ipcx/shm.hpp"
#include "shmsync_helpers.hpp"
#include "support/test_support.hpp"

namespace ipcx {
namespace {

using test::Child;

constexpr unsigned kFixedSize = Memfd::kSealShrink | Memfd::kSealGrow;

TEST(Memfd, PassedOverAUnixSocketAndMappedInAnotherProcess) {
  auto sp = test::SocketPair::make();
  // The child exists before the memfd does: it can only get it through the socket.
  auto child = Child::spawn([&] {
    sp.a.reset();
    Fd got = test::recv_fd(sp.b.get());
    if (!got) return 1;
    auto m = Memfd::adopt(std::move(got), kFixedSize);
    if (!m) return 2;
    if (m->size() != 8192u) return 3;
    if (m->name() != "frames") return 4;
    auto map = m->map();
    if (!map) return 5;
    if (std::memcmp(map->data(), "hello from the parent", 22) != 0) return 6;
    std::memcpy(map->bytes() + 4096, "reply", 6);
    char done = 'D';
    return ::write(sp.b.get(), &done, 1) == 1 ? 0 : 7;
  });
  sp.b.reset();
  auto m = Memfd::create("frames", 8192);
  ASSERT_TRUE(m) << m.error().message();
  auto map = m->map();
  ASSERT_TRUE(map);
  std::memcpy(map->data(), "hello from the parent", 22);
  ASSERT_TRUE(m->add_seals(kFixedSize | Memfd::kSealSeal));
  ASSERT_TRUE(test::send_fd(sp.a.get(), m->fd()));
  char done = 0;
  ASSERT_EQ(::read(sp.a.get(), &done, 1), 1);
  EXPECT_EQ(done, 'D');
  EXPECT_EQ(std::memcmp(map->bytes() + 4096, "reply", 6), 0);
  EXPECT_EQ(child.wait(), 0);
}

TEST(Memfd, AdoptRefusesMissingSealsAndNonMemfds) {
  auto m = Memfd::create("unsealed", 4096);
  ASSERT_TRUE(m);
  auto dup = m->descriptor().duplicate();
  ASSERT_TRUE(dup);
  auto r = Memfd::adopt(std::move(*dup), kFixedSize);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), Errc::corrupt);
  EXPECT_NE(r.error().message().find("shrink"), std::string::npos) << r.error().message();

  auto p = sys::pipe2(0);
  ASSERT_TRUE(p);
  auto notmem = Memfd::adopt(std::move(p->read));
  ASSERT_FALSE(notmem);
  EXPECT_EQ(notmem.error().kind(), Errc::invalid_argument);
  EXPECT_FALSE(Memfd::adopt(Fd()));
}

TEST(Memfd, SizeSealsAreEnforced) {
  auto m = Memfd::create("size", 4096);
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->resize(8192));
  ASSERT_TRUE(m->resize(4096));
  ASSERT_TRUE(m->add_seals(Memfd::kSealShrink));
  auto shrink = m->resize(0);
  ASSERT_FALSE(shrink);
  EXPECT_EQ(shrink.error().code(), EPERM);
  EXPECT_NE(shrink.error().message().find("kSealShrink"), std::string::npos) << shrink.error().message();
  ASSERT_TRUE(m->resize(8192));
  ASSERT_TRUE(m->add_seals(Memfd::kSealGrow));
  auto grow = m->resize(16384);
  ASSERT_FALSE(grow);
  EXPECT_EQ(grow.error().code(), EPERM);
  EXPECT_EQ(m->size(), 8192u);
  auto s = m->seals();
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, kFixedSize);
  ASSERT_TRUE(m->add_seals(Memfd::kSealSeal));
  auto more = m->add_seals(Memfd::kSealWrite);
  ASSERT_FALSE(more);
  EXPECT_EQ(more.error().code(), EPERM);
  EXPECT_FALSE(m->add_seals(0x100));  // not a seal
}

TEST(Memfd, WriteSealNeedsNoWritableMappingAndThenForbidsWriting) {
  auto m = Memfd::create("frozen", 4096);
  ASSERT_TRUE(m);
  {
    auto w = m->map();
    ASSERT_TRUE(w);
    std::memcpy(w->data(), "final", 6);
    auto busy = m->add_seals(Memfd::kSealWrite);
    ASSERT_FALSE(busy);
    EXPECT_EQ(busy.error().code(), EBUSY);
  }
  ASSERT_TRUE(m->add_seals(Memfd::kSealWrite));
  auto rw = m->map(Access::read_write);
  ASSERT_FALSE(rw);
  EXPECT_EQ(rw.error().code(), EPERM);
  EXPECT_EQ(::write(m->fd(), "x", 1), -1);
  auto ro = m->map(Access::read_only);
  ASSERT_TRUE(ro);
  EXPECT_EQ(std::memcmp(ro->data(), "final", 6), 0);
}

TEST(Memfd, FutureWriteSealKeepsExistingMappingsWritable) {
  auto m = Memfd::create("future", 4096);
  ASSERT_TRUE(m);
  auto w = m->map();
  ASSERT_TRUE(w);
  auto r = m->add_seals(Memfd::kSealFutureWrite);
  if (!r && r.error().code() == EINVAL) GTEST_SKIP() << "kernel without F_SEAL_FUTURE_WRITE";
  ASSERT_TRUE(r) << r.error().message();
  std::memcpy(w->data(), "ok", 3);  // the producer's mapping still writes
  EXPECT_FALSE(m->map(Access::read_write));
  auto ro = m->map(Access::read_only);
  ASSERT_TRUE(ro);
  EXPECT_EQ(std::memcmp(ro->data(), "ok", 3), 0);
}

TEST(Memfd, WithoutSealingNoSealCanBeAdded) {
  auto m = Memfd::create("plain", 4096, {.allow_sealing = false});
  ASSERT_TRUE(m);
  auto r = m->add_seals(Memfd::kSealShrink);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), EPERM);
  EXPECT_FALSE(Memfd::create(std::string(250, 'n'), 4096));
  EXPECT_FALSE(Memfd::create("a/b", 4096));
}

TEST(Memfd, ReleasedDescriptorKeepsTheMemory) {
  auto m = Memfd::create("release", 4096);
  ASSERT_TRUE(m);
  Fd fd = m->release();
  EXPECT_FALSE(m->valid());
  auto again = Memfd::adopt(std::move(fd));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->size(), 4096u);
  EXPECT_EQ(again->name(), "release");
}

// Nothing these wrappers open survives an exec: the test binary re-runs itself with
// --list-fds and prints the descriptors it inherited.
TEST(Memfd, DescriptorsAreCloseOnExec) {
  auto m = Memfd::create("cloexec", 4096);
  ASSERT_TRUE(m);
  auto name = test::unique_posix_name("cloexec");
  auto seg = PosixShm::create(name, 4096);
  ASSERT_TRUE(seg);
  auto ro = PosixShm::open(name, Access::read_only);
  ASSERT_TRUE(ro);
  char self[4096] = {};
  ASSERT_GT(::readlink("/proc/self/exe", self, sizeof self - 1), 0);
  auto child = Child::exec({self, "--list-fds"});
  ASSERT_EQ(child.wait(), 0);
  const std::string out = fmt::format("\n{}", child.output());
  for (int fd : {m->fd(), seg->fd(), ro->fd()}) {
    EXPECT_EQ(out.find(fmt::format("\n{}\n", fd)), std::string::npos) << "fd " << fd << " leaked:" << out;
  }
  // And the check can fail: a descriptor without close-on-exec is listed.
  auto dup = m->descriptor().duplicate();
  ASSERT_TRUE(dup);
  ASSERT_TRUE(dup->set_cloexec(false));
  auto leaky = Child::exec({self, "--list-fds"});
  ASSERT_EQ(leaky.wait(), 0);
  EXPECT_NE(("\n" + leaky.output()).find("\n" + std::to_string(dup->get()) + "\n"), std::string::npos);
}

}  // namespace
}  // namespace ipcx
