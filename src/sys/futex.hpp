// SPDX-License-Identifier: MIT
// futex(2) on 32-bit words in shared memory (never FUTEX_PRIVATE_FLAG: the words are
// shared between processes).
#pragma once

#include <atomic>
#include <cstdint>

#include "ipcx/deadline.hpp"
#include "ipcx/error.hpp"

namespace ipcx::sys {

// Sleeps while *word == expected, until woken or the deadline (absolute CLOCK_MONOTONIC,
// FUTEX_WAIT_BITSET). Returns would_block if *word != expected at the call, timed_out at
// the deadline. EINTR is returned to the caller as success (a spurious wake-up): the
// caller re-checks its condition and waits again, which it must do anyway.
Result<void> futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected, Deadline d);
// Wakes up to `count` waiters (INT32_MAX: all); returns how many were woken. No EINTR.
Result<int> futex_wake(std::atomic<std::uint32_t>* word, int count);

}  // namespace ipcx::sys
