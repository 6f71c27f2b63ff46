// SPDX-License-Identifier: MIT
// ipcx::Mapping — the one owner of a region of shared memory mapped into this process:
// mmap'd (a POSIX segment, a memfd) or attached with shmat (a System V segment).
//
//   auto seg = ipcx::PosixShm::create("/orders", 1 << 20);   // see shm.hpp
//   auto map = seg->map();                                   // Mapping, read-write
//   std::memcpy(map->data(), "hello", 5);                    // unmapped when map dies
//
// The region is given back the way it was made: munmap for an mmap, shmdt for a shmat
// (SysvShm::attach; SysvAttachment is this type).
// Move-only; moving out leaves an empty Mapping; move assignment and reset() unmap the old
// region. Not thread-safe as an object (one owner), but the memory it maps is, of course,
// shared: what lives in it must be made of atomics or be protected by a lock in it.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "ipcx/error.hpp"

namespace ipcx {

// How a segment or a mapping may be used. A read-only mapping is PROT_READ: a write to it
// is a SIGSEGV, which is the point (a consumer cannot corrupt what it only reads).
enum class Access : std::uint8_t { read_only, read_write };

// How a region came into this process, and so how it leaves: munmap or shmdt.
enum class Mapped : std::uint8_t { mmap, shmat };

class Mapping {
 public:
  Mapping() noexcept = default;
  ~Mapping() { reset(); }

  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  Mapping(Mapping&& o) noexcept
      : addr_(std::exchange(o.addr_, nullptr)), size_(std::exchange(o.size_, 0)), access_(o.access_), how_(o.how_) {}
  Mapping& operator=(Mapping&& o) noexcept {
    if (this != &o) {
      reset();
      addr_ = std::exchange(o.addr_, nullptr);
      size_ = std::exchange(o.size_, 0);
      access_ = o.access_;
      how_ = o.how_;
    }
    return *this;
  }

  // mmap(MAP_SHARED) of `size` bytes of `fd` from `offset` (a multiple of the page size).
  // `extra_flags` adds to MAP_SHARED, e.g. MAP_POPULATE to fault every page in now, or
  // MAP_LOCKED. `what` names the object in errors.
  static Result<Mapping> map(int fd, std::size_t size, Access access, off_t offset = 0, int extra_flags = 0,
                             std::string_view what = {});
  // Takes ownership of a region mapped elsewhere: it will be munmap'd, or shmdt'd if it
  // came from shmat.
  static Mapping adopt(void* addr, std::size_t size, Access access, Mapped how = Mapped::mmap) noexcept {
    Mapping m;
    m.addr_ = addr;
    m.size_ = size;
    m.access_ = access;
    m.how_ = how;
    return m;
  }

  void* data() const noexcept { return addr_; }
  std::byte* bytes() const noexcept { return static_cast<std::byte*>(addr_); }
  std::size_t size() const noexcept { return size_; }
  Access access() const noexcept { return access_; }
  Mapped how() const noexcept { return how_; }
  bool writable() const noexcept { return access_ == Access::read_write; }
  bool valid() const noexcept { return addr_ != nullptr; }
  explicit operator bool() const noexcept { return valid(); }
  std::span<std::byte> span() const noexcept { return {bytes(), size_}; }

  // msync(MS_SYNC or MS_ASYNC). Only matters for file-backed mappings; tmpfs-backed
  // segments are coherent between processes without it.
  Result<void> sync(bool wait = true) const;
  // mlock: keeps the pages resident (no page fault on the data path). RLIMIT_MEMLOCK
  // bounds it; the error says so.
  Result<void> lock() const;
  // mprotect the whole region to read-only (it cannot be made writable again through
  // this object: that would defeat a read-only open).
  Result<void> make_read_only();

  // Gives up ownership without unmapping.
  [[nodiscard]] std::pair<void*, std::size_t> release() noexcept {
    return {std::exchange(addr_, nullptr), std::exchange(size_, 0)};
  }
  // Unmaps now (munmap or shmdt) and reports the error; the object is empty either way.
  Result<void> unmap();
  // The System V name of unmap(), for an attachment: shmdt now.
  Result<void> detach() { return unmap(); }
  // Unmaps now, for destructors (neither call can fail for a region we mapped; an error
  // would be a bug).
  void reset() noexcept { (void)unmap(); }

 private:
  void* addr_ = nullptr;
  std::size_t size_ = 0;
  Access access_ = Access::read_only;
  Mapped how_ = Mapped::mmap;
};

}  // namespace ipcx
