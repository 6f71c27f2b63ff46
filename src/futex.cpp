// SPDX-License-Identifier: MIT
#include "ipcx/futex.hpp"

#include "sys/futex.hpp"

namespace ipcx {

Result<void> futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, Deadline d) {
  return sys::futex_wait(&word, expected, d);
}

Result<int> futex_wake(std::atomic<std::uint32_t>& word, int count) {
  if (count <= 0) return fail(Errc::invalid_argument, "futex_wake", {}, "count must be at least 1");
  return sys::futex_wake(&word, count);
}

}  // namespace ipcx
