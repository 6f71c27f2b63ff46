// SPDX-License-Identifier: MIT
/* A Unix datagram socket through the C API: a server binds an abstract name (no file to
 * clean up; gone when the socket closes) and answers each datagram; a forked client opens
 * the same name (ipcx binds the client an automatic address so replies find it), sends
 * three requests and reads three replies. One datagram is one message: boundaries are
 * kept, nothing is framed, and a message larger than the buffer is an error, not cut.
 *   $ ./example_c_unix_dgram
 *   client: "re: ping 0" "re: ping 1" "re: ping 2" */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

int main(void) {
  ipcx_error err;
  char url[96];
  snprintf(url, sizeof url, "unixgram:@ipcx-example-%d", (int)getpid());
  ipcx_channel* server = ipcx_bind(url, &err); /* bound before the fork */
  if (!server) return fprintf(stderr, "%s\n", err.message), 1;

  pid_t pid = fork();
  if (pid == 0) {
    ipcx_close(server);
    ipcx_channel* c = ipcx_open(url, &err);
    if (!c) _exit(1);
    printf("client:");
    for (int i = 0; i < 3; ++i) {
      char req[32], rep[64];
      int n = snprintf(req, sizeof req, "ping %d", i);
      if (ipcx_send(c, req, (size_t)n, 5000, &err) != 0) _exit(2);
      ssize_t m = ipcx_receive(c, rep, sizeof rep, 5000, &err);
      if (m < 0) _exit(3);
      printf(" \"%.*s\"", (int)m, rep);
    }
    printf("\n");
    ipcx_close(c);
    fflush(stdout); /* _exit does not flush stdio */
    _exit(0);
  }
  for (int i = 0; i < 3; ++i) {
    char req[64], rep[80];
    ssize_t n = ipcx_receive(server, req, sizeof req, 5000, &err);
    if (n < 0) return fprintf(stderr, "%s\n", err.message), 1;
    int m = snprintf(rep, sizeof rep, "re: %.*s", (int)n, req);
    if (ipcx_send(server, rep, (size_t)m, 5000, &err) != 0) /* to the last sender */
      return fprintf(stderr, "%s\n", err.message), 1;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ipcx_close(server);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
