// SPDX-License-Identifier: MIT
#include "ipcx/sysv_shm.hpp"

#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include <fmt/format.h>

#include "kernel_limits.hpp"
#include "sys/shm.hpp"
#include "sys/sysv_key.hpp"

#ifndef SHM_HUGE_SHIFT
#define SHM_HUGE_SHIFT 26
#endif

namespace ipcx {
namespace {

std::string id_text(int id) { return fmt::format("id:{}", id); }

std::string sysctl_value(std::string_view sysctl) { return detail::read_sysctl_text(sysctl).value_or("?"); }

std::chrono::system_clock::time_point from_time(time_t t) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(t));
}

Error explain_shmget(Error e, std::size_t size, const SysvShmOptions& o) {
  switch (e.code()) {
    case EINVAL:
      return std::move(e).with_detail(fmt::format(
          "{} bytes; a segment is limited by kernel.shmmax {} (and an existing segment with this key may be "
          "smaller); raise it with sysctl kernel.shmmax",
          size, sysctl_value("kernel.shmmax")));
    case ENOSPC:
      return std::move(e).with_detail(fmt::format(
          "the system limit of segments (kernel.shmmni {}) or of pages in all segments (kernel.shmall {}) is "
          "reached; remove stale segments (ipcs -m, ipcx rm) or raise it with sysctl",
          sysctl_value("kernel.shmmni"), sysctl_value("kernel.shmall")));
    case ENOMEM:
      if (o.huge_pages) {
        return std::move(e).with_detail(fmt::format(
            "not enough free huge pages for {} bytes (vm.nr_hugepages is {}); reserve some with sysctl "
            "vm.nr_hugepages=N",
            size, sysctl_value("vm.nr_hugepages")));
      }
      return std::move(e).with_detail(fmt::format("no memory for {} bytes", size));
    case EPERM:
      if (o.huge_pages) {
        return std::move(e).with_detail(fmt::format(
            "SHM_HUGETLB needs CAP_IPC_LOCK or membership of group vm.hugetlb_shm_group ({})",
            sysctl_value("vm.hugetlb_shm_group")));
      }
      return e;
    default: return e;
  }
}

SysvShmInfo to_info(int id, const shmid_ds& ds) {
  SysvShmInfo i;
  i.id = id;
  i.key = ds.shm_perm.__key;
  i.size = ds.shm_segsz;
  i.mode = ds.shm_perm.mode & 0777u;
  i.uid = ds.shm_perm.uid;
  i.gid = ds.shm_perm.gid;
  i.cuid = ds.shm_perm.cuid;
  i.cgid = ds.shm_perm.cgid;
  i.attached = ds.shm_nattch;
  i.creator_pid = ds.shm_cpid;
  i.last_pid = ds.shm_lpid;
  i.attach_time = from_time(ds.shm_atime);
  i.detach_time = from_time(ds.shm_dtime);
  i.change_time = from_time(ds.shm_ctime);
  i.removed = (ds.shm_perm.mode & SHM_DEST) != 0;
  i.locked = (ds.shm_perm.mode & SHM_LOCKED) != 0;
  return i;
}

}  // namespace

SysvShm::~SysvShm() {
  if (owns_ && id_ >= 0) (void)sys::shmctl_rmid(id_);
}

SysvShm& SysvShm::operator=(SysvShm&& o) noexcept {
  if (this != &o) {
    if (owns_ && id_ >= 0) (void)sys::shmctl_rmid(id_);
    id_ = std::exchange(o.id_, -1);
    key_ = o.key_;
    size_ = o.size_;
    owns_ = std::exchange(o.owns_, false);
  }
  return *this;
}

Result<SysvShm> SysvShm::create(key_t key, std::size_t size, const SysvShmOptions& o) {
  if (o.mode & ~0777u) {
    return fail(Errc::invalid_argument, "shmget", sysv_key_text(key), fmt::format("mode {:o} has bits beyond 0777", o.mode));
  }
  if (size == 0) return fail(Errc::invalid_argument, "shmget", sysv_key_text(key), "a segment of 0 bytes");
  int flags = IPC_CREAT | static_cast<int>(o.mode) | (o.exclusive ? IPC_EXCL : 0);
  if (o.huge_pages) {
    flags |= SHM_HUGETLB;
    if (o.huge_page_shift != 0) {
      if (o.huge_page_shift < 16 || o.huge_page_shift > 40) {
        return fail(Errc::invalid_argument, "shmget", sysv_key_text(key), fmt::format("huge page shift {}", o.huge_page_shift));
      }
      flags |= static_cast<int>(o.huge_page_shift << SHM_HUGE_SHIFT);
    }
  }
  if (o.no_reserve) flags |= SHM_NORESERVE;
  auto id = sys::shmget(key, size, flags);
  if (!id) return fail(explain_shmget(std::move(id.error()).with_object(sysv_key_text(key)), size, o));
  auto st = sys::shmctl_stat(*id);
  if (!st) return fail(std::move(st.error()).with_object(sysv_key_text(key)));
  SysvShm s;
  s.id_ = *id;
  s.key_ = key;
  s.size_ = st->shm_segsz;
  s.owns_ = o.exclusive || key == IPC_PRIVATE;
  return s;
}

Result<SysvShm> SysvShm::create_private(std::size_t size, const SysvShmOptions& o) {
  SysvShmOptions p = o;
  p.exclusive = true;
  return create(IPC_PRIVATE, size, p);
}

Result<SysvShm> SysvShm::open(key_t key) {
  auto id = sys::shmget(key, 0, 0);
  if (!id) return fail(std::move(id.error()).with_object(sysv_key_text(key)));
  auto st = sys::shmctl_stat(*id);
  if (!st) return fail(std::move(st.error()).with_object(sysv_key_text(key)));
  SysvShm s;
  s.id_ = *id;
  s.key_ = key;
  s.size_ = st->shm_segsz;
  return s;
}

Result<SysvShm> SysvShm::open_id(int id) {
  auto st = sys::shmctl_stat(id);
  if (!st) return fail(std::move(st.error()).with_object(id_text(id)));
  SysvShm s;
  s.id_ = id;
  s.key_ = st->shm_perm.__key;
  s.size_ = st->shm_segsz;
  return s;
}

Result<key_t> SysvShm::key_for(const char* path, int proj_id) { return sys::ftok(path, proj_id); }

Result<SysvShmInfo> SysvShm::stat(int id) {
  auto st = sys::shmctl_stat(id);
  if (!st) return fail(std::move(st.error()).with_object(id_text(id)));
  return to_info(id, *st);
}

Result<SysvShmInfo> SysvShm::stat_key(key_t key) {
  auto id = sys::shmget(key, 0, 0);
  if (!id) return fail(std::move(id.error()).with_object(sysv_key_text(key)));
  return stat(*id);
}

Result<void> SysvShm::remove(int id) {
  auto r = sys::shmctl_rmid(id);
  if (!r) return fail(std::move(r.error()).with_object(id_text(id)));
  return {};
}

Result<void> SysvShm::remove_key(key_t key) {
  if (key == IPC_PRIVATE) {
    return fail(Errc::invalid_argument, "shmctl(IPC_RMID)", sysv_key_text(key), "IPC_PRIVATE names no segment: remove by id");
  }
  auto id = sys::shmget(key, 0, 0);
  if (!id) return fail(std::move(id.error()).with_object(sysv_key_text(key)));
  return remove(*id);
}

Result<SysvAttachment> SysvShm::attach(Access access, void* addr, int extra_flags) const {
  if (id_ < 0) return fail(Errc::invalid_argument, "shmat", {}, "no segment");
  int flags = extra_flags | (access == Access::read_only ? SHM_RDONLY : 0);
  auto p = sys::shmat(id_, addr, flags);
  if (!p) {
    auto e = std::move(p.error()).with_object(id_text(id_));
    if (e.code() == EACCES && access == Access::read_write) {
      return fail(std::move(e).with_detail("no write permission: attach read-only"));
    }
    return fail(std::move(e));
  }
  return Mapping::adopt(*p, size_, access, Mapped::shmat);
}

Result<void> SysvShm::set_permissions(const SysvPermissions& p) {
  if (p.mode & ~0777u) return fail(Errc::invalid_argument, "shmctl(IPC_SET)", id_text(id_), "mode has bits beyond 0777");
  shmid_ds ds{};
  ds.shm_perm.uid = p.uid;
  ds.shm_perm.gid = p.gid;
  ds.shm_perm.mode = static_cast<unsigned short>(p.mode);
  auto r = sys::shmctl_set(id_, ds);
  if (!r) return fail(std::move(r.error()).with_object(id_text(id_)));
  return {};
}

Result<void> SysvShm::remove() {
  if (id_ < 0) return {};
  owns_ = false;
  auto r = sys::shmctl_rmid(id_);
  if (!r) return fail(std::move(r.error()).with_object(id_text(id_)));
  return {};
}

}  // namespace ipcx
