// SPDX-License-Identifier: MIT
/* ipcx C API: what the System V objects share — the owner and mode that IPC_STAT reports
 * and IPC_SET changes, for queues (mq.h), segments (shm.h) and semaphore sets (sync.h).
 * Included by <ipcx/ipcx.h>.
 *
 *   ipcx_sysv_owner o = {.uid = getuid(), .gid = getgid(), .mode = 0640};
 *   if (ipcx_sysvshm_set(seg, &o, &err) != 0) fprintf(stderr, "%s\n", err.message);
 *
 * IPC_SET is allowed to the object's owner or creator (or CAP_SYS_ADMIN); anyone else gets
 * EPERM. Only the low 9 bits of mode are used. */
#ifndef IPCX_C_SYSV_H
#define IPCX_C_SYSV_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ipc_perm fields IPC_SET changes. */
typedef struct ipcx_sysv_owner {
  uid_t uid;
  gid_t gid;
  unsigned mode; /* permission bits, e.g. 0640 */
} ipcx_sysv_owner;

#ifdef __cplusplus
}
#endif

#endif /* IPCX_C_SYSV_H */
