#include "sys/file.hpp"

#include <fcntl.h>
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

}  // namespace ipcx::sys
