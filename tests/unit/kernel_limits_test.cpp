// SPDX-License-Identifier: MIT
// The library's one reader of /proc/sys (src/kernel_limits.hpp): the text, the numbers and
// the single value of a sysctl, from this host and from a fake root.
#include "kernel_limits.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace ipcx {
namespace {

class SysctlRoot : public ::testing::Test {
 protected:
  void TearDown() override { std::filesystem::remove_all(root_); }
  void write(const std::string& rel, const std::string& text) {
    std::filesystem::path p = root_ + rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  std::string root_ = test::unique_path("sysctl-root");
};

TEST_F(SysctlRoot, ReadsTextAndNumbersUnderTheRoot) {
  write("/proc/sys/kernel/sem", "250\t32000\t32\t128\n");
  write("/proc/sys/kernel/shmmax", "18446744073692774399\n");
  write("/proc/sys/vm/hugetlb_shm_group", "not a number\n");
  EXPECT_EQ(detail::read_sysctl_text("kernel.sem", root_), "250\t32000\t32\t128");
  EXPECT_EQ(detail::read_sysctl_numbers("kernel.sem", root_), (std::vector<std::uint64_t>{250, 32000, 32, 128}));
  // Above LLONG_MAX: a number for the unsigned reader, text for the error messages.
  EXPECT_EQ(detail::read_sysctl_numbers("kernel.shmmax", root_), (std::vector<std::uint64_t>{18446744073692774399u}));
  EXPECT_EQ(detail::read_sysctl_text("kernel.shmmax", root_), "18446744073692774399");
  EXPECT_TRUE(detail::read_sysctl_numbers("vm.hugetlb_shm_group", root_).empty());
  EXPECT_EQ(detail::read_sysctl_text("fs.mqueue.msg_max", root_), std::nullopt);
  EXPECT_TRUE(detail::read_sysctl_numbers("fs.mqueue.msg_max", root_).empty());
  // A root given with a trailing slash reads the same files.
  EXPECT_EQ(detail::read_sysctl_text("kernel.sem", root_ + "/"), "250\t32000\t32\t128");
}

TEST(Sysctl, ReadsThisNamespacesValues) {
  std::ifstream in("/proc/sys/fs/mqueue/msg_max");
  long long want = -1;
  if (!(in >> want)) GTEST_SKIP() << "/proc/sys/fs/mqueue/msg_max is not readable here";
  EXPECT_EQ(detail::read_sysctl("fs.mqueue.msg_max"), want);
  EXPECT_EQ(detail::read_sysctl_numbers("fs.mqueue.msg_max"), (std::vector<std::uint64_t>{static_cast<std::uint64_t>(want)}));
  EXPECT_EQ(detail::read_sysctl("fs.mqueue.no_such_sysctl"), std::nullopt);
  std::string text = detail::sysctl_limit_text("fs.mqueue.msg_max", want + 1);
  EXPECT_NE(text.find("fs.mqueue.msg_max = " + std::to_string(want)), std::string::npos) << text;
  EXPECT_NE(text.find("sysctl -w fs.mqueue.msg_max=" + std::to_string(want + 1)), std::string::npos) << text;
}

}  // namespace
}  // namespace ipcx
