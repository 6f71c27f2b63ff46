// SPDX-License-Identifier: MIT
/* A POSIX message queue through the C API: mq_open (posixmq:///NAME with create, excl and
 * the queue's size), mq_timedsend with priorities, mq_timedreceive (highest priority
 * first, first-in first-out within one), and mq_unlink (?unlink=1: when the creator
 * closes). The queue's descriptor is pollable, which is how a C program hears of a new
 * message without blocking in a receive: here the parent polls it. (mq_notify and
 * mq_getattr/mq_setattr are in the C++ wrapper: see posix_mq.cpp.)
 *   $ ./example_c_posix_mq
 *   readable; prio 9 "alarm"; prio 5 "order 1"; prio 5 "order 2"; prio 0 "note"; then: would block */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

int main(void) {
  ipcx_error err;
  char url[128];
  snprintf(url, sizeof url, "posixmq:///ipcx-example-%d?excl=1&maxmsg=8&msgsize=128&unlink=1", (int)getpid());
  ipcx_channel* q = ipcx_open(url, &err);
  if (!q) return fprintf(stderr, "%s\n", err.message), 1;

  pid_t pid = fork();
  if (pid == 0) {
    snprintf(url, sizeof url, "posixmq:///ipcx-example-%d?create=0", (int)getppid());
    ipcx_channel* c = ipcx_open(url, &err);
    if (!c) _exit(1);
    struct { unsigned prio; const char* text; } m[] = {{0, "note"}, {5, "order 1"}, {9, "alarm"}, {5, "order 2"}};
    for (int i = 0; i < 4; ++i) /* type 0: a POSIX queue has priorities, not types */
      if (ipcx_send_ex(c, m[i].text, strlen(m[i].text), 5000, 0, m[i].prio, &err) != 0) _exit(2);
    ipcx_close(c); /* not the creator: the name stays */
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  struct pollfd p = {ipcx_pollable_fd(q), POLLIN, 0};
  int ready = poll(&p, 1, 5000) == 1;
  printf("%s; ", ready ? "readable" : "not readable");
  unsigned expect[] = {9, 5, 5, 0}, prio = 0;
  int ok = ready && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  char buf[128]; /* a receive buffer must hold mq_msgsize bytes, whatever the message's size */
  for (int i = 0; i < 4; ++i) {
    ssize_t n = ipcx_receive_ex(q, buf, sizeof buf, 5000, 0, NULL, &prio, &err);
    if (n < 0) return fprintf(stderr, "%s\n", err.message), 1;
    printf("prio %u \"%.*s\"; ", prio, (int)n, buf);
    ok = ok && prio == expect[i];
  }
  ok = ok && ipcx_receive(q, buf, sizeof buf, 0, &err) < 0 && err.kind == IPCX_WOULD_BLOCK;
  printf("then: %s\n", ipcx_errc_name(err.kind));
  ipcx_close(q); /* mq_close, and mq_unlink because this channel created it with unlink=1 */
  return ok ? 0 : 1;
}
