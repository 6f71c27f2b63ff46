// SPDX-License-Identifier: MIT
#include "sys/ofd_lock.hpp"

#include <fcntl.h>

#include <cerrno>

namespace ipcx::sys {
namespace {

struct flock make(LockKind kind, long start, long len) {
  struct flock fl{};
  fl.l_type = static_cast<short>(kind == LockKind::read ? F_RDLCK : kind == LockKind::write ? F_WRLCK : F_UNLCK);
  fl.l_whence = SEEK_SET;
  fl.l_start = start;
  fl.l_len = len;
  fl.l_pid = 0;  // must be 0 for OFD locks
  return fl;
}

}  // namespace

Result<bool> ofd_try_lock(int fd, LockKind kind, long start, long len) {
  struct flock fl = make(kind, start, len);
  if (::fcntl(fd, F_OFD_SETLK, &fl) == 0) return true;
  if (errno == EAGAIN || errno == EACCES) return false;
  return fail_errno("fcntl(F_OFD_SETLK)", errno);
}

Result<void> ofd_lock(int fd, LockKind kind, long start, long len) {
  for (;;) {
    struct flock fl = make(kind, start, len);
    if (::fcntl(fd, F_OFD_SETLKW, &fl) == 0) return {};
    if (errno != EINTR) return fail_errno("fcntl(F_OFD_SETLKW)", errno);
  }
}

Result<bool> ofd_conflict(int fd, LockKind kind, long start, long len) {
  struct flock fl = make(kind, start, len);
  if (::fcntl(fd, F_OFD_GETLK, &fl) != 0) return fail_errno("fcntl(F_OFD_GETLK)", errno);
  return fl.l_type != F_UNLCK;
}

}  // namespace ipcx::sys
