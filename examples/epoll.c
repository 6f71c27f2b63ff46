// SPDX-License-Identifier: MIT
/* One epoll loop serving several Channels at once, through the C API. Every channel with a
 * pollable descriptor (ipcx_pollable_fd: pipes, FIFOs, sockets, POSIX queues, shm://
 * with wait=poll) joins the loop; readable means a receive can make progress, and the
 * receive with timeout 0 then takes what is there (it may find nothing: IPCX_WOULD_BLOCK
 * is normal, try again at the next wake). System V queues have no descriptor (-1).
 * A forked child sends one message on each of a FIFO, a POSIX queue and a Unix datagram
 * socket; the parent's loop handles them as they come. The child is forked before any
 * channel exists (a POSIX queue's readiness uses a helper thread, and a child forked from a
 * threaded parent may only call async-signal-safe functions); it starts when the parent's
 * pipe says every receiving end is bound.
 *   $ ./example_c_epoll
 *   fifo: "via fifo"; posixmq: "via posixmq"; unixgram: "via unixgram"   (any order) */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

enum { kChannels = 3 };

int main(void) {
  ipcx_error err;
  char urls[kChannels][128];
  const char* names[kChannels] = {"fifo", "posixmq", "unixgram"};
  int pid_self = (int)getpid();
  snprintf(urls[0], sizeof urls[0], "fifo:///tmp/ipcx-example-epoll-%d?remove=1", pid_self);
  snprintf(urls[1], sizeof urls[1], "posixmq:///ipcx-example-epoll-%d?unlink=1", pid_self);
  snprintf(urls[2], sizeof urls[2], "unixgram:@ipcx-example-epoll-%d", pid_self);
  int ready[2];
  if (pipe(ready) != 0) return perror("pipe"), 1;
  pid_t pid = fork();
  if (pid < 0) return perror("fork"), 1;
  if (pid == 0) {
    char go = 0;
    close(ready[1]);
    if (read(ready[0], &go, 1) != 1) _exit(1); /* the parent closed without binding */
    for (int i = kChannels - 1; i >= 0; --i) {
      char text[32];
      int n = snprintf(text, sizeof text, "via %s", names[i]);
      ipcx_channel* out = ipcx_open(urls[i], &err);
      if (!out || ipcx_send(out, text, (size_t)n, 5000, &err) != 0) _exit(1);
      ipcx_close(out);
    }
    _exit(0);
  }
  close(ready[0]);
  ipcx_channel* ch[kChannels];
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return perror("epoll_create1"), 1;
  for (int i = 0; i < kChannels; ++i) {
    ch[i] = ipcx_bind(urls[i], &err); /* the receiving end of each, before the child sends */
    if (!ch[i]) return fprintf(stderr, "%s\n", err.message), 1;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, ipcx_pollable_fd(ch[i]), &ev) != 0) return perror("epoll_ctl"), 1;
  }

  if (write(ready[1], "g", 1) != 1) return perror("write"), 1;
  close(ready[1]);
  int got = 0, seen[kChannels] = {0};
  while (got < kChannels) {
    struct epoll_event evs[kChannels];
    int n = epoll_wait(ep, evs, kChannels, 5000);
    if (n <= 0) return fprintf(stderr, "no event within 5 s\n"), 1;
    for (int e = 0; e < n; ++e) {
      int i = (int)evs[e].data.u32;
      char buf[8192];
      ssize_t m = ipcx_receive(ch[i], buf, sizeof buf, 0, &err);
      if (m < 0) {
        if (err.kind == IPCX_WOULD_BLOCK) continue;
        if (err.kind == IPCX_PEER_GONE) { /* the FIFO's writer closed after its message */
          epoll_ctl(ep, EPOLL_CTL_DEL, ipcx_pollable_fd(ch[i]), NULL);
          continue;
        }
        return fprintf(stderr, "%s\n", err.message), 1;
      }
      printf("%s%s: \"%.*s\"", got ? "; " : "", names[i], (int)m, buf);
      seen[i] = 1;
      ++got;
    }
  }
  printf("\n");
  int status = 0;
  waitpid(pid, &status, 0);
  for (int i = 0; i < kChannels; ++i) ipcx_close(ch[i]);
  close(ep);
  return seen[0] && seen[1] && seen[2] && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
