// SPDX-License-Identifier: MIT
// ipcx::Futex — wait and wake on a 32-bit word in shared memory, across processes.
//
//   auto* f = ...;                        // an ipcx::Futex placed in a shared mapping
//   while (f->load() == 0) (void)f->wait(0, ipcx::Deadline::after(1s));   // one process
//   f->store(1); f->wake_all();                                             // another one
//
// Futex is exactly one std::atomic<std::uint32_t> (static_assert'ed): put it in a segment
// layout, or use the free functions on an atomic word you already have. The futexes are
// shared (never FUTEX_PRIVATE_FLAG): the kernel keys them by the physical page, so two
// processes that map the same segment at different addresses meet on the same word.
//
// wait(expected, deadline) sleeps only while the word equals `expected`, and returns:
//   - success: woken — by a wake, or SPURIOUSLY (a signal handler ran: EINTR; or another
//     word on the same page was woken after a remap; or the wake was meant for an older
//     value). Success never means the condition holds: re-read the word and loop.
//   - Errc::would_block: the word was not `expected` when the kernel looked (no sleep).
//   - Errc::timed_out: the absolute CLOCK_MONOTONIC deadline passed.
// A wake with no sleeper is lost (it is not remembered): change the word first, then wake,
// and have the waiter pass the value it saw, so that a change between its read and its
// sleep makes the kernel return would_block instead of sleeping through it.
// A process that dies while waiting simply leaves the queue; one that dies between its
// store and its wake leaves waiters asleep until their deadline: wait with a deadline
// where a peer can die.
// All members are thread-safe and process-safe (they are atomic operations and syscalls).
#pragma once

#include <atomic>
#include <climits>
#include <cstdint>

#include "ipcx/deadline.hpp"
#include "ipcx/error.hpp"

namespace ipcx {

// Free functions on any 32-bit atomic word that lives in memory shared between processes.
Result<void> futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, Deadline d = Deadline::never());
// Wake at most `count` waiters; returns how many the kernel woke.
Result<int> futex_wake(std::atomic<std::uint32_t>& word, int count);
inline Result<int> futex_wake_one(std::atomic<std::uint32_t>& word) { return futex_wake(word, 1); }
inline Result<int> futex_wake_all(std::atomic<std::uint32_t>& word) { return futex_wake(word, INT_MAX); }

class Futex {
 public:
  constexpr Futex() noexcept = default;
  constexpr explicit Futex(std::uint32_t initial) noexcept : word_(initial) {}
  Futex(const Futex&) = delete;
  Futex& operator=(const Futex&) = delete;

  // Acquire/release by default: a waiter that sees the new value also sees what the
  // waker wrote before storing it.
  std::uint32_t load(std::memory_order mo = std::memory_order_acquire) const noexcept { return word_.load(mo); }
  void store(std::uint32_t v, std::memory_order mo = std::memory_order_release) noexcept { word_.store(v, mo); }
  std::uint32_t fetch_add(std::uint32_t v, std::memory_order mo = std::memory_order_acq_rel) noexcept {
    return word_.fetch_add(v, mo);
  }
  bool compare_exchange(std::uint32_t& expected, std::uint32_t desired) noexcept {
    return word_.compare_exchange_strong(expected, desired, std::memory_order_acq_rel, std::memory_order_acquire);
  }
  std::atomic<std::uint32_t>& word() noexcept { return word_; }

  Result<void> wait(std::uint32_t expected, Deadline d = Deadline::never()) { return futex_wait(word_, expected, d); }
  template <typename Rep, typename Period>
  Result<void> wait_for(std::uint32_t expected, std::chrono::duration<Rep, Period> t) {
    return futex_wait(word_, expected, Deadline::after(t));
  }
  Result<void> wait_until(std::uint32_t expected, Deadline::Clock::time_point t) {
    return futex_wait(word_, expected, Deadline::at(t));
  }
  Result<int> wake_one() { return futex_wake(word_, 1); }
  Result<int> wake(int count) { return futex_wake(word_, count); }
  Result<int> wake_all() { return futex_wake(word_, INT_MAX); }

 private:
  std::atomic<std::uint32_t> word_{0};
};

static_assert(sizeof(Futex) == 4 && alignof(Futex) == 4, "a futex is one 32-bit word");
static_assert(std::atomic<std::uint32_t>::is_always_lock_free, "futex words must be lock-free");

}  // namespace ipcx
