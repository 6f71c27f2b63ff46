// SPDX-License-Identifier: MIT
#include "ipcx/fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "sys/io.hpp"

namespace ipcx {

void Fd::reset(int fd) noexcept {
  if (fd_ >= 0 && fd_ != fd) {
    // Never retry close (see the header).
    (void)::close(fd_);
  }
  fd_ = fd;
}

Result<Fd> Fd::duplicate() const {
  int d = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  if (d < 0) return fail_errno("fcntl(F_DUPFD_CLOEXEC)", errno);
  return Fd(d);
}

Result<void> Fd::set_cloexec(bool on) const {
  int flags = ::fcntl(fd_, F_GETFD);
  if (flags < 0) return fail_errno("fcntl(F_GETFD)", errno);
  flags = on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
  if (::fcntl(fd_, F_SETFD, flags) < 0) return fail_errno("fcntl(F_SETFD)", errno);
  return {};
}

Result<void> Fd::set_nonblocking(bool on) const { return sys::set_nonblocking(fd_, on); }

}  // namespace ipcx
