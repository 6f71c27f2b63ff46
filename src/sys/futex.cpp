// SPDX-License-Identifier: MIT
#include "sys/futex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace ipcx::sys {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t), "futex word must be 32 bits");

Result<void> futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected, Deadline d) {
  if (d.is_immediate()) {
    return word->load(std::memory_order_acquire) == expected ? fail(Errc::timed_out, "futex_wait")
                                                             : fail(Errc::would_block, "futex_wait");
  }
  timespec ts = d.monotonic_timespec();
  long r = ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_BITSET, expected,
                     d.is_never() ? nullptr : &ts, nullptr, FUTEX_BITSET_MATCH_ANY);
  if (r == 0) return {};
  switch (errno) {
    case EINTR: return {};
    case EAGAIN: return fail(Errc::would_block, "futex_wait");
    case ETIMEDOUT: return fail(Errc::timed_out, "futex_wait");
    default: return fail_errno("futex_wait", errno);
  }
}

Result<int> futex_wake(std::atomic<std::uint32_t>* word, int count) {
  long r = ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE, count, nullptr, nullptr, 0);
  if (r < 0) return fail_errno("futex_wake", errno);
  return static_cast<int>(r);
}

}  // namespace ipcx::sys
