// SPDX-License-Identifier: MIT
#include "ipcx/mutex.hpp"

#include <cerrno>

namespace ipcx {
namespace {

Result<LockResult> lock_outcome(int rc, const char* op) {
  switch (rc) {
    case 0: return LockResult::acquired;
    case EOWNERDEAD: return LockResult::owner_died;
    case EBUSY: return fail(Errc::would_block, op, {}, "held by another thread or process");
    case ETIMEDOUT: return fail(Errc::timed_out, op);
    case ENOTRECOVERABLE:
      return fail(Error::from_errno(op, rc).with_detail(
          "an owner died holding it and it was unlocked without mark_consistent(); reinitialize() it "
          "once nobody uses it"));
    case EDEADLK: return fail(Errc::invalid_argument, op, {}, "this thread already holds it");
    default: return fail_errno(op, rc);
  }
}

}  // namespace

int Mutex::init() noexcept {
  pthread_mutexattr_t a;
  int rc = pthread_mutexattr_init(&a);
  if (rc != 0) return rc;
  // Process-shared: the mutex lives in a segment mapped by several processes.
  if (rc == 0) rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  // Robust: a dead owner's lock is released by the kernel and the next locker is told.
  if (rc == 0) rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  // Error-checking: a relock by the owner is EDEADLK instead of a silent self-deadlock.
  if (rc == 0) rc = pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
  if (rc == 0) rc = pthread_mutex_init(&m_, &a);
  pthread_mutexattr_destroy(&a);
  return rc;
}

Mutex::Mutex() noexcept : m_{} { init_error_ = init(); }

Mutex::~Mutex() {
  if (init_error_ == 0) (void)pthread_mutex_destroy(&m_);
}

Result<LockResult> Mutex::lock(Deadline d) {
  if (init_error_ != 0) return fail_errno("pthread_mutex_init", init_error_);
  // pthread mutex calls never return EINTR (glibc restarts the futex wait itself).
  if (d.is_never()) return lock_outcome(pthread_mutex_lock(&m_), "pthread_mutex_lock");
  if (d.is_immediate()) return lock_outcome(pthread_mutex_trylock(&m_), "pthread_mutex_trylock");
  timespec ts = d.monotonic_timespec();
  return lock_outcome(pthread_mutex_clocklock(&m_, CLOCK_MONOTONIC, &ts), "pthread_mutex_clocklock");
}

Result<void> Mutex::unlock() {
  int rc = pthread_mutex_unlock(&m_);
  if (rc == 0) return {};
  if (rc == EPERM) return fail(Errc::invalid_argument, "pthread_mutex_unlock", {}, "this thread does not hold it");
  return fail_errno("pthread_mutex_unlock", rc);
}

Result<void> Mutex::mark_consistent() {
  int rc = pthread_mutex_consistent(&m_);
  if (rc == 0) return {};
  if (rc == EINVAL) {
    return fail(Errc::invalid_argument, "pthread_mutex_consistent", {},
                "the mutex is not held after an owner died (nothing to mark)");
  }
  return fail_errno("pthread_mutex_consistent", rc);
}

Result<void> Mutex::reinitialize() {
  if (init_error_ == 0) (void)pthread_mutex_destroy(&m_);
  m_ = pthread_mutex_t{};
  init_error_ = init();
  if (init_error_ != 0) return fail_errno("pthread_mutex_init", init_error_);
  return {};
}

Result<MutexLock> MutexLock::acquire(Mutex& m, Deadline d) {
  auto r = m.lock(d);
  if (!r) return fail(std::move(r.error()));
  return MutexLock(&m, *r == LockResult::owner_died);
}

Result<void> MutexLock::mark_consistent() {
  if (!m_) return fail(Errc::invalid_argument, "pthread_mutex_consistent", {}, "no mutex held");
  auto r = m_->mark_consistent();
  if (r) owner_died_ = false;
  return r;
}

Result<void> MutexLock::unlock() {
  if (!m_) return {};
  auto r = std::exchange(m_, nullptr)->unlock();
  owner_died_ = false;
  return r;
}

}  // namespace ipcx
