// SPDX-License-Identifier: MIT
// POSIX semaphores: named (ipcx::PosixSemaphore, sem_open) and unnamed in shared memory
// (ipcx::UnnamedSemaphore, sem_init with pshared).
//
//   auto s = ipcx::PosixSemaphore::create("/jobs", 0);          // 0600, exclusive
//   auto t = ipcx::PosixSemaphore::open("/jobs");               // another process
//   t->post();  s->wait(ipcx::Deadline::after(1s));             // timed_out at the deadline
//
// Waits take a Deadline: never (sem_wait), immediate (sem_trywait: would_block), or an
// absolute CLOCK_MONOTONIC time (sem_clockwait: timed_out), re-waiting on EINTR.
//
// Process death: a POSIX semaphore is a bare counter. A process killed after a wait and
// before its post never gives its unit back, and nothing tells the others. Where a holder
// can die and the unit must come back, use a System V set with SEM_UNDO (sysv_sem.hpp) or
// a robust Mutex (mutex.hpp). A process killed while waiting loses nothing.
//
// A named semaphore is the file /dev/shm/sem.NAME. The creator owns the name: it is
// unlinked when the creating PosixSemaphore is destroyed, unless keep() was called (fd.hpp).
// Unlinking removes only the name; processes that have it open keep using it.
#pragma once

#include <semaphore.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "ipcx/deadline.hpp"
#include "ipcx/error.hpp"

namespace ipcx {

struct PosixSemaphoreOptions {
  unsigned mode = 0600;  // exactly this mode (the umask does not narrow it)
};

// What stat() reports about a named semaphore.
struct PosixSemaphoreInfo {
  std::string name;               // "/jobs"
  std::string path;               // "/dev/shm/sem.jobs"
  unsigned mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::optional<int> value;       // empty if this process may not open it
  std::chrono::system_clock::time_point changed;  // st_ctime
};

class PosixSemaphore {
 public:
  PosixSemaphore() noexcept = default;
  ~PosixSemaphore();
  PosixSemaphore(const PosixSemaphore&) = delete;
  PosixSemaphore& operator=(const PosixSemaphore&) = delete;
  PosixSemaphore(PosixSemaphore&& o) noexcept
      : sem_(std::exchange(o.sem_, nullptr)), name_(std::move(o.name_)), owns_name_(std::exchange(o.owns_name_, false)) {}
  PosixSemaphore& operator=(PosixSemaphore&& o) noexcept;

  // sem_open(O_CREAT|O_EXCL) with `initial` units (at most SEM_VALUE_MAX). EEXIST if the
  // name exists.
  static Result<PosixSemaphore> create(std::string_view name, unsigned initial, const PosixSemaphoreOptions& o = {});
  // sem_open of an existing semaphore. ENOENT if none.
  static Result<PosixSemaphore> open(std::string_view name);

  // For `ipcx stat posixsem:///NAME`.
  static Result<PosixSemaphoreInfo> stat(std::string_view name);
  // For `ipcx rm posixsem:///NAME`: sem_unlink. ENOENT if there is no such name.
  static Result<void> unlink(std::string_view name);
  // A name sem_open accepts: a POSIX IPC name of at most 251 bytes after the '/'
  // (glibc prefixes "sem." and the file name is limited to NAME_MAX).
  static Result<void> validate_name(std::string_view name);

  Result<void> wait(Deadline d = Deadline::never());
  Result<void> try_wait() { return wait(Deadline::immediate()); }
  template <typename Rep, typename Period>
  Result<void> wait_for(std::chrono::duration<Rep, Period> t) {
    return wait(Deadline::after(t));
  }
  Result<void> wait_until(Deadline::Clock::time_point t) { return wait(Deadline::at(t)); }
  Result<void> post();
  // The count now (racy: it may have changed by the time the caller looks).
  Result<int> value() const;

  const std::string& name() const noexcept { return name_; }
  bool valid() const noexcept { return sem_ != nullptr; }
  explicit operator bool() const noexcept { return valid(); }
  bool owns() const noexcept { return owns_name_; }
  void keep() noexcept { owns_name_ = false; }
  Result<void> unlink_now();

 private:
  void reset() noexcept;
  sem_t* sem_ = nullptr;
  std::string name_;
  bool owns_name_ = false;
};

// A semaphore that lives in shared memory (sem_init with pshared = 1): construct it in
// place in a segment, once; any process that maps the segment uses it. Never copy or move
// it. Thread- and process-safe.
class UnnamedSemaphore {
 public:
  // sem_init. It fails only for initial > SEM_VALUE_MAX; then every call reports that.
  explicit UnnamedSemaphore(unsigned initial = 0) noexcept;
  // sem_destroy: only when no process uses it any more.
  ~UnnamedSemaphore();
  UnnamedSemaphore(const UnnamedSemaphore&) = delete;
  UnnamedSemaphore& operator=(const UnnamedSemaphore&) = delete;

  Result<void> wait(Deadline d = Deadline::never());
  Result<void> try_wait() { return wait(Deadline::immediate()); }
  template <typename Rep, typename Period>
  Result<void> wait_for(std::chrono::duration<Rep, Period> t) {
    return wait(Deadline::after(t));
  }
  Result<void> wait_until(Deadline::Clock::time_point t) { return wait(Deadline::at(t)); }
  Result<void> post();
  Result<int> value();  // racy, as above

 private:
  sem_t sem_;
  int init_error_ = 0;
};

}  // namespace ipcx
