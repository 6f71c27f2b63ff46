// SPDX-License-Identifier: MIT
// ipcx::limits: reading a (fake) /proc/sys and /etc tree, and the verdicts diagnose()
// gives; ipcx::inspect's names for kinds and states.
#include "ipcx/limits.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "ipcx/inspect.hpp"
#include "support/test_support.hpp"

namespace ipcx {
namespace {

class FakeRoot : public ::testing::Test {
 protected:
  void TearDown() override { std::filesystem::remove_all(root_); }
  void write(const std::string& rel, const std::string& text) {
    std::filesystem::path p = root_ + rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  const limits::Finding* find(const std::vector<limits::Finding>& all, std::string_view name) {
    for (const auto& f : all) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }
  std::string root_ = test::unique_path("root");
};

TEST_F(FakeRoot, ReadsSysctlsMountsAndLogind) {
  write("/proc/sys/fs/mqueue/msg_max", "7\n");
  write("/proc/sys/kernel/sem", "250\t32000\t32\t128\n");
  write("/proc/mounts", "tmpfs /dev/shm tmpfs rw,size=2g 0 0\nnone /dev/mqueue mqueue rw 0 0\n");
  // The main file says yes; a drop-in in /etc says no; a drop-in of the same name in
  // /usr/lib is hidden by the one in /etc; a later name overrides an earlier one.
  write("/etc/systemd/logind.conf", "[Login]\nRemoveIPC=yes\n");
  write("/usr/lib/systemd/logind.conf.d/10-ipc.conf", "[Login]\nRemoveIPC=yes\n");
  write("/etc/systemd/logind.conf.d/10-ipc.conf", "[Login]\nRemoveIPC=no\n");
  write("/etc/systemd/logind.conf.d/05-other.conf", "[Login]\nRemoveIPC=yes\n");
  auto l = limits::read_limits(root_);
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(l->mq_msg_max, 7u);
  EXPECT_FALSE(l->mq_msgsize_max);
  EXPECT_EQ(l->semmsl, 250u);
  EXPECT_EQ(l->semmni, 128u);
  EXPECT_TRUE(l->dev_shm_mounted);
  EXPECT_EQ(l->dev_shm_size, 2ull << 30);
  EXPECT_TRUE(l->mqueue_mounted);
  EXPECT_TRUE(l->logind_present);
  ASSERT_TRUE(l->remove_ipc);
  EXPECT_FALSE(*l->remove_ipc);
  EXPECT_NE(l->remove_ipc_source.find("/etc/systemd/logind.conf.d/10-ipc.conf"), std::string::npos);

  auto all = limits::diagnose(*l);
  EXPECT_EQ(find(all, "fs.mqueue.msg_max")->verdict, limits::Verdict::warn);
  EXPECT_EQ(find(all, "fs.mqueue.msgsize_max")->verdict, limits::Verdict::warn) << "missing is a warning";
  EXPECT_EQ(find(all, "kernel.sem")->verdict, limits::Verdict::ok);
  EXPECT_EQ(find(all, "/dev/shm")->verdict, limits::Verdict::ok);
  EXPECT_EQ(find(all, "systemd-logind RemoveIPC")->verdict, limits::Verdict::ok);
}

TEST_F(FakeRoot, VerdictsFollowTheValues) {
  limits::Limits l;
  l.dev_shm_mounted = true;
  l.dev_shm_size = 64ull << 20;
  l.dev_shm_free = 1ull << 20;
  l.mq_msg_max = 10;
  l.rlimit_msgqueue = {819200, 819200};
  l.rlimit_memlock = {64 << 10, 64 << 10};
  l.shm_rmid_forced = 1;
  auto all = limits::diagnose(l);
  const auto* shm = find(all, "/dev/shm");
  EXPECT_EQ(shm->verdict, limits::Verdict::warn);
  EXPECT_EQ(shm->value, "64 MiB (1 MiB free)");
  EXPECT_EQ(find(all, "fs.mqueue.msg_max")->verdict, limits::Verdict::ok);
  EXPECT_TRUE(find(all, "fs.mqueue.msg_max")->fix.empty());
  EXPECT_EQ(find(all, "RLIMIT_MSGQUEUE")->verdict, limits::Verdict::ok);
  EXPECT_EQ(find(all, "RLIMIT_MEMLOCK")->verdict, limits::Verdict::warn);
  EXPECT_EQ(find(all, "kernel.shm_rmid_forced")->verdict, limits::Verdict::warn);
  EXPECT_EQ(find(all, "/dev/mqueue")->verdict, limits::Verdict::warn);
  EXPECT_EQ(find(all, "systemd-logind RemoveIPC")->value, "no logind");
  l.dev_shm_mounted = false;
  EXPECT_EQ(find(limits::diagnose(l), "/dev/shm")->verdict, limits::Verdict::fail);
}

TEST(Limits, MissingRootIsAnError) {
  auto l = limits::read_limits("/nonexistent/ipcx-root");
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code(), ENOENT);
}

TEST(Inspect, KindNamesRoundTrip) {
  for (auto k : inspect::all_kinds()) EXPECT_EQ(inspect::kind_from_string(inspect::to_string(k)), k);
  EXPECT_EQ(inspect::kind_from_string("unixpacket"), inspect::Kind::unix_socket);
  EXPECT_EQ(inspect::kind_from_string("ring"), inspect::Kind::ring);
  EXPECT_FALSE(inspect::kind_from_string("pipe"));
  EXPECT_EQ(inspect::to_string(inspect::State::in_use), "in-use");
}

TEST(Inspect, FindObjectsRejectsWhatIsNotATarget) {
  auto bad = inspect::find_objects("orders");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind(), Errc::invalid_argument);
  auto priv = inspect::find_objects("0x0");
  ASSERT_FALSE(priv);
  EXPECT_NE(priv.error().detail().find("IPC_PRIVATE"), std::string::npos);
}

}  // namespace
}  // namespace ipcx
