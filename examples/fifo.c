// SPDX-License-Identifier: MIT
/* The C API: a child sends three messages over a FIFO, the parent receives them, then
 * sees the child's exit as "peer gone". Also shows the error for a short buffer.
 *   $ ./example_c_fifo   (the same FIFO works with `ipcx send fifo:///PATH ...`)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipcx/ipcx.h"

int main(void) {
  char url[128];
  snprintf(url, sizeof url, "fifo:///tmp/ipcx-example-c-%d?remove=1", (int)getpid());
  ipcx_error err;
  ipcx_channel* ch = ipcx_open(url, &err);
  if (!ch) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  pid_t pid = fork();
  if (pid == 0) {
    ipcx_channel* out = ipcx_open(url, &err);
    const char* words[] = {"one", "two", "three"};
    for (int i = 0; out && i < 3; ++i) {
      if (ipcx_send(out, words[i], strlen(words[i]), 5000, &err) != 0) _exit(1);
    }
    ipcx_close(out);
    _exit(0);
  }
  char small[2];
  char buf[64];
  if (ipcx_receive(ch, small, sizeof small, 5000, &err) < 0 && err.kind == IPCX_MESSAGE_TOO_LARGE) {
    printf("short buffer: %s (message is %zu bytes)\n", ipcx_errc_name(err.kind), err.size);
  }
  for (;;) {
    ssize_t n = ipcx_receive(ch, buf, sizeof buf, 5000, &err);
    if (n < 0) {
      printf("end: %s\n", ipcx_errc_name(err.kind));
      break;
    }
    printf("got: %.*s\n", (int)n, buf);
  }
  ipcx_close(ch);
  int status = 0;
  waitpid(pid, &status, 0);
  return err.kind == IPCX_PEER_GONE && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
