// SPDX-License-Identifier: MIT
#include "sys/file.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>

namespace ipcx::sys {

Result<void> link(const char* from, const char* to) {
  if (::link(from, to) != 0) return fail_errno("link", errno, to);
  return {};
}

Result<void> linkat(int from_dir, const char* from, int to_dir, const char* to, int flags) {
  if (::linkat(from_dir, from, to_dir, to, flags) != 0) return fail_errno("linkat", errno, to);
  return {};
}

Result<struct statfs> statfs(const char* path) {
  struct statfs fs {};
  if (::statfs(path, &fs) != 0) return fail_errno("statfs", errno, path);
  return fs;
}

Result<void> mount(const char* source, const char* target, const char* fstype, unsigned long flags,
                   const void* data) {
  if (::mount(source, target, fstype, flags, data) != 0) return fail_errno("mount", errno, target);
  return {};
}

}  // namespace ipcx::sys
