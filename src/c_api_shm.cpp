// SPDX-License-Identifier: MIT
// The C API's shared memory (include/ipcx/c/shm.h): handles over PosixShm, SysvShm and
// Memfd, and one mapping handle for all three (a Mapping: it unmaps or shmdt's as made).
#include "ipcx/c/shm.h"

#include <chrono>
#include <ctime>

#include "c_api_support.hpp"
#include "ipcx/fd.hpp"
#include "ipcx/mapping.hpp"
#include "ipcx/memfd.hpp"
#include "ipcx/shm.hpp"
#include "ipcx/sysv_shm.hpp"

struct ipcx_mapping {
  ipcx::Mapping region;
};
struct ipcx_shm {
  ipcx::PosixShm seg;
};
struct ipcx_sysvshm {
  ipcx::SysvShm seg;
};
struct ipcx_memfd {
  ipcx::Memfd m;
};

using ipcx::capi::clear_error;
using ipcx::capi::guarded;
using ipcx::capi::make_handle;
using ipcx::capi::need;
using ipcx::capi::set_error;
using ipcx::capi::status;

static_assert(IPCX_SEAL_SEAL == ipcx::Memfd::kSealSeal && IPCX_SEAL_SHRINK == ipcx::Memfd::kSealShrink &&
                  IPCX_SEAL_GROW == ipcx::Memfd::kSealGrow && IPCX_SEAL_WRITE == ipcx::Memfd::kSealWrite &&
                  IPCX_SEAL_FUTURE_WRITE == ipcx::Memfd::kSealFutureWrite,
              "the C seal constants are Memfd's");

namespace {

ipcx::Access access(int writable) { return writable ? ipcx::Access::read_write : ipcx::Access::read_only; }

time_t seconds(std::chrono::system_clock::time_point t) { return std::chrono::system_clock::to_time_t(t); }

}  // namespace

extern "C" {

void* ipcx_mapping_data(const ipcx_mapping* m) {
  if (!m) return nullptr;
  return m->region.data();
}
size_t ipcx_mapping_size(const ipcx_mapping* m) {
  if (!m) return 0;
  return m->region.size();
}
void ipcx_unmap(ipcx_mapping* m) { delete m; }

int ipcx_mapping_lock(const ipcx_mapping* m, ipcx_error* err) {
  return guarded(err, "ipcx_mapping_lock", -1, [&] {
    if (!need(m, "ipcx_mapping_lock", "the mapping", err)) return -1;
    return status(m->region.lock(), err);
  });
}

int ipcx_mapping_sync(const ipcx_mapping* m, int wait, ipcx_error* err) {
  return guarded(err, "ipcx_mapping_sync", -1, [&] {
    if (!need(m, "ipcx_mapping_sync", "the mapping", err)) return -1;
    return status(m->region.sync(wait != 0), err);
  });
}

int ipcx_mapping_protect_read_only(ipcx_mapping* m, ipcx_error* err) {
  return guarded(err, "ipcx_mapping_protect_read_only", -1, [&] {
    if (!need(m, "ipcx_mapping_protect_read_only", "the mapping", err)) return -1;
    return status(m->region.make_read_only(), err);
  });
}

ipcx_shm* ipcx_shm_create(const char* name, size_t size, unsigned mode, ipcx_error* err) {
  return guarded(err, "ipcx_shm_create", static_cast<ipcx_shm*>(nullptr), [&]() -> ipcx_shm* {
    if (!need(name, "ipcx_shm_create", "name", err)) return nullptr;
    ipcx::PosixShmOptions o;
    o.mode = mode;
    return make_handle<ipcx_shm>(ipcx::PosixShm::create(name, size, o), err);
  });
}

ipcx_shm* ipcx_shm_open(const char* name, int writable, ipcx_error* err) {
  return guarded(err, "ipcx_shm_open", static_cast<ipcx_shm*>(nullptr), [&]() -> ipcx_shm* {
    if (!need(name, "ipcx_shm_open", "name", err)) return nullptr;
    return make_handle<ipcx_shm>(ipcx::PosixShm::open(name, access(writable)), err);
  });
}

ipcx_mapping* ipcx_shm_map(const ipcx_shm* s, int writable, ipcx_error* err) {
  return guarded(err, "ipcx_shm_map", static_cast<ipcx_mapping*>(nullptr), [&]() -> ipcx_mapping* {
    if (!need(s, "ipcx_shm_map", "the segment", err)) return nullptr;
    return make_handle<ipcx_mapping>(s->seg.map(access(writable)), err);
  });
}

size_t ipcx_shm_size(const ipcx_shm* s) { return s ? s->seg.size() : 0; }
int ipcx_shm_fd(const ipcx_shm* s) { return s ? s->seg.fd() : -1; }

int ipcx_shm_resize(ipcx_shm* s, size_t size, ipcx_error* err) {
  return guarded(err, "ipcx_shm_resize", -1, [&] {
    if (!need(s, "ipcx_shm_resize", "the segment", err)) return -1;
    return status(s->seg.resize(size), err);
  });
}

void ipcx_shm_keep(ipcx_shm* s) {
  if (s) s->seg.keep();
}
void ipcx_shm_close(ipcx_shm* s) { delete s; }

int ipcx_shm_unlink(const char* name, ipcx_error* err) {
  return guarded(err, "ipcx_shm_unlink", -1, [&] {
    if (!need(name, "ipcx_shm_unlink", "name", err)) return -1;
    return status(ipcx::PosixShm::unlink(name), err);
  });
}

key_t ipcx_ftok(const char* path, int proj_id, ipcx_error* err) {
  return guarded(err, "ipcx_ftok", key_t{-1}, [&]() -> key_t {
    if (!need(path, "ipcx_ftok", "path", err)) return -1;
    auto k = ipcx::SysvShm::key_for(path, proj_id);
    if (!k) return status(k, err), key_t{-1};
    clear_error(err);
    return *k;
  });
}

ipcx_sysvshm* ipcx_sysvshm_create(key_t key, size_t size, unsigned mode, ipcx_error* err) {
  return guarded(err, "ipcx_sysvshm_create", static_cast<ipcx_sysvshm*>(nullptr), [&] {
    ipcx::SysvShmOptions o;
    o.mode = mode;
    return make_handle<ipcx_sysvshm>(ipcx::SysvShm::create(key, size, o), err);
  });
}

ipcx_sysvshm* ipcx_sysvshm_create_ex(key_t key, size_t size, unsigned mode, unsigned flags, unsigned huge_page_shift,
                                     ipcx_error* err) {
  return guarded(err, "ipcx_sysvshm_create_ex", static_cast<ipcx_sysvshm*>(nullptr), [&]() -> ipcx_sysvshm* {
    if ((flags & ~(IPCX_SHM_HUGETLB | IPCX_SHM_NORESERVE)) != 0) {
      ipcx::capi::set_invalid(err, "ipcx_sysvshm_create_ex", "flags other than IPCX_SHM_HUGETLB and IPCX_SHM_NORESERVE");
      return nullptr;
    }
    ipcx::SysvShmOptions o;
    o.mode = mode;
    o.huge_pages = (flags & IPCX_SHM_HUGETLB) != 0;
    o.huge_page_shift = huge_page_shift;
    o.no_reserve = (flags & IPCX_SHM_NORESERVE) != 0;
    return make_handle<ipcx_sysvshm>(ipcx::SysvShm::create(key, size, o), err);
  });
}

ipcx_sysvshm* ipcx_sysvshm_open(key_t key, ipcx_error* err) {
  return guarded(err, "ipcx_sysvshm_open", static_cast<ipcx_sysvshm*>(nullptr),
                 [&] { return make_handle<ipcx_sysvshm>(ipcx::SysvShm::open(key), err); });
}

ipcx_sysvshm* ipcx_sysvshm_open_id(int id, ipcx_error* err) {
  return guarded(err, "ipcx_sysvshm_open_id", static_cast<ipcx_sysvshm*>(nullptr),
                 [&] { return make_handle<ipcx_sysvshm>(ipcx::SysvShm::open_id(id), err); });
}

ipcx_mapping* ipcx_sysvshm_attach(const ipcx_sysvshm* s, int writable, ipcx_error* err) {
  return guarded(err, "ipcx_sysvshm_attach", static_cast<ipcx_mapping*>(nullptr), [&]() -> ipcx_mapping* {
    if (!need(s, "ipcx_sysvshm_attach", "the segment", err)) return nullptr;
    return make_handle<ipcx_mapping>(s->seg.attach(access(writable)), err);
  });
}

int ipcx_sysvshm_id(const ipcx_sysvshm* s) { return s ? s->seg.id() : -1; }
size_t ipcx_sysvshm_size(const ipcx_sysvshm* s) { return s ? s->seg.size() : 0; }

long ipcx_sysvshm_attached(const ipcx_sysvshm* s, ipcx_error* err) {
  return guarded(err, "ipcx_sysvshm_attached", -1L, [&]() -> long {
    if (!need(s, "ipcx_sysvshm_attached", "the segment", err)) return -1;
    auto st = s->seg.stat();
    if (!st) return status(st, err), -1L;
    clear_error(err);
    return static_cast<long>(st->attached);
  });
}

int ipcx_sysvshm_stat(const ipcx_sysvshm* s, ipcx_sysvshm_info* info, ipcx_error* err) {
  return guarded(err, "ipcx_sysvshm_stat", -1, [&] {
    if (!need(s, "ipcx_sysvshm_stat", "the segment", err) || !need(info, "ipcx_sysvshm_stat", "info", err)) return -1;
    auto st = s->seg.stat();
    if (st) {
      *info = ipcx_sysvshm_info{};
      info->key = st->key;
      info->size = st->size;
      info->uid = st->uid;
      info->cuid = st->cuid;
      info->gid = st->gid;
      info->cgid = st->cgid;
      info->mode = st->mode;
      info->attached = static_cast<unsigned long>(st->attached);
      info->creator_pid = st->creator_pid;
      info->last_pid = st->last_pid;
      info->attach_time = seconds(st->attach_time);
      info->detach_time = seconds(st->detach_time);
      info->change_time = seconds(st->change_time);
      info->removed = st->removed ? 1 : 0;
      info->locked = st->locked ? 1 : 0;
    }
    return status(st, err);
  });
}

int ipcx_sysvshm_set(ipcx_sysvshm* s, const ipcx_sysv_owner* owner, ipcx_error* err) {
  return guarded(err, "ipcx_sysvshm_set", -1, [&] {
    if (!need(s, "ipcx_sysvshm_set", "the segment", err) || !need(owner, "ipcx_sysvshm_set", "owner", err)) return -1;
    return status(s->seg.set_permissions({owner->uid, owner->gid, owner->mode}), err);
  });
}

int ipcx_sysvshm_remove(ipcx_sysvshm* s, ipcx_error* err) {
  return guarded(err, "ipcx_sysvshm_remove", -1, [&] {
    if (!need(s, "ipcx_sysvshm_remove", "the segment", err)) return -1;
    return status(s->seg.remove(), err);
  });
}

void ipcx_sysvshm_keep(ipcx_sysvshm* s) {
  if (s) s->seg.keep();
}
void ipcx_sysvshm_close(ipcx_sysvshm* s) { delete s; }

ipcx_memfd* ipcx_memfd_create(const char* name, size_t size, ipcx_error* err) {
  return guarded(err, "ipcx_memfd_create", static_cast<ipcx_memfd*>(nullptr), [&]() -> ipcx_memfd* {
    if (!need(name, "ipcx_memfd_create", "name", err)) return nullptr;
    return make_handle<ipcx_memfd>(ipcx::Memfd::create(name, size), err);
  });
}

ipcx_memfd* ipcx_memfd_adopt(int fd, unsigned required_seals, ipcx_error* err) {
  ipcx::Fd owned(fd);  // taken first, so that every way out closes it
  return guarded(err, "ipcx_memfd_adopt", static_cast<ipcx_memfd*>(nullptr), [&] {
    return make_handle<ipcx_memfd>(ipcx::Memfd::adopt(std::move(owned), required_seals), err);
  });
}

int ipcx_memfd_add_seals(ipcx_memfd* m, unsigned seals, ipcx_error* err) {
  return guarded(err, "ipcx_memfd_add_seals", -1, [&] {
    if (!need(m, "ipcx_memfd_add_seals", "the memfd", err)) return -1;
    return status(m->m.add_seals(seals), err);
  });
}

long ipcx_memfd_seals(const ipcx_memfd* m, ipcx_error* err) {
  return guarded(err, "ipcx_memfd_seals", -1L, [&]() -> long {
    if (!need(m, "ipcx_memfd_seals", "the memfd", err)) return -1;
    auto s = m->m.seals();
    if (!s) return status(s, err), -1L;
    clear_error(err);
    return static_cast<long>(*s);
  });
}

ipcx_mapping* ipcx_memfd_map(const ipcx_memfd* m, int writable, ipcx_error* err) {
  return guarded(err, "ipcx_memfd_map", static_cast<ipcx_mapping*>(nullptr), [&]() -> ipcx_mapping* {
    if (!need(m, "ipcx_memfd_map", "the memfd", err)) return nullptr;
    return make_handle<ipcx_mapping>(m->m.map(access(writable)), err);
  });
}

int ipcx_memfd_fd(const ipcx_memfd* m) { return m ? m->m.fd() : -1; }
size_t ipcx_memfd_size(const ipcx_memfd* m) { return m ? m->m.size() : 0; }
void ipcx_memfd_close(ipcx_memfd* m) { delete m; }

}  // extern "C"
