// SPDX-License-Identifier: MIT
/* ipcx C API: every mechanism for C programs (C11), over the C++ library.
 *
 *   #include <ipcx/ipcx.h>
 *   ipcx_error err;
 *   ipcx_channel* ch = ipcx_open("posixmq:///orders", &err);
 *   if (!ch) { fprintf(stderr, "%s\n", err.message); return 1; }
 *
 * The parts, one header each (all included here):
 *   ipcx/c/error.h    errors (kind, exact errno, size, message) and the library version
 *   ipcx/c/channel.h  the Channel over every URL scheme, descriptor passing, peer
 *                     credentials, zero copy on shm://, pipes and socketpairs, listeners
 *   ipcx/c/shm.h      POSIX, System V and memfd shared memory, sealing
 *   ipcx/c/sync.h     robust mutex and condition, futex, POSIX and System V semaphores
 *   ipcx/c/mq.h       the queues below the Channel: mq_getattr/mq_setattr, mq_notify,
 *                     System V IPC_STAT/IPC_SET, MSG_NOERROR, MSG_EXCEPT, MSG_COPY
 *   ipcx/c/place.h    a struct placed in shared memory once, found and checked by others
 *   ipcx/c/sysv.h     the owner and mode of System V objects (IPC_SET)
 * Every fallible call fills `err` (which may be NULL) and returns NULL or -1 on failure.
 * Build: cc -std=c11 app.c $(pkg-config --cflags --libs ipcx). Reference: docs/c-api.md. */
#ifndef IPCX_IPCX_H
#define IPCX_IPCX_H

#include "ipcx/c/error.h"
#include "ipcx/c/channel.h"
#include "ipcx/c/shm.h"
#include "ipcx/c/sync.h"
#include "ipcx/c/mq.h"
#include "ipcx/c/place.h"
#include "ipcx/c/sysv.h"

#endif /* IPCX_IPCX_H */
