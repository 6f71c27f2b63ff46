// SPDX-License-Identifier: MIT
// The thin system-call wrappers in src/sys/ that have no mechanism of their own to be
// tested through: poll, statvfs, readlink, readdir_names, getrlimit, capget_effective and
// pthread_sigmask.
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "support/test_support.hpp"
#include "sys/io.hpp"
#include "sys/process.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;

TEST(Sys, PollReportsReadinessAndKeepsTheDeadline) {
  auto p = sys::pipe2(0);
  ASSERT_TRUE(p) << p.error().message();
  pollfd fds[2] = {{p->read.get(), POLLIN, 0}, {p->write.get(), POLLOUT, 0}};
  auto r = sys::poll(fds, Deadline::never());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 1);  // only the write end is ready
  EXPECT_EQ(fds[0].revents, 0);
  EXPECT_TRUE(fds[1].revents & POLLOUT);

  auto start = std::chrono::steady_clock::now();
  r = sys::poll(std::span(fds, 1), Deadline::after(20ms));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 0);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);

  char c = 'x';
  ASSERT_TRUE(sys::write(p->write.get(), &c, 1));
  r = sys::poll(std::span(fds, 1), Deadline::immediate());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 1);
  EXPECT_TRUE(fds[0].revents & POLLIN);
}

TEST(Sys, DirectoryNamesLinksAndFileSystems) {
  const std::string dir = test::unique_path("sys-dir");
  std::filesystem::create_directory(dir);
  std::ofstream(dir + "/a") << "x";
  std::ofstream(dir + "/b") << "y";
  std::filesystem::create_symlink(dir + "/a", dir + "/link");

  auto names = sys::readdir_names(dir.c_str());
  ASSERT_TRUE(names) << names.error().message();
  std::sort(names->begin(), names->end());
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b", "link"}));  // no "." nor ".."

  auto target = sys::readlink((dir + "/link").c_str());
  ASSERT_TRUE(target) << target.error().message();
  EXPECT_EQ(*target, dir + "/a");
  auto not_link = sys::readlink((dir + "/a").c_str());
  ASSERT_FALSE(not_link);
  EXPECT_EQ(not_link.error().code(), EINVAL);

  auto vfs = sys::statvfs(dir.c_str());
  ASSERT_TRUE(vfs) << vfs.error().message();
  EXPECT_GT(vfs->f_blocks, 0u);

  std::filesystem::remove_all(dir);
  auto gone = sys::readdir_names(dir.c_str());
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ENOENT);
  EXPECT_NE(gone.error().message().find(dir), std::string::npos) << gone.error().message();
  EXPECT_FALSE(sys::statvfs(dir.c_str()));
}

TEST(Sys, ProcessLimitsCapabilitiesAndSignalMask) {
  rlimit want{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &want), 0);
  auto r = sys::getrlimit(RLIMIT_NOFILE);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->rlim_cur, want.rlim_cur);
  EXPECT_FALSE(sys::getrlimit(-1));

  auto cap = sys::capget_effective(CAP_SYS_RESOURCE);
  ASSERT_TRUE(cap) << cap.error().message();
  EXPECT_FALSE(sys::capget_effective(-1));

  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  auto before = sys::pthread_sigmask(SIG_BLOCK, usr1);
  ASSERT_TRUE(before) << before.error().message();
  auto during = sys::pthread_sigmask(SIG_SETMASK, *before);  // puts the old mask back
  ASSERT_TRUE(during) << during.error().message();
  EXPECT_EQ(sigismember(&*during, SIGUSR1), 1);
  EXPECT_FALSE(sys::pthread_sigmask(12345, usr1));
}

TEST(Sys, ChildrenAreMadeWatchedAndReaped) {
  // posix_spawn: the status comes back through waitpid, the exit through the pidfd.
  std::string sh = "sh", c = "-c", cmd = "exit 7";
  char* argv[] = {sh.data(), c.data(), cmd.data(), nullptr};
  char* envp[] = {nullptr};
  auto pid = sys::posix_spawn("/bin/sh", nullptr, nullptr, argv, envp);
  ASSERT_TRUE(pid) << pid.error().message();
  auto pidfd = sys::pidfd_open(*pid);
  ASSERT_TRUE(pidfd) << pidfd.error().message();
  auto exited = sys::poll_one(pidfd->get(), POLLIN, Deadline::after(std::chrono::seconds(10)));
  ASSERT_TRUE(exited && *exited != 0);
  auto w = sys::waitpid(*pid, 0);
  ASSERT_TRUE(w) << w.error().message();
  EXPECT_EQ(w->pid, *pid);
  ASSERT_TRUE(WIFEXITED(w->status));
  EXPECT_EQ(WEXITSTATUS(w->status), 7);

  // An exec that fails is the call's error, naming the path.
  auto missing = sys::posix_spawn("/nonexistent/ipcx-sh", nullptr, nullptr, argv, envp);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ENOENT);
  EXPECT_NE(missing.error().message().find("/nonexistent/ipcx-sh"), std::string::npos) << missing.error().message();

  // fork: the child's status; WNOHANG before it may exit says so with pid 0.
  int gate[2];
  ASSERT_EQ(::pipe2(gate, O_CLOEXEC), 0);
  auto f = sys::fork();
  ASSERT_TRUE(f) << f.error().message();
  if (*f == 0) {
    char x;
    ::close(gate[1]);
    (void)!::read(gate[0], &x, 1);
    ::_exit(3);
  }
  ::close(gate[0]);
  auto early = sys::waitpid(*f, WNOHANG);
  ASSERT_TRUE(early) << early.error().message();
  EXPECT_EQ(early->pid, 0);
  ::close(gate[1]);
  auto late = sys::waitpid(*f, 0);
  ASSERT_TRUE(late) << late.error().message();
  EXPECT_EQ(WEXITSTATUS(late->status), 3);
  auto none = sys::waitpid(*f, 0);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), ECHILD);
  EXPECT_FALSE(sys::pidfd_open(-1));
}

}  // namespace
}  // namespace ipcx
