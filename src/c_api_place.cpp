// SPDX-License-Identifier: MIT
// The C API's placement (include/ipcx/c/place.h): the untyped halves of
// ipcx::construct_object / find_object (placement.hpp), so a C struct and a C++ object
// are placed behind the same checked header.
#include "ipcx/c/place.h"

#include <span>

#include "c_api_support.hpp"
#include "ipcx/placement.hpp"

using ipcx::capi::clear_error;
using ipcx::capi::deadline;
using ipcx::capi::guarded;
using ipcx::capi::need;
using ipcx::capi::set_error;

namespace {

// The address a placement call found, or NULL with err filled.
void* address(const ipcx::Result<void*>& r, ipcx_error* err) {
  if (!r) {
    set_error(err, r.error());
    return nullptr;
  }
  clear_error(err);
  return *r;
}

}  // namespace

extern "C" {

size_t ipcx_place_size(size_t size, size_t align) { return ipcx::detail::placement_size(size, align); }

void* ipcx_place_claim(void* region, size_t region_size, uint64_t magic, uint32_t version, size_t size,
                       size_t align, ipcx_error* err) {
  return guarded(err, "ipcx_place_claim", static_cast<void*>(nullptr), [&]() -> void* {
    if (!need(region, "ipcx_place_claim", "region", err)) return nullptr;
    return address(ipcx::detail::placement_claim(std::span(static_cast<std::byte*>(region), region_size),
                                                 ipcx::ObjectTag{magic, version}, size, align),
                   err);
  });
}

void ipcx_place_publish(void* region) {
  if (region) ipcx::detail::placement_publish(std::span(static_cast<std::byte*>(region), sizeof(ipcx::ObjectHeader)));
}

void* ipcx_place_find(void* region, size_t region_size, uint64_t magic, uint32_t version, size_t size, size_t align,
                      long timeout_ms, ipcx_error* err) {
  return guarded(err, "ipcx_place_find", static_cast<void*>(nullptr), [&]() -> void* {
    if (!need(region, "ipcx_place_find", "region", err)) return nullptr;
    return address(ipcx::detail::placement_find(std::span(static_cast<std::byte*>(region), region_size),
                                                ipcx::ObjectTag{magic, version}, size, align, deadline(timeout_ms)),
                   err);
  });
}

}  // extern "C"
