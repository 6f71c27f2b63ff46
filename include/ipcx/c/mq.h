// SPDX-License-Identifier: MIT
/* ipcx C API: the message queues below the Channel — POSIX (mq_getattr, mq_setattr,
 * mq_notify) and System V (IPC_STAT, IPC_SET, msgrcv with MSG_NOERROR and MSG_EXCEPT,
 * MSG_COPY). Each call takes a posixmq:// or sysvmq:// channel from ipcx_open and works
 * on the queue under it. Included by <ipcx/ipcx.h>.
 *
 *   ipcx_channel* q = ipcx_open("posixmq:///jobs?maxmsg=8&msgsize=256", &err);
 *   ipcx_posixmq_attr a;
 *   ipcx_posixmq_getattr(q, &a, &err);            // a.maxmsg 8, a.msgsize 256, a.curmsgs
 *   ipcx_posixmq_notify_signal(q, SIGUSR1, 7, &err); // one signal when a message reaches an empty queue
 *
 * A call on a channel of another scheme fails with IPCX_INVALID_ARGUMENT ("not a
 * posixmq:// channel"). Sending and receiving stay with channel.h: ipcx_send_ex and
 * ipcx_receive_ex carry System V types and POSIX priorities. The queue's limits
 * (fs.mqueue.*, kernel.msgmax, msgmnb) are named in the errors that they cause. */
#ifndef IPCX_C_MQ_H
#define IPCX_C_MQ_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "ipcx/c/channel.h"
#include "ipcx/c/error.h"
#include "ipcx/c/sysv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* POSIX queues. */

/* mq_getattr's view through this channel's descriptor. */
typedef struct ipcx_posixmq_attr {
  long maxmsg;     /* capacity in messages (mq_maxmsg) */
  long msgsize;    /* largest message in bytes (mq_msgsize): a receive buffer holds this much */
  long curmsgs;    /* messages queued when asked (racy) */
  int nonblocking; /* O_NONBLOCK on this descriptor */
} ipcx_posixmq_attr;
/* mq_getattr. Returns 0 or -1. */
int ipcx_posixmq_getattr(const ipcx_channel* ch, ipcx_posixmq_attr* attr, ipcx_error* err);
/* mq_setattr: O_NONBLOCK on (nonblocking != 0) or off for this descriptor, the one attribute
 * mq_setattr changes. The attributes before the change are stored in `old` unless it is
 * NULL. The channel's own calls wait as their timeouts say either way; the flag matters to
 * a program that reads ipcx_pollable_fd with mq_receive itself. Returns 0 or -1. */
int ipcx_posixmq_setattr(ipcx_channel* ch, int nonblocking, ipcx_posixmq_attr* old, ipcx_error* err);

/* mq_notify. A queue has at most one registration, held by one process: the kernel notifies
 * it once, when a message arrives on an EMPTY queue while no process is blocked receiving,
 * and then drops the registration (register again to hear of the next one). Registering
 * while another process holds it is EBUSY (IPCX_SYSTEM). Closing the channel drops this
 * process's registration.
 *
 * Signal form (SIGEV_SIGNAL): `signo` is sent to this process with si_code SI_MESGQ and
 * si_value.sival_int = `value`. */
int ipcx_posixmq_notify_signal(ipcx_channel* ch, int signo, int value, ipcx_error* err);
/* Thread form (SIGEV_THREAD): fn(arg) runs on a thread the channel owns, once per
 * notification. It may receive from the channel and re-register from inside itself; it
 * must not close the channel. No call runs after ipcx_posixmq_notify_cancel or ipcx_close
 * returns. The thread blocks every signal. */
int ipcx_posixmq_notify_callback(ipcx_channel* ch, void (*fn)(void* arg), void* arg, ipcx_error* err);
/* SIGEV_NONE: holds the registration (other processes get EBUSY) and delivers nothing. */
int ipcx_posixmq_notify_none(ipcx_channel* ch, ipcx_error* err);
/* mq_notify(NULL): drops this process's registration (none held: a no-op) and waits for a
 * running callback to end (unless called from it). */
int ipcx_posixmq_notify_cancel(ipcx_channel* ch, ipcx_error* err);

/* System V queues. */

/* msgctl(IPC_STAT): struct msqid_ds. */
typedef struct ipcx_sysvmq_info {
  key_t key;
  uid_t uid, cuid;           /* owner, creator */
  gid_t gid, cgid;
  unsigned mode;             /* permission bits */
  size_t messages;           /* msg_qnum */
  size_t bytes;              /* bytes queued (__msg_cbytes) */
  size_t qbytes;             /* msg_qbytes: capacity in bytes */
  pid_t last_send_pid;       /* msg_lspid */
  pid_t last_receive_pid;    /* msg_lrpid */
  time_t send_time, receive_time, change_time; /* msg_stime, msg_rtime, msg_ctime (0: never) */
} ipcx_sysvmq_info;
int ipcx_sysvmq_stat(const ipcx_channel* ch, ipcx_sysvmq_info* info, ipcx_error* err);
/* msgctl(IPC_SET): the owner and mode from `owner` (NULL: unchanged), msg_qbytes from
 * `qbytes` (0: unchanged; above kernel.msgmnb needs CAP_SYS_RESOURCE, EPERM otherwise). */
int ipcx_sysvmq_set(ipcx_channel* ch, const ipcx_sysv_owner* owner, size_t qbytes, ipcx_error* err);

/* msgrcv flags for ipcx_sysvmq_receive. */
#define IPCX_MSG_EXCEPT 0x1  /* MSG_EXCEPT: the first message whose type is not msgtyp (> 0) */
#define IPCX_MSG_NOERROR 0x2 /* MSG_NOERROR: cut a longer message to `cap` bytes (the rest is lost) */
/* msgrcv: msgtyp selects (0 the first message, > 0 the first of that type, < 0 the first of
 * the lowest type <= |msgtyp|), `flags` as above, timeout_ms as everywhere. Returns the
 * bytes stored in buf and the type in *type (unless NULL), or -1. Without
 * IPCX_MSG_NOERROR a longer message stays queued: IPCX_MESSAGE_TOO_LARGE, err.size =
 * kernel.msgmax (msgrcv does not say the message's length). */
ssize_t ipcx_sysvmq_receive(ipcx_channel* ch, void* buf, size_t cap, long timeout_ms, long msgtyp, int flags,
                            long* type, ipcx_error* err);
/* msgrcv(MSG_COPY|IPC_NOWAIT): a copy of the message at position `index` (0 the oldest, any
 * type), left in the queue. IPCX_WOULD_BLOCK if there is no such message; a buffer shorter
 * than the message is IPCX_MESSAGE_TOO_LARGE (MSG_COPY cannot truncate); IPCX_NOT_SUPPORTED
 * on a kernel without CONFIG_CHECKPOINT_RESTORE. Returns the size, or -1. */
ssize_t ipcx_sysvmq_peek(const ipcx_channel* ch, void* buf, size_t cap, long index, long* type, ipcx_error* err);

#ifdef __cplusplus
}
#endif

#endif /* IPCX_C_MQ_H */
