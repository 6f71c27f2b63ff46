// SPDX-License-Identifier: MIT
/* An anonymous pipe between a parent and the child it forks, through the C API. Pipes
 * carry bytes; ipcx frames each message (a 4-byte length), so the reader gets whole
 * messages of any size, and "peer gone" when the last writer closes.
 *   $ ./example_c_pipe
 *   got: "hello from the child" / got: 100000 bytes / child gone: peer gone */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

int main(void) {
  ipcx_error err;
  ipcx_channel *reader, *writer;
  if (ipcx_pipe(&reader, &writer, &err) != 0) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  pid_t pid = fork();
  if (pid == 0) {
    ipcx_close(reader); /* the child only writes: close the end it does not use */
    const char* hello = "hello from the child";
    if (ipcx_send(writer, hello, strlen(hello), 5000, &err) != 0) _exit(1);
    static char big[100000]; /* larger than the pipe's 64 KiB buffer: still one message */
    memset(big, 'x', sizeof big);
    if (ipcx_send(writer, big, sizeof big, 5000, &err) != 0) _exit(2);
    ipcx_close(writer);
    _exit(0);
  }
  ipcx_close(writer); /* or the parent would never see the child's end close */
  static char buf[200000];
  ssize_t n = ipcx_receive(reader, buf, sizeof buf, 5000, &err);
  if (n < 0) return fprintf(stderr, "%s\n", err.message), 1;
  printf("got: \"%.*s\"\n", (int)n, buf);
  n = ipcx_receive(reader, buf, sizeof buf, 5000, &err);
  if (n < 0) return fprintf(stderr, "%s\n", err.message), 1;
  printf("got: %zd bytes\n", n);
  n = ipcx_receive(reader, buf, sizeof buf, 5000, &err);
  printf("child gone: %s\n", ipcx_errc_name(err.kind));
  ipcx_close(reader);
  int status = 0;
  waitpid(pid, &status, 0);
  return n < 0 && err.kind == IPCX_PEER_GONE && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
