// SPDX-License-Identifier: MIT
// Thin wrappers over the semaphore calls: POSIX (named and unnamed) and System V sets.
// One function per call, the call's own name, a Result instead of -1/errno, the EINTR
// decision beside each.
#pragma once

#include <semaphore.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/types.h>

#include <cstddef>
#include <span>

#include "ipcx/deadline.hpp"
#include "ipcx/error.hpp"

namespace ipcx::sys {

// sem_open(3): maps /dev/shm/sem.NAME; keeps no descriptor open. No EINTR.
Result<sem_t*> sem_open(const char* name, int oflag, mode_t mode, unsigned value);
Result<void> sem_close(sem_t* s);
Result<void> sem_unlink(const char* name);
// sem_init(3) with pshared = 1 (the semaphore lives in memory shared between processes).
Result<void> sem_init(sem_t* s, unsigned value);
Result<void> sem_destroy(sem_t* s);
// Blocks until the count is above zero and takes one, or the deadline passes: sem_wait for
// never, sem_trywait for immediate (would_block), sem_clockwait on CLOCK_MONOTONIC
// otherwise (timed_out). EINTR re-waits against the same absolute deadline.
Result<void> sem_wait(sem_t* s, Deadline d);
// sem_post(3): EOVERFLOW at SEM_VALUE_MAX. No EINTR.
Result<void> sem_post(sem_t* s);
Result<int> sem_getvalue(sem_t* s);

// System V semaphore sets. semget/semctl never return EINTR.
Result<int> semget(key_t key, int nsems, int flags);
// semtimedop(2) until the deadline (never: no timeout; immediate: the caller adds
// IPC_NOWAIT). EINTR re-waits with the time left to the same deadline: no operation was
// applied when it is returned (the set is changed atomically or not at all).
Result<void> semtimedop(int id, std::span<sembuf> ops, Deadline d);
Result<int> semctl_getval(int id, int num);                       // GETVAL
Result<void> semctl_setval(int id, int num, int value);           // SETVAL
Result<void> semctl_getall(int id, std::span<unsigned short> out);  // GETALL
Result<void> semctl_setall(int id, std::span<const unsigned short> values);  // SETALL
Result<int> semctl_getpid(int id, int num);                       // GETPID
Result<int> semctl_getncnt(int id, int num);                      // GETNCNT
Result<int> semctl_getzcnt(int id, int num);                      // GETZCNT
Result<semid_ds> semctl_stat(int id);                             // IPC_STAT
Result<void> semctl_set(int id, const semid_ds& ds);              // IPC_SET
Result<void> semctl_rmid(int id);                                 // IPC_RMID

}  // namespace ipcx::sys
