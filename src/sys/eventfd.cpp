// SPDX-License-Identifier: MIT
#include "sys/eventfd.hpp"

#include <sys/eventfd.h>

#include <cerrno>

#include "sys/io.hpp"

namespace ipcx::sys {

Result<Fd> eventfd(unsigned initval, int flags) {
  int fd = ::eventfd(initval, flags | EFD_CLOEXEC);
  if (fd < 0) return fail_errno("eventfd", errno);
  return Fd(fd);
}

Result<void> eventfd_add(int fd, std::uint64_t value) {
  auto r = sys::write(fd, &value, sizeof value);  // sys::write retries EINTR
  if (!r) return fail(std::move(r.error()).with_op("eventfd write"));
  return {};
}

Result<std::uint64_t> eventfd_take(int fd) {
  std::uint64_t v = 0;
  auto r = sys::read(fd, &v, sizeof v);  // sys::read retries EINTR
  if (!r) return fail(std::move(r.error()).with_op("eventfd read"));
  return v;
}

}  // namespace ipcx::sys
