// SPDX-License-Identifier: MIT
#include "sys/mq.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace ipcx::sys {

Result<mqd_t> mq_open(const char* name, int oflag, mode_t mode, const mq_attr* attr) {
  // The const_cast is for glibc's prototype; the attributes are only read.
  mqd_t q = ::mq_open(name, oflag, mode, const_cast<mq_attr*>(attr));
  if (q == static_cast<mqd_t>(-1)) return fail_errno("mq_open", errno);
  return q;
}

Result<void> mq_close(mqd_t mqd) {
  if (::mq_close(mqd) != 0) return fail_errno("mq_close", errno);
  return {};
}

Result<void> mq_unlink(const char* name) {
  if (::mq_unlink(name) != 0) return fail_errno("mq_unlink", errno);
  return {};
}

Result<void> mq_send(mqd_t mqd, const char* msg, std::size_t len, unsigned prio) {
  for (;;) {
    if (::mq_send(mqd, msg, len, prio) == 0) return {};
    if (errno != EINTR) return fail_errno("mq_send", errno);
  }
}

Result<void> mq_timedsend(mqd_t mqd, const char* msg, std::size_t len, unsigned prio, const timespec* abs_timeout) {
  for (;;) {
    if (::mq_timedsend(mqd, msg, len, prio, abs_timeout) == 0) return {};
    if (errno != EINTR) return fail_errno("mq_timedsend", errno);
  }
}

Result<std::size_t> mq_receive(mqd_t mqd, char* buf, std::size_t len, unsigned* prio) {
  for (;;) {
    ssize_t n = ::mq_receive(mqd, buf, len, prio);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return fail_errno("mq_receive", errno);
  }
}

Result<std::size_t> mq_timedreceive(mqd_t mqd, char* buf, std::size_t len, unsigned* prio,
                                    const timespec* abs_timeout) {
  for (;;) {
    ssize_t n = ::mq_timedreceive(mqd, buf, len, prio, abs_timeout);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return fail_errno("mq_timedreceive", errno);
  }
}

Result<mq_attr> mq_getattr(mqd_t mqd) {
  mq_attr a{};
  if (::mq_getattr(mqd, &a) != 0) return fail_errno("mq_getattr", errno);
  return a;
}

Result<mq_attr> mq_setattr(mqd_t mqd, const mq_attr& attr) {
  mq_attr old{};
  if (::mq_setattr(mqd, &attr, &old) != 0) return fail_errno("mq_setattr", errno);
  return old;
}

Result<void> mq_notify(mqd_t mqd, const sigevent* notification) {
  if (::syscall(SYS_mq_notify, mqd, notification) != 0) return fail_errno("mq_notify", errno);
  return {};
}

}  // namespace ipcx::sys
