// SPDX-License-Identifier: MIT
/* A Unix stream socket through the C API: a server listens on a path, a forked client
 * connects and sends a message together with an open descriptor (SCM_RIGHTS); the server
 * learns who the client is (SO_PEERCRED: pid, uid, gid, vouched for by the kernel) and
 * reads from the descriptor it received. The listener unlinks its socket file on close.
 *   $ ./example_c_unix_stream
 *   server: client pid 1235 uid 1000; message "here is a pipe"; read "through the passed fd" */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

int main(void) {
  ipcx_error err;
  char url[128];
  snprintf(url, sizeof url, "unix:///tmp/ipcx-example-%d.sock", (int)getpid());
  ipcx_listener* l = ipcx_listen(url, &err); /* bound and listening before the fork: no race */
  if (!l) return fprintf(stderr, "%s\n", err.message), 1;

  pid_t pid = fork();
  if (pid == 0) {
    /* The child leaves its copy of the listener alone: closing it would unlink the path. */
    ipcx_channel* c = ipcx_open(url, &err);
    if (!c) _exit(1);
    int p[2]; /* something to pass: the read end of a pipe we write into */
    if (pipe(p) != 0 || write(p[1], "through the passed fd", 21) != 21) _exit(2);
    close(p[1]);
    ipcx_send_options o = {0};
    o.fds = &p[0];
    o.nfds = 1;
    const char* msg = "here is a pipe";
    if (ipcx_send_msg(c, msg, strlen(msg), 5000, &o, &err) != 0) _exit(3);
    close(p[0]); /* the server has its own descriptor for the pipe now */
    char ok[4];
    if (ipcx_receive(c, ok, sizeof ok, 5000, &err) != 2) _exit(4); /* wait for the reply */
    ipcx_close(c);
    _exit(0);
  }
  ipcx_channel* c = ipcx_accept(l, 5000, &err);
  if (!c) return fprintf(stderr, "%s\n", err.message), 1;
  pid_t peer = 0;
  uid_t uid = 0;
  if (ipcx_peer_credentials(c, &peer, &uid, NULL, &err) != 0) return fprintf(stderr, "%s\n", err.message), 1;
  char buf[64];
  int fd = -1;
  ipcx_received r = {0};
  r.fds = &fd; /* room for one descriptor */
  r.fds_cap = 1;
  ssize_t n = ipcx_receive_msg(c, buf, sizeof buf, 5000, &r, &err);
  if (n < 0 || r.nfds != 1) return fprintf(stderr, "%s\n", err.message), 1;
  char text[64];
  ssize_t got = read(fd, text, sizeof text); /* our descriptor: we close it */
  close(fd);
  printf("server: client pid %d uid %d; message \"%.*s\"; read \"%.*s\"\n", (int)peer, (int)uid, (int)n, buf,
         (int)(got > 0 ? got : 0), text);
  ipcx_send(c, "ok", 2, 5000, &err);
  int status = 0;
  waitpid(pid, &status, 0);
  ipcx_close(c);
  ipcx_listener_close(l); /* unlinks /tmp/ipcx-example-PID.sock */
  return peer == pid && got == 21 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
