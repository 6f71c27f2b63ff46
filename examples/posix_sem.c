// SPDX-License-Identifier: MIT
/* POSIX semaphores through the C API: a named one ("/NAME", the file /dev/shm/sem.NAME)
 * that an unrelated process could open by name, and an unnamed one living in shared memory
 * (sem_init with pshared). The child produces three jobs (post); the parent consumes them
 * (wait with a timeout). A semaphore is a bare counter: a process killed between its wait
 * and its post never gives the unit back (see sysv_sem.c for SEM_UNDO).
 *   $ ./example_c_posix_sem
 *   named: took 3 jobs, then: would block; unnamed: took 1 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

int main(void) {
  ipcx_error err;
  char name[64];
  snprintf(name, sizeof name, "/ipcx-example-jobs-%d", (int)getpid());
  ipcx_sem* jobs = ipcx_sem_create(name, 0, 0600, &err); /* exclusive; the creator unlinks */
  if (!jobs) return fprintf(stderr, "%s\n", err.message), 1;
  ipcx_memfd* mem = ipcx_memfd_create("sem-example", 4096, &err);
  ipcx_mapping* map = mem ? ipcx_memfd_map(mem, 1, &err) : NULL;
  if (!map) return fprintf(stderr, "%s\n", err.message), 1;
  ipcx_unnamed_sem* done = ipcx_mapping_data(map);
  if (ipcx_unnamed_sem_init(done, 0, &err) != 0) return fprintf(stderr, "%s\n", err.message), 1;

  pid_t pid = fork();
  if (pid == 0) {
    ipcx_sem* mine = ipcx_sem_open(name, &err); /* by name, as any process could */
    if (!mine) _exit(1);
    for (int i = 0; i < 3; ++i)
      if (ipcx_sem_post(mine, &err) != 0) _exit(2);
    ipcx_sem_close(mine); /* not the creator: the name stays */
    if (ipcx_unnamed_sem_post(done, &err) != 0) _exit(3);
    _exit(0);
  }
  int took = 0;
  while (took < 3 && ipcx_sem_wait(jobs, 5000, &err) == 0) ++took;
  int rc = ipcx_sem_wait(jobs, 0, &err); /* timeout 0: sem_trywait */
  ipcx_errc then = rc < 0 ? err.kind : IPCX_OK;
  printf("named: took %d jobs, then: %s; ", took, rc < 0 ? ipcx_errc_name(then) : "one more?");
  int unnamed = ipcx_unnamed_sem_wait(done, 5000, &err) == 0;
  printf("unnamed: took %d\n", unnamed);
  int status = 0;
  waitpid(pid, &status, 0);
  ipcx_unnamed_sem_destroy(done);
  ipcx_unmap(map);
  ipcx_memfd_close(mem);
  ipcx_sem_close(jobs); /* unlinks /dev/shm/sem.ipcx-example-jobs-PID */
  return took == 3 && then == IPCX_WOULD_BLOCK && unnamed && WIFEXITED(status) &&
                 WEXITSTATUS(status) == 0
             ? 0
             : 1;
}
