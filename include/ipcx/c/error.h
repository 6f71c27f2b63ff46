// SPDX-License-Identifier: MIT
/* ipcx C API: errors and the library version. Included by <ipcx/ipcx.h>.
 *
 *   ipcx_error err;
 *   if (ipcx_send(ch, "hi", 2, 1000, &err) != 0 && err.kind == IPCX_TIMED_OUT) ...;
 *   fprintf(stderr, "%s\n", err.message);   // "send fifo:///tmp/x: ... (why)"
 *
 * Every fallible call takes `ipcx_error* err` last (it may be NULL) and returns NULL or -1
 * on failure; a failed call always fills `err`, a successful one clears it (kind IPCX_OK).
 * No C++ exception leaves the library: an allocation failure is IPCX_SYSTEM with ENOMEM. */
#ifndef IPCX_C_ERROR_H
#define IPCX_C_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The outcome a caller branches on; err.code keeps the exact errno either way. */
typedef enum ipcx_errc {
  IPCX_OK = 0,
  IPCX_SYSTEM = 1,             /* another errno: err.code says which */
  IPCX_WOULD_BLOCK = 2,        /* a call with timeout 0 found nothing to do (EAGAIN) */
  IPCX_TIMED_OUT = 3,          /* the timeout passed (ETIMEDOUT) */
  IPCX_PEER_GONE = 4,          /* the other side closed, died or removed the object */
  IPCX_MESSAGE_TOO_LARGE = 5,  /* a message exceeds a buffer or a limit; see err.size */
  IPCX_INVALID_ARGUMENT = 6,   /* the caller asked for something impossible (EINVAL) */
  IPCX_BAD_URL = 7,            /* the URL does not parse; the message names the bad part */
  IPCX_NOT_SUPPORTED = 8,      /* the transport or the platform cannot do this */
  IPCX_CORRUPT = 9             /* data from a peer or shared memory failed validation */
} ipcx_errc;

typedef struct ipcx_error {
  ipcx_errc kind;
  int code;          /* the exact errno */
  /* IPCX_MESSAGE_TOO_LARGE: a size to retry with, or the size that did not fit.
   *  - a send: the message's size.
   *  - a receive into a short buffer (the message stays queued): a buffer of err.size
   *    bytes receives it. For byte streams, sockets, shm:// and FIFOs that is the
   *    message's size; for posixmq:// it is the queue's mq_msgsize (mq_receive takes no
   *    smaller buffer); for sysvmq:// it is kernel.msgmax (msgrcv does not say the size of
   *    a message it refused). 0 when nothing is known. */
  size_t size;
  char message[512]; /* "op object: reason (detail)", NUL-terminated, cut at 511 bytes */
} ipcx_error;

/* A static description of a kind: "timed out", "peer gone", ... */
const char* ipcx_errc_name(ipcx_errc kind);

/* The library's version, "MAJOR.MINOR.PATCH"; the numbers where the pointers are not NULL. */
const char* ipcx_version(int* major, int* minor, int* patch);

#ifdef __cplusplus
}
#endif

#endif /* IPCX_C_ERROR_H */
