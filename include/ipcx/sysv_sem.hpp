// SPDX-License-Identifier: MIT
// ipcx::SysvSemSet — a System V semaphore set (semget, semop/semtimedop, semctl).
//
//   auto set = ipcx::SysvSemSet::create(0x1234, 2);           // 0600, IPC_EXCL, all zero
//   set->set_value(0, 1);                                      // SETVAL
//   set->op({{.index = 0, .delta = -1, .undo = true}}, ipcx::Deadline::after(1s));
//
// op() applies several operations to several semaphores atomically: all of them or none.
// A negative delta waits until the semaphore can be decreased, zero waits until it is
// zero, positive adds. With `undo` (SEM_UNDO) the kernel reverses the operation when the
// process exits, however it exits (SIGKILL included): the robust way to hold a unit.
// Deadline::immediate() adds IPC_NOWAIT (would_block); a timed wait is semtimedop with
// the time left to the deadline, re-waited on EINTR; removal of the set while waiting is
// Errc::peer_gone (EIDRM).
//
// The creator owns the set: it is removed (IPC_RMID) when the creating SysvSemSet is
// destroyed, unless keep() was called (fd.hpp). Removal is immediate for a set: every waiter
// wakes with EIDRM. A SysvSemSet is move-only; its calls are thread-safe (each is one
// system call) and the set itself is process-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <utility>
#include <vector>

#include "ipcx/deadline.hpp"
#include "ipcx/error.hpp"
#include "ipcx/sysv.hpp"  // SysvPermissions, ftok

namespace ipcx {

struct SysvSemOptions {
  unsigned mode = 0600;
  bool exclusive = true;  // IPC_EXCL: fail with EEXIST rather than open someone else's set
};

// One operation of a semop call.
struct SemOp {
  std::uint16_t index = 0;  // which semaphore of the set
  std::int16_t delta = 0;   // < 0 take, 0 wait for zero, > 0 give
  bool undo = false;        // SEM_UNDO
  bool nowait = false;      // IPC_NOWAIT for this operation alone
};

// The wait/post shorthands' units and SEM_UNDO: set.post(0, {.undo = false}).
struct SemUnits {
  std::int16_t count = 1;  // units taken or given
  bool undo = true;        // SEM_UNDO: the kernel reverses it when this process exits
};

// What IPC_STAT (and the per-semaphore semctl calls) report.
struct SysvSemInfo {
  int id = -1;
  key_t key = 0;
  std::size_t count = 0;  // semaphores in the set
  unsigned mode = 0;
  uid_t uid = 0, gid = 0, cuid = 0, cgid = 0;
  std::chrono::system_clock::time_point last_op;  // sem_otime (epoch if never)
  std::chrono::system_clock::time_point changed;  // sem_ctime
  struct Semaphore {
    unsigned short value = 0;
    pid_t last_pid = 0;        // GETPID
    int waiting_increase = 0;  // GETNCNT
    int waiting_zero = 0;      // GETZCNT
  };
  std::vector<Semaphore> semaphores;
};

class SysvSemSet {
 public:
  SysvSemSet() noexcept = default;
  ~SysvSemSet();
  SysvSemSet(const SysvSemSet&) = delete;
  SysvSemSet& operator=(const SysvSemSet&) = delete;
  SysvSemSet(SysvSemSet&& o) noexcept
      : id_(std::exchange(o.id_, -1)), key_(o.key_), count_(o.count_), owns_(std::exchange(o.owns_, false)) {}
  SysvSemSet& operator=(SysvSemSet&& o) noexcept;

  // semget(key, count, IPC_CREAT[|IPC_EXCL]|mode). All semaphores start at 0 (Linux).
  // Kernel limits (kernel.sem: SEMMSL per set, SEMMNI sets) are named in the error.
  static Result<SysvSemSet> create(key_t key, std::size_t count, const SysvSemOptions& o = {});
  static Result<SysvSemSet> create_private(std::size_t count, const SysvSemOptions& o = {});
  // semget(key, 0, 0): an existing set.
  static Result<SysvSemSet> open(key_t key);
  // A set known by id (IPC_STAT checks it exists and reads its size).
  static Result<SysvSemSet> open_id(int id);
  // ftok(path, proj_id).
  static Result<key_t> key_for(const char* path, int proj_id);

  // For `ipcx stat sysvsem://KEY` / `ipcx rm sysvsem://KEY` (and by id).
  static Result<SysvSemInfo> stat(int id);
  static Result<SysvSemInfo> stat_key(key_t key);
  static Result<void> remove(int id);
  static Result<void> remove_key(key_t key);

  // semop/semtimedop: every operation or none. See the header comment for the deadline.
  Result<void> op(std::span<const SemOp> ops, Deadline d = Deadline::never());
  Result<void> op(std::initializer_list<SemOp> ops, Deadline d = Deadline::never()) {
    return op(std::span<const SemOp>(ops.begin(), ops.size()), d);
  }
  // Shorthands for one operation, named as PosixSemaphore names them: wait takes units
  // (P), post gives them (V).
  Result<void> wait(std::uint16_t index, Deadline d = Deadline::never(), SemUnits u = {}) {
    return op({SemOp{.index = index, .delta = static_cast<std::int16_t>(-u.count), .undo = u.undo}}, d);
  }
  Result<void> post(std::uint16_t index, SemUnits u = {}) {
    return op({SemOp{.index = index, .delta = u.count, .undo = u.undo}}, Deadline::never());
  }
  Result<void> wait_zero(std::uint16_t index, Deadline d = Deadline::never()) {
    return op({SemOp{.index = index, .delta = 0}}, d);
  }

  Result<int> value(std::uint16_t index) const;                          // GETVAL
  Result<void> set_value(std::uint16_t index, int value);                // SETVAL
  Result<std::vector<unsigned short>> values() const;                    // GETALL
  Result<void> set_values(std::span<const unsigned short> values);       // SETALL
  Result<pid_t> last_pid(std::uint16_t index) const;                     // GETPID
  Result<int> waiting_for_increase(std::uint16_t index) const;           // GETNCNT
  Result<int> waiting_for_zero(std::uint16_t index) const;               // GETZCNT
  Result<SysvSemInfo> stat() const { return stat(id_); }                 // IPC_STAT
  Result<void> set_permissions(const SysvPermissions& p);                // IPC_SET
  Result<void> remove();                                                 // IPC_RMID

  int id() const noexcept { return id_; }
  key_t key() const noexcept { return key_; }
  std::size_t size() const noexcept { return count_; }
  bool valid() const noexcept { return id_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }
  bool owns() const noexcept { return owns_; }  // fd.hpp
  void keep() noexcept { owns_ = false; }

 private:
  Result<void> check_index(std::uint16_t index, const char* op) const;
  int id_ = -1;
  key_t key_ = 0;
  std::size_t count_ = 0;
  bool owns_ = false;
};

}  // namespace ipcx
