// SPDX-License-Identifier: MIT
/* TCP through the C API: a server listens on 127.0.0.1 port 0 (the kernel picks a free
 * port; ipcx_listener_url says which), a forked client connects to that URL and sends two
 * messages; the server echoes them. TCP is a byte stream: ipcx frames each message with a
 * 4-byte length so the receiver gets whole messages. Unlike Unix sockets, TCP reaches
 * other hosts, and a peer's credentials are unknown (IPCX_NOT_SUPPORTED).
 *   $ ./example_c_tcp
 *   listening on tcp://127.0.0.1:41234; client got "echo: hello" "echo: world" */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

int main(void) {
  ipcx_error err;
  ipcx_listener* l = ipcx_listen("tcp://127.0.0.1:0", &err);
  if (!l) return fprintf(stderr, "%s\n", err.message), 1;
  char url[128];
  if (ipcx_listener_url(l, url, sizeof url, &err) < 0) return fprintf(stderr, "%s\n", err.message), 1;
  printf("listening on %s; ", url);
  fflush(stdout);

  pid_t pid = fork();
  if (pid == 0) {
    ipcx_channel* c = ipcx_open(url, &err);
    if (!c) _exit(1);
    const char* words[] = {"hello", "world"};
    printf("client got");
    for (int i = 0; i < 2; ++i) {
      char buf[64];
      if (ipcx_send(c, words[i], strlen(words[i]), 5000, &err) != 0) _exit(2);
      ssize_t n = ipcx_receive(c, buf, sizeof buf, 5000, &err);
      if (n < 0) _exit(3);
      printf(" \"%.*s\"", (int)n, buf);
    }
    printf("\n");
    ipcx_close(c);
    fflush(stdout); /* _exit does not flush stdio */
    _exit(0);
  }
  ipcx_channel* c = ipcx_accept(l, 5000, &err);
  if (!c) return fprintf(stderr, "%s\n", err.message), 1;
  for (;;) {
    char buf[64], rep[80];
    ssize_t n = ipcx_receive(c, buf, sizeof buf, 5000, &err);
    if (n < 0) break; /* IPCX_PEER_GONE when the client closes */
    int m = snprintf(rep, sizeof rep, "echo: %.*s", (int)n, buf);
    if (ipcx_send(c, rep, (size_t)m, 5000, &err) != 0) break;
  }
  int gone = err.kind == IPCX_PEER_GONE;
  int status = 0;
  waitpid(pid, &status, 0);
  ipcx_close(c);
  ipcx_listener_close(l);
  return gone && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
