// SPDX-License-Identifier: MIT
/* What the C11 tests of the C API share: CHECK, which counts failures and prints the last
 * ipcx_error; a child's exit status; and a one-shot gate between parent and child (a pipe,
 * so nothing waits by sleeping). Header-only, so that each test is still one command to
 * build: cc -std=c11 -Wall -Werror test.c $(pkg-config --cflags --libs ipcx). */
#ifndef IPCX_TESTS_C11_CHECK_H
#define IPCX_TESTS_C11_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

static int failures;
static ipcx_error err;

#define CHECK(cond)                                                                                           \
  do {                                                                                                        \
    if (!(cond)) {                                                                                            \
      fprintf(stderr, "%s:%d: CHECK(%s) failed (last error: %s: %s)\n", __FILE__, __LINE__, #cond,            \
              ipcx_errc_name(err.kind), err.message);                                                         \
      ++failures;                                                                                             \
    }                                                                                                         \
  } while (0)

/* In a child: exit with `code` unless cond holds. */
#define REQUIRE_IN_CHILD(cond, code) \
  do {                               \
    if (!(cond)) _exit(code);        \
  } while (0)

/* The child's exit status, or 128 + the signal that ended it. */
static inline int wait_child(pid_t pid) {
  int st = 0;
  if (waitpid(pid, &st, 0) != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A one-shot gate between parent and child: a pipe; the reader blocks until a byte comes. */
typedef struct gate {
  int fd[2];
} gate;
static inline void gate_open(gate* g) {
  if (pipe(g->fd) != 0) abort();
}
static inline void gate_post(gate* g) {
  if (write(g->fd[1], "x", 1) != 1) abort();
}
static inline int gate_wait(gate* g) {
  char c;
  return read(g->fd[0], &c, 1) == 1;
}
static inline void gate_close(gate* g) {
  close(g->fd[0]);
  close(g->fd[1]);
}

#endif /* IPCX_TESTS_C11_CHECK_H */
