// SPDX-License-Identifier: MIT
#include "sys/sem.hpp"

#include <fcntl.h>

#include <cerrno>
#include <vector>

namespace ipcx::sys {
namespace {

// The fourth argument of semctl, which the caller must define (sem_ctl(2)).
union semun {
  int val;
  semid_ds* buf;
  unsigned short* array;
};

}  // namespace

Result<sem_t*> sem_open(const char* name, int oflag, mode_t mode, unsigned value) {
  sem_t* s = ::sem_open(name, oflag, mode, value);
  if (s == SEM_FAILED) return fail_errno("sem_open", errno, name);
  return s;
}

Result<void> sem_close(sem_t* s) {
  if (::sem_close(s) != 0) return fail_errno("sem_close", errno);
  return {};
}

Result<void> sem_unlink(const char* name) {
  if (::sem_unlink(name) != 0) return fail_errno("sem_unlink", errno, name);
  return {};
}

Result<void> sem_init(sem_t* s, unsigned value) {
  if (::sem_init(s, 1, value) != 0) return fail_errno("sem_init", errno);
  return {};
}

Result<void> sem_destroy(sem_t* s) {
  if (::sem_destroy(s) != 0) return fail_errno("sem_destroy", errno);
  return {};
}

Result<void> sem_wait(sem_t* s, Deadline d) {
  if (d.is_immediate()) {
    for (;;) {
      if (::sem_trywait(s) == 0) return {};
      if (errno == EAGAIN) return fail(Errc::would_block, "sem_trywait");
      if (errno != EINTR) return fail_errno("sem_trywait", errno);
    }
  }
  if (d.is_never()) {
    for (;;) {
      if (::sem_wait(s) == 0) return {};
      if (errno != EINTR) return fail_errno("sem_wait", errno);
    }
  }
  const timespec ts = d.monotonic_timespec();
  for (;;) {
    if (::sem_clockwait(s, CLOCK_MONOTONIC, &ts) == 0) return {};
    if (errno == ETIMEDOUT) return fail(Errc::timed_out, "sem_clockwait");
    if (errno != EINTR) return fail_errno("sem_clockwait", errno);
  }
}

Result<void> sem_post(sem_t* s) {
  if (::sem_post(s) != 0) return fail_errno("sem_post", errno);
  return {};
}

Result<int> sem_getvalue(sem_t* s) {
  int v = 0;
  if (::sem_getvalue(s, &v) != 0) return fail_errno("sem_getvalue", errno);
  return v;
}

Result<int> semget(key_t key, int nsems, int flags) {
  int id = ::semget(key, nsems, flags);
  if (id < 0) return fail_errno("semget", errno);
  return id;
}

Result<void> semtimedop(int id, std::span<sembuf> ops, Deadline d) {
  for (;;) {
    timespec rel = d.relative_timespec();
    int r = ::semtimedop(id, ops.data(), ops.size(), d.is_never() ? nullptr : &rel);
    if (r == 0) return {};
    if (errno == EAGAIN) {
      // With IPC_NOWAIT the operation would block; without it, the timeout expired.
      bool nowait = false;
      for (const auto& op : ops) nowait = nowait || (op.sem_flg & IPC_NOWAIT);
      if (nowait || d.is_immediate()) return fail(Errc::would_block, "semop");
      return fail(Errc::timed_out, "semtimedop");
    }
    if (errno != EINTR) return fail_errno("semtimedop", errno);
    if (d.expired()) return fail(Errc::timed_out, "semtimedop");
  }
}

Result<int> semctl_getval(int id, int num) {
  int r = ::semctl(id, num, GETVAL);
  if (r < 0) return fail_errno("semctl(GETVAL)", errno);
  return r;
}

Result<void> semctl_setval(int id, int num, int value) {
  semun arg{};
  arg.val = value;
  if (::semctl(id, num, SETVAL, arg) != 0) return fail_errno("semctl(SETVAL)", errno);
  return {};
}

Result<void> semctl_getall(int id, std::span<unsigned short> out) {
  semun arg{};
  arg.array = out.data();
  if (::semctl(id, 0, GETALL, arg) != 0) return fail_errno("semctl(GETALL)", errno);
  return {};
}

Result<void> semctl_setall(int id, std::span<const unsigned short> values) {
  std::vector<unsigned short> copy(values.begin(), values.end());  // semctl takes a non-const array
  semun arg{};
  arg.array = copy.data();
  if (::semctl(id, 0, SETALL, arg) != 0) return fail_errno("semctl(SETALL)", errno);
  return {};
}

Result<int> semctl_getpid(int id, int num) {
  int r = ::semctl(id, num, GETPID);
  if (r < 0) return fail_errno("semctl(GETPID)", errno);
  return r;
}

Result<int> semctl_getncnt(int id, int num) {
  int r = ::semctl(id, num, GETNCNT);
  if (r < 0) return fail_errno("semctl(GETNCNT)", errno);
  return r;
}

Result<int> semctl_getzcnt(int id, int num) {
  int r = ::semctl(id, num, GETZCNT);
  if (r < 0) return fail_errno("semctl(GETZCNT)", errno);
  return r;
}

Result<semid_ds> semctl_stat(int id) {
  semid_ds ds{};
  semun arg{};
  arg.buf = &ds;
  if (::semctl(id, 0, IPC_STAT, arg) != 0) return fail_errno("semctl(IPC_STAT)", errno);
  return ds;
}

Result<void> semctl_set(int id, const semid_ds& ds) {
  semid_ds copy = ds;
  semun arg{};
  arg.buf = &copy;
  if (::semctl(id, 0, IPC_SET, arg) != 0) return fail_errno("semctl(IPC_SET)", errno);
  return {};
}

Result<void> semctl_rmid(int id) {
  if (::semctl(id, 0, IPC_RMID) != 0) return fail_errno("semctl(IPC_RMID)", errno);
  return {};
}

}  // namespace ipcx::sys
