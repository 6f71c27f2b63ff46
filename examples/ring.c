// SPDX-License-Identifier: MIT
/* The shm:// ring through the C API: ipcx's shared-memory channel, the fastest way
 * between two processes on one host. Part 1, single producer and consumer with zero copy:
 * the producer loans space in the ring, writes the message in place and commits it; the
 * consumer reads it in place and releases it — no copy on either side. Part 2,
 * publish/subscribe: every subscriber gets every message (policy=block: the publisher
 * waits for the slowest; policy=drop would skip ahead and report `lost`).
 *   $ ./example_c_ring
 *   consumer read in place: "frame 0" "frame 1" "frame 2"
 *   subscriber 0 got 3, subscriber 1 got 3 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

static int child_ok(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int spsc_zero_copy(void) {
  ipcx_error err;
  char url[96];
  snprintf(url, sizeof url, "shm://ipcx-example-ring-%d?capacity=64k", (int)getpid());
  pid_t pid = fork();
  if (pid == 0) {
    ipcx_channel* rx = ipcx_bind(url, &err); /* bind: the consumer end */
    if (!rx) _exit(1);
    printf("consumer read in place:");
    for (int i = 0; i < 3; ++i) {
      ipcx_view* v = ipcx_read(rx, 5000, &err); /* points into the ring */
      if (!v) _exit(2);
      printf(" \"%.*s\"", (int)ipcx_view_size(v), (const char*)ipcx_view_data(v));
      ipcx_view_release(v); /* gives the space back to the producer */
    }
    printf("\n");
    ipcx_close(rx);
    fflush(stdout); /* _exit does not flush stdio */
    _exit(0);
  }
  ipcx_channel* tx = ipcx_open(url, &err); /* open: the producer end; either may come first */
  if (!tx) return fprintf(stderr, "%s\n", err.message), 0;
  for (int i = 0; i < 3; ++i) {
    ipcx_loan* l = ipcx_loan_begin(tx, 64, 5000, &err); /* room for up to 64 bytes */
    if (!l) return fprintf(stderr, "%s\n", err.message), 0;
    int n = snprintf(ipcx_loan_data(l), ipcx_loan_size(l), "frame %d", i); /* written in place */
    if (ipcx_loan_commit(tx, l, (size_t)n, &err) != 0) return fprintf(stderr, "%s\n", err.message), 0;
  }
  int ok = child_ok(pid);
  ipcx_close(tx); /* the ring's name goes with its last user */
  return ok;
}

static int publish_subscribe(void) {
  ipcx_error err;
  char url[128];
  snprintf(url, sizeof url, "shm://ipcx-example-pubsub-%d?pattern=pubsub&policy=block&capacity=64k", (int)getpid());
  int joined[2];
  if (pipe(joined) != 0) return 0;
  pid_t subs[2];
  for (int s = 0; s < 2; ++s) {
    subs[s] = fork();
    if (subs[s] == 0) {
      ipcx_channel* rx = ipcx_bind(url, &err); /* each bind is one subscriber */
      if (!rx || write(joined[1], "x", 1) != 1) _exit(1);
      int got = 0;
      char buf[64];
      while (ipcx_receive(rx, buf, sizeof buf, 5000, &err) >= 0) ++got;
      /* IPCX_PEER_GONE once the publisher has closed and every message was read */
      printf("%ssubscriber %d got %d", s ? ", " : "", s, got);
      fflush(stdout);
      ipcx_close(rx);
      _exit(got == 3 && err.kind == IPCX_PEER_GONE ? 0 : 2);
    }
    char c; /* wait for this subscriber to join, so it sees every message */
    if (read(joined[0], &c, 1) != 1) return 0;
  }
  ipcx_channel* pub = ipcx_open(url, &err);
  if (!pub) return fprintf(stderr, "%s\n", err.message), 0;
  for (int i = 0; i < 3; ++i)
    if (ipcx_send(pub, "tick", 4, 5000, &err) != 0) return fprintf(stderr, "%s\n", err.message), 0;
  ipcx_close(pub);
  int ok = child_ok(subs[0]);
  ok = child_ok(subs[1]) && ok;
  printf("\n");
  close(joined[0]);
  close(joined[1]);
  return ok;
}

int main(void) {
  int ok = spsc_zero_copy();
  fflush(stdout);
  ok = publish_subscribe() && ok;
  return ok ? 0 : 1;
}
