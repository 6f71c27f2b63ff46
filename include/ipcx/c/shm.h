// SPDX-License-Identifier: MIT
/* ipcx C API: shared-memory segments — POSIX (shm_open), System V (shmget) and memfd
 * (memfd_create, sealed and passed by descriptor). Included by <ipcx/ipcx.h>.
 *
 *   ipcx_shm* seg = ipcx_shm_create("/orders", 1 << 20, 0600, &err);   // exclusive, reserved
 *   ipcx_mapping* m = ipcx_shm_map(seg, 1, &err);                      // read-write
 *   memcpy(ipcx_mapping_data(m), "hello", 5);
 *   ipcx_unmap(m); ipcx_shm_close(seg);                                // the creator unlinks
 *
 * Creation reserves the whole size (fallocate), so a full /dev/shm is ENOSPC at create,
 * never SIGBUS later. The creator owns a name or key: it is removed when the creating
 * handle is closed, unless ipcx_shm_keep / ipcx_sysvshm_keep was called. Removing
 * a name or key does not free the memory: that lives until the last mapping and
 * descriptor are gone. A mapping is independent of the handle it came from (it may
 * outlive it) and is unmapped by ipcx_unmap. Handles are used by one thread at a time. */
#ifndef IPCX_C_SHM_H
#define IPCX_C_SHM_H

#include <stddef.h>
#include <sys/ipc.h> /* key_t, IPC_PRIVATE */
#include <sys/types.h>
#include <time.h>

#include "ipcx/c/error.h"
#include "ipcx/c/sysv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A mapped region: of a POSIX segment or a memfd (mmap MAP_SHARED), or a System V
 * attachment (shmat). Read-only mappings fault on write. */
typedef struct ipcx_mapping ipcx_mapping;
void* ipcx_mapping_data(const ipcx_mapping* m);
size_t ipcx_mapping_size(const ipcx_mapping* m);
/* munmap or shmdt, and frees the handle. NULL is a no-op. */
void ipcx_unmap(ipcx_mapping* m);
/* mlock: keeps the region's pages resident, so the data path takes no page fault.
 * RLIMIT_MEMLOCK bounds it (ulimit -l), and the error says so. munmap unlocks. */
int ipcx_mapping_lock(const ipcx_mapping* m, ipcx_error* err);
/* msync, waiting for the write (wait != 0, MS_SYNC) or not (MS_ASYNC). Shared memory on
 * tmpfs is coherent between processes without it; it matters for a mapped file. */
int ipcx_mapping_sync(const ipcx_mapping* m, int wait, ipcx_error* err);
/* mprotect(PROT_READ) of the whole region: a write through it faults (SIGSEGV) from now on,
 * and it cannot be made writable again through this handle. */
int ipcx_mapping_protect_read_only(ipcx_mapping* m, ipcx_error* err);

/* POSIX shared memory, a name like "/orders" (a file in /dev/shm). */
typedef struct ipcx_shm ipcx_shm;
/* shm_open(O_CREAT|O_EXCL) with exactly `mode` (the umask does not narrow it), sized and
 * reserved. EEXIST (IPCX_SYSTEM) if the name exists. */
ipcx_shm* ipcx_shm_create(const char* name, size_t size, unsigned mode, ipcx_error* err);
/* An existing segment, read-only or read-write. */
ipcx_shm* ipcx_shm_open(const char* name, int writable, ipcx_error* err);
/* The whole segment, read-write (writable != 0, needs a read-write open) or read-only. */
ipcx_mapping* ipcx_shm_map(const ipcx_shm* s, int writable, ipcx_error* err);
size_t ipcx_shm_size(const ipcx_shm* s);
int ipcx_shm_fd(const ipcx_shm* s);
/* ftruncate; growing reserves the new part. Existing mappings keep their length. */
int ipcx_shm_resize(ipcx_shm* s, size_t size, ipcx_error* err);
/* The creator keeps the name in the system when it closes. */
void ipcx_shm_keep(ipcx_shm* s);
/* Closes the descriptor (and unlinks the name if this handle created it and kept no name). */
void ipcx_shm_close(ipcx_shm* s);
/* shm_unlink(name). ENOENT if there is no such name. */
int ipcx_shm_unlink(const char* name, ipcx_error* err);

/* System V shared memory, named by a key (ipcx_ftok) or private to a process family. */
typedef struct ipcx_sysvshm ipcx_sysvshm;
/* ftok(path, proj_id): a key from an existing file. Returns the key, or -1. */
key_t ipcx_ftok(const char* path, int proj_id, ipcx_error* err);
/* shmget(key, size, IPC_CREAT|IPC_EXCL|mode); key IPC_PRIVATE (0) makes a new private
 * segment (pass its id to a child). Kernel limits (kernel.shmmax, shmall, shmmni) are named
 * in the error. */
ipcx_sysvshm* ipcx_sysvshm_create(key_t key, size_t size, unsigned mode, ipcx_error* err);
/* ipcx_sysvshm_create with shmget's other flags. */
#define IPCX_SHM_HUGETLB 0x1   /* SHM_HUGETLB: huge pages (vm.nr_hugepages reserved, and the
                                * caller in vm.hugetlb_shm_group or CAP_IPC_LOCK) */
#define IPCX_SHM_NORESERVE 0x2 /* SHM_NORESERVE: no swap reserved (a touch may then fail) */
/* huge_page_shift: with IPCX_SHM_HUGETLB, log2 of the page size (21: 2 MiB, 30: 1 GiB), 0 for
 * the default size; the segment's size is then a multiple of it. */
ipcx_sysvshm* ipcx_sysvshm_create_ex(key_t key, size_t size, unsigned mode, unsigned flags, unsigned huge_page_shift,
                                     ipcx_error* err);
/* An existing segment, by key or by id. */
ipcx_sysvshm* ipcx_sysvshm_open(key_t key, ipcx_error* err);
ipcx_sysvshm* ipcx_sysvshm_open_id(int id, ipcx_error* err);
/* shmat, read-write or read-only (SHM_RDONLY). The attachment stays valid after removal. */
ipcx_mapping* ipcx_sysvshm_attach(const ipcx_sysvshm* s, int writable, ipcx_error* err);
int ipcx_sysvshm_id(const ipcx_sysvshm* s);
size_t ipcx_sysvshm_size(const ipcx_sysvshm* s);
/* How many attachments the segment has now (shm_nattch; racy). Returns it, or -1. */
long ipcx_sysvshm_attached(const ipcx_sysvshm* s, ipcx_error* err);
/* shmctl(IPC_STAT): struct shmid_ds. */
typedef struct ipcx_sysvshm_info {
  key_t key;              /* IPC_PRIVATE (0) once removed */
  size_t size;
  uid_t uid, cuid;        /* owner, creator */
  gid_t gid, cgid;
  unsigned mode;          /* permission bits */
  unsigned long attached; /* shm_nattch */
  pid_t creator_pid;      /* shm_cpid */
  pid_t last_pid;         /* shm_lpid: the last shmat or shmdt */
  time_t attach_time, detach_time, change_time; /* shm_atime, shm_dtime, shm_ctime (0: never) */
  int removed;            /* SHM_DEST: removed, waiting for the last detach */
  int locked;             /* SHM_LOCKED */
} ipcx_sysvshm_info;
int ipcx_sysvshm_stat(const ipcx_sysvshm* s, ipcx_sysvshm_info* info, ipcx_error* err);
/* shmctl(IPC_SET): owner and mode. EPERM unless the caller owns or created it. */
int ipcx_sysvshm_set(ipcx_sysvshm* s, const ipcx_sysv_owner* owner, ipcx_error* err);
/* IPC_RMID now: the key goes at once, the memory with the last detach. */
int ipcx_sysvshm_remove(ipcx_sysvshm* s, ipcx_error* err);
void ipcx_sysvshm_keep(ipcx_sysvshm* s);
/* Forgets the id (and removes the segment if this handle created it and did not keep it). */
void ipcx_sysvshm_close(ipcx_sysvshm* s);

/* memfd: anonymous shared memory with no name to leak, shared by passing its descriptor
 * (ipcx_send_msg over a unix socket, or fork). Seals are promises the kernel enforces on
 * every holder: a receiver requires IPCX_SEAL_SHRINK so the sender cannot truncate the
 * memory under its mapping (which would SIGBUS it). */
#define IPCX_SEAL_SEAL 0x0001u         /* F_SEAL_SEAL: no more seals */
#define IPCX_SEAL_SHRINK 0x0002u       /* F_SEAL_SHRINK */
#define IPCX_SEAL_GROW 0x0004u         /* F_SEAL_GROW */
#define IPCX_SEAL_WRITE 0x0008u        /* F_SEAL_WRITE: needs no writable mapping to exist (EBUSY) */
#define IPCX_SEAL_FUTURE_WRITE 0x0010u /* F_SEAL_FUTURE_WRITE: no new writer; mappings keep writing */
typedef struct ipcx_memfd ipcx_memfd;
/* memfd_create(name, MFD_CLOEXEC|MFD_ALLOW_SEALING), sized and reserved. `name` is a label. */
ipcx_memfd* ipcx_memfd_create(const char* name, size_t size, ipcx_error* err);
/* Takes a descriptor received from another process (always: on failure it is closed).
 * IPCX_INVALID_ARGUMENT if it is not a memfd, IPCX_CORRUPT if a required seal is missing. */
ipcx_memfd* ipcx_memfd_adopt(int fd, unsigned required_seals, ipcx_error* err);
int ipcx_memfd_add_seals(ipcx_memfd* m, unsigned seals, ipcx_error* err);
/* The seals now (F_GET_SEALS), or -1. */
long ipcx_memfd_seals(const ipcx_memfd* m, ipcx_error* err);
ipcx_mapping* ipcx_memfd_map(const ipcx_memfd* m, int writable, ipcx_error* err);
int ipcx_memfd_fd(const ipcx_memfd* m);
size_t ipcx_memfd_size(const ipcx_memfd* m);
void ipcx_memfd_close(ipcx_memfd* m);

#ifdef __cplusplus
}
#endif

#endif /* IPCX_C_SHM_H */
