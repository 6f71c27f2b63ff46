// SPDX-License-Identifier: MIT
// Test main: runs the tests, then fails the run if anything this process made is left
// behind. `--list-fds` makes the binary a helper that prints its open descriptors (the
// close-on-exec test execs it).
#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <cstdlib>

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace {

int list_fds() {
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return 1;
  int self = ::dirfd(d);
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    int fd = std::atoi(e->d_name);
    if (fd != self) std::printf("%d\n", fd);
  }
  ::closedir(d);
  return 0;
}

class LeakCheck : public ::testing::Environment {
 public:
  void TearDown() override {
    auto left = ipcx::test::leftovers();
    for (const auto& l : left) ADD_FAILURE() << "left behind: " << l;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--list-fds") == 0) return list_fds();
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new LeakCheck);
  return RUN_ALL_TESTS();
}
