// SPDX-License-Identifier: MIT
// ipcx::PosixShm — a POSIX shared-memory segment (shm_open), and the guard that removes
// its name.
//
//   auto seg = ipcx::PosixShm::create("/orders", 1 << 20);      // 0600, O_EXCL, reserved
//   auto map = seg->map();                                      // ipcx::Mapping, read-write
//   auto peer = ipcx::PosixShm::open("/orders", ipcx::Access::read_only);  // elsewhere
//
// create() makes the name exclusively (EEXIST if it exists), owner-only unless asked,
// with exactly the mode asked (the umask does not narrow it), and reserves the whole size
// in the backing store (fallocate) so that a full or small /dev/shm is an error here,
// ENOSPC with the free space named, instead of a SIGBUS on first touch later. The creator
// owns the name: it is unlinked when the creating PosixShm is destroyed, unless the
// creator calls keep() or moves the name's ownership out (take_name_guard()), as every
// ipcx handle does (fd.hpp).
// Unlinking only removes the name: the memory lives until the last mapping and
// descriptor are gone, as with a file.
//
// A PosixShm is move-only and not thread-safe as an object. Mappings made from it are
// independent owners (a Mapping outlives the PosixShm it came from).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "ipcx/error.hpp"
#include "ipcx/fd.hpp"
#include "ipcx/mapping.hpp"

namespace ipcx {

// Owns a POSIX shm name: shm_unlink at destruction. Move-only.
class ShmNameGuard {
 public:
  ShmNameGuard() noexcept = default;
  explicit ShmNameGuard(std::string name) noexcept : name_(std::move(name)) {}
  ~ShmNameGuard() { reset(); }
  ShmNameGuard(const ShmNameGuard&) = delete;
  ShmNameGuard& operator=(const ShmNameGuard&) = delete;
  ShmNameGuard(ShmNameGuard&& o) noexcept : name_(std::exchange(o.name_, {})) {}
  ShmNameGuard& operator=(ShmNameGuard&& o) noexcept {
    if (this != &o) {
      reset();
      name_ = std::exchange(o.name_, {});
    }
    return *this;
  }

  const std::string& name() const noexcept { return name_; }
  bool owns() const noexcept { return !name_.empty(); }
  explicit operator bool() const noexcept { return owns(); }
  // Unlinks now; ENOENT (someone else removed it) is not an error.
  Result<void> unlink();
  // Keeps the name in the system: nothing is unlinked when this is dropped.
  void keep() noexcept { name_.clear(); }
  // Unlinks (errors ignored: a destructor cannot report them) and forgets.
  void reset() noexcept;

 private:
  std::string name_;
};

struct PosixShmOptions {
  unsigned mode = 0600;  // exactly this mode (fchmod after create: the umask does not apply)
  // Reserve the whole size in the backing store now (fallocate). Off: ftruncate only, a
  // sparse segment; touching a page when /dev/shm is full then raises SIGBUS.
  bool reserve = true;
};

// What stat() reports about a named segment (from its file in /dev/shm).
struct PosixShmInfo {
  std::string name;            // "/orders"
  std::string path;            // "/dev/shm/orders"
  std::uint64_t size = 0;      // bytes (st_size)
  std::uint64_t allocated = 0; // bytes really backed (st_blocks * 512)
  unsigned mode = 0;           // permission bits
  uid_t uid = 0;
  gid_t gid = 0;
  std::chrono::system_clock::time_point modified;  // st_mtime
  std::chrono::system_clock::time_point changed;   // st_ctime
};

class PosixShm {
 public:
  PosixShm() = default;
  PosixShm(PosixShm&&) noexcept = default;
  PosixShm& operator=(PosixShm&&) noexcept = default;

  // shm_open(O_CREAT|O_EXCL|O_RDWR), exact mode, then size reserved (see the options).
  // EEXIST (Errc::system, code() == EEXIST) if the name exists; ENOSPC, with the free
  // space of /dev/shm in the detail, if the backing store cannot hold `size` bytes.
  static Result<PosixShm> create(std::string_view name, std::size_t size, const PosixShmOptions& o = {});
  // shm_open of an existing segment, O_RDONLY or O_RDWR. size() is its size now.
  static Result<PosixShm> open(std::string_view name, Access access = Access::read_write);

  // For `ipcx stat posixshm:///NAME`: the segment's file attributes, whoever made it.
  static Result<PosixShmInfo> stat(std::string_view name);
  // For `ipcx rm posixshm:///NAME`: shm_unlink(name). ENOENT if there is no such name.
  static Result<void> unlink(std::string_view name);
  // The directory glibc keeps POSIX shm names in ("/dev/shm").
  static std::string_view directory() noexcept;

  const std::string& name() const noexcept { return name_; }
  int fd() const noexcept { return fd_.get(); }
  const Fd& descriptor() const noexcept { return fd_; }
  // Size at create/open/resize (what map() maps). current_size() asks the kernel.
  std::size_t size() const noexcept { return size_; }
  Result<std::size_t> current_size() const;
  Access access() const noexcept { return access_; }
  bool valid() const noexcept { return fd_.valid(); }
  explicit operator bool() const noexcept { return valid(); }

  // Maps the whole segment (size()). Read-write needs a read-write open.
  Result<Mapping> map(Access access = Access::read_write, int extra_flags = 0) const;
  // Maps [offset, offset + length); offset must be a multiple of the page size.
  Result<Mapping> map(std::size_t offset, std::size_t length, Access access, int extra_flags = 0) const;

  // ftruncate to `new_size`; growing reserves the new part when the options said so
  // (always for a segment opened with open()). Existing mappings keep their length:
  // map again to see a larger segment; touching a mapping beyond a shrunk end SIGBUSes.
  Result<void> resize(std::size_t new_size);

  // Name ownership (only the creator owns it; fd.hpp).
  bool owns() const noexcept { return guard_.owns(); }
  void keep() noexcept { guard_.keep(); }
  ShmNameGuard take_name_guard() noexcept { return std::move(guard_); }
  // shm_unlink now (the creator's guard, or any holder: ENOENT if already gone).
  Result<void> unlink_now();

 private:
  Fd fd_;
  std::string name_;
  std::size_t size_ = 0;
  Access access_ = Access::read_write;
  bool reserve_ = true;
  ShmNameGuard guard_;
};

namespace detail {
// Reserves [offset, offset + size) of `fd` in its backing store (fallocate, which also
// extends the file), with a clear ENOSPC error naming `what`, the filesystem `fs_path` it
// lives on (nullptr: unknown) and its free space. Shared by the POSIX shm and memfd
// wrappers and the shm:// ring.
Result<void> reserve_backing(int fd, std::size_t offset, std::size_t size, std::string_view what,
                             const char* fs_path);
}  // namespace detail

}  // namespace ipcx
