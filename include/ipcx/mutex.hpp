// SPDX-License-Identifier: MIT
// ipcx::Mutex — a robust, process-shared mutex that lives in shared memory.
//
//   auto* m = new (map.data()) ipcx::Mutex;          // once, by the segment's creator
//   auto g = ipcx::MutexLock::acquire(*m, ipcx::Deadline::after(1s));
//   if (g && g->owner_died()) { repair(); (void)g->mark_consistent(); }
//
// A pthread mutex with PTHREAD_PROCESS_SHARED, PTHREAD_MUTEX_ROBUST and
// PTHREAD_MUTEX_ERRORCHECK. When the process (or thread) holding it dies — SIGKILL
// included — the kernel releases it (the robust futex list) and the next locker gets the
// lock together with LockResult::owner_died: the data it protects may be half-updated.
// That locker either repairs the data and calls mark_consistent(), after which the mutex
// is normal again, or unlocks without it, after which the mutex is unrecoverable: every
// later lock fails with code() == ENOTRECOVERABLE (is_unrecoverable(e)) until someone
// who knows nobody uses it calls reinitialize().
//
// Limits worth knowing: the owner is recorded by thread id, so processes sharing a mutex
// must be in the same PID namespace. The kernel finds a dead owner's mutexes through a
// list linked through the mutexes themselves, so a held mutex must stay mapped (at the
// same address) in its owner: one unmapped while held is never released.
//
// Construct it in place in a shared mapping, once (see placement.hpp to do that safely);
// never copy or move it. Its members are thread- and process-safe.
#pragma once

#include <pthread.h>

#include <chrono>
#include <cstdint>
#include <utility>

#include "ipcx/deadline.hpp"
#include "ipcx/error.hpp"

namespace ipcx {

// What a successful lock found.
enum class LockResult : std::uint8_t {
  acquired,    // an ordinary acquisition
  owner_died,  // acquired, but the previous owner died holding it: repair, mark_consistent()
};

class Mutex {
 public:
  // pthread_mutex_init with the attributes above. It cannot fail on Linux for these
  // attributes; if it ever did, every lock reports that error.
  Mutex() noexcept;
  // pthread_mutex_destroy: only when no process uses the mutex any more. A mutex in a
  // segment that simply outlives its users needs no destruction.
  ~Mutex();
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  // Blocks until acquired (pthread_mutex_lock) or the deadline (pthread_mutex_clocklock on
  // CLOCK_MONOTONIC; Deadline::immediate() is try_lock). timed_out at the deadline;
  // would_block from try_lock; ENOTRECOVERABLE if unrecoverable; invalid_argument
  // (EDEADLK) if this thread already holds it.
  Result<LockResult> lock(Deadline d = Deadline::never());
  Result<LockResult> try_lock() { return lock(Deadline::immediate()); }
  template <typename Rep, typename Period>
  Result<LockResult> lock_for(std::chrono::duration<Rep, Period> t) {
    return lock(Deadline::after(t));
  }
  Result<LockResult> lock_until(Deadline::Clock::time_point t) { return lock(Deadline::at(t)); }

  // pthread_mutex_unlock. invalid_argument (EPERM) if this thread does not hold it.
  Result<void> unlock();
  // pthread_mutex_consistent: after owner_died, once the data is repaired. EINVAL if the
  // mutex is not in the owner-died state or not held.
  Result<void> mark_consistent();
  // Destroys and re-initialises an unrecoverable mutex. Only safe while no other thread
  // or process is using it (nothing checks that: the caller knows).
  Result<void> reinitialize();

  static bool is_unrecoverable(const Error& e) noexcept { return e.code() == ENOTRECOVERABLE; }

  pthread_mutex_t* native_handle() noexcept { return &m_; }

 private:
  int init() noexcept;

  pthread_mutex_t m_;
  int init_error_ = 0;  // non-zero: pthread_mutex_init failed with this errno
};

// Holds a Mutex; unlocks at destruction. Move-only; not thread-safe (one owner).
class MutexLock {
 public:
  MutexLock() noexcept = default;
  static Result<MutexLock> acquire(Mutex& m, Deadline d = Deadline::never());
  static Result<MutexLock> try_acquire(Mutex& m) { return acquire(m, Deadline::immediate()); }
  ~MutexLock() { (void)unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;
  MutexLock(MutexLock&& o) noexcept
      : m_(std::exchange(o.m_, nullptr)), owner_died_(std::exchange(o.owner_died_, false)) {}
  MutexLock& operator=(MutexLock&& o) noexcept {
    if (this != &o) {
      (void)unlock();
      m_ = std::exchange(o.m_, nullptr);
      owner_died_ = std::exchange(o.owner_died_, false);
    }
    return *this;
  }

  bool owns_lock() const noexcept { return m_ != nullptr; }
  explicit operator bool() const noexcept { return owns_lock(); }
  Mutex* mutex() const noexcept { return m_; }
  // The previous owner died holding it (until mark_consistent()).
  bool owner_died() const noexcept { return owner_died_; }
  Result<void> mark_consistent();
  Result<void> unlock();
  // Forgets the mutex without unlocking it (it stays held).
  Mutex* release() noexcept { return std::exchange(m_, nullptr); }

 private:
  MutexLock(Mutex* m, bool died) noexcept : m_(m), owner_died_(died) {}
  Mutex* m_ = nullptr;
  bool owner_died_ = false;
};

}  // namespace ipcx
