// SPDX-License-Identifier: MIT
// ipcx::Memfd — anonymous shared memory (memfd_create) with seals: a segment with no name
// to leak, shared by passing its descriptor (SCM_RIGHTS over a Unix socket, or fork).
//
//   auto m = ipcx::Memfd::create("frame", 1 << 20);           // sealable, reserved
//   m->add_seals(ipcx::Memfd::kSealShrink | ipcx::Memfd::kSealGrow | ipcx::Memfd::kSealSeal);
//   // send m->fd() to a peer; there: auto p = ipcx::Memfd::adopt(std::move(fd), kSealShrink);
//
// Seals (fcntl F_ADD_SEALS) are promises the kernel enforces on every holder of the file:
//   kSealShrink  the size cannot shrink: a receiver's mapping can never SIGBUS
//   kSealGrow    the size cannot grow
//   kSealWrite   nobody can write any more (needs no writable mapping to exist: EBUSY)
//   kSealFutureWrite  no new writable mapping or write(); existing mappings keep writing
//   kSealSeal    no further seals can be added
// A receiver that maps memory it did not create should adopt() it requiring kSealShrink
// (otherwise the sender can truncate it under the mapping) and, to read a frozen buffer,
// kSealWrite. The memory lives while any descriptor or mapping of it does, and is
// released with the last one: nothing to unlink, nothing to leak.
//
// create() reserves the backing store (fallocate) as PosixShm does, so an out-of-memory
// condition is an error at create, not a SIGBUS on touch. memfds are not limited by
// /dev/shm's size (they live on an internal tmpfs), only by memory and cgroup limits.
//
// Move-only; not thread-safe as an object.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "ipcx/error.hpp"
#include "ipcx/fd.hpp"
#include "ipcx/mapping.hpp"

namespace ipcx {

struct MemfdOptions {
  bool allow_sealing = true;  // MFD_ALLOW_SEALING (without it, F_SEAL_SEAL is set at birth)
  bool huge_pages = false;    // MFD_HUGETLB (needs reserved huge pages: vm.nr_hugepages)
  bool reserve = true;        // fallocate the size at create
};

class Memfd {
 public:
  static constexpr unsigned kSealSeal = 0x0001;         // F_SEAL_SEAL
  static constexpr unsigned kSealShrink = 0x0002;       // F_SEAL_SHRINK
  static constexpr unsigned kSealGrow = 0x0004;         // F_SEAL_GROW
  static constexpr unsigned kSealWrite = 0x0008;        // F_SEAL_WRITE
  static constexpr unsigned kSealFutureWrite = 0x0010;  // F_SEAL_FUTURE_WRITE (Linux 5.1)

  Memfd() noexcept = default;

  // memfd_create(name, MFD_CLOEXEC[|MFD_ALLOW_SEALING][|MFD_HUGETLB]) sized to `size`.
  // `name` is only a label (shown in /proc/PID/fd as "memfd:NAME"), at most 249 bytes.
  static Result<Memfd> create(std::string_view name, std::size_t size, const MemfdOptions& o = {});
  // Takes a descriptor received from another process. Fails (Errc::invalid_argument) if it
  // is not a memfd/shmem file, and Errc::corrupt if any of `required_seals` is missing,
  // before anything is mapped.
  static Result<Memfd> adopt(Fd fd, unsigned required_seals = 0);

  // F_ADD_SEALS; EPERM once kSealSeal is set; EBUSY for kSealWrite while a writable
  // shared mapping exists (the detail says which).
  Result<void> add_seals(unsigned seals);
  Result<unsigned> seals() const;  // F_GET_SEALS

  // mmap(MAP_SHARED) of the whole size (as of create/adopt/resize).
  Result<Mapping> map(Access access = Access::read_write, int extra_flags = 0) const;
  // ftruncate (growing reserves when created with reserve); EPERM under the seals.
  Result<void> resize(std::size_t new_size);

  int fd() const noexcept { return fd_.get(); }
  const Fd& descriptor() const noexcept { return fd_; }
  Fd release() noexcept { return std::move(fd_); }
  std::size_t size() const noexcept { return size_; }
  const std::string& name() const noexcept { return name_; }
  bool valid() const noexcept { return fd_.valid(); }
  explicit operator bool() const noexcept { return valid(); }

 private:
  Fd fd_;
  std::size_t size_ = 0;
  std::string name_;
  bool reserve_ = true;
};

}  // namespace ipcx
