// SPDX-License-Identifier: MIT
/* The C API below the Channel, as a C11 program sees it: POSIX queue attributes and
 * notification (mq.h), System V IPC_STAT/IPC_SET of queues, segments and semaphore sets,
 * msgrcv with MSG_NOERROR, MSG_EXCEPT and MSG_COPY, placement of a struct in shared memory
 * (place.h), mlock, msync, mprotect and shmget's flags; and what c_api_c11.c leaves out
 * (keeping and removing names and keys, GETALL/SETALL, ipcx_mutex_reinit, ipcx_cond_signal,
 * ipcx_listener_fd). Every two-sided call has a forked child as the other side. Built in the tree (ctest c_api_objects_c11) and by the install test against the
 * installed package with gcc and clang-19:
 *   cc -std=c11 -Wall -Werror c_api_objects_c11.c $(pkg-config --cflags --libs ipcx)
 * Prints one line per failed check and exits 1 if any failed; leaves no IPC object behind
 * (every name carries the process id, and the checks verify each object is gone). */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

#include "c11_check.h"

/* True if `path` exists. */
static int exists(const char* path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* Waits (up to 5 s) until f(arg) returns `want`, re-checking each millisecond: the
 * condition is the kernel's own state (a waiter count), so this orders nothing by time. */
static int wait_until(int (*f)(const void*), const void* arg, int want) {
  const struct timespec ms = {0, 1000000};
  for (int i = 0; i < 5000; ++i) {
    if (f(arg) == want) return 1;
    nanosleep(&ms, NULL);
  }
  return 0;
}

/* --- POSIX queues: mq_getattr, mq_setattr, mq_notify ----------------------------------- */

static void test_posixmq_attributes(void) {
  char url[128];
  snprintf(url, sizeof url, "posixmq:///ipcx-c11-attr-%d?maxmsg=4&msgsize=64&unlink=1", (int)getpid());
  ipcx_channel* q = ipcx_open(url, &err);
  CHECK(q != NULL);
  if (!q) return;
  ipcx_posixmq_attr a;
  memset(&a, 0xff, sizeof a);
  CHECK(ipcx_posixmq_getattr(q, &a, &err) == 0);
  CHECK(a.maxmsg == 4 && a.msgsize == 64 && a.curmsgs == 0 && a.nonblocking == 0);

  /* A child sends two; the parent's mq_getattr counts them. */
  char name[64];
  snprintf(name, sizeof name, "posixmq:///ipcx-c11-attr-%d", (int)getpid());
  pid_t pid = fork();
  if (pid == 0) {
    ipcx_error e;
    ipcx_channel* c = ipcx_open(name, &e);
    REQUIRE_IN_CHILD(c, 10);
    REQUIRE_IN_CHILD(ipcx_send(c, "a", 1, 5000, &e) == 0 && ipcx_send(c, "b", 1, 5000, &e) == 0, 11);
    ipcx_close(c);
    _exit(0);
  }
  CHECK(wait_child(pid) == 0);
  CHECK(ipcx_posixmq_getattr(q, &a, &err) == 0 && a.curmsgs == 2);
  struct pollfd p = {ipcx_pollable_fd(q), POLLIN, 0};
  CHECK(p.fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLIN)); /* the mq descriptor itself */

  /* mq_setattr: O_NONBLOCK on, the old attributes given back, then off again. */
  ipcx_posixmq_attr old;
  memset(&old, 0xff, sizeof old);
  CHECK(ipcx_posixmq_setattr(q, 1, &old, &err) == 0);
  CHECK(old.nonblocking == 0 && old.maxmsg == 4 && old.msgsize == 64 && old.curmsgs == 2);
  CHECK(ipcx_posixmq_getattr(q, &a, &err) == 0 && a.nonblocking == 1);
  char buf[64];
  CHECK(ipcx_receive(q, buf, sizeof buf, 5000, &err) == 1 && buf[0] == 'a');
  CHECK(ipcx_receive(q, buf, sizeof buf, 5000, &err) == 1 && buf[0] == 'b');
  /* The channel's timeout still decides, whatever O_NONBLOCK says. */
  CHECK(ipcx_receive(q, buf, sizeof buf, 20, &err) == -1 && err.kind == IPCX_TIMED_OUT);
  CHECK(ipcx_posixmq_setattr(q, 0, NULL, &err) == 0);
  CHECK(ipcx_posixmq_getattr(q, &a, &err) == 0 && a.nonblocking == 0 && a.curmsgs == 0);

  /* Not a POSIX queue: said, not crashed. */
  CHECK(ipcx_posixmq_getattr(NULL, &a, &err) == -1 && err.kind == IPCX_INVALID_ARGUMENT);
  CHECK(ipcx_posixmq_getattr(q, NULL, &err) == -1 && err.kind == IPCX_INVALID_ARGUMENT);
  ipcx_channel* s = ipcx_open("sysvmq://private?remove=1", &err);
  CHECK(s != NULL);
  CHECK(ipcx_posixmq_getattr(s, &a, &err) == -1 && err.kind == IPCX_INVALID_ARGUMENT &&
        strstr(err.message, "not a posixmq:// channel") != NULL);
  CHECK(ipcx_posixmq_notify_none(s, &err) == -1 && err.kind == IPCX_INVALID_ARGUMENT);
  ipcx_close(s);
  ipcx_close(q);
  snprintf(name, sizeof name, "/dev/mqueue/ipcx-c11-attr-%d", (int)getpid());
  CHECK(!exists(name));
}

static void test_posixmq_notify_signal(void) {
  char url[128], name[64];
  snprintf(url, sizeof url, "posixmq:///ipcx-c11-sig-%d?unlink=1", (int)getpid());
  snprintf(name, sizeof name, "posixmq:///ipcx-c11-sig-%d", (int)getpid());
  ipcx_channel* q = ipcx_open(url, &err);
  CHECK(q != NULL);
  if (!q) return;
  sigset_t usr1, old;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  CHECK(sigprocmask(SIG_BLOCK, &usr1, &old) == 0); /* taken by sigtimedwait, never delivered */
  CHECK(ipcx_posixmq_notify_signal(q, SIGUSR1, 42, &err) == 0);

  /* The child finds the registration held (EBUSY), then sends on the empty queue. */
  pid_t pid = fork();
  if (pid == 0) {
    ipcx_error e;
    ipcx_channel* c = ipcx_open(name, &e);
    REQUIRE_IN_CHILD(c, 10);
    REQUIRE_IN_CHILD(ipcx_posixmq_notify_none(c, &e) == -1 && e.code == EBUSY, 11);
    REQUIRE_IN_CHILD(ipcx_send(c, "ping", 4, 5000, &e) == 0, 12);
    ipcx_close(c);
    _exit(0);
  }
  siginfo_t si;
  memset(&si, 0, sizeof si);
  const struct timespec five = {5, 0};
  CHECK(sigtimedwait(&usr1, &si, &five) == SIGUSR1);
  CHECK(si.si_code == SI_MESGQ && si.si_value.sival_int == 42 && si.si_pid == pid);
  CHECK(wait_child(pid) == 0);
  char buf[8192];
  CHECK(ipcx_receive(q, buf, sizeof buf, 5000, &err) == 4 && memcmp(buf, "ping", 4) == 0);
  /* One notification per registration: it is gone now, so another process may register. */
  pid = fork();
  if (pid == 0) {
    ipcx_error e;
    ipcx_channel* c = ipcx_open(name, &e);
    REQUIRE_IN_CHILD(c, 10);
    REQUIRE_IN_CHILD(ipcx_posixmq_notify_none(c, &e) == 0, 11);
    ipcx_close(c); /* and its close drops the registration */
    _exit(0);
  }
  CHECK(wait_child(pid) == 0);
  CHECK(ipcx_posixmq_notify_none(q, &err) == 0);
  CHECK(ipcx_posixmq_notify_cancel(q, &err) == 0);
  CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
  ipcx_close(q);
}

/* The callback's side: counts runs on a futex word the test waits on. */
static uint32_t callback_runs;
static void on_message(void* arg) {
  ipcx_futex_add((uint32_t*)arg, 1);
  ipcx_futex_wake((uint32_t*)arg, INT_MAX, NULL);
}

static void test_posixmq_notify_callback(void) {
  char url[128], name[64];
  snprintf(url, sizeof url, "posixmq:///ipcx-c11-cb-%d?unlink=1", (int)getpid());
  snprintf(name, sizeof name, "posixmq:///ipcx-c11-cb-%d", (int)getpid());
  ipcx_channel* q = ipcx_open(url, &err);
  CHECK(q != NULL);
  if (!q) return;
  CHECK(ipcx_posixmq_notify_callback(q, NULL, NULL, &err) == -1 && err.kind == IPCX_INVALID_ARGUMENT);
  CHECK(ipcx_posixmq_notify_callback(q, on_message, &callback_runs, &err) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    ipcx_error e;
    ipcx_channel* c = ipcx_open(name, &e);
    REQUIRE_IN_CHILD(c, 10);
    REQUIRE_IN_CHILD(ipcx_send(c, "ping", 4, 5000, &e) == 0, 11);
    ipcx_close(c);
    _exit(0);
  }
  CHECK(wait_child(pid) == 0);
  for (int i = 0; i < 100 && ipcx_futex_load(&callback_runs) == 0; ++i) {
    ipcx_futex_wait(&callback_runs, 0, 50, NULL);
  }
  CHECK(ipcx_futex_load(&callback_runs) == 1);
  char buf[8192];
  CHECK(ipcx_receive(q, buf, sizeof buf, 0, &err) == 4);
  /* Cancelled: a message to the empty queue runs nothing. */
  CHECK(ipcx_posixmq_notify_cancel(q, &err) == 0);
  CHECK(ipcx_send(q, "x", 1, 0, &err) == 0);
  CHECK(ipcx_receive(q, buf, sizeof buf, 0, &err) == 1);
  CHECK(ipcx_futex_load(&callback_runs) == 1);
  ipcx_close(q);
}

/* --- System V queues: IPC_STAT, IPC_SET, MSG_NOERROR, MSG_EXCEPT, MSG_COPY --------------- */

static void test_sysvmq(void) {
  ipcx_channel* q = ipcx_open("sysvmq://private?remove=1", &err);
  CHECK(q != NULL);
  if (!q) return;
  const int id = ipcx_sysvmq_id(q);
  ipcx_sysvmq_info st;
  CHECK(ipcx_sysvmq_stat(q, &st, &err) == 0);
  CHECK(st.key == IPC_PRIVATE && st.uid == getuid() && st.cuid == getuid() && st.mode == 0600 &&
        st.messages == 0 && st.bytes == 0 && st.qbytes > 0 && st.send_time == 0);
  const size_t qbytes = st.qbytes;

  static const char long_text[] = "a message longer than four bytes";
  pid_t pid = fork();
  if (pid == 0) {
    ipcx_error e;
    char url[64];
    snprintf(url, sizeof url, "sysvmq://id:%d", id);
    ipcx_channel* c = ipcx_open(url, &e);
    REQUIRE_IN_CHILD(c, 10);
    REQUIRE_IN_CHILD(ipcx_send_ex(c, "five", 4, 5000, 5, 0, &e) == 0, 11);
    REQUIRE_IN_CHILD(ipcx_send_ex(c, long_text, sizeof long_text, 5000, 2, 0, &e) == 0, 12);
    REQUIRE_IN_CHILD(ipcx_send_ex(c, "seven", 5, 5000, 7, 0, &e) == 0, 13);
    ipcx_close(c);
    _exit(0);
  }
  CHECK(wait_child(pid) == 0);
  CHECK(ipcx_sysvmq_stat(q, &st, &err) == 0);
  CHECK(st.messages == 3 && st.bytes == 4 + sizeof long_text + 5 && st.last_send_pid == pid &&
        st.send_time != 0);

  /* MSG_COPY: a copy by position, the queue untouched. */
  char buf[256];
  long type = 0;
  ssize_t n = ipcx_sysvmq_peek(q, buf, sizeof buf, 1, &type, &err);
  if (n == -1 && err.kind == IPCX_NOT_SUPPORTED) {
    fprintf(stderr, "c_api_objects_c11: MSG_COPY not checked: %s\n", err.message);
  } else {
    CHECK(n == (ssize_t)sizeof long_text && type == 2 && memcmp(buf, long_text, sizeof long_text) == 0);
    CHECK(ipcx_sysvmq_peek(q, buf, sizeof buf, 3, &type, &err) == -1 && err.kind == IPCX_WOULD_BLOCK);
    CHECK(ipcx_sysvmq_peek(q, buf, 4, 1, &type, &err) == -1 && err.kind == IPCX_MESSAGE_TOO_LARGE);
    CHECK(ipcx_sysvmq_stat(q, &st, &err) == 0 && st.messages == 3);
  }

  /* Without MSG_NOERROR a long message stays; with it, it is cut to the buffer. */
  CHECK(ipcx_sysvmq_receive(q, buf, 4, 0, 2, 0, &type, &err) == -1 && err.kind == IPCX_MESSAGE_TOO_LARGE);
  CHECK(ipcx_sysvmq_stat(q, &st, &err) == 0 && st.messages == 3);
  type = 0;
  CHECK(ipcx_sysvmq_receive(q, buf, 4, 0, 2, IPCX_MSG_NOERROR, &type, &err) == 4 && type == 2 &&
        memcmp(buf, long_text, 4) == 0);
  /* MSG_EXCEPT: the first message whose type is not 5. */
  CHECK(ipcx_sysvmq_receive(q, buf, sizeof buf, 0, 5, IPCX_MSG_EXCEPT, &type, &err) == 5 && type == 7);
  CHECK(ipcx_sysvmq_receive(q, buf, sizeof buf, 0, 0, 0, &type, &err) == 4 && type == 5);
  CHECK(ipcx_sysvmq_receive(q, buf, sizeof buf, 0, 0, 0, &type, &err) == -1 && err.kind == IPCX_WOULD_BLOCK);
  CHECK(ipcx_sysvmq_receive(q, buf, sizeof buf, 20, 0, 0, NULL, &err) == -1 && err.kind == IPCX_TIMED_OUT);
  CHECK(ipcx_sysvmq_receive(q, buf, sizeof buf, 0, 0, 0x100, NULL, &err) == -1 &&
        err.kind == IPCX_INVALID_ARGUMENT);

  /* A child blocked in msgrcv on type 9 takes the one the parent sends. */
  pid = fork();
  if (pid == 0) {
    ipcx_error e;
    char url[64], b[16];
    long t = 0;
    snprintf(url, sizeof url, "sysvmq://id:%d", id);
    ipcx_channel* c = ipcx_open(url, &e);
    REQUIRE_IN_CHILD(c, 10);
    REQUIRE_IN_CHILD(ipcx_sysvmq_receive(c, b, sizeof b, -1, 9, 0, &t, &e) == 4 && t == 9, 11);
    ipcx_close(c);
    _exit(0);
  }
  CHECK(ipcx_send_ex(q, "nine", 4, 5000, 9, 0, &err) == 0);
  CHECK(wait_child(pid) == 0);
  CHECK(ipcx_sysvmq_stat(q, &st, &err) == 0 && st.messages == 0 && st.last_receive_pid == pid);

  /* IPC_SET: owner and mode, and a smaller msg_qbytes. */
  ipcx_sysv_owner o = {getuid(), getgid(), 0640};
  CHECK(ipcx_sysvmq_set(q, &o, qbytes / 2, &err) == 0);
  CHECK(ipcx_sysvmq_stat(q, &st, &err) == 0 && st.mode == 0640 && st.qbytes == qbytes / 2);
  CHECK(ipcx_sysvmq_set(q, NULL, 0, &err) == 0); /* nothing changed */
  CHECK(ipcx_sysvmq_stat(q, &st, &err) == 0 && st.mode == 0640 && st.qbytes == qbytes / 2);
  o.mode = 01777;
  CHECK(ipcx_sysvmq_set(q, &o, 0, &err) == -1 && err.kind == IPCX_INVALID_ARGUMENT);

  char purl[96];
  snprintf(purl, sizeof purl, "posixmq:///ipcx-c11-notsysv-%d?unlink=1", (int)getpid());
  ipcx_channel* p = ipcx_open(purl, &err);
  CHECK(p != NULL);
  CHECK(ipcx_sysvmq_stat(p, &st, &err) == -1 && err.kind == IPCX_INVALID_ARGUMENT);
  CHECK(ipcx_sysvmq_peek(p, buf, sizeof buf, 0, NULL, &err) == -1 && err.kind == IPCX_INVALID_ARGUMENT);
  ipcx_close(p);
  ipcx_close(q); /* ?remove=1: IPC_RMID */
  char url[64];
  snprintf(url, sizeof url, "sysvmq://id:%d", id);
  CHECK(ipcx_open(url, &err) == NULL);
}

/* --- System V segments and semaphore sets: IPC_STAT, IPC_SET; shmget flags; mlock -------- */

static void test_sysvshm_stat_set(void) {
  ipcx_sysvshm* seg = ipcx_sysvshm_create(IPC_PRIVATE, 4096, 0600, &err);
  CHECK(seg != NULL);
  if (!seg) return;
  const int id = ipcx_sysvshm_id(seg);
  ipcx_sysvshm_info st;
  CHECK(ipcx_sysvshm_stat(seg, &st, &err) == 0);
  CHECK(st.size == 4096 && st.mode == 0600 && st.uid == getuid() && st.cuid == getuid() && st.attached == 0 &&
        st.creator_pid == getpid() && st.attach_time == 0 && !st.removed);

  /* A child attaches, writes, detaches: the segment records it. */
  pid_t pid = fork();
  if (pid == 0) {
    ipcx_error e;
    ipcx_sysvshm* s = ipcx_sysvshm_open_id(id, &e);
    REQUIRE_IN_CHILD(s, 10);
    ipcx_mapping* m = ipcx_sysvshm_attach(s, 1, &e);
    REQUIRE_IN_CHILD(m, 11);
    REQUIRE_IN_CHILD(ipcx_mapping_lock(m, &e) == 0, 12);
    strcpy(ipcx_mapping_data(m), "stat");
    ipcx_unmap(m);
    ipcx_sysvshm_close(s);
    _exit(0);
  }
  CHECK(wait_child(pid) == 0);
  CHECK(ipcx_sysvshm_stat(seg, &st, &err) == 0);
  CHECK(st.attached == 0 && st.last_pid == pid && st.attach_time != 0 && st.detach_time != 0);

  ipcx_mapping* m = ipcx_sysvshm_attach(seg, 0, &err);
  CHECK(m != NULL && strcmp(ipcx_mapping_data(m), "stat") == 0);
  CHECK(ipcx_sysvshm_stat(seg, &st, &err) == 0 && st.attached == 1 && st.last_pid == getpid());

  ipcx_sysv_owner o = {getuid(), getgid(), 0640};
  CHECK(ipcx_sysvshm_set(seg, &o, &err) == 0);
  CHECK(ipcx_sysvshm_stat(seg, &st, &err) == 0 && st.mode == 0640);
  CHECK(ipcx_sysvshm_set(seg, NULL, &err) == -1 && err.kind == IPCX_INVALID_ARGUMENT);
  CHECK(ipcx_sysvshm_stat(NULL, &st, &err) == -1 && err.kind == IPCX_INVALID_ARGUMENT);

  CHECK(ipcx_sysvshm_remove(seg, &err) == 0);
  CHECK(ipcx_sysvshm_stat(seg, &st, &err) == 0 && st.removed && st.key == IPC_PRIVATE); /* still attached */
  ipcx_unmap(m);
  ipcx_sysvshm_close(seg);
  CHECK(ipcx_sysvshm_open_id(id, &err) == NULL);
  CHECK(ipcx_mapping_lock(NULL, &err) == -1 && err.kind == IPCX_INVALID_ARGUMENT);
}

/* HugePages_Free from /proc/meminfo, or -1. */
static long free_huge_pages(void) {
  FILE* f = fopen("/proc/meminfo", "r");
  if (!f) return -1;
  char line[256];
  long n = -1;
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "HugePages_Free: %ld", &n) == 1) break;
  }
  fclose(f);
  return n;
}

static void test_sysvshm_flags(void) {
  /* SHM_NORESERVE: made, attached, removed. */
  ipcx_sysvshm* seg = ipcx_sysvshm_create_ex(IPC_PRIVATE, 1 << 20, 0600, IPCX_SHM_NORESERVE, 0, &err);
  CHECK(seg != NULL);
  if (seg) {
    ipcx_mapping* m = ipcx_sysvshm_attach(seg, 1, &err);
    CHECK(m != NULL && ipcx_mapping_size(m) == 1 << 20);
    ipcx_unmap(m);
    const int id = ipcx_sysvshm_id(seg);
    ipcx_sysvshm_close(seg);
    CHECK(ipcx_sysvshm_open_id(id, &err) == NULL);
  }
  /* SHM_HUGETLB: with no huge page free, shmget must refuse (ENOMEM, or EPERM outside
   * vm.hugetlb_shm_group); with some, the segment is made. */
  const long huge = free_huge_pages();
  seg = ipcx_sysvshm_create_ex(IPC_PRIVATE, 2u << 20, 0600, IPCX_SHM_HUGETLB, 21, &err);
  if (huge == 0) {
    CHECK(seg == NULL && err.kind == IPCX_SYSTEM && (err.code == ENOMEM || err.code == EPERM));
  } else if (seg) {
    CHECK(ipcx_sysvshm_size(seg) == 2u << 20);
  }
  ipcx_sysvshm_close(seg);
  CHECK(ipcx_sysvshm_create_ex(IPC_PRIVATE, 4096, 0600, 0x80, 0, &err) == NULL &&
        err.kind == IPCX_INVALID_ARGUMENT);
}

static int waiting_increase(const void* set) { return ipcx_sysvsem_waiting_increase(set, 0, NULL); }

static void test_sysvsem_stat_set(void) {
  ipcx_sysvsem* set = ipcx_sysvsem_create(IPC_PRIVATE, 2, 0600, &err);
  CHECK(set != NULL);
  if (!set) return;
  const int id = ipcx_sysvsem_id(set);
  ipcx_sysvsem_info st;
  CHECK(ipcx_sysvsem_stat(set, &st, &err) == 0);
  CHECK(st.count == 2 && st.mode == 0600 && st.uid == getuid() && st.cuid == getuid() && st.last_op_time == 0);
  CHECK(ipcx_sysvsem_waiting_increase(set, 0, &err) == 0 && ipcx_sysvsem_waiting_zero(set, 1, &err) == 0);

  /* A child blocks taking semaphore 0; GETNCNT sees it; the parent's post frees it, and
   * GETPID then names the child (the last to operate). */
  pid_t pid = fork();
  if (pid == 0) {
    ipcx_error e;
    ipcx_sysvsem* s = ipcx_sysvsem_open_id(id, &e);
    REQUIRE_IN_CHILD(s, 10);
    ipcx_semop take = {0, -1, 0};
    REQUIRE_IN_CHILD(ipcx_sysvsem_op(s, &take, 1, -1, &e) == 0, 11);
    ipcx_sysvsem_close(s);
    _exit(0);
  }
  CHECK(wait_until(waiting_increase, set, 1));
  ipcx_semop give = {0, 1, 0};
  CHECK(ipcx_sysvsem_op(set, &give, 1, 0, &err) == 0);
  CHECK(wait_child(pid) == 0);
  CHECK(ipcx_sysvsem_last_pid(set, 0, &err) == pid && ipcx_sysvsem_waiting_increase(set, 0, &err) == 0);
  CHECK(ipcx_sysvsem_value(set, 0, &err) == 0);
  CHECK(ipcx_sysvsem_stat(set, &st, &err) == 0 && st.last_op_time != 0);
  CHECK(ipcx_sysvsem_last_pid(set, 2, &err) == -1 && err.kind == IPCX_INVALID_ARGUMENT);

  ipcx_sysv_owner o = {getuid(), getgid(), 0640};
  CHECK(ipcx_sysvsem_set(set, &o, &err) == 0);
  CHECK(ipcx_sysvsem_stat(set, &st, &err) == 0 && st.mode == 0640);
  CHECK(ipcx_sysvsem_set(set, NULL, &err) == -1 && err.kind == IPCX_INVALID_ARGUMENT);
  ipcx_sysvsem_close(set);
  CHECK(ipcx_sysvsem_open_id(id, &err) == NULL);
}

/* --- Placement: a struct constructed once in shared memory, found and checked ----------- */

#define BOOK_MAGIC UINT64_C(0x6970637863626f6f) /* "ipcxcboo" */
struct book {
  ipcx_mutex lock;
  ipcx_unnamed_sem done;
  uint64_t orders; /* guarded by lock */
};

static void test_placement(void) {
  char name[64];
  snprintf(name, sizeof name, "/ipcx-c11-place-%d", (int)getpid());
  const size_t need = ipcx_place_size(sizeof(struct book), _Alignof(struct book));
  CHECK(need >= 64 + sizeof(struct book));
  ipcx_shm* seg = ipcx_shm_create(name, need, 0600, &err);
  CHECK(seg != NULL);
  if (!seg) return;
  ipcx_mapping* m = ipcx_shm_map(seg, 1, &err);
  CHECK(m != NULL);
  if (!m) return;
  void* region = ipcx_mapping_data(m);
  /* Nothing placed yet: a finder that will not wait is told so. */
  CHECK(ipcx_place_find(region, need, BOOK_MAGIC, 1, sizeof(struct book), _Alignof(struct book), 0, &err) ==
            NULL &&
        err.kind == IPCX_TIMED_OUT);

  /* The child maps the segment and waits for the book; the parent then builds it. */
  pid_t pid = fork();
  if (pid == 0) {
    ipcx_error e;
    ipcx_shm* s = ipcx_shm_open(name, 1, &e);
    REQUIRE_IN_CHILD(s, 10);
    ipcx_mapping* cm = ipcx_shm_map(s, 1, &e);
    REQUIRE_IN_CHILD(cm, 11);
    struct book* b = ipcx_place_find(ipcx_mapping_data(cm), ipcx_mapping_size(cm), BOOK_MAGIC, 1,
                                     sizeof(struct book), _Alignof(struct book), 5000, &e);
    REQUIRE_IN_CHILD(b, 12);
    /* Another version of the struct is refused, never misread. */
    REQUIRE_IN_CHILD(ipcx_place_find(ipcx_mapping_data(cm), ipcx_mapping_size(cm), BOOK_MAGIC, 2,
                                     sizeof(struct book), _Alignof(struct book), 0, &e) == NULL &&
                         e.kind == IPCX_CORRUPT,
                     13);
    REQUIRE_IN_CHILD(ipcx_mutex_lock(&b->lock, 5000, &e) == IPCX_LOCK_ACQUIRED, 14);
    b->orders += 1;
    REQUIRE_IN_CHILD(ipcx_mutex_unlock(&b->lock, &e) == 0, 15);
    REQUIRE_IN_CHILD(ipcx_unnamed_sem_post(&b->done, &e) == 0, 16);
    ipcx_unmap(cm);
    ipcx_shm_close(s);
    _exit(0);
  }
  struct book* b = ipcx_place_claim(region, need, BOOK_MAGIC, 1, sizeof *b, _Alignof(struct book), &err);
  CHECK(b != NULL && (char*)b >= (char*)region + 64);
  if (!b) {
    kill(pid, SIGKILL);
    wait_child(pid);
    return;
  }
  CHECK(ipcx_mutex_init(&b->lock, &err) == 0);
  CHECK(ipcx_unnamed_sem_init(&b->done, 0, &err) == 0);
  b->orders = 41;
  ipcx_place_publish(region);
  CHECK(ipcx_unnamed_sem_wait(&b->done, 5000, &err) == 0);
  CHECK(wait_child(pid) == 0);
  CHECK(ipcx_mutex_lock(&b->lock, 5000, &err) == IPCX_LOCK_ACQUIRED && b->orders == 42);
  CHECK(ipcx_mutex_unlock(&b->lock, &err) == 0);

  /* Claimed once only; another size or magic is refused; a short region is too small. */
  CHECK(ipcx_place_claim(region, need, BOOK_MAGIC, 1, sizeof *b, _Alignof(struct book), &err) == NULL &&
        err.code == EEXIST);
  CHECK(ipcx_place_find(region, need, BOOK_MAGIC, 1, sizeof *b + 8, _Alignof(struct book), 0, &err) == NULL &&
        err.kind == IPCX_CORRUPT);
  CHECK(ipcx_place_find(region, need, BOOK_MAGIC + 1, 1, sizeof *b, _Alignof(struct book), 0, &err) == NULL &&
        err.kind == IPCX_CORRUPT);
  CHECK(ipcx_place_find(region, need, BOOK_MAGIC, 1, sizeof *b, _Alignof(struct book), 0, &err) == b);
  _Alignas(64) unsigned char small[128] = {0};
  CHECK(ipcx_place_claim(small, sizeof small, BOOK_MAGIC, 1, sizeof *b, _Alignof(struct book), &err) == NULL &&
        err.kind == IPCX_INVALID_ARGUMENT);
  CHECK(ipcx_place_claim(NULL, need, BOOK_MAGIC, 1, sizeof *b, _Alignof(struct book), &err) == NULL &&
        err.kind == IPCX_INVALID_ARGUMENT);
  ipcx_unnamed_sem_destroy(&b->done);
  ipcx_mutex_destroy(&b->lock);
  ipcx_unmap(m);
  ipcx_shm_close(seg); /* the creator unlinks */
  char path[96];
  snprintf(path, sizeof path, "/dev/shm%s", name);
  CHECK(!exists(path));
}

/* --- Names and lifetimes: keep, unlink, remove, open by name and key; the rest of shm.h
 * and sync.h ------------------------------------------------------------------------ */

static void test_posix_names(void) {
  char name[64], path[96];
  snprintf(name, sizeof name, "/ipcx-c11-keep-%d", (int)getpid());
  snprintf(path, sizeof path, "/dev/shm%s", name);
  ipcx_shm* seg = ipcx_shm_create(name, 4096, 0600, &err);
  CHECK(seg != NULL);
  if (!seg) return;
  CHECK(ipcx_shm_resize(seg, 8192, &err) == 0 && ipcx_shm_size(seg) == 8192);
  ipcx_shm_keep(seg);
  ipcx_shm_close(seg); /* kept: the name stays */
  CHECK(exists(path));
  seg = ipcx_shm_open(name, 1, &err);
  CHECK(seg != NULL && ipcx_shm_size(seg) == 8192);
  ipcx_mapping* m = seg ? ipcx_shm_map(seg, 1, &err) : NULL;
  CHECK(m != NULL);
  if (m) {
    strcpy(ipcx_mapping_data(m), "read only now");
    CHECK(ipcx_mapping_sync(m, 1, &err) == 0 && ipcx_mapping_sync(m, 0, &err) == 0);
    CHECK(ipcx_mapping_protect_read_only(m, &err) == 0);
    /* A write through the protected region faults: the child, which inherited it, dies. */
    pid_t pid = fork();
    if (pid == 0) {
      signal(SIGSEGV, SIG_DFL); /* the default action, whatever a sanitizer installed */
      ((volatile char*)ipcx_mapping_data(m))[0] = 'x';
      _exit(0);
    }
    CHECK(wait_child(pid) == 128 + SIGSEGV);
    CHECK(strcmp(ipcx_mapping_data(m), "read only now") == 0);
    ipcx_unmap(m);
  }
  ipcx_shm_close(seg); /* opened, not created: the name stays */
  CHECK(exists(path));
  CHECK(ipcx_shm_unlink(name, &err) == 0 && !exists(path));
  CHECK(ipcx_shm_unlink(name, &err) == -1 && err.code == ENOENT);

  /* A named semaphore kept by its creator, then unlinked by name. */
  snprintf(name, sizeof name, "/ipcx-c11-keep-sem-%d", (int)getpid());
  snprintf(path, sizeof path, "/dev/shm/sem.%s", name + 1);
  ipcx_sem* s = ipcx_sem_create(name, 1, 0600, &err);
  CHECK(s != NULL);
  ipcx_sem_keep(s);
  ipcx_sem_close(s);
  CHECK(exists(path));
  s = ipcx_sem_open(name, &err);
  CHECK(s != NULL && ipcx_sem_value(s, &err) == 1);
  ipcx_sem_close(s);
  CHECK(ipcx_sem_unlink(name, &err) == 0 && !exists(path));
  CHECK(ipcx_sem_open(name, &err) == NULL && err.code == ENOENT);

  ipcx_memfd* mfd = ipcx_memfd_create("ipcx-c11", 4096, &err);
  CHECK(mfd != NULL && ipcx_memfd_size(mfd) == 4096);
  ipcx_memfd_close(mfd);
}

static void test_sysv_keys(void) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/ipcx-c11-key-%d", (int)getpid());
  FILE* f = fopen(path, "w");
  CHECK(f != NULL);
  if (!f) return;
  fclose(f);
  const key_t key = ipcx_ftok(path, 7, &err);
  CHECK(key != -1 && key != IPC_PRIVATE);
  CHECK(ipcx_ftok(path, 0, &err) == -1 && err.kind == IPCX_INVALID_ARGUMENT);

  /* A segment kept past its creator's close, found again by key, then removed. */
  ipcx_sysvshm* seg = ipcx_sysvshm_create(key, 4096, 0600, &err);
  CHECK(seg != NULL);
  const int shm_id = ipcx_sysvshm_id(seg);
  ipcx_sysvshm_keep(seg);
  ipcx_sysvshm_close(seg);
  seg = ipcx_sysvshm_open(key, &err);
  CHECK(seg != NULL && ipcx_sysvshm_id(seg) == shm_id && ipcx_sysvshm_size(seg) == 4096);
  CHECK(ipcx_sysvshm_remove(seg, &err) == 0);
  ipcx_sysvshm_close(seg);
  CHECK(ipcx_sysvshm_open(key, &err) == NULL && err.code == ENOENT);

  /* A semaphore set: SETALL/GETALL, kept, found by key by a child, removed. */
  ipcx_sysvsem* set = ipcx_sysvsem_create(key, 3, 0600, &err);
  CHECK(set != NULL);
  if (set) {
    const unsigned short init[3] = {4, 0, 9};
    unsigned short got[4] = {0, 0, 0, 0};
    CHECK(ipcx_sysvsem_set_values(set, init, 3, &err) == 0);
    CHECK(ipcx_sysvsem_set_values(set, init, 2, &err) == -1 && err.kind == IPCX_INVALID_ARGUMENT);
    CHECK(ipcx_sysvsem_values(set, got, 2, &err) == -1 && err.kind == IPCX_INVALID_ARGUMENT);
    ipcx_sysvsem_keep(set);
    ipcx_sysvsem_close(set);
    pid_t pid = fork();
    if (pid == 0) {
      ipcx_error e;
      ipcx_sysvsem* mine = ipcx_sysvsem_open(key, &e);
      REQUIRE_IN_CHILD(mine && ipcx_sysvsem_count(mine) == 3, 10);
      ipcx_semop take = {2, -9, 0};
      REQUIRE_IN_CHILD(ipcx_sysvsem_op(mine, &take, 1, 0, &e) == 0, 11);
      ipcx_sysvsem_close(mine); /* opened, not created: nothing removed */
      _exit(0);
    }
    CHECK(wait_child(pid) == 0);
    set = ipcx_sysvsem_open(key, &err);
    CHECK(set != NULL);
    CHECK(ipcx_sysvsem_values(set, got, 4, &err) == 3 && got[0] == 4 && got[1] == 0 && got[2] == 0);
    CHECK(ipcx_sysvsem_remove(set, &err) == 0);
    ipcx_sysvsem_close(set);
    CHECK(ipcx_sysvsem_open(key, &err) == NULL && err.code == ENOENT);
  }
  remove(path);
}

/* Shared between the processes of the last test, in one anonymous shared mapping. */
struct rendezvous {
  ipcx_mutex lock;
  ipcx_cond changed;
  ipcx_unnamed_sem sem;
  int ready; /* guarded by lock */
};

static void test_sync_rest(void) {
  ipcx_memfd* mfd = ipcx_memfd_create("ipcx-c11-sync", 4096, &err);
  ipcx_mapping* m = mfd ? ipcx_memfd_map(mfd, 1, &err) : NULL;
  CHECK(m != NULL);
  if (!m) return;
  struct rendezvous* r = ipcx_mapping_data(m);
  CHECK(ipcx_mutex_init(&r->lock, &err) == 0 && ipcx_cond_init(&r->changed, &err) == 0);
  CHECK(ipcx_unnamed_sem_init(&r->sem, 2, &err) == 0 && ipcx_unnamed_sem_value(&r->sem, &err) == 2);

  /* ipcx_cond_signal wakes a child waiting for `ready`. */
  pid_t pid = fork();
  if (pid == 0) {
    ipcx_error e;
    REQUIRE_IN_CHILD(ipcx_mutex_lock(&r->lock, 5000, &e) == IPCX_LOCK_ACQUIRED, 10);
    while (!r->ready) REQUIRE_IN_CHILD(ipcx_cond_wait(&r->changed, &r->lock, 5000, &e) == IPCX_LOCK_ACQUIRED, 11);
    REQUIRE_IN_CHILD(ipcx_mutex_unlock(&r->lock, &e) == 0, 12);
    _exit(0);
  }
  CHECK(ipcx_mutex_lock(&r->lock, 5000, &err) == IPCX_LOCK_ACQUIRED);
  r->ready = 1;
  CHECK(ipcx_mutex_unlock(&r->lock, &err) == 0);
  CHECK(ipcx_cond_signal(&r->changed, &err) == 0);
  CHECK(wait_child(pid) == 0);

  /* An owner-died mutex unlocked without ipcx_mutex_consistent is unrecoverable until
   * ipcx_mutex_reinit. */
  gate holding;
  gate_open(&holding);
  pid = fork();
  if (pid == 0) {
    ipcx_error e;
    REQUIRE_IN_CHILD(ipcx_mutex_lock(&r->lock, 5000, &e) == IPCX_LOCK_ACQUIRED, 10);
    gate_post(&holding);
    pause();
    _exit(11);
  }
  CHECK(gate_wait(&holding));
  kill(pid, SIGKILL);
  CHECK(wait_child(pid) == 128 + SIGKILL);
  gate_close(&holding);
  CHECK(ipcx_mutex_lock(&r->lock, 5000, &err) == IPCX_LOCK_OWNER_DIED);
  CHECK(ipcx_mutex_unlock(&r->lock, &err) == 0);
  CHECK(ipcx_mutex_lock(&r->lock, 0, &err) == -1 && err.code == ENOTRECOVERABLE);
  CHECK(ipcx_mutex_reinit(&r->lock, &err) == 0);
  CHECK(ipcx_mutex_lock(&r->lock, 0, &err) == IPCX_LOCK_ACQUIRED && ipcx_mutex_unlock(&r->lock, &err) == 0);
  ipcx_unnamed_sem_destroy(&r->sem);
  ipcx_mutex_destroy(&r->lock);
  ipcx_unmap(m);
  ipcx_memfd_close(mfd);
}

static void test_listener_fd(void) {
  char url[64];
  snprintf(url, sizeof url, "unix:@ipcx-c11-listen-%d", (int)getpid());
  ipcx_listener* l = ipcx_listen(url, &err);
  CHECK(l != NULL);
  if (!l) return;
  struct pollfd p = {ipcx_listener_fd(l), POLLIN, 0};
  CHECK(p.fd >= 0 && poll(&p, 1, 0) == 0); /* nobody connecting yet */
  pid_t pid = fork();
  if (pid == 0) {
    ipcx_error e;
    ipcx_channel* c = ipcx_open(url, &e);
    REQUIRE_IN_CHILD(c && ipcx_send(c, "hi", 2, 5000, &e) == 0, 10);
    ipcx_close(c);
    _exit(0);
  }
  CHECK(poll(&p, 1, 5000) == 1 && (p.revents & POLLIN));
  ipcx_channel* a = ipcx_accept(l, 0, &err);
  CHECK(a != NULL);
  char buf[8];
  CHECK(a && ipcx_receive(a, buf, sizeof buf, 5000, &err) == 2);
  CHECK(wait_child(pid) == 0);
  ipcx_close(a);
  ipcx_listener_close(l);
}

int main(void) {
  test_posixmq_attributes();
  test_posixmq_notify_signal();
  test_posixmq_notify_callback();
  test_sysvmq();
  test_sysvshm_stat_set();
  test_sysvshm_flags();
  test_sysvsem_stat_set();
  test_placement();
  test_posix_names();
  test_sysv_keys();
  test_sync_rest();
  test_listener_fd();
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  else printf("c_api_objects_c11: ok\n");
  return failures ? 1 : 0;
}
