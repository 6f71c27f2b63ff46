// SPDX-License-Identifier: MIT
// The C API's synchronisation (include/ipcx/c/sync.h). The C structs ipcx_mutex, ipcx_cond
// and ipcx_unnamed_sem are storage for ipcx::Mutex, Condition and UnnamedSemaphore,
// constructed in place by the *_init calls; their sizes and alignments are checked here.
#include "ipcx/c/sync.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <new>
#include <span>
#include <vector>

#include "c_api_support.hpp"
#include "ipcx/condition.hpp"
#include "ipcx/futex.hpp"
#include "ipcx/mutex.hpp"
#include "ipcx/semaphore.hpp"
#include "ipcx/sysv_sem.hpp"

struct ipcx_sem {
  ipcx::PosixSemaphore s;
};
struct ipcx_sysvsem {
  ipcx::SysvSemSet set;
};

static_assert(sizeof(ipcx_mutex) >= sizeof(ipcx::Mutex) && alignof(ipcx_mutex) >= alignof(ipcx::Mutex),
              "ipcx_mutex holds an ipcx::Mutex");
static_assert(sizeof(ipcx_cond) == sizeof(ipcx::Condition) && alignof(ipcx_cond) >= alignof(ipcx::Condition),
              "ipcx_cond holds an ipcx::Condition");
static_assert(sizeof(ipcx_unnamed_sem) >= sizeof(ipcx::UnnamedSemaphore) &&
                  alignof(ipcx_unnamed_sem) >= alignof(ipcx::UnnamedSemaphore),
              "ipcx_unnamed_sem holds an ipcx::UnnamedSemaphore");
static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
                  alignof(std::atomic<std::uint32_t>) == alignof(std::uint32_t),
              "a futex word is a plain uint32_t to C");

using ipcx::capi::clear_error;
using ipcx::capi::deadline;
using ipcx::capi::guarded;
using ipcx::capi::make_handle;
using ipcx::capi::need;
using ipcx::capi::set_error;
using ipcx::capi::status;

namespace {

// The objects the *_init calls constructed in the C storage.
ipcx::Mutex* as_mutex(ipcx_mutex* m) { return std::launder(reinterpret_cast<ipcx::Mutex*>(m->opaque)); }
ipcx::Condition* as_cond(ipcx_cond* c) { return std::launder(reinterpret_cast<ipcx::Condition*>(c->opaque)); }
ipcx::UnnamedSemaphore* as_sem(ipcx_unnamed_sem* s) {
  return std::launder(reinterpret_cast<ipcx::UnnamedSemaphore*>(s->opaque));
}
// A C program's shared word, as the atomic the futex calls take. C11 programs use the
// word with the ipcx_futex_* helpers (or <stdatomic.h>); both are plain 32-bit atomics.
std::atomic<std::uint32_t>& as_word(uint32_t* w) { return *reinterpret_cast<std::atomic<std::uint32_t>*>(w); }

// IPCX_LOCK_ACQUIRED / IPCX_LOCK_OWNER_DIED, or -1 with err filled.
int lock_status(const ipcx::Result<ipcx::LockResult>& r, ipcx_error* err) {
  if (!r) {
    set_error(err, r.error());
    return -1;
  }
  clear_error(err);
  return *r == ipcx::LockResult::owner_died ? IPCX_LOCK_OWNER_DIED : IPCX_LOCK_ACQUIRED;
}

template <typename T>
int value_or_minus_one(const ipcx::Result<T>& r, ipcx_error* err) {
  if (!r) {
    set_error(err, r.error());
    return -1;
  }
  clear_error(err);
  return static_cast<int>(*r);
}

}  // namespace

extern "C" {

int ipcx_mutex_init(ipcx_mutex* m, ipcx_error* err) {
  if (!need(m, "ipcx_mutex_init", "the mutex", err)) return -1;
  auto* mu = ::new (static_cast<void*>(m->opaque)) ipcx::Mutex;
  // Mutex() cannot fail on Linux; if it did, a try-lock says how.
  return guarded(err, "ipcx_mutex_init", -1, [&] {
    if (auto r = mu->try_lock(); !r) return lock_status(r, err);
    return status(mu->unlock(), err);
  });
}

int ipcx_mutex_lock(ipcx_mutex* m, long timeout_ms, ipcx_error* err) {
  return guarded(err, "ipcx_mutex_lock", -1, [&] {
    if (!need(m, "ipcx_mutex_lock", "the mutex", err)) return -1;
    return lock_status(as_mutex(m)->lock(deadline(timeout_ms)), err);
  });
}

int ipcx_mutex_unlock(ipcx_mutex* m, ipcx_error* err) {
  return guarded(err, "ipcx_mutex_unlock", -1, [&] {
    if (!need(m, "ipcx_mutex_unlock", "the mutex", err)) return -1;
    return status(as_mutex(m)->unlock(), err);
  });
}

int ipcx_mutex_consistent(ipcx_mutex* m, ipcx_error* err) {
  return guarded(err, "ipcx_mutex_consistent", -1, [&] {
    if (!need(m, "ipcx_mutex_consistent", "the mutex", err)) return -1;
    return status(as_mutex(m)->mark_consistent(), err);
  });
}

int ipcx_mutex_reinit(ipcx_mutex* m, ipcx_error* err) {
  return guarded(err, "ipcx_mutex_reinit", -1, [&] {
    if (!need(m, "ipcx_mutex_reinit", "the mutex", err)) return -1;
    return status(as_mutex(m)->reinitialize(), err);
  });
}

void ipcx_mutex_destroy(ipcx_mutex* m) {
  if (m) as_mutex(m)->~Mutex();
}

int ipcx_cond_init(ipcx_cond* c, ipcx_error* err) {
  if (!need(c, "ipcx_cond_init", "the condition", err)) return -1;
  ::new (static_cast<void*>(c->opaque)) ipcx::Condition;
  clear_error(err);
  return 0;
}

int ipcx_cond_wait(ipcx_cond* c, ipcx_mutex* m, long timeout_ms, ipcx_error* err) {
  return guarded(err, "ipcx_cond_wait", -1, [&] {
    if (!need(c, "ipcx_cond_wait", "the condition", err) || !need(m, "ipcx_cond_wait", "the mutex", err)) return -1;
    return lock_status(as_cond(c)->wait(*as_mutex(m), deadline(timeout_ms)), err);
  });
}

int ipcx_cond_signal(ipcx_cond* c, ipcx_error* err) {
  return guarded(err, "ipcx_cond_signal", -1, [&] {
    if (!need(c, "ipcx_cond_signal", "the condition", err)) return -1;
    return status(as_cond(c)->notify_one(), err);
  });
}

int ipcx_cond_broadcast(ipcx_cond* c, ipcx_error* err) {
  return guarded(err, "ipcx_cond_broadcast", -1, [&] {
    if (!need(c, "ipcx_cond_broadcast", "the condition", err)) return -1;
    return status(as_cond(c)->notify_all(), err);
  });
}

int ipcx_futex_wait(uint32_t* word, uint32_t expected, long timeout_ms, ipcx_error* err) {
  return guarded(err, "ipcx_futex_wait", -1, [&] {
    if (!need(word, "ipcx_futex_wait", "the word", err)) return -1;
    return status(ipcx::futex_wait(as_word(word), expected, deadline(timeout_ms)), err);
  });
}

int ipcx_futex_wake(uint32_t* word, int count, ipcx_error* err) {
  return guarded(err, "ipcx_futex_wake", -1, [&] {
    if (!need(word, "ipcx_futex_wake", "the word", err)) return -1;
    return value_or_minus_one(ipcx::futex_wake(as_word(word), count), err);
  });
}

// Acquire/release, as ipcx::Futex: a waiter that sees the new value sees what came before it.
uint32_t ipcx_futex_load(const uint32_t* word) {
  return as_word(const_cast<uint32_t*>(word)).load(std::memory_order_acquire);
}
void ipcx_futex_store(uint32_t* word, uint32_t value) { as_word(word).store(value, std::memory_order_release); }
uint32_t ipcx_futex_add(uint32_t* word, uint32_t value) {
  return as_word(word).fetch_add(value, std::memory_order_acq_rel);
}

ipcx_sem* ipcx_sem_create(const char* name, unsigned initial, unsigned mode, ipcx_error* err) {
  return guarded(err, "ipcx_sem_create", static_cast<ipcx_sem*>(nullptr), [&]() -> ipcx_sem* {
    if (!need(name, "ipcx_sem_create", "name", err)) return nullptr;
    ipcx::PosixSemaphoreOptions o;
    o.mode = mode;
    return make_handle<ipcx_sem>(ipcx::PosixSemaphore::create(name, initial, o), err);
  });
}

ipcx_sem* ipcx_sem_open(const char* name, ipcx_error* err) {
  return guarded(err, "ipcx_sem_open", static_cast<ipcx_sem*>(nullptr), [&]() -> ipcx_sem* {
    if (!need(name, "ipcx_sem_open", "name", err)) return nullptr;
    return make_handle<ipcx_sem>(ipcx::PosixSemaphore::open(name), err);
  });
}

int ipcx_sem_wait(ipcx_sem* s, long timeout_ms, ipcx_error* err) {
  return guarded(err, "ipcx_sem_wait", -1, [&] {
    if (!need(s, "ipcx_sem_wait", "the semaphore", err)) return -1;
    return status(s->s.wait(deadline(timeout_ms)), err);
  });
}

int ipcx_sem_post(ipcx_sem* s, ipcx_error* err) {
  return guarded(err, "ipcx_sem_post", -1, [&] {
    if (!need(s, "ipcx_sem_post", "the semaphore", err)) return -1;
    return status(s->s.post(), err);
  });
}

int ipcx_sem_value(ipcx_sem* s, ipcx_error* err) {
  return guarded(err, "ipcx_sem_value", -1, [&] {
    if (!need(s, "ipcx_sem_value", "the semaphore", err)) return -1;
    return value_or_minus_one(s->s.value(), err);
  });
}

void ipcx_sem_keep(ipcx_sem* s) {
  if (s) s->s.keep();
}
void ipcx_sem_close(ipcx_sem* s) { delete s; }

int ipcx_sem_unlink(const char* name, ipcx_error* err) {
  return guarded(err, "ipcx_sem_unlink", -1, [&] {
    if (!need(name, "ipcx_sem_unlink", "name", err)) return -1;
    return status(ipcx::PosixSemaphore::unlink(name), err);
  });
}

int ipcx_unnamed_sem_init(ipcx_unnamed_sem* s, unsigned initial, ipcx_error* err) {
  if (!need(s, "ipcx_unnamed_sem_init", "the semaphore", err)) return -1;
  auto* sem = ::new (static_cast<void*>(s->opaque)) ipcx::UnnamedSemaphore(initial);
  // sem_init fails only for initial > SEM_VALUE_MAX, and every call then says so.
  return guarded(err, "ipcx_unnamed_sem_init", -1, [&] {
    auto v = sem->value();
    if (!v) sem->~UnnamedSemaphore();
    return status(v, err);
  });
}

int ipcx_unnamed_sem_wait(ipcx_unnamed_sem* s, long timeout_ms, ipcx_error* err) {
  return guarded(err, "ipcx_unnamed_sem_wait", -1, [&] {
    if (!need(s, "ipcx_unnamed_sem_wait", "the semaphore", err)) return -1;
    return status(as_sem(s)->wait(deadline(timeout_ms)), err);
  });
}

int ipcx_unnamed_sem_post(ipcx_unnamed_sem* s, ipcx_error* err) {
  return guarded(err, "ipcx_unnamed_sem_post", -1, [&] {
    if (!need(s, "ipcx_unnamed_sem_post", "the semaphore", err)) return -1;
    return status(as_sem(s)->post(), err);
  });
}

int ipcx_unnamed_sem_value(ipcx_unnamed_sem* s, ipcx_error* err) {
  return guarded(err, "ipcx_unnamed_sem_value", -1, [&] {
    if (!need(s, "ipcx_unnamed_sem_value", "the semaphore", err)) return -1;
    return value_or_minus_one(as_sem(s)->value(), err);
  });
}

void ipcx_unnamed_sem_destroy(ipcx_unnamed_sem* s) {
  if (s) as_sem(s)->~UnnamedSemaphore();
}

ipcx_sysvsem* ipcx_sysvsem_create(key_t key, size_t count, unsigned mode, ipcx_error* err) {
  return guarded(err, "ipcx_sysvsem_create", static_cast<ipcx_sysvsem*>(nullptr), [&] {
    ipcx::SysvSemOptions o;
    o.mode = mode;
    return make_handle<ipcx_sysvsem>(ipcx::SysvSemSet::create(key, count, o), err);
  });
}

ipcx_sysvsem* ipcx_sysvsem_open(key_t key, ipcx_error* err) {
  return guarded(err, "ipcx_sysvsem_open", static_cast<ipcx_sysvsem*>(nullptr),
                 [&] { return make_handle<ipcx_sysvsem>(ipcx::SysvSemSet::open(key), err); });
}

ipcx_sysvsem* ipcx_sysvsem_open_id(int id, ipcx_error* err) {
  return guarded(err, "ipcx_sysvsem_open_id", static_cast<ipcx_sysvsem*>(nullptr),
                 [&] { return make_handle<ipcx_sysvsem>(ipcx::SysvSemSet::open_id(id), err); });
}

int ipcx_sysvsem_op(ipcx_sysvsem* s, const ipcx_semop* ops, size_t nops, long timeout_ms, ipcx_error* err) {
  return guarded(err, "ipcx_sysvsem_op", -1, [&] {
    if (!need(s, "ipcx_sysvsem_op", "the set", err) || !need(ops, "ipcx_sysvsem_op", "ops", err)) return -1;
    std::vector<ipcx::SemOp> v(nops);
    for (std::size_t i = 0; i < nops; ++i) {
      if (ops[i].flags & ~(IPCX_SEM_UNDO | IPCX_SEM_NOWAIT)) {
        return ipcx::capi::set_invalid(err, "ipcx_sysvsem_op", "flags other than IPCX_SEM_UNDO|IPCX_SEM_NOWAIT"), -1;
      }
      v[i] = ipcx::SemOp{ops[i].index, ops[i].delta, (ops[i].flags & IPCX_SEM_UNDO) != 0,
                         (ops[i].flags & IPCX_SEM_NOWAIT) != 0};
    }
    return status(s->set.op(std::span<const ipcx::SemOp>(v), deadline(timeout_ms)), err);
  });
}

int ipcx_sysvsem_value(const ipcx_sysvsem* s, unsigned short index, ipcx_error* err) {
  return guarded(err, "ipcx_sysvsem_value", -1, [&] {
    if (!need(s, "ipcx_sysvsem_value", "the set", err)) return -1;
    return value_or_minus_one(s->set.value(index), err);
  });
}

int ipcx_sysvsem_set_value(ipcx_sysvsem* s, unsigned short index, int value, ipcx_error* err) {
  return guarded(err, "ipcx_sysvsem_set_value", -1, [&] {
    if (!need(s, "ipcx_sysvsem_set_value", "the set", err)) return -1;
    return status(s->set.set_value(index, value), err);
  });
}

int ipcx_sysvsem_id(const ipcx_sysvsem* s) { return s ? s->set.id() : -1; }
size_t ipcx_sysvsem_count(const ipcx_sysvsem* s) { return s ? s->set.size() : 0; }

int ipcx_sysvsem_values(const ipcx_sysvsem* s, unsigned short* values, size_t n, ipcx_error* err) {
  return guarded(err, "ipcx_sysvsem_values", -1, [&] {
    if (!need(s, "ipcx_sysvsem_values", "the set", err)) return -1;
    if (n < s->set.size() || (n != 0 && !values)) {
      ipcx::capi::set_invalid(err, "ipcx_sysvsem_values", "values holds fewer than the set's count");
      return -1;
    }
    auto v = s->set.values();
    if (!v) return status(v, err);
    std::copy(v->begin(), v->end(), values);
    clear_error(err);
    return static_cast<int>(v->size());
  });
}

int ipcx_sysvsem_set_values(ipcx_sysvsem* s, const unsigned short* values, size_t n, ipcx_error* err) {
  return guarded(err, "ipcx_sysvsem_set_values", -1, [&] {
    if (!need(s, "ipcx_sysvsem_set_values", "the set", err)) return -1;
    if (n != 0 && !need(values, "ipcx_sysvsem_set_values", "values", err)) return -1;
    return status(s->set.set_values(std::span<const unsigned short>(values, n)), err);
  });
}

int ipcx_sysvsem_stat(const ipcx_sysvsem* s, ipcx_sysvsem_info* info, ipcx_error* err) {
  return guarded(err, "ipcx_sysvsem_stat", -1, [&] {
    if (!need(s, "ipcx_sysvsem_stat", "the set", err) || !need(info, "ipcx_sysvsem_stat", "info", err)) return -1;
    auto st = s->set.stat();
    if (st) {
      *info = ipcx_sysvsem_info{};
      info->key = st->key;
      info->count = st->count;
      info->uid = st->uid;
      info->cuid = st->cuid;
      info->gid = st->gid;
      info->cgid = st->cgid;
      info->mode = st->mode;
      info->last_op_time = std::chrono::system_clock::to_time_t(st->last_op);
      info->change_time = std::chrono::system_clock::to_time_t(st->changed);
    }
    return status(st, err);
  });
}

int ipcx_sysvsem_set(ipcx_sysvsem* s, const ipcx_sysv_owner* owner, ipcx_error* err) {
  return guarded(err, "ipcx_sysvsem_set", -1, [&] {
    if (!need(s, "ipcx_sysvsem_set", "the set", err) || !need(owner, "ipcx_sysvsem_set", "owner", err)) return -1;
    return status(s->set.set_permissions({owner->uid, owner->gid, owner->mode}), err);
  });
}

int ipcx_sysvsem_last_pid(const ipcx_sysvsem* s, unsigned short index, ipcx_error* err) {
  return guarded(err, "ipcx_sysvsem_last_pid", -1, [&] {
    if (!need(s, "ipcx_sysvsem_last_pid", "the set", err)) return -1;
    return value_or_minus_one(s->set.last_pid(index), err);
  });
}

int ipcx_sysvsem_waiting_increase(const ipcx_sysvsem* s, unsigned short index, ipcx_error* err) {
  return guarded(err, "ipcx_sysvsem_waiting_increase", -1, [&] {
    if (!need(s, "ipcx_sysvsem_waiting_increase", "the set", err)) return -1;
    return value_or_minus_one(s->set.waiting_for_increase(index), err);
  });
}

int ipcx_sysvsem_waiting_zero(const ipcx_sysvsem* s, unsigned short index, ipcx_error* err) {
  return guarded(err, "ipcx_sysvsem_waiting_zero", -1, [&] {
    if (!need(s, "ipcx_sysvsem_waiting_zero", "the set", err)) return -1;
    return value_or_minus_one(s->set.waiting_for_zero(index), err);
  });
}

int ipcx_sysvsem_remove(ipcx_sysvsem* s, ipcx_error* err) {
  return guarded(err, "ipcx_sysvsem_remove", -1, [&] {
    if (!need(s, "ipcx_sysvsem_remove", "the set", err)) return -1;
    return status(s->set.remove(), err);
  });
}

void ipcx_sysvsem_keep(ipcx_sysvsem* s) {
  if (s) s->set.keep();
}
void ipcx_sysvsem_close(ipcx_sysvsem* s) { delete s; }

}  // extern "C"
