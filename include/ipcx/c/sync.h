// SPDX-License-Identifier: MIT
/* ipcx C API: synchronisation between processes — the robust mutex and its condition,
 * futex wait/wake on a shared word, POSIX semaphores (named and unnamed) and System V
 * semaphore sets. Included by <ipcx/ipcx.h>.
 *
 *   struct shared { ipcx_mutex lock; ipcx_cond changed; int orders; };   // in a mapping
 *   ipcx_mutex_init(&s->lock, &err);                      // once, before anyone uses it
 *   int r = ipcx_mutex_lock(&s->lock, 1000, &err);        // IPCX_LOCK_OWNER_DIED: repair,
 *   if (r == IPCX_LOCK_OWNER_DIED) { repair(s); ipcx_mutex_consistent(&s->lock, &err); }
 *   s->orders++; ipcx_mutex_unlock(&s->lock, &err);
 *
 * ipcx_mutex, ipcx_cond and ipcx_unnamed_sem live in memory shared between processes (a
 * mapping from shm.h): initialise each once, in place, before another process uses it;
 * never copy one. Their layout is opaque, their size and alignment fixed. All calls here
 * are thread- and process-safe. */
#ifndef IPCX_C_SYNC_H
#define IPCX_C_SYNC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/ipc.h> /* key_t, IPC_PRIVATE */
#include <sys/types.h>
#include <time.h>

#include "ipcx/c/error.h"
#include "ipcx/c/sysv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a successful lock found. */
#define IPCX_LOCK_ACQUIRED 0
#define IPCX_LOCK_OWNER_DIED 1 /* acquired, but the owner died holding it: the data may be half-updated */

/* A pthread mutex, PTHREAD_PROCESS_SHARED, ROBUST and ERRORCHECK. When its holder dies
 * (SIGKILL included) the next locker gets it with IPCX_LOCK_OWNER_DIED; it repairs the data
 * and calls ipcx_mutex_consistent, or unlocks without, after which every lock fails with
 * ENOTRECOVERABLE until ipcx_mutex_reinit. Processes sharing it must be in one PID
 * namespace, and a held mutex must stay mapped in its holder. */
typedef struct ipcx_mutex {
  uint64_t opaque[6];
} ipcx_mutex;
int ipcx_mutex_init(ipcx_mutex* m, ipcx_error* err);
/* timeout_ms: -1 forever, 0 try (IPCX_WOULD_BLOCK), else IPCX_TIMED_OUT. Returns
 * IPCX_LOCK_ACQUIRED, IPCX_LOCK_OWNER_DIED or -1: also IPCX_INVALID_ARGUMENT for a mutex this
 * thread already holds (error-checking: no self-deadlock), and ENOTRECOVERABLE (IPCX_SYSTEM)
 * for a mutex unlocked without being made consistent. */
int ipcx_mutex_lock(ipcx_mutex* m, long timeout_ms, ipcx_error* err);
int ipcx_mutex_unlock(ipcx_mutex* m, ipcx_error* err);
/* After IPCX_LOCK_OWNER_DIED, once the data is repaired, while holding it. */
int ipcx_mutex_consistent(ipcx_mutex* m, ipcx_error* err);
/* Re-initialises an unrecoverable mutex; only while nobody else uses it. */
int ipcx_mutex_reinit(ipcx_mutex* m, ipcx_error* err);
/* pthread_mutex_destroy; only when no process uses it any more. */
void ipcx_mutex_destroy(ipcx_mutex* m);

/* A condition for ipcx_mutex, built on a futex: a waiter killed while waiting changes
 * nothing for the others (unlike pthread_cond_t, whose state a dead waiter keeps). Wake-ups
 * may be spurious: wait in a loop on the predicate. */
typedef struct ipcx_cond {
  uint32_t opaque[2];
} ipcx_cond;
int ipcx_cond_init(ipcx_cond* c, ipcx_error* err);
/* The caller holds m. Releases it, sleeps until signalled (or spuriously) or the timeout,
 * and re-acquires it. Returns IPCX_LOCK_ACQUIRED or IPCX_LOCK_OWNER_DIED (woken, m held),
 * or -1: IPCX_TIMED_OUT with m held again; any other error with m NOT held. */
int ipcx_cond_wait(ipcx_cond* c, ipcx_mutex* m, long timeout_ms, ipcx_error* err);
int ipcx_cond_signal(ipcx_cond* c, ipcx_error* err);
int ipcx_cond_broadcast(ipcx_cond* c, ipcx_error* err);

/* Futex wait/wake on a 32-bit word in shared memory (never FUTEX_PRIVATE: processes meet on
 * the word even when they map it at different addresses). ipcx_futex_wait sleeps only
 * while *word == expected: returns 0 when woken (or spuriously: re-read the word and loop),
 * -1 with IPCX_WOULD_BLOCK if the word was not `expected`, IPCX_TIMED_OUT at the timeout.
 * A wake with no sleeper is lost: store first, then wake. load/store are acquire/release. */
int ipcx_futex_wait(uint32_t* word, uint32_t expected, long timeout_ms, ipcx_error* err);
/* Wakes at most `count` waiters (INT_MAX: all); returns how many woke, or -1. */
int ipcx_futex_wake(uint32_t* word, int count, ipcx_error* err);
uint32_t ipcx_futex_load(const uint32_t* word);
void ipcx_futex_store(uint32_t* word, uint32_t value);
/* Atomically adds; returns the value before. */
uint32_t ipcx_futex_add(uint32_t* word, uint32_t value);

/* POSIX named semaphore ("/jobs", the file /dev/shm/sem.jobs). A bare counter: a process
 * killed between its wait and its post never gives the unit back (use a System V set with
 * IPCX_SEM_UNDO where that matters). The creator unlinks the name on close unless kept. */
typedef struct ipcx_sem ipcx_sem;
/* sem_open(O_CREAT|O_EXCL) with exactly `mode`. EEXIST if the name exists. */
ipcx_sem* ipcx_sem_create(const char* name, unsigned initial, unsigned mode, ipcx_error* err);
ipcx_sem* ipcx_sem_open(const char* name, ipcx_error* err);
/* timeout_ms as everywhere (0: sem_trywait). Returns 0 or -1. */
int ipcx_sem_wait(ipcx_sem* s, long timeout_ms, ipcx_error* err);
int ipcx_sem_post(ipcx_sem* s, ipcx_error* err);
/* The count now (racy), or -1. */
int ipcx_sem_value(ipcx_sem* s, ipcx_error* err);
void ipcx_sem_keep(ipcx_sem* s);
void ipcx_sem_close(ipcx_sem* s);
int ipcx_sem_unlink(const char* name, ipcx_error* err);

/* POSIX unnamed semaphore in shared memory (sem_init with pshared = 1). */
typedef struct ipcx_unnamed_sem {
  uint64_t opaque[5];
} ipcx_unnamed_sem;
int ipcx_unnamed_sem_init(ipcx_unnamed_sem* s, unsigned initial, ipcx_error* err);
int ipcx_unnamed_sem_wait(ipcx_unnamed_sem* s, long timeout_ms, ipcx_error* err);
int ipcx_unnamed_sem_post(ipcx_unnamed_sem* s, ipcx_error* err);
int ipcx_unnamed_sem_value(ipcx_unnamed_sem* s, ipcx_error* err);
void ipcx_unnamed_sem_destroy(ipcx_unnamed_sem* s);

/* System V semaphore set. ipcx_sysvsem_op applies several operations atomically, all or
 * none. With IPCX_SEM_UNDO the kernel reverses an operation when the process exits, however
 * it exits: the robust way to hold a unit. Removing the set wakes waiters with
 * IPCX_PEER_GONE (EIDRM). The creator removes the set on close unless kept. */
#define IPCX_SEM_UNDO 0x1   /* SEM_UNDO */
#define IPCX_SEM_NOWAIT 0x2 /* IPC_NOWAIT for this operation alone */
typedef struct ipcx_semop {
  unsigned short index; /* which semaphore of the set */
  short delta;          /* < 0 take (waits), 0 wait for zero, > 0 give */
  int flags;            /* IPCX_SEM_UNDO | IPCX_SEM_NOWAIT */
} ipcx_semop;
typedef struct ipcx_sysvsem ipcx_sysvsem;
/* semget(key, count, IPC_CREAT|IPC_EXCL|mode), every semaphore 0; key IPC_PRIVATE (0)
 * makes a private set. */
ipcx_sysvsem* ipcx_sysvsem_create(key_t key, size_t count, unsigned mode, ipcx_error* err);
ipcx_sysvsem* ipcx_sysvsem_open(key_t key, ipcx_error* err);
ipcx_sysvsem* ipcx_sysvsem_open_id(int id, ipcx_error* err);
/* semop/semtimedop; timeout_ms as everywhere (0 adds IPC_NOWAIT). Returns 0 or -1. */
int ipcx_sysvsem_op(ipcx_sysvsem* s, const ipcx_semop* ops, size_t nops, long timeout_ms, ipcx_error* err);
/* GETVAL, or -1. */
int ipcx_sysvsem_value(const ipcx_sysvsem* s, unsigned short index, ipcx_error* err);
int ipcx_sysvsem_set_value(ipcx_sysvsem* s, unsigned short index, int value, ipcx_error* err);
/* GETALL into values[0..n) (n at least the set's count): returns the count, or -1. SETALL
 * from exactly count values (IPCX_INVALID_ARGUMENT otherwise): returns 0 or -1. */
int ipcx_sysvsem_values(const ipcx_sysvsem* s, unsigned short* values, size_t n, ipcx_error* err);
int ipcx_sysvsem_set_values(ipcx_sysvsem* s, const unsigned short* values, size_t n, ipcx_error* err);
int ipcx_sysvsem_id(const ipcx_sysvsem* s);
size_t ipcx_sysvsem_count(const ipcx_sysvsem* s);
/* semctl(IPC_STAT): struct semid_ds. */
typedef struct ipcx_sysvsem_info {
  key_t key;
  size_t count;           /* semaphores in the set */
  uid_t uid, cuid;        /* owner, creator */
  gid_t gid, cgid;
  unsigned mode;          /* permission bits */
  time_t last_op_time;    /* sem_otime: the last semop (0: never) */
  time_t change_time;     /* sem_ctime */
} ipcx_sysvsem_info;
int ipcx_sysvsem_stat(const ipcx_sysvsem* s, ipcx_sysvsem_info* info, ipcx_error* err);
/* semctl(IPC_SET): owner and mode. EPERM unless the caller owns or created it. */
int ipcx_sysvsem_set(ipcx_sysvsem* s, const ipcx_sysv_owner* owner, ipcx_error* err);
/* Per semaphore: GETPID (the process of the last operation), GETNCNT (processes waiting for
 * it to grow) and GETZCNT (waiting for zero). Each returns it, or -1. */
int ipcx_sysvsem_last_pid(const ipcx_sysvsem* s, unsigned short index, ipcx_error* err);
int ipcx_sysvsem_waiting_increase(const ipcx_sysvsem* s, unsigned short index, ipcx_error* err);
int ipcx_sysvsem_waiting_zero(const ipcx_sysvsem* s, unsigned short index, ipcx_error* err);
int ipcx_sysvsem_remove(ipcx_sysvsem* s, ipcx_error* err);
void ipcx_sysvsem_keep(ipcx_sysvsem* s);
void ipcx_sysvsem_close(ipcx_sysvsem* s);

#ifdef __cplusplus
}
#endif

#endif /* IPCX_C_SYNC_H */
