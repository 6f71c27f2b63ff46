// SPDX-License-Identifier: MIT
// ipcx::SysvShm — a System V shared-memory segment (shmget, shmat/shmdt, shmctl).
//
//   auto seg = ipcx::SysvShm::create(0x1234, 1 << 20);        // 0600, IPC_EXCL
//   auto at = seg->attach();                                   // SysvAttachment, read-write
//   auto ro = ipcx::SysvShm::open(0x1234)->attach(ipcx::Access::read_only);  // elsewhere
//
// IPC_RMID on a segment removes its key at once (a new shmget with the key fails or
// creates a new segment) but the memory lives until the last process detaches:
// stat() then shows removed == true and the attach count. The creator owns the segment:
// it is marked for removal when the creating SysvShm is destroyed, unless keep() was
// called (fd.hpp); attachments made before stay valid.
//
// Unlike /dev/shm, System V segments are not limited by a filesystem size but by
// kernel.shmmax (one segment), kernel.shmall (all segments, in pages) and kernel.shmmni
// (count); errors name them. SHM_HUGETLB needs reserved huge pages (vm.nr_hugepages) and,
// unprivileged, membership of vm.hugetlb_shm_group.
//
// SysvShm and SysvAttachment (a Mapping) are move-only and not thread-safe as objects.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "ipcx/error.hpp"
#include "ipcx/mapping.hpp"  // Access, Mapping (SysvAttachment)
#include "ipcx/sysv.hpp"  // SysvPermissions, ftok

namespace ipcx {

struct SysvShmOptions {
  unsigned mode = 0600;
  bool exclusive = true;     // IPC_EXCL
  bool huge_pages = false;   // SHM_HUGETLB
  // With huge_pages: log2 of the page size (21 for 2 MiB, 30 for 1 GiB); 0 for the default.
  unsigned huge_page_shift = 0;
  bool no_reserve = false;   // SHM_NORESERVE: no swap reserved (touching may then fail)
};

struct SysvShmInfo {
  int id = -1;
  key_t key = 0;             // IPC_PRIVATE (0) once removed
  std::size_t size = 0;
  unsigned mode = 0;
  uid_t uid = 0, gid = 0, cuid = 0, cgid = 0;
  std::uint64_t attached = 0;  // shm_nattch
  pid_t creator_pid = 0;       // shm_cpid
  pid_t last_pid = 0;          // shm_lpid: last shmat/shmdt
  std::chrono::system_clock::time_point attach_time, detach_time, change_time;
  bool removed = false;        // SHM_DEST: IPC_RMID done, waiting for the last detach
  bool locked = false;         // SHM_LOCKED
};

// One shmat of a segment: a Mapping that shmdt's (unmap(), detach() or its destructor).
using SysvAttachment = Mapping;

class SysvShm {
 public:
  SysvShm() noexcept = default;
  ~SysvShm();
  SysvShm(const SysvShm&) = delete;
  SysvShm& operator=(const SysvShm&) = delete;
  SysvShm(SysvShm&& o) noexcept
      : id_(std::exchange(o.id_, -1)), key_(o.key_), size_(o.size_), owns_(std::exchange(o.owns_, false)) {}
  SysvShm& operator=(SysvShm&& o) noexcept;

  // shmget(key, size, IPC_CREAT[|IPC_EXCL]|mode[|SHM_HUGETLB...]).
  static Result<SysvShm> create(key_t key, std::size_t size, const SysvShmOptions& o = {});
  static Result<SysvShm> create_private(std::size_t size, const SysvShmOptions& o = {});
  // shmget(key, 0, 0): an existing segment; size() is its size.
  static Result<SysvShm> open(key_t key);
  // A segment known by id (including one already removed, still attached somewhere).
  static Result<SysvShm> open_id(int id);
  static Result<key_t> key_for(const char* path, int proj_id);  // ftok

  // For `ipcx stat sysvshm://KEY` / `sysvshm://id:N` and `ipcx rm` of the same.
  static Result<SysvShmInfo> stat(int id);
  static Result<SysvShmInfo> stat_key(key_t key);
  static Result<void> remove(int id);
  static Result<void> remove_key(key_t key);

  // shmat: read-write, or read-only (SHM_RDONLY). `addr` (nullptr: the kernel chooses) and
  // `extra_flags` (SHM_RND, SHM_REMAP, SHM_EXEC) pass through.
  Result<SysvAttachment> attach(Access access = Access::read_write, void* addr = nullptr, int extra_flags = 0) const;
  Result<SysvShmInfo> stat() const { return stat(id_); }  // IPC_STAT
  Result<void> set_permissions(const SysvPermissions& p);  // IPC_SET
  // IPC_RMID: the key goes now, the memory with the last detach.
  Result<void> remove();

  int id() const noexcept { return id_; }
  key_t key() const noexcept { return key_; }
  std::size_t size() const noexcept { return size_; }
  bool valid() const noexcept { return id_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }
  bool owns() const noexcept { return owns_; }  // fd.hpp
  void keep() noexcept { owns_ = false; }

 private:
  int id_ = -1;
  key_t key_ = 0;
  std::size_t size_ = 0;
  bool owns_ = false;
};

}  // namespace ipcx
