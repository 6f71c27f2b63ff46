/* ipcx C API: the Channel, for C programs.
 *
 *   ipcx_error err;
 *   ipcx_channel* ch = ipcx_open("fifo:///tmp/demo", &err);
 *   if (!ch) { fprintf(stderr, "%s\n", err.message); return 1; }
 *   ipcx_send(ch, "hello", 5, 5000, &err);        // timeout in ms: -1 forever, 0 never block
 *   ipcx_close(ch);
 *
 * Every fallible call fills `err` (which may be NULL) and returns NULL or -1 on failure.
 * err.kind says which outcome it was (IPCX_TIMED_OUT, IPCX_PEER_GONE, ...), err.code
 * keeps the exact errno, err.message says what failed, on what, and why. A receive into a
 * short buffer fails with IPCX_MESSAGE_TOO_LARGE and err.size = the message's size; the
 * message stays queued. Handles are used by one thread at a time. Link with -lipcx. */
#ifndef IPCX_IPCX_H
#define IPCX_IPCX_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ipcx_errc {
  IPCX_OK = 0,
  IPCX_SYSTEM = 1,
  IPCX_WOULD_BLOCK = 2,
  IPCX_TIMED_OUT = 3,
  IPCX_PEER_GONE = 4,
  IPCX_MESSAGE_TOO_LARGE = 5,
  IPCX_INVALID_ARGUMENT = 6,
  IPCX_BAD_URL = 7,
  IPCX_NOT_SUPPORTED = 8,
  IPCX_CORRUPT = 9
} ipcx_errc;

typedef struct ipcx_error {
  ipcx_errc kind;
  int code;          /* the exact errno */
  size_t size;       /* IPCX_MESSAGE_TOO_LARGE: the message's size */
  char message[512]; /* "op object: reason (detail)", NUL-terminated, cut at 511 bytes */
} ipcx_error;

typedef struct ipcx_channel ipcx_channel;
typedef struct ipcx_listener ipcx_listener;

ipcx_channel* ipcx_open(const char* url, ipcx_error* err);
ipcx_channel* ipcx_bind(const char* url, ipcx_error* err);
void ipcx_close(ipcx_channel* ch);

/* timeout_ms: -1 waits as long as it takes, 0 never blocks. Returns 0 or -1. */
int ipcx_send(ipcx_channel* ch, const void* data, size_t len, long timeout_ms, ipcx_error* err);
/* With the SysV message type (> 0) and the POSIX mq priority. */
int ipcx_send_ex(ipcx_channel* ch, const void* data, size_t len, long timeout_ms, long type, unsigned priority,
                 ipcx_error* err);
/* Returns the message size, or -1. */
ssize_t ipcx_receive(ipcx_channel* ch, void* buf, size_t cap, long timeout_ms, ipcx_error* err);
/* msgtyp selects SysV messages (0 first, >0 that type, <0 lowest up to |msgtyp|); the
 * received type and priority are stored where the pointers are not NULL. */
ssize_t ipcx_receive_ex(ipcx_channel* ch, void* buf, size_t cap, long timeout_ms, long msgtyp, long* type,
                        unsigned* priority, ipcx_error* err);
int ipcx_pollable_fd(const ipcx_channel* ch);
size_t ipcx_max_message_size(const ipcx_channel* ch);

ipcx_listener* ipcx_listen(const char* url, ipcx_error* err);
ipcx_channel* ipcx_accept(ipcx_listener* l, long timeout_ms, ipcx_error* err);
int ipcx_listener_fd(const ipcx_listener* l);
void ipcx_listener_close(ipcx_listener* l);

/* A static description of a kind: "timed out", "peer gone", ... */
const char* ipcx_errc_name(ipcx_errc kind);

#ifdef __cplusplus
}
#endif

#endif /* IPCX_IPCX_H */
