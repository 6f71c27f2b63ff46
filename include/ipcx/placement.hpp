// SPDX-License-Identifier: MIT
// Placing a typed object in a shared segment: construct once, find many, checked.
//
//   struct Book { ipcx::Mutex lock; ipcx::Condition changed; std::uint64_t orders; };
//   constexpr ipcx::ObjectTag kBook{0x6f72646572736231, 1};           // magic, version
//   auto mine = ipcx::SharedObject<Book>::create("/book", kBook);      // creator
//   auto theirs = ipcx::SharedObject<Book>::open("/book", kBook, ipcx::Deadline::after(1s));
//
// The object sits after a 64-byte ObjectHeader (an ABI: see docs/shared-memory.md) that
// records a magic number, a version, sizeof/alignof the object and a state word. The
// constructor of the object runs exactly once (the state word is claimed with a CAS); a
// finder waits on the state word (a futex) until construction is complete, then checks
// magic, version, size and alignment, so a process built with another layout gets
// Errc::corrupt, never a misread object. A creator that dies while constructing leaves the
// state "constructing": finders time out and are told so.
//
// The type must be standard-layout and must not hold pointers or references into a
// process's own memory (another process maps the segment elsewhere): atomics, ipcx::Mutex,
// ipcx::Condition, ipcx::Futex, UnnamedSemaphore, fixed arrays and offsets are fine. ipcx
// never runs its destructor: a shared object outlives the processes that use it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "ipcx/deadline.hpp"
#include "ipcx/error.hpp"
#include "ipcx/mapping.hpp"
#include "ipcx/shm.hpp"

namespace ipcx {

// What a process expects to find: bump the version whenever the layout of T changes.
struct ObjectTag {
  std::uint64_t magic = 0;
  std::uint32_t version = 0;
};

// The 64-byte header in front of a placed object (one cache line, so the object that
// follows starts on a fresh line and a finder's spin on `state` shares no line with it).
struct alignas(64) ObjectHeader {
  static constexpr std::uint32_t kEmpty = 0;         // zero-filled segment: nothing yet
  static constexpr std::uint32_t kConstructing = 1;  // claimed by a creator
  static constexpr std::uint32_t kReady = 2;         // constructed; fields below are valid
  static constexpr std::uint64_t kHeaderMagic = 0x6970637850484452ull;  // "ipcxPHDR"

  std::atomic<std::uint32_t> state;  // a futex word
  std::uint32_t version;
  std::uint64_t header_magic;
  std::uint64_t magic;
  std::uint64_t object_size;
  std::uint32_t object_align;
  std::uint32_t object_offset;  // from the start of the header
  std::uint8_t reserved[24];
};
static_assert(sizeof(ObjectHeader) == 64, "ObjectHeader is one 64-byte line (ABI)");
static_assert(offsetof(ObjectHeader, state) == 0 && offsetof(ObjectHeader, version) == 4 &&
                  offsetof(ObjectHeader, header_magic) == 8 && offsetof(ObjectHeader, magic) == 16 &&
                  offsetof(ObjectHeader, object_size) == 24 && offsetof(ObjectHeader, object_align) == 32 &&
                  offsetof(ObjectHeader, object_offset) == 36,
              "ObjectHeader field offsets are an ABI");

namespace detail {
// The untyped halves of construct/find, in src/placement.cpp.
// Claims the header at the start of `region` for an object of `size`/`align`; returns the
// address to construct at. EEXIST (already claimed) or invalid_argument (too small).
Result<void*> placement_claim(std::span<std::byte> region, ObjectTag tag, std::size_t size, std::size_t align);
// Marks the object constructed and wakes finders.
void placement_publish(std::span<std::byte> region);
// Waits until the header is ready and matches; returns the object's address.
Result<void*> placement_find(std::span<std::byte> region, ObjectTag tag, std::size_t size, std::size_t align,
                             Deadline d);
// Bytes a segment needs for an object of `size`/`align` behind the header.
std::size_t placement_size(std::size_t size, std::size_t align) noexcept;
}  // namespace detail

template <typename T>
concept Placeable = std::is_standard_layout_v<T> && !std::is_reference_v<T>;

// Constructs a T, once, at the start of `region` (zero-filled or never used).
template <Placeable T, typename... Args>
Result<T*> construct_object(std::span<std::byte> region, ObjectTag tag, Args&&... args) {
  auto at = detail::placement_claim(region, tag, sizeof(T), alignof(T));
  if (!at) return fail(std::move(at.error()));
  T* obj = ::new (*at) T(std::forward<Args>(args)...);
  detail::placement_publish(region);
  return obj;
}

// Finds the T constructed at the start of `region`, waiting for its construction to
// finish until `d`. A read-only region gives a pointer whose writes fault.
template <Placeable T>
Result<T*> find_object(std::span<std::byte> region, ObjectTag tag, Deadline d = Deadline::immediate()) {
  auto at = detail::placement_find(region, tag, sizeof(T), alignof(T), d);
  if (!at) return fail(std::move(at.error()));
  return std::launder(static_cast<T*>(*at));
}

// A POSIX segment holding one placed T: the segment, its mapping and the object together.
// Move-only. The creator's SharedObject unlinks the name when destroyed (see PosixShm).
template <Placeable T>
class SharedObject {
 public:
  // Creates the segment (exclusive, reserved, 0600 unless `o` says otherwise), maps it and
  // constructs T from `args`.
  template <typename... Args>
  static Result<SharedObject> create(std::string_view name, ObjectTag tag, const PosixShmOptions& o = {},
                                     Args&&... args) {
    auto seg = PosixShm::create(name, detail::placement_size(sizeof(T), alignof(T)), o);
    if (!seg) return fail(std::move(seg.error()));
    auto map = seg->map();
    if (!map) return fail(std::move(map.error()));
    auto obj = construct_object<T>(map->span(), tag, std::forward<Args>(args)...);
    if (!obj) return fail(std::move(obj.error()).with_object(name));
    return SharedObject(std::move(*seg), std::move(*map), *obj);
  }
  // Opens an existing segment and finds T in it, waiting for construction until `d`.
  static Result<SharedObject> open(std::string_view name, ObjectTag tag, Deadline d = Deadline::immediate(),
                                   Access access = Access::read_write) {
    auto seg = PosixShm::open(name, access);
    if (!seg) return fail(std::move(seg.error()));
    if (seg->size() < sizeof(ObjectHeader)) {
      return fail(Errc::corrupt, "find_object", name,
                  fmt_size_detail(seg->size(), detail::placement_size(sizeof(T), alignof(T))));
    }
    auto map = seg->map(access);
    if (!map) return fail(std::move(map.error()));
    auto obj = find_object<T>(map->span(), tag, d);
    if (!obj) return fail(std::move(obj.error()).with_object(name));
    return SharedObject(std::move(*seg), std::move(*map), *obj);
  }

  SharedObject(SharedObject&& o) noexcept
      : seg_(std::move(o.seg_)), map_(std::move(o.map_)), obj_(std::exchange(o.obj_, nullptr)) {}
  SharedObject& operator=(SharedObject&& o) noexcept {
    if (this != &o) {
      map_ = std::move(o.map_);  // unmaps ours first
      seg_ = std::move(o.seg_);
      obj_ = std::exchange(o.obj_, nullptr);
    }
    return *this;
  }

  T* get() const noexcept { return obj_; }
  T& operator*() const noexcept { return *obj_; }
  T* operator->() const noexcept { return obj_; }
  PosixShm& segment() noexcept { return seg_; }
  const Mapping& mapping() const noexcept { return map_; }

 private:
  SharedObject(PosixShm seg, Mapping map, T* obj) : seg_(std::move(seg)), map_(std::move(map)), obj_(obj) {}
  static std::string fmt_size_detail(std::size_t have, std::size_t want) {
    return "segment of " + std::to_string(have) + " bytes; an object needs " + std::to_string(want);
  }

  PosixShm seg_;
  Mapping map_;  // declared after seg_: unmapped before the segment's name is unlinked
  T* obj_ = nullptr;
};

}  // namespace ipcx
