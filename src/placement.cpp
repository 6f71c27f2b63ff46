// SPDX-License-Identifier: MIT
#include "ipcx/placement.hpp"

#include <climits>

#include <fmt/format.h>

#include "sys/futex.hpp"

namespace ipcx::detail {
namespace {

std::size_t object_offset(std::size_t align) noexcept {
  // Right after the 64-byte header, or at the object's own (larger) alignment.
  return align > sizeof(ObjectHeader) ? align : sizeof(ObjectHeader);
}

ObjectHeader* header_of(std::span<std::byte> region) { return reinterpret_cast<ObjectHeader*>(region.data()); }

}  // namespace

std::size_t placement_size(std::size_t size, std::size_t align) noexcept { return object_offset(align) + size; }

Result<void*> placement_claim(std::span<std::byte> region, ObjectTag tag, std::size_t size, std::size_t align) {
  if (reinterpret_cast<std::uintptr_t>(region.data()) % alignof(ObjectHeader) != 0) {
    return fail(Errc::invalid_argument, "construct_object", {}, "the region is not 64-byte aligned");
  }
  const std::size_t offset = object_offset(align);
  if (region.size() < offset + size) {
    return fail(Errc::invalid_argument, "construct_object", {},
                fmt::format("region of {} bytes; the object needs {}", region.size(), offset + size));
  }
  if (offset > UINT32_MAX) return fail(Errc::invalid_argument, "construct_object", {}, "alignment too large");
  ObjectHeader* h = header_of(region);
  std::uint32_t expected = ObjectHeader::kEmpty;
  // acq_rel: exactly one creator wins; a loser sees at least the claim.
  if (!h->state.compare_exchange_strong(expected, ObjectHeader::kConstructing, std::memory_order_acq_rel)) {
    return fail(Error::from_errno("construct_object", EEXIST)
                    .with_detail(expected == ObjectHeader::kReady ? "an object is already constructed here"
                                                                  : "another creator is constructing here"));
  }
  h->version = tag.version;
  h->header_magic = ObjectHeader::kHeaderMagic;
  h->magic = tag.magic;
  h->object_size = size;
  h->object_align = static_cast<std::uint32_t>(align);
  h->object_offset = static_cast<std::uint32_t>(offset);
  return static_cast<void*>(region.data() + offset);
}

void placement_publish(std::span<std::byte> region) {
  ObjectHeader* h = header_of(region);
  // release: a finder that reads kReady (acquire) sees the header fields and the object.
  h->state.store(ObjectHeader::kReady, std::memory_order_release);
  (void)sys::futex_wake(&h->state, INT_MAX);
}

Result<void*> placement_find(std::span<std::byte> region, ObjectTag tag, std::size_t size, std::size_t align,
                             Deadline d) {
  if (region.size() < sizeof(ObjectHeader) ||
      reinterpret_cast<std::uintptr_t>(region.data()) % alignof(ObjectHeader) != 0) {
    return fail(Errc::corrupt, "find_object", {}, "the region cannot hold an object header");
  }
  ObjectHeader* h = header_of(region);
  for (;;) {
    std::uint32_t s = h->state.load(std::memory_order_acquire);
    if (s == ObjectHeader::kReady) break;
    if (s != ObjectHeader::kEmpty && s != ObjectHeader::kConstructing) {
      return fail(Errc::corrupt, "find_object", {}, fmt::format("header state {} is not a known state", s));
    }
    auto w = sys::futex_wait(&h->state, s, d);
    if (!w && w.error().timed_out()) {
      return fail(Errc::timed_out, "find_object", {},
                  s == ObjectHeader::kEmpty ? "no object was constructed before the deadline"
                                            : "the object's construction did not finish before the deadline (its "
                                              "creator may have died while constructing)");
    }
    if (!w && !w.error().would_block()) return fail(std::move(w.error()));
  }
  if (h->header_magic != ObjectHeader::kHeaderMagic) {
    return fail(Errc::corrupt, "find_object", {}, "no ipcx object header here");
  }
  if (h->magic != tag.magic) {
    return fail(Errc::corrupt, "find_object", {},
                fmt::format("magic {:#x}, expected {:#x}: another kind of object", h->magic, tag.magic));
  }
  if (h->version != tag.version) {
    return fail(Errc::corrupt, "find_object", {},
                fmt::format("version {}, expected {}: built from another layout", h->version, tag.version));
  }
  if (h->object_size != size || h->object_align != align) {
    return fail(Errc::corrupt, "find_object", {},
                fmt::format("object of {} bytes aligned {}, expected {} aligned {}", h->object_size, h->object_align,
                            size, align));
  }
  if (h->object_offset != object_offset(align) || region.size() < std::size_t{h->object_offset} + size) {
    return fail(Errc::corrupt, "find_object", {},
                fmt::format("object at offset {} does not fit a region of {} bytes", h->object_offset, region.size()));
  }
  return static_cast<void*>(region.data() + h->object_offset);
}

}  // namespace ipcx::detail
