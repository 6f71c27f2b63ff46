// SPDX-License-Identifier: MIT
/* A System V semaphore set with SEM_UNDO, through the C API: the robust way to hold a
 * unit. A set of one semaphore starts with one unit (a lock). The child takes it with
 * IPCX_SEM_UNDO and is killed holding it; the kernel undoes the child's operation at its
 * exit, so the unit comes back and the parent gets it. (A POSIX semaphore would have lost
 * it for good.) The creator removes the set when it closes it.
 *   $ ./example_c_sysv_sem
 *   child holds the unit (value 0); killed; value back to 1; parent took it */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

int main(void) {
  ipcx_error err;
  /* IPC_PRIVATE: a new set for this process family; another process would use a key from
   * ipcx_ftok(path, proj) and ipcx_sysvsem_open(key). */
  ipcx_sysvsem* set = ipcx_sysvsem_create(IPC_PRIVATE, 1, 0600, &err);
  if (!set) return fprintf(stderr, "%s\n", err.message), 1;
  if (ipcx_sysvsem_set_value(set, 0, 1, &err) != 0) return fprintf(stderr, "%s\n", err.message), 1;
  ipcx_semop take = {0, -1, IPCX_SEM_UNDO}; /* semaphore 0, minus one, undone at exit */

  int holding[2];
  if (pipe(holding) != 0) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    if (ipcx_sysvsem_op(set, &take, 1, 5000, &err) != 0) _exit(1);
    if (write(holding[1], "x", 1) != 1) _exit(2);
    pause(); /* killed here, holding the unit */
    _exit(3);
  }
  char c;
  if (read(holding[0], &c, 1) != 1) return 1;
  printf("child holds the unit (value %d); ", ipcx_sysvsem_value(set, 0, &err));
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  int back = ipcx_sysvsem_value(set, 0, &err);
  printf("killed; value back to %d; ", back);
  int took = ipcx_sysvsem_op(set, &take, 1, 5000, &err) == 0;
  printf("parent %s\n", took ? "took it" : err.message);
  ipcx_sysvsem_close(set); /* IPC_RMID: the creator removes the set */
  return back == 1 && took ? 0 : 1;
}
