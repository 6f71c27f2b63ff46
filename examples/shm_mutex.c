// SPDX-License-Identifier: MIT
/* A POSIX shared-memory segment guarded by a robust, process-shared mutex, through the C
 * API. Two accounts in the segment always sum to 100. The parent places the struct in the
 * segment behind a checked header (ipcx_place_claim, initialise in place,
 * ipcx_place_publish); a child opens the segment by name and finds it (ipcx_place_find
 * waits for the publication and checks the layout's magic, version and size), takes the
 * lock, moves money half-way, and is killed (SIGKILL) holding it. The kernel releases the
 * lock, and the parent's next lock returns IPCX_LOCK_OWNER_DIED: it repairs the half-done
 * transfer, marks the mutex consistent, and carries on. The creator's close unlinks the name.
 *   $ ./example_c_shm_mutex
 *   child found the bank and was killed holding the lock; parent: owner died, accounts 70 + 0 -> repaired to 70 + 30 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

struct bank {         /* lives in the segment: no pointers, only plain data */
  ipcx_mutex lock;
  int a, b;           /* a + b == 100 whenever the lock is free */
  int in_flight;      /* how much a transfer has taken from a and not yet given to b */
};
/* Names this struct in the header; bump the version whenever struct bank changes, and a
 * process built with the old layout is refused instead of misreading the new one. */
#define BANK_MAGIC UINT64_C(0x6970637862616e6b) /* "ipcxbank" */
#define BANK_VERSION 1

int main(void) {
  ipcx_error err;
  char name[64];
  snprintf(name, sizeof name, "/ipcx-example-bank-%d", (int)getpid());
  const size_t size = ipcx_place_size(sizeof(struct bank), _Alignof(struct bank)); /* header + struct */
  ipcx_shm* seg = ipcx_shm_create(name, size, 0600, &err); /* exclusive, zero-filled */
  if (!seg) return fprintf(stderr, "%s\n", err.message), 1;
  ipcx_mapping* map = ipcx_shm_map(seg, 1, &err);
  if (!map) return fprintf(stderr, "%s\n", err.message), 1;

  int holding[2]; /* the child says "I hold the lock" through a pipe: no sleeps */
  if (pipe(holding) != 0) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    /* Any process can do this: open by name, map, and find the bank (waiting up to 5 s
     * for the creator to publish it). */
    ipcx_shm* mine = ipcx_shm_open(name, 1, &err);
    ipcx_mapping* m = mine ? ipcx_shm_map(mine, 1, &err) : NULL;
    struct bank* bank = m ? ipcx_place_find(ipcx_mapping_data(m), ipcx_mapping_size(m), BANK_MAGIC, BANK_VERSION,
                                            sizeof *bank, _Alignof(struct bank), 5000, &err)
                          : NULL;
    if (!bank) _exit(1);
    if (ipcx_mutex_lock(&bank->lock, 5000, &err) < 0) _exit(2);
    bank->a -= 30; /* half of a transfer of 30 ... */
    bank->in_flight = 30;
    if (write(holding[1], "x", 1) != 1) _exit(3);
    pause(); /* ... and killed here, lock held */
    _exit(4);
  }
  /* Claim the header, build the struct in place, publish it: the child's find returns. */
  struct bank* bank = ipcx_place_claim(ipcx_mapping_data(map), ipcx_mapping_size(map), BANK_MAGIC, BANK_VERSION,
                                       sizeof *bank, _Alignof(struct bank), &err);
  if (!bank || ipcx_mutex_init(&bank->lock, &err) != 0) return fprintf(stderr, "%s\n", err.message), 1;
  bank->a = 100;
  ipcx_place_publish(ipcx_mapping_data(map));

  close(holding[1]); /* so that a child that failed is an end of file here, not a hang */
  char c;
  if (read(holding[0], &c, 1) != 1) return fprintf(stderr, "the child did not find the bank\n"), 1;
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  printf("child found the bank and was killed holding the lock; ");

  int r = ipcx_mutex_lock(&bank->lock, 5000, &err);
  if (r < 0) return fprintf(stderr, "%s\n", err.message), 1;
  if (r == IPCX_LOCK_OWNER_DIED) {
    printf("parent: owner died, accounts %d + %d", bank->a, bank->b);
    bank->b += bank->in_flight; /* finish the transfer the dead child started */
    bank->in_flight = 0;
    if (ipcx_mutex_consistent(&bank->lock, &err) != 0) return fprintf(stderr, "%s\n", err.message), 1;
    printf(" -> repaired to %d + %d\n", bank->a, bank->b);
  }
  int ok = bank->a + bank->b == 100;
  ipcx_mutex_unlock(&bank->lock, &err);
  /* Without ipcx_mutex_consistent, that unlock would have made the mutex unrecoverable. */
  ipcx_mutex_destroy(&bank->lock);
  ipcx_unmap(map);
  ipcx_shm_close(seg); /* the creator unlinks /dev/shm/ipcx-example-bank-PID */
  return r == IPCX_LOCK_OWNER_DIED && ok ? 0 : 1;
}
