// SPDX-License-Identifier: MIT
/* The C API as a C11 program sees it: every area of <ipcx/ipcx.h>, each with a forked
 * child as the other side. Built in the tree (ctest c_api_c11) and by the install test
 * against the installed package with gcc and clang-19:
 *   cc -std=c11 -Wall -Werror c_api_c11.c $(pkg-config --cflags --libs ipcx)
 * Prints one line per failed check and exits 1 if any failed; leaves no IPC object behind
 * (every name carries the process id and is removed, which the checks verify). */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

#include "c11_check.h"

static void test_version(void) {
  int major = -1, minor = -1, patch = -1;
  const char* v = ipcx_version(&major, &minor, &patch);
  char expect[64];
  snprintf(expect, sizeof expect, "%d.%d.%d", major, minor, patch);
  CHECK(v != NULL && strcmp(v, expect) == 0);
  CHECK(major >= 0 && minor >= 0 && patch >= 0);
}

/* What the processes share in the segment. */
struct shared {
  ipcx_mutex lock;
  ipcx_cond changed;
  ipcx_unnamed_sem sem;
  uint32_t word; /* a futex word */
  int ready;     /* guarded by lock */
  int counter;   /* guarded by lock */
};

static void test_shm_and_sync(void) {
  char name[64];
  snprintf(name, sizeof name, "/ipcx-c11-%d", (int)getpid());
  ipcx_shm* seg = ipcx_shm_create(name, 4096, 0600, &err);
  CHECK(seg != NULL);
  if (!seg) return;
  CHECK(ipcx_shm_size(seg) == 4096 && ipcx_shm_fd(seg) >= 0);
  ipcx_mapping* map = ipcx_shm_map(seg, 1, &err);
  CHECK(map != NULL && ipcx_mapping_size(map) == 4096);
  if (!map) return;
  struct shared* s = ipcx_mapping_data(map);
  CHECK(ipcx_mutex_init(&s->lock, &err) == 0);
  CHECK(ipcx_cond_init(&s->changed, &err) == 0);
  CHECK(ipcx_unnamed_sem_init(&s->sem, 0, &err) == 0);

  /* A child that opens the segment by name, locks, and is killed holding the lock. */
  gate holding;
  gate_open(&holding);
  pid_t pid = fork();
  if (pid == 0) {
    ipcx_error e;
    ipcx_shm* mine = ipcx_shm_open(name, 1, &e);
    REQUIRE_IN_CHILD(mine, 10);
    ipcx_mapping* m = ipcx_shm_map(mine, 1, &e);
    REQUIRE_IN_CHILD(m, 11);
    struct shared* t = ipcx_mapping_data(m);
    REQUIRE_IN_CHILD(ipcx_mutex_lock(&t->lock, 5000, &e) == IPCX_LOCK_ACQUIRED, 12);
    t->counter = -1; /* half-way through an update */
    gate_post(&holding);
    pause();
    _exit(13);
  }
  CHECK(gate_wait(&holding));
  CHECK(ipcx_mutex_lock(&s->lock, 0, &err) == -1 && err.kind == IPCX_WOULD_BLOCK);
  CHECK(ipcx_mutex_lock(&s->lock, 20, &err) == -1 && err.kind == IPCX_TIMED_OUT);
  kill(pid, SIGKILL);
  CHECK(wait_child(pid) == 128 + SIGKILL);
  gate_close(&holding);
  CHECK(ipcx_mutex_lock(&s->lock, 5000, &err) == IPCX_LOCK_OWNER_DIED);
  CHECK(s->counter == -1);
  s->counter = 0; /* repaired */
  CHECK(ipcx_mutex_consistent(&s->lock, &err) == 0);
  CHECK(ipcx_mutex_unlock(&s->lock, &err) == 0);
  CHECK(ipcx_mutex_lock(&s->lock, 5000, &err) == IPCX_LOCK_ACQUIRED);
  CHECK(ipcx_mutex_unlock(&s->lock, &err) == 0);

  /* Condition, futex and unnamed semaphore: the child waits on each in turn. */
  pid = fork();
  if (pid == 0) {
    ipcx_error e;
    REQUIRE_IN_CHILD(ipcx_mutex_lock(&s->lock, 5000, &e) >= 0, 20);
    while (!s->ready) REQUIRE_IN_CHILD(ipcx_cond_wait(&s->changed, &s->lock, 5000, &e) >= 0, 21);
    s->counter++;
    REQUIRE_IN_CHILD(ipcx_mutex_unlock(&s->lock, &e) == 0, 22);
    while (ipcx_futex_load(&s->word) == 0) {
      if (ipcx_futex_wait(&s->word, 0, 5000, &e) != 0) REQUIRE_IN_CHILD(e.kind == IPCX_WOULD_BLOCK, 23);
    }
    REQUIRE_IN_CHILD(ipcx_unnamed_sem_post(&s->sem, &e) == 0, 24);
    _exit(0);
  }
  CHECK(ipcx_mutex_lock(&s->lock, 5000, &err) == IPCX_LOCK_ACQUIRED);
  s->ready = 1;
  CHECK(ipcx_mutex_unlock(&s->lock, &err) == 0);
  CHECK(ipcx_cond_broadcast(&s->changed, &err) == 0);
  ipcx_futex_store(&s->word, 1);
  CHECK(ipcx_futex_wake(&s->word, INT_MAX, &err) >= 0);
  CHECK(ipcx_unnamed_sem_wait(&s->sem, 5000, &err) == 0);
  CHECK(ipcx_unnamed_sem_wait(&s->sem, 0, &err) == -1 && err.kind == IPCX_WOULD_BLOCK);
  CHECK(wait_child(pid) == 0);
  CHECK(s->counter == 1);
  CHECK(ipcx_futex_wait(&s->word, 0, 0, &err) == -1 && err.kind == IPCX_WOULD_BLOCK);
  CHECK(ipcx_futex_wait(&s->word, 1, 10, &err) == -1 && err.kind == IPCX_TIMED_OUT);

  ipcx_unnamed_sem_destroy(&s->sem);
  ipcx_mutex_destroy(&s->lock);
  ipcx_unmap(map);
  ipcx_shm_close(seg); /* the creator unlinks the name */
  CHECK(ipcx_shm_open(name, 0, &err) == NULL && err.code == ENOENT);
}

static void test_named_semaphore(void) {
  char name[64];
  snprintf(name, sizeof name, "/ipcx-c11-sem-%d", (int)getpid());
  ipcx_sem* s = ipcx_sem_create(name, 0, 0600, &err);
  CHECK(s != NULL);
  if (!s) return;
  pid_t pid = fork();
  if (pid == 0) {
    ipcx_error e;
    ipcx_sem* t = ipcx_sem_open(name, &e);
    REQUIRE_IN_CHILD(t && ipcx_sem_post(t, &e) == 0, 10);
    ipcx_sem_close(t);
    _exit(0);
  }
  CHECK(ipcx_sem_wait(s, 5000, &err) == 0);
  CHECK(wait_child(pid) == 0);
  CHECK(ipcx_sem_value(s, &err) == 0);
  CHECK(ipcx_sem_wait(s, 0, &err) == -1 && err.kind == IPCX_WOULD_BLOCK);
  ipcx_sem_close(s);
  CHECK(ipcx_sem_open(name, &err) == NULL && err.code == ENOENT);
}

static void test_sysv_semaphore_undo(void) {
  ipcx_sysvsem* set = ipcx_sysvsem_create(IPC_PRIVATE, 1, 0600, &err);
  CHECK(set != NULL);
  if (!set) return;
  const int id = ipcx_sysvsem_id(set);
  CHECK(ipcx_sysvsem_count(set) == 1);
  CHECK(ipcx_sysvsem_set_value(set, 0, 1, &err) == 0);
  gate holding;
  gate_open(&holding);
  pid_t pid = fork();
  if (pid == 0) {
    ipcx_error e;
    ipcx_sysvsem* mine = ipcx_sysvsem_open_id(id, &e);
    ipcx_semop take = {0, -1, IPCX_SEM_UNDO};
    REQUIRE_IN_CHILD(mine && ipcx_sysvsem_op(mine, &take, 1, 5000, &e) == 0, 10);
    gate_post(&holding);
    pause(); /* killed holding the unit: SEM_UNDO gives it back */
    _exit(11);
  }
  CHECK(gate_wait(&holding));
  CHECK(ipcx_sysvsem_value(set, 0, &err) == 0);
  ipcx_semop take = {0, -1, IPCX_SEM_UNDO};
  CHECK(ipcx_sysvsem_op(set, &take, 1, 0, &err) == -1 && err.kind == IPCX_WOULD_BLOCK);
  kill(pid, SIGKILL);
  CHECK(wait_child(pid) == 128 + SIGKILL);
  gate_close(&holding);
  CHECK(ipcx_sysvsem_op(set, &take, 1, 5000, &err) == 0);
  CHECK(ipcx_sysvsem_value(set, 0, &err) == 0);
  ipcx_sysvsem_close(set); /* the creator removes the set */
  CHECK(ipcx_sysvsem_open_id(id, &err) == NULL);
}

static void test_sysv_shm(void) {
  ipcx_sysvshm* seg = ipcx_sysvshm_create(IPC_PRIVATE, 4096, 0600, &err);
  CHECK(seg != NULL);
  if (!seg) return;
  const int id = ipcx_sysvshm_id(seg);
  ipcx_mapping* at = ipcx_sysvshm_attach(seg, 1, &err);
  CHECK(at != NULL && ipcx_mapping_size(at) == 4096);
  if (!at) return;
  pid_t pid = fork();
  if (pid == 0) {
    ipcx_error e;
    ipcx_sysvshm* mine = ipcx_sysvshm_open_id(id, &e);
    REQUIRE_IN_CHILD(mine, 10);
    ipcx_mapping* m = ipcx_sysvshm_attach(mine, 1, &e);
    REQUIRE_IN_CHILD(m, 11);
    memcpy(ipcx_mapping_data(m), "system v", 9);
    ipcx_unmap(m);
    ipcx_sysvshm_close(mine); /* not the creator: nothing removed */
    _exit(0);
  }
  CHECK(wait_child(pid) == 0);
  CHECK(strcmp(ipcx_mapping_data(at), "system v") == 0);
  CHECK(ipcx_sysvshm_attached(seg, &err) == 1);
  CHECK(ipcx_sysvshm_remove(seg, &err) == 0);
  CHECK(strcmp(ipcx_mapping_data(at), "system v") == 0); /* still attached */
  ipcx_unmap(at);
  ipcx_sysvshm_close(seg);
  CHECK(ipcx_sysvshm_open_id(id, &err) == NULL);
}

static void test_memfd_passed_with_credentials(void) {
  ipcx_channel *a = NULL, *b = NULL;
  CHECK(ipcx_socketpair(IPCX_STREAM, &a, &b, &err) == 0);
  if (!a) return;
  ipcx_memfd* mfd = ipcx_memfd_create("c11", 4096, &err);
  CHECK(mfd != NULL);
  if (!mfd) return;
  ipcx_mapping* w = ipcx_memfd_map(mfd, 1, &err);
  CHECK(w != NULL);
  if (w) memcpy(ipcx_mapping_data(w), "sealed", 7);
  ipcx_unmap(w);
  CHECK(ipcx_memfd_add_seals(mfd, IPCX_SEAL_SHRINK | IPCX_SEAL_GROW | IPCX_SEAL_SEAL, &err) == 0);
  CHECK(ipcx_memfd_seals(mfd, &err) == (long)(IPCX_SEAL_SHRINK | IPCX_SEAL_GROW | IPCX_SEAL_SEAL));
  CHECK(ipcx_memfd_add_seals(mfd, IPCX_SEAL_WRITE, &err) == -1 && err.code == EPERM);

  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    ipcx_error e;
    ipcx_close(a);
    char buf[16];
    int fd = -1;
    ipcx_received r;
    memset(&r, 0, sizeof r);
    r.fds = &fd;
    r.fds_cap = 1;
    REQUIRE_IN_CHILD(ipcx_receive_msg(b, buf, sizeof buf, 5000, &r, &e) == 5 && r.nfds == 1, 10);
    ipcx_memfd* got = ipcx_memfd_adopt(fd, IPCX_SEAL_SHRINK, &e);
    REQUIRE_IN_CHILD(got, 11);
    ipcx_mapping* m = ipcx_memfd_map(got, 0, &e);
    REQUIRE_IN_CHILD(m && strcmp(ipcx_mapping_data(m), "sealed") == 0, 12);
    pid_t peer = 0;
    uid_t uid = 0;
    REQUIRE_IN_CHILD(ipcx_peer_credentials(b, &peer, &uid, NULL, &e) == 0, 13);
    REQUIRE_IN_CHILD(peer == parent && uid == getuid(), 14);
    REQUIRE_IN_CHILD(ipcx_send(b, "ok", 2, 5000, &e) == 0, 15);
    ipcx_unmap(m);
    ipcx_memfd_close(got);
    ipcx_close(b);
    _exit(0);
  }
  ipcx_close(b);
  ipcx_send_options o;
  memset(&o, 0, sizeof o);
  int fd = ipcx_memfd_fd(mfd);
  o.fds = &fd;
  o.nfds = 1;
  CHECK(ipcx_send_msg(a, "memfd", 5, 5000, &o, &err) == 0);
  char buf[8];
  CHECK(ipcx_receive(a, buf, sizeof buf, 5000, &err) == 2 && memcmp(buf, "ok", 2) == 0);
  /* SO_PEERCRED is fixed when the socket is made: a socketpair's peer is its maker. */
  pid_t peer = 0;
  CHECK(ipcx_peer_credentials(a, &peer, NULL, NULL, &err) == 0 && peer == getpid());
  CHECK(wait_child(pid) == 0);
  ipcx_memfd_close(mfd);
  ipcx_close(a);
}

static void test_listener_and_local_urls(void) {
  ipcx_listener* l = ipcx_listen("tcp://127.0.0.1:0", &err);
  CHECK(l != NULL);
  if (!l) return;
  char url[128];
  ssize_t n = ipcx_listener_url(l, url, sizeof url, &err);
  CHECK(n > 0 && strncmp(url, "tcp://127.0.0.1:", 16) == 0 && strcmp(url + 16, "0") != 0);
  char tiny[4];
  CHECK(ipcx_listener_url(l, tiny, sizeof tiny, &err) == -1 && err.kind == IPCX_MESSAGE_TOO_LARGE &&
        err.size == (size_t)n + 1);
  pid_t pid = fork();
  if (pid == 0) {
    ipcx_error e;
    ipcx_channel* c = ipcx_open(url, &e);
    REQUIRE_IN_CHILD(c && ipcx_send(c, "tcp", 3, 5000, &e) == 0, 10);
    ipcx_close(c);
    _exit(0);
  }
  ipcx_channel* c = ipcx_accept(l, 5000, &err);
  CHECK(c != NULL);
  char buf[8];
  CHECK(ipcx_receive(c, buf, sizeof buf, 5000, &err) == 3 && memcmp(buf, "tcp", 3) == 0);
  CHECK(ipcx_peer_credentials(c, NULL, NULL, NULL, &err) == -1 && err.kind == IPCX_NOT_SUPPORTED);
  CHECK(wait_child(pid) == 0);
  ipcx_close(c);
  ipcx_listener_close(l);

  ipcx_channel* u = ipcx_bind("udp://127.0.0.1:0", &err);
  CHECK(u != NULL);
  CHECK(ipcx_local_url(u, url, sizeof url, &err) > 0 && strncmp(url, "udp://127.0.0.1:", 16) == 0 &&
        strcmp(url + 16, "0") != 0);
  ipcx_close(u);
}

static void test_message_queues(void) {
  /* System V: a private queue, passed to a child by id; types select messages. */
  ipcx_channel* q = ipcx_open("sysvmq://private?remove=1", &err);
  CHECK(q != NULL);
  if (!q) return;
  const int id = ipcx_sysvmq_id(q);
  CHECK(id >= 0);
  pid_t pid = fork();
  if (pid == 0) {
    ipcx_error e;
    char url[64];
    snprintf(url, sizeof url, "sysvmq://id:%d", id);
    ipcx_channel* c = ipcx_open(url, &e);
    REQUIRE_IN_CHILD(c, 10);
    REQUIRE_IN_CHILD(ipcx_send_ex(c, "one", 3, 5000, 1, 0, &e) == 0, 11);
    REQUIRE_IN_CHILD(ipcx_send_ex(c, "two", 3, 5000, 2, 0, &e) == 0, 12);
    ipcx_close(c);
    _exit(0);
  }
  CHECK(wait_child(pid) == 0);
  char buf[128];
  long type = 0;
  CHECK(ipcx_receive_ex(q, buf, sizeof buf, 5000, 2, &type, NULL, &err) == 3 && type == 2 &&
        memcmp(buf, "two", 3) == 0);
  CHECK(ipcx_receive_ex(q, buf, sizeof buf, 5000, 0, &type, NULL, &err) == 3 && type == 1);
  /* Too large to send: err.size is the message's size. */
  const size_t max = ipcx_max_message_size(q);
  char* big = calloc(max + 1, 1);
  CHECK(big != NULL);
  CHECK(ipcx_send(q, big, max + 1, 0, &err) == -1 && err.kind == IPCX_MESSAGE_TOO_LARGE && err.size == max + 1);
  /* Too large to receive: err.size is a buffer that takes it, and the message stays. */
  CHECK(ipcx_send(q, big, 100, 0, &err) == 0);
  CHECK(ipcx_receive(q, buf, 10, 0, &err) == -1 && err.kind == IPCX_MESSAGE_TOO_LARGE && err.size >= 100);
  CHECK(err.size <= max + 1 && ipcx_receive(q, big, err.size, 0, &err) == 100);
  free(big);
  CHECK(ipcx_sysvmq_remove(q, &err) == 0);
  CHECK(ipcx_receive(q, buf, sizeof buf, 0, &err) == -1 && err.kind == IPCX_PEER_GONE);
  ipcx_close(q);

  /* POSIX: type 0 is "no type"; the highest priority comes first. */
  char url[96];
  snprintf(url, sizeof url, "posixmq:///ipcx-c11-%d?unlink=1", (int)getpid());
  ipcx_channel* p = ipcx_open(url, &err);
  CHECK(p != NULL);
  if (!p) return;
  CHECK(ipcx_sysvmq_id(p) == -1);
  CHECK(ipcx_send_ex(p, "low", 3, 0, 0, 1, &err) == 0);
  CHECK(ipcx_send_ex(p, "high", 4, 0, 0, 7, &err) == 0);
  CHECK(ipcx_send_ex(p, "typed", 5, 0, 3, 0, &err) == -1 && err.kind == IPCX_INVALID_ARGUMENT);
  unsigned prio = 0;
  CHECK(ipcx_receive_ex(p, buf, sizeof buf, 5000, 0, NULL, &prio, &err) == 4 && prio == 7);
  CHECK(ipcx_receive_ex(p, buf, sizeof buf, 5000, 0, NULL, &prio, &err) == 3 && prio == 1);
  ipcx_close(p);
}

static void test_shm_ring_zero_copy_and_lost(void) {
  char url[128];
  snprintf(url, sizeof url, "shm://ipcx-c11-zc-%d?capacity=4k", (int)getpid());
  pid_t pid = fork();
  if (pid == 0) {
    ipcx_error e;
    ipcx_channel* rx = ipcx_bind(url, &e);
    REQUIRE_IN_CHILD(rx, 10);
    ipcx_view* v = ipcx_read(rx, 5000, &e);
    REQUIRE_IN_CHILD(v && ipcx_view_size(v) == 5 && memcmp(ipcx_view_data(v), "hello", 5) == 0, 11);
    REQUIRE_IN_CHILD(ipcx_view_lost(v) == 0, 12);
    ipcx_view_release(v);
    ipcx_close(rx);
    _exit(0);
  }
  ipcx_channel* tx = ipcx_open(url, &err);
  CHECK(tx != NULL);
  if (tx) {
    ipcx_loan* l = ipcx_loan_begin(tx, 16, 5000, &err);
    CHECK(l != NULL && ipcx_loan_size(l) == 16);
    if (l) {
      memcpy(ipcx_loan_data(l), "hello", 5);
      CHECK(ipcx_loan_commit(tx, l, 5, &err) == 0);
    }
  }
  CHECK(wait_child(pid) == 0);
  ipcx_close(tx);
  /* Zero copy is for shm:// only. */
  ipcx_channel *r = NULL, *w = NULL;
  CHECK(ipcx_pipe(&r, &w, &err) == 0);
  CHECK(ipcx_loan_begin(w, 16, 0, &err) == NULL && err.kind == IPCX_NOT_SUPPORTED);
  ipcx_close(r);
  ipcx_close(w);

  /* Publish/subscribe, policy=drop: a subscriber that cannot keep up is told what it lost. */
  snprintf(url, sizeof url, "shm://ipcx-c11-ps-%d?pattern=pubsub&policy=drop&capacity=4k", (int)getpid());
  enum { kCount = 1000 };
  gate joined, published;
  gate_open(&joined);
  gate_open(&published);
  pid = fork();
  if (pid == 0) {
    ipcx_error e;
    ipcx_channel* sub = ipcx_bind(url, &e);
    REQUIRE_IN_CHILD(sub, 10);
    gate_post(&joined);
    REQUIRE_IN_CHILD(gate_wait(&published), 11);
    uint64_t received = 0, lost = 0;
    char buf[64];
    ipcx_received got;
    for (;;) {
      memset(&got, 0, sizeof got);
      if (ipcx_receive_msg(sub, buf, sizeof buf, 10000, &got, &e) < 0) {
        REQUIRE_IN_CHILD(e.kind == IPCX_PEER_GONE, 12);
        break;
      }
      ++received;
      lost += got.lost;
    }
    REQUIRE_IN_CHILD(received + lost == kCount && lost > 0, 13);
    ipcx_close(sub);
    _exit(0);
  }
  CHECK(gate_wait(&joined));
  ipcx_channel* pub = ipcx_open(url, &err);
  CHECK(pub != NULL);
  char msg[64] = {0};
  for (int i = 0; pub && i < kCount; ++i) CHECK(ipcx_send(pub, msg, sizeof msg, 5000, &err) == 0);
  ipcx_close(pub);
  gate_post(&published);
  CHECK(wait_child(pid) == 0);
  gate_close(&joined);
  gate_close(&published);
}

static void test_pipe(void) {
  ipcx_channel *r = NULL, *w = NULL;
  CHECK(ipcx_pipe(&r, &w, &err) == 0);
  if (!r) return;
  pid_t pid = fork();
  if (pid == 0) {
    ipcx_error e;
    ipcx_close(r);
    REQUIRE_IN_CHILD(ipcx_send(w, "through a pipe", 14, 5000, &e) == 0, 10);
    ipcx_close(w);
    _exit(0);
  }
  ipcx_close(w);
  char buf[32];
  CHECK(ipcx_receive(r, buf, sizeof buf, 5000, &err) == 14);
  CHECK(ipcx_receive(r, buf, sizeof buf, 5000, &err) == -1 && err.kind == IPCX_PEER_GONE);
  CHECK(wait_child(pid) == 0);
  ipcx_close(r);
}

static void test_null_handles(void) {
  CHECK(ipcx_shm_map(NULL, 1, &err) == NULL && err.kind == IPCX_INVALID_ARGUMENT && err.message[0] != '\0');
  CHECK(ipcx_mutex_lock(NULL, 0, &err) == -1 && err.kind == IPCX_INVALID_ARGUMENT);
  CHECK(ipcx_sysvsem_op(NULL, NULL, 0, 0, &err) == -1 && err.kind == IPCX_INVALID_ARGUMENT);
  CHECK(ipcx_open("nope://x", NULL) == NULL); /* err may be NULL */
  CHECK(strcmp(ipcx_errc_name(IPCX_PEER_GONE), "peer gone") == 0);
}

int main(void) {
  test_version();
  test_shm_and_sync();
  test_named_semaphore();
  test_sysv_semaphore_undo();
  test_sysv_shm();
  test_memfd_passed_with_credentials();
  test_listener_and_local_urls();
  test_message_queues();
  test_shm_ring_zero_copy_and_lost();
  test_pipe();
  test_null_handles();
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  else printf("c_api_c11: ok\n");
  return failures ? 1 : 0;
}
