// SPDX-License-Identifier: MIT
/* A System V message queue through the C API: ftok turns a file and a project number into
 * a key (the same key in every process), msgget makes the queue (sysvmq:///PATH?proj=N
 * with create, excl), msgsnd sends typed messages, msgrcv picks them by type, and
 * msgctl(IPC_STAT) reports it (ipcx_sysvmq_stat) and msgctl(IPC_RMID) removes it
 * (ipcx_sysvmq_remove). A forked child sends four typed messages; the parent reads the
 * queue's state, then picks the most urgent first (msgtyp < 0: lowest type up to
 * |msgtyp|), then by exact type, then any type but 3 (MSG_EXCEPT), and cuts the last one
 * to its buffer (MSG_NOERROR). The queue outlives its processes unless removed.
 *   $ ./example_c_sysv_mq
 *   key 0x0103ab12: 4 messages, 47 bytes, sent by the child; type 1 "urgent"; type 2 "normal"; type 4 "debug"; type 3 "log, cut"; removed */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

int main(void) {
  ipcx_error err;
  char path[64], url[128];
  snprintf(path, sizeof path, "/tmp/ipcx-example-sysvmq-%d", (int)getpid());
  FILE* f = fopen(path, "w"); /* ftok needs a file that exists (its inode and device) */
  if (!f) return perror(path), 1;
  fclose(f);
  key_t key = ipcx_ftok(path, 1, &err);
  if (key == -1) return fprintf(stderr, "%s\n", err.message), 1;
  printf("key 0x%08x: ", (unsigned)key);
  snprintf(url, sizeof url, "sysvmq://%s?proj=1&excl=1", path); /* IPC_CREAT|IPC_EXCL, 0600 */
  ipcx_channel* q = ipcx_open(url, &err);
  if (!q) return fprintf(stderr, "%s\n", err.message), 1;

  pid_t pid = fork();
  if (pid == 0) {
    snprintf(url, sizeof url, "sysvmq://%s?proj=1&create=0", path); /* msgget(key, 0): open */
    ipcx_channel* c = ipcx_open(url, &err);
    if (!c) _exit(1);
    struct { long type; const char* text; } m[] = {
        {3, "log, cut to fit a short buffer"}, {4, "debug"}, {2, "normal"}, {1, "urgent"}};
    for (int i = 0; i < 4; ++i)
      if (ipcx_send_ex(c, m[i].text, strlen(m[i].text), 5000, m[i].type, 0, &err) != 0) _exit(2);
    ipcx_close(c);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0); /* the messages wait in the queue after their sender exits */
  int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  ipcx_sysvmq_info st; /* msgctl(IPC_STAT) */
  if (ipcx_sysvmq_stat(q, &st, &err) != 0) return fprintf(stderr, "%s\n", err.message), 1;
  printf("%zu messages, %zu bytes, sent by the %s; ", st.messages, st.bytes,
         st.last_send_pid == pid ? "child" : "?");
  ok = ok && st.messages == 4 && st.last_send_pid == pid;
  /* msgtyp and flags: the most urgent of types 1..2, then type 2, then the first whose type
   * is not 3 (MSG_EXCEPT), then whatever is first, cut to 8 bytes (MSG_NOERROR). */
  struct { long msgtyp; int flags; size_t cap; long want; } picks[] = {
      {-2, 0, 64, 1}, {2, 0, 64, 2}, {3, IPCX_MSG_EXCEPT, 64, 4}, {0, IPCX_MSG_NOERROR, 8, 3}};
  for (int i = 0; i < 4; ++i) {
    char buf[64];
    long type = 0;
    ssize_t n = ipcx_sysvmq_receive(q, buf, picks[i].cap, 5000, picks[i].msgtyp, picks[i].flags, &type, &err);
    if (n < 0) return fprintf(stderr, "%s\n", err.message), 1;
    printf("type %ld \"%.*s\"; ", type, (int)n, buf);
    ok = ok && type == picks[i].want;
  }
  ok = ok && ipcx_sysvmq_remove(q, &err) == 0; /* msgctl(IPC_RMID) */
  printf("%s\n", ok ? "removed" : err.message);
  ipcx_close(q);
  remove(path);
  return ok ? 0 : 1;
}
