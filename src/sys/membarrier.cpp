// SPDX-License-Identifier: MIT
#include "sys/membarrier.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace ipcx::sys {

Result<int> membarrier(int cmd) {
  long r = ::syscall(SYS_membarrier, cmd, 0U, 0);
  if (r < 0) return fail_errno("membarrier", errno);
  return static_cast<int>(r);
}

}  // namespace ipcx::sys
