// SPDX-License-Identifier: MIT
#include "ipcx/fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "ipcx/channel.hpp"
#include "ipcx/pipe.hpp"
#include "support/test_support.hpp"

namespace ipcx {
namespace {

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

TEST(Fd, ClosesOnDestructionMoveAndReset) {
  int raw[2];
  ASSERT_EQ(::pipe2(raw, O_CLOEXEC), 0);
  {
    Fd a(raw[0]);
    Fd b(raw[1]);
    EXPECT_TRUE(is_open(raw[0]));
    Fd c(std::move(a));
    EXPECT_FALSE(a.valid());
    EXPECT_EQ(c.get(), raw[0]);
    c = std::move(b);  // move assignment closes what c held
    EXPECT_FALSE(is_open(raw[0]));
    EXPECT_TRUE(is_open(raw[1]));
  }
  EXPECT_FALSE(is_open(raw[1]));
}

TEST(Fd, ReleaseGivesUpOwnership) {
  int raw[2];
  ASSERT_EQ(::pipe2(raw, O_CLOEXEC), 0);
  int kept = -1;
  {
    Fd a(raw[0]);
    kept = a.release();
    Fd b(raw[1]);
  }
  EXPECT_TRUE(is_open(kept));
  EXPECT_FALSE(is_open(raw[1]));
  ::close(kept);
}

TEST(Fd, DuplicateIsCloseOnExec) {
  int raw[2];
  ASSERT_EQ(::pipe2(raw, O_CLOEXEC), 0);
  Fd a(raw[0]), b(raw[1]);
  auto d = a.duplicate();
  ASSERT_TRUE(d);
  EXPECT_NE(d->get(), a.get());
  EXPECT_TRUE(::fcntl(d->get(), F_GETFD) & FD_CLOEXEC);
  ASSERT_TRUE(d->set_cloexec(false));
  EXPECT_FALSE(::fcntl(d->get(), F_GETFD) & FD_CLOEXEC);
}

// Every descriptor ipcx opens is close-on-exec: a child exec'd while channels are open
// sees only its standard descriptors.
TEST(Fd, NothingLeaksAcrossExec) {
  auto pipe = make_pipe();
  ASSERT_TRUE(pipe);
  auto duplex = make_duplex_pipe();
  ASSERT_TRUE(duplex);
  const std::string fifo = test::unique_path("fifo");
  auto f = Channel::open("fifo://" + fifo + "?remove=1");
  ASSERT_TRUE(f);
  ASSERT_GE(f->pollable_fd(), 0);  // opens the read end
  ASSERT_TRUE(pipe->writer.send(as_bytes("x")));
  std::set<int> ours = {pipe->reader.pollable_fd(), pipe_ends(pipe->writer).write, pipe_ends(duplex->first).read,
                        pipe_ends(duplex->first).write, f->pollable_fd()};
  char self[64];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  ASSERT_GT(n, 0);
  self[n] = '\0';
  auto child = test::Child::exec({self, "--list-fds"});
  ASSERT_EQ(child.wait(), 0);
  std::istringstream in(child.output());
  int fd;
  std::set<int> seen;
  while (in >> fd) seen.insert(fd);
  for (int o : ours) EXPECT_EQ(seen.count(o), 0u) << "descriptor " << o << " leaked across exec";
  // Whatever else the child has, this process held without close-on-exec (inherited
  // from whoever started the test), never something ipcx opened.
  std::set<int> inheritable = {0, 1, 2};
  for (int i = 3; i < 1024; ++i) {
    int flags = ::fcntl(i, F_GETFD);
    if (flags != -1 && !(flags & FD_CLOEXEC)) inheritable.insert(i);
  }
  for (int s : seen) EXPECT_EQ(inheritable.count(s), 1u) << "descriptor " << s << " leaked into the exec'd child";
}

}  // namespace
}  // namespace ipcx
