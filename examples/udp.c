// SPDX-License-Identifier: MIT
/* UDP through the C API: a server binds 127.0.0.1 port 0 (ipcx_local_url says which port
 * it got) and answers each datagram; a forked client opens that URL, sends requests and
 * reads replies. A datagram is one message (at most 65,507 bytes over IPv4). UDP does not
 * retry: on a real network a datagram can be lost, duplicated or reordered, so a client
 * waits with a timeout (here, on loopback, none is lost).
 *   $ ./example_c_udp
 *   server on udp://127.0.0.1:51234; client got "re: 0" "re: 1" "re: 2" */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

int main(void) {
  ipcx_error err;
  ipcx_channel* server = ipcx_bind("udp://127.0.0.1:0", &err);
  if (!server) return fprintf(stderr, "%s\n", err.message), 1;
  char url[128];
  if (ipcx_local_url(server, url, sizeof url, &err) < 0) return fprintf(stderr, "%s\n", err.message), 1;
  printf("server on %s; ", url);
  fflush(stdout);

  pid_t pid = fork();
  if (pid == 0) {
    ipcx_close(server);
    ipcx_channel* c = ipcx_open(url, &err); /* binds an ephemeral port and connects */
    if (!c) _exit(1);
    printf("client got");
    for (int i = 0; i < 3; ++i) {
      char req[16], rep[32];
      int n = snprintf(req, sizeof req, "%d", i);
      if (ipcx_send(c, req, (size_t)n, 5000, &err) != 0) _exit(2);
      ssize_t m = ipcx_receive(c, rep, sizeof rep, 5000, &err); /* a timeout: UDP may lose it */
      if (m < 0) _exit(3);
      printf(" \"%.*s\"", (int)m, rep);
    }
    printf("\n");
    ipcx_close(c);
    fflush(stdout); /* _exit does not flush stdio */
    _exit(0);
  }
  for (int i = 0; i < 3; ++i) {
    char req[16], rep[32];
    ssize_t n = ipcx_receive(server, req, sizeof req, 5000, &err);
    if (n < 0) return fprintf(stderr, "%s\n", err.message), 1;
    int m = snprintf(rep, sizeof rep, "re: %.*s", (int)n, req);
    if (ipcx_send(server, rep, (size_t)m, 5000, &err) != 0) return fprintf(stderr, "%s\n", err.message), 1;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ipcx_close(server);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
