// SPDX-License-Identifier: MIT
// Thin wrappers over the POSIX message-queue calls: one function per call, the call's own
// name, a Result instead of -1/errno, and the EINTR decision beside each. Errors carry the
// call's name only; callers add the queue's name.
#pragma once

#include <mqueue.h>
#include <signal.h>

#include <cstddef>

#include "ipcx/error.hpp"

namespace ipcx::sys {

// mq_open(3). The kernel makes every mq descriptor close-on-exec (do_mq_open passes
// O_CLOEXEC to get_unused_fd_flags), so there is no flag to add. Never returns EINTR.
Result<mqd_t> mq_open(const char* name, int oflag, mode_t mode, const mq_attr* attr);
// mq_close(3): never retried (as close(2): the descriptor is gone either way).
Result<void> mq_close(mqd_t mqd);
// mq_unlink(3). Never returns EINTR.
Result<void> mq_unlink(const char* name);
// mq_send(3) / mq_timedsend(3), `abs_timeout` on CLOCK_REALTIME. EINTR is retried: no
// message moved, and the timeout is absolute, so a retry waits no longer than asked.
Result<void> mq_send(mqd_t mqd, const char* msg, std::size_t len, unsigned prio);
Result<void> mq_timedsend(mqd_t mqd, const char* msg, std::size_t len, unsigned prio, const timespec* abs_timeout);
// mq_receive(3) / mq_timedreceive(3): the message's size. EINTR retried as for send.
Result<std::size_t> mq_receive(mqd_t mqd, char* buf, std::size_t len, unsigned* prio);
Result<std::size_t> mq_timedreceive(mqd_t mqd, char* buf, std::size_t len, unsigned* prio,
                                    const timespec* abs_timeout);
// mq_getattr(3) / mq_setattr(3) (only mq_flags' O_NONBLOCK is changed; returns the old
// attributes). No EINTR.
Result<mq_attr> mq_getattr(mqd_t mqd);
Result<mq_attr> mq_setattr(mqd_t mqd, const mq_attr& attr);
// mq_notify(2), the system call itself rather than glibc's wrapper: for SIGEV_THREAD the
// kernel takes a netlink socket in sigev_signo and a 32-byte cookie in sival_ptr (see
// posix_mq.cpp), where glibc would start threads of its own. nullptr removes this
// process's registration. No EINTR.
Result<void> mq_notify(mqd_t mqd, const sigevent* notification);

}  // namespace ipcx::sys
