// SPDX-License-Identifier: MIT
// ipcx::Condition — a process-shared condition variable for ipcx::Mutex, in shared memory.
//
//   auto g = ipcx::MutexLock::acquire(s->lock);               // s: a struct in a segment
//   while (!s->ready) (void)s->cond.wait(s->lock, ipcx::Deadline::after(1s));
//   // elsewhere: { lock; s->ready = true; unlock; } s->cond.notify_all();
//
// Built on a futex (a sequence word), not on pthread_cond_t, because glibc's condition
// variable keeps per-waiter state in shared memory that a dead process never gives back:
// after a waiter is killed a later pthread_cond_signal can be spent on the dead waiter
// (waking nobody alive) and pthread_cond_destroy can block forever. Here a waiter holds
// no state but a hint counter, so:
//   - a waiter that dies while waiting changes nothing for the others: the kernel drops
//     it from the futex queue; notify_one() wakes a live waiter. (The waiter count it
//     leaves raised only makes later notifies enter the kernel when nobody waits.)
//   - a waiter that dies after waking, while re-acquiring or holding the mutex, is the
//     mutex's business: the next locker gets LockResult::owner_died.
//   - a signaller that dies holding the mutex: the same, owner_died for the next locker.
//     One that dies between changing the predicate (under the mutex) and notifying leaves
//     the waiters asleep until their deadline or the next notify: where a peer can die,
//     wait with a deadline and re-check the predicate.
// Spurious wake-ups happen (a signal to the waiter, a notify that raced the wait): wait
// in a loop on the predicate, or use the predicate overload.
//
// All members are thread- and process-safe. Construct in place once; never copy or move.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "ipcx/deadline.hpp"
#include "ipcx/error.hpp"
#include "ipcx/mutex.hpp"

namespace ipcx {

class Condition {
 public:
  constexpr Condition() noexcept = default;
  Condition(const Condition&) = delete;
  Condition& operator=(const Condition&) = delete;

  // The caller holds `m`. Releases it, sleeps until notified (or spuriously) or the
  // deadline, and re-acquires it — always, even at the deadline, and without a deadline of
  // its own (as pthread_cond_timedwait does). Returns:
  //   acquired     woken (or spuriously): check the predicate
  //   owner_died   woken, and the mutex's previous owner died: repair, mark_consistent()
  //   timed_out    the deadline passed; the mutex is held again
  //   other errors the mutex could not be re-acquired (e.g. ENOTRECOVERABLE): NOT held;
  //                or `m` was not held by this thread (invalid_argument): nothing waited.
  Result<LockResult> wait(Mutex& m, Deadline d = Deadline::never());
  template <typename Rep, typename Period>
  Result<LockResult> wait_for(Mutex& m, std::chrono::duration<Rep, Period> t) {
    return wait(m, Deadline::after(t));
  }
  Result<LockResult> wait_until(Mutex& m, Deadline::Clock::time_point t) { return wait(m, Deadline::at(t)); }

  // Waits until pred() holds (checked under the mutex). Returns acquired when it does,
  // timed_out if the deadline passes first, and returns owner_died as soon as a
  // re-acquisition reports it, before checking pred: the caller repairs, marks the mutex
  // consistent and calls again.
  template <typename Pred>
  Result<LockResult> wait(Mutex& m, Deadline d, Pred pred) {
    while (!pred()) {
      auto r = wait(m, d);
      if (!r) {
        if (r.error().timed_out() && pred()) return LockResult::acquired;
        return r;
      }
      if (*r == LockResult::owner_died) return r;
    }
    return LockResult::acquired;
  }

  // Wake one / every waiter. The predicate should be changed under the mutex before; the
  // notify itself may be made with or without holding it.
  Result<void> notify_one();
  Result<void> notify_all();

 private:
  // Bumped by every notify; a waiter sleeps on the value it read under the mutex, so a
  // notify between its unlock and its sleep makes the sleep return at once.
  std::atomic<std::uint32_t> seq_{0};
  // Waiters between their increment and their wake: lets notify skip the syscall when it
  // is 0. A hint only (a dead waiter leaves it raised).
  std::atomic<std::uint32_t> waiters_{0};
};

static_assert(sizeof(Condition) == 8, "Condition is two 32-bit words (a layout ABI)");

}  // namespace ipcx
