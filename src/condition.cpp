// SPDX-License-Identifier: MIT
#include "ipcx/condition.hpp"

#include <climits>

#include "sys/futex.hpp"

namespace ipcx {

Result<LockResult> Condition::wait(Mutex& m, Deadline d) {
  // Read under the mutex: any notify that follows a predicate change made under the mutex
  // after this point bumps seq_ past this value.
  const std::uint32_t seen = seq_.load(std::memory_order_acquire);
  // seq_cst, paired with the notifier's seq_cst bump and load of waiters_: either the
  // notifier sees this waiter, or this waiter's futex check sees the new sequence.
  waiters_.fetch_add(1, std::memory_order_seq_cst);
  if (auto u = m.unlock(); !u) {
    waiters_.fetch_sub(1, std::memory_order_relaxed);
    return fail(std::move(u.error()).with_op("Condition::wait"));
  }
  // EINTR comes back as success (spurious); would_block means a notify came first.
  auto w = sys::futex_wait(&seq_, seen, d);
  waiters_.fetch_sub(1, std::memory_order_relaxed);
  auto relock = m.lock(Deadline::never());
  if (!relock) return relock;
  if (*relock == LockResult::owner_died) return relock;
  if (!w && w.error().timed_out()) return fail(Errc::timed_out, "Condition::wait");
  if (!w && !w.error().would_block()) return fail(std::move(w.error()));
  return LockResult::acquired;
}

Result<void> Condition::notify_one() {
  seq_.fetch_add(1, std::memory_order_seq_cst);
  if (waiters_.load(std::memory_order_seq_cst) == 0) return {};
  auto r = sys::futex_wake(&seq_, 1);
  if (!r) return fail(std::move(r.error()));
  return {};
}

Result<void> Condition::notify_all() {
  seq_.fetch_add(1, std::memory_order_seq_cst);
  if (waiters_.load(std::memory_order_seq_cst) == 0) return {};
  auto r = sys::futex_wake(&seq_, INT_MAX);
  if (!r) return fail(std::move(r.error()));
  return {};
}

}  // namespace ipcx
