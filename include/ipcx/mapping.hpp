// ipcx::Mapping — the one owner of an mmap'd region (a shared-memory segment, a memfd).
//
//   auto seg = ipcx::PosixShm::create("/orders", 1 << 20);   // see shm.hpp
//   auto map = seg->map();                                   // Mapping, read-write
//   std::memcpy(map->data(), "hello", 5);                    // unmapped when map dies
//
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

class Mapping {
 public:
  Mapping() noexcept = default;
  ~Mapping() { reset(); }

  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  Mapping(Mapping&& o) noexcept
      : addr_(std::exchange(o.addr_, nullptr)), size_(std::exchange(o.size_, 0)), access_(o.access_) {}
  Mapping& operator=(Mapping&& o) noexcept {
    if (this != &o) {
      reset();
      addr_ = std::exchange(o.addr_, nullptr);
      size_ = std::exchange(o.size_, 0);
      access_ = o.access_;
    }
    return *this;
  }

  // mmap(MAP_SHARED) of `size` bytes of `fd` from `offset` (a multiple of the page size).
  // `extra_flags` adds to MAP_SHARED, e.g. MAP_POPULATE to fault every page in now, or
  // MAP_LOCKED. `what` names the object in errors.
  static Result<Mapping> map(int fd, std::size_t size, Access access, off_t offset = 0, int extra_flags = 0,
                             std::string_view what = {});
  // Takes ownership of a region mapped elsewhere (it will be munmap'd).
  static Mapping adopt(void* addr, std::size_t size, Access access) noexcept {
    Mapping m;
    m.addr_ = addr;
    m.size_ = size;
    m.access_ = access;
    return m;
  }

  void* data() const noexcept { return addr_; }
  std::byte* bytes() const noexcept { return static_cast<std::byte*>(addr_); }
  std::size_t size() const noexcept { return size_; }
  Access access() const noexcept { return access_; }
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
  // Unmaps now (munmap cannot fail for a region we mapped; an error would be a bug).
  void reset() noexcept;

 private:
  void* addr_ = nullptr;
  std::size_t size_ = 0;
  Access access_ = Access::read_only;
};

}  // namespace ipcx
