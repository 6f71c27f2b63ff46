// SPDX-License-Identifier: MIT
/* A POSIX message queue through the C API: mq_open (posixmq:///NAME with create, excl and
 * the queue's size), mq_getattr, mq_notify, mq_timedsend with priorities, mq_setattr,
 * mq_timedreceive (highest priority first, first-in first-out within one), and mq_unlink
 * (?unlink=1: when the creator closes). The parent registers for a signal when a message
 * reaches the empty queue (mq_notify), a forked child sends four, and the parent, woken by
 * the signal, counts them (mq_getattr) and drains the queue. (The queue's descriptor,
 * ipcx_pollable_fd, is also readable then: see epoll.c.)
 *   $ ./example_c_posix_mq
 *   maxmsg 8, msgsize 128; notified (SI_MESGQ, value 7); 4 queued; prio 9 "alarm"; prio 5 "order 1"; prio 5 "order 2"; prio 0 "note"; then: would block */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

int main(void) {
  ipcx_error err;
  char url[128];
  snprintf(url, sizeof url, "posixmq:///ipcx-example-%d?excl=1&maxmsg=8&msgsize=128&unlink=1", (int)getpid());
  ipcx_channel* q = ipcx_open(url, &err);
  if (!q) return fprintf(stderr, "%s\n", err.message), 1;
  ipcx_posixmq_attr attr;
  if (ipcx_posixmq_getattr(q, &attr, &err) != 0) return fprintf(stderr, "%s\n", err.message), 1;
  printf("maxmsg %ld, msgsize %ld; ", attr.maxmsg, attr.msgsize);

  /* mq_notify: one registration per queue. It fires once, when a message arrives in the
   * EMPTY queue and nobody is blocked receiving; then register again for the next one.
   * The signal is blocked and taken with sigtimedwait, so no handler is needed. */
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, NULL);
  if (ipcx_posixmq_notify_signal(q, SIGUSR1, 7, &err) != 0) return fprintf(stderr, "%s\n", err.message), 1;

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
  siginfo_t si;
  memset(&si, 0, sizeof si);
  const struct timespec five = {5, 0};
  int ok = sigtimedwait(&usr1, &si, &five) == SIGUSR1 && si.si_code == SI_MESGQ && si.si_pid == pid;
  printf("%s (%s, value %d); ", ok ? "notified" : "not notified", si.si_code == SI_MESGQ ? "SI_MESGQ" : "?",
         si.si_value.sival_int);
  int status = 0;
  waitpid(pid, &status, 0);
  ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  ok = ok && ipcx_posixmq_getattr(q, &attr, &err) == 0 && attr.curmsgs == 4;
  printf("%ld queued; ", attr.curmsgs);

  /* mq_setattr: O_NONBLOCK on this descriptor (the channel's timeouts still decide how
   * long its own calls wait; the flag is for raw mq_receive on ipcx_pollable_fd). */
  ok = ok && ipcx_posixmq_setattr(q, 1, NULL, &err) == 0;
  unsigned expect[] = {9, 5, 5, 0}, prio = 0;
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
