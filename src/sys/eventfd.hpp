// SPDX-License-Identifier: MIT
// eventfd(2): a counter descriptor, used as a doorbell that epoll can wait on.
#pragma once

#include <cstdint>

#include "ipcx/error.hpp"
#include "ipcx/fd.hpp"

namespace ipcx::sys {

// eventfd(initval, flags | EFD_CLOEXEC). No EINTR.
Result<Fd> eventfd(unsigned initval, int flags);
// Adds to the counter (write of 8 bytes). EINTR is retried; EAGAIN (the counter would
// overflow) comes back as would_block.
Result<void> eventfd_add(int fd, std::uint64_t value);
// Reads and resets the counter; would_block if it is zero (non-blocking descriptor).
Result<std::uint64_t> eventfd_take(int fd);

}  // namespace ipcx::sys
