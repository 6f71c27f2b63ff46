// SPDX-License-Identifier: MIT
/* Futex wait/wake on a 32-bit word in a shared mapping, through the C API: a ping-pong.
 * The word goes 0 -> 1 (the parent's ping) -> 2 (the child's pong); each side sleeps in
 * the kernel while the word still holds the value it saw, and the other side changes the
 * word first, then wakes. Passing the value seen matters: a change that lands between a
 * waiter's check and its sleep makes the kernel return at once (IPCX_WOULD_BLOCK) instead
 * of sleeping through it. Wake-ups may be spurious: re-read the word in a loop.
 *   $ ./example_c_futex
 *   child: got the ping; parent: got the pong */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

/* Sleeps while *word == seen, for at most 5 s in all; 0 once it changed. */
static int wait_change(uint32_t* word, uint32_t seen) {
  ipcx_error err;
  while (ipcx_futex_load(word) == seen) {
    if (ipcx_futex_wait(word, seen, 5000, &err) != 0 && err.kind != IPCX_WOULD_BLOCK) return -1;
  }
  return 0;
}

int main(void) {
  ipcx_error err;
  /* A memfd is the simplest shared memory for a parent and child: no name to clean up. */
  ipcx_memfd* mem = ipcx_memfd_create("futex-example", 4096, &err);
  ipcx_mapping* map = mem ? ipcx_memfd_map(mem, 1, &err) : NULL;
  if (!map) return fprintf(stderr, "%s\n", err.message), 1;
  uint32_t* word = ipcx_mapping_data(map); /* 0 at first */

  pid_t pid = fork();
  if (pid == 0) {
    if (wait_change(word, 0) != 0) _exit(1);
    printf("child: got the ping; ");
    fflush(stdout);
    ipcx_futex_store(word, 2); /* change the word first ... */
    if (ipcx_futex_wake(word, INT_MAX, &err) < 0) _exit(2); /* ... then wake */
    _exit(0);
  }
  ipcx_futex_store(word, 1);
  if (ipcx_futex_wake(word, 1, &err) < 0) return fprintf(stderr, "%s\n", err.message), 1;
  int ok = wait_change(word, 1) == 0 && ipcx_futex_load(word) == 2;
  int status = 0;
  waitpid(pid, &status, 0);
  printf("parent: %s\n", ok ? "got the pong" : "no pong");
  ipcx_unmap(map);
  ipcx_memfd_close(mem);
  return ok && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
