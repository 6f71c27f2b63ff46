// SPDX-License-Identifier: MIT
/* ipcx C API: the Channel, one message API over every transport, addressed by URL.
 * Included by <ipcx/ipcx.h>.
 *
 *   ipcx_error err;
 *   ipcx_channel* ch = ipcx_open("fifo:///tmp/demo", &err);
 *   if (!ch) { fprintf(stderr, "%s\n", err.message); return 1; }
 *   ipcx_send(ch, "hello", 5, 5000, &err);        // timeout in ms: -1 forever, 0 never block
 *   ipcx_close(ch);
 *
 * Messages are whole: a message larger than the receiver's buffer fails with
 * IPCX_MESSAGE_TOO_LARGE and stays queued (err.size says what buffer takes it). Every
 * timeout is in milliseconds: -1 waits as long as it takes, 0 never blocks (IPCX_WOULD_BLOCK),
 * otherwise IPCX_TIMED_OUT when it passes. Connection-oriented schemes (unix, unixpacket,
 * tcp) are accepted with a listener; datagram receivers (unixgram, udp) use ipcx_bind; for
 * the others ipcx_open and ipcx_bind are the same. The URL schemes and their options are
 * in docs/channel.md.
 *
 * A handle is used by one thread at a time. Handles are not shared by fork: a child uses
 * the ends it needs and closes the others (ipcx_close in the child closes only its copy). */
#ifndef IPCX_C_CHANNEL_H
#define IPCX_C_CHANNEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipcx/c/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ipcx_channel ipcx_channel;
typedef struct ipcx_listener ipcx_listener;

ipcx_channel* ipcx_open(const char* url, ipcx_error* err);
ipcx_channel* ipcx_bind(const char* url, ipcx_error* err);
/* Closes the channel (and removes what its URL said to remove on close). NULL is a no-op. */
void ipcx_close(ipcx_channel* ch);

/* Returns 0 or -1. */
int ipcx_send(ipcx_channel* ch, const void* data, size_t len, long timeout_ms, ipcx_error* err);
/* With the SysV message type and the POSIX mq priority. type 0 means "no type": a
 * sysvmq:// message then has type 1, as with ipcx_send; a type other than 0 or 1 is for
 * sysvmq:// only, a priority other than 0 for posixmq:// only. */
int ipcx_send_ex(ipcx_channel* ch, const void* data, size_t len, long timeout_ms, long type, unsigned priority,
                 ipcx_error* err);
/* Returns the message size, or -1. */
ssize_t ipcx_receive(ipcx_channel* ch, void* buf, size_t cap, long timeout_ms, ipcx_error* err);
/* msgtyp selects SysV messages (0 first, >0 that type, <0 lowest up to |msgtyp|); the
 * received type and priority are stored where the pointers are not NULL. */
ssize_t ipcx_receive_ex(ipcx_channel* ch, void* buf, size_t cap, long timeout_ms, long msgtyp, long* type,
                        unsigned* priority, ipcx_error* err);

/* The full send: a type, a priority, and descriptors passed with the message (unix
 * sockets, SCM_RIGHTS; the caller keeps its own descriptors, the peer gets new ones). */
typedef struct ipcx_send_options {
  long type;          /* sysvmq://; 0: no type (sent as 1) */
  unsigned priority;  /* posixmq://: 0 .. MQ_PRIO_MAX-1, highest delivered first */
  const int* fds;     /* unix sockets: descriptors to pass, or NULL */
  size_t nfds;
} ipcx_send_options;
/* `o` may be NULL (all zero). Returns 0 or -1. */
int ipcx_send_msg(ipcx_channel* ch, const void* data, size_t len, long timeout_ms, const ipcx_send_options* o,
                  ipcx_error* err);

/* The full receive. Fill `type`, `except`, `fds` and `fds_cap` before the call; the rest
 * is filled by it. */
typedef struct ipcx_received {
  long type;          /* in: sysvmq msgtyp (as ipcx_receive_ex); out: the message's type */
  int except;         /* in: sysvmq MSG_EXCEPT, the first message whose type is not `type` */
  unsigned priority;  /* out: posixmq priority */
  uint64_t lost;      /* out: shm pub/sub with policy=drop: messages missed just before this one */
  int* fds;           /* in: room for descriptors that came with the message (or NULL) */
  size_t fds_cap;     /* in: how many fit in fds */
  size_t nfds;        /* out: how many were stored; the caller owns and closes them. More
                       * than fds_cap: the rest are closed, and nfds_dropped says how many */
  size_t nfds_dropped;
} ipcx_received;
/* Returns the message size, or -1. `r` may be NULL. */
ssize_t ipcx_receive_msg(ipcx_channel* ch, void* buf, size_t cap, long timeout_ms, ipcx_received* r,
                         ipcx_error* err);

/* Batches (docs/channel.md, "Batches"): many messages in as few system calls as the
 * transport allows.
 * ipcx_send_batch sends msgs[i] (lens[i] bytes) for i < n in order. Returns how many went:
 * n when all did (err cleared); fewer when message [returned] could not go (nothing after
 * it was tried), with err saying why; -1 only for a bad argument.
 * A batch owns room for `capacity` messages of up to `message_size` bytes each, reused by
 * every ipcx_receive_batch into it. ipcx_receive_batch waits until the timeout for one
 * message, then takes those already waiting, up to the capacity, without waiting for
 * more; returns how many (>= 1), or -1. A message larger than message_size stops the
 * batch before it and stays queued (the next receive reports IPCX_MESSAGE_TOO_LARGE). The
 * messages stay readable (ipcx_batch_data) until the next receive into the batch. */
typedef struct ipcx_batch ipcx_batch;
ssize_t ipcx_send_batch(ipcx_channel* ch, const void* const* msgs, const size_t* lens, size_t n, long timeout_ms,
                        ipcx_error* err);
ipcx_batch* ipcx_batch_new(size_t capacity, size_t message_size, ipcx_error* err);
void ipcx_batch_free(ipcx_batch* b); /* NULL is a no-op */
ssize_t ipcx_receive_batch(ipcx_channel* ch, ipcx_batch* b, long timeout_ms, ipcx_error* err);
/* Message i (< what the last receive returned): its bytes, and its size in *len. */
const void* ipcx_batch_data(const ipcx_batch* b, size_t i, size_t* len);

/* Readable (EPOLLIN) when a receive may make progress; -1 if the transport has none. */
int ipcx_pollable_fd(const ipcx_channel* ch);
/* The largest message this channel carries. */
size_t ipcx_max_message_size(const ipcx_channel* ch);

/* The connected peer's process, user and group (unix sockets and socketpairs: SO_PEERCRED,
 * fixed when the peer's socket was made: for a socketpair, the process that made the pair;
 * for unix://, the process that connected or listened). Returns 0, or -1 with IPCX_NOT_SUPPORTED where the transport does not know them.
 * Pointers may be NULL. */
int ipcx_peer_credentials(const ipcx_channel* ch, pid_t* pid, uid_t* uid, gid_t* gid, ipcx_error* err);
/* The channel's local address as a URL (e.g. the port that udp://127.0.0.1:0 got), copied
 * NUL-terminated into buf. Returns its length, or -1 (IPCX_MESSAGE_TOO_LARGE, err.size =
 * the length + 1 needed, if cap is short; IPCX_NOT_SUPPORTED if not a socket). */
ssize_t ipcx_local_url(const ipcx_channel* ch, char* buf, size_t cap, ipcx_error* err);

/* sysvmq://: the queue's id (e.g. of sysvmq://private, to pass to a child as
 * sysvmq://id:N), or -1 for other channels. ipcx_sysvmq_remove removes the queue now
 * (IPC_RMID; receivers see IPCX_PEER_GONE). To remove it when the channel closes instead,
 * open with ?remove=1. */
int ipcx_sysvmq_id(const ipcx_channel* ch);
int ipcx_sysvmq_remove(ipcx_channel* ch, ipcx_error* err);

/* Zero copy, where the transport supports it (shm://; IPCX_NOT_SUPPORTED elsewhere).
 * A loan is space in the ring written in place and then committed; a view is a message
 * read in place and then released. Both must be finished (commit/abandon, release)
 * before the channel is closed, and at most one of each is outstanding per channel. */
typedef struct ipcx_loan ipcx_loan;
typedef struct ipcx_view ipcx_view;
/* Loans `size` bytes, waiting for room until the timeout. */
ipcx_loan* ipcx_loan_begin(ipcx_channel* ch, size_t size, long timeout_ms, ipcx_error* err);
void* ipcx_loan_data(const ipcx_loan* l);
size_t ipcx_loan_size(const ipcx_loan* l);
/* Sends the first `size` bytes (<= the loaned size) and frees the loan, even on failure.
 * Returns 0 or -1. */
int ipcx_loan_commit(ipcx_channel* ch, ipcx_loan* l, size_t size, ipcx_error* err);
/* Gives the space back unsent and frees the loan. NULL is a no-op. */
void ipcx_loan_abandon(ipcx_loan* l);
/* The next message, in place. */
ipcx_view* ipcx_read(ipcx_channel* ch, long timeout_ms, ipcx_error* err);
const void* ipcx_view_data(const ipcx_view* v);
size_t ipcx_view_size(const ipcx_view* v);
/* pub/sub with policy=drop: messages missed just before this one. */
uint64_t ipcx_view_lost(const ipcx_view* v);
/* Gives the slot back to the writer and frees the view. NULL is a no-op. */
void ipcx_view_release(ipcx_view* v);

/* Anonymous pipes and socketpairs, made in pairs for a parent and the child it forks.
 * ipcx_pipe: a one-way pipe, messages framed (any size up to ipcx_max_message_size).
 * ipcx_socketpair: two connected unix sockets, each end sends and receives; descriptors
 * and credentials pass. Returns 0 and both handles, or -1 and neither. */
typedef enum ipcx_socket_type { IPCX_STREAM = 0, IPCX_DGRAM = 1, IPCX_SEQPACKET = 2 } ipcx_socket_type;
int ipcx_pipe(ipcx_channel** reader, ipcx_channel** writer, ipcx_error* err);
int ipcx_socketpair(ipcx_socket_type type, ipcx_channel** first, ipcx_channel** second, ipcx_error* err);

/* The accepting side of unix://, unixpacket:// and tcp://. */
ipcx_listener* ipcx_listen(const char* url, ipcx_error* err);
ipcx_channel* ipcx_accept(ipcx_listener* l, long timeout_ms, ipcx_error* err);
int ipcx_listener_fd(const ipcx_listener* l);
/* The bound address as a URL, e.g. with the port the kernel chose for tcp://127.0.0.1:0,
 * as ipcx_local_url. */
ssize_t ipcx_listener_url(const ipcx_listener* l, char* buf, size_t cap, ipcx_error* err);
void ipcx_listener_close(ipcx_listener* l);

#ifdef __cplusplus
}
#endif

#endif /* IPCX_C_CHANNEL_H */
